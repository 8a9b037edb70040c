// Guest paging under a second-level translation (EPT in VMX non-root operation, SDM Vol. 3C
// §29.3.1 "EPT Overview"; the translation itself is src/core/vmx/ept/, installed as
// `Tlb.nested`). Every guest-physical address the guest's paging produces goes through it: each
// guest paging-structure entry (PDE, PTE; the PAE PDPTEs come from registers loaded at VM entry
// and by MOV to CR0/CR3/CR4) and the final address, whose host-physical translation the TLB then
// caches with the rights of both levels: a combined mapping (§29.4.1). With guest paging off
// (unrestricted guest) the linear address is the guest-physical address. A guest that rewrites
// its own page tables only writes memory: no VM exit, as on hardware.
//
// The CPU core knows the translation through NestedMmu only, as it knows VMX through vmx-hooks.
import type { Tlb } from './paging';
import { PfErr, TlbBit } from './paging';
import { Cr0, Cr4, Efer } from './regs';
import { asGuestPhysical, asLinear, type GuestLinear, type GuestPhysical, type HostPhysical } from '../platform/address';

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

/** Tlb.translate's miss path while `tlb.nested` is set. */
export function nestedTranslate(t: Tlb, n: NestedMmu, lin: number, write: boolean, fetch: boolean): number {
  const c = t.cpu;
  t.walks++;
  const access = fetch ? NestedAccess.Fetch : write ? NestedAccess.Write : NestedAccess.Read;
  if ((c.cr0 & Cr0.PG) === 0) {
    const hpa = n.translate(asGuestPhysical(lin), access, asLinear(lin), false);
    installCombined(t, lin, hpa, n.perm, true, true, false, true, false);
    return hpa;
  }
  return (c.cr4 & Cr4.PAE) !== 0 ? walkPae(t, n, lin, write, fetch, access) : walk32(t, n, lin, write, fetch, access);
}

/** Fills the TLB with a combined translation: the guest's rights (`rw`, `us`, `nx`, `dirty`,
 *  `global` as paging.ts computes them) intersected with the second level's `perm`. */
function installCombined(t: Tlb, lin: number, hpa: HostPhysical, perm: number, rw: boolean, us: boolean, nx: boolean, dirty: boolean, global: boolean): void {
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
  t.install(lin >>> 12, ((hpa & ~0xfff) | bits));
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
 *  the second level, NX (bit 63) under EFER.NXE. Reserved-bit faults as paging.ts gives them. */
function walkPae(t: Tlb, n: NestedMmu, lin: number, write: boolean, fetch: boolean, access: number): number {
  const c = t.cpu, m = c.mem, gla = asLinear(lin);
  const nxe = (c.efer & Efer.NXE) !== 0;
  const pge = (c.cr4 & Cr4.PGE) !== 0;
  const rsvd = PfErr.P | PfErr.Rsvd;
  const i = lin >>> 30;
  const pdpte = n.pdpte[i * 2], pdpteHi = n.pdpte[i * 2 + 1];
  if ((pdpte & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pdpte & 0x1e6) !== 0 || pdpteHi !== 0) t.pageFault(lin, rsvd, write, fetch);
  const pdeGpa = ((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0;
  const pdeHpa = n.translate(asGuestPhysical(pdeGpa), NestedAccess.Read, gla, true);
  const pdePerm = n.perm;
  const pde = m.read32(pdeHpa), pdeHi = m.read32(pdeHpa + 4);
  if ((pde & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pdeHi < 0 && !nxe) || (pdeHi & 0x7fffffff) !== 0) t.pageFault(lin, rsvd, write, fetch);
  const nxPde = nxe && pdeHi < 0;
  if ((pde & 0x80) !== 0) {
    if ((pde & 0x1fe000) !== 0) t.pageFault(lin, rsvd, write, fetch);
    const gpa = ((pde & 0xffe00000) | (lin & 0x1fffff)) >>> 0;
    const rw = (pde & 2) !== 0, us = (pde & 4) !== 0;
    t.checkRights(lin, rw, us, nxPde, write, fetch);
    const npde = pde | 0x20 | (write ? 0x40 : 0);
    if (npde !== pde) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, npde, gla);
    const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
    installCombined(t, lin, hpa, n.perm, rw, us, nxPde, write || (pde & 0x40) !== 0, pge && (pde & 0x100) !== 0);
    return hpa;
  }
  const pteGpa = ((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0;
  const pteHpa = n.translate(asGuestPhysical(pteGpa), NestedAccess.Read, gla, true);
  const ptePerm = n.perm;
  const pte = m.read32(pteHpa), pteHi = m.read32(pteHpa + 4);
  if ((pte & 1) === 0) t.pageFault(lin, 0, write, fetch);
  if ((pteHi < 0 && !nxe) || (pteHi & 0x7fffffff) !== 0) t.pageFault(lin, rsvd, write, fetch);
  const rw = (pde & pte & 2) !== 0, us = (pde & pte & 4) !== 0, nx = nxPde || (nxe && pteHi < 0);
  t.checkRights(lin, rw, us, nx, write, fetch);
  if ((pde & 0x20) === 0) writeEntry(t, n, pdeGpa, pdeHpa, pdePerm, pde | 0x20, gla);
  const npte = pte | 0x20 | (write ? 0x40 : 0);
  if (npte !== pte) writeEntry(t, n, pteGpa, pteHpa, ptePerm, npte, gla);
  const gpa = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
  const hpa = n.translate(asGuestPhysical(gpa), access, gla, false);
  installCombined(t, lin, hpa, n.perm, rw, us, nx, write || (pte & 0x40) !== 0, pge && (pte & 0x100) !== 0);
  return hpa;
}
