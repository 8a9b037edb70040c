// An ATAPI CD-ROM drive on an IDE channel (PIO only): the PACKET protocol and a minimal MMC
// command set over a BlockDevice of 2048-byte sectors. Sources: ATA/ATAPI-6 (PACKET command
// protocol, IDENTIFY PACKET DEVICE), SFF-8020i / MMC-2 (command layouts, sense codes), SPC-2
// (INQUIRY, REQUEST SENSE fixed format).
//
// PACKET (0xA0): features [0] DMA (refused: PIO only); LBA mid/high = byte count limit. The
// device asks for the 12-byte command with DRQ and interrupt reason CoD=1 IO=0 (no interrupt:
// IDENTIFY PACKET DEVICE word 0 announces "accelerated DRQ"). Data-in goes in chunks of at most
// the byte count limit (whole 2048-byte sectors when the limit allows), each announced by DRQ,
// the chunk size in LBA mid/high, reason IO=1 CoD=0 and an interrupt; completion is reason
// IO=1 CoD=1 with an interrupt, and ERR plus the sense key in the error register [7:4] on a
// CHECK CONDITION.
//
//   interrupt reason (sector count)  [2] REL | [1] IO (1 = to host) | [0] CoD (1 = command)
//
// Commands: TEST UNIT READY 00, REQUEST SENSE 03, INQUIRY 12, START STOP UNIT 1B, PREVENT
// ALLOW MEDIUM REMOVAL 1E, READ CAPACITY 25, READ(10) 28, READ TOC 43 (formats 0 and 1),
// GET CONFIGURATION 46 (profile list only), MODE SENSE(10) 5A (pages 01, 2A, 3F), READ(12) A8.
// Others: ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (20h).
import type { BlockDevice } from '../block';
import { ERR_ABRT, IdeDrive, ST_DRDY, ST_ERR } from './ata';

export const CD_SECTOR = 2048;
export const SENSE_NOT_READY = 0x02, SENSE_ILLEGAL_REQUEST = 0x05, SENSE_UNIT_ATTENTION = 0x06;
/** Interrupt reason values (sector count register). */
export const REASON_COMMAND = 0x01, REASON_DATA_IN = 0x02, REASON_COMPLETE = 0x03;

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const put16 = (b: Uint8Array, o: number, v: number): void => { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; };
const put32 = (b: Uint8Array, o: number, v: number): void => { put16(b, o, v >>> 16); put16(b, o + 2, v & 0xffff); };

export class AtapiCdrom extends IdeDrive {
  readonly isPacket = true;
  private media: BlockDevice | null = null;
  private readonly cdb = new Uint8Array(12);
  /** Small responses are built here, then copied out chunk by chunk. */
  private readonly resp = new Uint8Array(512);
  private senseKey = 0; private asc = 0; private ascq = 0;
  private locked = false;
  private unitAttention = false;
  private byteLimit = 0;
  /** Data-in source: sectors of the medium from `xferByte`, or `resp` from `xferByte`. */
  private fromMedia = false;
  private xferByte = 0;
  private xferLeft = 0;
  private chunk = 0;

  constructor(media: BlockDevice | null, name = 'ATAPI CD-ROM', readonly serial = 'VMXLABCD01') {
    super(name, 65536);
    this.media = media;
  }

  /** Inserts (or with null removes) a disc; the next command reports UNIT ATTENTION. */
  insert(media: BlockDevice | null): void {
    this.media = media;
    this.unitAttention = media !== null;
  }
  get medium(): BlockDevice | null { return this.media; }
  private get sectors(): number { return this.media === null ? 0 : Math.floor(this.media.size / CD_SECTOR); }

  protected signature(): void { this.count = 1; this.lbaLow = 1; this.lbaMid = 0x14; this.lbaHigh = 0xeb; }
  protected readyStatus(): number { return ST_DRDY; }
  protected resetStatus(): number { return 0; }

  override reset(): void {
    this.senseKey = this.asc = this.ascq = 0;
    this.locked = false;
    this.unitAttention = false;
    this.resetDevice();
  }

  protected execute(cmd: number): void {
    switch (cmd) {
      case 0xa0: // PACKET
        if ((this.feature & 1) !== 0) { this.abort(); return; } // DMA: not supported
        this.byteLimit = this.lbaMid | (this.lbaHigh << 8);
        this.count = REASON_COMMAND;
        this.startDataOut(12, this.packetReceived, false);
        return;
      case 0xa1: this.identify(); this.startDataIn(512, this.identifyDone, true); return; // IDENTIFY PACKET DEVICE
      case 0x08: this.resetDevice(); return; // DEVICE RESET: signature, no interrupt
      case 0xec: // IDENTIFY DEVICE: aborted, with the PACKET signature for the host to see
        this.signature();
        this.abort();
        return;
      case 0xef: if (this.feature === 0x03 || this.feature === 0x66 || this.feature === 0xcc) this.finish(); else this.abort(); return;
      case 0xe5: this.count = 0xff; this.finish(); return; // CHECK POWER MODE
      default: this.abort();
    }
  }

  private readonly identifyDone = (): void => { this.status = this.readyStatus(); };
  private readonly packetReceived = (): void => {
    this.cdb.set(this.buf.subarray(0, 12));
    this.schedule(this.runPacket);
  };

  private readonly runPacket = (): void => {
    const c = this.cdb, op = c[0];
    this.error = 0;
    if (this.unitAttention && op !== 0x12 && op !== 0x03 && op !== 0x46) {
      this.unitAttention = false;
      this.check(SENSE_UNIT_ATTENTION, 0x28, 0); // NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED
      return;
    }
    switch (op) {
      case 0x00: if (this.needMedium()) this.complete(); return; // TEST UNIT READY
      case 0x03: { // REQUEST SENSE (fixed format)
        const r = this.clearResp(18);
        r[0] = 0x70; r[2] = this.senseKey; r[7] = 10; r[12] = this.asc; r[13] = this.ascq;
        this.senseKey = this.asc = this.ascq = 0;
        this.sendResp(18, c[4]);
        return;
      }
      case 0x12: { // INQUIRY
        if ((c[1] & 1) !== 0) { this.check(SENSE_ILLEGAL_REQUEST, 0x24, 0); return; } // EVPD not supported
        const r = this.clearResp(36);
        r[0] = 0x05; r[1] = 0x80; r[2] = 0x00; r[3] = 0x21; r[4] = 31; // CD/DVD, removable, ATAPI
        ascii(r, 8, 'VMXLAB  '); ascii(r, 16, 'vmxlab ATAPI CD '); ascii(r, 32, '1.0 ');
        this.sendResp(36, (c[3] << 8) | c[4]);
        return;
      }
      case 0x1b: { // START STOP UNIT: [4] bit 1 LoEj, bit 0 Start
        if ((c[4] & 3) === 2) {
          if (this.locked) { this.check(SENSE_ILLEGAL_REQUEST, 0x53, 0x02); return; } // MEDIUM REMOVAL PREVENTED
          this.media = null;
        }
        this.complete();
        return;
      }
      case 0x1e: this.locked = (c[4] & 1) !== 0; this.complete(); return; // PREVENT ALLOW MEDIUM REMOVAL
      case 0x25: { // READ CAPACITY: last LBA, block length
        if (!this.needMedium()) return;
        const r = this.clearResp(8);
        put32(r, 0, this.sectors - 1); put32(r, 4, CD_SECTOR);
        this.sendResp(8, 8);
        return;
      }
      case 0x28: this.read(be32(c, 2), be16(c, 7)); return; // READ(10)
      case 0xa8: this.read(be32(c, 2), be32(c, 6)); return; // READ(12)
      case 0x43: this.readToc(); return;
      case 0x46: this.getConfiguration(); return;
      case 0x5a: this.modeSense(); return;
      default: this.check(SENSE_ILLEGAL_REQUEST, 0x20, 0); // INVALID COMMAND OPERATION CODE
    }
  };

  private needMedium(): boolean {
    if (this.media !== null) return true;
    this.check(SENSE_NOT_READY, 0x3a, 0); // MEDIUM NOT PRESENT
    return false;
  }

  private read(lba: number, blocks: number): void {
    if (!this.needMedium()) return;
    if (lba + blocks > this.sectors) { this.check(SENSE_ILLEGAL_REQUEST, 0x21, 0); return; } // LBA OUT OF RANGE
    if (blocks === 0) { this.complete(); return; }
    this.fromMedia = true;
    this.xferByte = lba * CD_SECTOR;
    this.xferLeft = blocks * CD_SECTOR;
    this.nextChunk();
  }

  private readToc(): void {
    const c = this.cdb, msf = (c[1] & 2) !== 0, alloc = be16(c, 7);
    let format = c[2] & 0x0f;
    if (format === 0) format = c[9] >> 6; // SFF-8020i placed the format in the control byte
    if (!this.needMedium()) return;
    const r = this.resp, start = c[6];
    r.fill(0, 0, 32);
    const addr = (o: number, lba: number): void => {
      if (!msf) { put32(r, o, lba); return; }
      const f = lba + 150;
      r[o] = 0; r[o + 1] = Math.floor(f / 4500); r[o + 2] = Math.floor(f / 75) % 60; r[o + 3] = f % 75;
    };
    if (format === 0) {
      if (start > 1 && start !== 0xaa) { this.check(SENSE_ILLEGAL_REQUEST, 0x24, 0); return; }
      let o = 4;
      if (start <= 1) { r[o + 1] = 0x14; r[o + 2] = 1; addr(o + 4, 0); o += 8; } // track 1: ADR 1, data track
      r[o + 1] = 0x14; r[o + 2] = 0xaa; addr(o + 4, this.sectors); o += 8; // lead-out
      put16(r, 0, o - 2); r[2] = 1; r[3] = 1;
      this.sendResp(o, alloc);
    } else if (format === 1) { // session information: one session starting at track 1
      put16(r, 0, 10); r[2] = 1; r[3] = 1; r[5] = 0x14; r[6] = 1; addr(8, 0);
      this.sendResp(12, alloc);
    } else this.check(SENSE_ILLEGAL_REQUEST, 0x24, 0);
  }

  private getConfiguration(): void {
    const r = this.clearResp(16), cur = this.media !== null ? 0x0008 : 0;
    put32(r, 0, 12); put16(r, 6, cur); // data length (after this field), current profile: CD-ROM
    put16(r, 8, 0x0000); r[10] = 0x03; r[11] = 4; // feature 0: profile list, persistent, current
    put16(r, 12, 0x0008); r[14] = cur !== 0 ? 1 : 0; // CD-ROM profile
    this.sendResp(16, be16(this.cdb, 7));
  }

  private modeSense(): void {
    const c = this.cdb, page = c[2] & 0x3f, r = this.clearResp(64);
    if ((c[2] >> 6) === 3) { this.check(SENSE_ILLEGAL_REQUEST, 0x39, 0); return; } // SAVING PARAMETERS NOT SUPPORTED
    let o = 8;
    if (page === 0x01 || page === 0x3f) { r[o] = 0x01; r[o + 1] = 0x0a; o += 12; } // read error recovery
    if (page === 0x2a || page === 0x3f) { // CD capabilities and mechanical status
      r[o] = 0x2a; r[o + 1] = 0x12;
      r[o + 6] = 0x29 | (this.locked ? 0x02 : 0); // tray, eject, lock supported
      put16(r, o + 8, 706); put16(r, o + 10, 256); put16(r, o + 12, 512); put16(r, o + 14, 706);
      o += 20;
    }
    if (o === 8) { this.check(SENSE_ILLEGAL_REQUEST, 0x24, 0); return; } // INVALID FIELD IN CDB
    put16(r, 0, o - 2);
    r[2] = this.media !== null ? 0x01 : 0x70; // 120 mm CD-ROM data / door closed, no disc
    this.sendResp(o, be16(c, 7));
  }

  private clearResp(n: number): Uint8Array { this.resp.fill(0, 0, n); return this.resp; }

  /** Sends `len` bytes of `resp`, truncated to the allocation length. */
  private sendResp(len: number, alloc: number): void {
    const n = Math.min(len, alloc);
    if (n === 0) { this.complete(); return; }
    this.fromMedia = false;
    this.xferByte = 0;
    this.xferLeft = n;
    this.nextChunk();
  }

  private readonly nextChunk = (): void => {
    if (this.xferLeft === 0) { this.complete(); return; }
    let limit = this.byteLimit === 0 || this.byteLimit === 0xffff ? 0xfffe : this.byteLimit;
    let n: number;
    if (this.xferLeft <= limit) n = this.xferLeft;
    else {
      limit &= ~1;
      n = this.fromMedia && limit >= CD_SECTOR ? limit - (limit % CD_SECTOR) : limit;
    }
    if (this.fromMedia) {
      if (this.media === null || !this.media.read(this.xferByte, this.buf, 0, n)) { this.check(SENSE_NOT_READY, 0x3a, 0); return; }
    } else this.buf.set(this.resp.subarray(this.xferByte, this.xferByte + n));
    this.chunk = n;
    this.lbaMid = n & 0xff; this.lbaHigh = n >>> 8;
    this.count = REASON_DATA_IN;
    this.startDataIn(n, this.chunkDone, true);
  };

  private readonly chunkDone = (): void => {
    this.xferByte += this.chunk;
    this.xferLeft -= this.chunk;
    this.schedule(this.nextChunk);
  };

  private complete(): void {
    this.count = REASON_COMPLETE;
    this.finish();
  }

  /** CHECK CONDITION: sense data kept for REQUEST SENSE, sense key in the error register. */
  private check(key: number, asc: number, ascq: number): void {
    this.senseKey = key; this.asc = asc; this.ascq = ascq;
    this.xferLeft = 0;
    this.count = REASON_COMPLETE;
    this.status = this.readyStatus() | ST_ERR;
    this.error = (key << 4) | (key === SENSE_ILLEGAL_REQUEST ? ERR_ABRT : 0);
    this.raise();
  }

  /** IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 table 28). */
  private identify(): void {
    const w = this.buf, set = IdeDrive.setWord;
    w.fill(0, 0, 512);
    set(w, 0, 0x85c0); // ATAPI | CD-ROM (05h) | removable | accelerated DRQ | 12-byte packets
    IdeDrive.ataString(w, 10, 10, this.serial);
    IdeDrive.ataString(w, 23, 4, '1.0');
    IdeDrive.ataString(w, 27, 20, 'vmxlab ATAPI CD-ROM');
    set(w, 49, 0x0a00); // IORDY, LBA
    set(w, 50, 0x4000);
    set(w, 53, 0x0003);
    set(w, 64, 0x0003);
    set(w, 65, 120); set(w, 66, 120); set(w, 67, 120); set(w, 68, 120);
    set(w, 80, 0x007e);
    set(w, 82, 0x0210); set(w, 83, 0x4000); set(w, 84, 0x4000); // PACKET, DEVICE RESET
    set(w, 85, 0x0210); set(w, 86, 0x0000); set(w, 87, 0x4000);
    IdeDrive.checksum(w);
  }

  override state(): Record<string, unknown> {
    return {
      ...super.state(), medium: this.media?.name ?? null, sectors: this.sectors, locked: this.locked,
      sense: [this.senseKey, this.asc, this.ascq], cdb: Array.from(this.cdb), xferLeft: this.xferLeft,
    };
  }
}

function ascii(b: Uint8Array, o: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i) & 0x7f;
}
