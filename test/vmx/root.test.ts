// VmxRoot, the interface for root-mode software written in TypeScript: typed results, the
// same checks as the instructions (no shortcut), RFLAGS and the error field as the
// instructions leave them.
import { describe, expect, it } from 'vitest';
import { Cr4, Vector } from '../../src/core/cpu/regs';
import { createCpu } from '../../src/core/cpu/index';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { VmcsField } from '../../src/core/vmx/fields';
import { VmxRoot } from '../../src/core/vmx/root';
import { FAIL_INVALID_FLAGS, FAIL_VALID_FLAGS, SUCCEED_FLAGS, VMCS2_PA, VMCS_PA, VMXON_PA, VmxMachine } from './support';

describe('VmxRoot', () => {
  it('refuses a CPU without VMX', () => {
    expect(() => new VmxRoot(createCpu(new PhysicalMemory(1 << 20), new IoBus()))).toThrow(/has no VMX/);
    expect(() => new VmxMachine('prescott').root()).toThrow(/'prescott' has no VMX/);
  });

  it('goes through the same checks: #UD without CR4.VMXE, #GP at CPL 3, as typed faults', () => {
    const m = new VmxMachine('skylake', { vmxe: false });
    const r = m.root();
    expect(r.vmxon(VMXON_PA)).toEqual({ kind: 'fault', vector: Vector.UD, errorCode: null });
    m.c.cr4 |= Cr4.VMXE;
    m.ring(3);
    expect(r.vmxon(VMXON_PA)).toEqual({ kind: 'fault', vector: Vector.GP, errorCode: 0 });
    m.ring(0);
    expect(r.vmxon(VMXON_PA)).toEqual({ kind: 'succeed' });
    expect(r.vmread(VmcsField.GuestRip).result).toEqual({ kind: 'failInvalid' });
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
  });

  it('returns failValid with the error and its SDM text, and sets ZF like the instruction', () => {
    const m = new VmxMachine('penryn');
    const r = m.enterWithVmcs();
    const res = r.vmwrite(VmcsField.EptPointer, 0);
    expect(res).toEqual({ kind: 'failValid', error: 12, detail: 'VM-instruction error 12 (VMREAD/VMWRITE from/to unsupported VMCS component)' });
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(r.vmread(VmcsField.VmInstructionError)).toEqual({ result: { kind: 'succeed' }, value: 12 });
    expect(m.arith()).toBe(SUCCEED_FLAGS);
  });

  it('vmread64/vmwrite64 move whole 64-bit fields through the full and high encodings', () => {
    const m = new VmxMachine('skylake');
    const r = m.enterWithVmcs();
    expect(r.vmwrite64(VmcsField.VmcsLinkPointer, 0xffffffffffffffffn).kind).toBe('succeed');
    expect(r.vmread64(VmcsField.VmcsLinkPointer).value).toBe(0xffffffffffffffffn);
    expect(r.vmread(VmcsField.VmcsLinkPointerHigh).value).toBe(0xffffffff);
    expect(() => r.vmread64(VmcsField.GuestRip)).toThrow(/not a 64-bit field/);
  });

  it('vmptrst, vmclear, vmptrld, vmcall, invept, invvpid and vmxoff report typed results', () => {
    const m = new VmxMachine('skylake');
    const r = m.root();
    expect(r.vmptrst().result.kind).toBe('fault');
    r.vmxon(VMXON_PA);
    expect(r.vmptrst()).toEqual({ result: { kind: 'succeed' }, pointer: 0xffffffffffffffffn });
    expect(r.vmclear(VMXON_PA)).toEqual({ kind: 'failInvalid' });
    expect(r.vmptrld(VMCS_PA)).toEqual({ kind: 'succeed' });
    expect(r.vmclear(VMXON_PA).kind).toBe('failValid');
    expect(r.vmptrld(BigInt(VMCS_PA) + 0x100000000n)).toMatchObject({ kind: 'failValid', error: 9 });
    expect(r.vmptrst().pointer).toBe(BigInt(VMCS_PA));
    expect(r.vmcall()).toMatchObject({ kind: 'failValid', error: 1 });
    expect(r.invept(2).kind).toBe('succeed');
    expect(r.invept(1, 0x5000n | 0x1en).kind).toBe('succeed');
    expect(r.invept(1, 0x5000n)).toMatchObject({ kind: 'failValid', error: 28 });
    expect(r.invvpid(1, 3).kind).toBe('succeed');
    expect(r.invvpid(1, 3, 0n, 1)).toMatchObject({ kind: 'failValid', error: 28 });
    expect(r.vmptrld(VMCS2_PA).kind).toBe('succeed');
    expect(r.vmxoff()).toEqual({ kind: 'succeed' });
    expect(r.vmxoff()).toEqual({ kind: 'fault', vector: Vector.UD, errorCode: null });
  });
});
