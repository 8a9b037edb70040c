// Guest physical memory: one ArrayBuffer of RAM with 8/16/32-bit views, plus an MMIO bus
// checked per 4 KB page through a typed array of page kinds (no range search on the hot path).
import type { GuestPhysical } from './address';

export interface MmioDevice {
  /** `offset` is relative to the claimed base; `size` is 1, 2 or 4. */
  mmioRead(offset: number, size: number): number;
  mmioWrite(offset: number, size: number, value: number): void;
}

export interface MmioRange { readonly base: number; readonly size: number; readonly name: string; readonly device: MmioDevice }

/** What a 4 KB physical page is. */
export enum PageKind { Ram = 0, Rom = 1, Mmio = 2, Unmapped = 3 }

const PAGES = 1 << 20;
/** Physical addresses at or above 4 GB reach nothing (PhysicalMemory's slow paths). */
export const PHYS_LIMIT = 4294967296;

export class PhysicalMemory {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly size: number;
  /** PageKind per 4 KB page of the 4 GB physical space. */
  readonly kind = new Uint8Array(PAGES);
  /** For MMIO pages: index into `mmio`. */
  private readonly mmioIndex = new Uint16Array(PAGES);
  readonly mmio: MmioRange[] = [];
  /** Pages holding code seen by the CPU's decode cache; a write there calls `onCodeWrite`. */
  readonly codePage = new Uint8Array(PAGES);
  /** Told of every write of `len` bytes at `addr` into a code page (decoded-instruction cache). */
  onCodeWrite: ((addr: number, len: number) => void) | null = null;
  /** Address mask for the A20 gate: 0xFFFFFFFF when enabled, 0xFFEFFFFF when masked. */
  a20Mask = 0xffffffff | 0;

  constructor(sizeBytes: number) {
    if (sizeBytes <= 0 || sizeBytes % 4096 !== 0 || sizeBytes > 0x80000000) {
      throw new Error(`RAM size ${sizeBytes} must be a positive multiple of 4096 up to 2 GB`);
    }
    this.size = sizeBytes;
    this.buffer = new ArrayBuffer(sizeBytes + 8); // +8: aligned views may read past the end safely
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer, 0, (sizeBytes + 8) >> 1);
    this.i32 = new Int32Array(this.buffer, 0, (sizeBytes + 8) >> 2);
    this.kind.fill(PageKind.Unmapped, sizeBytes >>> 12);
  }

  registerMmio(base: number, size: number, name: string, device: MmioDevice): void {
    if ((base & 0xfff) !== 0 || (size & 0xfff) !== 0 || size <= 0) throw new Error(`MMIO range ${name} must be page-aligned`);
    const first = base >>> 12, last = first + (size >>> 12);
    if (last > PAGES) throw new Error(`MMIO range ${name} at 0x${(base >>> 0).toString(16)} is beyond 4 GB`);
    for (let p = first; p < last; p++) {
      if (this.kind[p] === PageKind.Mmio) throw new Error(`MMIO range ${name} overlaps ${this.mmio[this.mmioIndex[p]].name} at 0x${(p * 4096).toString(16)}`);
    }
    this.mmio.push({ base: base >>> 0, size, name, device });
    for (let p = first; p < last; p++) { this.kind[p] = PageKind.Mmio; this.mmioIndex[p] = this.mmio.length - 1; }
  }

  /** Marks [base, base+size) as read-only RAM (firmware). */
  setRom(base: number, size: number): void {
    for (let p = base >>> 12; p < (base + size) >>> 12; p++) if (this.kind[p] === PageKind.Ram) this.kind[p] = PageKind.Rom;
  }

  /**
   * Re-routes the RAM pages of [base, base+size) (chipset shadowing, i440FX PAM): Ram, Rom
   * (read-only) or Mmio, the range registered there earlier. The caller flushes CPU TLBs.
   */
  setPageKind(base: number, size: number, kind: PageKind.Ram | PageKind.Rom | PageKind.Mmio): void {
    const first = base >>> 12, last = (base + size) >>> 12;
    if ((base & 0xfff) !== 0 || (size & 0xfff) !== 0 || base + size > this.size) {
      throw new Error(`setPageKind: 0x${base.toString(16)}+0x${size.toString(16)} is not page-aligned RAM`);
    }
    for (let p = first; p < last; p++) {
      if (kind === PageKind.Mmio) {
        const r = this.mmio[this.mmioIndex[p]];
        if (r === undefined || p * 4096 < r.base || p * 4096 >= r.base + r.size) throw new Error(`setPageKind: no MMIO range registered at 0x${(p * 4096).toString(16)}`);
      }
      this.kind[p] = kind;
    }
  }

  /** Name of the MMIO range at `addr`, for profiling. */
  mmioNameOf(addr: GuestPhysical): string | undefined {
    const p = addr >>> 12;
    return this.kind[p] === PageKind.Mmio ? this.mmio[this.mmioIndex[p]].name : undefined;
  }

  // Slow paths: MMIO, unmapped, ROM writes, page-crossing accesses. The CPU's fast paths
  // touch `u8`/`u16`/`i32` directly after checking `kind`. A physical address at or above 4 GB
  // (MAXPHYADDR is 36: paging-structure entries, CR3 and EPT entries carry bits 35:32) reaches
  // nothing, as on a PC with less than 4 GB of RAM and no device there: reads give all ones,
  // writes are dropped (the TLB never caches such a page, paging.ts, so only these paths see it).

  read8(addr: number): number {
    if (addr >= PHYS_LIMIT) return 0xff;
    addr = (addr & this.a20Mask) >>> 0;
    const k = this.kind[addr >>> 12];
    if (k <= PageKind.Rom) return this.u8[addr];
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[addr >>> 12]]; return r.device.mmioRead(addr - r.base, 1) & 0xff; }
    return 0xff;
  }
  read16(addr: number): number {
    if (addr >= PHYS_LIMIT) return 0xffff;
    addr = (addr & this.a20Mask) >>> 0;
    const k = this.kind[addr >>> 12];
    if ((addr & 0xfff) === 0xfff) return this.read8(addr) | (this.read8(addr + 1) << 8);
    if (k <= PageKind.Rom) return this.u8[addr] | (this.u8[addr + 1] << 8);
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[addr >>> 12]]; return r.device.mmioRead(addr - r.base, 2) & 0xffff; }
    return 0xffff;
  }
  read32(addr: number): number {
    if (addr >= PHYS_LIMIT) return -1;
    addr = (addr & this.a20Mask) >>> 0;
    const k = this.kind[addr >>> 12];
    if ((addr & 0xfff) > 0xffc) return this.read16(addr) | (this.read16(addr + 2) << 16);
    if (k <= PageKind.Rom) {
      const u = this.u8;
      return u[addr] | (u[addr + 1] << 8) | (u[addr + 2] << 16) | (u[addr + 3] << 24);
    }
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[addr >>> 12]]; return r.device.mmioRead(addr - r.base, 4) | 0; }
    return -1;
  }
  write8(addr: number, v: number): void {
    if (addr >= PHYS_LIMIT) return;
    addr = (addr & this.a20Mask) >>> 0;
    const p = addr >>> 12, k = this.kind[p];
    if (k === PageKind.Ram) { if (this.codePage[p] !== 0) this.codeWritten(addr, 1); this.u8[addr] = v; return; }
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[p]]; r.device.mmioWrite(addr - r.base, 1, v & 0xff); }
  }
  write16(addr: number, v: number): void {
    if (addr >= PHYS_LIMIT) return;
    addr = (addr & this.a20Mask) >>> 0;
    if ((addr & 0xfff) === 0xfff) { this.write8(addr, v & 0xff); this.write8(addr + 1, (v >>> 8) & 0xff); return; }
    const p = addr >>> 12, k = this.kind[p];
    if (k === PageKind.Ram) { if (this.codePage[p] !== 0) this.codeWritten(addr, 2); this.u8[addr] = v; this.u8[addr + 1] = v >>> 8; return; }
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[p]]; r.device.mmioWrite(addr - r.base, 2, v & 0xffff); }
  }
  write32(addr: number, v: number): void {
    if (addr >= PHYS_LIMIT) return;
    addr = (addr & this.a20Mask) >>> 0;
    if ((addr & 0xfff) > 0xffc) { this.write16(addr, v & 0xffff); this.write16(addr + 2, (v >>> 16) & 0xffff); return; }
    const p = addr >>> 12, k = this.kind[p];
    if (k === PageKind.Ram) {
      if (this.codePage[p] !== 0) this.codeWritten(addr, 4);
      const u = this.u8; u[addr] = v; u[addr + 1] = v >>> 8; u[addr + 2] = v >>> 16; u[addr + 3] = v >>> 24; return;
    }
    if (k === PageKind.Mmio) { const r = this.mmio[this.mmioIndex[p]]; r.device.mmioWrite(addr - r.base, 4, v >>> 0); }
  }

  private codeWritten(addr: number, len: number): void {
    if (this.onCodeWrite !== null) this.onCodeWrite(addr, len);
    else this.codePage[addr >>> 12] = 0;
  }

  /** Copies bytes into RAM/ROM (loaders, firmware), bypassing ROM protection. */
  load(addr: number, bytes: Uint8Array): void {
    if (addr < 0 || addr + bytes.length > this.size) {
      throw new Error(`cannot load ${bytes.length} bytes at 0x${addr.toString(16)}: RAM is ${this.size} bytes`);
    }
    this.u8.set(bytes, addr);
    for (let p = addr >>> 12; p <= (addr + bytes.length - 1) >>> 12; p++) if (this.codePage[p] !== 0) this.codeWritten(p << 12, 4096);
  }
}
