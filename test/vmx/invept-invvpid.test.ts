// INVEPT and INVVPID (SDM Vol. 3C §31.3): #UD where the processor lacks them or outside VMX
// operation, #GP(0) at CPL 3, error 28 for unsupported types and invalid descriptors, success.
import { describe, expect, it } from 'vitest';
import { Vector } from '../../src/core/cpu/regs';
import { VmcsField } from '../../src/core/vmx/fields';
import { DATA, FAIL_INVALID_FLAGS, FAIL_VALID_FLAGS, SET_ALL_FLAGS, SUCCEED_FLAGS, VMXON_PA, VmxMachine } from './support';

/** Writes a 128-bit descriptor (four dwords) at DATA. */
function desc(m: VmxMachine, d: [number, number, number, number]): void {
  d.forEach((v, i) => m.mem.write32(DATA + i * 4, v));
}

function error(m: VmxMachine): number { return m.root().vmread(VmcsField.VmInstructionError).value; }

describe('INVEPT', () => {
  it('#UD on generations without EPT (penryn), outside VMX operation, without the 66 prefix and with a register operand', () => {
    const p = new VmxMachine('penryn');
    p.root().vmxon(VMXON_PA);
    expect(p.exec(`invept eax, [${DATA}]`)).toBe(Vector.UD);
    const m = new VmxMachine('skylake');
    expect(m.exec(`invept eax, [${DATA}]`)).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    expect(m.exec('db 0x0f, 0x38, 0x80, 0x00 ; INVEPT without 66')).toBe(Vector.UD);
    expect(m.exec('db 0xf3, 0x0f, 0x38, 0x80, 0x00 ; with F3')).toBe(Vector.UD);
    expect(m.exec('db 0x66, 0x0f, 0x38, 0x80, 0xc0 ; register operand')).toBe(Vector.UD);
    m.ring(3);
    expect(m.exec(`invept eax, [${DATA}]`)).toBe(Vector.GP);
  });

  it('error 28 for types other than 1 and 2 (VMfailInvalid without a current VMCS) and for an invalid single-context EPTP', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    desc(m, [0x5000 | 0x18 | 6, 0, 0, 0]);
    m.c.r32[0] = 3;
    expect(m.exec(`${SET_ALL_FLAGS}invept eax, [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    m.root().vmptrld(0x101000);
    for (const type of [0, 3, 0x101]) {
      m.c.r32[0] = type;
      expect(m.exec(`${SET_ALL_FLAGS}invept eax, [${DATA}]`)).toBeNull();
      expect(m.arith(), `type ${type}`).toBe(FAIL_VALID_FLAGS);
      expect(error(m)).toBe(28);
    }
    desc(m, [0x5000 | 0x18 | 1, 0, 0, 0]); // memory type WC: not an EPT memory type
    m.c.r32[0] = 1;
    expect(m.exec(`invept eax, [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(error(m)).toBe(28);
  });

  it('succeeds for single-context (valid EPTP) and all-context invalidation', () => {
    const m = new VmxMachine('nehalem');
    m.root().vmxon(VMXON_PA);
    desc(m, [0x5000 | 0x18 | 6, 0, 0, 0]);
    for (const type of [1, 2]) {
      m.c.r32[0] = type;
      expect(m.exec(`${SET_ALL_FLAGS}invept eax, [${DATA}]`)).toBeNull();
      expect(m.arith(), `type ${type}`).toBe(SUCCEED_FLAGS);
    }
  });

  it('faults on its descriptor (#PF) after the type check', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    m.c.r32[0] = 2;
    expect(m.exec('invept eax, [0x2000000]')).toBe(Vector.PF);
    m.c.r32[0] = 7; // unsupported type: VMfail before the descriptor is read
    expect(m.exec('invept eax, [0x2000000]')).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
  });
});

describe('INVVPID', () => {
  it('#UD without VPID (merom, penryn) and outside VMX operation; #GP(0) at CPL 3', () => {
    for (const gen of ['merom', 'penryn']) {
      const p = new VmxMachine(gen);
      p.root().vmxon(VMXON_PA);
      expect(p.exec(`invvpid eax, [${DATA}]`), gen).toBe(Vector.UD);
    }
    const m = new VmxMachine('skylake');
    expect(m.exec(`invvpid eax, [${DATA}]`)).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    m.ring(3);
    expect(m.exec(`invvpid eax, [${DATA}]`)).toBe(Vector.GP);
  });

  it('error 28: type above 3, reserved bits 63:16, VPID 0 for types 0/1/3, a linear address above 32 bits', () => {
    const m = new VmxMachine('westmere');
    m.root().vmxon(VMXON_PA);
    m.root().vmptrld(0x101000);
    const cases: [number, [number, number, number, number]][] = [
      [4, [1, 0, 0, 0]], [1, [0x10001, 0, 0, 0]], [1, [1, 1, 0, 0]], [0, [0, 0, 0x1000, 0]], [1, [0, 0, 0, 0]],
      [3, [0, 0, 0, 0]], [0, [1, 0, 0x1000, 1]],
    ];
    for (const [type, d] of cases) {
      desc(m, d);
      m.c.r32[0] = type;
      expect(m.exec(`${SET_ALL_FLAGS}invvpid eax, [${DATA}]`)).toBeNull();
      expect(m.arith(), `type ${type} ${d}`).toBe(FAIL_VALID_FLAGS);
      expect(error(m)).toBe(28);
    }
  });

  it('succeeds for each type with a valid descriptor (all-context allows VPID 0)', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    const ok: [number, [number, number, number, number]][] = [[0, [5, 0, 0x401000, 0]], [1, [5, 0, 0, 0]], [2, [0, 0, 0, 0]], [3, [7, 0, 0, 0]]];
    for (const [type, d] of ok) {
      desc(m, d);
      m.c.r32[0] = type;
      expect(m.exec(`${SET_ALL_FLAGS}invvpid eax, [${DATA}]`)).toBeNull();
      expect(m.arith(), `type ${type}`).toBe(SUCCEED_FLAGS);
    }
  });
});
