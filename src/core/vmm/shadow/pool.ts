// The bounded pool of shadow pages: 4 KB pages of host memory [base, base + pages * 4 KB) that
// the VMM reserves above guest RAM (as layout.ts does for the EPT tables), with what each page
// is (a root = shadow page directory, or a shadow page table) and where its contents come from.
// KVM keeps the same facts in `struct kvm_mmu_page` (Documentation/virt/kvm/x86/mmu.rst:
// role, gfn, parent_ptes); here they are typed arrays indexed by slot, so the fault path
// allocates nothing.
import type { PhysicalMemory } from '../../platform/memory';

/** Root: the shadow page directory (32-bit paging) or the shadow PDPT (PAE, with its four
 *  directories, kind Dir); Table: a shadow page table. */
export enum ShadowKind { Free = 0, Root = 1, Table = 2, Dir = 3 }

/** Dwords per shadow page: 1024 four-byte entries (32-bit paging, SDM Vol. 3A §4.3) or 512
 *  eight-byte entries (PAE, §4.4). Entries are addressed by dword offset (a PAE entry by its low
 *  dword), so the reverse map and write protection work the same for both. */
export const ENTRIES = 1024;
export const NO_SLOT = -1;

export class ShadowPool {
  readonly kind: Uint8Array;
  /** Guest page frame number the contents were built from: the guest page directory of a root
   *  (-1 for the identity root of a guest without paging), the guest page table of a table
   *  (-1 for a table that splits a guest 4 MB page: it is built from the PDE, not a page). */
  readonly gfn: Int32Array;
  /** Table: the directory slot whose PDE points to it, and that PDE's dword offset. */
  readonly parent: Int32Array;
  readonly parentIndex: Int32Array;
  /** Root: activation stamp, for least-recently-used eviction. */
  readonly stamp: Float64Array;
  /** Directory (a 32-bit root, or a PAE Dir): at the dword offset of each PDE, the guest PDE
   *  the child table was built from (as the fill left it; PAE: low then high dword), to see a
   *  changed guest PDE at a CR3 load, INVLPG or fault (paging-structure caches, SDM Vol. 3A
   *  §4.10.3 and §4.10.4). Indexed slot * ENTRIES + offset. */
  readonly srcPde: Int32Array;
  /** PAE root: its four directory slots (NO_SLOT for a 32-bit root), indexed slot * 4 + k. */
  readonly dirs: Int32Array;
  /** PAE root: the guest PDPTEs (low, high) its directories were built from, slot * 8 + 2k. */
  readonly pdpte: Int32Array;
  private readonly free: Int32Array;
  private freeTop = 0;
  inUse = 0;
  peak = 0;

  constructor(private readonly mem: PhysicalMemory, readonly base: number, readonly pages: number) {
    if (!Number.isInteger(pages) || pages < 2) throw new Error(`shadow pool: needs at least 2 pages, got ${pages}`);
    if ((base & 0xfff) !== 0 || base < 0) throw new Error(`shadow pool: base 0x${base.toString(16)} is not 4 KB aligned`);
    if (base + pages * 4096 > mem.size) {
      throw new Error(`shadow pool: [0x${base.toString(16)}, 0x${(base + pages * 4096).toString(16)}) is beyond host memory (0x${mem.size.toString(16)} bytes)`);
    }
    this.kind = new Uint8Array(pages);
    this.gfn = new Int32Array(pages);
    this.parent = new Int32Array(pages).fill(NO_SLOT);
    this.parentIndex = new Int32Array(pages);
    this.stamp = new Float64Array(pages);
    this.srcPde = new Int32Array(pages * ENTRIES);
    this.dirs = new Int32Array(pages * 4).fill(NO_SLOT);
    this.pdpte = new Int32Array(pages * 8);
    this.free = new Int32Array(pages);
    for (let i = pages - 1; i >= 0; i--) this.free[this.freeTop++] = i;
  }

  /** Host-physical address of slot `s`. */
  addr(s: number): number { return this.base + s * 4096; }
  /** Index into `mem.i32` of entry `i` of slot `s` (also the reverse map's entry id). */
  entryId(s: number, i: number): number { return s * ENTRIES + i; }
  read(id: number): number { return this.mem.i32[(this.base >>> 2) + id]; }
  write(id: number, v: number): void { this.mem.i32[(this.base >>> 2) + id] = v; }

  get available(): number { return this.freeTop; }

  /** A zeroed page (every entry not present), or NO_SLOT when the pool is full. */
  alloc(kind: ShadowKind.Root | ShadowKind.Table | ShadowKind.Dir, gfn: number): number {
    if (this.freeTop === 0) return NO_SLOT;
    const s = this.free[--this.freeTop];
    this.kind[s] = kind; this.gfn[s] = gfn; this.parent[s] = NO_SLOT; this.parentIndex[s] = 0; this.stamp[s] = 0;
    const w = (this.base >>> 2) + s * ENTRIES;
    this.mem.i32.fill(0, w, w + ENTRIES);
    if (kind !== ShadowKind.Table) this.srcPde.fill(0, s * ENTRIES, (s + 1) * ENTRIES);
    if (kind === ShadowKind.Root) { this.dirs.fill(NO_SLOT, s * 4, s * 4 + 4); this.pdpte.fill(0, s * 8, s * 8 + 8); }
    this.inUse++;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return s;
  }

  release(s: number): void {
    if (this.kind[s] === ShadowKind.Free) throw new Error(`shadow pool: slot ${s} freed twice`);
    this.kind[s] = ShadowKind.Free;
    this.free[this.freeTop++] = s;
    this.inUse--;
  }
}
