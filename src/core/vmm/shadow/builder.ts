// Building and tearing down shadow tables: a root (shadow page directory, or PAE: a shadow PDPT
// with four directories; one root per guest CR3) points to shadow page tables whose entries map
// guest-linear pages to host-physical ones. All rights live in the last level: a shadow PDE is
// always present, writable and user (the processor combines the levels, SDM Vol. 3A §4.6, so
// the PTE alone decides), and a guest 4 MB / 2 MB page is split into 4 KB shadow entries (KVM's
// "direct" shadow pages, mmu.rst). Entries are addressed by dword offset (pool.ts).
import { ENTRIES, NO_SLOT, ShadowKind, type ShadowPool } from './pool';
import type { WriteProtect } from './write-protect';
import { Pte } from './guest-walk';

/** Bits of every shadow PDE: present, writable, user, accessed (§4.3 Table 4-5, §4.4 Table 4-10). */
const PDE_BITS = Pte.P | Pte.RW | Pte.US | Pte.A;

export class ShadowBuilder {
  constructor(private readonly pool: ShadowPool, private readonly wp: WriteProtect) {}

  /** The shadow table under the PDE at dword offset `off` of directory `d`, or NO_SLOT. */
  childOf(d: number, off: number): number {
    const e = this.pool.read(this.pool.entryId(d, off));
    return (e & Pte.P) === 0 ? NO_SLOT : ((e & ~0xfff) - this.pool.base) / 4096;
  }

  /** Links table `t` under the PDE at offset `off` of directory `d`. */
  linkTable(d: number, off: number, t: number): void {
    const p = this.pool;
    p.write(p.entryId(d, off), p.addr(t) | PDE_BITS);
    p.parent[t] = d; p.parentIndex[t] = off;
  }

  /** Entry at offset `off` of table `t` maps `frame` with `bits` (P, R/W, U/S) and, for PAE
   *  (`wide`), XD `nx` in the high dword; it joins the reverse map (write protection). */
  setEntry(t: number, off: number, frame: number, bits: number, wide: boolean, nx: boolean): void {
    const id = this.pool.entryId(t, off);
    this.pool.write(id, frame | bits | Pte.A | ((bits & Pte.RW) !== 0 ? Pte.D : 0));
    if (wide) this.pool.write(id + 1, nx ? 0x80000000 | 0 : 0);
    this.wp.link(id, frame >>> 12);
  }

  clearEntry(t: number, off: number, wide: boolean): void {
    const id = this.pool.entryId(t, off);
    this.wp.unlink(id);
    this.pool.write(id, 0);
    if (wide) this.pool.write(id + 1, 0);
  }

  /** Frees table `t`: its entries leave the reverse map, its guest page table loses a holder,
   *  its parent's PDE becomes not present. Returns 1 (pages freed). */
  dropTable(t: number): number {
    const p = this.pool;
    if (p.kind[t] !== ShadowKind.Table) throw new Error(`shadow builder: slot ${t} is not a table`);
    for (let i = 0; i < ENTRIES; i++) {
      const id = p.entryId(t, i);
      if (p.read(id) !== 0) { this.wp.unlink(id); p.write(id, 0); }
    }
    if (p.gfn[t] >= 0) this.wp.unhold(p.gfn[t]);
    const d = p.parent[t];
    if (d !== NO_SLOT) {
      const id = p.entryId(d, p.parentIndex[t]);
      p.write(id, 0); p.srcPde[id] = 0;
      if (p.kind[d] === ShadowKind.Dir) p.srcPde[id + 1] = 0;
    }
    p.release(t);
    return 1;
  }

  /** Drops every table under directory `d`. Returns the pages freed. */
  clearDir(d: number): number {
    let n = 0;
    for (let off = 0; off < ENTRIES; off++) {
      const t = this.childOf(d, off);
      if (t !== NO_SLOT) n += this.dropTable(t);
    }
    return n;
  }

  /** Drops every table under root `r` (the root and its directories stay). Returns the pages freed. */
  clearRoot(r: number): number {
    const p = this.pool;
    if (p.dirs[r * 4] === NO_SLOT) return this.clearDir(r);
    let n = 0;
    for (let k = 0; k < 4; k++) n += this.clearDir(p.dirs[r * 4 + k]);
    return n;
  }

  /** Frees root `r`, its directories and tables. Returns the pages freed. */
  dropRoot(r: number): number {
    const p = this.pool;
    if (p.kind[r] !== ShadowKind.Root) throw new Error(`shadow builder: slot ${r} is not a root`);
    let n = this.clearRoot(r);
    for (let k = 0; k < 4; k++) {
      const d = p.dirs[r * 4 + k];
      if (d !== NO_SLOT) { p.release(d); p.dirs[r * 4 + k] = NO_SLOT; n++; }
    }
    p.release(r);
    return n + 1;
  }
}
