// Paging and the software TLB (SDM Vol. 3A §4.3 32-bit paging, §4.4 PAE paging, §4.10 TLBs).
// One Int32Array entry per 4 KB linear page: physical page base | TlbBit permissions. With
// paging off the same TLB holds identity entries (with the A20 mask), so every memory access
// has one fast path: load the entry, compare the needed bits, index guest RAM.
//
// VMX (Vol. 3C §29.4 "Caching Translation Information"): the TLB keeps several tagged spaces of
// entries, one per VPID/EPT context (`selectSpace`), so that VM entries and exits with VPID
// switch arrays instead of flushing; in VMX non-root operation with EPT a second-level
// translation (`nested`, nested-paging.ts) turns guest-physical addresses into host-physical
// ones and the entries cache the combined translation. Both are off outside VMX: the hit path
// is the same load-compare-index.
import type { Cpu } from './cpu';
import { Cr0, Cr4, Efer, Vector } from './regs';
import { PageKind, PHYS_LIMIT } from '../platform/memory';
import { nestedTranslate, nestedTranslate64, type NestedMmu } from './nested-paging';

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
  /** Reads are not allowed though fetches are (an EPT execute-only page); such entries carry no
   *  Ram bit, so only `translate` (the slow path) looks at this bit. */
  NoRead = 1 << 8,
}

/** #PF error code bits (SDM Vol. 3A §4.7). */
export enum PfErr { P = 1, W = 2, U = 4, Rsvd = 8, I = 16 }

// PAE paging with MAXPHYADDR 36 (SDM Vol. 3A §4.1.4: CPUID.80000008H:EAX[7:0] where the leaf
// exists, else 36 because CPUID.1:EDX.PAE = 1, which every vmxlab model has): bits 35:32 of a
// PDPTE, PDE or PTE are address bits; bits 63:36 are reserved, except bit 63 (XD) of a PDE/PTE
// under EFER.NXE (§4.4.1 Table 4-8, §4.4.2 Tables 4-9 to 4-11).
/** Reserved bits of a PAE PDPTE's low dword: 8:5 and 2:1 (§4.4.1 Table 4-8). */
export const PAE_PDPTE_RSVD_LO = 0x1e6;
/** Reserved bits of a PAE PDPTE's high dword: 63:36 (a PDPTE has no XD bit, Table 4-8). */
export const PAE_PDPTE_RSVD_HI = 0xfffffff0 | 0;
/** Reserved bits of a PAE PDE's/PTE's high dword: 62:36, and 63 (XD) without EFER.NXE. */
export function paeRsvdHi(nxe: boolean): number { return nxe ? 0x7ffffff0 : 0xfffffff0 | 0; }
/** A PAE PDPTE (low dword `lo`, high dword `hi`) that is present and sets a reserved bit: the
 *  PDPTE load of MOV to CR0/CR3/CR4 is #GP(0), VM entry fails (§4.4.1, Vol. 3C §27.3.1.6). */
export function paePdpteInvalid(lo: number, hi: number): boolean {
  return (lo & 1) !== 0 && ((lo & PAE_PDPTE_RSVD_LO) !== 0 || (hi & PAE_PDPTE_RSVD_HI) !== 0);
}

/** Whether the four PAE PDPTEs at `cr3` (bits 31:5) include a present one with reserved bits. */
export function paePdptInvalid(m: { read32(addr: number): number }, cr3: number): boolean {
  const base = (cr3 & ~0x1f) >>> 0;
  for (let i = 0; i < 4; i++) if (paePdpteInvalid(m.read32(base + i * 8), m.read32(base + i * 8 + 4))) return true;
  return false;
}
/** The CR0 and CR4 bits whose change makes MOV to CR0/CR4 load the PAE PDPTEs (SDM Vol. 3A
 *  §4.4.1); MOV to CR3 always loads them. */
export const CR0_PDPTE_LOAD = Cr0.PG | Cr0.CD | Cr0.NW, CR4_PDPTE_LOAD = Cr4.PSE | Cr4.PAE | Cr4.PGE;

const CAPACITY = 8192;
const TWO32 = 4294967296;
/** Entries of the TLB for linear pages above 4 GB (IA-32e mode): direct-mapped by bits 21:12 of
 *  the address and tagged by bits 63:32. Pages below 4 GB stay in the main array, whose hit path
 *  (32-bit code) therefore has no tag to compare. */
const HI_SIZE = 1024;
/** Tagged spaces kept besides the first (the host's, tag 0/-1); the least recently selected one
 *  is flushed and reused beyond that (dropping cached translations is always allowed). */
const MAX_EXTRA_SPACES = 4;

/** One tagged set of TLB entries: the entry array and the list of filled slots. */
class TlbSpace {
  entry: Int32Array<ArrayBuffer>;
  filled: Int32Array<ArrayBuffer>;
  nFilled = 0;
  overflow = false;
  lastUse = 0;
  constructor(public tagA: number, public tagB: number, entry?: Int32Array<ArrayBuffer>, filled?: Int32Array<ArrayBuffer>) {
    this.entry = entry ?? new Int32Array(1 << 20);
    this.filled = filled ?? new Int32Array(CAPACITY);
  }
}

/** Empties a space that is not the current one. */
function clearSpace(s: TlbSpace, keepGlobal: boolean): void {
  const e = s.entry;
  if (!keepGlobal) {
    if (s.overflow) e.fill(0); else for (let i = 0; i < s.nFilled; i++) e[s.filled[i]] = 0;
    s.nFilled = 0; s.overflow = false;
    return;
  }
  if (s.overflow) {
    for (let i = 0; i < e.length; i++) if ((e[i] & TlbBit.Global) === 0) e[i] = 0;
    s.overflow = false; s.nFilled = 0;
    for (let i = 0; i < e.length && s.nFilled < CAPACITY; i++) if (e[i] !== 0) s.filled[s.nFilled++] = i;
    if (s.nFilled === CAPACITY) s.overflow = true;
    return;
  }
  let k = 0;
  for (let i = 0; i < s.nFilled; i++) {
    const p = s.filled[i];
    if ((e[p] & TlbBit.Global) !== 0) s.filled[k++] = p; else e[p] = 0;
  }
  s.nFilled = k;
}

export class Tlb {
  /** The current space's entries (also `Cpu.tlbE`). */
  entry = new Int32Array(1 << 20);
  private filled = new Int32Array(CAPACITY);
  private nFilled = 0;
  private overflow = false;
  /** Every space; `spaces[cur]` is the one in use, whose counters live in the fields above. */
  private readonly spaces: TlbSpace[] = [new TlbSpace(0, -1, this.entry, this.filled)];
  private cur = 0;
  private useClock = 0;
  /** Second-level translation (EPT) while a guest with EPT runs; null otherwise. */
  nested: NestedMmu | null = null;
  needRead = TlbBit.Valid | TlbBit.Ram;
  needWrite = TlbBit.Valid | TlbBit.RamW | TlbBit.WriteSup;
  private user = false;
  /** Page walks performed (for statistics and tests). */
  walks = 0;
  /** The >4 GB part of the TLB (see HI_SIZE): tags (bits 63:32 of the address, never 0) and entries. */
  readonly hiTag = new Int32Array(HI_SIZE);
  readonly hiEntry = new Int32Array(HI_SIZE);
  /** Bits 63:32 of the address being translated (0 below 4 GB): where `finish` installs, what
   *  `pageFault` puts in CR2[63:32]; nested-paging.ts sets it for its 4-level walk). */
  curHi = 0;
  /** A 1 GB page was installed since the last full flush (INVLPG then flushes everything). */
  has1G = false;
  /** Entries were installed in the >4 GB part since it was last cleared (flushes skip it otherwise). */
  private hiUsed = false;

  constructor(readonly cpu: Cpu) { this.setCpl(0); }

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

  /** Drops every entry of every space (RESET, paging-mode changes, chipset remaps). */
  flushAll(): void {
    this.flushCurrent();
    for (let i = 0; i < this.spaces.length; i++) if (i !== this.cur) clearSpace(this.spaces[i], false);
  }

  /** Drops every entry of the current space. */
  flushCurrent(): void {
    this.flushHi();
    if (this.overflow) { this.entry.fill(0); this.overflow = false; }
    else for (let i = 0; i < this.nFilled; i++) this.entry[this.filled[i]] = 0;
    this.nFilled = 0;
    this.cpu.invalidateFetch();
  }

  // ---- tagged spaces (VPID and EPT contexts, SDM Vol. 3C §29.4.1) -------------------------

  /** The tags of the current space. */
  get spaceTagA(): number { return this.spaces[this.cur].tagA; }
  get spaceTagB(): number { return this.spaces[this.cur].tagB; }

  /** Makes the space tagged `tagA`/`tagB` current, creating it (or reusing the least recently
   *  used one, flushed) when there is none. */
  selectSpace(tagA: number, tagB: number): void {
    let k = -1;
    for (let i = 0; i < this.spaces.length; i++) if (this.spaces[i].tagA === tagA && this.spaces[i].tagB === tagB) { k = i; break; }
    if (k < 0) {
      if (this.spaces.length < MAX_EXTRA_SPACES + 1) {
        this.spaces.push(new TlbSpace(tagA, tagB));
        k = this.spaces.length - 1;
      } else {
        k = 1;
        for (let i = 2; i < this.spaces.length; i++) if (i !== this.cur && this.spaces[i].lastUse < this.spaces[k].lastUse) k = i;
        if (k === this.cur) k = this.cur === 1 ? 2 : 1;
        clearSpace(this.spaces[k], false);
        this.spaces[k].tagA = tagA; this.spaces[k].tagB = tagB;
      }
    }
    this.spaces[k].lastUse = ++this.useClock;
    if (k === this.cur) return;
    const old = this.spaces[this.cur];
    old.nFilled = this.nFilled; old.overflow = this.overflow;
    const s = this.spaces[k];
    this.cur = k;
    this.entry = s.entry; this.filled = s.filled; this.nFilled = s.nFilled; this.overflow = s.overflow;
    this.cpu.tlbE = s.entry;
    this.flushHi();
    this.cpu.invalidateFetch();
  }

  /** Flushes every space whose tags satisfy `match` (all entries, or the non-global ones). */
  flushSpaces(match: (tagA: number, tagB: number) => boolean, keepGlobal: boolean): void {
    for (let i = 0; i < this.spaces.length; i++) {
      const s = this.spaces[i];
      if (!match(s.tagA, s.tagB)) continue;
      if (i === this.cur) { if (keepGlobal) this.flushNonGlobalCurrent(); else this.flushCurrent(); } else clearSpace(s, keepGlobal);
    }
  }

  /** Drops the entries for linear page `lin` and the rest of its 4 MB-aligned region (a large
   *  page of any paging mode) from every space whose tags satisfy `match`. */
  invalidateRegion(match: (tagA: number, tagB: number) => boolean, lin: number): void {
    const first = (lin >>> 12) & ~1023;
    this.flushHi();
    for (const s of this.spaces) {
      if (!match(s.tagA, s.tagB)) continue;
      for (let p = first; p < first + 1024; p++) if (s.entry[p] !== 0) s.entry[p] = 0;
    }
    this.cpu.invalidateFetch();
  }

  /** CR3 write without CR4.PGE semantics kept: global entries survive (SDM §4.10.4.1). Only the
   *  current space: a CR3 load invalidates the mappings of the current VPID (Vol. 3C §29.4.3.1). */
  flushNonGlobal(): void {
    if ((this.cpu.cr4 & Cr4.PGE) === 0) { this.flushCurrent(); return; }
    this.flushNonGlobalCurrent();
  }

  private flushNonGlobalCurrent(): void {
    this.flushHi();
    if (this.overflow) {
      const e = this.entry;
      for (let i = 0; i < e.length; i++) if ((e[i] & TlbBit.Global) === 0) e[i] = 0;
      this.overflow = false; this.nFilled = 0;
      for (let i = 0; i < e.length && this.nFilled < CAPACITY; i++) if (e[i] !== 0) this.filled[this.nFilled++] = i;
      if (this.nFilled === CAPACITY) this.overflow = true;
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

  /** Drops the >4 GB entries (every flush, and INVLPG of such an address). */
  flushHi(): void {
    if (!this.hiUsed) return;
    this.hiTag.fill(0); this.hiEntry.fill(0); this.hiUsed = false;
  }

  /**
   * Translates a 64-bit linear address given as bits 31:0 `lo` and 63:32 `hi` (canonical:
   * the caller checked it) for IA-32e mode. Below 4 GB this is `translate`; above, the tagged
   * part of the TLB, then the 4-level walk.
   */
  translate64(lo: number, hi: number, write: boolean, fetch: boolean): number {
    if (hi === 0) return this.translate(lo, write, fetch);
    const i = (lo >>> 12) & (HI_SIZE - 1), e = this.hiEntry[i];
    const need = write ? (this.user ? TlbBit.WriteUser : TlbBit.WriteSup) | TlbBit.Valid : (this.user ? TlbBit.ReadUser : 0) | TlbBit.Valid;
    if (this.hiTag[i] === hi && (e & need) === need && (e & (fetch ? TlbBit.NoExec : 0)) === 0) return ((e & ~0xfff) | (lo & 0xfff)) >>> 0;
    this.curHi = hi;
    if (this.nested !== null) return nestedTranslate64(this, this.nested, lo, hi, write, fetch);
    this.walks++;
    return this.walk4(lo, hi, write, fetch);
  }

  /** Fills the >4 GB part for linear address `lo`/`hi` (nested-paging.ts's 4-level walk). */
  installHi(lo: number, hi: number, value: number): void {
    const i = (lo >>> 12) & (HI_SIZE - 1);
    this.hiTag[i] = hi; this.hiEntry[i] = value; this.hiUsed = true;
  }

  /** Fills the entry of linear page `page` (also nested-paging.ts). */
  install(page: number, value: number): void {
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
    if ((e & need) === need && (e & (fetch ? TlbBit.NoExec : write ? 0 : TlbBit.NoRead)) === 0) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    if (this.nested !== null) return nestedTranslate(this, this.nested, lin, write, fetch);
    this.curHi = 0;
    if ((c.cr0 & Cr0.PG) === 0) {
      const phys = (lin & c.mem.a20Mask & ~0xfff) >>> 0;
      this.install(page, phys | TlbBit.Valid | TlbBit.WriteSup | TlbBit.ReadUser | TlbBit.WriteUser | this.ramBits(phys));
      return (phys | (lin & 0xfff)) >>> 0;
    }
    this.walks++;
    if ((c.efer & Efer.LMA) !== 0) return this.walk4(lin, 0, write, fetch);
    return (c.cr4 & Cr4.PAE) !== 0 ? this.walkPae(lin, write, fetch) : this.walk32(lin, write, fetch);
  }

  /** Ram/RamW bits for physical page `phys` (also nested-paging.ts). */
  ramBits(phys: number): number {
    const m = this.cpu.mem, p = phys >>> 12, k = m.kind[p];
    // The APIC-access page of a guest with "virtualize APIC accesses": every access takes the
    // slow path, where the VMX unit sees it (cpu.ts apicAccessPage).
    if ((phys & ~0xfff) === this.cpu.apicAccessPage) return 0;
    // Pages holding cached code never get direct writes: stores must reach
    // PhysicalMemory so the decoded-instruction cache hears of them.
    if (k === PageKind.Ram) return m.codePage[p] !== 0 ? TlbBit.Ram : TlbBit.Ram | TlbBit.RamW;
    return k === PageKind.Rom ? TlbBit.Ram : 0;
  }

  /** Withdraws direct-write permission from every entry mapping physical page `physPage`, in
   *  every space (a space selected later must not write a code page directly either). */
  dropDirectWrites(physPage: number): void {
    const cur = this.spaces[this.cur];
    cur.nFilled = this.nFilled; cur.overflow = this.overflow;
    for (const s of this.spaces) {
      const e = s.entry;
      if (s.overflow) {
        for (let i = 0; i < e.length; i++) if (e[i] !== 0 && (e[i] >>> 12) === physPage) e[i] &= ~TlbBit.RamW;
      } else {
        for (let i = 0; i < s.nFilled; i++) {
          const p = s.filled[i];
          if ((e[p] >>> 12) === physPage) e[p] &= ~TlbBit.RamW;
        }
      }
    }
  }

  /** Raises #PF for linear address `lin` (also nested-paging.ts). */
  pageFault(lin: number, err: number, write: boolean, fetch: boolean): never {
    const c = this.cpu;
    c.cr2 = lin >>> 0;
    c.cr2hi = this.curHi;
    err |= (write ? PfErr.W : 0) | (this.user ? PfErr.U : 0);
    if (fetch && (c.cr4 & Cr4.PAE) !== 0 && (c.efer & Efer.NXE) !== 0) err |= PfErr.I;
    return c.raiseErr(Vector.PF, err);
  }

  /** Raises #PF when the access breaks the rights of a translation (SDM Vol. 3A §4.6);
   *  `rw`/`us`/`nx` are the combined bits of all levels (also nested-paging.ts). */
  checkRights(lin: number, rw: boolean, us: boolean, nx: boolean, write: boolean, fetch: boolean): void {
    if (this.user) {
      if (!us || (write && !rw)) this.pageFault(lin, PfErr.P, write, fetch);
    } else if (write && !rw && (this.cpu.cr0 & Cr0.WP) !== 0) this.pageFault(lin, PfErr.P, write, fetch);
    if (fetch && nx) this.pageFault(lin, PfErr.P, write, fetch);
  }

  /** Checks rights, then installs; returns the physical page as installed. `rw`/`us` are the
   *  combined bits of all levels. A20M# masks bit 20 of the physical address the translation
   *  produces, in every paging mode (as with paging off; the walks' entry reads go through
   *  PhysicalMemory, which masks too): the TLB entry and so the fast paths see the same address
   *  as the slow paths (PhysicalMemory). The mask is 0xFFFFFFFF unless the 8042/port 92h gate
   *  is closed, and only the miss path pays for it. */
  private finish(lin: number, phys: number, rw: boolean, us: boolean, nx: boolean, dirty: boolean, global: boolean, write: boolean, fetch: boolean): number {
    const wp = (this.cpu.cr0 & Cr0.WP) !== 0;
    this.checkRights(lin, rw, us, nx, write, fetch);
    // At or above 4 GB there is no memory (PhysicalMemory): nothing is cached, so every access
    // walks again and reaches PhysicalMemory's slow paths with the whole address.
    if (phys >= PHYS_LIMIT) return phys - (phys % 4096);
    phys = (phys & this.cpu.mem.a20Mask & ~0xfff) >>> 0;
    let bits = TlbBit.Valid | this.ramBits(phys);
    if (us) bits |= TlbBit.ReadUser;
    if (dirty) {
      if (rw || !wp) bits |= TlbBit.WriteSup;
      if (rw && us) bits |= TlbBit.WriteUser;
    }
    if (global) bits |= TlbBit.Global;
    if (nx) bits |= TlbBit.NoExec;
    if (this.curHi !== 0) this.installHi(lin, this.curHi, phys | bits);
    else this.install(lin >>> 12, phys | bits);
    return phys;
  }

  /**
   * 4-level paging (SDM Vol. 3A §4.5): PML4E -> PDPTE (1 GB pages where CPUID.80000001H:EDX[26])
   * -> PDE (2 MB pages) -> PTE, 48-bit linear addresses given as `lo` (bits 31:0) and `hi`
   * (bits 63:32). Physical addresses have 36 bits (MAXPHYADDR, CPUID.80000008H): CR3 and the
   * entries' bits 35:32 count, and a table or page at or above 4 GB is where no memory is
   * (PhysicalMemory reads all ones there and drops writes; `finish` caches no such page), so
   * such addresses are JS numbers up to 2^36 on this path.
   */
  private walk4(lo: number, hi: number, write: boolean, fetch: boolean): number {
    const c = this.cpu, m = c.mem;
    const nxe = (c.efer & Efer.NXE) !== 0;
    const pge = (c.cr4 & Cr4.PGE) !== 0;
    // Reserved: address bits 51:36 (beyond MAXPHYADDR 36), and bit 63 (XD) without EFER.NXE;
    // bits 62:52 are ignored (§4.5.4, Tables 4-15 to 4-20).
    const rsvdHi = nxe ? 0x000ffff0 : 0x800ffff0 | 0;
    const RSVD = PfErr.P | PfErr.Rsvd;
    const pml4Addr = c.cr3hi * TWO32 + (((c.cr3 & ~0xfff) + (((hi >>> 7) & 0x1ff) << 3)) >>> 0);
    let pml4e = m.read32(pml4Addr);
    const pml4Hi = m.read32(pml4Addr + 4);
    if ((pml4e & 1) === 0) this.pageFault(lo, 0, write, fetch);
    if ((pml4Hi & rsvdHi) !== 0 || (pml4e & 0x80) !== 0) this.pageFault(lo, RSVD, write, fetch);
    const pdptAddr = (pml4Hi & 0xf) * TWO32 + (((pml4e & ~0xfff) + ((((hi & 0x7f) << 2) | (lo >>> 30)) << 3)) >>> 0);
    let pdpte = m.read32(pdptAddr);
    const pdpteHi = m.read32(pdptAddr + 4);
    if ((pdpte & 1) === 0) this.pageFault(lo, 0, write, fetch);
    if ((pdpteHi & rsvdHi) !== 0) this.pageFault(lo, RSVD, write, fetch);
    let rw = (pml4e & pdpte & 2) !== 0, us = (pml4e & pdpte & 4) !== 0;
    let nx = nxe && (pml4Hi < 0 || pdpteHi < 0);
    if ((pml4e & 0x20) === 0) { pml4e |= 0x20; m.write32(pml4Addr, pml4e); }
    if ((pdpte & 0x80) !== 0) {
      // 1 GB page: only with CPUID.80000001H:EDX.Page1GB; bits 29:13 reserved.
      if ((c.model.extEdx & (1 << 26)) === 0 || (pdpte & 0x3fffe000) !== 0) this.pageFault(lo, RSVD, write, fetch);
      const phys = (pdpteHi & 0xf) * TWO32 + (((pdpte & 0xc0000000) | (lo & 0x3ffff000)) >>> 0);
      this.has1G = true;
      const pa = this.finish(lo, phys, rw, us, nx, write || (pdpte & 0x40) !== 0, pge && (pdpte & 0x100) !== 0, write, fetch);
      const n = pdpte | 0x20 | (write ? 0x40 : 0);
      if (n !== pdpte) m.write32(pdptAddr, n);
      return pa + (lo & 0xfff);
    }
    const pdeAddr = (pdpteHi & 0xf) * TWO32 + (((pdpte & ~0xfff) + (((lo >>> 21) & 0x1ff) << 3)) >>> 0);
    let pde = m.read32(pdeAddr);
    const pdeHi = m.read32(pdeAddr + 4);
    if ((pde & 1) === 0) this.pageFault(lo, 0, write, fetch);
    if ((pdeHi & rsvdHi) !== 0) this.pageFault(lo, RSVD, write, fetch);
    rw = rw && (pde & 2) !== 0; us = us && (pde & 4) !== 0; nx = nx || (nxe && pdeHi < 0);
    if ((pdpte & 0x20) === 0) { pdpte |= 0x20; m.write32(pdptAddr, pdpte); }
    if ((pde & 0x80) !== 0) {
      if ((pde & 0x1fe000) !== 0) this.pageFault(lo, RSVD, write, fetch);
      const phys = (pdeHi & 0xf) * TWO32 + (((pde & 0xffe00000) | (lo & 0x1ff000)) >>> 0);
      const pa = this.finish(lo, phys, rw, us, nx, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, write, fetch);
      const n = pde | 0x20 | (write ? 0x40 : 0);
      if (n !== pde) m.write32(pdeAddr, n);
      return pa + (lo & 0xfff);
    }
    const pteAddr = (pdeHi & 0xf) * TWO32 + (((pde & ~0xfff) + (((lo >>> 12) & 0x1ff) << 3)) >>> 0);
    const pte = m.read32(pteAddr), pteHi = m.read32(pteAddr + 4);
    if ((pte & 1) === 0) this.pageFault(lo, 0, write, fetch);
    if ((pteHi & rsvdHi) !== 0) this.pageFault(lo, RSVD, write, fetch);
    const phys = (pteHi & 0xf) * TWO32 + ((pte & ~0xfff) >>> 0);
    const pa = this.finish(lo, phys, rw && (pte & 2) !== 0, us && (pte & 4) !== 0, nx || (nxe && pteHi < 0), write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, write, fetch);
    if ((pde & 0x20) === 0) { pde |= 0x20; m.write32(pdeAddr, pde); }
    const n = pte | 0x20 | (write ? 0x40 : 0);
    if (n !== pte) m.write32(pteAddr, n);
    return pa + (lo & 0xfff);
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
      const pa = this.finish(lin, phys, rw, us, false, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, write, fetch);
      const npde = pde | 0x20 | (write ? 0x40 : 0);
      if (npde !== pde) m.write32(pdeAddr, npde);
      return (pa | (lin & 0xfff)) >>> 0;
    }
    const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
    const pte = m.read32(pteAddr);
    if ((pte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    const rw = (pde & pte & 2) !== 0, us = (pde & pte & 4) !== 0;
    const phys = (pte & ~0xfff) >>> 0;
    const pa = this.finish(lin, phys, rw, us, false, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, write, fetch);
    if ((pde & 0x20) === 0) { pde |= 0x20; m.write32(pdeAddr, pde); }
    const npte = pte | 0x20 | (write ? 0x40 : 0);
    if (npte !== pte) m.write32(pteAddr, npte);
    return (pa | (lin & 0xfff)) >>> 0;
  }

  /** PAE paging (SDM Vol. 3A §4.4): PDPTE -> PDE (2 MB pages) -> PTE, with NX (bit 63) under
   *  EFER.NXE. The PDPTEs are read from memory at each walk (vmxlab keeps no PDPTE registers
   *  outside EPT; MOV to CR checks them as the load would, `checkPdptes`). Physical addresses
   *  have 36 bits (bits 35:32 of the entries): a table or page at or above 4 GB is where no
   *  memory is (as in walk4), JS numbers up to 2^36 here. */
  private walkPae(lin: number, write: boolean, fetch: boolean): number {
    const c = this.cpu, m = c.mem;
    const nxe = (c.efer & Efer.NXE) !== 0;
    const pge = (c.cr4 & Cr4.PGE) !== 0;
    const rsvdHi = paeRsvdHi(nxe);
    const RSVD = PfErr.P | PfErr.Rsvd;
    const pdpteAddr = ((c.cr3 & ~0x1f) + ((lin >>> 30) << 3)) >>> 0;
    const pdpte = m.read32(pdpteAddr), pdpteHi = m.read32(pdpteAddr + 4);
    if ((pdpte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pdpte & PAE_PDPTE_RSVD_LO) !== 0 || (pdpteHi & PAE_PDPTE_RSVD_HI) !== 0) this.pageFault(lin, RSVD, write, fetch);
    const pdeAddr = (pdpteHi & 0xf) * TWO32 + (((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0);
    let pde = m.read32(pdeAddr);
    const pdeHi = m.read32(pdeAddr + 4);
    if ((pde & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pdeHi & rsvdHi) !== 0) this.pageFault(lin, RSVD, write, fetch);
    const nxPde = nxe && pdeHi < 0;
    if ((pde & 0x80) !== 0) {
      if ((pde & 0x1fe000) !== 0) this.pageFault(lin, RSVD, write, fetch);
      const phys = (pdeHi & 0xf) * TWO32 + (((pde & 0xffe00000) | (lin & 0x1ff000)) >>> 0);
      const pa = this.finish(lin, phys, (pde & 2) !== 0, (pde & 4) !== 0, nxPde, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, write, fetch);
      const npde = pde | 0x20 | (write ? 0x40 : 0);
      if (npde !== pde) m.write32(pdeAddr, npde);
      return pa + (lin & 0xfff);
    }
    const pteAddr = (pdeHi & 0xf) * TWO32 + (((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0);
    const pte = m.read32(pteAddr), pteHi = m.read32(pteAddr + 4);
    if ((pte & 1) === 0) this.pageFault(lin, 0, write, fetch);
    if ((pteHi & rsvdHi) !== 0) this.pageFault(lin, RSVD, write, fetch);
    const phys = (pteHi & 0xf) * TWO32 + ((pte & ~0xfff) >>> 0);
    const pa = this.finish(lin, phys, (pde & pte & 2) !== 0, (pde & pte & 4) !== 0, nxPde || (nxe && pteHi < 0), write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, write, fetch);
    if ((pde & 0x20) === 0) { pde |= 0x20; m.write32(pdeAddr, pde); }
    const npte = pte | 0x20 | (write ? 0x40 : 0);
    if (npte !== pte) m.write32(pteAddr, npte);
    return pa + (lin & 0xfff);
  }

  /**
   * MOV to CR0/CR3/CR4 is about to make `cr0`/`cr3`/`cr4` current (SDM Vol. 3A §4.4.1 "PDPTE
   * Registers"): when PAE paging will be in use (PG, PAE, and not IA-32e mode: EFER.LMA will be
   * LME and PG) the four PDPTEs are loaded, #GP(0) when a present one sets a reserved bit. Under
   * EPT the second level loads them into its registers (nested-paging.ts); otherwise they are
   * only checked here (the walk reads them from memory).
   */
  loadPdptes(cr0: number, cr3: number, cr4: number): void {
    const c = this.cpu;
    if ((cr0 & Cr0.PG) === 0 || (cr4 & Cr4.PAE) === 0 || (c.efer & Efer.LME) !== 0) return;
    if (this.nested !== null) { this.nested.loadPdptes(cr0, cr3, cr4); return; }
    if (paePdptInvalid(c.mem, cr3)) c.gp(0);
  }
}
