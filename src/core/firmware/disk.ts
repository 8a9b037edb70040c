// INT 13h disk services over the drive table (RBIL INT 13h; Phoenix "Enhanced Disk Drive
// Specification" 1.1 for AH=41h-48h; El Torito spec §5 for AH=4Bh). Sector data is copied
// straight between the disk image and guest memory (no FDC/ATA programming): the service call
// itself is the trap exit. Errors set CF and AH; the last status goes to BDA 0x441 (floppy)
// or 0x474 (hard disk).
import { AH, AL, BH, BL, BX, CH, CL, CX, DH, DI, DL, DX, SI, setCF, type BiosCtx } from './context';
import { BDA, ROM_SEG } from './layout';
import { ROM_OFF } from './rom';
import type { Drive } from './drives';
import type { BootEntry } from './eltorito';
import { Seg } from '../cpu/regs';

// INT 13h status codes (RBIL table 00234).
export const ST = { OK: 0, BAD_CMD: 0x01, WRITE_PROTECT: 0x03, NOT_FOUND: 0x04, TIMEOUT: 0x80, ADDR_MARK: 0x02 } as const;

export class DiskServices {
  /** Drive number -> drive. */
  readonly drives = new Map<number, Drive>();
  /** Set when booted from CD in floppy emulation or no-emulation mode (for AH=4Bh). */
  emulation: { entry: BootEntry; drive: number } | null = null;
  floppyCount = 0;
  hddCount = 0;

  constructor(private readonly b: BiosCtx) {}

  private finish(drive: number, status: number): void {
    const c = this.b.cpu;
    c.r8[AH] = status;
    setCF(this.b, status !== 0);
    this.b.mem.write8(drive >= 0x80 ? BDA.HD_STATUS : BDA.FLOPPY_STATUS, status);
  }

  /** Reads or writes `count` sectors at `lba` to/from linear `addr`; returns sectors done. */
  transfer(d: Drive, lba: number, count: number, addr: number, write: boolean): { done: number; status: number } {
    const ss = d.sectorSize;
    let done = 0;
    const buf = new Uint8Array(ss);
    for (; done < count; done++) {
      const s = lba + done;
      if (s >= d.sectors) return { done, status: ST.NOT_FOUND };
      const off = d.offset + s * ss;
      if (write) {
        if (d.dev.readOnly || d.kind === 'cdrom') return { done, status: ST.WRITE_PROTECT };
        buf.set(this.b.g.copyOut(addr + done * ss, ss));
        if (!d.dev.write(off, buf, 0, ss)) return { done, status: ST.NOT_FOUND };
      } else {
        if (!d.dev.read(off, buf, 0, ss)) return { done, status: ST.NOT_FOUND };
        this.b.g.copyIn(addr + done * ss, buf);
      }
    }
    return { done, status: ST.OK };
  }

  service(): void {
    const c = this.b.cpu, r8 = c.r8;
    const dl = r8[DL], fn = r8[AH];
    const d = this.drives.get(dl);
    if (fn === 0x08) { this.params(dl, d); return; }
    if (fn === 0x15) { this.getType(dl, d); return; }
    if (d === undefined) { this.finish(dl, dl >= 0x80 ? ST.BAD_CMD : ST.TIMEOUT); return; }
    switch (fn) {
      case 0x00: case 0x0c: case 0x0d: case 0x10: case 0x11: case 0x14: case 0x47:
        this.finish(dl, ST.OK); break; // reset, seek, ready, recalibrate, diagnostics, ext seek
      case 0x01: {
        const last = this.b.mem.read8(dl >= 0x80 ? BDA.HD_STATUS : BDA.FLOPPY_STATUS);
        r8[AH] = last; r8[AL] = 0; setCF(this.b, last !== 0);
        break;
      }
      case 0x02: case 0x03: case 0x04: this.chs(dl, d, fn); break;
      case 0x16: this.finish(dl, ST.OK); break; // change line: not changed
      case 0x41:
        if (c.r16[BX] !== 0x55aa || dl < 0x80) { this.finish(dl, ST.BAD_CMD); break; }
        c.r16[BX] = 0xaa55; c.r16[CX] = 0x0005; // [0] extended access (42h-44h,47h,48h) | [2] EDD
        r8[AH] = 0x21; setCF(this.b, false); // EDD 1.1
        break;
      case 0x42: case 0x43: case 0x44: this.extended(dl, d, fn); break;
      case 0x48: this.extParams(dl, d); break;
      case 0x4b: this.elToritoStatus(dl); break;
      default: this.finish(dl, ST.BAD_CMD);
    }
  }

  private chs(dl: number, d: Drive, fn: number): void {
    const c = this.b.cpu, r8 = c.r8;
    const count = r8[AL];
    const cyl = r8[CH] | ((r8[CL] & 0xc0) << 2), sec = r8[CL] & 0x3f, head = r8[DH];
    if (d.kind === 'cdrom' || count === 0) { this.finish(dl, ST.BAD_CMD); return; }
    if (sec === 0 || sec > d.spt || head >= d.heads || cyl >= (d.kind === 'hdd' ? 1024 : d.cylinders)) {
      r8[AL] = 0; this.finish(dl, ST.NOT_FOUND); return;
    }
    const lba = (cyl * d.heads + head) * d.spt + sec - 1;
    if (fn === 0x04) { // verify: sectors exist
      const n = Math.min(count, Math.max(0, d.sectors - lba));
      r8[AL] = n; this.finish(dl, n === count ? ST.OK : ST.NOT_FOUND); return;
    }
    const addr = (c.segBase[Seg.ES] + c.r16[BX]) >>> 0;
    const r = this.transfer(d, lba, count, addr, fn === 0x03);
    r8[AL] = r.done;
    this.finish(dl, r.status);
  }

  /** AH=42h/43h/44h: disk address packet at DS:SI. */
  private extended(dl: number, d: Drive, fn: number): void {
    const c = this.b.cpu, g = this.b.g;
    const dap = (c.segBase[Seg.DS] + c.r16[SI]) >>> 0;
    const size = g.r8(dap), count = g.r16(dap + 2);
    let addr = ((g.r16(dap + 6) << 4) + g.r16(dap + 4)) >>> 0;
    if (g.r32(dap + 4) === 0xffffffff && size >= 0x18) addr = g.r32(dap + 0x10); // 64-bit flat buffer (low half)
    const lba = g.r32(dap + 8) + g.r32(dap + 12) * 0x100000000;
    if (size < 0x10) { this.finish(dl, ST.BAD_CMD); return; }
    if (fn === 0x44) { this.finish(dl, lba + count <= d.sectors ? ST.OK : ST.NOT_FOUND); return; }
    const r = this.transfer(d, lba, count, addr, fn === 0x43);
    g.w16(dap + 2, r.done);
    this.finish(dl, r.status);
  }

  /** AH=48h: drive parameters (EDD 1.1 result buffer, 1Ah bytes). */
  private extParams(dl: number, d: Drive): void {
    const c = this.b.cpu, g = this.b.g;
    const p = (c.segBase[Seg.DS] + c.r16[SI]) >>> 0;
    if (g.r16(p) < 0x1a) { this.finish(dl, ST.BAD_CMD); return; }
    g.w16(p, 0x1a);
    // Flags: [0] DMA boundary errors handled | [1] CHS info valid | [2] removable.
    g.w16(p + 2, d.kind === 'hdd' ? 0x0003 : 0x0005);
    g.w32(p + 4, d.cylinders); g.w32(p + 8, d.heads); g.w32(p + 12, d.spt);
    g.w32(p + 16, d.sectors % 0x100000000); g.w32(p + 20, Math.floor(d.sectors / 0x100000000));
    g.w16(p + 24, d.sectorSize);
    this.finish(dl, ST.OK);
  }

  /** AH=08h: drive parameters. */
  private params(dl: number, d: Drive | undefined): void {
    const c = this.b.cpu, r8 = c.r8;
    if (dl < 0x80) {
      if (dl > 1) { this.finish(dl, ST.BAD_CMD); return; }
      c.r16[0] = 0; r8[BL] = d?.floppyType ?? 0; r8[BH] = 0;
      const cyl = d ? d.cylinders - 1 : 0, spt = d?.spt ?? 0;
      r8[CH] = cyl & 0xff; r8[CL] = (spt & 0x3f) | ((cyl >> 2) & 0xc0);
      r8[DH] = d ? d.heads - 1 : 0; r8[DL] = this.floppyCount;
      c.setSegReal(Seg.ES, ROM_SEG, 0xffff, 0x93); c.r16[DI] = ROM_OFF.DISKETTE_PARAMS;
      setCF(this.b, false);
      this.b.mem.write8(BDA.FLOPPY_STATUS, 0);
      return;
    }
    if (d === undefined || d.kind !== 'hdd') { this.finish(dl, ST.BAD_CMD); return; }
    const cyl = Math.min(d.cylinders, 1024) - 1;
    c.r16[0] = 0;
    r8[CH] = cyl & 0xff; r8[CL] = (d.spt & 0x3f) | ((cyl >> 2) & 0xc0);
    r8[DH] = d.heads - 1; r8[DL] = this.hddCount;
    this.finish(dl, ST.OK);
  }

  /** AH=15h: drive type. */
  private getType(dl: number, d: Drive | undefined): void {
    const c = this.b.cpu;
    setCF(this.b, false);
    if (d === undefined) { c.r8[AH] = 0; return; } // no such drive
    if (d.kind === 'hdd') { c.r8[AH] = 3; c.r16[CX] = d.sectors >>> 16; c.r16[DX] = d.sectors & 0xffff; return; }
    c.r8[AH] = d.kind === 'floppy' ? 2 : 0; // floppy with change-line support
    void dl;
  }

  /** AH=4Bh AL=00h/01h: El Torito emulation status packet at DS:SI (13h bytes). */
  private elToritoStatus(dl: number): void {
    const c = this.b.cpu, g = this.b.g, e = this.emulation;
    if (e === null || e.drive !== dl || (c.r8[AL] !== 0 && c.r8[AL] !== 1)) { this.finish(dl, ST.BAD_CMD); return; }
    const p = (c.segBase[Seg.DS] + c.r16[SI]) >>> 0;
    g.w8(p, 0x13);
    g.w8(p + 1, e.entry.media);
    g.w8(p + 2, e.drive);
    g.w8(p + 3, 0); // controller index
    g.w32(p + 4, e.entry.lba);
    g.w16(p + 8, 0); // device specification (master on primary)
    g.w16(p + 10, 0); // user buffer segment
    g.w16(p + 12, e.entry.loadSegment);
    g.w16(p + 14, e.entry.sectorCount);
    const d = this.drives.get(dl);
    g.w8(p + 16, d ? (d.cylinders - 1) & 0xff : 0);
    g.w8(p + 17, d ? (d.spt & 0x3f) | (((d.cylinders - 1) >> 2) & 0xc0) : 0);
    g.w8(p + 18, d ? d.heads - 1 : 0);
    if (c.r8[AL] === 0 && e.entry.media !== 0) this.emulation = null; // terminate emulation
    this.finish(dl, ST.OK);
  }
}
