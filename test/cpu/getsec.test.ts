// SMX (SDM Vol. 2D ch. 7) as an opt-in model option (cpuModelFor(gen, { smx: true })): CPUID.1:
// ECX.SMX, CR4.SMXE, IA32_FEATURE_CONTROL[1], and GETSEC outside VMX non-root operation: #UD
// without CR4.SMXE, GETSEC[CAPABILITIES] reporting no TXT chipset and no leaf, every other leaf
// #UD. Without the option (the default) none of it exists.
import { describe, expect, it } from 'vitest';
import { cpuidLeaf } from '../../src/core/cpu/model';
import { Cr4, Vector } from '../../src/core/cpu/regs';
import { VmxMachine } from '../vmx/support';

const SMXE_ON = `mov eax, cr4\nor eax, ${Cr4.SMXE}\nmov cr4, eax`;

describe('SMX off (the default)', () => {
  it('CPUID.1:ECX.SMX = 0; CR4.SMXE is refused (#GP(0)); GETSEC is #UD; IA32_FEATURE_CONTROL[1] is reserved', () => {
    const m = new VmxMachine('skylake', { featureControl: 0 }), o = new Int32Array(4);
    cpuidLeaf(m.model, 1, 0, o);
    expect((o[2] >>> 6) & 1).toBe(0);
    expect(m.exec(SMXE_ON)).toBe(Vector.GP);
    expect(m.exec('xor eax, eax\nxor ebx, ebx\ngetsec')).toBe(Vector.UD);
    expect(m.exec('mov ecx, 0x3a\nmov eax, 7\nxor edx, edx\nwrmsr'), 'VMX inside SMX').toBe(Vector.GP);
    expect(m.exec('mov ecx, 0x3a\nmov eax, 5\nxor edx, edx\nwrmsr')).toBeNull();
    expect(m.rdmsr(0x3a)).toEqual([5, 0]);
  });
});

describe('SMX on ({ smx: true })', () => {
  it('CPUID.1:ECX.SMX = 1; IA32_FEATURE_CONTROL[1] is writable', () => {
    const m = new VmxMachine('haswell', { smx: true, featureControl: 0 }), o = new Int32Array(4);
    cpuidLeaf(m.model, 1, 0, o);
    expect((o[2] >>> 6) & 1).toBe(1);
    expect(m.exec('mov ecx, 0x3a\nmov eax, 7\nxor edx, edx\nwrmsr')).toBeNull();
    expect(m.rdmsr(0x3a)).toEqual([7, 0]);
  });

  it('GETSEC is #UD while CR4.SMXE = 0', () => {
    const m = new VmxMachine('haswell', { smx: true });
    expect(m.exec('xor eax, eax\nxor ebx, ebx\ngetsec')).toBe(Vector.UD);
  });

  it('GETSEC[CAPABILITIES]: EAX = 0 (no TXT chipset, no leaf) for EBX = 0 and beyond, at any CPL', () => {
    const m = new VmxMachine('haswell', { smx: true }), c = m.c;
    expect(m.exec(SMXE_ON)).toBeNull();
    expect(m.exec('mov eax, 0\nxor ebx, ebx\ngetsec')).toBeNull();
    expect(c.r32[0]).toBe(0);
    expect(m.exec('mov eax, 0\nmov ebx, 1\ngetsec')).toBeNull();
    expect(c.r32[0]).toBe(0);
    m.ring(3);
    expect(m.exec('mov eax, 0\nxor ebx, ebx\ngetsec'), 'CPL 3').toBeNull();
    expect(c.r32[0]).toBe(0);
  });

  it('every other leaf is #UD (CAPABILITIES reports none), undefined leaves too; LOCK is #UD', () => {
    const m = new VmxMachine('haswell', { smx: true });
    expect(m.exec(SMXE_ON)).toBeNull();
    for (const leaf of [2, 3, 4, 5, 6, 7, 8, 9, 0x100]) expect(m.exec(`mov eax, ${leaf}\ngetsec`), `leaf ${leaf}`).toBe(Vector.UD);
    expect(m.exec('xor eax, eax\nxor ebx, ebx\ndb 0xf0, 0x0f, 0x37')).toBe(Vector.UD);
  });
});
