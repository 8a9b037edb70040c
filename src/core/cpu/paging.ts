// Paging and the software TLB (SDM Vol. 3A §4.3 32-bit paging, §4.4 PAE paging, §4.10 TLBs).
// One Int32Array entry per 4 KB linear page: physical page base | TlbBit permissions. With
// paging off the same TLB holds identity entries (with the A20 mask), so every memory access
// has one fast path: load the entry, compare the needed bits, index guest RAM.
import type { Cpu } from './cpu';
import { Cr0, Cr4, Efer, Vector } from './regs';
import { PageKind } from '../platform/memory';

export enum TlbBit {
  Valid = 1 << 0,
  /** Supervisor may write (page writable or CR0.WP=0) and the dirty bit is already set. */
  WriteSup = 1 << 1,
  ReadUser = 1 << 2,
  /** User may write and the dirty bit is already set. */
  WriteUser = 1 << 3,
  Global = 1 << 4,
  /** Reads may index RAM directly (RAM or ROM page). */
  Ram = 1 << 5,
  /** Writes may index RAM directly (RAM page). */
  RamW = 1 << 6,
  NoExec = 1 << 7,
}

/** #PF error code bits (SDM Vol. 3A §4.7). */
export enum PfErr { P = 1, W = 2, U = 4, Rsvd = 8, I = 16 }

const CAPACITY = 8192;

export class Tlb {
  readonly entry = new Int32Array(1 << 20);
  private readonly filled = new Int32Array(CAPACITY);
  private nFilled = 0;
  private overflow = false;
  needRead = TlbBit.Valid | TlbBit.Ram;
  needWrite = TlbBit.Valid | TlbBit.RamW | TlbBit.WriteSup;
  private user = false;
  /** Page walks performed (for statistics and tests). */
  walks = 0;

  constructor(private readonly cpu: Cpu) { this.setCpl(0); }

  setCpl(cpl: number): void {
    this.user = cpl === 3;
    this.needRead = TlbBit.Valid | TlbBit.Ram | (this.user ? TlbBit.ReadUser : 0);
    this.needWrite = TlbBit.Valid | TlbBit.RamW | (this.user ? TlbBit.WriteUser : TlbBit.WriteSup);
    this.cpu.tlbNeedR = this.needRead;
    this.cpu.tlbNeedW = this.needWrite;
  }

  /** Switches to supervisor permissions for an implicit system access; returns a token. */
  beginSys(): number {
    const was = this.user ? 1 : 0;
    if (was) this.setCpl(0);
    return was;
  }
  endSys(token: number): void { if (token) this.setCpl(3); }

  flushAll(): void {
    if (this.overflow) { this.entry.fill(0); this.overflow = false; }
    else for (let i = 0; i < this.nFilled; i++) this.entry[this.filled[i]] = 0;
    this.nFilled = 0;
    this.cpu.invalidateFetch();
  }

  /** CR3 write without CR4.PGE semantics kept: global entries survive (SDM §4.10.4.1). */
  flushNonGlobal(): void {
    if ((this.cpu.cr4 & Cr4.PGE) === 0) { this.flushAll(); return; }
    if (this.overflow) {
      const e = this.entry;
      for (let i = 0; i < e.length; i++) if ((e[i] & TlbBit.Global) === 0) e[i] = 0;
      this.overflow = false; this.nFilled = 0;
      for (let i = 0; i < e.length && this.nFilled < CAPACITY; i++) if (e[i] !== 0) this.filled[this.nFilled++] = i;
    } else {
      let k = 0;
      for (let i = 0; i < this.nFilled; i++) {
        const p = this.filled[i];
        if ((this.entry[p] & TlbBit.Global) !== 0) this.filled[k++] = p; else this.entry[p] = 0;
      }
      this.nFilled = k;
    }
    this.cpu.invalidateFetch();
  }

  invalidatePage(lin: number): void {
    this.entry[lin >>> 12] = 0;
    this.cpu.invalidateFetch();
  }

  private install(page: number, value: number): void {
    if (this.entry[page] === 0) {
      if (this.nFilled < CAPACITY) this.filled[this.nFilled++] = page; else this.overflow = true;
    }
    this.entry[page] = value;
  }

  /** Ensures a write to `lin` would succeed (faults now otherwise). */
  probeWrite(lin: number): void {
    const e = this.entry[lin >>> 12];
    if ((e & this.needWrite & ~(TlbBit.RamW)) === (this.needWrite & ~TlbBit.RamW)) return;
    this.translate(lin, true);
  }

  /** Entry for an instruction fetch at `lin` (faults on #PF, including NX). */
  fetchEntry(lin: number): number {
    const e = this.entry[lin >>> 12];
    if ((e & this.needRead) === this.needRead && (e & TlbBit.NoExec) === 0) return e;
    this.translate(lin, false, true);
    return this.entry[lin >>> 12];
  }
  translateFetch(lin: number): number { return this.translate(lin, false, true); }

  /**
   * Translates a linear address to physical for the current privilege, setting accessed and
   * dirty bits and filling the TLB; raises #PF on a violation.
   */
  translate(lin: number, write: boolean, fetch = false): number {
    const c = this.cpu;
    const page = lin >>> 12;
    const e = this.entry[page];
    const need = write ? (this.user ? TlbBit.WriteUser : TlbBit.WriteSup) | TlbBit.Valid : (this.user ? TlbBit.ReadUser : 0) | TlbBit.Valid;
    if ((e & need) === need && !(fetch && (e & TlbBit.NoExec) !== 0)) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    if ((c.cr0 & Cr0.PG) === 0) {
      const phys = (lin & c.mem.a20Mask & ~0xfff) >>> 0;
      this.install(page, phys | TlbBit.Valid | TlbBit.WriteSup | TlbBit.ReadUser | TlbBit.WriteUser | this.ramBits(phys));
      return (phys | (lin & 0xfff)) >>> 0;
    }
    this.walks++;
    return (c.cr4 & Cr4.PAE) !== 0 ? this.walkPae(lin, write, fetch) : this.walk32(lin, write, fetch);
  }

  private ramBits(phys: number): number {
    const m = this.cpu.mem, p = phys >>> 12, k = m.kind[p];
    // Pages holding cached code never get direct writes: stores must reach
    // PhysicalMemory so the decoded-instruction cache hears of them.
    if (k === PageKind.Ram) return m.codePage[p] !== 0 ? TlbBit.Ram : TlbBit.Ram | TlbBit.RamW;
    return k === PageKind.Rom ? TlbBit.Ram : 0;
  }

  /** Withdraws direct-write permission from every entry mapping physical page `physPage`. */
  dropDirectWrites(physPage: number): void {
    const e = this.entry;
    if (this.overflow) {
      for (let i = 0; i < e.length; i++) if (e[i] !== 0 && (e[i] >>> 12) === physPage) e[i] &= ~TlbBit.RamW;
    } else {
      for (let i = 0; i < this.nFilled; i++) {
        const p = this.filled[i];
        if ((e[p] >>> 12) === physPage) e[p] &= ~TlbBit.RamW;
      }
    }
  }

  private pageFault(lin: number, err: number, write: boolean, fetch: boolean): never {
    const c = this.cpu;
    c.cr2 = lin >>> 0;
    err |= (write ? PfErr.W : 0) | (this.user ? PfErr.U : 0);
    if (fetch && (c.cr4 & Cr4.PAE) !== 0 && (c.efer & Efer.NXE) !== 0) err |= PfErr.I;
    return c.raiseErr(Vector.PF, err);
  }

  /** Checks rights, then installs. `rw`/`us` are the combined bits of all levels. */
  private finish(lin: number, phys: number, rw: boolean, us: boolean, nx: boolean, dirty: boolean, global: boolean, write: boolean, fetch: boolean): boolean {
    const c = this.cpu;
    const wp = (c.cr0 & Cr0.WP) !== 0;
    if (this.user) {
      if (!us || (write && !rw)) this.pageFault(lin, PfErr.P, write, fetch);
    } else if (write && !rw && wp) this.pageFault(lin, PfErr.P, write, fetch);
    if (fetch && nx) this.pageFault(lin, PfErr.P, write, fetch);
    let bits = TlbBit.Valid | this.ramBits(phys);
    if (us) bits |= TlbBit.ReadUser;
    if (dirty) {
      if (rw || !wp) bits |= TlbBit.WriteSup;
      if (rw && us) bits |= TlbBit.WriteUser;
    }
    if (global) bits |= TlbBit.Global;
    if (nx) bits |= TlbBit.NoExec;
    this.install(lin >>> 12, ((phys & ~0xfff) | bits));
    return true;
  }

  private walk32(lin: number, write: boolean, fetch: boolean): number {
    const c = this.cpu, m = c.mem;
    const pdeAddr = ((c.cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
    let pde = m.read32(pdeAddr);
    if ((pde & 1) === 0) this.pageFault(lin, 0, write, fetch);
    const pge = (c.cr4 & Cr4.PGE) !== 0;
    if ((pde & 0x80) !== 0 && (c.cr4 & Cr4.PSE) !== 0) {
      const phys = ((pde & 0xffc00000) | (lin & 0x3ff000)) >>> 0;
      const rw = (pde & 2) !== 0, us = (pde & 4) !== 0;
      this.finish(lin, phys, rw, us, false, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, write, fetch);
      const npde = pde | 0x20 | (write ? 0x40 : 0);
      if (npde !== pde) m.write32(pdeAddr, npde);
      return (phys | (lin & 0xfff)) >>> 0;
    }
    const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
    const pte = m.read32(pteAddr);
    if ((pte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    const rw = (pde & pte & 2) !== 0, us = (pde & pte & 4) !== 0;
    const phys = (pte & ~0xfff) >>> 0;
    this.finish(lin, phys, rw, us, false, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, write, fetch);
    if ((pde & 0x20) === 0) { pde |= 0x20; m.write32(pdeAddr, pde); }
    const npte = pte | 0x20 | (write ? 0x40 : 0);
    if (npte !== pte) m.write32(pteAddr, npte);
    return (phys | (lin & 0xfff)) >>> 0;
  }

  /** PAE paging: PDPTE -> PDE (2 MB pages) -> PTE, with NX (bit 63) under EFER.NXE. */
  private walkPae(lin: number, write: boolean, fetch: boolean): number {
    const c = this.cpu, m = c.mem;
    const nxe = (c.efer & Efer.NXE) !== 0;
    const pge = (c.cr4 & Cr4.PGE) !== 0;
    const pdpteAddr = ((c.cr3 & ~0x1f) + ((lin >>> 30) << 3)) >>> 0;
    const pdpte = m.read32(pdpteAddr), pdpteHi = m.read32(pdpteAddr + 4);
    if ((pdpte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pdpte & 0x1e6) !== 0 || pdpteHi !== 0) this.pageFault(lin, PfErr.P | PfErr.Rsvd, write, fetch);
    const pdeAddr = ((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0;
    let pde = m.read32(pdeAddr);
    const pdeHi = m.read32(pdeAddr + 4);
    if ((pde & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pdeHi < 0 && !nxe) || (pdeHi & 0x7fffffff) !== 0) this.pageFault(lin, PfErr.P | PfErr.Rsvd, write, fetch);
    const nxPde = nxe && pdeHi < 0;
    if ((pde & 0x80) !== 0) {
      if ((pde & 0x1fe000) !== 0) this.pageFault(lin, PfErr.P | PfErr.Rsvd, write, fetch);
      const phys = ((pde & 0xffe00000) | (lin & 0x1ff000)) >>> 0;
      this.finish(lin, phys, (pde & 2) !== 0, (pde & 4) !== 0, nxPde, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, write, fetch);
      const npde = pde | 0x20 | (write ? 0x40 : 0);
      if (npde !== pde) m.write32(pdeAddr, npde);
      return (phys | (lin & 0xfff)) >>> 0;
    }
    const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0;
    const pte = m.read32(pteAddr), pteHi = m.read32(pteAddr + 4);
    if ((pte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pteHi < 0 && !nxe) || (pteHi & 0x7fffffff) !== 0) this.pageFault(lin, PfErr.P | PfErr.Rsvd, write, fetch);
    const phys = (pte & ~0xfff) >>> 0;
    this.finish(lin, phys, (pde & pte & 2) !== 0, (pde & pte & 4) !== 0, nxPde || (nxe && pteHi < 0), write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, write, fetch);
    if ((pde & 0x20) === 0) { pde |= 0x20; m.write32(pdeAddr, pde); }
    const npte = pte | 0x20 | (write ? 0x40 : 0);
    if (npte !== pte) m.write32(pteAddr, npte);
    return (phys | (lin & 0xfff)) >>> 0;
  }
}
