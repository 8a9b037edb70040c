// Bad input never escapes the run loop: random opcode streams, jumps into nothing and triple
// faults end as architectural exceptions or a reported shutdown, never as a host exception.
import { describe, expect, it } from 'vitest';
import { createCpu, StopReason } from '../../src/core/cpu/index';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { Seg } from '../../src/core/cpu/regs';

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

function machine(mb = 2) {
  const mem = new PhysicalMemory(mb << 20);
  const c = createCpu(mem, new IoBus());
  return { mem, c };
}

describe('random opcode streams', () => {
  it('real mode: 100 random streams run 20k instructions each without a host exception', () => {
    let shutdowns = 0, exceptions = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const { mem, c } = machine();
      const rnd = xorshift(seed * 2654435761);
      for (let i = 0; i < 0x100000; i += 4) mem.write32(i, rnd());
      c.setSegReal(Seg.CS, 0x1000, 0xffff, 0x9b);
      c.eip = 0;
      const deliver = c.deliver;
      c.deliver = (cc, v, k, e, h) => { if (k === 3) exceptions++; deliver(cc, v, k, e, h); };
      let r = StopReason.Budget as StopReason;
      expect(() => { r = c.run(20_000); }).not.toThrow();
      if (r === StopReason.Shutdown) { shutdowns++; expect(c.shutdownReason).toMatch(/fault|shutdown|#/); }
    }
    // Random code must have raised architectural exceptions somewhere along the way.
    expect(exceptions).toBeGreaterThan(50);
    expect(shutdowns).toBeGreaterThanOrEqual(0);
  });

  it('32-bit protected mode with paging: random streams end in exceptions or shutdown, never a throw', () => {
    let faults = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { mem, c } = machine(4);
      const rnd = xorshift(seed * 40503 + 7);
      // GDT: null, flat code, flat data. IDT all zero (not present) so any exception escalates.
      mem.write32(0x500 + 8, 0x0000ffff); mem.write32(0x500 + 12, 0x00cf9a00);
      mem.write32(0x500 + 16, 0x0000ffff); mem.write32(0x500 + 20, 0x00cf9200);
      // Identity-map the first 4 MB with a 4 KB page table, code pages random.
      mem.write32(0x1000, 0x2000 | 3);
      for (let p = 0; p < 1024; p++) mem.write32(0x2000 + p * 4, (p << 12) | 3);
      for (let i = 0x100000; i < 0x140000; i += 4) mem.write32(i, rnd());
      c.gdtrBase = 0x500; c.gdtrLimit = 23; c.idtrBase = 0x3000; c.idtrLimit = 0x7ff;
      c.cr0 |= 1; c.cr3 = 0x1000; c.cr0 |= 0x80000000; c.cr4 = 0x10; c.tlb.flushAll();
      c.segSel[Seg.CS] = 8; c.segBase[Seg.CS] = 0; c.segLimit[Seg.CS] = 0xffffffff; c.segAttr[Seg.CS] = 0xc09b;
      for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) { c.segSel[s] = 16; c.segBase[s] = 0; c.segLimit[s] = 0xffffffff; c.segAttr[s] = 0xc093; }
      c.modeChanged();
      for (let s = 0; s < 6; s++) c.updateSegLimits(s);
      c.eip = 0x100000 + (rnd() & 0x3ffff);
      c.r32[4] = 0x90000;
      let r = StopReason.Budget as StopReason;
      expect(() => { r = c.run(50_000); }).not.toThrow();
      if (r === StopReason.Shutdown) faults++;
    }
    // With an empty IDT, the first exception becomes #GP -> #DF -> shutdown in most streams.
    expect(faults).toBeGreaterThan(100);
  });
});

describe('jumps into nothing and triple faults', () => {
  it('executing unmapped physical memory (reads all ones) raises #UD and, with no IDT, shuts down', () => {
    const { c } = machine(1);
    // Real mode, IDT limit 0: #UD cannot be delivered -> #GP -> #DF -> shutdown.
    c.idtrLimit = 0;
    c.setSegReal(Seg.CS, 0xffff, 0xffff, 0x9b); // FFFF:0100 is above 1 MB of RAM: reads 0xFF
    c.eip = 0x100;
    expect(c.run(100)).toBe(StopReason.Shutdown);
    expect(c.shutdown).toBe(true);
    expect(c.shutdownReason).toMatch(/triple fault/);
  });

  it('reports a protected-mode triple fault with what was being delivered', () => {
    const { mem, c } = machine(1);
    mem.write32(0x500 + 8, 0x0000ffff); mem.write32(0x500 + 12, 0x00cf9a00);
    c.gdtrBase = 0x500; c.gdtrLimit = 15; c.idtrBase = 0; c.idtrLimit = 0;
    c.cr0 |= 1;
    c.segSel[Seg.CS] = 8; c.segBase[Seg.CS] = 0; c.segLimit[Seg.CS] = 0xffffffff; c.segAttr[Seg.CS] = 0xc09b;
    c.modeChanged();
    mem.write8(0x2000, 0x0f); mem.write8(0x2001, 0x0b); // UD2
    c.eip = 0x2000;
    expect(c.run(10)).toBe(StopReason.Shutdown);
    expect(c.shutdownReason).toMatch(/#DF/);
    // The CPU stays in shutdown; further runs return at once.
    expect(c.run(10)).toBe(StopReason.Shutdown);
  });
});
