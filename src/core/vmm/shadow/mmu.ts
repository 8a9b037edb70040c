// ShadowMmu: shadow paging for a VMM without EPT (issue 6). The processor in VMX non-root
// operation walks the shadow tables the VMM points GuestCr3 at; the VMM fills them lazily from
// the guest's own tables on #PF exits (the "virtual TLB" of SDM Vol. 3C, chapter "Virtualization
// of System Resources", section "Memory Virtualization"; KVM's design:
// Documentation/virt/kvm/x86/mmu.rst).
//
// Consistency with the guest's tables:
//  - Page tables (last level): write-protected while shadowed (write-protect.ts). A guest write
//    to one faults; the shadow tables built from it are dropped and the write goes through.
//  - Page directories: not write-protected. A root is a cache of the guest PD with the same
//    lifetime rules as the processor's paging-structure caches (SDM Vol. 3A §4.10.3, §4.10.4):
//    it is compared with the guest PD at every CR3 load (activate), at INVLPG and on every #PF
//    that walks through it, and a table built from a changed PDE is dropped. A guest that
//    changes a present PDE must invalidate (§4.10.4.1), so nothing stale is ever used; a PDE
//    made present needs no invalidation and faults into the VMM (not-present in the shadow).
//    Linux writes its page directories through mappings that go through those directories, so
//    protecting them would fault on every write to them.
//  - A page table that maps itself and is written through that mapping cannot be protected
//    without emulating the write: it is shadowed "unsync" (not protected) and dropped at the
//    next INVLPG of its range or CR3 load (as the TLB may hold stale entries until then, §4.10.4).
//  - Accessed and dirty bits (§4.8): set in the guest's entries when the shadow entry is filled;
//    a page whose dirty bit is clear is mapped read-only until the first write.
//  - CR0.WP = 0 (supervisor writes to read-only pages allowed): the real CR0.WP must stay 1 (the
//    VMM owns it through the CR0 guest/host mask); a supervisor write to a guest read-only page
//    gets a shadow entry that is writable and supervisor-only, so a later user access faults and
//    gets the read-only user view back (mmu.rst, "cr0.wp=0").
// The shadow has the guest's paging mode (32-bit or PAE with XD: the VMM loads the real CR4.PAE
// that `shadowPae` says and IA32_EFER.NXE = the guest's) with 4 KB pages only (CR4.PSE is not
// used); global pages are never marked global (the real CR4.PGE may follow the guest's). A PAE
// root is a shadow PDPT whose four PDPTEs always point to four shadow directories (VM entry
// loads them from the shadow PDPT, SDM Vol. 3C §27.3.2.4); the guest's PDPTEs, which the
// processor loads at MOV CR3 (§4.4.1), are compared like PDEs.
import { PageKind, type PhysicalMemory } from '../../platform/memory';
import { Cr0, Cr4, Efer } from '../../cpu/regs';
import { ShadowBuilder } from './builder';
import { GuestWalker, PfErr, Pte } from './guest-walk';
import { NO_SLOT, ShadowKind, ShadowPool } from './pool';
import { emptyShadowStats, type ShadowStats } from './stats';
import { WriteProtect } from './write-protect';

export interface ShadowMmuOptions {
  /** Guest-physical pages that must stay unmapped so that accesses exit to the VMM (MMIO).
   *  Default: the memory's MMIO and unassigned pages. */
  isMmio?: (gpa: number) => boolean;
  /** Host pages of the VMM that the identity shadow (guest paging off) maps at their own
   *  addresses for the processor's implicit supervisor reads only (read-only, U/S = 0): the V86
   *  task's TSS (v86.ts), which a real-mode guest run as a V86 task (CPL 3) cannot reach. */
  vmmPages?: { base: number; pages: number };
}

/** What pageFault found. `guest`: the guest's own #PF, to inject with CR2 = the linear address
 *  (the object is reused: read it before the next call). `mmio`: an access to MMIO, unassigned
 *  memory, or a write to ROM, at guest-physical `gpa`: the VMM's device path handles it. */
export type ShadowFault =
  | { readonly kind: 'fixed' }
  | { readonly kind: 'guest'; readonly errorCode: number }
  | { readonly kind: 'mmio'; readonly gpa: number; readonly write: boolean };

const FIXED: ShadowFault = Object.freeze({ kind: 'fixed' });

/** One vCPU's view of a shared ShadowMmu: its paging mode, guest CR3 and current root. vCPUs
 *  share the roots (one per guest CR3: Linux's kernel threads and a process's threads run on
 *  several CPUs with one CR3), the tables and the write protection of the guest's page tables,
 *  so that a guest write on one vCPU drops what any vCPU built from that table (KVM shares its
 *  shadow pages per VM the same way: Documentation/virt/kvm/x86/mmu.rst). */
export class ShadowContext {
  current = NO_SLOT;
  paging = false;
  pae = false;
  nxe = false;
  cr3 = 0;
  wp = true;
  pse = false;
  /** The MMU's flush count when `current` was set: a later flush took the root away. */
  epoch = 0;
}
/** Root key of the identity shadow used while guest paging is off. */
const IDENTITY = -1;

export class ShadowMmu {
  readonly stats: ShadowStats = emptyShadowStats();
  readonly pool: ShadowPool;
  readonly walker: GuestWalker;
  readonly protect: WriteProtect;
  private readonly builder: ShadowBuilder;
  private readonly isMmio: (gpa: number) => boolean;
  private readonly ramPages: number;
  private readonly vmmBase: number;
  private readonly vmmEnd: number;
  /** Cached roots: guest page-directory page number, PAE: CR3 >> 5 (or IDENTITY) -> slot. */
  private readonly roots = new Map<number, number>();
  /** Tables not write-protected (see above): dropped at the next INVLPG/CR3 load. */
  private readonly unsync: Uint8Array;
  /** The selected vCPU's paging mode, guest CR3 and current root (select; a lone context when
   *  the MMU is used without newContext, as the unit tests do). */
  private ctx = new ShadowContext();
  /** CR0.WP, CR4.PSE, CR4.PAE and EFER.NXE the cached shadow was built under (-1: none yet). */
  private role = -1;
  private clock = 0;
  /** Contexts of the vCPUs (newContext) and the flush count. */
  private readonly contexts: ShadowContext[] = [];
  private epoch = 0;
  private readonly guestFault = { kind: 'guest' as const, errorCode: 0 };
  private readonly mmioFault = { kind: 'mmio' as const, gpa: 0, write: false };
  /** The last 'mmio' fault (linear page, guest frame, shadow entry bits, XD), for mapMmioOnce. */
  private mmioLinear = -1;
  private mmioFrame = 0;
  private mmioBits = 0;
  private mmioNx = false;
  /** The table, offset and frame of the entry mapMmioOnce installed (NO_SLOT: none). */
  private onceTable = NO_SLOT;
  private onceOff = 0;
  private onceFrame = 0;

  constructor(private readonly mem: PhysicalMemory, pool: { base: number; pages: number }, private readonly guestRamBytes: number, opts: ShadowMmuOptions = {}) {
    if (guestRamBytes <= 0 || guestRamBytes % 4096 !== 0 || guestRamBytes > mem.size) {
      throw new Error(`ShadowMmu: guest RAM of ${guestRamBytes} bytes must be a multiple of 4 KB within host memory (${mem.size} bytes)`);
    }
    if (pool.base < guestRamBytes) throw new Error(`ShadowMmu: shadow pool at 0x${pool.base.toString(16)} overlaps guest RAM (0x${guestRamBytes.toString(16)} bytes)`);
    this.pool = new ShadowPool(mem, pool.base, pool.pages);
    this.ramPages = guestRamBytes >>> 12;
    this.protect = new WriteProtect(this.pool, this.ramPages);
    this.builder = new ShadowBuilder(this.pool, this.protect);
    this.walker = new GuestWalker(mem, guestRamBytes);
    this.unsync = new Uint8Array(pool.pages);
    this.isMmio = opts.isMmio ?? ((gpa) => mem.kind[gpa >>> 12] >= PageKind.Mmio);
    this.vmmBase = opts.vmmPages?.base ?? 0;
    this.vmmEnd = opts.vmmPages === undefined ? 0 : opts.vmmPages.base + opts.vmmPages.pages * 4096;
  }

  /** A context for one more vCPU; the first is the one the MMU started with (selected). */
  newContext(): ShadowContext {
    const ctx = this.contexts.length === 0 ? this.ctx : new ShadowContext();
    ctx.epoch = this.epoch;
    this.contexts.push(ctx);
    return ctx;
  }

  /** Makes `ctx` (from newContext) the vCPU the next calls are for. False when its root is
   *  gone (a flush since it activated, or never activated): the VMM must activate() again
   *  before it enters that vCPU, as its VMCS GuestCr3 no longer points to a root. */
  select(ctx: ShadowContext): boolean {
    this.ctx = ctx;
    if (ctx.epoch !== this.epoch) ctx.current = NO_SLOT;
    return ctx.current !== NO_SLOT;
  }

  /** Whether shadow page `s` is the current root of a vCPU other than the selected one (never
   *  evicted: that vCPU's VMCS points to it). */
  private rootOfOther(s: number): boolean {
    for (const ctx of this.contexts) if (ctx !== this.ctx && ctx.epoch === this.epoch && ctx.current === s) return true;
    return false;
  }

  /** Host-physical address of the current shadow root (NO_SLOT before activate). */
  get root(): number { return this.ctx.current === NO_SLOT ? NO_SLOT : this.pool.addr(this.ctx.current); }
  /** Whether the current shadow uses PAE paging: the real CR4.PAE the VMM must load. */
  get shadowPae(): boolean { return this.ctx.paging && this.ctx.pae; }

  /**
   * The guest loaded CR3, or wrote CR0 or CR4 (or IA32_EFER): returns the host-physical CR3 for
   * VMCS GuestCr3. Guest paging off: an identity shadow (without unrestricted guest, guest
   * CR0.PG must be 1: IA32_VMX_CR0_FIXED0, SDM Vol. 3C §24.8 and the VM-entry check of
   * §27.3.1.1). A root
   * cached for this guest CR3 is reused after it is compared with the guest's tables.
   */
  activate(guestCr0: number, guestCr3: number, guestCr4: number, guestEfer = 0): number {
    const paging = (guestCr0 & Cr0.PG) !== 0;
    const wp = (guestCr0 & Cr0.WP) !== 0, pse = (guestCr4 & Cr4.PSE) !== 0;
    const pae = (guestCr4 & Cr4.PAE) !== 0, nxe = pae && (guestEfer & Efer.NXE) !== 0;
    const role = (wp ? 1 : 0) | (pse ? 2 : 0) | (pae ? 4 : 0) | (nxe ? 8 : 0);
    if (paging && role !== this.role) {
      if (this.role !== -1) this.flush();
      this.role = role;
    }
    this.ctx.paging = paging; this.ctx.wp = wp; this.ctx.pse = pse; this.ctx.pae = pae; this.ctx.nxe = nxe;
    this.ctx.cr3 = guestCr3 >>> 0;
    const key = !paging ? IDENTITY : pae ? this.ctx.cr3 >>> 5 : this.ctx.cr3 >>> 12;
    this.ctx.current = NO_SLOT; // the root being left may be evicted for the new one
    let s = this.roots.get(key);
    if (s === undefined) {
      s = paging && pae ? this.newPaeRoot(key) : this.allocPage(ShadowKind.Root, key);
      this.roots.set(key, s);
      this.stats.rootMisses++;
    } else {
      this.stats.rootHits++;
      if (paging) this.resync(s);
    }
    this.pool.stamp[s] = ++this.clock;
    this.ctx.current = s;
    this.ctx.epoch = this.epoch;
    this.stats.rootsCached = this.roots.size;
    this.count();
    return this.pool.addr(s);
  }

  /**
   * A #PF exit at `linear` with the processor's error code (SDM Vol. 3C §28.2.1: exit
   * qualification = linear address; §28.2.2: interruption error code): the W/R, U/S and I/D bits give
   * the access (U/S, not CPL: implicit supervisor accesses from CPL 3 have U/S = 0, §4.7).
   */
  pageFault(linear: number, errorCode: number): ShadowFault {
    if (this.ctx.current === NO_SLOT) throw new Error('ShadowMmu.pageFault: no shadow root (activate first)');
    linear >>>= 0;
    const write = (errorCode & PfErr.W) !== 0, user = (errorCode & PfErr.U) !== 0, fetch = (errorCode & PfErr.I) !== 0;
    const w = this.walker;
    let frame: number;
    if (this.ctx.paging) {
      if (!this.guestWalk(linear, write, user, fetch, this.ctx.wp)) {
        this.stats.faultsInjected++;
        this.guestFault.errorCode = w.errorCode;
        return this.guestFault;
      }
      frame = w.frame;
    } else {
      frame = (linear & ~0xfff) >>> 0;
      if (frame >= this.vmmBase && frame < this.vmmEnd && !user && !write) {
        // Not RAM: no reverse-map link (write protection concerns guest page tables only).
        this.pool.write(this.pool.entryId(this.tableFor(linear, -1), this.pteOff(linear)), frame | Pte.P | Pte.A);
        this.stats.faultsFixed++;
        this.count();
        return FIXED;
      }
    }
    const gfn = frame >>> 12;
    const rom = frame < this.guestRamBytes && this.mem.kind[gfn] === PageKind.Rom;
    if (frame >= this.guestRamBytes || this.isMmio(frame) || (write && rom)) {
      let bits = Pte.P | Pte.RW | Pte.US;
      if (this.ctx.paging) {
        w.commit(write);
        bits = Pte.P | (w.us ? Pte.US : 0) | (w.rw || (write && !user && !this.ctx.wp) ? Pte.RW : 0);
      }
      this.mmioLinear = linear & ~0xfff; this.mmioFrame = frame; this.mmioBits = bits; this.mmioNx = this.ctx.paging && w.nx;
      this.stats.mmioFaults++;
      // gpa up to 2^36: PAE entries' bits 35:32.
      this.mmioFault.gpa = frame + (linear & 0xfff); this.mmioFault.write = write;
      return this.mmioFault;
    }
    // A write the guest may do to a page table we shadow: drop what was built from it.
    if (write && this.protect.isProtected(gfn)) {
      this.stats.writeProtectFaults++;
      this.unprotect(gfn);
    }
    const t = this.tableFor(linear, write ? gfn : -1);
    let bits = Pte.P, writable: boolean;
    if (this.ctx.paging) {
      w.commit(write);
      this.recordPde(linear);
      if (w.us) bits |= Pte.US;
      writable = w.rw && w.dirty;
      // CR0.WP = 0: the supervisor write the guest allows on a read-only page.
      if (write && !user && !w.rw && !this.ctx.wp) { writable = true; bits &= ~Pte.US; }
    } else {
      bits |= Pte.US;
      writable = true;
    }
    if (writable && !rom && !this.protect.isProtected(gfn)) bits |= Pte.RW;
    this.builder.setEntry(t, this.pteOff(linear), frame, bits, this.wide(), this.ctx.paging && w.nx);
    this.stats.faultsFixed++;
    this.count();
    return FIXED;
  }

  /**
   * After an 'mmio' result: maps that page (the guest-physical MMIO, unassigned or ROM page)
   * with the guest's rights so that the faulting instruction reaches the device model through
   * the CPU's own memory access when the VMM resumes the guest for one instruction (monitor trap
   * flag, as the EPT path of hosted.ts does); unmapMmioOnce() at the MTF exit takes it away.
   */
  mapMmioOnce(): void {
    if (this.mmioLinear === -1 || this.ctx.current === NO_SLOT) throw new Error('ShadowMmu.mapMmioOnce: no MMIO fault to map');
    this.unmapMmioOnce();
    const lin = this.mmioLinear;
    if (this.ctx.paging && !this.guestWalk(lin, false, false, false, false)) {
      throw new Error(`ShadowMmu.mapMmioOnce: the guest no longer maps 0x${lin.toString(16)}`);
    }
    const t = this.tableFor(lin, -1);
    if (this.ctx.paging) this.recordPde(lin);
    this.builder.setEntry(t, this.pteOff(lin), this.mmioFrame, this.mmioBits, this.wide(), this.mmioNx);
    this.onceTable = t; this.onceOff = this.pteOff(lin); this.onceFrame = this.mmioFrame;
    this.mmioLinear = -1;
    this.count();
  }

  /** Takes away the entry of mapMmioOnce (no-op when there is none, or it went already). */
  unmapMmioOnce(): void {
    const t = this.onceTable;
    if (t === NO_SLOT) return;
    this.onceTable = NO_SLOT;
    // The table may have been dropped (and its slot reused) meanwhile: clear only our entry.
    const e = this.pool.read(this.pool.entryId(t, this.onceOff));
    if (this.pool.kind[t] === ShadowKind.Table && (e & Pte.P) !== 0 && ((e & ~0xfff) >>> 0) === this.onceFrame) this.builder.clearEntry(t, this.onceOff, this.wide());
  }

  /** The guest's INVLPG of `linear` (SDM Vol. 3A §4.10.4.1): the shadow entry goes (the next
   *  access refills it from the guest's tables); a table built from a changed PDE (or PDPTE),
   *  or unsync, goes entirely. */
  invlpg(linear: number): void {
    if (this.ctx.current === NO_SLOT || !this.ctx.paging) return;
    linear >>>= 0;
    const idx = this.pdeIndex(linear);
    if (this.ctx.pae && !this.pdpteCurrent(this.ctx.current, idx >>> 9)) { this.count(); return; }
    const d = this.dirFor(this.ctx.current, idx), off = this.pdeOff(idx), t = this.builder.childOf(d, off);
    if (t === NO_SLOT) return;
    if (this.unsync[t] !== 0 || !this.pdeCurrent(d, off, idx)) this.builder.dropTable(t);
    else this.builder.clearEntry(t, this.pteOff(linear), this.wide());
    this.count();
  }

  /** Drops every shadow page (a change of the physical memory map: ROM/MMIO pages; or to give
   *  the memory back). The next activate() builds a new root. */
  flush(): void {
    for (const s of this.roots.values()) this.builder.dropRoot(s);
    this.roots.clear();
    this.ctx.current = NO_SLOT;
    this.epoch++; // every vCPU's root went: each activates again before its next entry
    this.role = -1;
    this.stats.rootsCached = 0;
    this.count();
  }

  // ---- geometry: 32-bit paging (1024 four-byte entries) or PAE (512 eight-byte entries)

  private wide(): boolean { return this.ctx.paging && this.ctx.pae; }
  /** Index of the PDE that maps `lin` over the whole root (PAE: 0-2047 across 4 directories). */
  private pdeIndex(lin: number): number { return this.wide() ? lin >>> 21 : lin >>> 22; }
  private dirFor(r: number, idx: number): number { return this.wide() ? this.pool.dirs[r * 4 + (idx >>> 9)] : r; }
  private pdeOff(idx: number): number { return this.wide() ? (idx & 511) << 1 : idx; }
  private pteOff(lin: number): number { return this.wide() ? ((lin >>> 12) & 0x1ff) << 1 : (lin >>> 12) & 0x3ff; }

  private guestWalk(lin: number, write: boolean, user: boolean, fetch: boolean, wp: boolean): boolean {
    return this.ctx.pae ? this.walker.walkPae(this.ctx.cr3, lin, write, user, fetch, wp, this.ctx.nxe) : this.walker.walk(this.ctx.cr3, lin, write, user, wp, this.ctx.pse);
  }

  /** PAE root: 4 directories first (eviction never takes a directory on its own), then the
   *  PDPT page whose PDPTEs point to them (present; bits 2:1 and 8:5 reserved, §4.4.1). */
  private newPaeRoot(key: number): number {
    const dirs = [0, 0, 0, 0];
    for (let k = 0; k < 4; k++) dirs[k] = this.allocPage(ShadowKind.Dir, -1);
    const r = this.allocPage(ShadowKind.Root, key);
    for (let k = 0; k < 4; k++) {
      this.pool.dirs[r * 4 + k] = dirs[k];
      this.pool.write(this.pool.entryId(r, k * 2), this.pool.addr(dirs[k]) | Pte.P);
    }
    return r;
  }

  /** PAE: whether the guest PDPTE `k` (read from memory, as the CPU model's walk does) is the
   *  one directory `k` of root `r` was built from; if not, the directory is emptied and the new
   *  PDPTE recorded. */
  private pdpteCurrent(r: number, k: number): boolean {
    const a = ((this.ctx.cr3 & ~0x1f) + k * 8) >>> 0;
    const lo = this.walker.read(a), hi = this.walker.read(a + 4), p = this.pool;
    if (lo === p.pdpte[r * 8 + k * 2] && hi === p.pdpte[r * 8 + k * 2 + 1]) return true;
    this.builder.clearDir(p.dirs[r * 4 + k]);
    p.pdpte[r * 8 + k * 2] = lo; p.pdpte[r * 8 + k * 2 + 1] = hi;
    return false;
  }

  /** Whether the guest PDE at index `idx` (read from memory) is the one the table at offset
   *  `off` of directory `d` was built from. */
  private pdeCurrent(d: number, off: number, idx: number): boolean {
    const p = this.pool, id = p.entryId(d, off);
    if (!this.wide()) return pdeKey(this.walker.read((this.ctx.cr3 & ~0xfff) + idx * 4)) === p.srcPde[id];
    const k = idx >>> 9, dir = p.pdpte[this.ctx.current * 8 + k * 2] & ~0xfff;
    const a = (dir + (idx & 511) * 8) >>> 0;
    return pdeKey(this.walker.read(a)) === p.srcPde[id] && this.walker.read(a + 4) === p.srcPde[id + 1];
  }

  /** Records the walker's PDE (after its accessed/dirty update) as the source of the table
   *  that maps `lin`. */
  private recordPde(lin: number): void {
    const idx = this.pdeIndex(lin), id = this.pool.entryId(this.dirFor(this.ctx.current, idx), this.pdeOff(idx));
    this.pool.srcPde[id] = pdeKey(this.walker.pde);
    if (this.wide()) this.pool.srcPde[id + 1] = this.walker.pdeHi;
  }

  /** The table under the PDE that maps `linear` in the current root, built if missing (or if
   *  the guest PDE, PAE: PDPTE, changed). `writing`: the guest page a write goes to (-1: none). */
  private tableFor(linear: number, writing: number): number {
    const r = this.ctx.current, w = this.walker, p = this.pool, idx = this.pdeIndex(linear);
    if (this.wide()) {
      const k = idx >>> 9;
      if (w.pdpte !== p.pdpte[r * 8 + k * 2] || w.pdpteHi !== p.pdpte[r * 8 + k * 2 + 1]) {
        this.builder.clearDir(p.dirs[r * 4 + k]);
        p.pdpte[r * 8 + k * 2] = w.pdpte; p.pdpte[r * 8 + k * 2 + 1] = w.pdpteHi;
      }
    }
    const d = this.dirFor(r, idx), off = this.pdeOff(idx), id = p.entryId(d, off);
    let t = this.builder.childOf(d, off);
    if (t !== NO_SLOT && this.ctx.paging && (pdeKey(w.pde) !== p.srcPde[id] || (this.wide() && w.pdeHi !== p.srcPde[id + 1]))) {
      this.builder.dropTable(t);
      t = NO_SLOT;
    }
    if (t !== NO_SLOT) return t;
    let from = this.ctx.paging && !w.large ? (w.pde >>> 12) : -1;
    if (from >= this.ramPages) from = -1;
    const self = from !== -1 && from === writing;
    t = this.allocPage(ShadowKind.Table, self ? -1 : from);
    this.unsync[t] = self ? 1 : 0;
    if (!self && from !== -1) this.protect.hold(from);
    // The directory of a PAE root is never evicted while its root is current.
    this.builder.linkTable(d, off, t);
    if (this.ctx.paging) this.recordPde(linear);
    return t;
  }

  /** Compares root `r` with the guest's tables at a CR3 load (or CR0/CR4 write): tables from
   *  changed PDEs (PAE: directories from changed PDPTEs) and unsync tables go. */
  private resync(r: number): void {
    const p = this.pool;
    this.ctx.current = r;
    const dirs = this.wide() ? 4 : 1, per = this.wide() ? 512 : 1024;
    for (let k = 0; k < dirs; k++) {
      if (this.wide() && !this.pdpteCurrent(r, k)) continue;
      const d = this.wide() ? p.dirs[r * 4 + k] : r;
      for (let j = 0; j < per; j++) {
        const off = this.wide() ? j << 1 : j, t = this.builder.childOf(d, off);
        if (t === NO_SLOT) continue;
        if (this.unsync[t] !== 0 || !this.pdeCurrent(d, off, k * 512 + j)) this.builder.dropTable(t);
      }
    }
  }

  /** The guest writes page `gfn`, a page table: every shadow table built from it goes. */
  private unprotect(gfn: number): void {
    const p = this.pool;
    for (let s = 0; s < p.pages; s++) if (p.kind[s] === ShadowKind.Table && p.gfn[s] === gfn) this.builder.dropTable(s);
  }

  /** A page from the pool; when it is full, the least recently activated root that is no
   *  vCPU's current one goes with its tables, else the current root's tables. */
  private allocPage(kind: ShadowKind.Root | ShadowKind.Table | ShadowKind.Dir, gfn: number): number {
    for (;;) {
      const s = this.pool.alloc(kind, gfn);
      if (s !== NO_SLOT) return s;
      let victim = NO_SLOT;
      for (let v = 0; v < this.pool.pages; v++) {
        if (this.pool.kind[v] === ShadowKind.Root && v !== this.ctx.current && !this.rootOfOther(v) && (victim === NO_SLOT || this.pool.stamp[v] < this.pool.stamp[victim])) victim = v;
      }
      let freed: number;
      if (victim !== NO_SLOT) {
        this.roots.delete(this.pool.gfn[victim]);
        freed = this.builder.dropRoot(victim);
        this.stats.rootsCached = this.roots.size;
      } else {
        freed = this.ctx.current === NO_SLOT ? 0 : this.builder.clearRoot(this.ctx.current);
      }
      if (freed === 0) throw new Error(`ShadowMmu: shadow pool of ${this.pool.pages} pages exhausted`);
      this.stats.evictions += freed;
    }
  }

  private count(): void {
    this.stats.shadowPages = this.pool.inUse;
    this.stats.peakShadowPages = this.pool.peak;
  }
}

/** A guest PDE (low dword) as compared with the one a table was built from (as it was after the
 *  fill set its accessed bit): the dirty bit of a PDE that points to a page table is ignored
 *  (§4.3 Table 4-5, §4.4 Table 4-10); a cleared accessed bit counts as a change, so the next
 *  access walks again and sets it, as the processor does after its paging-structure caches are
 *  invalidated (§4.10.3). */
function pdeKey(pde: number): number {
  return (pde & Pte.PS) !== 0 ? pde : pde & ~Pte.D;
}
