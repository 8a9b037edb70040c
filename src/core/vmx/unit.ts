// A CPU's VMX unit: the VMX state of one logical processor (VMX operation, VMXON pointer, the
// current VMCS, the running guest's controls and event bookkeeping) and the VmxHooks the CPU core
// calls (src/core/cpu/vmx-hooks.ts): the VMX instructions as the decoded rows call them (checks
// and operations in instructions.ts, shared with VmxRoot), VM entry (vm-entry.ts), and in VMX
// non-root operation the exit decisions for instructions (nonroot-instructions.ts) and events
// (nonroot-events.ts), which end in a VM exit (vm-exit.ts).
import type { Cpu, StopReason } from '../cpu/cpu';
import { StopReason as Stop } from '../cpu/cpu';
import { Cr0 } from '../cpu/regs';
import { VM_EXIT, type ApicAccessKind, type RowExit, type VmxHooks } from '../cpu/vmx-hooks';
import { apicAccess } from './apic-virtualization';
import type { GuestLinear, GuestPhysical } from '../platform/address';
import { VmxMsr, type VmxCapabilities } from './capabilities';
import { ProcBasedCtls2 } from './controls';
import type { EptExitSink } from './ept-hooks';
import { EptUnit } from './ept/unit';
import { guestCr0MustBe1 } from './ept/unrestricted';
import { VmInstructionError } from './errors';
import { ExecControls } from './exec-controls';
import { ExitReason } from './exit-reasons';
import { INTR_NMI_UNBLOCKING } from './exit-info';
import { VmExitRecord, type VmExitListener } from './exit-record';
import { VmcsField as V } from './fields';
import {
  VM_SUCCEED, commonChecks, crFixedOk, currentPointer, finish, inveptChecks, inveptOperation,
  inveptTypeSupported, invvpidChecks, invvpidOperation, invvpidTypeSupported, launchOperation, readM128, readM64,
  vmcallInRoot, vmclearOperation, vmfail, vmptrldOperation, vmreadOperation, vmwriteOperation, vmwritePrelude,
  vmxoffOperation, vmxonChecks, vmxonOperation, writeM64,
} from './instructions';
import * as events from './nonroot-events';
import * as insn from './nonroot-instructions';
import { EntryOutcome, vmEntry } from './vm-entry';
import { ExitInfo, vmExit } from './vm-exit';
import { CurrentVmcs, NO_VMCS } from './vmcs';
import { D64 } from '../cpu/long/decode64';
import { nestedLinearHi } from '../cpu/nested-paging';
import {
  fieldEncodingLong, readFieldLong, readM128Long, readM64Long, readRm64, writeFieldLong, writeM64Long, writeRm64,
} from './operands64';

const CONTINUE = -2;

export class VmxUnit implements VmxHooks, EptExitSink {
  /** In VMX operation (root or non-root), after VMXON and until VMXOFF or RESET. */
  inVmxOperation = false;
  /** Physical address of the VMXON region, or NO_VMCS. */
  vmxonPtr = NO_VMCS;
  /** The processor's copy of the current VMCS (vmcs.ts). */
  readonly vmcs = new CurrentVmcs();
  /** Why the last VMLAUNCH/VMRESUME failed (its checks on controls or host state, or a VM-entry
   *  failure), or null. */
  lastEntryFailure: string | null = null;
  // Scratch operands (no allocation per instruction).
  private readonly op = new Int32Array(4);

  /** EPT, VPID and the TLB's tagged spaces (ept/unit.ts; contract in ept-hooks.ts). Its `sink`
   *  is where EPT violations and misconfigurations leave the guest (this unit's VM-exit code). */
  readonly ept: EptUnit;

  // ---- the running guest (VMX non-root operation) ------------------------------------------
  /** Its controls, read at VM entry (exec-controls.ts). */
  readonly ctl = new ExecControls();
  /** Exit information of the exit being taken (vm-exit.ts). */
  readonly exitInfo = new ExitInfo();
  /** The event being delivered through the guest IDT, as IDT-vectoring information (valid bit
   *  set), or 0 (§28.2.4); its error code. */
  deliveryInfo = 0;
  deliveryErrorCode = 0;
  /** A software event's instruction length (types 4-6): the exit's instruction length when it
   *  happens during that delivery (§28.2.4). */
  deliveryLength = 0;
  /** The next delivery is VM-entry event injection: no exception-bitmap exit for it (§27.6). */
  injecting = false;
  /** Virtual-NMI blocking ("virtual NMIs" = 1, §26.3 / §27.7.1). */
  virtualNmiBlocked = false;
  /** The guest is in the shutdown activity state (entered so: a triple fault in the guest is a
   *  VM exit instead). */
  guestShutdown = false;
  /** CR2 as the guest last set it (MOV, or a #PF delivered to it): a #PF that exits leaves CR2
   *  unchanged (§28.1), while the interpreter wrote it when the fault was raised. */
  guestCr2 = 0;
  /** Instruction count at which the guest's first instruction after the last VM entry starts. */
  firstBoundary = 0;
  /** Instruction count at or after which an MTF VM exit is due at an instruction boundary; -1:
   *  none (§26.5.2). */
  mtfAt = -1;
  /** VMX-preemption timer: TSC at which it reaches 0 (§26.5.1), or -1 when not active. */
  timerDeadline = -1;
  /** PAUSE-loop exiting: TSC of the last PAUSE at CPL 0 and of the first of its loop (§26.1.3). */
  pleLast = -1;
  pleFirst = 0;
  /** A TPR-below-threshold VM exit is due at the next instruction boundary (after VM entry or a
   *  virtualized TPR write, apic-virtualization.ts). */
  tprBelowThreshold = false;
  /** Instruction count of an IRET that removed (virtual-)NMI blocking (§28.2.3); -1: none. */
  iretUnblockedAt = -1;
  /** An INIT is waiting to be taken as a VM exit at the next boundary, and the activity state the
   *  guest had when it arrived (-1: none). */
  initActivity = -1;
  /** INIT signals that arrived while blocked (VMX root operation, SDM Vol. 3C §24.8, or the
   *  guest's wait-for-SIPI state): they stay pending in Cpu.initPending (one latch). */
  initsBlocked = 0;

  // ---- exits seen from outside ----------------------------------------------------------------
  /** The last exit (or VM-entry failure), reused (exit-record.ts). */
  readonly record = new VmExitRecord();
  /** Exits and VM-entry failures taken so far. */
  exitCount = 0;
  private readonly listeners: VmExitListener[] = [];
  /** VmxRoot runs the guest: the CPU stops at the next VM exit instead of going on at the host's
   *  RIP (root/launch in TypeScript). */
  hosted = false;

  constructor(readonly cpu: Cpu, readonly caps: VmxCapabilities) {
    this.ept = new EptUnit(cpu, caps);
    this.ept.sink = this;
  }

  /** In VMX non-root operation (the CPU's flag: vmx-hooks.ts). */
  get nonRoot(): boolean { return this.cpu.nonRoot; }

  /** IA32_VMX_MISC[4:0]: the preemption timer counts down once every 2^rate TSC ticks. */
  get preemptionTimerRate(): number { return (this.caps.msrs.get(VmxMsr.Misc)?.[0] ?? 0) & 0x1f; }

  // ---- exit listeners -------------------------------------------------------------------------

  /** Calls `l` after every VM exit and VM-entry failure (exit-record.ts). */
  addExitListener(l: VmExitListener): void { this.listeners.push(l); }
  removeExitListener(l: VmExitListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  // ---- state transitions ---------------------------------------------------------------

  /** VMXON succeeded (§31.3 VMXON): VMX root operation, no current VMCS. INIT is blocked from
   *  now on (initSignal); A20M blocking is not modelled: the machine's A20 gate still applies in
   *  VMX operation. */
  enterVmxOperation(vmxonPa: number): void {
    this.inVmxOperation = true;
    this.vmxonPtr = vmxonPa;
    this.vmcs.pa = NO_VMCS;
    this.vmcs.launched = false;
  }

  /** VMXOFF: leaves VMX operation. The current VMCS is written back to memory first (hardware
   *  need not do so; software must VMCLEAR active VMCSs before VMXOFF, §31.3 VMXOFF). */
  leaveVmxOperation(): void {
    this.vmcs.release(this.cpu.mem);
    this.inVmxOperation = false;
    this.vmxonPtr = NO_VMCS;
    this.ept.reset();
    // A latched INIT is no longer blocked: the CPU takes it at the next boundary (cpu.ts).
    if (this.cpu.initPending) this.cpu.eventPending = true;
  }

  /** VM entry of guest state once the checks on controls and host state passed (§27.3-27.7);
   *  `inInstruction`: from the interpreted VMLAUNCH/VMRESUME. */
  enterGuest(launch: boolean, inInstruction: boolean): EntryOutcome {
    return vmEntry(this, launch, inInstruction);
  }

  /** Bookkeeping of a new stay in VMX non-root operation (vm-entry.ts). */
  enteredNonRoot(firstBoundary: number): void {
    this.resetGuestTracking();
    this.firstBoundary = firstBoundary;
    this.guestCr2 = this.cpu.cr2 >>> 0;
  }

  /** Forgets everything about the guest that ran (VM exit, VMX abort, RESET). */
  resetGuestTracking(): void {
    this.deliveryInfo = 0; this.deliveryErrorCode = 0; this.deliveryLength = 0; this.injecting = false;
    this.virtualNmiBlocked = false; this.guestShutdown = false;
    this.mtfAt = -1; this.timerDeadline = -1; this.pleLast = -1; this.pleFirst = 0;
    this.iretUnblockedAt = -1; this.initActivity = -1; this.tprBelowThreshold = false;
  }

  /** Starts the VMX-preemption timer at `value` (§27.7.4): it reaches 0 after `value` changes of
   *  bit `rate` of the TSC (§26.5.1). */
  armPreemptionTimer(value: number): void {
    const rate = this.preemptionTimerRate, unit = 2 ** rate;
    this.timerDeadline = (Math.floor(this.cpu.tsc() / unit) + (value >>> 0)) * unit;
  }

  /** The timer's value now (the "save VMX-preemption timer value" exit control, §28.3.4). */
  preemptionTimerLeft(): number {
    if (this.timerDeadline < 0) return 0;
    const unit = 2 ** this.preemptionTimerRate;
    const left = Math.floor(this.timerDeadline / unit) - Math.floor(this.cpu.tsc() / unit);
    return left > 0 ? Math.min(left, 0xffffffff) >>> 0 : 0;
  }

  /** Tells the run loop when to stop for the next VMX deadline (MTF, the preemption timer): the
   *  CPU's `eventAt`. A halted guest with a running timer is checked at every run() call. */
  scheduleEvents(): void {
    const c = this.cpu;
    let at = this.mtfAt >= 0 ? Math.max(this.mtfAt, c.icount) : Infinity;
    if (this.timerDeadline >= 0) {
      const t = c.halted ? c.icount : c.icount + Math.max(0, this.timerDeadline - c.tsc());
      if (t < at) at = t;
    }
    c.eventAt = at;
  }

  /** Takes a VM exit with basic reason `reason` and the unit's exitInfo, the guest at `rip`. */
  takeExit(reason: ExitReason, rip: number): void {
    vmExit(this, reason, rip);
  }

  /** See VmxHooks.exitRestartsInstruction. */
  exitRestartsInstruction = false;

  /** Takes a VM exit caused by the current instruction without unwinding: the row returns and
   *  the run loop sees Cpu.exitTaken (VmxHooks.tryInstructionExit). */
  exitInPlace(reason: ExitReason, rip: number): void {
    this.exitRestartsInstruction = false;
    vmExit(this, reason, rip);
    this.cpu.exitTaken = true;
  }

  /** Takes a VM exit from inside an instruction or event delivery and abandons the rest of it. */
  exitAndUnwind(reason: ExitReason, rip: number): never {
    // An EPT exit while an INT n / INT3 / INTO is being delivered is not restarted: the VMM
    // re-injects the event from the IDT-vectoring information, so that instruction retires here.
    const type = (this.deliveryInfo >>> 8) & 7, software = this.deliveryInfo !== 0 && type >= 4 && type <= 6;
    this.exitRestartsInstruction = (reason === ExitReason.EptViolation || reason === ExitReason.EptMisconfiguration) && !software;
    vmExit(this, reason, rip);
    throw VM_EXIT;
  }

  /** The end of every VM exit and VM-entry failure (vm-exit.ts): the record, the listeners, and
   *  in hosted mode the request that the CPU stop. `exitReason` is the full exit-reason field. */
  completeExit(exitReason: number): void {
    const c = this.cpu, s = this.vmcs, r = this.record;
    this.exitCount++;
    r.exitReason = exitReason >>> 0;
    r.qualification = s.lo(V.ExitQualification);
    r.guestLinear = s.lo(V.GuestLinearAddress);
    r.guestPhysical = s.lo(V.GuestPhysicalAddress); r.guestPhysicalHi = s.hi(V.GuestPhysicalAddress);
    r.instructionLength = s.lo(V.VmExitInstructionLength);
    r.instructionInfo = s.lo(V.VmExitInstructionInfo);
    r.interruptionInfo = s.lo(V.VmExitInterruptionInfo);
    r.interruptionErrorCode = s.lo(V.VmExitInterruptionErrorCode);
    r.idtVectoringInfo = s.lo(V.IdtVectoringInfo);
    r.idtVectoringErrorCode = s.lo(V.IdtVectoringErrorCode);
    r.guestRip = s.lo(V.GuestRip);
    r.guestCsBase = s.lo(V.GuestCsBase);
    r.guestEax = c.r32[0] >>> 0;
    r.guestEcx = c.r32[1] >>> 0;
    r.vmcsPa = s.pa;
    r.icount = c.icount;
    r.tsc = c.tsc();
    r.sequence = this.exitCount;
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i](r);
    if (this.hosted) { c.stopRequested = true; c.eventPending = true; }
  }

  /** What serviceEvents returns after an exit it took: stop at once in hosted mode. */
  afterEventExit(): StopReason {
    if (!this.hosted) return Stop.Budget;
    this.cpu.stopRequested = false;
    return Stop.Requested;
  }

  /** A VMX instruction in VMX non-root operation exits (§26.1.2), with the exit qualification
   *  and instruction information of its operand (§28.2.1, §28.2.5). */
  exitOnInstruction(reason: ExitReason): never {
    return insn.vmxInstructionExit(this, reason);
  }

  /** INVEPT: drops the combined mappings of the EP4TA or of all (SDM Vol. 3C §29.4.3.1). */
  invalidateEpt(type: number, eptpLo: number, eptpHi: number): void { this.ept.invept(type, eptpLo, eptpHi); }
  /** INVVPID: drops the linear and combined mappings of the VPID(s) (§29.4.3.1). */
  invalidateVpid(type: number, vpid: number, linear: number): void { this.ept.invvpid(type, vpid, linear); }

  // ---- EptExitSink: EPT violations and misconfigurations (fault-like, §28.1) ---------------

  eptViolation(qualification: number, gla: GuestLinear, gpa: GuestPhysical): never {
    const x = this.exitInfo;
    x.clear();
    x.qualification = qualification >>> 0;
    x.guestLinear = (qualification & (1 << 7)) !== 0 ? gla >>> 0 : 0;
    // An IA-32e mode guest's linear address above 4 GB: bits 63:32 from the nested walk.
    x.guestLinearHi = (qualification & (1 << 7)) !== 0 ? nestedLinearHi : 0;
    x.guestPhysical = gpa >>> 0; x.guestPhysicalHi = Math.floor(gpa / 4294967296);
    x.duringDelivery = this.deliveryInfo !== 0;
    return this.exitAndUnwind(ExitReason.EptViolation, this.cpu.instrStart);
  }

  eptMisconfiguration(gpa: GuestPhysical): never {
    const x = this.exitInfo;
    x.clear();
    x.guestPhysical = gpa >>> 0; x.guestPhysicalHi = Math.floor(gpa / 4294967296);
    x.duringDelivery = this.deliveryInfo !== 0;
    return this.exitAndUnwind(ExitReason.EptMisconfiguration, this.cpu.instrStart);
  }

  nmiUnblockedByIret(): boolean { return this.iretUnblockedAt === this.cpu.icount && this.cpu.nonRoot; }

  /** Bit 12 of the exit interruption information for an exit during such an IRET (§28.2.3). */
  nmiUnblockingBit(): number { return this.nmiUnblockedByIret() ? INTR_NMI_UNBLOCKING : 0; }

  // ---- VmxHooks: decoded instructions -----------------------------------------------------

  vmxon(): void {
    let o = vmxonChecks(this);
    if (o === CONTINUE) { this.readPointer(); o = vmxonOperation(this, this.op[0], this.op[1]); }
    finish(this, o);
  }

  vmxoff(): void {
    commonChecks(this, ExitReason.Vmxoff);
    finish(this, vmxoffOperation(this));
  }

  vmclear(): void {
    commonChecks(this, ExitReason.Vmclear);
    this.readPointer();
    finish(this, vmclearOperation(this, this.op[0], this.op[1]));
  }

  vmptrld(): void {
    commonChecks(this, ExitReason.Vmptrld);
    this.readPointer();
    finish(this, vmptrldOperation(this, this.op[0], this.op[1]));
  }

  vmptrst(): void {
    commonChecks(this, ExitReason.Vmptrst);
    currentPointer(this, this.op);
    if (this.cpu.mode64) writeM64Long(this.cpu, this.op[0], this.op[1]); else writeM64(this.cpu, this.op[0], this.op[1]);
    finish(this, VM_SUCCEED);
  }

  /** The m64 pointer operand of VMXON/VMCLEAR/VMPTRLD into op[0..1]. */
  private readPointer(): void {
    if (this.cpu.mode64) readM64Long(this.cpu, this.op); else readM64(this.cpu, this.op);
  }

  /** VMREAD Ed,Gd (Eq,Gq in 64-bit mode): the field encoding in the reg operand, the
   *  destination r/m. */
  vmread(): void {
    const c = this.cpu;
    commonChecks(this, ExitReason.Vmread);
    if (c.mode64) {
      const enc = fieldEncodingLong(c);
      const o = !this.vmcs.valid ? vmfail(this, VmInstructionError.UnsupportedVmcsComponent) : enc < 0 ? VmInstructionError.UnsupportedVmcsComponent : vmreadOperation(this, enc, this.op);
      if (o === VM_SUCCEED) writeRm64(c, readFieldLong(this.vmcs, enc));
      finish(this, o);
      return;
    }
    const o = vmreadOperation(this, c.r32[c.modReg], this.op);
    if (o === VM_SUCCEED) {
      if (c.modrm >= 0xc0) c.r32[c.modrm & 7] = this.op[0];
      else c.write32(c.eaSeg, c.eaOff, this.op[0]);
    }
    finish(this, o);
  }

  /** VMWRITE Gd,Ed (Gq,Eq in 64-bit mode): the field encoding in the reg operand, the value in
   *  r/m. */
  vmwrite(): void {
    const c = this.cpu;
    commonChecks(this, ExitReason.Vmwrite);
    let o = vmwritePrelude(this);
    if (c.mode64) {
      if (o === CONTINUE) {
        const v = readRm64(c), enc = fieldEncodingLong(c);
        o = enc < 0 ? VmInstructionError.UnsupportedVmcsComponent : vmwriteOperation(this, enc, 0);
        if (o === VM_SUCCEED) writeFieldLong(this.vmcs, enc, v);
      }
      finish(this, o);
      return;
    }
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
    const r = launchOperation(this, launch, true);
    // Entered: RFLAGS are the guest's (or, after a VM-entry failure, the host's: 2).
    if (r.entered === null) finish(this, r.outcome);
  }

  vmcall(): void {
    finish(this, vmcallInRoot(this));
  }

  /** INVEPT Gd,Mdq: the type in the reg operand, the 128-bit descriptor in memory. */
  invept(): void {
    inveptChecks(this);
    const type = this.typeOperand();
    if (!inveptTypeSupported(this, type)) { finish(this, vmfail(this, VmInstructionError.InvalidInveptInvvpidOperand)); return; }
    this.readDescriptor();
    finish(this, inveptOperation(this, type, this.op));
  }

  invvpid(): void {
    invvpidChecks(this);
    const type = this.typeOperand();
    if (!invvpidTypeSupported(this, type)) { finish(this, vmfail(this, VmInstructionError.InvalidInveptInvvpidOperand)); return; }
    this.readDescriptor();
    finish(this, invvpidOperation(this, type, this.op));
  }

  /** INVEPT/INVVPID's type register: 32 bits, 64 in 64-bit mode (a type above 2^32 is not
   *  supported: -1). */
  private typeOperand(): number {
    const c = this.cpu;
    if (c.mode64) { const r = D64.reg; return c.r32hi[r] !== 0 ? -1 : c.r32[r] >>> 0; }
    return c.r32[c.modReg] >>> 0;
  }

  private readDescriptor(): void {
    if (this.cpu.mode64) readM128Long(this.cpu, this.op); else readM128(this.cpu, this.op);
  }

  // ---- VmxHooks: MSRs, control registers, RESET, INIT, SIPI --------------------------------

  readCapabilityMsr(index: number, out: Int32Array): boolean {
    const m = this.caps.msrs.get(index);
    if (m === undefined) return false;
    out[0] = m[0]; out[1] = m[1];
    return true;
  }

  crWriteAllowed(cr: 0 | 4, value: number): boolean {
    // An unrestricted guest may clear CR0.PE and CR0.PG (§26.6 "Unrestricted Guests").
    if (cr === 0 && this.cpu.nonRoot && (this.ctl.proc2 & ProcBasedCtls2.UnrestrictedGuest) !== 0) {
      const must = guestCr0MustBe1(this.caps, true);
      return ((value & must) >>> 0) === must && (value & ~this.caps.cr0Fixed1) === 0 &&
        !((value & Cr0.PG) !== 0 && (value & Cr0.PE) === 0);
    }
    return crFixedOk(this, cr, value);
  }

  reset(): void {
    this.inVmxOperation = false;
    this.cpu.nonRoot = false;
    this.cpu.apicAccessPage = -1;
    this.cpu.eventAt = Infinity;
    this.vmxonPtr = NO_VMCS;
    this.vmcs.pa = NO_VMCS;
    this.vmcs.launched = false;
    this.lastEntryFailure = null;
    this.hosted = false;
    this.resetGuestTracking();
    this.ept.reset();
  }

  initSignal(): boolean { return events.initSignal(this); }
  startupIpi(vector: number): boolean { return events.startupIpi(this, vector); }

  // ---- VmxHooks: VMX non-root operation ----------------------------------------------------

  instructionExit(x: RowExit, qualification: number): void { insn.instructionExit(this, x, qualification); }
  tryInstructionExit(x: RowExit, qualification: number): boolean { return insn.tryInstructionExit(this, x, qualification); }
  tryIo(port: number, size: number, input: boolean, imm: boolean): boolean { return insn.tryIo(this, port, size, input, imm); }
  tryMsr(write: boolean): boolean { return insn.tryMsr(this, write); }
  apicAccess(offset: number, size: number, kind: ApicAccessKind, value: number): number { return apicAccess(this, offset, size, kind, value); }
  secondaryControl(bit: number): boolean { return (this.ctl.proc2 & bit) !== 0; }
  registerInstructionExit(x: RowExit, reg: number, os32: boolean): void { insn.registerInstructionExit(this, x, reg, os32); }
  memoryOperandExit(x: RowExit): void { insn.memoryOperandExit(this, x); }
  movToCr(cr: number, gpr: number, value: number): number { return insn.movToCr(this, cr, gpr, value); }
  movFromCr(cr: number, gpr: number, value: number): number { return insn.movFromCr(this, cr, gpr, value); }
  cr8Write(gpr: number, value: number): boolean { return insn.cr8Write(this, gpr, value); }
  cr8Read(gpr: number, tpr: number): number { return insn.cr8Read(this, gpr, tpr); }
  invlpg64(lo: number, hi: number): void { insn.invlpg64(this, lo, hi); }
  smsw(cr0: number): number { return insn.readShadowed(this, 0, cr0); }
  clts(): boolean { return insn.clts(this); }
  lmsw(source: number, memory: boolean, linear: number, cr0: number): number { return insn.lmsw(this, source, memory, linear, cr0); }
  movDr(dr: number, gpr: number, toDr: boolean): void { insn.movDr(this, dr, gpr, toDr); }
  io(port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): void {
    insn.io(this, port, size, input, str, rep, imm);
  }
  msr(write: boolean): void { insn.msr(this, write); }
  descriptorTable(x: RowExit, identity: number): void { insn.descriptorTable(this, x, identity); }
  pause(): void { insn.pause(this); }
  guestTsc(): number { return insn.guestTsc(this); }
  taskSwitch(selector: number, source: number): void { insn.taskSwitch(this, selector, source); }

  eventDelivery(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
    events.eventDelivery(this, vector, kind, errorCode, hasErrorCode);
  }
  doubleFault(): void { events.doubleFault(this); }
  eventDelivered(): void { this.deliveryInfo = 0; }
  tripleFault(): void { events.tripleFault(this); }
  iret(): void { events.iret(this); }
  serviceEvents(): StopReason { return events.serviceEvents(this); }
  canWake(): boolean { return events.canWake(this); }
  eventReady(): boolean { return events.eventReady(this); }
  wakeDeadline(): number { return events.wakeDeadline(this); }
}
