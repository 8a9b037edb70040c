// PAE paging with MAXPHYADDR 36 (SDM Vol. 3A §4.1.4; §4.4.1 Table 4-8, §4.4.2 Tables 4-9 to 4-11):
// bits 35:32 of PDPTEs, PDEs and PTEs are address bits, bits 62:36 (and 63 without EFER.NXE)
// reserved. The machine has less than 4 GB and nothing above: such an address reaches nothing
// (reads all ones, writes dropped) instead of aliasing low memory. MOV to CR3/CR0/CR4 that makes
// PAE paging current loads the PDPTEs: #GP(0) when a present one sets a reserved bit (§4.4.1).
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../src/core/cpu/fault';
import { Cr0, Cr4, Efer, Vector } from '../../src/core/cpu/regs';
import { VmxMachine } from '../vmx/support';

const PDPT_A = 0xa000, PD_A = 0xb000, PT = 0xc000, PDPT_B = 0xd000, LOW = 0x400000, MARK = 0x12345678;

/** 32-bit protected mode with PAE paging: PDPTE 0 -> PD_A, 2 MB pages identity-mapping 0-16 MB
 *  except PDE 4 (linear 800000H-9FFFFFH) -> page table PT (empty). */
function machine(): VmxMachine {
  const m = new VmxMachine('skylake'), mem = m.mem, c = m.c;
  for (let i = 0; i < 1024; i++) { mem.write32(PD_A + i * 4, 0); mem.write32(PT + i * 4, 0); }
  for (let i = 0; i < 8; i++) mem.write32(PDPT_A + i * 4, 0);
  mem.write32(PDPT_A, PD_A | 1);
  for (let i = 0; i < 8; i++) mem.write32(PD_A + i * 8, (i << 21) | 0x87);
  mem.write32(PD_A + 4 * 8, PT | 7);
  mem.write32(LOW, MARK);
  c.cr4 = (c.cr4 & ~Cr4.PSE) | Cr4.PAE; c.cr3 = PDPT_A;
  c.tlb.flushAll();
  return m;
}
/** PTE for linear 800000H + i * 4 KB: physical `lo` with high dword `hi`. */
function pte(m: VmxMachine, i: number, lo: number, hi: number): void {
  m.mem.write32(PT + i * 8, lo | 3); m.mem.write32(PT + i * 8 + 4, hi);
}

describe('PAE paging: physical addresses above 4 GB', () => {
  it('a PTE pointing at 1_0040_0000H: reads give all ones, writes leave 400000H alone', () => {
    const m = machine(), c = m.c;
    pte(m, 5, LOW, 1);
    expect(m.exec('mov eax, [0x805000]\nmov bx, [0x805010]\nmov cl, [0x805ffe]\nmov dword [0x805000], 0\nmov edx, [0x805000]')).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
    expect(c.r32[3] & 0xffff).toBe(0xffff);
    expect(c.r32[1] & 0xff).toBe(0xff);
    expect(c.r32[2] >>> 0).toBe(0xffffffff);
    expect(m.mem.read32(LOW) >>> 0, 'low memory not aliased').toBe(MARK);
    expect(m.mem.read32(PT + 5 * 8) & 0x60, 'A and D set in the PTE').toBe(0x60);
    // Bit 35 is an address bit too (1_0000_0000H * 8); the control case with bits 35:32 clear.
    pte(m, 6, LOW, 8); pte(m, 7, LOW, 0);
    expect(m.exec('mov eax, [0x806000]\nmov ebx, [0x807000]')).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
    expect(c.r32[3] >>> 0).toBe(MARK);
  });

  it('an NX PTE above 4 GB under EFER.NXE: a read gives all ones', () => {
    const m = machine(), c = m.c;
    c.efer |= Efer.NXE;
    pte(m, 5, LOW, 0x80000001 | 0);
    expect(m.exec('mov eax, [0x805000]')).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
  });

  it('a 2 MB page at 1_0040_0000H: reads all ones, a write does not reach 400000H', () => {
    const m = machine(), c = m.c;
    m.mem.write32(PD_A + 5 * 8, LOW | 0x87); m.mem.write32(PD_A + 5 * 8 + 4, 1); // linear A00000H
    expect(m.exec('mov eax, [0xa00000]\nmov dword [0xa00000], 0\nmov ebx, [0xa00000]')).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
    expect(c.r32[3] >>> 0).toBe(0xffffffff);
    expect(m.mem.read32(LOW) >>> 0).toBe(MARK);
    expect(m.mem.read32(PD_A + 5 * 8) & 0x60).toBe(0x60);
  });

  it('a page table above 4 GB: its entries read as all ones, so the walk ends in a reserved-bit #PF', () => {
    // (The old walk gave the same error code at the PDE: this checks the new walk reads there.)
    const m = machine(), c = m.c;
    m.mem.write32(PD_A + 4 * 8 + 4, 1); // PDE 4 -> page table at 1_0000_C000H
    pte(m, 5, LOW, 0);
    expect(m.exec('mov eax, [0x805000]')).toBe(Vector.PF);
    expect(FAULT.errorCode & 0x9).toBe(0x9);
    expect(c.cr2 >>> 0).toBe(0x805000);
  });

  it('bit 36 and up (beyond MAXPHYADDR) stay reserved: #PF with P and RSVD', () => {
    const m = machine(), c = m.c;
    pte(m, 5, LOW, 0x10);
    expect(m.exec('mov eax, [0x805000]')).toBe(Vector.PF);
    expect(FAULT.errorCode).toBe(0x9);
    expect(c.cr2 >>> 0).toBe(0x805000);
    m.mem.write32(PD_A + 5 * 8, LOW | 0x87); m.mem.write32(PD_A + 5 * 8 + 4, 0x4000000); // bit 58
    expect(m.exec('mov eax, [0xa00000]')).toBe(Vector.PF);
    expect(FAULT.errorCode).toBe(0x9);
    // A PDPTE with bit 36 (read from memory at each walk): reserved too.
    m.mem.write32(PDPT_A + 3 * 8, PD_A | 1); m.mem.write32(PDPT_A + 3 * 8 + 4, 0x10);
    expect(m.exec('mov eax, [0xc0000000]')).toBe(Vector.PF);
    expect(FAULT.errorCode).toBe(0x9);
  });
});

describe('PAE PDPTE loads (MOV to CR3/CR0/CR4, §4.4.1)', () => {
  /** PDPT_B: a copy of PDPT_A whose PDPTE 3 is `lo`/`hi`. */
  function pdptB(m: VmxMachine, lo: number, hi: number): void {
    for (let i = 0; i < 8; i++) m.mem.write32(PDPT_B + i * 4, m.mem.read32(PDPT_A + i * 4));
    m.mem.write32(PDPT_B + 3 * 8, lo); m.mem.write32(PDPT_B + 3 * 8 + 4, hi);
  }

  it('a PDPTE with bit 32 loads; its page directory at 1_0000_B000H reads as all ones (#PF RSVD)', () => {
    const m = machine(), c = m.c;
    pdptB(m, PD_A | 1, 1);
    expect(m.exec(`mov eax, ${PDPT_B}\nmov cr3, eax`)).toBe(null);
    expect(c.cr3).toBe(PDPT_B);
    expect(m.exec('mov eax, [0xc0000000]')).toBe(Vector.PF);
    expect(FAULT.errorCode & 0x9).toBe(0x9);
  });

  it('a present PDPTE with bit 40, bit 63 or bit 5 is #GP(0) and CR3 keeps its value', () => {
    const m = machine(), c = m.c;
    for (const [lo, hi] of [[PD_A | 1, 0x100], [PD_A | 1, 0x80000000 | 0], [PD_A | 0x21, 0]]) {
      pdptB(m, lo, hi);
      expect(m.exec(`mov eax, ${PDPT_B}\nmov cr3, eax`), `PDPTE ${hi.toString(16)}_${lo.toString(16)}`).toBe(Vector.GP);
      expect(FAULT.errorCode).toBe(0);
      expect(c.cr3).toBe(PDPT_A);
    }
    // Not present: the other bits are not checked.
    pdptB(m, PD_A, 0x100);
    expect(m.exec(`mov eax, ${PDPT_B}\nmov cr3, eax`)).toBe(null);
    expect(c.cr3).toBe(PDPT_B);
  });

  it('MOV to CR4 (PGE changes) and MOV to CR0 (CD changes) under PAE paging load the PDPTEs too', () => {
    const m = machine(), c = m.c;
    // PDPTE 3 of the current PDPT (read at each walk, unused by this code) gets bit 40.
    m.mem.write32(PDPT_A + 3 * 8, PD_A | 1); m.mem.write32(PDPT_A + 3 * 8 + 4, 0x100);
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.PGE}\nmov cr4, eax`)).toBe(Vector.GP);
    expect(FAULT.errorCode).toBe(0);
    expect(c.cr4 & Cr4.PGE).toBe(0);
    expect(m.exec(`mov eax, cr0\nor eax, ${Cr0.CD}\nmov cr0, eax`)).toBe(Vector.GP);
    expect(c.cr0 & Cr0.CD).toBe(0);
    // A CR4 write that changes none of PSE, PAE, PGE loads nothing (§4.4.1).
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.TSD}\nmov cr4, eax`)).toBe(null);
    // Bit 32 instead: both load.
    m.mem.write32(PDPT_A + 3 * 8 + 4, 1);
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.PGE}\nmov cr4, eax\nmov eax, cr0\nor eax, ${Cr0.CD}\nmov cr0, eax`)).toBe(null);
    expect(c.cr4 & Cr4.PGE).toBe(Cr4.PGE);
    expect(c.cr0 & Cr0.CD).toBe(Cr0.CD);
  });
});
