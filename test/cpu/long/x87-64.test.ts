// The x87 FPU, FXSAVE/FXRSTOR, XGETBV/XSETBV/XSAVE/XRSTOR and GETSEC in 64-bit mode (cpu/long/
// fpu64.ts, xstate64.ts): 64-bit effective addresses (RIP-relative, REX registers, above 4 GB),
// FIP = RIP and the 64-bit FDP (SDM Vol. 1 §8.1.8), the FXSAVE64/XSAVE64 layout with 64-bit
// FIP/FDP against the 32-bit one with FCS/FDS (SDM Vol. 1 §10.5.1 Tables 10-2/10-3, Vol. 2A
// FXSAVE), the 64-bit register results of XGETBV and GETSEC, and the faults.
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Vector } from '../../../src/core/cpu/regs';
import { getGpr64, getRip, setGpr64 } from '../../../src/core/cpu/long/long-mode';
import { asm, CODE, CODE64, DATA, HIGH_BASE, VmxMachine } from '../../vmx/support';

const HIGH = `0x${HIGH_BASE.toString(16)}`;

function machine(opts: { smx?: boolean; gen?: string } = {}): VmxMachine {
  const m = new VmxMachine(opts.gen ?? 'skylake', { start64: true, smx: opts.smx === true });
  m.c.cr4 |= Cr4.OSXSAVE;
  m.c.cr0 |= Cr0.NE;
  return m;
}
/** Offset of the code after `prefix` (64-bit, assembled at CODE): where the next instruction starts. */
function at(prefix: string): number { return CODE + asm(prefix, CODE, 64).length; }
function q(m: VmxMachine, pa: number): bigint { return (BigInt(m.mem.read32(pa + 4) >>> 0) << 32n) | BigInt(m.mem.read32(pa) >>> 0); }
function f64(m: VmxMachine, pa: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, m.mem.read32(pa) >>> 0, true); dv.setUint32(4, m.mem.read32(pa + 4) >>> 0, true);
  return dv.getFloat64(0, true);
}
function putF64(m: VmxMachine, pa: number, v: number): void {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  m.mem.write32(pa, dv.getUint32(0, true)); m.mem.write32(pa + 4, dv.getUint32(4, true));
}

describe('x87 in 64-bit mode', () => {
  it('arithmetic with RIP-relative, REX-base/index and above-4-GB operands; FNSTSW AX, FNSTCW/FLDCW, FILD/FISTP m64', () => {
    const m = machine(), c = m.c;
    putF64(m, DATA, 1.5); putF64(m, DATA + 0x18, 2.25);
    m.mem.write32(DATA + 0x40, 0x12345678); m.mem.write32(DATA + 0x44, 0x9abcdef);
    const r = m.exec([
      'fninit',
      `mov r9, ${DATA}`, 'mov r10, 3',
      'fld qword [r9]', // 1.5
      'fadd qword [r9 + r10*8]', // + 2.25 = 3.75
      `mov r11, ${HIGH} + ${DATA} + 0x100`,
      'fstp qword [r11]', // above 4 GB (the high alias of DATA + 0x100)
      'fild qword [r9 + 0x40]', 'fistp qword [r9 + 0x48]', // 64-bit integer round trip
      'fld tword [rel x80]', 'fstp tword [r9 + 0x60]', // m80 round trip, RIP-relative source
      'fnstcw [r9 + 0x70]', 'mov word [r9 + 0x72], 0x0c7f', 'fldcw [r9 + 0x72]', 'fnstcw [r9 + 0x74]',
      'mov rax, -1', 'fld1', 'fldz', 'fcompp', 'fnstsw ax', // ST0 = 0 < ST1 = 1: C0
      'fldz', 'fldz', 'fcompp', 'fnstsw [r9 + 0x76]', // equal: C3
      'jmp done',
      'x80: dq 0x8000000000000001', 'dw 0x4005',
      'done:',
    ].join('\n'), 64);
    expect(r).toBe(null);
    expect(f64(m, DATA + 0x100)).toBe(3.75);
    expect(q(m, DATA + 0x48)).toBe(q(m, DATA + 0x40));
    expect(q(m, DATA + 0x60)).toBe(0x8000000000000001n);
    expect(m.mem.read16(DATA + 0x68)).toBe(0x4005);
    expect(m.mem.read16(DATA + 0x70)).toBe(0x037f);
    expect(m.mem.read16(DATA + 0x74)).toBe(0x0c7f);
    expect(c.r16[0] & 0x4700).toBe(0x0100);
    expect(getGpr64(c, 0) >> 16n, 'FNSTSW AX keeps bits 63:16 of RAX').toBe(0xffffffffffffn);
    expect(m.mem.read16(DATA + 0x76) & 0x4700).toBe(0x4000);
  });

  it('FIP is RIP (bits 63:32 too), FDP the 64-bit offset, FOP the opcode: FXSAVE64 stores them whole', () => {
    const m = machine(), c = m.c;
    putF64(m, DATA + 0x1000, 2.5);
    // Jump to the high alias of the code, run FLD there, come back (CODE is below 4 GB).
    const pre = ['fninit', `mov r9, ${HIGH} + ${DATA} + 0x1000`, 'mov eax, hi', `mov rbx, ${HIGH}`, 'add rax, rbx', 'jmp rax', 'hi:'];
    const fldAt = at(pre.join('\n'));
    const r = m.exec([...pre, 'fld qword [r9]', 'mov eax, back', 'jmp rax', 'back:', `mov r8, ${DATA}`, 'fxsave64 [r8]', `fxsave [r8 + 0x200]`].join('\n'), 64);
    expect(r).toBe(null);
    expect(q(m, DATA + 8), 'FXSAVE64 bytes 15:8: FIP[63:0]').toBe(HIGH_BASE + BigInt(fldAt));
    expect(q(m, DATA + 16), 'FXSAVE64 bytes 23:16: FDP[63:0]').toBe(HIGH_BASE + BigInt(DATA + 0x1000));
    expect(m.mem.read16(DATA + 6), 'FOP: DD /0 with ModRM 01h (r9 with REX.B)').toBe(0x501);
    expect(m.mem.read16(DATA + 0), 'FCW').toBe(0x037f);
    expect(m.mem.read16(DATA + 2), 'FSW: TOP = 7').toBe(0x3800);
    expect(m.mem.read8(DATA + 4), 'abridged tag of R7').toBe(0x80);
    expect(q(m, DATA + 32)).toBe(0xa000000000000000n); // 2.5 = 1.01b * 2^1
    expect(m.mem.read16(DATA + 40)).toBe(0x4000);
    // Without REX.W: FIP[31:0], FCS, FDP[31:0], FDS (Table 10-2).
    const b = DATA + 0x200;
    expect(m.mem.read32(b + 8) >>> 0).toBe(fldAt);
    expect(m.mem.read16(b + 12), 'FCS').toBe(CODE64);
    expect(m.mem.read16(b + 14)).toBe(0);
    expect(m.mem.read32(b + 16) >>> 0).toBe(DATA + 0x1000);
    expect(m.mem.read16(b + 20), 'FDS').toBe(c.segSel[3]);
    expect(m.mem.read32(b + 24) >>> 0, 'MXCSR').toBe(0x1f80);
  });

  it('FXRSTOR64 loads 64-bit FIP/FDP that FXSAVE64 gives back; FXRSTOR restores registers and control state', () => {
    const m = machine(), c = m.c;
    const a = DATA, b = DATA + 0x200;
    expect(m.exec(`fninit\nfld1\nfldpi\nmov r8, ${a}\nfxsave64 [r8]`, 64)).toBe(null);
    m.mem.write32(a + 8, 0x89abcdef); m.mem.write32(a + 12, 0x01234567); // FIP
    m.mem.write32(a + 16, 0x76543210); m.mem.write32(a + 20, 0xfedcba98); // FDP
    m.mem.write16(a, 0x0e7f); // FCW with RC = down
    expect(m.exec(`fninit\nmov r8, ${a}\nfxrstor64 [r8]\nlea r9, [r8 + 0x200]\nfxsave64 [r9]`, 64)).toBe(null);
    expect(q(m, b + 8)).toBe(0x0123456789abcdefn);
    expect(q(m, b + 16)).toBe(0xfedcba9876543210n);
    expect(m.mem.read16(b)).toBe(0x0e7f);
    expect(c.fpu!.getST(0)).toBe(Math.PI);
    expect(c.fpu!.getST(1)).toBe(1);
    for (let o = 32; o < 160; o += 4) expect(m.mem.read32(b + o), `register image byte ${o}`).toBe(m.mem.read32(a + o));
  });

  it('FXSAVE faults: #GP(0) unaligned, #NM with CR0.TS, #GP(0) non-canonical, #SS(0) non-canonical through RBP', () => {
    const m = machine();
    expect(m.exec(`mov r8, ${DATA + 8}\nfxsave64 [r8]`, 64)).toBe(Vector.GP);
    m.c.cr0 |= Cr0.TS;
    expect(m.exec(`mov r8, ${DATA}\nfxsave [r8]`, 64)).toBe(Vector.NM);
    expect(m.exec('fld1', 64)).toBe(Vector.NM);
    m.c.cr0 &= ~Cr0.TS;
    expect(m.exec('mov r8, 0x0000800000000000\nfxsave [r8]', 64)).toBe(Vector.GP);
    expect(m.exec('mov rbp, 0x0000800000000000\nfld dword [rbp]', 64)).toBe(Vector.SS);
    expect(m.exec('mov rax, 0x0000800000000000\nfld dword [rax]', 64)).toBe(Vector.GP);
    expect(m.exec('db 0xf0\nfld1', 64), 'LOCK').toBe(Vector.UD);
  });

  it('FNSTENV keeps the 32-bit protected-mode layout in 64-bit mode: FIP[31:0], FCS', () => {
    const m = machine();
    const pre = `fninit\nmov r8, ${DATA}`;
    const fAt = at(pre);
    expect(m.exec(`${pre}\nfldz\nfnstenv [r8]`, 64)).toBe(null);
    expect(m.mem.read16(DATA)).toBe(0x037f);
    expect(m.mem.read32(DATA + 12) >>> 0).toBe(fAt);
    expect(m.mem.read16(DATA + 16)).toBe(CODE64);
    expect(m.mem.read16(DATA + 18)).toBe(0x1ee); // FOP of D9 EE (FLDZ)
    // FLDENV loads a 32-bit FIP: bits 63:32 that FXRSTOR64 had loaded are gone.
    expect(m.exec(`mov r8, ${DATA}\nfxsave64 [r8 + 0x100]`, 64)).toBe(null);
    m.mem.write32(DATA + 0x100 + 12, 0x1234);
    expect(m.exec(`mov r8, ${DATA}\nfxrstor64 [r8 + 0x100]\nfxsave64 [r8 + 0x200]\nfldenv [r8]\nfxsave64 [r8 + 0x300]`, 64)).toBe(null);
    expect(q(m, DATA + 0x200 + 8)).toBe((0x1234n << 32n) | BigInt(fAt));
    expect(q(m, DATA + 0x300 + 8)).toBe(BigInt(fAt));
  });

  it('an unmasked exception: #MF on the next waiting x87 instruction (FWAIT), with FIP = RIP of the faulting one', () => {
    const m = machine();
    const pre = `fninit\nmov r9, ${DATA + 0x900}\nmov word [r9], 0x037b\nfldcw [r9]\nfldz\nfld1`;
    const divAt = at(pre);
    expect(m.exec(`${pre}\nfdiv st0, st1`, 64)).toBe(null); // #Z pending, unmasked
    expect(m.exec('fwait', 64)).toBe(Vector.MF);
    expect(m.exec(`mov r8, ${DATA}\nfnclex\nfxsave64 [r8]`, 64)).toBe(null);
    expect(q(m, DATA + 8)).toBe(BigInt(divAt));
  });
});

describe('XGETBV/XSETBV, XSAVE/XRSTOR in 64-bit mode', () => {
  it('XGETBV clears bits 63:32 of RAX and RDX and ignores RCX[63:32]; XSETBV ignores the upper halves', () => {
    const m = machine(), c = m.c;
    setGpr64(c, 0, 0xffffffffffffffffn); setGpr64(c, 2, 0xffffffffffffffffn);
    expect(m.exec('mov rcx, 0x500000000\nxgetbv', 64)).toBe(null);
    expect(getGpr64(c, 0)).toBe(1n);
    expect(getGpr64(c, 2)).toBe(0n);
    expect(m.exec('mov rcx, 0x100000000\nmov rax, 0x700000001\nmov rdx, 0x300000000\nxsetbv', 64)).toBe(null);
    expect(c.xcr0).toBe(1);
    expect(m.exec('xor ecx, ecx\nmov eax, 3\nxor edx, edx\nxsetbv', 64), 'SSE is not supported').toBe(Vector.GP);
    expect(m.exec('mov ecx, 1\nxgetbv', 64)).toBe(Vector.GP);
    c.cr4 &= ~Cr4.OSXSAVE;
    expect(m.exec('xor ecx, ecx\nxgetbv', 64)).toBe(Vector.UD);
    expect(m.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv', 64)).toBe(Vector.UD);
    expect(m.exec(`mov r8, ${DATA}\nxsave [r8]`, 64)).toBe(Vector.UD);
  });

  it('XSAVE64 stores 64-bit FIP/FDP and XSTATE_BV; XSAVE the 32-bit layout; XRSTOR64 round trip above 4 GB', () => {
    const m = machine(), c = m.c;
    putF64(m, DATA + 0x1000, -3);
    const pre = `fninit\nmov r9, ${HIGH} + ${DATA} + 0x1000\nmov eax, -1\nmov edx, -1\nmov r8, ${HIGH} + ${DATA}`;
    const fAt = at(pre);
    expect(m.exec(`${pre}\nfld qword [r9]\nxsave64 [r8]\nxsave [r8 + 0x400]`, 64)).toBe(null);
    expect(q(m, DATA + 8)).toBe(BigInt(fAt));
    expect(q(m, DATA + 16)).toBe(HIGH_BASE + BigInt(DATA + 0x1000));
    expect(q(m, DATA + 512), 'XSTATE_BV').toBe(1n);
    expect(m.mem.read32(DATA + 0x400 + 8) >>> 0).toBe(fAt);
    expect(m.mem.read16(DATA + 0x400 + 12)).toBe(CODE64);
    expect(m.mem.read32(DATA + 0x400 + 16) >>> 0).toBe(DATA + 0x1000);
    // XRSTOR64 of a modified image (FIP bits 63:32, ST0 = +2) and XSAVE64 again.
    m.mem.write32(DATA + 12, 0x00007fff);
    m.mem.write32(DATA + 32, 0); m.mem.write32(DATA + 36, 0x80000000); m.mem.write16(DATA + 40, 0x4000);
    expect(m.exec(`fninit\nmov eax, 1\nxor edx, edx\nmov r8, ${HIGH} + ${DATA}\nxrstor64 [r8]\nxsave64 [r8 + 0x800]`, 64)).toBe(null);
    expect(c.fpu!.getST(0)).toBe(2);
    expect(q(m, DATA + 0x800 + 8)).toBe((0x7fffn << 32n) | BigInt(fAt));
    expect(m.exec(`mov r8, ${DATA + 0x20}\nxsave [r8]`, 64), 'unaligned').toBe(Vector.GP);
    m.c.cr0 |= Cr0.TS;
    expect(m.exec(`mov r8, ${DATA}\nxrstor [r8]`, 64)).toBe(Vector.NM);
  });
});

describe('GETSEC in 64-bit mode', () => {
  it('CAPABILITIES (EAX = 0): RAX = 0 with bits 63:32 cleared; other leaves #UD; CR4.SMXE = 0: #UD', () => {
    const m = machine({ smx: true }), c = m.c;
    c.cr4 |= Cr4.SMXE;
    expect(m.exec('mov rax, 0x1200000000\nxor ebx, ebx\ngetsec', 64)).toBe(null);
    expect(getGpr64(c, 0)).toBe(0n);
    expect(getRip(c)).toBe(BigInt(at('mov rax, 0x1200000000\nxor ebx, ebx\ngetsec')));
    expect(m.exec('mov eax, 4\ngetsec', 64)).toBe(Vector.UD);
    c.cr4 &= ~Cr4.SMXE;
    expect(m.exec('xor eax, eax\ngetsec', 64)).toBe(Vector.UD);
  });
});
