// The VMX instructions for root-mode software written in TypeScript (the VMM of issue 5): the
// same checks and operations as the decoded instructions (instructions.ts), with operands
// given as values instead of ModRM operands. Nothing is shortcut: the CPU must be where root
// software would be (protected mode with paging, CPL 0, CR4.VMXE, IA32_FEATURE_CONTROL locked
// with VMX enabled), RFLAGS and the VM-instruction error field change as the instruction's
// would, and a #UD or #GP comes back as a `fault` result instead of being delivered.
//
// Operand size is that of the emulated CPU outside 64-bit mode: VMREAD/VMWRITE move 32 bits;
// vmread64/vmwrite64 use the full and high encodings of a 64-bit field, as 32-bit code must.
//
// Running the guest. vmlaunch()/vmresume() enter the guest and run the CPU (Cpu.run, or the
// runner given, e.g. a machine's run so that its devices advance) in slices until the next VM
// exit, which ends the call with the exit record (kind 'exit'); the CPU then stands at the host
// state of the VMCS, stopped (hosted mode: VmxUnit.hosted), and the TypeScript VMM goes on.
// When the instruction budget runs out first, the result is 'running' (the guest is still in
// VMX non-root operation; runGuest() continues it). A VM-entry failure (exit reason 33 or 34
// with bit 31) is an 'exit' too; a VMX abort is 'shutdown'.
import { readFieldLong, writeFieldLong } from './operands64';
import { FAULT } from '../cpu/fault';
import type { Cpu } from '../cpu/cpu';
import { VM_EXIT } from '../cpu/vmx-hooks';
import { VmInstructionError, vmInstructionErrorLabel } from './errors';
import { ExitReason } from './exit-reasons';
import { VmcsField, FieldWidth, fieldWidth } from './fields';
import type { VmExitRecord } from './exit-record';
import {
  VM_FAIL_INVALID, VM_SUCCEED, VmOutcome, commonChecks, currentPointer, finish, inveptChecks,
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
  /** VMLAUNCH/VMRESUME/runGuest: the guest ran and left by a VM exit, or VM entry failed during
   *  or after loading guest state (exit reason bit 31). `exit` is the unit's record: read it
   *  before the next VMX call, which overwrites it. */
  | { readonly kind: 'exit'; readonly exit: VmExitRecord }
  /** The instruction budget ran out with the guest still in VMX non-root operation (`halted`:
   *  it waits in HLT, shutdown or wait-for-SIPI for an event): runGuest() continues it. */
  | { readonly kind: 'running'; readonly halted: boolean }
  /** The CPU shut down: a VMX abort (SDM Vol. 3C §28.7), `detail` says which. */
  | { readonly kind: 'shutdown'; readonly detail: string };

/** How VmxRoot runs the CPU while the guest runs: Cpu.run by default; a machine's run (with a
 *  `stop` that ends it) keeps devices and timers going. */
export interface GuestRunner {
  run(budget: number): void;
  /** Ends `run` at the next instruction boundary (called at the VM exit). */
  stop?(): void;
}

/** Instructions vmlaunch/vmresume/runGuest run the guest for at most, by default. */
export const DEFAULT_GUEST_BUDGET = 10_000_000;
/** Slice of one runner call. */
const SLICE = 100_000;

export interface VmreadResult { readonly result: VmxResult; readonly value: number }
export interface Vmread64Result { readonly result: VmxResult; readonly value: bigint }
export interface VmptrstResult { readonly result: VmxResult; readonly pointer: bigint }

const SUCCEED: VmxResult = Object.freeze({ kind: 'succeed' });
const FAIL_INVALID: VmxResult = Object.freeze({ kind: 'failInvalid' });
const CONTINUE = -2;
/** Internal outcome: VM entry went on past the checks on controls and host state (the guest's
 *  RFLAGS, or the host's after a VM-entry failure: no VMsucceed/VMfail convention applies). */
const ENTERED = -3;

/** Internal: `run` saw VM entry go past the checks (launch() then reports the exit or runs). */
const ENTERED_RESULT: VmxResult = Object.freeze({ kind: 'running', halted: false });

/** A 64-bit operand as [lo, hi] u32 halves; numbers must be non-negative integers below 2^53. */
function split64(v: bigint | number): [number, number] {
  const b = typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v);
  return [Number(b & 0xffffffffn), Number((b >> 32n) & 0xffffffffn)];
}

export class VmxRoot {
  readonly unit: VmxUnit;
  private readonly out = new Int32Array(4);
  private readonly runner: GuestRunner;

  constructor(readonly cpu: Cpu, runner?: GuestRunner) {
    if (!(cpu.vmx instanceof VmxUnit)) throw new Error(`VmxRoot: CPU model '${cpu.model.name}' has no VMX`);
    this.unit = cpu.vmx;
    this.runner = runner ?? { run: (n) => { cpu.run(n); } };
    // The runner's stop at every VM exit while runGuest runs the guest (one listener for the
    // root's life: no allocation per entry).
    const stop = this.runner.stop;
    if (stop !== undefined) this.unit.addExitListener(() => { if (this.guestRunning) stop(); });
    this.exitResult = Object.freeze({ kind: 'exit', exit: this.unit.record });
  }
  private guestRunning = false;
  /** The 'exit' result (the unit's record is one object, overwritten by each exit). */
  private readonly exitResult: VmxResult;

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
    const value = this.vmreadValue(field);
    return { result: this.lastResult, value };
  }

  /** VMREAD without allocating (root-mode software's hot path): the value (0 unless it
   *  succeeded), with `lastResult` saying how it went. */
  vmreadValue(field: VmcsField | number): number {
    if (this.cpu.nonRoot) this.noGuestRunning('instruction');
    let o: VmOutcome;
    try {
      commonChecks(this.unit, ExitReason.Vmread);
      o = vmreadOperation(this.unit, field >>> 0, this.out);
    } catch (e) { this.lastResult = this.caught(e); return 0; }
    this.lastResult = this.outcome(o);
    return o === VM_SUCCEED ? this.out[0] >>> 0 : 0;
  }

  /** VMWRITE with a 32-bit operand. */
  vmwrite(field: VmcsField | number, value: number): VmxResult {
    if (this.cpu.nonRoot) this.noGuestRunning('instruction');
    let o: VmOutcome;
    try {
      commonChecks(this.unit, ExitReason.Vmwrite);
      o = vmwritePrelude(this.unit);
      if (o === CONTINUE) o = vmwriteOperation(this.unit, field >>> 0, value | 0);
    } catch (e) { return (this.lastResult = this.caught(e)); }
    return (this.lastResult = this.outcome(o));
  }

  /** VMREAD with a 64-bit operand, as in 64-bit mode (SDM Vol. 3C §31.3 VMREAD: natural-width
   *  and 64-bit fields whole, narrower ones zero-extended). Throws outside 64-bit mode, where
   *  the operand size is 32 bits. */
  vmreadLong(field: VmcsField | number): Vmread64Result {
    if (!this.cpu.mode64) throw new Error('vmreadLong: the CPU is not in 64-bit mode');
    this.vmreadValue(field);
    return { result: this.lastResult, value: this.lastResult.kind === 'succeed' ? readFieldLong(this.unit.vmcs, field >>> 0) : 0n };
  }

  /** VMWRITE with a 64-bit operand, as in 64-bit mode. Throws outside 64-bit mode. */
  vmwriteLong(field: VmcsField | number, value: bigint): VmxResult {
    if (!this.cpu.mode64) throw new Error('vmwriteLong: the CPU is not in 64-bit mode');
    const r = this.vmwrite(field, 0);
    if (r.kind === 'succeed') writeFieldLong(this.unit.vmcs, field >>> 0, BigInt.asUintN(64, value));
    return r;
  }

  /** How the last vmreadValue/vmread/vmwrite went. */
  lastResult: VmxResult = SUCCEED;

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

  /** VMLAUNCH, then the guest runs until its next VM exit or for `budget` instructions. */
  vmlaunch(budget = DEFAULT_GUEST_BUDGET): VmxResult { return this.launch(true, budget); }
  /** VMRESUME, then as vmlaunch. */
  vmresume(budget = DEFAULT_GUEST_BUDGET): VmxResult { return this.launch(false, budget); }

  private launch(launch: boolean, budget: number): VmxResult {
    this.noGuestRunning(launch ? 'vmlaunch' : 'vmresume');
    let detail = '';
    const before = this.unit.exitCount;
    const result = this.run(() => {
      commonChecks(this.unit, launch ? ExitReason.Vmlaunch : ExitReason.Vmresume);
      const r = launchOperation(this.unit, launch, false);
      if (r.failure !== null) detail = this.unit.lastEntryFailure ?? r.failure.check;
      return r.entered !== null ? ENTERED : r.outcome;
    });
    if (result !== ENTERED_RESULT) return result.kind === 'failValid' && detail !== '' ? { ...result, detail } : result;
    // VM-entry failure, or an exit while injecting: the host state is loaded already (or a VMX
    // abort shut the CPU down).
    if (this.unit.exitCount !== before) return this.exitResult;
    if (this.cpu.shutdown) return { kind: 'shutdown', detail: this.cpu.shutdownReason };
    return this.runGuest(budget);
  }

  /** Runs the guest that is in VMX non-root operation until its next VM exit or for `budget`
   *  instructions (after a 'running' result). */
  runGuest(budget = DEFAULT_GUEST_BUDGET): VmxResult {
    const c = this.cpu, u = this.unit;
    if (!c.nonRoot) throw new Error('VmxRoot.runGuest: no guest is in VMX non-root operation');
    const before = u.exitCount;
    this.guestRunning = true;
    u.hosted = true;
    try {
      let left = budget;
      while (c.nonRoot && left > 0 && !c.shutdown) {
        const i0 = c.icount, t0 = c.tsc();
        this.runner.run(Math.min(left, SLICE));
        const done = c.icount - i0;
        left -= done;
        // A guest waiting for an event that does not come within the slice (no time passed).
        if (done === 0 && c.tsc() === t0) break;
      }
    } finally {
      u.hosted = false;
      c.stopRequested = false;
      this.guestRunning = false;
    }
    if (u.exitCount !== before) return this.exitResult;
    if (c.shutdown) return { kind: 'shutdown', detail: c.shutdownReason };
    return { kind: 'running', halted: c.halted || c.waitForSipi };
  }

  /** The VMX instructions of VmxRoot are root-mode software's: none while a guest runs. */
  private noGuestRunning(what: string): void {
    if (this.cpu.nonRoot) throw new Error(`VmxRoot.${what}: the guest is still in VMX non-root operation (budget exhausted): call runGuest() until it exits`);
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
    if (this.cpu.nonRoot) this.noGuestRunning('instruction');
    try {
      o = body();
    } catch (e) {
      return this.caught(e);
    }
    return this.outcome(o);
  }

  /** A VMX instruction's body threw: a VM exit during VM-entry event injection, or a fault. */
  private caught(e: unknown): VmxResult {
    if (e === VM_EXIT) return ENTERED_RESULT;
    if (e !== FAULT) throw e;
    return { kind: 'fault', vector: FAULT.vector, errorCode: FAULT.hasErrorCode ? FAULT.errorCode : null };
  }

  /** Applies an outcome as the instruction would (RFLAGS, VM-instruction error field). */
  private outcome(o: VmOutcome): VmxResult {
    if (o === ENTERED) return ENTERED_RESULT;
    finish(this.unit, o);
    if (o === VM_SUCCEED) return SUCCEED;
    if (o === VM_FAIL_INVALID) return FAIL_INVALID;
    return { kind: 'failValid', error: o as VmInstructionError, detail: vmInstructionErrorLabel(o) };
  }
}
