// ShadowMmu on crafted guest page tables in a PhysicalMemory (no CPU): the guest walk (SDM Vol.
// 3A §4.3, §4.6-4.8), the shadow entries it builds, write protection of guest page tables,
// the root cache, eviction, INVLPG, CR0.WP = 0 and guests without paging.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { Cr0, Cr4 } from '../../../src/core/cpu/regs';
import { GuestWalker, PfErr, Pte, ShadowMmu } from '../../../src/core/vmm/shadow/index';

const RAM = 4 << 20, POOL = RAM;
const PD_A = 0x1000, PD_B = 0x2000, PT1 = 0x3000, PT2 = 0x4000;
const PG = (Cr0.PE | Cr0.PG | Cr0.WP) >>> 0, PG_NOWP = (Cr0.PE | Cr0.PG) >>> 0, PSE = Cr4.PSE;
const P = Pte.P, RW = Pte.RW, US = Pte.US;

/** Guest tables: PD_A[1] -> PT1 (linear 0x400000-0x7fffff), PD_A[2] a 4 MB page at 0 (user,
 *  writable); PD_B[1] -> PT2. PT1[i] maps linear 0x400000 + i*4K to 0x100000 + i*4K, user RW. */
function machine(pages = 16, opts = {}): { mem: PhysicalMemory; mmu: ShadowMmu } {
  const mem = new PhysicalMemory(RAM + (1 << 20));
  mem.write32(PD_A + 4, PT1 | P | RW | US);
  mem.write32(PD_A + 8, 0 | P | RW | US | Pte.PS);
  mem.write32(PD_B + 4, PT2 | P | RW | US);
  for (let i = 0; i < 1024; i++) {
    mem.write32(PT1 + i * 4, (0x100000 + i * 4096) | P | RW | US);
    mem.write32(PT2 + i * 4, (0x200000 + i * 4096) | P | RW | US);
  }
  return { mem, mmu: new ShadowMmu(mem, { base: POOL, pages }, RAM, opts) };
}

/** The shadow entry for `lin` under `root` (0 when the shadow PDE is not present). */
function spte(mem: PhysicalMemory, root: number, lin: number): number {
  const pde = mem.read32(root + (lin >>> 22) * 4);
  if ((pde & P) === 0) return 0;
  return mem.read32((pde & ~0xfff) + ((lin >>> 12) & 0x3ff) * 4) >>> 0;
}

describe('GuestWalker (32-bit paging, SDM Vol. 3A §4.3)', () => {
  it('walks a 4 KB page, sets A on PDE and PTE, D only on a write', () => {
    const { mem } = machine();
    const w = new GuestWalker(mem, RAM);
    expect(w.walk(PD_A, 0x405123, false, true, true, true)).toBe(true);
    expect(w.frame).toBe(0x105000);
    expect(w.large).toBe(false);
    w.commit(false);
    expect(mem.read32(PD_A + 4) & Pte.A).toBe(Pte.A);
    expect(mem.read32(PT1 + 5 * 4) & (Pte.A | Pte.D)).toBe(Pte.A);
    expect(w.walk(PD_A, 0x405123, true, true, true, true)).toBe(true);
    w.commit(true);
    expect(mem.read32(PT1 + 5 * 4) & (Pte.A | Pte.D)).toBe(Pte.A | Pte.D);
  });

  it('reports not-present and protection faults with the error code of §4.7', () => {
    const { mem } = machine();
    const w = new GuestWalker(mem, RAM);
    expect(w.walk(PD_A, 0x00c00000, true, true, true, true)).toBe(false);
    expect(w.errorCode).toBe(PfErr.W | PfErr.U);
    mem.write32(PT1 + 7 * 4, 0x107000 | P | US); // read-only user
    expect(w.walk(PD_A, 0x407000, true, true, true, true)).toBe(false);
    expect(w.errorCode).toBe(PfErr.P | PfErr.W | PfErr.U);
    expect(w.walk(PD_A, 0x407000, true, false, true, true)).toBe(false); // supervisor, WP=1
    expect(w.errorCode).toBe(PfErr.P | PfErr.W);
    expect(w.walk(PD_A, 0x407000, true, false, false, true)).toBe(true); // supervisor, WP=0
    mem.write32(PT1 + 8 * 4, 0x108000 | P | RW); // supervisor page
    expect(w.walk(PD_A, 0x408000, false, true, true, true)).toBe(false);
    expect(w.errorCode).toBe(PfErr.P | PfErr.U);
    // U/S and R/W combine over both levels.
    mem.write32(PD_A + 4, PT1 | P | US);
    expect(w.walk(PD_A, 0x405000, true, true, true, true)).toBe(false);
    expect(w.errorCode).toBe(PfErr.P | PfErr.W | PfErr.U);
  });

  it('4 MB pages under CR4.PSE; without PSE the PDE points to a page table', () => {
    const { mem } = machine();
    const w = new GuestWalker(mem, RAM);
    expect(w.walk(PD_A, 0x00812345, true, false, true, true)).toBe(true);
    expect(w.large).toBe(true);
    expect(w.frame).toBe(0x12000);
    w.commit(true);
    expect(mem.read32(PD_A + 8) & (Pte.A | Pte.D)).toBe(Pte.A | Pte.D);
    mem.write32(0x12 * 4, 0x99000 | P); // page table at physical 0, entry 0x12
    expect(w.walk(PD_A, 0x00812345, false, false, true, false)).toBe(true);
    expect(w.large).toBe(false);
    expect(w.pteAddr).toBe(0x12 * 4);
    expect(w.frame).toBe(0x99000);
  });

  it('guest tables outside guest RAM read as all ones, never the VMM pages', () => {
    const { mem } = machine();
    mem.write32(RAM, 0x12345067); // a VMM page
    const w = new GuestWalker(mem, RAM);
    expect(w.read(RAM) >>> 0).toBe(0xffffffff);
  });
});

describe('ShadowMmu', () => {
  it('fills a shadow entry lazily with the guest rights; a clean page stays read-only until written', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(PG, PD_A, PSE);
    expect(root).toBe(POOL);
    expect(mmu.stats.shadowPages).toBe(1);
    expect(spte(mem, root, 0x405000)).toBe(0);
    expect(mmu.pageFault(0x405010, PfErr.U)).toEqual({ kind: 'fixed' });
    expect(mmu.stats.shadowPages).toBe(2);
    let e = spte(mem, root, 0x405000);
    expect(e & ~0xfff).toBe(0x105000);
    expect(e & (P | RW | US)).toBe(P | US); // D clear in the guest: read-only
    expect(mmu.pageFault(0x405010, PfErr.P | PfErr.W | PfErr.U).kind).toBe('fixed');
    e = spte(mem, root, 0x405000);
    expect(e & (P | RW | US)).toBe(P | RW | US);
    expect(mem.read32(PT1 + 5 * 4) & Pte.D).toBe(Pte.D);
    expect(mmu.stats.faultsFixed).toBe(2);
  });

  it("gives the guest its own #PF with the guest tables' error code", () => {
    const { mem, mmu } = machine();
    mmu.activate(PG, PD_A, PSE);
    mem.write32(PT1 + 3 * 4, 0);
    expect(mmu.pageFault(0x403000, PfErr.W)).toEqual({ kind: 'guest', errorCode: PfErr.W });
    mem.write32(PT1 + 4 * 4, 0x104000 | P | US);
    expect(mmu.pageFault(0x404000, PfErr.W | PfErr.U)).toEqual({ kind: 'guest', errorCode: PfErr.P | PfErr.W | PfErr.U });
    expect(mmu.stats.faultsInjected).toBe(2);
    expect(mem.read32(PT1 + 4 * 4) & Pte.A).toBe(0); // no A bit for a denied access
  });

  it('splits a 4 MB guest page into 4 KB shadow entries', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(PG, PD_A, PSE);
    expect(mmu.pageFault(0x00833000, PfErr.W).kind).toBe('fixed');
    expect(spte(mem, root, 0x00833000) & ~0xfff).toBe(0x33000);
    expect(spte(mem, root, 0x00833000) & (P | RW | US)).toBe(P | RW | US);
  });

  it('write-protects guest page tables and drops their shadow when the guest writes them', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(PG, PD_A, PSE);
    // Linear 0x803000 is PT1 itself, through the 4 MB page: writable, dirty.
    expect(mmu.pageFault(0x803000, PfErr.W).kind).toBe('fixed');
    expect(spte(mem, root, 0x803000) & RW).toBe(RW);
    // Shadowing through PT1 protects PT1: the existing writable mapping becomes read-only.
    expect(mmu.pageFault(0x405000, 0).kind).toBe('fixed');
    expect(mmu.protect.isProtected(PT1 >>> 12)).toBe(true);
    expect(spte(mem, root, 0x803000) & RW).toBe(0);
    // The guest writes PT1: its shadow table goes, the write goes through.
    expect(mmu.pageFault(0x803000, PfErr.P | PfErr.W).kind).toBe('fixed');
    expect(mmu.stats.writeProtectFaults).toBe(1);
    expect(mmu.protect.isProtected(PT1 >>> 12)).toBe(false);
    expect(spte(mem, root, 0x405000)).toBe(0);
    expect(spte(mem, root, 0x803000) & RW).toBe(RW);
    // The guest changed PT1 meanwhile: the next fill sees the new entry and protects again.
    mem.write32(PT1 + 5 * 4, 0x155000 | P | RW | US);
    expect(mmu.pageFault(0x405000, 0).kind).toBe('fixed');
    expect(spte(mem, root, 0x405000) & ~0xfff).toBe(0x155000);
    expect(spte(mem, root, 0x803000) & RW).toBe(0);
  });

  it('a page table that maps itself is shadowed unsync and dropped at INVLPG', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(PG, PD_A, PSE);
    mem.write32(PT1 + 0x3ff * 4, PT1 | P | RW | US | Pte.D); // 0x7ff000 -> PT1
    expect(mmu.pageFault(0x7ff000, PfErr.W).kind).toBe('fixed');
    expect(spte(mem, root, 0x7ff000) & RW).toBe(RW);
    expect(mmu.protect.isProtected(PT1 >>> 12)).toBe(false);
    mmu.invlpg(0x7ff000);
    expect(mem.read32(root + 4) & P).toBe(0);
  });

  it('caches a root per guest CR3 and compares it with the guest PD at each CR3 load', () => {
    const { mem, mmu } = machine();
    const a = mmu.activate(PG, PD_A, PSE);
    mmu.pageFault(0x405000, 0);
    const b = mmu.activate(PG, PD_B, PSE);
    expect(b).not.toBe(a);
    mmu.pageFault(0x405000, 0);
    expect(spte(mem, b, 0x405000) & ~0xfff).toBe(0x205000);
    expect(mmu.activate(PG, PD_A, PSE)).toBe(a);
    expect(spte(mem, a, 0x405000) & ~0xfff).toBe(0x105000); // kept
    expect(mmu.stats).toMatchObject({ rootsCached: 2, rootHits: 1, rootMisses: 2, shadowPages: 4 });
    // PD_B[1] changes while B is not current: its table goes at the next load of B.
    mem.write32(PD_B + 4, PT1 | P | RW | US);
    expect(mmu.activate(PG, PD_B, PSE)).toBe(b);
    expect(spte(mem, b, 0x405000)).toBe(0);
    expect(mmu.stats.shadowPages).toBe(3);
  });

  it('bounds shadow memory: the least recently used root goes first, then the current tables', () => {
    const { mem, mmu } = machine(3);
    mem.write32(PD_A + 12, PT2 | P | RW | US);
    mmu.activate(PG, PD_A, PSE); mmu.pageFault(0x405000, 0); mmu.pageFault(0x805000, 0); // 3 pages
    mmu.activate(PG, PD_B, PSE); // root B: root A and its 2 tables evicted
    expect(mmu.stats).toMatchObject({ evictions: 3, rootsCached: 1, shadowPages: 1 });
    mmu.pageFault(0x405000, 0);
    expect(mmu.pageFault(0xc05000, 0).kind).toBe('guest'); // PD_B[3] not present: nothing built
    mmu.activate(PG, PD_A, PSE);
    expect(mmu.stats).toMatchObject({ evictions: 3, rootsCached: 2, shadowPages: 3 });
    mmu.pageFault(0x405000, 0); // a table for A: root B (2 pages) goes
    expect(mmu.stats).toMatchObject({ evictions: 5, rootsCached: 1, shadowPages: 2 });
    mmu.pageFault(0x805000, 0);
    expect(mmu.stats.shadowPages).toBe(3);
    mmu.pageFault(0xc05000, 0); // no other root: the current root's 2 tables go
    expect(mmu.stats).toMatchObject({ evictions: 7, shadowPages: 2, peakShadowPages: 3 });
    expect(mmu.protect.isProtected(PT1 >>> 12)).toBe(false);
    expect(mmu.protect.isProtected(PT2 >>> 12)).toBe(true);
  });

  it('MMIO, unassigned memory and ROM writes go back to the VMM', () => {
    const { mem, mmu } = machine(16, { isMmio: (gpa: number) => gpa >= 0xa0000 && gpa < 0xc0000 });
    mem.setRom(0xf0000, 0x10000);
    const root = mmu.activate(PG, PD_A, PSE);
    expect(mmu.pageFault(0x008b8004, PfErr.W)).toEqual({ kind: 'mmio', gpa: 0xb8004, write: true });
    expect(spte(mem, root, 0x008b8000)).toBe(0);
    expect(mmu.pageFault(0x008f0000, 0).kind).toBe('fixed');
    expect(spte(mem, root, 0x008f0000) & RW).toBe(0);
    expect(mmu.pageFault(0x008f0000, PfErr.P | PfErr.W)).toEqual({ kind: 'mmio', gpa: 0xf0000, write: true });
    mem.write32(PT1, 0x800000 | P | RW | US); // beyond guest RAM: the VMM's pool
    expect(mmu.pageFault(0x400000, 0)).toEqual({ kind: 'mmio', gpa: 0x800000, write: false });
    expect(mmu.stats.mmioFaults).toBe(3);
  });

  it('CR0.WP = 0: a supervisor write to a read-only page gets a supervisor-only writable entry', () => {
    const { mem, mmu } = machine();
    mem.write32(PT1 + 6 * 4, 0x106000 | P | US);
    const root = mmu.activate(PG_NOWP, PD_A, PSE);
    expect(mmu.pageFault(0x406000, PfErr.W).kind).toBe('fixed');
    expect(spte(mem, root, 0x406000) & (P | RW | US)).toBe(P | RW);
    expect(mem.read32(PT1 + 6 * 4) & Pte.D).toBe(Pte.D);
    expect(mmu.pageFault(0x406000, PfErr.P | PfErr.U).kind).toBe('fixed');
    expect(spte(mem, root, 0x406000) & (P | RW | US)).toBe(P | US);
    expect(mmu.pageFault(0x406000, PfErr.P | PfErr.W | PfErr.U)).toEqual({ kind: 'guest', errorCode: PfErr.P | PfErr.W | PfErr.U });
    // Turning CR0.WP on changes the role: everything is rebuilt.
    mmu.activate(PG, PD_A, PSE);
    expect(mmu.stats.shadowPages).toBe(1);
  });

  it('INVLPG drops the entry; a changed PDE drops the table', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(PG, PD_A, PSE);
    mmu.pageFault(0x405000, 0); mmu.pageFault(0x406000, 0);
    mmu.invlpg(0x405abc);
    expect(spte(mem, root, 0x405000)).toBe(0);
    expect(spte(mem, root, 0x406000) & P).toBe(P);
    mem.write32(PD_A + 4, PT2 | P | RW | US);
    mmu.invlpg(0x406000);
    expect(mem.read32(root + 4) & P).toBe(0);
    expect(mmu.stats.shadowPages).toBe(1);
    // A fault through a changed PDE rebuilds the table too.
    mmu.pageFault(0x405000, 0);
    mem.write32(PD_A + 4, PT1 | P | RW | US);
    mmu.pageFault(0x406000, 0);
    expect(spte(mem, root, 0x405000)).toBe(0);
    expect(spte(mem, root, 0x406000) & ~0xfff).toBe(0x106000);
  });

  it('guest paging off: an identity shadow, user and writable, RAM only', () => {
    const { mem, mmu } = machine();
    const root = mmu.activate(Cr0.PE, 0, 0);
    expect(mmu.pageFault(0x123456, PfErr.W).kind).toBe('fixed');
    expect(spte(mem, root, 0x123000)).toBe((0x123000 | P | RW | US | Pte.A | Pte.D) >>> 0);
    expect(mmu.pageFault(0x00500000, 0)).toEqual({ kind: 'mmio', gpa: 0x500000, write: false });
    // Switching paging on keeps the identity root cached for the next time paging is off.
    mmu.activate(PG, PD_A, PSE);
    expect(mmu.activate(Cr0.PE, 0, 0)).toBe(root);
  });

  it('refuses a pool inside guest RAM or beyond host memory, and a pool too small for a PAE root', () => {
    const mem = new PhysicalMemory(RAM + (1 << 20));
    expect(() => new ShadowMmu(mem, { base: RAM - 4096, pages: 4 }, RAM)).toThrow(/overlaps guest RAM/);
    expect(() => new ShadowMmu(mem, { base: RAM, pages: 512 }, RAM)).toThrow(/beyond host memory/);
    const mmu = new ShadowMmu(mem, { base: RAM, pages: 4 }, RAM);
    expect(() => mmu.activate(PG, PD_A, Cr4.PAE)).toThrow(/pool of 4 pages exhausted/);
  });
});

describe('ShadowMmu MMIO for one instruction', () => {
  it("maps the MMIO page with the guest's rights for one access, then takes it away", () => {
    const { mem, mmu } = machine(16, { isMmio: (gpa: number) => gpa >= 0xa0000 && gpa < 0xc0000 });
    const root = mmu.activate(PG, PD_A, PSE);
    expect(() => mmu.mapMmioOnce()).toThrow(/no MMIO fault/);
    expect(mmu.pageFault(0x008b8004, PfErr.W)).toEqual({ kind: 'mmio', gpa: 0xb8004, write: true });
    mmu.mapMmioOnce();
    expect(spte(mem, root, 0x008b8000) & ~0xfff).toBe(0xb8000);
    expect(spte(mem, root, 0x008b8000) & (P | RW | US)).toBe(P | RW | US);
    mmu.unmapMmioOnce();
    expect(spte(mem, root, 0x008b8000)).toBe(0);
    mmu.unmapMmioOnce(); // nothing left: no-op
    // A read-only guest mapping of MMIO stays read-only.
    mem.write32(PT1, 0xa0000 | P | US);
    expect(mmu.pageFault(0x400000, PfErr.U)).toEqual({ kind: 'mmio', gpa: 0xa0000, write: false });
    mmu.mapMmioOnce();
    expect(spte(mem, root, 0x400000) & (P | RW | US)).toBe(P | US);
  });
});

describe('ShadowMmu with a PAE guest (SDM Vol. 3A §4.4)', () => {
  it('builds a PAE root (PDPT + 4 directories) and 8-byte shadow entries with XD', () => {
    const mem = new PhysicalMemory(RAM + (1 << 20));
    const PDPT = 0x5fe0, PDX = 0x6000, PTX = 0x7000;
    mem.write32(PDPT + 8, PDX | P); // quarter 1: linear 0x40000000-0x7fffffff
    mem.write32(PDX, PTX | P | RW | US);
    mem.write32(PTX + 3 * 8, 0x123000 | P | RW | US | Pte.D); mem.write32(PTX + 3 * 8 + 4, 0x80000000 | 0);
    const mmu = new ShadowMmu(mem, { base: POOL, pages: 16 }, RAM);
    const root = mmu.activate(PG, PDPT, Cr4.PAE, 0x800); // EFER.NXE
    expect(mmu.shadowPae).toBe(true);
    expect(mmu.stats.shadowPages).toBe(5);
    for (let k = 0; k < 4; k++) expect(mem.read32(root + k * 8) & 0xfff).toBe(P); // PDPTE: P only
    expect(mmu.pageFault(0x40003000, PfErr.W).kind).toBe('fixed');
    const dir = mem.read32(root + 8) & ~0xfff, pde = mem.read32(dir);
    const lo = mem.read32((pde & ~0xfff) + 3 * 8), hi = mem.read32((pde & ~0xfff) + 3 * 8 + 4);
    expect(lo & ~0xfff).toBe(0x123000);
    expect(lo & (P | RW | US)).toBe(P | RW | US);
    expect(hi >>> 0).toBe(0x80000000);
    expect(mmu.pageFault(0x40003000, PfErr.P | PfErr.I)).toEqual({ kind: 'guest', errorCode: PfErr.P | PfErr.I });
    // Quarter 2 has no PDPTE: the guest's #PF.
    expect(mmu.pageFault(0x80000000, 0)).toEqual({ kind: 'guest', errorCode: 0 });
    // Paging off with CR4.PAE set: a 32-bit identity shadow.
    mmu.activate(Cr0.PE, 0, Cr4.PAE);
    expect(mmu.shadowPae).toBe(false);
  });
});
