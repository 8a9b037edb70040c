// Events in VMX non-root operation (SDM Vol. 3C §26.2 "Other Causes of VM Exits", §26.3 IRET,
// §26.4.1 "Event Blocking", §26.5 the preemption timer and the monitor trap flag, §27.7 the
// windows): exceptions against the exception bitmap, the event being delivered (IDT-vectoring
// information, §28.2.4), double and triple faults, NMI unblocking by IRET, and between
// instructions INIT, MTF, the preemption timer, the NMI and interrupt windows, NMIs and external
// interrupts, in that order of priority (Vol. 3A §6.9 with the VMX events of Vol. 3C §26.2).
import { StopReason } from '../cpu/cpu';
import type { StopReason as Stop } from '../cpu/cpu';
import { Flag, Vector } from '../cpu/regs';
import { ExitCtls, PinBasedCtls, ProcBasedCtls } from './controls';
import { ExitReason } from './exit-reasons';
import { DB_QUAL_MASK, IntrType, interruptionInfo } from './exit-info';
import { ActivityState } from './guest-checks';
import { instructionLength } from './nonroot-instructions';
import type { VmxUnit } from './unit';

/** Whether exception `vector` with `errorCode` exits by the exception bitmap (§26.2); a #PF by
 *  bit 14 and the page-fault error-code mask and match: with bit 14 set it exits when
 *  (PFEC & mask) = match, with bit 14 clear when it differs. */
function exceptionExits(u: VmxUnit, vector: number, errorCode: number): boolean {
  if (vector > 31) return false;
  const k = u.ctl, bit = (k.exceptionBitmap >>> vector) & 1;
  if (vector !== Vector.PF) return bit !== 0;
  const match = ((errorCode & k.pfecMask) >>> 0) === (k.pfecMatch >>> 0);
  return bit !== 0 ? match : !match;
}

/** deliver() starts an event (interrupts.ts); `kind` is its interruption type (cpu.ts). */
export function eventDelivery(u: VmxUnit, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  const c = u.cpu;
  if (u.injecting) {
    u.injecting = false; // VM-entry injection: the injected event itself never exits (§27.6)
  } else if (kind === IntrType.HardwareException || kind === IntrType.PrivilegedSoftwareException || kind === IntrType.SoftwareException) {
    if (exceptionExits(u, vector, errorCode)) {
      const x = u.exitInfo;
      x.clear();
      x.interruptionInfo = interruptionInfo(vector, kind, hasErrorCode) | u.nmiUnblockingBit();
      x.interruptionErrorCode = hasErrorCode ? errorCode : 0;
      // Exit qualification (§28.2.1): #PF the linear address, which the fault must not have
      // left in CR2 (§28.1); #DB the debug-status bits of this #DB (Table 28-1; not the sticky
      // ones DR6 held before), and DR6 and DR7 stay as they were (§28.1: a #DB that causes a VM
      // exit updates neither; DR7.GD is not cleared) - INT1 has none.
      if (vector === Vector.PF && kind === IntrType.HardwareException) { x.qualification = c.cr2 >>> 0; c.cr2 = u.guestCr2; }
      else if (vector === Vector.DB && kind === IntrType.HardwareException) {
        x.qualification = c.dbBits & DB_QUAL_MASK;
        c.dr[6] = c.dr6Before; c.dr[7] = c.dr7Before;
      }
      if (kind !== IntrType.HardwareException) x.instructionLength = instructionLength(c);
      x.duringDelivery = u.deliveryInfo !== 0;
      u.exitAndUnwind(ExitReason.ExceptionOrNmi, c.instrStart);
    }
    if (vector === Vector.PF && kind === IntrType.HardwareException) u.guestCr2 = c.cr2 >>> 0;
  }
  u.deliveryInfo = interruptionInfo(vector, kind, hasErrorCode);
  u.deliveryErrorCode = hasErrorCode ? errorCode : 0;
  u.deliveryLength = kind >= IntrType.SoftwareInterrupt && kind <= IntrType.SoftwareException ? instructionLength(c) : 0;
}

/** Two exceptions made a #DF (Vol. 3A §6.15): exception-bitmap bit 8 decides. Such an exit is
 *  not "during delivery" of the first event, which the double fault replaces (§28.2.4). */
export function doubleFault(u: VmxUnit): void {
  const c = u.cpu;
  if ((u.ctl.exceptionBitmap & (1 << Vector.DF)) !== 0) {
    const x = u.exitInfo;
    x.clear();
    x.interruptionInfo = interruptionInfo(Vector.DF, IntrType.HardwareException, true);
    u.exitAndUnwind(ExitReason.ExceptionOrNmi, c.instrStart);
  }
  u.deliveryInfo = interruptionInfo(Vector.DF, IntrType.HardwareException, true);
  u.deliveryErrorCode = 0;
  u.deliveryLength = 0;
}

/** A triple fault in the guest: VM exit with reason 2 (§26.2), not a shutdown. */
export function tripleFault(u: VmxUnit): never {
  u.exitInfo.clear();
  return u.exitAndUnwind(ExitReason.TripleFault, u.cpu.instrStart);
}

/** IRET (§26.3): with "virtual NMIs" it ends virtual-NMI blocking; with "NMI exiting" alone it
 *  leaves NMI blocking as it is; otherwise it unblocks NMIs as outside VMX. */
export function iret(u: VmxUnit): void {
  const c = u.cpu, pin = u.ctl.pin;
  if ((pin & PinBasedCtls.VirtualNmis) !== 0) {
    if (u.virtualNmiBlocked) { u.virtualNmiBlocked = false; u.iretUnblockedAt = c.icount; c.eventPending = true; }
  } else if ((pin & PinBasedCtls.NmiExiting) === 0 && c.nmiBlocked) {
    c.nmiBlocked = false;
    u.iretUnblockedAt = c.icount;
    if (c.nmiPending) c.eventPending = true;
  }
}

/** An exit at the instruction boundary (RIP = the next instruction). */
function boundaryExit(u: VmxUnit, reason: ExitReason, intrInfo = 0, activity = -1, qualification = 0): Stop {
  const x = u.exitInfo;
  x.clear();
  x.interruptionInfo = intrInfo;
  x.activity = activity;
  x.qualification = qualification;
  u.takeExit(reason, u.cpu.eip);
  return u.afterEventExit();
}

/** The events between two guest instructions (the run loop's event check). */
export function serviceEvents(u: VmxUnit): Stop {
  const c = u.cpu, k = u.ctl;
  // TPR below threshold (§27.7.7 after VM entry, §30.1.2 after a virtualized TPR write): trap-
  // like, not blocked by RFLAGS.IF or the interruptibility state, before INIT and lower events.
  if (u.tprBelowThreshold) { u.tprBelowThreshold = false; return boundaryExit(u, ExitReason.TprBelowThreshold); }
  // INIT (§26.2): a VM exit, with the activity state it woke the guest from; or one latched
  // while blocked (root operation, wait-for-SIPI: §24.8), with the guest's activity state now.
  if (u.initActivity >= 0) { const a = u.initActivity; u.initActivity = -1; return boundaryExit(u, ExitReason.InitSignal, 0, a); }
  if (c.initPending && !c.waitForSipi) { c.initPending = false; return boundaryExit(u, ExitReason.InitSignal); }
  // Monitor trap flag (§26.5.2), then the preemption timer (§26.5.1): not blocked by STI/MOV SS.
  if (u.mtfAt >= 0 && c.icount >= u.mtfAt) return boundaryExit(u, ExitReason.MonitorTrapFlag);
  if (u.timerDeadline >= 0 && c.tsc() >= u.timerDeadline) return boundaryExit(u, ExitReason.PreemptionTimerExpired);
  const shadow = c.icount < c.inhibitUntil;
  // The shutdown activity state blocks everything else but NMIs (§27.7.2).
  const live = !u.guestShutdown;
  // NMI window: "virtual NMIs" and no virtual-NMI blocking (§27.7.6; blocked by STI/MOV SS).
  if (!shadow && live && (k.proc & ProcBasedCtls.NmiWindowExiting) !== 0 && !u.virtualNmiBlocked) {
    return boundaryExit(u, ExitReason.NmiWindow);
  }
  // Blocking by NMI holds NMIs back whether they exit or not: with "virtual NMIs" = 0 the
  // interruptibility state's bit 3 blocks NMIs after VM entry, with "NMI exiting" = 1 for as long
  // as the guest runs (IRET does not unblock them, §26.3); with "virtual NMIs" = 1 that bit is
  // virtual-NMI blocking and NMIs themselves are not blocked (c.nmiBlocked is then false). SDM
  // Vol. 3C §27.7.1 "Interruptibility State" (§26.6.1 before 2023). So an NMI exits only when
  // not blocked (KVM's nested VMX checks the same: vmx_check_nested_events, !vmx_nmi_blocked).
  if (c.nmiPending && !shadow && !c.nmiBlocked) {
    if ((k.pin & PinBasedCtls.NmiExiting) !== 0) {
      c.nmiPending = false;
      return boundaryExit(u, ExitReason.ExceptionOrNmi, interruptionInfo(Vector.NMI, IntrType.Nmi, false));
    }
    if (live) {
      c.nmiPending = false; c.nmiBlocked = true; c.halted = false;
      c.interruptNow(Vector.NMI, IntrType.Nmi);
      if (!c.nonRoot) return u.afterEventExit();
    }
  }
  // Interrupt window: RFLAGS.IF = 1 and no blocking by STI or MOV SS (§27.7.5).
  if (!shadow && live && (k.proc & ProcBasedCtls.InterruptWindowExiting) !== 0 && (c.flags & Flag.IF) !== 0) {
    return boundaryExit(u, ExitReason.InterruptWindow);
  }
  // External interrupts: with "external-interrupt exiting" a VM exit whatever RFLAGS.IF says
  // (§26.4.1), acknowledged on exit when the exit control says so (§28.2.2); else the guest's.
  if (!shadow && live && c.intr !== null && c.intr.hasInterrupt()) {
    if ((k.pin & PinBasedCtls.ExternalInterruptExiting) !== 0) {
      const info = (k.exit & ExitCtls.AcknowledgeInterruptOnExit) !== 0 ? interruptionInfo(c.intr.acknowledge(), IntrType.External, false) : 0;
      return boundaryExit(u, ExitReason.ExternalInterrupt, info);
    }
    if ((c.flags & Flag.IF) !== 0) {
      const v = c.intr.acknowledge();
      c.halted = false;
      c.interruptNow(v, IntrType.External);
      if (!c.nonRoot) return u.afterEventExit();
    }
  }
  if (shadow || c.nmiPending || (c.intr !== null && c.intr.hasInterrupt())) c.eventPending = true;
  u.scheduleEvents();
  return StopReason.Budget;
}

/** INIT (§24.8, §26.2): blocked in VMX root operation and by the guest's wait-for-SIPI state,
 *  where it stays pending (Cpu.initPending: taken after VMXOFF, or as a VM exit once a guest
 *  can take it); otherwise a VM exit at the next boundary (the CPU wakes for it). Never taken
 *  as an INIT here. */
export function initSignal(u: VmxUnit): boolean {
  const c = u.cpu;
  if (!c.nonRoot || c.waitForSipi) { u.initsBlocked++; c.initPending = true; return false; }
  u.initActivity = u.guestShutdown ? ActivityState.Shutdown : c.halted ? ActivityState.Hlt : ActivityState.Active;
  c.halted = false;
  c.eventPending = true;
  return false;
}

/** A SIPI: in the guest's wait-for-SIPI state a VM exit with the vector as qualification
 *  (§26.2), taken at once (the CPU is not executing); discarded in every other state (§27.7.2). */
export function startupIpi(u: VmxUnit, vector: number): boolean {
  const c = u.cpu;
  if (!c.waitForSipi) return false;
  c.waitForSipi = false;
  const x = u.exitInfo;
  x.clear();
  x.activity = ActivityState.WaitForSipi;
  x.qualification = vector & 0xff;
  u.takeExit(ExitReason.StartupIpi, c.eip);
  return true;
}

// ---- a halted guest, as the machine's idle loop and the SMP schedule see it -----------------
// These mirror serviceEvents above (without the STI/MOV SS shadow, which HLT always ends): a
// halted guest must not be called dead while an event it waits for can still exit (§26.2:
// "external-interrupt exiting" makes interrupts exit whatever RFLAGS.IF says), and must be run
// when serviceEvents would take something, never otherwise (the schedule would spin).

/** Whether anything can still wake the halted guest (now, or when a device or timer acts). */
export function canWake(u: VmxUnit): boolean {
  const c = u.cpu, k = u.ctl;
  if (u.tprBelowThreshold || u.initActivity >= 0 || c.initPending || u.mtfAt >= 0 || u.timerDeadline >= 0 || (c.nmiPending && !c.nmiBlocked)) return true;
  if (u.guestShutdown) return false; // only NMIs and INIT leave the shutdown state (§27.7.2)
  if ((k.pin & PinBasedCtls.ExternalInterruptExiting) !== 0) return true;
  if ((k.proc & ProcBasedCtls.NmiWindowExiting) !== 0 && !u.virtualNmiBlocked) return true;
  return (c.flags & Flag.IF) !== 0;
}

/** Whether serviceEvents would take an event now. */
export function eventReady(u: VmxUnit): boolean {
  const c = u.cpu, k = u.ctl, live = !u.guestShutdown;
  if (u.tprBelowThreshold || u.initActivity >= 0 || (c.initPending && !c.waitForSipi)) return true;
  if (u.mtfAt >= 0 && c.icount >= u.mtfAt) return true;
  if (u.timerDeadline >= 0 && c.tsc() >= u.timerDeadline) return true;
  if (live && (k.proc & ProcBasedCtls.NmiWindowExiting) !== 0 && !u.virtualNmiBlocked) return true;
  if (c.nmiPending && !c.nmiBlocked && ((k.pin & PinBasedCtls.NmiExiting) !== 0 || live)) return true;
  if (!live) return false;
  const ifSet = (c.flags & Flag.IF) !== 0;
  if ((k.proc & ProcBasedCtls.InterruptWindowExiting) !== 0 && ifSet) return true;
  return c.intr !== null && c.intr.hasInterrupt() && ((k.pin & PinBasedCtls.ExternalInterruptExiting) !== 0 || ifSet);
}

/** The virtual time (the CPU's timeBase ticks) at which the preemption timer expires, so that
 *  an idle skip stops there (§26.5.1: it counts down in HLT too); Infinity when not active. */
export function wakeDeadline(u: VmxUnit): number {
  // tsc() = ticks + IA32_TSC adjustment (cpu.ts), so the deadline's ticks are the TSC's less it.
  return u.timerDeadline >= 0 ? u.timerDeadline - u.cpu.tscOffset : Infinity;
}
