// Differential: the VMM's guest walk (GuestWalker) against the CPU's own 32-bit paging
// (src/core/cpu/paging.ts) on random page tables: for random accesses (read/write, CPL 0/3,
// CR0.WP, CR4.PSE) both must agree on allowed or not, the #PF error code, the physical address
// and the accessed/dirty bits they leave in the tables (SDM Vol. 3A §4.3, §4.6-4.8).
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../../src/core/cpu/fault';
import { Cr0, Cr4, Efer } from '../../../src/core/cpu/regs';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { GuestWalker } from '../../../src/core/vmm/shadow/index';
import { VmxMachine } from '../../vmx/support';

const PD = 0x300000, PTS = 0x301000, NPT = 8, FIRST_PDE = 0x100, REGION = PTS + NPT * 4096 - PD;

describe('GuestWalker agrees with the CPU paging unit', () => {
  it('20,000 random accesses on random tables', () => {
    let seed = 0x2545f491;
    const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
    const m = new VmxMachine('merom', { vmxe: false });
    const c = m.c, memC = m.mem;
    const memW = new PhysicalMemory(memC.size);
    const w = new GuestWalker(memW, 8 << 20);
    const flags = (): number => (rnd(10) < 8 ? 1 : 0) | (rnd(2) << 1) | (rnd(2) << 2) | (rnd(2) << 5) | (rnd(2) << 6);
    let faults = 0, allowed = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < NPT; i++) {
        const big = rnd(3) === 0;
        const pde = big ? (rnd(2) << 22) | 0x80 | flags() : (PTS + i * 4096) | flags();
        memC.write32(PD + (FIRST_PDE + i) * 4, pde);
        for (let j = 0; j < 1024; j++) memC.write32(PTS + i * 4096 + j * 4, (0x500000 + rnd(256) * 4096) | flags());
      }
      memW.u8.set(memC.u8.subarray(PD, PD + REGION), PD);
      const pse = rnd(2) === 1;
      c.cr3 = PD; c.cr4 = pse ? Cr4.PSE : 0;
      for (let a = 0; a < 500; a++) {
        const lin = ((FIRST_PDE + rnd(NPT)) << 22 | (rnd(1024) << 12) | rnd(4096)) >>> 0;
        const write = rnd(2) === 1, user = rnd(2) === 1, wp = rnd(2) === 1;
        c.cr0 = (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET | (wp ? Cr0.WP : 0)) >>> 0;
        c.tlb.setCpl(user ? 3 : 0);
        c.tlb.flushAll();
        let phys = -1, err = -1;
        try { phys = c.tlb.translate(lin, write); } catch (e) { if (e !== FAULT) throw e; err = FAULT.errorCode; }
        const ok = w.walk(PD, lin, write, user, wp, pse);
        const what = `round ${round} access ${a}: lin 0x${lin.toString(16)} write ${write} user ${user} wp ${wp} pse ${pse}`;
        if (ok) { w.commit(write); allowed++; } else faults++;
        expect(ok, what).toBe(err === -1);
        if (ok) expect((w.frame | (lin & 0xfff)) >>> 0, what).toBe(phys >>> 0);
        else expect(w.errorCode, what).toBe(err);
        expect(Buffer.from(memW.u8.subarray(PD, PD + REGION)).equals(Buffer.from(memC.u8.subarray(PD, PD + REGION))), `${what}: A/D bits`).toBe(true);
      }
    }
    expect(faults).toBeGreaterThan(2000);
    expect(allowed).toBeGreaterThan(2000);
  });
});

describe('GuestWalker PAE agrees with the CPU paging unit', () => {
  it('20,000 random accesses on random PAE tables (XD, reserved bits, 2 MB pages)', () => {
    let seed = 0x3c6ef372;
    const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
    const m = new VmxMachine('merom', { vmxe: false });
    const c = m.c, memC = m.mem;
    const memW = new PhysicalMemory(memC.size);
    const w = new GuestWalker(memW, 8 << 20);
    const PDPT = 0x2fffe0, PDS = 0x300000, NPD = 4, PTS2 = 0x304000, NPT2 = 8;
    const flags = (): number => (rnd(10) < 8 ? 1 : 0) | (rnd(2) << 1) | (rnd(2) << 2) | (rnd(2) << 5) | (rnd(2) << 6);
    // Bit 36 reserved (beyond MAXPHYADDR 36) / bit 35 an address bit (above 4 GB) / XD / none.
    const hi = (): number => { const r = rnd(16); return r < 2 ? 1 << 4 : r < 3 ? 1 << 3 : r < 10 ? 0x80000000 | 0 : 0; };
    const wr64 = (a: number, lo: number, h: number): void => { memC.write32(a, lo); memC.write32(a + 4, h); };
    let faults = 0, allowed = 0, rsvd = 0, above4g = 0;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < NPD; k++) wr64(PDPT + k * 8, (PDS + k * 4096) | (rnd(12) === 0 ? 0 : 1) | (rnd(16) === 0 ? 2 : 0), 0);
      for (let k = 0; k < NPD; k++) for (let i = 0; i < 512; i++) {
        const big = rnd(3) === 0;
        const lo = big ? (rnd(4) << 21) | 0x80 | flags() | (rnd(16) === 0 ? 0x2000 : 0) : (PTS2 + rnd(NPT2) * 4096) | flags();
        wr64(PDS + k * 4096 + i * 8, lo, hi());
      }
      for (let j = 0; j < NPT2 * 512; j++) wr64(PTS2 + j * 8, (0x500000 + rnd(256) * 4096) | flags(), hi());
      memW.u8.set(memC.u8.subarray(PDPT, PTS2 + NPT2 * 4096), PDPT);
      const nxe = rnd(2) === 1;
      c.cr3 = PDPT; c.cr4 = Cr4.PAE; c.efer = nxe ? Efer.NXE : 0;
      for (let a = 0; a < 500; a++) {
        const lin = ((rnd(4) << 30) | (rnd(512) << 21) | (rnd(8) << 12) | rnd(4096)) >>> 0;
        const kind = rnd(3), write = kind === 1, fetch = kind === 2, user = rnd(2) === 1, wp = rnd(2) === 1;
        c.cr0 = (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET | (wp ? Cr0.WP : 0)) >>> 0;
        c.tlb.setCpl(user ? 3 : 0);
        c.tlb.flushAll();
        let phys = -1, err = -1;
        try { phys = c.tlb.translate(lin, write, fetch); } catch (e) { if (e !== FAULT) throw e; err = FAULT.errorCode; }
        const ok = w.walkPae(PDPT, lin, write, user, fetch, wp, nxe);
        const what = `round ${round} access ${a}: lin 0x${lin.toString(16)} write ${write} fetch ${fetch} user ${user} wp ${wp} nxe ${nxe}`;
        if (ok) { w.commit(write); allowed++; } else { faults++; if ((w.errorCode & 8) !== 0) rsvd++; }
        expect(ok, what).toBe(err === -1);
        if (ok) { expect(w.frame + (lin & 0xfff), what).toBe(phys); if (w.frame >= 2 ** 32) above4g++; }
        else expect(w.errorCode, what).toBe(err);
        expect(Buffer.from(memW.u8.subarray(PDPT, PTS2 + NPT2 * 4096)).equals(Buffer.from(memC.u8.subarray(PDPT, PTS2 + NPT2 * 4096))), `${what}: A/D bits`).toBe(true);
      }
    }
    expect(faults).toBeGreaterThan(2000);
    expect(allowed).toBeGreaterThan(2000);
    expect(rsvd).toBeGreaterThan(200);
    expect(above4g, 'pages above 4 GB (bit 35)').toBeGreaterThan(100);
  });
});
