// Physical addresses at or above 4 GB (MAXPHYADDR 36, CPUID.80000008H; SDM Vol. 3A §4.5): the
// bits 35:32 of CR3 and of the 4-level paging entries count. The machine has less than 4 GB of
// RAM and nothing above, so such an access reaches nothing, as on a PC: reads give all ones,
// writes are dropped (PhysicalMemory), instead of aliasing the low 4 GB.
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../../src/core/cpu/fault';
import { Cr4, Vector } from '../../../src/core/cpu/regs';
import { getGpr64 } from '../../../src/core/cpu/long/long-mode';
import { PD2M, VmxMachine } from '../../vmx/support';

const PT = 0x9000, LOW = 0x400000, MARK = 0x12345678;

/** 64-bit mode; linear 800000H-9FFFFFH through the page table PT (PD2M entry 4). */
function machine(): VmxMachine {
  const m = new VmxMachine('skylake', { start64: true });
  for (let i = 0; i < 1024; i++) m.mem.write32(PT + i * 4, 0);
  m.mem.write32(PD2M + 4 * 8, PT | 7); m.mem.write32(PD2M + 4 * 8 + 4, 0);
  m.mem.write32(LOW, MARK);
  m.c.tlb.flushAll();
  return m;
}
/** PTE for linear 800000H + i * 4 KB: physical `lo` with bits 35:32 `hi`. */
function pte(m: VmxMachine, i: number, lo: number, hi: number): void {
  m.mem.write32(PT + i * 8, lo | 3); m.mem.write32(PT + i * 8 + 4, hi);
}

describe('physical addresses above 4 GB (4-level paging)', () => {
  it('a PTE pointing at 1_0040_0000H: reads give all ones, writes leave 400000H alone', () => {
    const m = machine(), c = m.c;
    pte(m, 5, LOW, 1);
    expect(m.exec('mov eax, [0x805000]\nmov bx, [0x805010]\nmov cl, [0x805ffe]\nmov dword [0x805000], 0\nmov word [0x805002], 0\nmov rdx, [0x805000]', 64)).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
    expect(c.r32[3] & 0xffff).toBe(0xffff);
    expect(c.r32[1] & 0xff).toBe(0xff);
    expect(getGpr64(c, 2)).toBe(0xffffffffffffffffn);
    expect(m.mem.read32(LOW) >>> 0, 'low memory not aliased').toBe(MARK);
    // The PTE was used: accessed and dirty set (the entry itself is in RAM).
    expect(m.mem.read32(PT + 5 * 8) & 0x60).toBe(0x60);
    // The same PTE with bits 35:32 clear reaches the marker (the control case).
    pte(m, 6, LOW, 0);
    expect(m.exec('mov eax, [0x806000]', 64)).toBe(null);
    expect(c.r32[0] >>> 0).toBe(MARK);
  });

  it('a 2 MB page at 1_0040_0000H and code fetched there (all ones: FF FF is not an instruction, #UD)', () => {
    const m = machine(), c = m.c;
    m.mem.write32(PD2M + 5 * 8, LOW | 0x87); m.mem.write32(PD2M + 5 * 8 + 4, 1); // linear A00000H
    expect(m.exec('mov eax, [0xa00000]', 64)).toBe(null);
    expect(c.r32[0] >>> 0).toBe(0xffffffff);
    // exec steps on past the JMP: FF FF (group 5 /7) at A00000H is #UD.
    expect(m.exec('mov rax, 0xa00000\njmp rax', 64)).toBe(Vector.UD);
    expect(c.eip).toBe(0xa00000);
  });

  it('a page table above 4 GB: its entries read as all ones, so the walk ends in a reserved-bit #PF', () => {
    const m = machine(), c = m.c;
    m.mem.write32(PD2M + 4 * 8 + 4, 1); // PDE 4 -> page table at 1_0000_9000H
    pte(m, 5, LOW, 0);
    expect(m.exec('mov eax, [0x805000]', 64)).toBe(Vector.PF);
    expect(FAULT.errorCode & 0x9).toBe(0x9); // P and RSVD
    expect(c.cr2 >>> 0).toBe(0x805000);
  });

  it('CR3 with bit 32: MOV from CR3 returns it, the next walk reads the PML4 at 1_0000_5000H (all ones: #PF RSVD)', () => {
    const m = machine(), c = m.c;
    // Code and the 2 MB page of the first data access are global, so they survive the CR3 load.
    c.cr4 |= Cr4.PGE;
    for (let i = 0; i < 8; i++) m.mem.write32(PD2M + i * 8, (i << 21) | 0x187);
    c.tlb.flushAll();
    expect(m.exec('mov eax, [0x200000]', 64)).toBe(null);
    expect(m.exec('mov rax, 0x100005000\nmov cr3, rax\nmov rbx, cr3\nmov ecx, [0x200000]', 64)).toBe(null);
    expect(getGpr64(c, 3)).toBe(0x100005000n);
    expect(c.cr3hi).toBe(1);
    expect(m.exec('mov ecx, [0x600000]', 64)).toBe(Vector.PF);
    expect(FAULT.errorCode & 0x9).toBe(0x9);
    expect(m.exec('mov rax, 0x1000005000\nmov cr3, rax', 64), 'bit 36: beyond MAXPHYADDR').toBe(Vector.GP);
  });
});
