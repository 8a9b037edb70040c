// An IDE (ATA/ATAPI) channel with a master and a slave device, PIO only, and the ATA hard disk.
// The ATAPI CD-ROM is in atapi.ts. Sources: ATA/ATAPI-6 (T13/1410D) register and command
// descriptions, IDENTIFY DEVICE word layout, reset signatures; IBM PC AT Technical Reference
// (ports 0x1F0-0x1F7 / 0x3F6, IRQ 14; secondary 0x170-0x177 / 0x376, IRQ 15).
//
//   offset  read                         write
//   0       data (16-bit PIO; 8/32 ok)   data
//   1       error                        features
//   2       sector count / interrupt reason (ATAPI)
//   3       LBA low (sector number)
//   4       LBA mid (cylinder low)  / ATAPI byte count low
//   5       LBA high (cylinder high) / ATAPI byte count high
//   6       device/head  [7] 1 | [6] LBA | [5] 1 | [4] DEV (0 master, 1 slave) | [3:0] head / LBA 27:24
//   7       status (clears INTRQ)        command
//   ctl     alternate status             device control [7] HOB | [2] SRST | [1] nIEN
//
//   status  [7] BSY | [6] DRDY | [5] DF | [4] DSC/SERV | [3] DRQ | [2] CORR | [1] IDX | [0] ERR
//   error   [7] ICRC | [6] UNC | [5] MC | [4] IDNF | [3] MCR | [2] ABRT | [1] TK0NF | [0] AMNF
//
// Register writes reach both devices (each keeps a shadow copy, with the previous value kept
// for LBA48 "HOB" reads); DEV selects which one answers and drives INTRQ. Commands complete
// after a short virtual-time delay (status BSY meanwhile) when a VirtualClock is given, at once
// otherwise. An ATA disk interrupts at the start of every PIO data-in block and after every
// data-out block, as real drives do. DMA (bus mastering) is not implemented.
import type { BlockDevice } from '../block';
import { Timer, type VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';

export const ST_BSY = 0x80, ST_DRDY = 0x40, ST_DF = 0x20, ST_DSC = 0x10, ST_DRQ = 0x08, ST_ERR = 0x01;
export const ERR_UNC = 0x40, ERR_IDNF = 0x10, ERR_ABRT = 0x04;
/** Delay between a command (or a data block) and the device's answer, in ns of virtual time. */
const DEFAULT_DELAY_NS = 2_000;

/** What both device kinds share: the task file, the PIO data buffer and interrupt state. */
export abstract class IdeDrive {
  feature = 0; count = 0; lbaLow = 0; lbaMid = 0; lbaHigh = 0; device = 0;
  hobFeature = 0; hobCount = 0; hobLow = 0; hobMid = 0; hobHigh = 0;
  status = 0;
  error = 0;
  intPending = false;
  protected readonly buf: Uint8Array;
  protected bufPos = 0;
  protected bufLen = 0;
  /** Host -> device transfer in progress (DRQ for writes). */
  protected dataOut = false;
  /** Called once the host has read or written the whole buffer. */
  protected onDataDone: (() => void) | null = null;
  protected channel: IdeChannel | null = null;
  private readonly timer: Timer;
  private pending: (() => void) | null = null;

  constructor(readonly name: string, bufSize: number) {
    this.buf = new Uint8Array(bufSize);
    this.timer = new Timer(`IDE ${name}`, () => { const f = this.pending; this.pending = null; if (f !== null) f(); });
  }

  abstract readonly isPacket: boolean;
  /** Writes the reset signature into the task file. */
  protected abstract signature(): void;
  /** Status bits of an idle, ready device (ATA: DRDY|DSC; ATAPI: DRDY). */
  protected abstract readyStatus(): number;
  /** Status right after a reset (ATA: DRDY|DSC; ATAPI: 0). */
  protected abstract resetStatus(): number;
  /** Executes command `cmd` (the device is selected; status is BSY). */
  protected abstract execute(cmd: number): void;

  attachTo(ch: IdeChannel): void { this.channel = ch; }

  /** Power-on reset (subclasses also restore their settings). */
  reset(): void { this.resetDevice(); }

  /** Hardware/software reset: signature, diagnostic code 01 (passed), no transfer, no IRQ. */
  resetDevice(): void {
    this.cancel();
    this.device = 0; this.feature = 0;
    this.signature();
    this.hobCount = this.count; this.hobLow = this.lbaLow; this.hobMid = this.lbaMid; this.hobHigh = this.lbaHigh;
    this.error = 0x01;
    this.status = this.resetStatus();
    this.intPending = false;
  }

  /** Stops any transfer or pending completion (SRST asserted). */
  cancel(): void {
    this.channel?.clock?.disarm(this.timer);
    this.pending = null;
    this.bufPos = this.bufLen = 0;
    this.onDataDone = null;
    this.status &= ~ST_DRQ;
  }

  writeCommand(cmd: number): void {
    if ((this.status & ST_BSY) !== 0) return;
    if ((this.status & ST_DRQ) !== 0 && cmd !== 0x08) return; // only DEVICE RESET interrupts a transfer
    this.intPending = false;
    this.channel?.updateIrq();
    this.cancel();
    this.pendingCmd = cmd;
    this.schedule(this.runCommand);
  }
  private pendingCmd = 0;
  private readonly runCommand = (): void => this.execute(this.pendingCmd);

  /** Marks the device busy and runs `fn` after the command delay (at once without a clock). */
  protected schedule(fn: () => void): void {
    this.status = ST_BSY;
    const clock = this.channel?.clock ?? null;
    if (clock === null) { fn(); return; }
    this.pending = fn;
    clock.arm(this.timer, clock.nowNs() + (this.channel?.delayNs ?? DEFAULT_DELAY_NS));
  }

  protected raise(): void { this.intPending = true; this.channel?.updateIrq(); }

  /** Command done: status ready, optional interrupt. */
  protected finish(irq = true): void {
    this.status = this.readyStatus();
    if (irq) this.raise();
  }

  protected abort(err = ERR_ABRT): void {
    this.status = this.readyStatus() | ST_ERR;
    this.error = err;
    this.raise();
  }

  /** Offers `len` bytes of `buf` to the host (data-in). */
  protected startDataIn(len: number, done: () => void, irq: boolean): void {
    this.bufPos = 0; this.bufLen = len; this.dataOut = false; this.onDataDone = done;
    this.status = this.readyStatus() | ST_DRQ;
    if (irq) this.raise();
  }

  /** Asks the host for `len` bytes into `buf` (data-out). */
  protected startDataOut(len: number, done: () => void, irq: boolean): void {
    this.bufPos = 0; this.bufLen = len; this.dataOut = true; this.onDataDone = done;
    this.status = this.readyStatus() | ST_DRQ;
    if (irq) this.raise();
  }

  readData(size: number): number {
    if ((this.status & ST_DRQ) === 0 || this.dataOut) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) {
      if (this.bufPos < this.bufLen) v |= this.buf[this.bufPos++] << (8 * i);
    }
    if (this.bufPos >= this.bufLen) this.dataDone();
    return v >>> 0;
  }

  writeData(size: number, value: number): void {
    if ((this.status & ST_DRQ) === 0 || !this.dataOut) return;
    for (let i = 0; i < size && this.bufPos < this.bufLen; i++) this.buf[this.bufPos++] = (value >>> (8 * i)) & 0xff;
    if (this.bufPos >= this.bufLen) this.dataDone();
  }

  private dataDone(): void {
    this.status &= ~ST_DRQ;
    const f = this.onDataDone;
    this.onDataDone = null;
    if (f !== null) f();
  }

  /** Writes a task-file register (offsets 1-6); the previous value becomes the HOB value. */
  writeReg(offset: number, v: number): void {
    if ((this.status & ST_BSY) !== 0) return;
    switch (offset) {
      case 1: this.hobFeature = this.feature; this.feature = v; break;
      case 2: this.hobCount = this.count; this.count = v; break;
      case 3: this.hobLow = this.lbaLow; this.lbaLow = v; break;
      case 4: this.hobMid = this.lbaMid; this.lbaMid = v; break;
      case 5: this.hobHigh = this.lbaHigh; this.lbaHigh = v; break;
      case 6: this.device = v; break;
    }
  }

  readReg(offset: number, hob: boolean): number {
    switch (offset) {
      case 1: return this.error;
      case 2: return hob ? this.hobCount : this.count;
      case 3: return hob ? this.hobLow : this.lbaLow;
      case 4: return hob ? this.hobMid : this.lbaMid;
      case 5: return hob ? this.hobHigh : this.lbaHigh;
      case 6: return this.device | 0xa0;
      default: return this.status;
    }
  }

  /** Stores the ATA string `s` in `words` words from word `wordOff` of `w` (two characters per
   * word, the first in the high byte, space padded). */
  protected static ataString(w: Uint8Array, wordOff: number, words: number, s: string): void {
    const padded = s.padEnd(words * 2, ' ');
    for (let i = 0; i < words; i++) {
      w[(wordOff + i) * 2] = padded.charCodeAt(i * 2 + 1) & 0x7f;
      w[(wordOff + i) * 2 + 1] = padded.charCodeAt(i * 2) & 0x7f;
    }
  }
  protected static setWord(w: Uint8Array, word: number, v: number): void { w[word * 2] = v & 0xff; w[word * 2 + 1] = (v >>> 8) & 0xff; }
  /** Word 255: signature 0xA5 and a checksum making the 512 bytes sum to 0 (mod 256). */
  protected static checksum(w: Uint8Array): void {
    w[510] = 0xa5;
    let sum = 0;
    for (let i = 0; i < 511; i++) sum += w[i];
    w[511] = (256 - (sum & 0xff)) & 0xff;
  }

  /** Plain-object view for debugging. */
  state(): Record<string, unknown> {
    return {
      name: this.name, packet: this.isPacket, status: this.status, error: this.error, count: this.count,
      lbaLow: this.lbaLow, lbaMid: this.lbaMid, lbaHigh: this.lbaHigh, device: this.device,
      intPending: this.intPending, drq: { pos: this.bufPos, len: this.bufLen, out: this.dataOut },
    };
  }
}

/** One IDE channel: the command block (8 ports) and the control block (1 port). */
export class IdeChannel implements PortDevice {
  readonly drives: [IdeDrive | null, IdeDrive | null] = [null, null];
  /** Device control: [7] HOB | [2] SRST | [1] nIEN. */
  private devCtl = 0;
  private selected = 0;
  readonly ctlPort: PortDevice;

  constructor(readonly name: string, private readonly irq: IrqLine, readonly clock: VirtualClock | null = null,
    readonly delayNs = DEFAULT_DELAY_NS) {
    this.ctlPort = {
      ioRead: () => this.altStatus(),
      ioWrite: (_o: number, _s: number, v: number) => this.writeDevCtl(v & 0xff),
    };
  }

  attach(slot: 0 | 1, drive: IdeDrive | null): void {
    this.drives[slot] = drive;
    drive?.attachTo(this);
    drive?.reset();
  }

  /** Claims `base`..`base`+7 and `ctlBase` (primary: 0x1F0 / 0x3F6, secondary: 0x170 / 0x376). */
  registerPorts(io: IoBus, base: number, ctlBase: number): void {
    io.register(base, 8, `${this.name} command block`, this);
    io.register(ctlBase, 1, `${this.name} control`, this.ctlPort);
  }

  reset(): void {
    this.devCtl = 0;
    this.selected = 0;
    for (const d of this.drives) d?.reset();
    this.updateIrq();
  }

  private sel(): IdeDrive | null { return this.drives[this.selected]; }

  updateIrq(): void {
    const d = this.sel();
    this.irq.set(d !== null && d.intPending && (this.devCtl & 2) === 0);
  }

  private altStatus(): number {
    const d = this.sel();
    if (d !== null) return d.status;
    return this.drives[0] === null && this.drives[1] === null ? 0xff : 0;
  }

  private writeDevCtl(v: number): void {
    const was = this.devCtl;
    this.devCtl = v;
    if ((v & 4) !== 0 && (was & 4) === 0) {
      for (const d of this.drives) if (d !== null) { d.cancel(); d.status = ST_BSY; d.intPending = false; }
    } else if ((v & 4) === 0 && (was & 4) !== 0) {
      this.selected = 0;
      for (const d of this.drives) d?.resetDevice();
    }
    this.updateIrq();
  }

  ioRead(offset: number, size: number): number {
    const d = this.sel();
    if (offset === 0) return d !== null ? d.readData(size) : 0xffff;
    if (d === null) {
      const other = this.drives[this.selected ^ 1];
      if (other === null) return 0xff;
      // A missing slave: the master answers with status 0 and its shadow registers.
      return offset === 7 || offset === 1 ? 0 : other.readReg(offset, (this.devCtl & 0x80) !== 0);
    }
    if (offset === 7) {
      const s = d.status;
      if (d.intPending) { d.intPending = false; this.updateIrq(); }
      return s;
    }
    return d.readReg(offset, (this.devCtl & 0x80) !== 0);
  }

  ioWrite(offset: number, size: number, value: number): void {
    if (offset === 0) { this.sel()?.writeData(size, value); return; }
    value &= 0xff;
    if (offset === 7) {
      if (value === 0x90) { this.diagnostic(); return; } // EXECUTE DEVICE DIAGNOSTIC: both devices
      this.sel()?.writeCommand(value);
      return;
    }
    this.devCtl &= ~0x80; // a task-file write clears HOB
    for (const d of this.drives) d?.writeReg(offset, value);
    if (offset === 6) { this.selected = (value >> 4) & 1; this.updateIrq(); }
  }

  private diagnostic(): void {
    const master = this.drives[0];
    if (master !== null && (master.status & ST_BSY) !== 0) return;
    this.selected = 0;
    for (const d of this.drives) d?.resetDevice();
    if (master !== null) { master.intPending = true; }
    else if (this.drives[1] !== null) (this.drives[1] as IdeDrive).intPending = true;
    this.updateIrq();
  }

  state(): Record<string, unknown> {
    return { name: this.name, devCtl: this.devCtl, selected: this.selected, irq: this.irq.high, drives: this.drives.map((d) => d?.state() ?? null) };
  }
}

/** Default CHS translation of an ATA disk: 16 heads, 63 sectors, at most 16383 cylinders. */
export function ataGeometry(sectors: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  return { cylinders: Math.max(1, Math.min(16383, Math.floor(sectors / (16 * 63)))), heads: 16, sectorsPerTrack: 63 };
}

const MAX_MULTIPLE = 16;

/** An ATA hard disk on a BlockDevice of 512-byte sectors. */
export class AtaDisk extends IdeDrive {
  readonly isPacket = false;
  readonly sectors: number;
  /** Logical CHS translation (INITIALIZE DEVICE PARAMETERS). */
  private heads = 16;
  private spt = 63;
  private multiple = 0;
  private xferLba = 0;
  private xferLeft = 0;
  private xferBlock = 0;
  private xferLba48 = false;

  constructor(readonly disk: BlockDevice, name = 'ATA disk', readonly serial = 'VMXLAB0001') {
    super(name, MAX_MULTIPLE * 512);
    this.sectors = Math.floor(disk.size / 512);
  }

  protected signature(): void { this.count = 1; this.lbaLow = 1; this.lbaMid = 0; this.lbaHigh = 0; }
  protected readyStatus(): number { return ST_DRDY | ST_DSC; }
  protected resetStatus(): number { return ST_DRDY | ST_DSC; }

  /** Power-on: default translation, multiple mode off. */
  override reset(): void { this.heads = 16; this.spt = 63; this.multiple = 0; this.resetDevice(); }

  private cylinders(): number { return Math.min(65535, Math.floor(Math.min(this.sectors, 16514064) / (this.heads * this.spt))); }

  /** Start address of the command (LBA28, LBA48 or CHS); -1 for an invalid CHS address. */
  private address(lba48: boolean): number {
    if (lba48) return (this.hobHigh * 2 ** 40) + (this.hobMid * 2 ** 32) + (this.hobLow * 2 ** 24) + ((this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow);
    if ((this.device & 0x40) !== 0) return ((this.device & 0xf) * 2 ** 24) + ((this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow);
    const c = (this.lbaHigh << 8) | this.lbaMid, h = this.device & 0xf, s = this.lbaLow;
    if (s === 0 || s > this.spt || h >= this.heads || c >= this.cylinders()) return -1;
    return (c * this.heads + h) * this.spt + s - 1;
  }

  /** Writes `lba` back into the task file in the command's addressing mode. */
  private setAddress(lba: number, lba48: boolean): void {
    if (lba48) {
      this.lbaLow = lba & 0xff; this.lbaMid = (lba >>> 8) & 0xff; this.lbaHigh = (lba >>> 16) & 0xff;
      const hi = Math.floor(lba / 2 ** 24);
      this.hobLow = hi & 0xff; this.hobMid = (hi >>> 8) & 0xff; this.hobHigh = (hi >>> 16) & 0xff;
    } else if ((this.device & 0x40) !== 0) {
      this.lbaLow = lba & 0xff; this.lbaMid = (lba >>> 8) & 0xff; this.lbaHigh = (lba >>> 16) & 0xff;
      this.device = (this.device & 0xf0) | ((lba >>> 24) & 0xf);
    } else {
      const s = lba % this.spt, t = Math.floor(lba / this.spt), h = t % this.heads, c = Math.floor(t / this.heads);
      this.lbaLow = s + 1; this.lbaMid = c & 0xff; this.lbaHigh = (c >> 8) & 0xff; this.device = (this.device & 0xf0) | h;
    }
  }

  private sectorCount(lba48: boolean): number {
    if (lba48) { const n = (this.hobCount << 8) | this.count; return n === 0 ? 65536 : n; }
    return this.count === 0 ? 256 : this.count;
  }

  protected execute(cmd: number): void {
    switch (cmd) {
      case 0x20: case 0x21: this.startRead(false, 1); return; // READ SECTORS (with/without retries)
      case 0x24: this.startRead(true, 1); return; // READ SECTORS EXT
      case 0xc4: case 0x29: // READ MULTIPLE (EXT)
        if (this.multiple === 0) { this.abort(); return; }
        this.startRead(cmd === 0x29, this.multiple); return;
      case 0x30: case 0x31: this.startWrite(false, 1); return; // WRITE SECTORS
      case 0x34: this.startWrite(true, 1); return; // WRITE SECTORS EXT
      case 0xc5: case 0x39: // WRITE MULTIPLE (EXT)
        if (this.multiple === 0) { this.abort(); return; }
        this.startWrite(cmd === 0x39, this.multiple); return;
      case 0x40: case 0x41: case 0x42: { // READ VERIFY SECTORS (EXT)
        const ext = cmd === 0x42, lba = this.address(ext), n = this.sectorCount(ext);
        if (lba < 0 || lba + n > this.sectors) { this.rangeError(lba, ext); return; }
        this.setAddress(lba + n - 1, ext);
        this.finish();
        return;
      }
      case 0xc6: { // SET MULTIPLE MODE: a power of two up to MAX_MULTIPLE (0 disables)
        const n = this.count;
        if (n > MAX_MULTIPLE || (n & (n - 1)) !== 0) { this.abort(); return; }
        this.multiple = n;
        this.finish();
        return;
      }
      case 0x91: // INITIALIZE DEVICE PARAMETERS: sectors per track = count, heads = device[3:0] + 1
        if (this.count === 0) { this.abort(); return; }
        this.spt = this.count; this.heads = (this.device & 0xf) + 1;
        this.finish();
        return;
      case 0xef: // SET FEATURES: transfer mode, write cache, read look-ahead, revert to defaults
        if ([0x02, 0x03, 0x55, 0x66, 0x82, 0xaa, 0xcc].includes(this.feature)) this.finish(); else this.abort();
        return;
      case 0xec: this.identify(); this.startDataIn(512, this.dataInDone, true); return;
      case 0xe7: case 0xea: // FLUSH CACHE (EXT): the image is in memory
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: // STANDBY / IDLE (IMMEDIATE)
        this.finish(); return;
      case 0xe5: this.count = 0xff; this.finish(); return; // CHECK POWER MODE: active
      case 0xf8: case 0x27: { // READ NATIVE MAX ADDRESS (EXT)
        const ext = cmd === 0x27;
        if (!ext) this.device |= 0x40;
        this.setAddress(Math.min(this.sectors, ext ? 2 ** 48 : 0x10000000) - 1, ext);
        this.finish();
        return;
      }
      default:
        if ((cmd & 0xf0) === 0x10) { this.finish(); return; } // RECALIBRATE
        if ((cmd & 0xf0) === 0x70) { // SEEK
          const lba = this.address(false);
          if (lba < 0 || lba >= this.sectors) { this.rangeError(lba, false); return; }
          this.finish();
          return;
        }
        this.abort(); // unknown, IDENTIFY PACKET DEVICE, PACKET, DEVICE RESET, NOP
    }
  }

  private readonly dataInDone = (): void => { this.status = this.readyStatus(); };

  private rangeError(lba: number, ext: boolean): void {
    if (lba >= 0) this.setAddress(Math.min(lba, this.sectors - 1 < 0 ? 0 : this.sectors - 1), ext);
    this.abort(ERR_IDNF);
  }

  private startRead(ext: boolean, block: number): void {
    const lba = this.address(ext), n = this.sectorCount(ext);
    if (lba < 0 || lba + n > this.sectors) { this.rangeError(lba, ext); return; }
    this.xferLba = lba; this.xferLeft = n; this.xferBlock = block; this.xferLba48 = ext;
    this.loadReadBlock();
  }

  private readonly loadReadBlock = (): void => {
    const n = Math.min(this.xferBlock, this.xferLeft);
    if (!this.disk.read(this.xferLba * 512, this.buf, 0, n * 512)) { this.abort(ERR_UNC); return; }
    this.startDataIn(n * 512, this.readBlockDone, true);
  };

  private readonly readBlockDone = (): void => {
    const n = Math.min(this.xferBlock, this.xferLeft);
    this.xferLba += n; this.xferLeft -= n;
    this.setAddress(this.xferLba - 1, this.xferLba48);
    this.count = this.xferLeft & 0xff;
    if (this.xferLeft > 0) this.schedule(this.loadReadBlock);
    else this.status = this.readyStatus();
  };

  private startWrite(ext: boolean, block: number): void {
    const lba = this.address(ext), n = this.sectorCount(ext);
    if (lba < 0 || lba + n > this.sectors) { this.rangeError(lba, ext); return; }
    if (this.disk.readOnly) { this.abort(); return; }
    this.xferLba = lba; this.xferLeft = n; this.xferBlock = block; this.xferLba48 = ext;
    this.startDataOut(Math.min(block, n) * 512, this.writeBlockFull, false);
  }

  private readonly writeBlockFull = (): void => { this.schedule(this.commitWriteBlock); };

  private readonly commitWriteBlock = (): void => {
    const n = Math.min(this.xferBlock, this.xferLeft);
    if (!this.disk.write(this.xferLba * 512, this.buf, 0, n * 512)) { this.abort(ERR_ABRT); return; }
    this.xferLba += n; this.xferLeft -= n;
    this.setAddress(this.xferLba - 1, this.xferLba48);
    this.count = this.xferLeft & 0xff;
    if (this.xferLeft > 0) this.startDataOut(Math.min(this.xferBlock, this.xferLeft) * 512, this.writeBlockFull, true);
    else this.finish();
  };

  /** IDENTIFY DEVICE data (ATA/ATAPI-6 table 27). */
  private identify(): void {
    const w = this.buf, set = IdeDrive.setWord;
    w.fill(0, 0, 512);
    const g = ataGeometry(this.sectors);
    set(w, 0, 0x0040); // [6] fixed device
    set(w, 1, g.cylinders); set(w, 3, g.heads); set(w, 6, g.sectorsPerTrack);
    IdeDrive.ataString(w, 10, 10, this.serial); // serial number (20 chars)
    IdeDrive.ataString(w, 23, 4, '1.0'); // firmware revision (8 chars)
    IdeDrive.ataString(w, 27, 20, 'vmxlab ATA disk'); // model number (40 chars)
    set(w, 47, 0x8000 | MAX_MULTIPLE); // READ/WRITE MULTIPLE: max sectors per block
    set(w, 49, 0x0a00); // [11] IORDY supported | [9] LBA supported
    set(w, 50, 0x4000);
    set(w, 51, 0x0200); // PIO data transfer cycle timing mode 2 (obsolete field)
    set(w, 53, 0x0003); // words 54-58 and 64-70 valid
    const cyl = this.cylinders(), cur = cyl * this.heads * this.spt;
    set(w, 54, cyl); set(w, 55, this.heads); set(w, 56, this.spt);
    set(w, 57, cur & 0xffff); set(w, 58, cur >>> 16);
    set(w, 59, this.multiple !== 0 ? 0x0100 | this.multiple : 0);
    const lba28 = Math.min(this.sectors, 0x0fffffff);
    set(w, 60, lba28 & 0xffff); set(w, 61, lba28 >>> 16);
    set(w, 64, 0x0003); // PIO modes 3 and 4
    set(w, 65, 120); set(w, 66, 120); set(w, 67, 120); set(w, 68, 120);
    set(w, 80, 0x007e); // ATA-1 .. ATA/ATAPI-6
    set(w, 82, 0x0000);
    set(w, 83, 0x7400); // [14] valid | [13] FLUSH CACHE EXT | [12] FLUSH CACHE | [10] 48-bit address
    set(w, 84, 0x4000);
    set(w, 85, 0x0000);
    set(w, 86, 0x3400);
    set(w, 87, 0x4000);
    const s = this.sectors;
    set(w, 100, s & 0xffff); set(w, 101, Math.floor(s / 0x10000) & 0xffff); set(w, 102, Math.floor(s / 2 ** 32) & 0xffff); set(w, 103, 0);
    IdeDrive.checksum(w);
  }

  override state(): Record<string, unknown> {
    return { ...super.state(), sectors: this.sectors, heads: this.heads, spt: this.spt, multiple: this.multiple, xfer: { lba: this.xferLba, left: this.xferLeft } };
  }
}
