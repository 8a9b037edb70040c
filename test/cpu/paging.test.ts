// Paging and the software TLB against hand-built page tables (SDM Vol. 3A ch. 4).
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/core/cpu/cpu';
import { FAULT } from '../../src/core/cpu/fault';
import { Cr0, Cr4, Efer } from '../../src/core/cpu/regs';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';

function machine(): { c: Cpu; m: PhysicalMemory } {
  const m = new PhysicalMemory(8 << 20);
  const c = new Cpu(m, new IoBus());
  return { c, m };
}

/** Catches a guest fault and returns [vector, errorCode, cr2], or null when none. */
function fault(c: Cpu, f: () => void): [number, number, number] | null {
  try { f(); return null; } catch (e) {
    if (e !== FAULT) throw e;
    return [FAULT.vector, FAULT.errorCode, c.cr2];
  }
}

function enable32(c: Cpu, cr3: number, extraCr4 = 0): void {
  c.cr3 = cr3; c.cr4 = extraCr4;
  c.cr0 |= Cr0.PE | Cr0.PG;
  c.tlb.flushAll();
}

describe('32-bit paging', () => {
  it('translates through PDE/PTE and sets accessed and dirty bits', () => {
    const { c, m } = machine();
    m.write32(0x1000 + 1 * 4, 0x2000 | 0x7);          // PDE[1] -> PT at 0x2000, U/W/P
    m.write32(0x2000 + 5 * 4, 0x345000 | 0x7);        // PTE[5] -> 0x345000
    enable32(c, 0x1000);
    const lin = (1 << 22) | (5 << 12) | 0x10;
    m.write32(0x345010, 0xdeadbeef);
    expect(c.readLin32(lin) >>> 0).toBe(0xdeadbeef);
    expect(m.read32(0x2000 + 20) & 0x60).toBe(0x20); // A set, D clear after a read
    expect(m.read32(0x1000 + 4) & 0x20).toBe(0x20);
    c.writeLin32(lin, 0x12345678);
    expect(m.read32(0x345010)).toBe(0x12345678);
    expect(m.read32(0x2000 + 20) & 0x60).toBe(0x60); // D set by the write
  });

  it('raises #PF with the SDM error code and CR2 for a not-present page', () => {
    const { c } = machine();
    enable32(c, 0x1000);
    expect(fault(c, () => c.readLin8(0x00401234))).toEqual([14, 0, 0x00401234]);
    c.setCpl(3);
    expect(fault(c, () => c.writeLin8(0x00401234, 1))).toEqual([14, 2 | 4, 0x00401234]);
  });

  it('honours U/S, R/W and CR0.WP', () => {
    const { c, m } = machine();
    m.write32(0x1000, 0x2000 | 0x7);
    m.write32(0x2000 + 4, 0x5000 | 0x1);      // page 1: supervisor, read-only
    enable32(c, 0x1000);
    expect(fault(c, () => c.writeLin8(0x1000, 1))).toBeNull(); // WP=0: supervisor may write
    c.cr0 |= Cr0.WP; c.tlb.flushAll();
    expect(fault(c, () => c.writeLin8(0x1004, 1))).toEqual([14, 1 | 2, 0x1004]);
    c.setCpl(3);
    expect(fault(c, () => c.readLin8(0x1008))).toEqual([14, 1 | 4, 0x1008]);
  });

  it('maps 4 MB pages with CR4.PSE', () => {
    const { c, m } = machine();
    m.write32(0x1000 + 2 * 4, 0x00400000 | 0x83); // PDE[2]: 4 MB page at 4 MB, PS|W|P
    enable32(c, 0x1000, Cr4.PSE);
    m.write32(0x00400000 + 0x1234, 0xcafe);
    expect(c.readLin32(0x00801234)).toBe(0xcafe);
  });

  it('keeps stale translations until INVLPG or a CR3 reload, and keeps global pages across CR3', () => {
    const { c, m } = machine();
    m.write32(0x1000, 0x2000 | 0x7);
    m.write32(0x2000 + 4 * 3, 0x10000 | 0x107); // page 3 -> 0x10000, global
    m.write32(0x2000 + 4 * 4, 0x11000 | 0x7);   // page 4 -> 0x11000
    enable32(c, 0x1000, Cr4.PGE);
    m.write8(0x10000, 0xaa); m.write8(0x11000, 0xbb); m.write8(0x12000, 0xcc);
    expect(c.readLin8(0x3000)).toBe(0xaa);
    expect(c.readLin8(0x4000)).toBe(0xbb);
    m.write32(0x2000 + 4 * 3, 0x12000 | 0x107);
    m.write32(0x2000 + 4 * 4, 0x12000 | 0x7);
    expect(c.readLin8(0x3000)).toBe(0xaa); // stale, as on hardware
    c.tlb.flushNonGlobal();                // what a CR3 write does
    expect(c.readLin8(0x3000)).toBe(0xaa); // global survives
    expect(c.readLin8(0x4000)).toBe(0xcc);
    c.tlb.invalidatePage(0x3000);
    expect(c.readLin8(0x3000)).toBe(0xcc);
  });
});

describe('PAE paging', () => {
  it('walks PDPTE/PDE/PTE, maps 2 MB pages and enforces NX on fetch', () => {
    const { c, m } = machine();
    // PDPT at 0x1000; PD at 0x2000; PT at 0x3000.
    m.write32(0x1000, 0x2000 | 1);
    m.write32(0x2000, 0x3000 | 0x7);                       // PDE[0] -> PT
    m.write32(0x2000 + 8, 0x00200000 | 0x83);              // PDE[1]: 2 MB page at 2 MB
    m.write32(0x3000 + 8 * 7, 0x50000 | 0x7); m.write32(0x3000 + 8 * 7 + 4, 0x80000000 | 0); // NX page
    c.efer = Efer.NXE;
    enable32(c, 0x1000, Cr4.PAE);
    m.write32(0x50000, 0x11223344);
    expect(c.readLin32(0x7000)).toBe(0x11223344);
    m.write32(0x200000 + 0x12344, 0x55);
    expect(c.readLin32(0x212344)).toBe(0x55);
    expect(fault(c, () => c.tlb.fetchEntry(0x7000))).toEqual([14, 1 | 16, 0x7000]);
  });

  it('treats the NX bit as reserved when EFER.NXE is clear', () => {
    const { c, m } = machine();
    m.write32(0x1000, 0x2000 | 1);
    m.write32(0x2000, 0x3000 | 0x7);
    m.write32(0x3000 + 8 * 7, 0x50000 | 0x7); m.write32(0x3000 + 8 * 7 + 4, 0x80000000 | 0);
    enable32(c, 0x1000, Cr4.PAE);
    expect(fault(c, () => c.readLin8(0x7000))).toEqual([14, 1 | 8, 0x7000]);
  });
});

describe('TLB with paging off', () => {
  it('applies the A20 mask to identity translations', () => {
    const { c, m } = machine();
    m.write8(0x000123, 0x42); m.write8(0x100123, 0x24);
    expect(c.readLin8(0x100123)).toBe(0x24);
    m.a20Mask = 0xffefffff | 0; c.tlb.flushAll();
    expect(c.readLin8(0x100123)).toBe(0x42);
  });
});
