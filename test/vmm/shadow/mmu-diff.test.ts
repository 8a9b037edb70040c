// Differential: what the processor does through the shadow tables (an access is allowed by the
// shadow entry, or faults to the ShadowMmu, which fixes it or hands the guest its #PF) against
// the CPU's own paging on the guest's tables (TLB flushed before each access, so the CPU always
// walks). Random tables, random accesses under CR0.WP 0/1 and CPL 0/3, and random table edits.
// The guest's tables are mapped in its own linear space (a 4 MB page at linear 0) and edited by
// guest stores that go through the shadow like any other access: a page-table edit needs no
// INVLPG to be seen at once (write protection), a page-directory edit is followed by a CR3
// reload (SDM Vol. 3A §4.10.4) or, with `invlpgEdits`, PTE edits are made behind the shadow's
// back and followed by INVLPG. After every access: the same outcome (physical address, or the
// #PF error code) and the same accessed/dirty bits in the guest's tables.
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../../src/core/cpu/fault';
import { Cr0, Cr4 } from '../../../src/core/cpu/regs';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { PfErr, Pte, ShadowMmu } from '../../../src/core/vmm/shadow/index';
import { VmxMachine } from '../../vmx/support';

const RAM = 8 << 20, PD = 0x300000, PTS = 0x301000, NPT = 8, FIRST_PDE = 0x100, REGION = PTS + NPT * 4096 - PD;

function run(pool: number, invlpgEdits: boolean, seed0: number): ShadowMmu {
  let seed = seed0;
  const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
  const m = new VmxMachine('merom', { vmxe: false });
  const c = m.c, memC = m.mem;
  const memS = new PhysicalMemory(16 << 20);
  const mmu = new ShadowMmu(memS, { base: RAM, pages: pool }, RAM);
  const flags = (): number => (rnd(10) < 8 ? 1 : 0) | (rnd(4) === 0 ? 0 : 2) | (rnd(4) === 0 ? 0 : 4) | (rnd(2) << 5) | (rnd(2) << 6);
  // Frames: data pages at 5 MB, and now and then one of the guest's own page tables.
  const frame = (): number => rnd(16) === 0 ? PTS + rnd(NPT) * 4096 : 0x500000 + rnd(64) * 4096;
  const pdeValue = (i: number): number => rnd(4) === 0 ? (rnd(2) << 22) | 0x80 | flags() : (PTS + i * 4096) | flags();
  const pteValue = (): number => frame() | flags();
  const both = (a: number, v: number): void => { memC.write32(a, v); memS.write32(a, v); };
  both(PD, 0 | Pte.P | Pte.RW | Pte.PS); // linear 0-4 MB: the tables themselves, supervisor
  for (let i = 0; i < NPT; i++) {
    both(PD + (FIRST_PDE + i) * 4, pdeValue(i));
    for (let j = 0; j < 1024; j++) both(PTS + i * 4096 + j * 4, pteValue());
  }
  const cr4 = Cr4.PSE;
  let wp = true, root = mmu.activate((Cr0.PE | Cr0.PG | Cr0.WP) >>> 0, PD, cr4);
  let fixed = 0, injected = 0;
  /** One access on both sides; returns the physical address or -1 (a #PF). */
  const access = (lin: number, write: boolean, user: boolean, what: string): number => {
    c.cr3 = PD; c.cr4 = cr4; c.cr0 = (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET | (wp ? Cr0.WP : 0)) >>> 0;
    c.tlb.setCpl(user ? 3 : 0); c.tlb.flushAll();
    let phys = -1, err = -1;
    try { phys = c.tlb.translate(lin, write) >>> 0; } catch (e) { if (e !== FAULT) throw e; err = FAULT.errorCode; }
    let got = -1, gotErr = -1;
    for (let tries = 0; ; tries++) {
      expect(tries, `${what}: the shadow does not converge`).toBeLessThan(4);
      const pde = memS.read32(root + (lin >>> 22) * 4);
      const e = (pde & Pte.P) === 0 ? 0 : memS.read32((pde & ~0xfff) + ((lin >>> 12) & 0x3ff) * 4);
      const ok = (e & Pte.P) !== 0 && (!user || (e & Pte.US) !== 0) && (!write || (e & Pte.RW) !== 0);
      if (ok) { got = ((e & ~0xfff) | (lin & 0xfff)) >>> 0; break; }
      const r = mmu.pageFault(lin, ((e & Pte.P) !== 0 ? PfErr.P : 0) | (write ? PfErr.W : 0) | (user ? PfErr.U : 0));
      if (r.kind === 'guest') { gotErr = r.errorCode; injected++; break; }
      expect(r.kind, what).toBe('fixed');
      fixed++;
    }
    if (err === -1) expect(got, what).toBe(phys); else expect(gotErr, what).toBe(err);
    expect(Buffer.from(memS.u8.subarray(PD, PD + REGION)).equals(Buffer.from(memC.u8.subarray(PD, PD + REGION))), `${what}: A/D bits`).toBe(true);
    return err === -1 ? got : -1;
  };
  for (let a = 0; a < 6000; a++) {
    const op = rnd(12), what = `step ${a}`;
    if (op === 0) { // a PTE edit
      const i = rnd(NPT), j = rnd(1024), v = pteValue(), at = PTS + i * 4096 + j * 4;
      if (invlpgEdits) {
        both(at, v);
        mmu.invlpg(((FIRST_PDE + i) << 22 | j << 12) >>> 0);
      } else {
        const p = access(at, true, false, `${what}: PTE store`);
        expect(p, what).toBe(at);
        both(at, v);
      }
      continue;
    }
    if (op === 1) { // a PDE edit by a guest store, then a CR3 reload (sometimes a CR0.WP change)
      const i = rnd(NPT), at = PD + (FIRST_PDE + i) * 4;
      expect(access(at, true, false, `${what}: PDE store`), what).toBe(at);
      both(at, pdeValue(i));
      if (rnd(4) === 0) wp = !wp;
      root = mmu.activate((Cr0.PE | Cr0.PG | (wp ? Cr0.WP : 0)) >>> 0, PD, cr4);
      continue;
    }
    const lin = ((FIRST_PDE + rnd(NPT)) << 22 | (rnd(64) << 12) | rnd(4096)) >>> 0;
    const write = rnd(3) === 0, user = rnd(2) === 1;
    const p = access(lin, write, user, `${what}: lin 0x${lin.toString(16)} write ${write} user ${user} wp ${wp}`);
    // A store through a mapping of a page table edits the guest's tables (as data).
    if (p !== -1 && write && p >= PTS && p < PTS + NPT * 4096) both(p & ~3, pteValue());
  }
  expect(fixed).toBeGreaterThan(500);
  expect(injected).toBeGreaterThan(500);
  expect(mmu.stats.peakShadowPages).toBeLessThanOrEqual(pool);
  return mmu;
}

describe('ShadowMmu agrees with the CPU paging unit', () => {
  it('guest stores into its tables, no INVLPG for page-table edits (pool of 64 pages)', () => {
    const mmu = run(64, false, 0x1234567);
    expect(mmu.stats.writeProtectFaults).toBeGreaterThan(200);
  });
  it('the same with a pool of 3 pages (eviction)', () => {
    const mmu = run(3, false, 0x7654321);
    expect(mmu.stats.evictions).toBeGreaterThan(100);
  });
  it('page-table edits behind the shadow, each followed by INVLPG', () => {
    run(64, true, 0x2468ace);
  });
});
