// An Intel 82077AA-style floppy disk controller (PC/AT mode) with two 3.5"/5.25" drives.
// Sources: Intel 82077AA CHMOS Single-Chip Floppy Disk Controller datasheet (registers, command
// set, status bytes, result-phase C/H/R/N table); IBM PC AT Technical Reference (ports, IRQ 6,
// DMA channel 2).
//
//   port   read                               write
//   0x3F0  SRA status A                       -
//   0x3F1  SRB status B                       -
//   0x3F2  DOR digital output                 DOR
//   0x3F3  TDR tape drive                     TDR
//   0x3F4  MSR main status                    DSR data-rate select
//   0x3F5  FIFO (command / result bytes)      FIFO
//   0x3F7  DIR digital input                  CCR configuration control
//   (0x3F6 belongs to the primary IDE channel's device control / alternate status.)
//
//   DOR  [7:4] motor enable D..A | [3] DMA gate (IRQ and DRQ enabled) | [2] !RESET | [1:0] drive select
//   MSR  [7] RQM request for master | [6] DIO (1 = FDC -> CPU) | [5] NON-DMA execution |
//        [4] CB command busy | [3:0] drive D..A busy seeking
//   DSR  [7] software reset | [6] power down | [4:2] precompensation | [1:0] data rate
//   DIR  [7] DSKCHG (disk changed) of the selected drive
//   ST0  [7:6] interrupt code 00 normal, 01 abnormal, 10 invalid command, 11 polling |
//        [5] SE seek end | [4] EC equipment check | [3] NR | [2] head | [1:0] drive
//   ST1  [7] EN end of cylinder | [5] DE data error | [4] OR overrun | [2] ND no data |
//        [1] NW not writable | [0] MA missing address mark
//   ST2  [6] CM | [5] DD | [4] WC wrong cylinder | [3] SH | [2] SN | [1] BC bad cylinder | [0] MD
//   ST3  [7] fault | [6] WP | [5] 1 | [4] T0 track 0 | [3] 1 | [2] head | [1:0] drive
//
// Commands (low five bits of the first byte; MT = 0x80 multi-track, MFM = 0x40, SK = 0x20):
// SPECIFY 03, SENSE DRIVE STATUS 04, WRITE DATA 05, READ DATA 06, RECALIBRATE 07, SENSE
// INTERRUPT STATUS 08, READ ID 0A, FORMAT TRACK 0D, DUMPREG 0E, SEEK 0F (RELATIVE SEEK 8F/CF),
// VERSION 10, PERPENDICULAR MODE 12, CONFIGURE 13, LOCK 14/94. Anything else is invalid
// (one result byte, ST0 = 0x80).
//
// Data moves by DMA only (channel 2 of the Dma8237); SPECIFY's non-DMA bit is stored and
// reported by DUMPREG but transfers still use DMA. Seeks, reads, writes and the reset
// interrupt complete after a short virtual-time delay through a Timer. The data rate and
// drive motor are not checked against the media; deleted-data, READ TRACK and SCAN commands
// are not implemented (invalid).
import type { BlockDevice } from '../block';
import { Timer, type VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';
import type { Dma8237 } from './dma8237';

export interface FloppyGeometry {
  /** Image size in bytes. */
  size: number;
  label: string;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  /** CMOS/BIOS drive type (0x10 register nibble): 1 = 360K, 2 = 1.2M, 3 = 720K, 4 = 1.44M, 5 = 2.88M. */
  driveType: number;
  /** Data rate in kbit/s the media is recorded at. */
  dataRateKbps: number;
}

const GEOMETRIES: readonly FloppyGeometry[] = [
  { size: 163840, label: '160K', cylinders: 40, heads: 1, sectorsPerTrack: 8, driveType: 1, dataRateKbps: 250 },
  { size: 184320, label: '180K', cylinders: 40, heads: 1, sectorsPerTrack: 9, driveType: 1, dataRateKbps: 250 },
  { size: 327680, label: '320K', cylinders: 40, heads: 2, sectorsPerTrack: 8, driveType: 1, dataRateKbps: 250 },
  { size: 368640, label: '360K', cylinders: 40, heads: 2, sectorsPerTrack: 9, driveType: 1, dataRateKbps: 250 },
  { size: 737280, label: '720K', cylinders: 80, heads: 2, sectorsPerTrack: 9, driveType: 3, dataRateKbps: 250 },
  { size: 1228800, label: '1.2M', cylinders: 80, heads: 2, sectorsPerTrack: 15, driveType: 2, dataRateKbps: 500 },
  { size: 1474560, label: '1.44M', cylinders: 80, heads: 2, sectorsPerTrack: 18, driveType: 4, dataRateKbps: 500 },
  { size: 2949120, label: '2.88M', cylinders: 80, heads: 2, sectorsPerTrack: 36, driveType: 5, dataRateKbps: 1000 },
];

/** Geometry of a floppy image from its size; throws for sizes that are not a standard format. */
export function floppyGeometry(size: number): FloppyGeometry {
  const g = GEOMETRIES.find((x) => x.size === size);
  if (g === undefined) {
    throw new Error(`floppy image of ${size} bytes is not a standard format; expected one of `
      + GEOMETRIES.map((x) => `${x.label} (${x.size})`).join(', '));
  }
  return { ...g };
}

const SECTOR = 512;
/** Virtual-time delays (deterministic, short). */
const RESET_DELAY_NS = 5_000, SEEK_DELAY_NS = 10_000, RW_DELAY_NS = 20_000;

const enum Phase { Idle, Command, Exec, Result }

/** Parameter bytes after the opcode, by low five opcode bits; -1 = invalid. */
const PARAMS = [-1, -1, -1, 2, 1, 8, 8, 1, 0, -1, 1, -1, -1, 5, 0, 2, 0, -1, 1, 3, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];

/** One drive: a media slot, the head position and the disk-change line. */
export class FloppyDrive {
  media: BlockDevice | null = null;
  geometry: FloppyGeometry | null = null;
  /** Present cylinder number (head position). */
  pcn = 0;
  diskChanged = true;
  /** Sector the next READ ID reports (rotates). */
  nextId = 1;

  /** Inserts an image (size must be a standard format) or ejects with null. */
  insert(media: BlockDevice | null): void {
    this.geometry = media === null ? null : floppyGeometry(media.size);
    this.media = media;
    this.diskChanged = true;
  }
}

export interface FloppyOptions { dmaChannel?: number }

export class FloppyController implements PortDevice {
  readonly drives = [new FloppyDrive(), new FloppyDrive()];
  private dor = 0;
  private tdr = 0;
  private dataRate = 2;
  private phase = Phase.Idle;
  private inReset = true;
  private readonly cmd = new Uint8Array(16);
  private cmdLen = 0;
  private cmdNeed = 0;
  private readonly res = new Uint8Array(16);
  private resLen = 0;
  private resPos = 0;
  private intPending = false;
  /** Seek/recalibrate/reset status waiting for SENSE INTERRUPT STATUS, per drive; -1 = none. */
  private readonly seekSt = new Int16Array([-1, -1, -1, -1]);
  /** PCN of drives 2-3 (not attached; the controller still tracks them). */
  private readonly pcnOther = new Uint8Array(2);
  private seekBusy = 0;
  // SPECIFY / CONFIGURE / LOCK / PERPENDICULAR.
  private srtHut = 0;
  private hltNd = 0;
  private configure = 0x20; // [6] EIS | [5] EFIFO disabled | [4] POLL disabled | [3:0] FIFOTHR
  private pretrk = 0;
  private locked = false;
  private perpendicular = 0;
  private lastEot = 0;
  private readonly buf = new Uint8Array(SECTOR);
  private readonly dmaChannel: number;
  private readonly cmdTimer: Timer;
  private readonly resetTimer: Timer;
  private readonly seekTimers: Timer[];
  /** DIR/CCR at 0x3F7 (a separate one-port range). */
  readonly dirPort: PortDevice;

  constructor(private readonly clock: VirtualClock, private readonly irq: IrqLine,
    private readonly dma: Dma8237 | null, opts: FloppyOptions = {}) {
    this.dmaChannel = opts.dmaChannel ?? 2;
    this.cmdTimer = new Timer('FDC command', () => this.execute());
    this.resetTimer = new Timer('FDC reset', () => { if (this.pendingSeekStatus()) this.setInt(true); });
    this.seekTimers = [0, 1, 2, 3].map((d) => new Timer(`FDC seek drive ${d}`, () => this.seekDone(d)));
    this.dirPort = {
      ioRead: () => this.readDir(),
      ioWrite: (_o: number, _s: number, v: number) => { this.dataRate = v & 3; },
    };
  }

  /** Claims 0x3F0-0x3F5 and 0x3F7 (default base 0x3F0). */
  registerPorts(io: IoBus, base = 0x3f0): void {
    io.register(base, 6, 'FDC 82077AA', this);
    io.register(base + 7, 1, 'FDC 82077AA DIR/CCR', this.dirPort);
  }

  /** Power-on reset: DOR = 0 holds the controller in reset until the BIOS writes DOR bit 2. */
  reset(): void {
    this.dor = 0;
    this.tdr = 0;
    this.srtHut = 0; this.hltNd = 0; this.locked = false;
    this.enterReset();
    for (const d of this.drives) { d.pcn = 0; d.diskChanged = true; d.nextId = 1; }
    this.pcnOther.fill(0);
  }

  // --- port I/O ---------------------------------------------------------------------------

  ioRead(offset: number): number {
    switch (offset) {
      case 0: { // SRA: [7] INT | [6] !DRV2 | [4] !TRK0 | [3] HDSEL | [1] !WP | [0] DIR
        const d = this.selectedDrive();
        return (this.irq.high ? 0x80 : 0) | (d !== null && d.pcn === 0 ? 0 : 0x10)
          | (d !== null && d.media !== null && !d.media.readOnly ? 0x02 : 0);
      }
      case 1: // SRB: [7:6] 1 | [5] drive select 0 | [1:0] motor enables B, A
        return 0xc0 | ((this.dor & 1) === 0 ? 0x20 : 0) | ((this.dor >> 4) & 3);
      case 2: return this.dor;
      case 3: return this.tdr;
      case 4: return this.msr();
      case 5: return this.readFifo();
      default: return 0xff;
    }
  }

  ioWrite(offset: number, _size: number, value: number): void {
    value &= 0xff;
    switch (offset) {
      case 2: this.writeDor(value); break;
      case 3: this.tdr = value & 3; break;
      case 4: // DSR
        this.dataRate = value & 3;
        if ((value & 0x80) !== 0 && !this.inReset) { this.enterReset(); this.leaveReset(); }
        break;
      case 5: this.writeFifo(value); break;
    }
  }

  private readDir(): number {
    const d = this.selectedDrive();
    return d !== null && d.diskChanged ? 0x80 : 0;
  }

  private selectedDrive(): FloppyDrive | null { return this.drives[this.dor & 3] ?? null; }

  private msr(): number {
    if (this.inReset) return 0;
    switch (this.phase) {
      case Phase.Idle: return 0x80 | this.seekBusy;
      case Phase.Command: return 0x90 | this.seekBusy;
      case Phase.Exec: return 0x10 | this.seekBusy;
      case Phase.Result: return 0xd0 | this.seekBusy;
    }
  }

  private writeDor(v: number): void {
    const wasReset = (this.dor & 4) === 0;
    this.dor = v;
    if ((v & 4) === 0) { if (!wasReset || !this.inReset) this.enterReset(); } else if (this.inReset) this.leaveReset();
    this.updateIrq();
  }

  private enterReset(): void {
    this.inReset = true;
    this.phase = Phase.Idle;
    this.cmdLen = 0; this.resLen = 0; this.resPos = 0;
    this.seekSt.fill(-1);
    this.seekBusy = 0;
    this.clock.disarm(this.cmdTimer);
    this.clock.disarm(this.resetTimer);
    for (const t of this.seekTimers) this.clock.disarm(t);
    if (!this.locked) { this.configure = 0x20; this.pretrk = 0; }
    this.perpendicular &= 0x3c;
    this.setInt(false);
  }

  /** Leaving reset: with polling enabled the controller reports a ready change for all four
   * drives (ST0 = 0xC0 | drive), signalled by one interrupt after a short delay. */
  private leaveReset(): void {
    this.inReset = false;
    this.phase = Phase.Idle;
    if ((this.configure & 0x10) === 0) {
      for (let d = 0; d < 4; d++) this.seekSt[d] = 0xc0 | d;
      this.clock.arm(this.resetTimer, this.clock.nowNs() + RESET_DELAY_NS);
    }
  }

  private setInt(v: boolean): void { this.intPending = v; this.updateIrq(); }
  private updateIrq(): void { this.irq.set(this.intPending && (this.dor & 8) !== 0); }
  private pendingSeekStatus(): boolean { for (let d = 0; d < 4; d++) if (this.seekSt[d] >= 0) return true; return false; }

  private readFifo(): number {
    if (this.inReset || this.phase !== Phase.Result) return 0;
    // Reading the result phase clears a read/write/format interrupt.
    if (this.intPending && !this.pendingSeekStatus()) this.setInt(false);
    const v = this.res[this.resPos++];
    if (this.resPos >= this.resLen) { this.phase = Phase.Idle; this.resLen = 0; this.resPos = 0; }
    return v;
  }

  private writeFifo(v: number): void {
    if (this.inReset || (this.phase !== Phase.Idle && this.phase !== Phase.Command)) return;
    if (this.phase === Phase.Idle) {
      const need = this.paramCount(v);
      if (need < 0) { this.result1(0x80); return; }
      this.cmd[0] = v; this.cmdLen = 1; this.cmdNeed = need;
      this.phase = Phase.Command;
    } else {
      this.cmd[this.cmdLen++] = v;
    }
    if (this.cmdLen > this.cmdNeed) this.start();
  }

  private paramCount(op: number): number {
    const low = op & 0x1f;
    if (low === 0x14) return (op & 0x7f) === 0x14 ? 0 : -1; // LOCK 0x14 / 0x94
    if (low === 0x0f && (op & 0x3f) !== 0x0f) return -1;
    return PARAMS[low];
  }

  // --- command phase done ------------------------------------------------------------------

  private start(): void {
    const op = this.cmd[0], low = op & 0x1f, c = this.cmd;
    this.cmdLen = 0;
    switch (low) {
      case 0x03: this.srtHut = c[1]; this.hltNd = c[2]; this.phase = Phase.Idle; return; // SPECIFY
      case 0x04: this.result1(this.st3(c[1] & 3, (c[1] >> 2) & 1)); return; // SENSE DRIVE STATUS
      case 0x07: this.startSeek(c[1] & 3, 0, false); return; // RECALIBRATE
      case 0x0f: { // SEEK / RELATIVE SEEK
        const drv = c[1] & 3;
        let ncn = c[2];
        if ((op & 0x80) !== 0) ncn = (op & 0x40) !== 0 ? Math.min(255, this.pcnOf(drv) + c[2]) : Math.max(0, this.pcnOf(drv) - c[2]);
        this.startSeek(drv, ncn, true, (c[1] >> 2) & 1);
        return;
      }
      case 0x08: { // SENSE INTERRUPT STATUS
        for (let d = 0; d < 4; d++) {
          if (this.seekSt[d] < 0) continue;
          const st0 = this.seekSt[d];
          this.seekSt[d] = -1;
          if (!this.pendingSeekStatus()) this.setInt(false);
          this.result2(st0, this.pcnOf(d));
          return;
        }
        this.result1(0x80);
        return;
      }
      case 0x10: this.result1(0x90); return; // VERSION: 82077AA
      case 0x12: // PERPENDICULAR MODE: [7] OW | [5:2] D3..D0 | [1] GAP | [0] WGATE
        if ((c[1] & 0x80) !== 0) this.perpendicular = c[1] & 0x3f;
        else this.perpendicular = (this.perpendicular & 0x3c) | (c[1] & 3);
        this.phase = Phase.Idle;
        return;
      case 0x13: this.configure = c[2] & 0x7f; this.pretrk = c[3]; this.phase = Phase.Idle; return;
      case 0x14: this.locked = (op & 0x80) !== 0; this.result1(this.locked ? 0x10 : 0); return;
      case 0x0e: { // DUMPREG
        const r = this.res;
        r[0] = this.drives[0].pcn; r[1] = this.drives[1].pcn; r[2] = this.pcnOther[0]; r[3] = this.pcnOther[1];
        r[4] = this.srtHut; r[5] = this.hltNd; r[6] = this.lastEot;
        r[7] = (this.locked ? 0x80 : 0) | (this.perpendicular & 0x3f);
        r[8] = this.configure; r[9] = this.pretrk;
        this.enterResult(10, false);
        return;
      }
      default: // READ DATA, WRITE DATA, READ ID, FORMAT TRACK: execution phase after a delay
        this.phase = Phase.Exec;
        this.clock.arm(this.cmdTimer, this.clock.nowNs() + RW_DELAY_NS);
    }
  }

  private pcnOf(d: number): number { return d < 2 ? this.drives[d].pcn : this.pcnOther[d - 2]; }

  private startSeek(drv: number, ncn: number, seek: boolean, head = 0): void {
    this.phase = Phase.Idle;
    this.seekBusy |= 1 << drv;
    this.seekTarget[drv] = ncn;
    this.seekKind[drv] = (seek ? 1 : 0) | (head << 2);
    this.clock.arm(this.seekTimers[drv], this.clock.nowNs() + SEEK_DELAY_NS);
  }
  private readonly seekTarget = new Uint8Array(4);
  private readonly seekKind = new Uint8Array(4);

  private seekDone(drv: number): void {
    this.seekBusy &= ~(1 << drv);
    const ncn = this.seekTarget[drv], seek = (this.seekKind[drv] & 1) !== 0, head = this.seekKind[drv] & 4;
    let st0 = 0x20 | head | drv;
    if (drv < 2) {
      const d = this.drives[drv];
      if (ncn !== d.pcn && d.media !== null) d.diskChanged = false; // a step pulse clears DSKCHG
      d.pcn = ncn;
    } else {
      this.pcnOther[drv - 2] = ncn;
      // No drive: RECALIBRATE never sees track 0 and ends with an equipment check.
      if (!seek) st0 |= 0x50;
    }
    this.seekSt[drv] = st0;
    this.setInt(true);
  }

  private st3(drv: number, head: number): number {
    let st3 = 0x28 | (head << 2) | drv;
    if (drv < 2) {
      const d = this.drives[drv];
      if (d.pcn === 0) st3 |= 0x10;
      if (d.media === null || d.media.readOnly) st3 |= 0x40;
    }
    return st3;
  }

  private result1(v: number): void { this.res[0] = v; this.enterResult(1, false); }
  private result2(a: number, b: number): void { this.res[0] = a; this.res[1] = b; this.enterResult(2, false); }
  private enterResult(len: number, irq: boolean): void {
    this.resLen = len; this.resPos = 0; this.phase = Phase.Result;
    if (irq) this.setInt(true);
  }

  private result7(st0: number, st1: number, st2: number, c: number, h: number, r: number, n: number): void {
    const q = this.res;
    q[0] = st0; q[1] = st1; q[2] = st2; q[3] = c & 0xff; q[4] = h & 0xff; q[5] = r & 0xff; q[6] = n & 0xff;
    this.enterResult(7, true);
  }

  // --- execution phase -----------------------------------------------------------------------

  private execute(): void {
    if (this.phase !== Phase.Exec) return;
    const op = this.cmd[0];
    switch (op & 0x1f) {
      case 0x05: this.readWrite(true); break;
      case 0x06: this.readWrite(false); break;
      case 0x0a: this.readId(); break;
      case 0x0d: this.format(); break;
    }
  }

  /** DMA is usable: the DOR gate is open and channel 2 is unmasked. */
  private dmaReady(): boolean { return this.dma !== null && (this.dor & 8) !== 0 && this.dma.ready(this.dmaChannel); }

  private readWrite(write: boolean): void {
    const p = this.cmd, mt = (p[0] & 0x80) !== 0, mfm = (p[0] & 0x40) !== 0;
    const drv = p[1] & 3;
    let hds = (p[1] >> 2) & 1;
    let c = p[2], h = p[3], r = p[4];
    const n = p[5], eot = p[6];
    this.lastEot = eot;
    const d = drv < 2 ? this.drives[drv] : null;
    const st0base = () => (hds << 2) | drv;
    const fail = (st1: number, st2: number) => this.result7(0x40 | st0base(), st1, st2, c, h, r, n);
    if (d === null || d.media === null || d.geometry === null || !mfm) { fail(0x01, 0); return; } // MA
    const g = d.geometry, media = d.media;
    if ((this.configure & 0x40) !== 0 && d.pcn !== c) { if (d.media !== null) d.diskChanged = false; d.pcn = c; } // implied seek
    if (write && media.readOnly) { fail(0x02, 0); return; } // NW
    for (let guard = 0; guard < 512; guard++) {
      if (d.pcn >= g.cylinders || hds >= g.heads) { fail(0x01, 0); return; } // no track: MA
      if (c !== d.pcn) { fail(0x04, c === 0xff ? 0x02 : 0x10); return; } // ND + BC/WC
      if (h !== hds || n !== 2 || r < 1 || r > g.sectorsPerTrack) { fail(0x04, 0); return; } // ND
      if (!this.dmaReady()) { fail(0x10, 0); return; } // OR: nobody serviced DRQ
      const off = ((d.pcn * g.heads + hds) * g.sectorsPerTrack + (r - 1)) * SECTOR;
      const dma = this.dma as Dma8237, buf = this.buf;
      let moved: number;
      if (write) {
        moved = dma.readFromMemory(this.dmaChannel, buf, 0, SECTOR);
        buf.fill(0, moved); // TC inside a sector: the rest is written as zeros
        media.write(off, buf, 0, SECTOR);
      } else {
        media.read(off, buf, 0, SECTOR);
        moved = dma.writeToMemory(this.dmaChannel, buf, 0, SECTOR);
      }
      const tc = dma.lastTransferHitTc;
      if (moved < SECTOR && !tc) { fail(0x10, 0); return; }
      // Next sector (result-phase table of the datasheet).
      let endOfTrack = false;
      if (r !== eot) r++;
      else if (mt && hds === 0) { hds = 1; h ^= 1; r = 1; } else { if (mt) h ^= 1; c++; r = 1; endOfTrack = true; }
      if (tc) { this.result7(st0base(), 0, 0, c, h, r, n); return; }
      if (endOfTrack) { this.result7(0x40 | st0base(), 0x80, 0, c, h, r, n); return; } // EN without TC
    }
    fail(0x04, 0);
  }

  private readId(): void {
    const drv = this.cmd[1] & 3, hds = (this.cmd[1] >> 2) & 1, st0 = (hds << 2) | drv;
    const d = drv < 2 ? this.drives[drv] : null;
    if (d === null || d.geometry === null || (this.cmd[0] & 0x40) === 0 || d.pcn >= d.geometry.cylinders || hds >= d.geometry.heads) {
      this.result7(0x40 | st0, 0x01, 0, d?.pcn ?? 0, hds, 1, 2);
      return;
    }
    const r = d.nextId;
    d.nextId = r >= d.geometry.sectorsPerTrack ? 1 : r + 1;
    this.result7(st0, 0, 0, d.pcn, hds, r, 2);
  }

  /** FORMAT TRACK: HD/DS, N, SC, GPL, D; then SC x (C, H, R, N) by DMA; sectors filled with D. */
  private format(): void {
    const p = this.cmd, drv = p[1] & 3, hds = (p[1] >> 2) & 1, st0 = (hds << 2) | drv;
    const n = p[2], sc = p[3], fill = p[5];
    const d = drv < 2 ? this.drives[drv] : null;
    if (d === null || d.media === null || d.geometry === null || (p[0] & 0x40) === 0) { this.result7(0x40 | st0, 0x01, 0, 0, hds, 1, n); return; }
    if (d.media.readOnly) { this.result7(0x40 | st0, 0x02, 0, d.pcn, hds, 1, n); return; }
    const g = d.geometry, id = this.buf;
    let c = d.pcn, h = hds, r = 1, nn = n;
    for (let i = 0; i < sc; i++) {
      if (!this.dmaReady()) { this.result7(0x40 | st0, 0x10, 0, c, h, r, nn); return; }
      const moved = (this.dma as Dma8237).readFromMemory(this.dmaChannel, id, 0, 4);
      const tc = (this.dma as Dma8237).lastTransferHitTc;
      if (moved < 4 && !tc) { this.result7(0x40 | st0, 0x10, 0, c, h, r, nn); return; }
      c = id[0]; h = id[1]; r = id[2]; nn = id[3];
      // Only IDs that match the image's fixed layout change data; the layout itself cannot change.
      if (c === d.pcn && h === hds && nn === 2 && r >= 1 && r <= g.sectorsPerTrack && d.pcn < g.cylinders && hds < g.heads) {
        const sec = this.buf2;
        sec.fill(fill);
        d.media.write(((d.pcn * g.heads + hds) * g.sectorsPerTrack + r - 1) * SECTOR, sec, 0, SECTOR);
      }
      if (tc) break;
    }
    this.result7(st0, 0, 0, c, h, r, nn);
  }
  private readonly buf2 = new Uint8Array(SECTOR);

  state(): Record<string, unknown> {
    return {
      dor: this.dor, msr: this.msr(), dataRate: this.dataRate, inReset: this.inReset,
      phase: ['idle', 'command', 'execution', 'result'][this.phase],
      command: Array.from(this.cmd.subarray(0, this.cmdLen)), result: Array.from(this.res.subarray(this.resPos, this.resLen)),
      interruptPending: this.intPending, irq: this.irq.high, seekStatus: Array.from(this.seekSt),
      specify: [this.srtHut, this.hltNd], configure: this.configure, pretrk: this.pretrk, locked: this.locked,
      drives: this.drives.map((d) => ({ media: d.media?.name ?? null, geometry: d.geometry?.label ?? null, pcn: d.pcn, diskChanged: d.diskChanged })),
    };
  }
}
