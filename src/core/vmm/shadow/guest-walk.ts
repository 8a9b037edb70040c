// The guest's page tables as the VMM sees them: the 32-bit paging walk (SDM Vol. 3A §4.3, 4 MB
// pages under CR4.PSE) and the PAE walk (§4.4: PDPTE, 2 MB pages, XD under IA32_EFER.NXE) over
// guest memory, which is host memory at the same addresses (the VMM keeps guest RAM
// identity-placed and has no EPT in this mode). Rights as §4.6, error codes as §4.7,
// accessed/dirty bits as §4.8, each written only when the access is allowed, and reserved bits
// checked where the CPU's own walk checks them (src/core/cpu/paging.ts: the differential test
// compares the two). Results go to fields: the fault path allocates nothing. Guest tables
// outside guest RAM read as all ones (unassigned memory), never the VMM's pages. PAE entries'
// bits 35:32 are address bits (MAXPHYADDR 36, §4.1.4, as paging.ts): a table there reads as all
// ones, and a page there gives a `frame` at or above 4 GB (a JS number up to 2^36), which is
// not guest RAM.
import { PageKind, type PhysicalMemory } from '../../platform/memory';
import { PAE_PDPTE_RSVD_HI, PAE_PDPTE_RSVD_LO, paeRsvdHi } from '../../cpu/paging';

const TWO32 = 4294967296;

/** #PF error code bits (SDM Vol. 3A §4.7, Figure 4-12). */
export enum PfErr { P = 1, W = 2, U = 4, Rsvd = 8, I = 16 }

/** Paging-entry bits (SDM Vol. 3A §4.3 Tables 4-4 to 4-6, §4.4 Tables 4-8 to 4-11). */
export enum Pte { P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80 }

export class GuestWalker {
  /** Guest-physical base of the page the linear address maps to. */
  frame = 0;
  /** Guest-physical addresses and values (low/high dwords) of the PDE and (4 KB pages) PTE. */
  pdeAddr = 0;
  pde = 0;
  pdeHi = 0;
  pteAddr = -1;
  pte = 0;
  /** PAE: the PDPTE used (§4.4.1), index 0-3. */
  pdpteIndex = 0;
  pdpte = 0;
  pdpteHi = 0;
  /** A 4 MB / 2 MB page (no PTE). */
  large = false;
  /** Combined R/W, U/S and XD of the levels (§4.6), and the dirty bit of the final entry. */
  rw = false;
  us = false;
  nx = false;
  dirty = false;
  /** Error code of the guest's #PF when a walk returned false. */
  errorCode = 0;

  constructor(private readonly mem: PhysicalMemory, private readonly ramBytes: number) {}

  /** A guest paging-structure dword: guest RAM/ROM, else all ones. */
  read(gpa: number): number {
    if (gpa >= this.ramBytes || this.mem.kind[gpa >>> 12] > PageKind.Rom) return -1;
    return this.mem.read32(gpa);
  }

  private store(gpa: number, v: number): void {
    if (gpa < this.ramBytes && this.mem.kind[gpa >>> 12] === PageKind.Ram) this.mem.write32(gpa, v);
  }

  /**
   * 32-bit paging: walks guest CR3 for `lin` and checks an access (`write`, `user`: the W/R and
   * U/S bits of the #PF error code, §4.7) under CR0.WP `wp` and CR4.PSE `pse`. True when the
   * guest's tables allow it; else `errorCode` is the guest's #PF error code.
   */
  walk(cr3: number, lin: number, write: boolean, user: boolean, wp: boolean, pse: boolean): boolean {
    const acc = (write ? PfErr.W : 0) | (user ? PfErr.U : 0);
    this.pdeAddr = ((cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
    this.pteAddr = -1;
    this.pde = this.read(this.pdeAddr); this.pdeHi = 0;
    this.nx = false;
    if ((this.pde & Pte.P) === 0) { this.errorCode = acc; return false; }
    if ((this.pde & Pte.PS) !== 0 && pse) {
      // 4 MB page: bits 31:22 of the PDE (§4.3 Table 4-4; PSE-36 high bits are above vmxlab's
      // 32-bit physical space and ignored, as the CPU model does).
      this.large = true;
      this.frame = ((this.pde & 0xffc00000) | (lin & 0x3ff000)) >>> 0;
      this.rw = (this.pde & Pte.RW) !== 0; this.us = (this.pde & Pte.US) !== 0;
      this.dirty = (this.pde & Pte.D) !== 0;
    } else {
      this.large = false;
      this.pteAddr = ((this.pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
      this.pte = this.read(this.pteAddr);
      if ((this.pte & Pte.P) === 0) { this.errorCode = acc; return false; }
      this.frame = (this.pte & ~0xfff) >>> 0;
      this.rw = (this.pde & this.pte & Pte.RW) !== 0; this.us = (this.pde & this.pte & Pte.US) !== 0;
      this.dirty = (this.pte & Pte.D) !== 0;
    }
    return this.rights(acc, write, user, wp, false);
  }

  /**
   * PAE paging (§4.4): the PDPTE from guest CR3 (bits 31:5), PDE, PTE, 2 MB pages, XD (bit 63)
   * under `nxe`; `fetch`: an instruction fetch (the I/D bit of the error code with NXE).
   */
  walkPae(cr3: number, lin: number, write: boolean, user: boolean, fetch: boolean, wp: boolean, nxe: boolean): boolean {
    const acc = (write ? PfErr.W : 0) | (user ? PfErr.U : 0) | (fetch && nxe ? PfErr.I : 0);
    this.pdpteIndex = lin >>> 30;
    const pdpteAddr = ((cr3 & ~0x1f) + (this.pdpteIndex << 3)) >>> 0;
    this.pdpte = this.read(pdpteAddr); this.pdpteHi = this.read(pdpteAddr + 4);
    this.pteAddr = -1;
    if ((this.pdpte & Pte.P) === 0) { this.errorCode = acc; return false; }
    // §4.4.1 Table 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR (36) are reserved.
    if ((this.pdpte & PAE_PDPTE_RSVD_LO) !== 0 || (this.pdpteHi & PAE_PDPTE_RSVD_HI) !== 0) { this.errorCode = acc | PfErr.P | PfErr.Rsvd; return false; }
    this.pdeAddr = (this.pdpteHi & 0xf) * TWO32 + (((this.pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0);
    this.pde = this.read(this.pdeAddr); this.pdeHi = this.read(this.pdeAddr + 4);
    if ((this.pde & Pte.P) === 0) { this.errorCode = acc; return false; }
    if (!this.highOk(this.pdeHi, nxe)) { this.errorCode = acc | PfErr.P | PfErr.Rsvd; return false; }
    const nxPde = nxe && this.pdeHi < 0;
    if ((this.pde & Pte.PS) !== 0) {
      // 2 MB page: bits 20:13 reserved (§4.4.2 Table 4-9).
      if ((this.pde & 0x1fe000) !== 0) { this.errorCode = acc | PfErr.P | PfErr.Rsvd; return false; }
      this.large = true;
      this.frame = (this.pdeHi & 0xf) * TWO32 + (((this.pde & 0xffe00000) | (lin & 0x1ff000)) >>> 0);
      this.rw = (this.pde & Pte.RW) !== 0; this.us = (this.pde & Pte.US) !== 0; this.nx = nxPde;
      this.dirty = (this.pde & Pte.D) !== 0;
    } else {
      this.large = false;
      this.pteAddr = (this.pdeHi & 0xf) * TWO32 + (((this.pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0);
      this.pte = this.read(this.pteAddr);
      const pteHi = this.read(this.pteAddr + 4);
      if ((this.pte & Pte.P) === 0) { this.errorCode = acc; return false; }
      if (!this.highOk(pteHi, nxe)) { this.errorCode = acc | PfErr.P | PfErr.Rsvd; return false; }
      this.frame = (pteHi & 0xf) * TWO32 + ((this.pte & ~0xfff) >>> 0);
      this.rw = (this.pde & this.pte & Pte.RW) !== 0; this.us = (this.pde & this.pte & Pte.US) !== 0;
      this.nx = nxPde || (nxe && pteHi < 0);
      this.dirty = (this.pte & Pte.D) !== 0;
    }
    return this.rights(acc, write, user, wp, fetch);
  }

  /** High dword of a PAE PDE/PTE: XD (bit 63) only with NXE, bits 62:36 reserved (MAXPHYADDR
   *  36), bits 35:32 address bits (§4.4.2 Tables 4-9 to 4-11). */
  private highOk(hi: number, nxe: boolean): boolean {
    return (hi & paeRsvdHi(nxe)) === 0;
  }

  /** §4.6: user accesses need U/S = 1 at every level, user writes R/W = 1 too; supervisor
   *  writes need R/W = 1 only with CR0.WP = 1; fetches need XD = 0. */
  private rights(acc: number, write: boolean, user: boolean, wp: boolean, fetch: boolean): boolean {
    const allowed = (user ? this.us && (!write || this.rw) : !write || this.rw || !wp) && !(fetch && this.nx);
    if (!allowed) { this.errorCode = acc | PfErr.P; return false; }
    return true;
  }

  /** Sets the accessed bits of the entries used, and the dirty bit of the final one on a
   *  write (§4.8), as the processor does when it uses them for an allowed access. */
  commit(write: boolean): void {
    if (this.large) {
      const v = this.pde | Pte.A | (write ? Pte.D : 0);
      if (v !== this.pde) { this.store(this.pdeAddr, v); this.pde = v; }
      this.dirty = (v & Pte.D) !== 0;
      return;
    }
    if ((this.pde & Pte.A) === 0) { this.pde |= Pte.A; this.store(this.pdeAddr, this.pde); }
    const v = this.pte | Pte.A | (write ? Pte.D : 0);
    if (v !== this.pte) { this.store(this.pteAddr, v); this.pte = v; }
    this.dirty = (v & Pte.D) !== 0;
  }
}
