// VM entry after the checks on controls and host state passed (SDM Vol. 3C ch. 27 from §27.3):
// the checks on guest state (guest-checks.ts), loading guest state (§27.3.2), loading MSRs
// (§27.4), event injection (§27.6) and the special features of VM entry (§27.7: interruptibility,
// activity state, pending debug exceptions, the preemption timer, MTF). A failure in the
// guest-state checks or the MSR loading is a VM-entry failure (§27.8: vm-exit.ts).
import { FAULT } from '../cpu/fault';
import { InhibitBy } from '../cpu/cpu';
import { Cr0, Efer, Flag, Seg, Vector } from '../cpu/regs';
import { EntryCtls, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2 } from './controls';
import { tprCheckAfterEntry } from './apic-virtualization';
import { ExitReason } from './exit-reasons';
import { INTR_ERROR_CODE, INTR_VALID, IntrType } from './exit-info';
import { VmcsField as V } from './fields';
import { ActivityState, checkGuestState, Interruptibility, PendingDebug } from './guest-checks';
import { loadMsrList } from './msr-lists';
import { eferFieldBits } from './entry-checks';
import { pairToNumber } from '../cpu/long/long-mode';
import { SEG_FIELDS, vmEntryFailure } from './vm-exit';
import type { VmxUnit } from './unit';

/** CR0 bits VM entry never modifies (§27.3.2.1): ET, reserved 15:6, 17, 28:19, NW and CD. */
const CR0_KEPT_ON_ENTRY = (Cr0.ET | 0xffc0 | (1 << 17) | 0x1ff80000 | Cr0.NW | Cr0.CD) >>> 0;
const UNUSABLE = 1 << 16;
const MSR_PAT = 0x277;

/** What VM entry ended with. */
export enum EntryOutcome {
  /** The guest runs (or already left it again by a VM exit during event injection). */
  Entered = 1,
  /** A VM-entry failure (exit reason 33 or 34 with bit 31): the host's state is loaded. */
  Failed = 2,
}

/**
 * VM entry from §27.3 on, for VMLAUNCH (`launch`) or VMRESUME whose checks on controls and host
 * state passed. `inInstruction`: run from the VMLAUNCH/VMRESUME instruction of the interpreter
 * (the run loop retires it afterwards); false for VmxRoot, which calls between instructions.
 */
export function vmEntry(u: VmxUnit, launch: boolean, inInstruction: boolean): EntryOutcome {
  const c = u.cpu, s = u.vmcs;
  // ---- §27.3.1 checks on the guest-state area
  const f = checkGuestState(s, u.caps, c.mem, u.ept);
  if (f !== null) {
    u.lastEntryFailure = `VM-entry failure (exit reason 33, qualification ${f.qualification}): ${f.check}`;
    vmEntryFailure(u, ExitReason.EntryFailureGuestState, f.qualification);
    return EntryOutcome.Failed;
  }
  u.ctl.load(s);
  // ---- §27.3.2 loading guest state
  loadGuestState(u);
  // ---- §27.4 loading MSRs (physical memory only: before the guest's translation is set up)
  const bad = loadMsrList(c, s.lo(V.VmEntryMsrLoadAddress), s.lo(V.VmEntryMsrLoadCount));
  if (bad !== 0) {
    u.lastEntryFailure = `VM-entry failure (exit reason 34): VM-entry MSR-load entry ${bad} failed`;
    vmEntryFailure(u, ExitReason.EntryFailureMsrLoading, bad);
    return EntryOutcome.Failed;
  }
  if (launch) s.launched = true;
  // EPT and VPID: the guest's translation context, PDPTEs (ept-hooks.ts); before any guest access.
  u.ept.onEntry(s);
  c.nonRoot = true;
  // "Virtualize APIC accesses": the APIC-access page loses direct RAM access in the guest's TLB
  // (paging.ts ramBits), so every access reaches apic-virtualization.ts.
  if ((u.ctl.proc2 & ProcBasedCtls2.VirtualizeApicAccesses) !== 0) { c.apicAccessPage = u.ctl.apicAccessPage | 0; c.tlb.flushCurrent(); }
  c.monitorArmed = false; // VM entries clear address-range monitoring (SDM Vol. 3C ch. 27, "Clearing Address-Range Monitoring")
  u.enteredNonRoot(inInstruction ? c.icount + 1 : c.icount);

  // ---- §27.7.1 interruptibility state, §27.7.2 activity state
  const boundary = u.firstBoundary;
  const irq = s.lo(V.GuestInterruptibilityState);
  if ((irq & Interruptibility.Sti) !== 0) { c.inhibitUntil = boundary + 1; c.inhibitBy = InhibitBy.Sti; }
  else if ((irq & Interruptibility.MovSs) !== 0) { c.inhibitUntil = boundary + 1; c.inhibitBy = InhibitBy.MovSs; }
  else c.inhibitUntil = -1;
  if ((u.ctl.pin & PinBasedCtls.VirtualNmis) !== 0) { u.virtualNmiBlocked = (irq & Interruptibility.Nmi) !== 0; c.nmiBlocked = false; }
  else c.nmiBlocked = (irq & Interruptibility.Nmi) !== 0;
  // ---- §27.7.4 the VMX-preemption timer (from its VMCS value at entry)
  if ((u.ctl.pin & PinBasedCtls.ActivatePreemptionTimer) !== 0) u.armPreemptionTimer(s.lo(V.VmxPreemptionTimerValue));
  // ---- §26.5.2 monitor trap flag: an MTF exit after the first instruction
  if ((u.ctl.proc & ProcBasedCtls.MonitorTrapFlag) !== 0) u.mtfAt = boundary + 1;
  c.eventPending = true;

  const info = s.lo(V.VmEntryInterruptionInfo);
  if ((info & INTR_VALID) !== 0) {
    // ---- §27.6 event injection: a vectoring VM entry ends in the active state
    inject(u, info, boundary);
  } else {
    const activity = s.lo(V.GuestActivityState);
    if (activity === ActivityState.Hlt) c.halted = true;
    else if (activity === ActivityState.Shutdown) { u.guestShutdown = true; c.halted = true; }
    else if (activity === ActivityState.WaitForSipi) c.waitForSipi = true;
    // ---- §27.7.3 pending debug exceptions: delivered as a #DB trap before the first
    // instruction, unless blocking by MOV SS holds them: then they stay pending over the first
    // guest instruction, as after a MOV SS in the guest (cpu.ts heldDebug, Vol. 3A §6.8.3).
    const pend = s.lo(V.GuestPendingDebugExceptions) & (PendingDebug.B0toB3 | PendingDebug.Bs | PendingDebug.EnabledBreakpoint);
    if (pend !== 0 && c.nonRoot && !c.waitForSipi && !u.guestShutdown) {
      if ((irq & Interruptibility.MovSs) !== 0) c.heldDebug = pend & (PendingDebug.B0toB3 | PendingDebug.Bs);
      else {
        c.noteDebug(pend & (PendingDebug.B0toB3 | PendingDebug.Bs));
        c.halted = false;
        c.interruptNow(Vector.DB, 3);
      }
    }
  }
  // §27.7.7: a TPR threshold above VTPR[7:4] exits right after entry (after any injection).
  if (c.nonRoot && !c.waitForSipi) tprCheckAfterEntry(u);
  if (c.nonRoot) u.scheduleEvents();
  return EntryOutcome.Entered;
}

/** §27.6 "Event Injection": the event of the VM-entry interruption-information field `info`,
 *  delivered through the guest IDT as if it had occurred in the guest (no exception-bitmap exit
 *  for the injected event itself; faults during its delivery may exit, with IDT-vectoring
 *  information). Software events push RIP + VM-entry instruction length. */
function inject(u: VmxUnit, info: number, boundary: number): void {
  const c = u.cpu, s = u.vmcs;
  const vector = info & 0xff, type = (info >>> 8) & 7, hasErr = (info & INTR_ERROR_CODE) !== 0;
  if (type === IntrType.Other) { u.mtfAt = boundary; return; } // a pending MTF VM exit (§27.7.8)
  const err = s.lo(V.VmEntryExceptionErrorCode) & 0xffff;
  const rip = c.eip;
  c.instrStart = rip;
  if (type === IntrType.SoftwareInterrupt || type === IntrType.PrivilegedSoftwareException || type === IntrType.SoftwareException) {
    c.eip = c.mode64 ? rip + s.lo(V.VmEntryInstructionLength) : (rip + s.lo(V.VmEntryInstructionLength)) & (c.code32 ? 0xffffffff : 0xffff);
  }
  c.inhibitUntil = -1; // delivering an event ends blocking by STI / MOV SS
  if (type === IntrType.Nmi) {
    if ((u.ctl.pin & PinBasedCtls.VirtualNmis) !== 0) u.virtualNmiBlocked = true; else c.nmiBlocked = true;
  }
  // §26.5.2: with MTF, an MTF VM exit is pending right after the injected event's delivery.
  if (u.mtfAt >= 0) u.mtfAt = boundary;
  u.injecting = true;
  try {
    c.deliver(c, vector, type, err, hasErr);
  } catch (e) {
    u.injecting = false;
    if (e !== FAULT) throw e; // VM_EXIT: an exit during delivery was taken
    c.exception(FAULT);
  }
  u.injecting = false;
}

/** §27.3.2 "Loading Guest State". */
function loadGuestState(u: VmxUnit): void {
  const c = u.cpu, s = u.vmcs, entry = s.lo(V.VmEntryControls);
  // ---- §27.3.2.1 control registers, debug registers, MSRs
  c.cr0 = ((s.lo(V.GuestCr0) & ~CR0_KEPT_ON_ENTRY) | (c.cr0 & CR0_KEPT_ON_ENTRY)) | 0;
  c.cr3 = s.lo(V.GuestCr3); c.cr3hi = s.hi(V.GuestCr3) & 0xf; // bits 35:32 (checked, §27.3.1.1)
  c.cr4 = s.lo(V.GuestCr4);
  if ((entry & EntryCtls.LoadDebugControls) !== 0) c.dr[7] = (s.lo(V.GuestDr7) & ~0xd000) | 0x400;
  c.sysenterCs = s.lo(V.GuestIa32SysenterCs) & 0xffff;
  c.sysenterEsp = s.lo(V.GuestIa32SysenterEsp) | 0;
  c.sysenterEip = s.lo(V.GuestIa32SysenterEip) | 0;
  if ((entry & EntryCtls.LoadPat) !== 0) {
    const e = c.msrs.get(MSR_PAT), lo = s.lo(V.GuestIa32Pat) | 0, hi = s.hi(V.GuestIa32Pat) | 0;
    if (e !== undefined) { e[0] = lo; e[1] = hi; } else c.msrs.set(MSR_PAT, [lo, hi]);
  }
  const long = u.caps.isa.longMode, ia32e = (entry & EntryCtls.Ia32eModeGuest) !== 0;
  // IA32_EFER: the field with "load IA32_EFER" (its LMA/LME checked against "IA-32e mode guest"),
  // otherwise LMA and LME from "IA-32e mode guest" (§27.3.2.1).
  const lm = long ? (ia32e ? Efer.LMA | Efer.LME : 0) : 0;
  if ((entry & EntryCtls.LoadEfer) !== 0) c.efer = s.lo(V.GuestIa32Efer) & eferFieldBits(u.caps);
  else if (long) c.efer = (c.efer & ~(Efer.LMA | Efer.LME)) | lm;
  if (long) {
    // Intel 64: the upper halves of the natural-width fields (CR3 bits 63:32 are checked to be
    // within the physical-address width; the CPU keeps physical addresses below 4 GB, so they
    // are not represented: long/README.md).
    c.sysenterEspHi = s.hi(V.GuestIa32SysenterEsp) | 0;
    c.sysenterEipHi = s.hi(V.GuestIa32SysenterEip) | 0;
  }
  // ---- §27.3.2.3 RIP, RSP, RFLAGS (RFLAGS before the segments: VM decides how they behave)
  c.eip = s.lo(V.GuestRip) >>> 0;
  c.r32[4] = s.lo(V.GuestRsp);
  if (long) c.r32hi[4] = s.hi(V.GuestRsp) | 0;
  c.flags = s.lo(V.GuestRflags) | 2; c.lazyMask = 0;
  // ---- §27.3.2.2 segment registers: unusable ones keep only their selector (FS/GS also their
  // base, SS its DPL: the CPL)
  for (let seg = 0; seg < 8; seg++) {
    const [selF, baseF, limF, arF] = SEG_FIELDS[seg];
    const ar = s.lo(arF);
    c.segSel[seg] = s.lo(selF) & 0xffff;
    if ((ar & UNUSABLE) !== 0) {
      const keep = seg === Seg.FS || seg === Seg.GS;
      c.segBase[seg] = keep ? s.lo(baseF) | 0 : 0;
      if (long) c.segBaseHi[seg] = keep ? s.hi(baseF) | 0 : 0;
      c.segLimit[seg] = 0;
      c.segAttr[seg] = seg === Seg.SS ? UNUSABLE | (ar & 0x60) : UNUSABLE;
    } else {
      c.segBase[seg] = s.lo(baseF) | 0;
      if (long) c.segBaseHi[seg] = s.hi(baseF) | 0;
      c.segLimit[seg] = s.lo(limF);
      c.segAttr[seg] = ar & 0xf0ff;
    }
  }
  c.gdtrBase = s.lo(V.GuestGdtrBase) | 0; c.gdtrLimit = s.lo(V.GuestGdtrLimit) & 0xffff;
  c.idtrBase = s.lo(V.GuestIdtrBase) | 0; c.idtrLimit = s.lo(V.GuestIdtrLimit) & 0xffff;
  if (long) { c.gdtrBaseHi = s.hi(V.GuestGdtrBase) | 0; c.idtrBaseHi = s.hi(V.GuestIdtrBase) | 0; }
  // CPL = SS.DPL (3 in virtual-8086 mode, where SS's access rights are F3H).
  const v86 = (c.flags & Flag.VM) !== 0 && (c.cr0 & Cr0.PE) !== 0;
  c.setCpl(v86 ? 3 : (s.lo(V.GuestSsAccessRights) >>> 5) & 3);
  for (let seg = 0; seg < 8; seg++) c.updateSegLimits(seg);
  c.modeChanged();
  if (long) {
    // 64-bit mode (EFER.LMA and CS.L, set above): the whole RIP, canonical by the checks.
    if (c.mode64) c.eip = pairToNumber(s.lo(V.GuestRip), s.hi(V.GuestRip));
    // The TLB's part for linear pages above 4 GB is not tagged by VPID/EPT context.
    c.tlb.flushHi();
  }
  c.halted = false; c.waitForSipi = false; c.delivering = -1;
}
