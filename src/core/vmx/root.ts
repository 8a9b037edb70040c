// The VMX instructions for root-mode software written in TypeScript (the VMM of issue 5): the
// same checks and operations as the decoded instructions (instructions.ts), with operands
// given as values instead of ModRM operands. Nothing is shortcut: the CPU must be where root
// software would be (protected mode with paging, CPL 0, CR4.VMXE, IA32_FEATURE_CONTROL locked
// with VMX enabled), RFLAGS and the VM-instruction error field change as the instruction's
// would, and a #UD or #GP comes back as a `fault` result instead of being delivered.
//
// Operand size is that of the emulated CPU outside 64-bit mode: VMREAD/VMWRITE move 32 bits;
// vmread64/vmwrite64 use the full and high encodings of a 64-bit field, as 32-bit code must.
import { FAULT } from '../cpu/fault';
import type { Cpu } from '../cpu/cpu';
import { VmInstructionError, vmInstructionErrorLabel } from './errors';
import { ExitReason } from './exit-reasons';
import { VmcsField, FieldWidth, fieldWidth } from './fields';
import {
  EnterResult, VM_FAIL_INVALID, VM_SUCCEED, VmOutcome, commonChecks, currentPointer, finish, inveptChecks,
  inveptOperation, inveptTypeSupported, invvpidChecks, invvpidOperation, invvpidTypeSupported, launchOperation,
  vmcallInRoot, vmclearOperation, vmfail, vmptrldOperation, vmreadOperation, vmwriteOperation, vmwritePrelude,
  vmxoffOperation, vmxonChecks, vmxonOperation,
} from './instructions';
import { VmxUnit } from './unit';

/** What a VMX instruction did. */
export type VmxResult =
  | { readonly kind: 'succeed' }
  | { readonly kind: 'failInvalid' }
  | { readonly kind: 'failValid'; readonly error: VmInstructionError; readonly detail: string }
  | { readonly kind: 'fault'; readonly vector: number; readonly errorCode: number | null }
  /** VMLAUNCH/VMRESUME passed the checks on controls and host state; guest entry is the next phase. */
  | { readonly kind: 'entryNotImplemented'; readonly detail: string };

export interface VmreadResult { readonly result: VmxResult; readonly value: number }
export interface Vmread64Result { readonly result: VmxResult; readonly value: bigint }
export interface VmptrstResult { readonly result: VmxResult; readonly pointer: bigint }

const SUCCEED: VmxResult = Object.freeze({ kind: 'succeed' });
const FAIL_INVALID: VmxResult = Object.freeze({ kind: 'failInvalid' });
const CONTINUE = -2;
/** Internal outcome: the entry checks passed and guest entry is not implemented (no RFLAGS). */
const ENTRY_NOT_IMPLEMENTED = -3;

/** A 64-bit operand as [lo, hi] u32 halves; numbers must be non-negative integers below 2^53. */
function split64(v: bigint | number): [number, number] {
  const b = typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v);
  return [Number(b & 0xffffffffn), Number((b >> 32n) & 0xffffffffn)];
}

export class VmxRoot {
  readonly unit: VmxUnit;
  private readonly out = new Int32Array(4);

  constructor(readonly cpu: Cpu) {
    if (!(cpu.vmx instanceof VmxUnit)) throw new Error(`VmxRoot: CPU model '${cpu.model.name}' has no VMX`);
    this.unit = cpu.vmx;
  }

  vmxon(pa: bigint | number): VmxResult {
    return this.run(() => {
      const o = vmxonChecks(this.unit);
      if (o !== CONTINUE) return o;
      const [lo, hi] = split64(pa);
      return vmxonOperation(this.unit, lo, hi);
    });
  }

  vmxoff(): VmxResult {
    return this.run(() => { commonChecks(this.unit, ExitReason.Vmxoff); return vmxoffOperation(this.unit); });
  }

  vmclear(pa: bigint | number): VmxResult {
    return this.run(() => {
      commonChecks(this.unit, ExitReason.Vmclear);
      const [lo, hi] = split64(pa);
      return vmclearOperation(this.unit, lo, hi);
    });
  }

  vmptrld(pa: bigint | number): VmxResult {
    return this.run(() => {
      commonChecks(this.unit, ExitReason.Vmptrld);
      const [lo, hi] = split64(pa);
      return vmptrldOperation(this.unit, lo, hi);
    });
  }

  /** VMPTRST: the current-VMCS pointer (FFFFFFFF_FFFFFFFFh when there is none). */
  vmptrst(): VmptrstResult {
    let pointer = 0n;
    const result = this.run(() => {
      commonChecks(this.unit, ExitReason.Vmptrst);
      currentPointer(this.unit, this.out);
      pointer = (BigInt(this.out[1] >>> 0) << 32n) | BigInt(this.out[0] >>> 0);
      return VM_SUCCEED;
    });
    return { result, pointer };
  }

  /** VMREAD with a 32-bit operand (the value is unsigned; 0 unless the result is `succeed`). */
  vmread(field: VmcsField | number): VmreadResult {
    let value = 0;
    const result = this.run(() => {
      commonChecks(this.unit, ExitReason.Vmread);
      const o = vmreadOperation(this.unit, field >>> 0, this.out);
      if (o === VM_SUCCEED) value = this.out[0] >>> 0;
      return o;
    });
    return { result, value };
  }

  /** VMWRITE with a 32-bit operand. */
  vmwrite(field: VmcsField | number, value: number): VmxResult {
    return this.run(() => {
      commonChecks(this.unit, ExitReason.Vmwrite);
      const o = vmwritePrelude(this.unit);
      return o === CONTINUE ? vmwriteOperation(this.unit, field >>> 0, value | 0) : o;
    });
  }

  /** A whole 64-bit field: VMREAD of its full encoding, then of its high encoding. */
  vmread64(field: VmcsField): Vmread64Result {
    if (fieldWidth(field) !== FieldWidth.Bits64) throw new Error(`vmread64: ${field} is not a 64-bit field`);
    const lo = this.vmread(field & ~1);
    if (lo.result.kind !== 'succeed') return { result: lo.result, value: 0n };
    const hi = this.vmread(field | 1);
    return { result: hi.result, value: (BigInt(hi.value) << 32n) | BigInt(lo.value) };
  }

  /** A whole 64-bit field: VMWRITE of its full encoding (which clears the high half), then of
   *  its high encoding. */
  vmwrite64(field: VmcsField, value: bigint): VmxResult {
    if (fieldWidth(field) !== FieldWidth.Bits64) throw new Error(`vmwrite64: ${field} is not a 64-bit field`);
    const [lo, hi] = split64(value);
    const r = this.vmwrite(field & ~1, lo);
    return r.kind !== 'succeed' ? r : this.vmwrite(field | 1, hi);
  }

  vmlaunch(): VmxResult { return this.launch(true); }
  vmresume(): VmxResult { return this.launch(false); }

  private launch(launch: boolean): VmxResult {
    let detail = '';
    const result = this.run(() => {
      commonChecks(this.unit, launch ? ExitReason.Vmlaunch : ExitReason.Vmresume);
      const r = launchOperation(this.unit, launch);
      if (r.failure !== null) detail = this.unit.lastEntryFailure ?? r.failure.check;
      return r.entered === EnterResult.NotImplemented ? ENTRY_NOT_IMPLEMENTED : r.outcome;
    });
    if (result.kind === 'entryNotImplemented') {
      return { kind: 'entryNotImplemented', detail: `${launch ? 'VMLAUNCH' : 'VMRESUME'}: ${result.detail}` };
    }
    if (result.kind === 'failValid' && detail !== '') return { ...result, detail };
    return result;
  }

  vmcall(): VmxResult {
    return this.run(() => vmcallInRoot(this.unit));
  }

  /** INVEPT: type 1 (single context, with `eptp`) or 2 (all contexts). */
  invept(type: number, eptp: bigint | number = 0n): VmxResult {
    return this.run(() => {
      inveptChecks(this.unit);
      if (!inveptTypeSupported(this.unit, type >>> 0)) return vmfail(this.unit, VmInstructionError.InvalidInveptInvvpidOperand);
      const [lo, hi] = split64(eptp);
      this.out[0] = lo; this.out[1] = hi; this.out[2] = 0; this.out[3] = 0;
      return inveptOperation(this.unit, type >>> 0, this.out);
    });
  }

  /** INVVPID: type 0 (individual address), 1 (single context), 2 (all contexts), 3 (single
   *  context retaining globals); `reserved` is descriptor bits 63:16 (must be 0). */
  invvpid(type: number, vpid: number, linear: bigint | number = 0n, reserved = 0): VmxResult {
    return this.run(() => {
      invvpidChecks(this.unit);
      if (!invvpidTypeSupported(this.unit, type >>> 0)) return vmfail(this.unit, VmInstructionError.InvalidInveptInvvpidOperand);
      const [la, lh] = split64(linear);
      this.out[0] = (vpid & 0xffff) | ((reserved & 0xffff) << 16); this.out[1] = reserved >>> 16;
      this.out[2] = la; this.out[3] = lh;
      return invvpidOperation(this.unit, type >>> 0, this.out);
    });
  }

  /** Runs an instruction body: its outcome is applied as the instruction would (RFLAGS, error
   *  field) and returned typed; a CPU exception becomes a `fault` result. */
  private run(body: () => VmOutcome): VmxResult {
    let o: VmOutcome;
    try {
      o = body();
    } catch (e) {
      if (e !== FAULT) throw e;
      return { kind: 'fault', vector: FAULT.vector, errorCode: FAULT.hasErrorCode ? FAULT.errorCode : null };
    }
    if (o === ENTRY_NOT_IMPLEMENTED) {
      return { kind: 'entryNotImplemented', detail: 'VM entry of guest state not implemented yet (the checks on controls and host state passed)' };
    }
    finish(this.unit, o);
    if (o === VM_SUCCEED) return SUCCEED;
    if (o === VM_FAIL_INVALID) return FAIL_INVALID;
    return { kind: 'failValid', error: o as VmInstructionError, detail: vmInstructionErrorLabel(o) };
  }
}
