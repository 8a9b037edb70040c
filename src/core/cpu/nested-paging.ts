// Guest paging under a second-level translation (EPT in VMX non-root operation, SDM Vol. 3C
// §29.3.1 "EPT Overview"; the translation itself is src/core/vmx/ept/, installed as
// `Tlb.nested`). Every guest-physical address the guest's paging produces goes through it: each
// guest paging-structure entry (PDE, PTE; the PAE PDPTEs come from registers loaded at VM entry
// and by MOV to CR0/CR3/CR4) and the final address, whose host-physical translation the TLB then
// caches with the rights of both levels: a combined mapping (§29.4.1). With guest paging off
// (unrestricted guest) the linear address is the guest-physical address; an IA-32e mode guest's
// 4-level walk (walk4, at the end) takes every PML4E/PDPTE/PDE/PTE through it too. A guest that rewrites
// its own page tables only writes memory: no VM exit, as on hardware.
//
// The CPU core knows the translation through NestedMmu only, as it knows VMX through vmx-hooks.
import type { Tlb } from './paging';
import { PAE_PDPTE_RSVD_HI, PAE_PDPTE_RSVD_LO, PfErr, TlbBit, paeRsvdHi } from './paging';
import { Cr0, Cr4, Efer } from './regs';
import { asGuestPhysical, asLinear, type GuestLinear, type GuestPhysical, type HostPhysical } from '../platform/address';
import { PHYS_LIMIT } from '../platform/memory';

const TWO32 = 4294967296;

/** Access kinds (numbered as the EPT-violation qualification bits 0-2). */
export enum NestedAccess { Read = 1, Write = 2, Fetch = 4 }

/** What a translation allows (`NestedMmu.perm`). */
export enum NestedPerm {
  Read = 1,
  Write = 2,
  Execute = 4,
  /** A later write may reuse this translation without the second level seeing it (EPT: A/D
   *  flags off, or the leaf's dirty flag already set). */
  WriteCached = 8,
}

/** A second-level translation of guest-physical addresses (src/core/vmx/ept/unit.ts). */
export interface NestedMmu {
  /**
   * Translates `gpa` for an access of kind `access` (NestedAccess bits) made while translating
   * linear address `lin`; `pagingEntry` says the access is to a guest paging-structure entry
   * (a walk or an accessed/dirty update) rather than to the translation of `lin`. Returns the
   * host-physical address and leaves the rights in `perm`; when the access is not allowed it
   * leaves the guest (a VM exit: throws).
   */
  translate(gpa: GuestPhysical, access: number, lin: GuestLinear, pagingEntry: boolean): HostPhysical;
  /** NestedPerm bits of the last `translate`. */
  readonly perm: number;
  /** The guest's PAE PDPTE registers (§4.4.1): [lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3]. */
  readonly pdpte: Int32Array;
  /** MOV to CR0, CR3 or CR4 is about to make `cr0`/`cr3`/`cr4` current (SDM Vol. 3A §4.4.1
   *  "PDPTE Registers"): with PAE paging the four PDPTEs are loaded from guest-physical `cr3`
   *  (which may exit); nothing else changes before the instruction completes. */
  loadPdptes(cr0: number, cr3: number, cr4: number): void;
}

/** Bits 63:32 of the guest-linear address being translated (0 below 4 GB and outside IA-32e
 *  mode): the EPT-violation exit's guest-linear address is the whole address (§28.2.1). */
export let nestedLinearHi = 0;

/** Tlb.translate's miss path while `tlb.nested` is set. */
export function nestedTranslate(t: Tlb, n: NestedMmu, lin: number, write: boolean, fetch: boolean): number {
  const c = t.cpu;
  t.walks++;
  const access = fetch ? NestedAccess.Fetch : write ? NestedAccess.Write : NestedAccess.Read;
  nestedLinearHi = 0;
  t.curHi = 0;
  if ((c.efer & Efer.LMA) !== 0) return walk4(t, n, lin, 0, write, fetch, access);
  if ((c.cr0 & Cr0.PG) === 0) {
    const hpa = n.translate(asGuestPhysical(lin), access, asLinear(lin), false);
    installCombined(t, lin, hpa, n.perm, true, true, false, true, false);
    return hpa;
  }
  return (c.cr4 & Cr4.PAE) !== 0 ? walkPae(t, n, lin, write, fetch, access) : walk32(t, n, lin, write, fetch, access);
}

/** Tlb.translate64's miss path above 4 GB while `tlb.nested` is set (IA-32e mode guest). */
export function nestedTranslate64(t: Tlb, n: NestedMmu, lo: number, hi: number, write: boolean, fetch: boolean): number {
  t.walks++;
  const access = fetch ? NestedAccess.Fetch : write ? NestedAccess.Write : NestedAccess.Read;
  return walk4(t, n, lo, hi, write, fetch, access);
}

/** Fills the TLB with a combined translation: the guest's rights (`rw`, `us`, `nx`, `dirty`,
 *  `global` as paging.ts computes them) intersected with the second level's `perm`. */
function installCombined(t: Tlb, lin: number, hpa: HostPhysical, perm: number, rw: boolean, us: boolean, nx: boolean, dirty: boolean, global: boolean, hi = 0): void {
  // No memory at or above 4 GB (PhysicalMemory): nothing cached, every access walks again.
  if (hpa >= PHYS_LIMIT) return;
  const wp = (t.cpu.cr0 & Cr0.WP) !== 0;
  let bits = TlbBit.Valid | ((perm & NestedPerm.Read) !== 0 ? t.ramBits(hpa) : TlbBit.NoRead);
  if (us) bits |= TlbBit.ReadUser;
  const w = NestedPerm.Write | NestedPerm.WriteCached;
  if (dirty && (perm & w) === w) {
    if (rw || !wp) bits |= TlbBit.WriteSup;
    if (rw && us) bits |= TlbBit.WriteUser;
  }
  if (global) bits |= TlbBit.Global;
  if (nx || (perm & NestedPerm.Execute) === 0) bits |= TlbBit.NoExec;
  if (hi !== 0) t.installHi(lin, hi, (hpa & ~0xfff) | bits);
  else t.install(lin >>> 12, ((hpa & ~0xfff) | bits));
}

/** Writes a guest paging-structure entry at `gpa` (read before through `hpa` with rights
 *  `perm`): setting accessed/dirty flags is a write for the second level too. */
function writeEntry(t: Tlb, n: NestedMmu, gpa: number, hpa: number, perm: number, value: number, lin: GuestLinear): void {
  const w = NestedPerm.Write | NestedPerm.WriteCached;
  if ((perm & w) !== w) hpa = n.translate(asGuestPhysical(gpa), NestedAccess.Write, lin, true);
  t.cpu.mem.write32(hpa, value);
}

/** 32-bit paging (SDM Vol. 3A §4.3), every table access through the second level. */
function walk32(t: Tlb, n: NestedMmu, lin: number, write: boolean, fetch: boolean, access: number): number {
  const c = t.cpu, m = c.mem, gla = asLinear(lin);
  const pdeGpa = ((c.cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
  const pdeHpa = n.translate(asGuestPhysical(pdeGpa), NestedAccess.Read, gla, true);
  const pdePerm = n.perm;
  const pde = m.read32(pdeHpa);
  if ((pde & 1) === 0) t.pageFault(lin, 0, write, fetch);
  const pge = (c.cr4 & Cr4.PGE) !== 0;
  if ((pde & 0x80) !== 0 && (c.cr4 & Cr4.PSE) !== 0) {
    const gpa = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    const rw = (pde & 2) !== 0, us = (pde & 4) !== 0;
    t.checkRights(lin, rw, us, false, write, fetch);
    const npde = pde | 0x20 | (write ? 0x40 : 0);
    if (npde !== pde) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, npde, gla);
    const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
    installCombined(t, lin, hpa, n.perm, rw, us, false, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0);
    return hpa;
  }
  const pteGpa = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  const pteHpa = n.translate(asGuestPhysical(pteGpa), NestedAccess.Read, gla, true);
  const ptePerm = n.perm;
  const pte = m.read32(pteHpa);
  if ((pte & 1) === 0) t.pageFault(lin, 0, write, fetch);
  const rw = (pde & pte & 2) !== 0, us = (pde & pte & 4) !== 0;
  t.checkRights(lin, rw, us, false, write, fetch);
  if ((pde & 0x20) === 0) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, pde | 0x20, gla);
  const npte = pte | 0x20 | (write ? 0x40 : 0);
  if (npte !== pte) writeEntry(t, n, pteGpa, pteHpa, ptePerm, npte, gla);
  const gpa = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
  const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
  installCombined(t, lin, hpa, n.perm, rw, us, false, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0);
  return hpa;
}

/** PAE paging (SDM Vol. 3A §4.4): the PDPTE from the PDPTE registers, then PDE and PTE through
 *  the second level, NX (bit 63) under EFER.NXE. Reserved-bit faults as paging.ts gives them;
 *  guest-physical addresses have 36 bits (the entries' bits 35:32), JS numbers up to 2^36. */
function walkPae(t: Tlb, n: NestedMmu, lin: number, write: boolean, fetch: boolean, access: number): number {
  const c = t.cpu, m = c.mem, gla = asLinear(lin);
  const nxe = (c.efer & Efer.NXE) !== 0;
  const pge = (c.cr4 & Cr4.PGE) !== 0;
  const rsvd = PfErr.P | PfErr.Rsvd, rsvdHi = paeRsvdHi(nxe);
  const i = lin >>> 30;
  const pdpte = n.pdpte[i * 2], pdpteHi = n.pdpte[i * 2 + 1];
  if ((pdpte & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pdpte & PAE_PDPTE_RSVD_LO) !== 0 || (pdpteHi & PAE_PDPTE_RSVD_HI) !== 0) t.pageFault(lin, rsvd, write, fetch);
  const pdeGpa = (pdpteHi & 0xf) * TWO32 + (((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0);
  const pdeHpa = n.translate(asGuestPhysical(pdeGpa), NestedAccess.Read, gla, true);
  const pdePerm = n.perm;
  const pde = m.read32(pdeHpa), pdeHi = m.read32(pdeHpa + 4);
  if ((pde & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pdeHi & rsvdHi) !== 0) t.pageFault(lin, rsvd, write, fetch);
  const nxPde = nxe && pdeHi < 0;
  if ((pde & 0x80) !== 0) {
    if ((pde & 0x1fe000) !== 0) t.pageFault(lin, rsvd, write, fetch);
    const gpa = (pdeHi & 0xf) * TWO32 + (((pde & 0xffe00000) | (lin & 0x1fffff)) >>> 0);
    const rw = (pde & 2) !== 0, us = (pde & 4) !== 0;
    t.checkRights(lin, rw, us, nxPde, write, fetch);
    const npde = pde | 0x20 | (write ? 0x40 : 0);
    if (npde !== pde) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, npde, gla);
    const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
    installCombined(t, lin, hpa, n.perm, rw, us, nxPde, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0);
    return hpa;
  }
  const pteGpa = (pdeHi & 0xf) * TWO32 + (((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0);
  const pteHpa = n.translate(asGuestPhysical(pteGpa), NestedAccess.Read, gla, true);
  const ptePerm = n.perm;
  const pte = m.read32(pteHpa), pteHi = m.read32(pteHpa + 4);
  if ((pte & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pteHi & rsvdHi) !== 0) t.pageFault(lin, rsvd, write, fetch);
  const rw = (pde & pte & 2) !== 0, us = (pde & pte & 4) !== 0, nx = nxPde || (nxe && pteHi < 0);
  t.checkRights(lin, rw, us, nx, write, fetch);
  if ((pde & 0x20) === 0) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, pde | 0x20, gla);
  const npte = pte | 0x20 | (write ? 0x40 : 0);
  if (npte !== pte) writeEntry(t, n, pteGpa, pteHpa, ptePerm, npte, gla);
  const gpa = (pteHi & 0xf) * TWO32 + (((pte & ~0xfff) | (lin & 0xfff)) >>> 0);
  const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
  installCombined(t, lin, hpa, n.perm, rw, us, nx, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0);
  return hpa;
}

/**
 * 4-level paging of an IA-32e mode guest (SDM Vol. 3A §4.5; Vol. 3C §29.3.2: each guest
 * paging-structure access is a guest-physical access through EPT, its violation qualification
 * saying so by bit 8 = 0 with bit 7 = 1, §28.2.1). `lo`/`hi` are bits 31:0 and 63:32 of the
 * canonical linear address. Reserved bits and 1 GB pages as paging.ts's walk4; guest-physical
 * addresses have 36 bits (CR3 and the entries' bits 35:32), JS numbers up to 2^36 here.
 */
function walk4(t: Tlb, n: NestedMmu, lo: number, hi: number, write: boolean, fetch: boolean, access: number): number {
  const c = t.cpu, m = c.mem, gla = asLinear(lo);
  nestedLinearHi = hi;
  t.curHi = hi;
  const nxe = (c.efer & Efer.NXE) !== 0;
  const pge = (c.cr4 & Cr4.PGE) !== 0;
  const rsvdHi = nxe ? 0x000ffff0 : 0x800ffff0 | 0;
  const rsvd = PfErr.P | PfErr.Rsvd;
  // PML4E
  const pml4Gpa = c.cr3hi * TWO32 + (((c.cr3 & ~0xfff) + (((hi >>> 7) & 0x1ff) << 3)) >>> 0);
  const pml4Hpa = n.translate(asGuestPhysical(pml4Gpa), NestedAccess.Read, gla, true);
  const pml4Perm = n.perm;
  const pml4e = m.read32(pml4Hpa), pml4Hi = m.read32(pml4Hpa + 4);
  if ((pml4e & 1) === 0) t.pageFault(lo, 0, write, fetch);
  if ((pml4Hi & rsvdHi) !== 0 || (pml4e & 0x80) !== 0) t.pageFault(lo, rsvd, write, fetch);
  // PDPTE
  const pdptGpa = (pml4Hi & 0xf) * TWO32 + (((pml4e & ~0xfff) + ((((hi & 0x7f) << 2) | (lo >>> 30)) << 3)) >>> 0);
  const pdptHpa = n.translate(asGuestPhysical(pdptGpa), NestedAccess.Read, gla, true);
  const pdptPerm = n.perm;
  const pdpte = m.read32(pdptHpa), pdpteHi = m.read32(pdptHpa + 4);
  if ((pdpte & 1) === 0) t.pageFault(lo, 0, write, fetch);
  if ((pdpteHi & rsvdHi) !== 0) t.pageFault(lo, rsvd, write, fetch);
  let rw = (pml4e & pdpte & 2) !== 0, us = (pml4e & pdpte & 4) !== 0;
  let nx = nxe && (pml4Hi < 0 || pdpteHi < 0);
  if ((pdpte & 0x80) !== 0) {
    if ((c.model.extEdx & (1 << 26)) === 0 || (pdpte & 0x3fffe000) !== 0) t.pageFault(lo, rsvd, write, fetch);
    t.checkRights(lo, rw, us, nx, write, fetch);
    if ((pml4e & 0x20) === 0) writeEntry(t, n, pml4Gpa, pml4Hpa, pml4Perm, pml4e | 0x20, gla);
    const np = pdpte | 0x20 | (write ? 0x40 : 0);
    if (np !== pdpte) writeEntry(t, n, pdptGpa, pdptHpa, pdptPerm, np, gla);
    t.has1G = true;
    const gpa = (pdpteHi & 0xf) * TWO32 + (((pdpte & 0xc0000000) | (lo & 0x3fffffff)) >>> 0);
    const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
    installCombined(t, lo, hpa, n.perm, rw, us, nx, write || (pdpte & 0x40) !== 0, pge && (pdpte & 0x100) !== 0, hi);
    return hpa;
  }
  // PDE
  const pdeGpa = (pdpteHi & 0xf) * TWO32 + (((pdpte & ~0xfff) + (((lo >>> 21) & 0x1ff) << 3)) >>> 0);
  const pdeHpa = n.translate(asGuestPhysical(pdeGpa), NestedAccess.Read, gla, true);
  const pdePerm = n.perm;
  const pde = m.read32(pdeHpa), pdeHi = m.read32(pdeHpa + 4);
  if ((pde & 1) === 0) t.pageFault(lo, 0, write, fetch);
  if ((pdeHi & rsvdHi) !== 0) t.pageFault(lo, rsvd, write, fetch);
  rw = rw && (pde & 2) !== 0; us = us && (pde & 4) !== 0; nx = nx || (nxe && pdeHi < 0);
  if ((pde & 0x80) !== 0) {
    if ((pde & 0x1fe000) !== 0) t.pageFault(lo, rsvd, write, fetch);
    t.checkRights(lo, rw, us, nx, write, fetch);
    if ((pml4e & 0x20) === 0) writeEntry(t, n, pml4Gpa, pml4Hpa, pml4Perm, pml4e | 0x20, gla);
    if ((pdpte & 0x20) === 0) writeEntry(t, n, pdptGpa, pdptHpa, pdptPerm, pdpte | 0x20, gla);
    const np = pde | 0x20 | (write ? 0x40 : 0);
    if (np !== pde) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, np, gla);
    const gpa = (pdeHi & 0xf) * TWO32 + (((pde & 0xffe00000) | (lo & 0x1fffff)) >>> 0);
    const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
    installCombined(t, lo, hpa, n.perm, rw, us, nx, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0, hi);
    return hpa;
  }
  // PTE
  const pteGpa = (pdeHi & 0xf) * TWO32 + (((pde & ~0xfff) + (((lo >>> 12) & 0x1ff) << 3)) >>> 0);
  const pteHpa = n.translate(asGuestPhysical(pteGpa), NestedAccess.Read, gla, true);
  const ptePerm = n.perm;
  const pte = m.read32(pteHpa), pteHi = m.read32(pteHpa + 4);
  if ((pte & 1) === 0) t.pageFault(lo, 0, write, fetch);
  if ((pteHi & rsvdHi) !== 0) t.pageFault(lo, rsvd, write, fetch);
  rw = rw && (pte & 2) !== 0; us = us && (pte & 4) !== 0; nx = nx || (nxe && pteHi < 0);
  t.checkRights(lo, rw, us, nx, write, fetch);
  if ((pml4e & 0x20) === 0) writeEntry(t, n, pml4Gpa, pml4Hpa, pml4Perm, pml4e | 0x20, gla);
  if ((pdpte & 0x20) === 0) writeEntry(t, n, pdptGpa, pdptHpa, pdptPerm, pdpte | 0x20, gla);
  if ((pde & 0x20) === 0) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, pde | 0x20, gla);
  const np = pte | 0x20 | (write ? 0x40 : 0);
  if (np !== pte) writeEntry(t, n, pteGpa, pteHpa, ptePerm, np, gla);
  const gpa = (pteHi & 0xf) * TWO32 + (((pte & ~0xfff) | (lo & 0xfff)) >>> 0);
  const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
  installCombined(t, lo, hpa, n.perm, rw, us, nx, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0, hi);
  return hpa;
}
