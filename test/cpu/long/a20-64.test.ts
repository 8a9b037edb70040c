// A20M# in IA-32e mode (long/README.md, formerly "not in phase 1"): the A20 mask acts on
// physical addresses (PhysicalMemory.a20Mask, the 8042/port 92h gate) in every mode, so with
// paging on the TLB entry a walk installs carries the masked address too (paging.ts finish) and
// the fast paths (TLB hit, RAM indexed directly) and the slow paths (PhysicalMemory) agree.
import { describe, expect, it } from 'vitest';
import { CODE, VmxMachine } from '../../vmx/support';

function masked(): VmxMachine {
  const m = new VmxMachine('skylake', { start64: true });
  m.mem.a20Mask = 0xffefffff | 0; // as Machine.applyA20 sets it, with the TLB flushed
  m.c.tlb.flushAll();
  return m;
}
const rd32 = (m: VmxMachine, a: number): number => m.mem.i32[a >>> 2];

describe('A20 masked in 64-bit code', () => {
  it('a stack crossing 1 MB downward: CALL/PUSH store and POP/RET load the same (masked) physical addresses', () => {
    const m = masked(), c = m.c;
    const above = [rd32(m, 0x100008), rd32(m, 0x100000)]; // the VMXON region's revision identifier
    // mov esp, imm32 (5 bytes, nasm's form of mov rsp), call rel32 (5): returns to CODE + 10.
    const v = m.exec(`mov rsp, 0x100010\ncall f\njmp done\nf: mov rax, 0x1111\npush rax\nmov rax, 0x2222\npush rax\nmov rbx, [rsp + 16]\npop rax\npop rax\nret\ndone:`, 64);
    expect(v).toBe(null);
    expect(c.r32[4]).toBe(0x100010);
    expect(c.r32[3], 'the return address read back through RSP').toBe(CODE + 10);
    expect(rd32(m, 0x000008), 'CALL stored at 100008H & ~A20 = 8').toBe(CODE + 10);
    expect(rd32(m, 0x000000), 'first PUSH at 100000H -> 0').toBe(0x1111);
    expect(rd32(m, 0x0ffff8), 'second PUSH below 1 MB').toBe(0x2222);
    expect([rd32(m, 0x100008), rd32(m, 0x100000)], 'nothing stored above 1 MB').toEqual(above);
  });

  it('a load after a store through a fresh TLB entry, and one after a flush, read what was stored', () => {
    const m = masked(), c = m.c;
    expect(m.exec('mov dword [0x12fff8], 0x5a5a5a5a\nmov eax, [0x12fff8]', 64)).toBe(null);
    expect(c.r32[0]).toBe(0x5a5a5a5a);
    expect(rd32(m, 0x02fff8)).toBe(0x5a5a5a5a);
    c.tlb.flushAll();
    expect(m.exec('mov ebx, [0x02fff8]\nmov ecx, [0x12fff8]', 64)).toBe(null);
    expect([c.r32[3], c.r32[1]]).toEqual([0x5a5a5a5a, 0x5a5a5a5a]);
  });

  it('A20 enabled: the same program uses the addresses above 1 MB', () => {
    const m = new VmxMachine('skylake', { start64: true });
    expect(m.exec('mov dword [0x12fff8], 0x5a5a5a5a', 64)).toBe(null);
    expect([rd32(m, 0x12fff8), rd32(m, 0x02fff8)]).toEqual([0x5a5a5a5a, 0]);
  });
});
