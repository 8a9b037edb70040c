// The shadow MMU and a PAE guest entry with bits 35:32 set (MAXPHYADDR 36, SDM Vol. 3A §4.1.4,
// §4.4.2): the guest page is above 4 GB, not guest RAM, so no shadow entry maps it (that would
// alias low memory): the fault is 'mmio', and the hosted VMM runs the instruction on the CPU
// core, whose walk reaches nothing there. Bit 36 and up stay reserved: the guest's #PF RSVD.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { Cr0, Cr4 } from '../../../src/core/cpu/regs';
import { GuestWalker, PfErr, Pte, ShadowMmu } from '../../../src/core/vmm/shadow/index';

const RAM = 4 << 20, POOL = RAM, PDPT = 0x5fe0, PDX = 0x6000, PTX = 0x7000;
const P = Pte.P, RW = Pte.RW, US = Pte.US, PG = (Cr0.PE | Cr0.PG | Cr0.WP) >>> 0;

function machine(pteHi: number): { mem: PhysicalMemory; mmu: ShadowMmu } {
  const mem = new PhysicalMemory(RAM + (1 << 20));
  mem.write32(PDPT + 8, PDX | P); // quarter 1: linear 40000000H-7FFFFFFFH
  mem.write32(PDX, PTX | P | RW | US);
  mem.write32(PTX + 3 * 8, 0x123000 | P | RW | US); mem.write32(PTX + 3 * 8 + 4, pteHi);
  return { mem, mmu: new ShadowMmu(mem, { base: POOL, pages: 16 }, RAM) };
}

describe('shadow MMU: PAE guest pages above 4 GB', () => {
  it('the walker gives the whole frame (1_0012_3000H); pageFault builds no shadow entry', () => {
    const { mem, mmu } = machine(1);
    const w = new GuestWalker(mem, RAM);
    expect(w.walkPae(PDPT, 0x40003010, false, false, false, true, false)).toBe(true);
    expect(w.frame).toBe(0x100123000);
    const root = mmu.activate(PG, PDPT, Cr4.PAE);
    expect(mmu.pageFault(0x40003010, PfErr.W).kind).toBe('mmio');
    const dir = mem.read32(root + 8) & ~0xfff, pde = mem.read32(dir);
    const spte = (pde & P) === 0 ? 0 : mem.read32((pde & ~0xfff) + 3 * 8);
    expect(spte & P, 'no shadow entry for the page above 4 GB').toBe(0);
    expect(mem.read32(0x123010)).toBe(0);
    // The same PTE with bits 35:32 clear: a shadow entry to 123000H (the control case).
    mem.write32(PTX + 3 * 8 + 4, 0);
    mmu.invlpg(0x40003000);
    expect(mmu.pageFault(0x40003010, PfErr.W).kind).toBe('fixed');
  });

  it('bit 36 of the PTE: the guest gets #PF with P and RSVD', () => {
    const { mmu } = machine(0x10);
    mmu.activate(PG, PDPT, Cr4.PAE);
    expect(mmu.pageFault(0x40003010, 0)).toEqual({ kind: 'guest', errorCode: PfErr.P | PfErr.Rsvd });
  });
});
