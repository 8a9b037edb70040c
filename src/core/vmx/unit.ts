// A CPU's VMX unit: the VMX state of one logical processor (VMX operation, VMXON pointer, the
// current VMCS) and the instructions as the decoded rows call them (src/core/cpu/ops/vmx.ts,
// through the VmxHooks interface). Operands come from the instruction's ModRM decoding; the
// checks and operations are those of instructions.ts, shared with VmxRoot.
import type { Cpu } from '../cpu/cpu';
import type { VmxHooks } from '../cpu/vmx-hooks';
import type { VmxCapabilities } from './capabilities';
import { ExitReason, exitReasonLabel } from './exit-reasons';
import {
  EnterResult, VM_SUCCEED, commonChecks, crFixedOk, currentPointer, finish, inveptChecks, inveptOperation,
  inveptTypeSupported, invvpidChecks, invvpidOperation, invvpidTypeSupported, launchOperation, readM128, readM64,
  vmcallInRoot, vmclearOperation, vmfail, vmptrldOperation, vmreadOperation, vmwriteOperation, vmwritePrelude,
  vmxoffOperation, vmxonChecks, vmxonOperation, writeM64,
} from './instructions';
import { VmInstructionError } from './errors';
import { CurrentVmcs, NO_VMCS } from './vmcs';

const CONTINUE = -2;

export class VmxUnit implements VmxHooks {
  /** In VMX operation (root or non-root), after VMXON and until VMXOFF or RESET. */
  inVmxOperation = false;
  /** In VMX non-root operation: a guest runs. Only VM entry sets it (the next phase). */
  nonRoot = false;
  /** Physical address of the VMXON region, or NO_VMCS. */
  vmxonPtr = NO_VMCS;
  /** The processor's copy of the current VMCS (vmcs.ts). */
  readonly vmcs = new CurrentVmcs();
  /** Why the last VMLAUNCH/VMRESUME failed its checks on controls or host state, or null. */
  lastEntryFailure: string | null = null;
  // Scratch operands (no allocation per instruction).
  private readonly op = new Int32Array(4);

  constructor(readonly cpu: Cpu, readonly caps: VmxCapabilities) {}

  // ---- state transitions ---------------------------------------------------------------

  /** VMXON succeeded (§31.3 VMXON): VMX root operation, no current VMCS. INIT blocking is the
   *  platform's to honour (`inVmxOperation`); A20M blocking is not modelled: the machine's A20
   *  gate still applies in VMX operation. */
  enterVmxOperation(vmxonPa: number): void {
    this.inVmxOperation = true;
    this.nonRoot = false;
    this.vmxonPtr = vmxonPa;
    this.vmcs.pa = NO_VMCS;
    this.vmcs.launched = false;
  }

  /** VMXOFF: leaves VMX operation. The current VMCS is written back to memory first (hardware
   *  need not do so; software must VMCLEAR active VMCSs before VMXOFF, §31.3 VMXOFF). */
  leaveVmxOperation(): void {
    this.vmcs.release(this.cpu.mem);
    this.inVmxOperation = false;
    this.nonRoot = false;
    this.vmxonPtr = NO_VMCS;
  }

  /**
   * VM entry of guest state (§27.3-27.8): the next phase implements it. Called once the checks
   * on controls and host state passed; returns what happened.
   */
  enterGuest(_launch: boolean): EnterResult {
    return EnterResult.NotImplemented;
  }

  /** A VMX instruction in VMX non-root operation exits to the VMM (§26.1.2). Unreachable
   *  until VM entry exists: nothing sets `nonRoot` yet. */
  exitOnInstruction(reason: ExitReason): never {
    throw new Error(`VM exit for ${exitReasonLabel(reason)}: VMX non-root operation is not implemented yet`);
  }

  /** INVEPT: no guest-physical or combined mappings exist before EPT is implemented, so there
   *  is nothing to drop (SDM Vol. 3C §29.4 "Caching Translation Information"). */
  invalidateEpt(_type: number, _eptpLo: number, _eptpHi: number): void { /* nothing cached yet */ }
  /** INVVPID: no VPID-tagged mappings exist yet (VM entry is the next phase). */
  invalidateVpid(_type: number, _vpid: number, _linear: number): void { /* nothing cached yet */ }

  // ---- VmxHooks: decoded instructions -----------------------------------------------------

  vmxon(): void {
    let o = vmxonChecks(this);
    if (o === CONTINUE) { readM64(this.cpu, this.op); o = vmxonOperation(this, this.op[0], this.op[1]); }
    finish(this, o);
  }

  vmxoff(): void {
    commonChecks(this, ExitReason.Vmxoff);
    finish(this, vmxoffOperation(this));
  }

  vmclear(): void {
    commonChecks(this, ExitReason.Vmclear);
    readM64(this.cpu, this.op);
    finish(this, vmclearOperation(this, this.op[0], this.op[1]));
  }

  vmptrld(): void {
    commonChecks(this, ExitReason.Vmptrld);
    readM64(this.cpu, this.op);
    finish(this, vmptrldOperation(this, this.op[0], this.op[1]));
  }

  vmptrst(): void {
    commonChecks(this, ExitReason.Vmptrst);
    currentPointer(this, this.op);
    writeM64(this.cpu, this.op[0], this.op[1]);
    finish(this, VM_SUCCEED);
  }

  /** VMREAD Ed,Gd: the field encoding in the reg operand, the destination r/m32. */
  vmread(): void {
    const c = this.cpu;
    commonChecks(this, ExitReason.Vmread);
    const o = vmreadOperation(this, c.r32[c.modReg], this.op);
    if (o === VM_SUCCEED) {
      if (c.modrm >= 0xc0) c.r32[c.modrm & 7] = this.op[0];
      else c.write32(c.eaSeg, c.eaOff, this.op[0]);
    }
    finish(this, o);
  }

  /** VMWRITE Gd,Ed: the field encoding in the reg operand, the value in r/m32. */
  vmwrite(): void {
    const c = this.cpu;
    commonChecks(this, ExitReason.Vmwrite);
    let o = vmwritePrelude(this);
    if (o === CONTINUE) {
      const v = c.modrm >= 0xc0 ? c.r32[c.modrm & 7] : c.read32(c.eaSeg, c.eaOff);
      o = vmwriteOperation(this, c.r32[c.modReg], v);
    }
    finish(this, o);
  }

  vmlaunch(): void { this.launch(true); }
  vmresume(): void { this.launch(false); }

  private launch(launch: boolean): void {
    commonChecks(this, launch ? ExitReason.Vmlaunch : ExitReason.Vmresume);
    const r = launchOperation(this, launch);
    if (r.entered === null) { finish(this, r.outcome); return; }
    if (r.entered === EnterResult.NotImplemented) {
      // The machine stops here, saying why: what follows would need the guest running.
      const c = this.cpu;
      c.triple(`${launch ? 'VMLAUNCH' : 'VMRESUME'}: VM entry of guest state not implemented yet (the checks on controls and host state passed)`);
      c.eventPending = true;
    }
  }

  vmcall(): void {
    finish(this, vmcallInRoot(this));
  }

  /** INVEPT Gd,Mdq: the type in the reg operand, the 128-bit descriptor in memory. */
  invept(): void {
    const c = this.cpu;
    inveptChecks(this);
    const type = c.r32[c.modReg] >>> 0;
    if (!inveptTypeSupported(this, type)) { finish(this, vmfail(this, VmInstructionError.InvalidInveptInvvpidOperand)); return; }
    readM128(c, this.op);
    finish(this, inveptOperation(this, type, this.op));
  }

  invvpid(): void {
    const c = this.cpu;
    invvpidChecks(this);
    const type = c.r32[c.modReg] >>> 0;
    if (!invvpidTypeSupported(this, type)) { finish(this, vmfail(this, VmInstructionError.InvalidInveptInvvpidOperand)); return; }
    readM128(c, this.op);
    finish(this, invvpidOperation(this, type, this.op));
  }

  // ---- VmxHooks: MSRs, control registers, RESET ----------------------------------------

  readCapabilityMsr(index: number, out: Int32Array): boolean {
    const m = this.caps.msrs.get(index);
    if (m === undefined) return false;
    out[0] = m[0]; out[1] = m[1];
    return true;
  }

  crWriteAllowed(cr: 0 | 4, value: number): boolean {
    return crFixedOk(this, cr, value);
  }

  reset(): void {
    this.inVmxOperation = false;
    this.nonRoot = false;
    this.vmxonPtr = NO_VMCS;
    this.vmcs.pa = NO_VMCS;
    this.vmcs.launched = false;
    this.lastEntryFailure = null;
  }
}
