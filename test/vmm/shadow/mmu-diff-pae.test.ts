// Differential for PAE guests (SDM Vol. 3A §4.4): the ShadowMmu's PAE shadow (a shadow PDPT with
// four directories, XD in the shadow entries) against the CPU's own PAE paging, as
// mmu-diff.test.ts does for 32-bit paging: random PDPTEs, PDEs (2 MB pages), PTEs with XD and
// now and then reserved bits, reads, writes and fetches under CR0.WP 0/1, CPL 0/3 and
// IA32_EFER.NXE 0/1; table edits by guest stores through the shadow (PTEs: no INVLPG needed;
// PDEs and PDPTEs: a CR3 reload follows). After every access: the same outcome and the same
// accessed/dirty bits.
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../../src/core/cpu/fault';
import { Cr0, Cr4, Efer } from '../../../src/core/cpu/regs';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { PfErr, Pte, ShadowMmu } from '../../../src/core/vmm/shadow/index';
import { VmxMachine } from '../../vmx/support';

const RAM = 8 << 20, PDPT = 0x2fffe0, PDS = 0x300000, PTS = 0x304000, NPT = 8, LO = PDPT, HI = PTS + NPT * 4096;
const BASE = 0x40000000; // quarter 1: PDEs 0-7 of the second directory

function run(pool: number, nxe: boolean, seed0: number): ShadowMmu {
  let seed = seed0;
  const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
  const m = new VmxMachine('merom', { vmxe: false });
  const c = m.c, memC = m.mem;
  const memS = new PhysicalMemory(16 << 20);
  const mmu = new ShadowMmu(memS, { base: RAM, pages: pool }, RAM);
  const flags = (): number => (rnd(10) < 8 ? 1 : 0) | (rnd(4) === 0 ? 0 : 2) | (rnd(4) === 0 ? 0 : 4) | (rnd(2) << 5) | (rnd(2) << 6);
  const hi = (): number => rnd(40) === 0 ? 1 << 4 : rnd(3) === 0 ? 0x80000000 | 0 : 0;
  const frame = (): number => rnd(16) === 0 ? PTS + rnd(NPT) * 4096 : 0x500000 + rnd(64) * 4096;
  const both = (a: number, v: number): void => { memC.write32(a, v); memS.write32(a, v); };
  const pde = (a: number, i: number): void => {
    if (rnd(4) === 0) { both(a, (rnd(4) << 21) | 0x80 | flags()); both(a + 4, hi()); } else { both(a, (PTS + i * 4096) | flags()); both(a + 4, hi()); }
  };
  // Quarter 0 stays put (it maps the tables); the others may go, point to the empty directory
  // of quarter 3, or get a reserved bit.
  const pdpte = (k: number): void => {
    const dir = k === 1 && rnd(3) === 0 ? PDS + 3 * 4096 : PDS + k * 4096;
    both(PDPT + k * 8, dir | (k === 0 || rnd(4) !== 0 ? 1 : 0) | (rnd(30) === 0 ? 2 : 0)); both(PDPT + k * 8 + 4, 0);
  };
  // Linear 0-4 MB: two supervisor 2 MB pages over the tables.
  both(PDS, 0 | Pte.P | Pte.RW | Pte.PS); both(PDS + 8, 0x200000 | Pte.P | Pte.RW | Pte.PS);
  both(PDPT, PDS | 1); both(PDPT + 4, 0);
  for (let k = 1; k < 4; k++) pdpte(k);
  both(PDPT + 8, (PDS + 4096) | 1);
  for (let i = 0; i < NPT; i++) {
    pde(PDS + 4096 + i * 8, i);
    for (let j = 0; j < 512; j++) { both(PTS + i * 4096 + j * 8, frame() | flags()); both(PTS + i * 4096 + j * 8 + 4, hi()); }
  }
  const cr4 = Cr4.PAE, efer = nxe ? Efer.NXE : 0;
  let wp = true, root = mmu.activate((Cr0.PE | Cr0.PG | Cr0.WP) >>> 0, PDPT, cr4, efer);
  expect(mmu.shadowPae).toBe(true);
  let fixed = 0, injected = 0;
  const access = (lin: number, write: boolean, fetch: boolean, user: boolean, what: string): number => {
    c.cr3 = PDPT; c.cr4 = cr4; c.efer = efer; c.cr0 = (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET | (wp ? Cr0.WP : 0)) >>> 0;
    c.tlb.setCpl(user ? 3 : 0); c.tlb.flushAll();
    let phys = -1, err = -1;
    try { phys = c.tlb.translate(lin, write, fetch) >>> 0; } catch (e) { if (e !== FAULT) throw e; err = FAULT.errorCode; }
    let got = -1, gotErr = -1;
    for (let tries = 0; ; tries++) {
      expect(tries, `${what}: the shadow does not converge`).toBeLessThan(4);
      const dir = memS.read32(root + (lin >>> 30) * 8) & ~0xfff;
      const pd = memS.read32(dir + ((lin >>> 21) & 511) * 8);
      const ea = (pd & ~0xfff) + ((lin >>> 12) & 511) * 8;
      const e = (pd & Pte.P) === 0 ? 0 : memS.read32(ea), eh = (pd & Pte.P) === 0 ? 0 : memS.read32(ea + 4);
      const ok = (e & Pte.P) !== 0 && (!user || (e & Pte.US) !== 0) && (!write || (e & Pte.RW) !== 0) && !(fetch && nxe && eh < 0);
      if (ok) { got = ((e & ~0xfff) | (lin & 0xfff)) >>> 0; break; }
      const r = mmu.pageFault(lin, ((e & Pte.P) !== 0 ? PfErr.P : 0) | (write ? PfErr.W : 0) | (user ? PfErr.U : 0) | (fetch && nxe ? PfErr.I : 0));
      if (r.kind === 'guest') { gotErr = r.errorCode; injected++; break; }
      expect(r.kind, what).toBe('fixed');
      fixed++;
    }
    if (err === -1) expect(got, what).toBe(phys); else expect(gotErr, what).toBe(err);
    expect(Buffer.from(memS.u8.subarray(LO, HI)).equals(Buffer.from(memC.u8.subarray(LO, HI))), `${what}: A/D bits`).toBe(true);
    return err === -1 ? got : -1;
  };
  for (let a = 0; a < 6000; a++) {
    const op = rnd(14), what = `step ${a}`;
    if (op === 0) { // a PTE store (low dword, then high dword)
      const i = rnd(NPT), j = rnd(512), at = PTS + i * 4096 + j * 8;
      expect(access(at, true, false, false, `${what}: PTE store`), what).toBe(at);
      both(at, frame() | flags()); both(at + 4, hi());
      continue;
    }
    if (op === 1 || op === 2) { // a PDE (or PDPTE) store, then a CR3 reload (sometimes CR0.WP changes)
      if (op === 1) {
        const i = rnd(NPT), at = PDS + 4096 + i * 8;
        expect(access(at, true, false, false, `${what}: PDE store`), what).toBe(at);
        pde(at, i);
      } else {
        const k = 1 + rnd(3);
        expect(access(PDPT + k * 8, true, false, false, `${what}: PDPTE store`), what).toBe(PDPT + k * 8);
        pdpte(k);
      }
      if (rnd(4) === 0) wp = !wp;
      root = mmu.activate((Cr0.PE | Cr0.PG | (wp ? Cr0.WP : 0)) >>> 0, PDPT, cr4, efer);
      continue;
    }
    const lin = (BASE + (rnd(NPT) << 21) + (rnd(64) << 12) + rnd(4096)) >>> 0;
    const kind = rnd(4), write = kind === 0, fetch = kind === 1, user = rnd(2) === 1;
    const p = access(lin, write, fetch, user, `${what}: lin 0x${lin.toString(16)} write ${write} fetch ${fetch} user ${user} wp ${wp}`);
    if (p !== -1 && write && p >= PTS && p < PTS + NPT * 4096) both(p & ~3, rnd(2) === 0 ? frame() | flags() : hi());
  }
  expect(fixed).toBeGreaterThan(500);
  expect(injected).toBeGreaterThan(500);
  expect(mmu.stats.peakShadowPages).toBeLessThanOrEqual(pool);
  return mmu;
}

describe('ShadowMmu (PAE) agrees with the CPU paging unit', () => {
  it('NXE on, pool of 64 pages', () => {
    const mmu = run(64, true, 0x13579bd);
    expect(mmu.stats.writeProtectFaults).toBeGreaterThan(20);
  });
  it('NXE off', () => { run(64, false, 0x2468013); });
  it('pool of 7 pages (one PAE root of 5 pages and 2 tables): eviction', () => {
    const mmu = run(7, true, 0x5555555);
    expect(mmu.stats.evictions).toBeGreaterThan(100);
  });
});
