// Write-protection of guest page-table pages. While a shadow page table is built from guest
// page table T, every shadow entry that maps T is read-only, so that a guest write to T faults
// to the VMM, which drops the shadow built from T and lets the write through (KVM
// Documentation/virt/kvm/x86/mmu.rst, "Synchronized and unsynchronized pages": write-protect
// the guest page tables, or let them go unsync; here a written table goes away instead of
// being kept unsync, so no instruction is emulated).
//
// `holders[gfn]`: how many shadow pages are built from guest page `gfn`; the page is protected
// while it is > 0. The reverse map (KVM's rmap) links every present shadow entry that maps a
// RAM page to that page, so protecting a page finds its writable mappings without a scan.
// Entry ids are those of ShadowPool.entryId.
import { ENTRIES, type ShadowPool } from './pool';

const NONE = -1;
/** Shadow entry R/W bit (SDM Vol. 3A §4.3, Table 4-6). */
const RW = 2;

export class WriteProtect {
  private readonly holders: Uint16Array;
  private readonly head: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Guest page each linked entry maps (NONE: not linked). */
  private readonly mapped: Int32Array;

  constructor(private readonly pool: ShadowPool, ramPages: number) {
    // A page is held at most once per shadow table: a pool below 64 K pages fits the counters.
    if (pool.pages > 0xffff) throw new Error(`shadow write-protect: a pool of ${pool.pages} pages is more than 65535`);
    this.holders = new Uint16Array(ramPages);
    this.head = new Int32Array(ramPages).fill(NONE);
    const n = pool.pages * ENTRIES;
    this.next = new Int32Array(n).fill(NONE);
    this.prev = new Int32Array(n).fill(NONE);
    this.mapped = new Int32Array(n).fill(NONE);
  }

  isProtected(gfn: number): boolean { return this.holders[gfn] !== 0; }

  /** One more shadow page is built from `gfn`: on the first, every mapping of it becomes
   *  read-only. */
  hold(gfn: number): void {
    if (this.holders[gfn]++ !== 0) return;
    for (let id = this.head[gfn]; id !== NONE; id = this.next[id]) {
      const e = this.pool.read(id);
      if ((e & RW) !== 0) this.pool.write(id, e & ~RW);
    }
  }

  /** A shadow page built from `gfn` went away. */
  unhold(gfn: number): void {
    if (this.holders[gfn] === 0) throw new Error(`shadow write-protect: page 0x${(gfn * 4096).toString(16)} released more often than held`);
    this.holders[gfn]--;
  }

  /** Shadow entry `id` now maps guest page `gfn` (a RAM page). */
  link(id: number, gfn: number): void {
    if (this.mapped[id] !== NONE) this.unlink(id);
    this.mapped[id] = gfn;
    const h = this.head[gfn];
    this.next[id] = h; this.prev[id] = NONE;
    if (h !== NONE) this.prev[h] = id;
    this.head[gfn] = id;
  }

  /** Shadow entry `id` no longer maps anything (no-op when it was not linked). */
  unlink(id: number): void {
    const gfn = this.mapped[id];
    if (gfn === NONE) return;
    const p = this.prev[id], n = this.next[id];
    if (p !== NONE) this.next[p] = n; else this.head[gfn] = n;
    if (n !== NONE) this.prev[n] = p;
    this.mapped[id] = NONE; this.next[id] = NONE; this.prev[id] = NONE;
  }

  /** Mappings of `gfn` in the reverse map (tests, statistics). */
  mappings(gfn: number): number {
    let k = 0;
    for (let id = this.head[gfn]; id !== NONE; id = this.next[id]) k++;
    return k;
  }
}
