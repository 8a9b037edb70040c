// VM exits (SDM Vol. 3C ch. 28): recording the exit information (§28.2), saving guest state
// (§28.3) and MSRs (§28.4), loading host state (§28.5) and MSRs (§28.6), and the VMX abort when
// that fails (§28.7). Also the second half of a VM-entry failure (§27.8), which loads host state
// the same way without saving any guest state.
import { Cr0, Cr4, Efer, Seg } from '../cpu/regs';
import { paePdpteInvalid } from '../cpu/paging';
import { numberHi, numberLo, pairToNumber } from '../cpu/long/long-mode';
import { VmxFeature } from './features';
import { InhibitBy } from '../cpu/cpu';
import { EntryCtls, ExitCtls, PinBasedCtls } from './controls';
import { EXIT_REASON_ENTRY_FAILURE, ExitReason } from './exit-reasons';
import { INTR_VALID, IntrType } from './exit-info';
import { GUEST_SEGMENT_FIELDS, VmcsField as V } from './fields';
import { ActivityState, Interruptibility, PendingDebug } from './guest-checks';
import { loadMsrList, storeMsrList } from './msr-lists';
import { eferFieldBits } from './entry-checks';
import type { VmxUnit } from './unit';

/** VMX-abort indicators (§28.7 "VMX Aborts"). */
export enum VmxAbort {
  SavingGuestMsrs = 1,
  HostPdptes = 2,
  CorruptVmcs = 3,
  LoadingHostMsrs = 4,
  MachineCheck = 5,
  HostIa32eMode = 6,
}

/** VMX-abort indicator's offset in the VMCS region (§25.2). */
const VMX_ABORT_OFFSET = 4;

/** The exit information of the exit being taken (set by whoever decides the exit; every field
 *  is written to the VMCS, undefined ones as 0). */
export class ExitInfo {
  qualification = 0;
  /** Bits 63:32 of the qualification and guest-linear address (Intel 64: natural width). */
  qualificationHi = 0;
  guestLinearHi = 0;
  instructionLength = 0;
  instructionInfo = 0;
  guestLinear = 0;
  guestPhysical = 0;
  /** Bits 63:32 of the guest-physical address (35:32 with MAXPHYADDR 36). */
  guestPhysicalHi = 0;
  interruptionInfo = 0;
  interruptionErrorCode = 0;
  /** The exit happened while an event was being delivered (§28.2.4): IDT-vectoring information
   *  from the unit's delivery record. */
  duringDelivery = false;
  /** Activity state to save instead of the CPU's (INIT and SIPI exits, whose event has already
   *  woken the CPU out of HLT or wait-for-SIPI); -1: the CPU's. */
  activity = -1;

  clear(): void {
    this.qualification = 0; this.qualificationHi = 0; this.guestLinearHi = 0; this.instructionLength = 0; this.instructionInfo = 0; this.guestLinear = 0;
    this.guestPhysical = 0; this.guestPhysicalHi = 0; this.interruptionInfo = 0; this.interruptionErrorCode = 0;
    this.duringDelivery = false; this.activity = -1;
  }
}

const SEG_FIELDS = GUEST_SEGMENT_FIELDS;
/** In vmxlab's Seg order (ES CS SS DS FS GS LDTR TR). */
export { SEG_FIELDS };

const UNUSABLE = 1 << 16;
const MSR_PAT = 0x277;
/** CR0 bits VM exits leave alone (§28.5.1): ET, CD, NW, and 28:19, 17, 15:6 (reserved). */
const CR0_KEPT_ON_EXIT = (Cr0.ET | Cr0.CD | Cr0.NW | 0x1ff80000 | (1 << 17) | 0xffc0) >>> 0;

/** Takes a VM exit with basic reason `reason` at guest RIP `rip`, with the unit's ExitInfo. */
export function vmExit(u: VmxUnit, reason: ExitReason, rip: number): void {
  const c = u.cpu, s = u.vmcs, x = u.exitInfo;
  // ---- §28.2 recording VM-exit information and updating VM-entry control fields
  s.setLo(V.ExitReason, reason);
  s.setLo(V.ExitQualification, x.qualification); s.setHi(V.ExitQualification, x.qualificationHi);
  s.setLo(V.GuestLinearAddress, x.guestLinear); s.setHi(V.GuestLinearAddress, x.guestLinearHi);
  s.setLo(V.GuestPhysicalAddress, x.guestPhysical); s.setHi(V.GuestPhysicalAddress, x.guestPhysicalHi);
  s.setLo(V.VmExitInstructionLength, x.instructionLength);
  s.setLo(V.VmExitInstructionInfo, x.instructionInfo);
  s.setLo(V.VmExitInterruptionInfo, x.interruptionInfo);
  s.setLo(V.VmExitInterruptionErrorCode, x.interruptionErrorCode);
  if (x.duringDelivery && u.deliveryInfo !== 0) {
    s.setLo(V.IdtVectoringInfo, u.deliveryInfo);
    s.setLo(V.IdtVectoringErrorCode, u.deliveryErrorCode);
    // During delivery of a software interrupt or exception: that instruction's length.
    const type = (u.deliveryInfo >>> 8) & 7;
    if (type >= IntrType.SoftwareInterrupt && type <= IntrType.SoftwareException) s.setLo(V.VmExitInstructionLength, u.deliveryLength);
  } else {
    s.setLo(V.IdtVectoringInfo, 0);
  }
  // Every VM exit clears the valid bit of the VM-entry interruption-information field.
  s.setLo(V.VmEntryInterruptionInfo, s.lo(V.VmEntryInterruptionInfo) & ~INTR_VALID);
  // With IA32_VMX_MISC[5], IA32_EFER.LMA is stored into the "IA-32e mode guest" entry control.
  if (u.caps.features.has(VmxFeature.StoreLmaOnExit)) {
    const e = s.lo(V.VmEntryControls);
    s.setLo(V.VmEntryControls, (c.efer & Efer.LMA) !== 0 ? e | EntryCtls.Ia32eModeGuest : e & ~EntryCtls.Ia32eModeGuest);
  }

  // ---- §28.3 saving guest state
  c.eip = rip;
  saveGuestState(u, x.activity);
  // EPT and VPID: PDPTEs saved, back to the host's translation context (ept-hooks.ts).
  u.ept.onExit(s);
  leaveNonRoot(u);
  if (reason === ExitReason.ExceptionOrNmi && ((x.interruptionInfo >>> 8) & 7) === 2) c.nmiBlocked = true; // an NMI exit leaves NMIs blocked

  // ---- §28.4 saving MSRs
  const bad = storeMsrList(c, s.lo(V.VmExitMsrStoreAddress), s.lo(V.VmExitMsrStoreCount));
  if (bad !== 0) { vmxAbort(u, VmxAbort.SavingGuestMsrs, `VM-exit MSR-store entry ${bad} failed`); return; }
  // ---- §28.5, §28.6
  if (!loadHost(u)) return;
  u.completeExit(reason);
}

/**
 * A VM-entry failure during or after loading guest state (§27.8): exit reason `reason` with bit
 * 31, the exit qualification; no guest state is saved; host state and host MSRs are loaded as
 * by a VM exit. The other VM-exit information fields keep their contents.
 */
export function vmEntryFailure(u: VmxUnit, reason: ExitReason, qualification: number): void {
  const s = u.vmcs;
  s.setLo(V.ExitReason, (reason | EXIT_REASON_ENTRY_FAILURE) >>> 0);
  s.setLo(V.ExitQualification, qualification); s.setHi(V.ExitQualification, 0);
  leaveNonRoot(u);
  if (!loadHost(u)) return;
  u.completeExit((reason | EXIT_REASON_ENTRY_FAILURE) >>> 0);
}

/** §28.5 then §28.6; false after a VMX abort. */
function loadHost(u: VmxUnit): boolean {
  const c = u.cpu, s = u.vmcs;
  const why = loadHostState(u);
  if (why !== null) { vmxAbort(u, VmxAbort.HostPdptes, why); return false; }
  const bad = loadMsrList(c, s.lo(V.VmExitMsrLoadAddress), s.lo(V.VmExitMsrLoadCount));
  if (bad !== 0) { vmxAbort(u, VmxAbort.LoadingHostMsrs, `VM-exit MSR-load entry ${bad} failed`); return false; }
  return true;
}

/** The VMX-non-root parts of CPU state end: no guest, no VMX deadlines, no pending guest events. */
function leaveNonRoot(u: VmxUnit): void {
  const c = u.cpu;
  c.nonRoot = false;
  c.eventAt = Infinity;
  c.halted = false;
  c.waitForSipi = false;
  c.delivering = -1;
  c.inhibitUntil = -1;
  c.heldDebug = 0; // saved in the guest's pending debug exceptions
  c.apicAccessPage = -1;
  c.monitorArmed = false; // VM exits clear address-range monitoring (SDM Vol. 3C ch. 28, "Clearing Address-Range Monitoring")
  u.resetGuestTracking();
}

/**
 * §28.7: the processor writes the VMX-abort indicator into the current VMCS region and enters
 * the VMX-abort shutdown state, which only RESET leaves (vmxlab: the CPU's shutdown, with why).
 */
export function vmxAbort(u: VmxUnit, indicator: VmxAbort, why: string): void {
  const c = u.cpu;
  if (u.vmcs.valid) c.mem.write32(u.vmcs.pa + VMX_ABORT_OFFSET, indicator);
  c.nonRoot = false;
  c.apicAccessPage = -1;
  c.eventAt = Infinity;
  u.resetGuestTracking();
  c.triple(`VMX abort ${indicator} (${VmxAbort[indicator]}): ${why}`);
  c.eventPending = true;
}

/** §28.3 "Saving Guest State". */
function saveGuestState(u: VmxUnit, activityOverride: number): void {
  const c = u.cpu, s = u.vmcs, exit = u.ctl.exit;
  // ---- §28.3.1 control registers, debug registers, MSRs
  s.setLo(V.GuestCr0, c.cr0); s.setHi(V.GuestCr0, 0);
  s.setLo(V.GuestCr3, c.cr3); s.setHi(V.GuestCr3, c.cr3hi);
  s.setLo(V.GuestCr4, c.cr4); s.setHi(V.GuestCr4, 0);
  if ((exit & ExitCtls.SaveDebugControls) !== 0) {
    s.setLo(V.GuestDr7, c.dr[7]); s.setHi(V.GuestDr7, 0);
    // IA32_DEBUGCTL is not modelled (no LBR, no BTF): it reads as 0.
    s.setLo(V.GuestIa32Debugctl, 0); s.setHi(V.GuestIa32Debugctl, 0);
  }
  s.setLo(V.GuestIa32SysenterCs, c.sysenterCs);
  // Natural-width fields are 64 bits wide with Intel 64 (their upper halves the CPU's).
  const long = u.caps.isa.longMode;
  s.setLo(V.GuestIa32SysenterEsp, c.sysenterEsp); s.setHi(V.GuestIa32SysenterEsp, long ? c.sysenterEspHi : 0);
  s.setLo(V.GuestIa32SysenterEip, c.sysenterEip); s.setHi(V.GuestIa32SysenterEip, long ? c.sysenterEipHi : 0);
  if ((exit & ExitCtls.SavePat) !== 0) {
    const pat = c.msrs.get(MSR_PAT);
    s.setLo(V.GuestIa32Pat, pat !== undefined ? pat[0] : 0x00070406); s.setHi(V.GuestIa32Pat, pat !== undefined ? pat[1] : 0x00070406);
  }
  if ((exit & ExitCtls.SaveEfer) !== 0) { s.setLo(V.GuestIa32Efer, c.efer); s.setHi(V.GuestIa32Efer, 0); }
  // ---- §28.3.2 segment and descriptor-table registers (unusable: bit 16 set; SS keeps its DPL)
  for (let seg = 0; seg < 8; seg++) {
    const [selF, baseF, limF, arF] = SEG_FIELDS[seg];
    s.setLo(selF, c.segSel[seg]);
    s.setLo(baseF, c.segBase[seg]); s.setHi(baseF, long ? c.segBaseHi[seg] : 0);
    s.setLo(limF, c.segLimit[seg]);
    let ar = c.segAttr[seg] & 0x1f0ff;
    if ((ar & UNUSABLE) !== 0) ar = seg === Seg.SS ? UNUSABLE | (c.cpl << 5) : UNUSABLE;
    s.setLo(arF, ar);
  }
  s.setLo(V.GuestGdtrBase, c.gdtrBase); s.setHi(V.GuestGdtrBase, long ? c.gdtrBaseHi : 0); s.setLo(V.GuestGdtrLimit, c.gdtrLimit);
  s.setLo(V.GuestIdtrBase, c.idtrBase); s.setHi(V.GuestIdtrBase, long ? c.idtrBaseHi : 0); s.setLo(V.GuestIdtrLimit, c.idtrLimit);
  // ---- §28.3.3 RIP, RSP, RFLAGS (RF is not modelled by the interpreter: saved as it is). In
  // 64-bit mode Cpu.eip is the whole RIP as a signed number.
  s.setLo(V.GuestRip, c.mode64 ? numberLo(c.eip) : c.eip); s.setHi(V.GuestRip, c.mode64 ? numberHi(c.eip) : 0);
  s.setLo(V.GuestRsp, c.r32[4]); s.setHi(V.GuestRsp, long ? c.r32hi[4] : 0);
  s.setLo(V.GuestRflags, c.getFlags()); s.setHi(V.GuestRflags, 0);
  // ---- §28.3.4 non-register state
  const activity = activityOverride >= 0 ? activityOverride :
    c.waitForSipi ? ActivityState.WaitForSipi : u.guestShutdown ? ActivityState.Shutdown : c.halted ? ActivityState.Hlt : ActivityState.Active;
  s.setLo(V.GuestActivityState, activity);
  let irq = 0;
  const shadow = c.icount < c.inhibitUntil;
  if (shadow) irq |= c.inhibitBy === InhibitBy.MovSs ? Interruptibility.MovSs : Interruptibility.Sti;
  if ((u.ctl.pin & PinBasedCtls.VirtualNmis) !== 0 ? u.virtualNmiBlocked : c.nmiBlocked) irq |= Interruptibility.Nmi;
  s.setLo(V.GuestInterruptibilityState, irq);
  // Pending debug exceptions (§28.3.4): an exit other than by #DB while MOV SS blocks debug
  // exceptions saves the traps pending then: the single step of MOV SS/POP SS with TF = 1 (BS),
  // or what VM entry loaded and still holds (cpu.ts heldDebug). The interpreter delivers every
  // other single-step trap right after its instruction and models no data or I/O breakpoints,
  // so nothing else is ever pending at an exit.
  const held = shadow && c.inhibitBy === InhibitBy.MovSs ? c.heldDebug & (PendingDebug.B0toB3 | PendingDebug.Bs) : 0;
  s.setLo(V.GuestPendingDebugExceptions, held); s.setHi(V.GuestPendingDebugExceptions, 0);
  if ((exit & ExitCtls.SavePreemptionTimer) !== 0) s.setLo(V.VmxPreemptionTimerValue, u.preemptionTimerLeft());
}

// Host segment access rights (§28.5.2): CS 32-bit code execute/read accessed, G; data segments
// read/write accessed, D/B, G; TR a busy 32-bit TSS.
const HOST_CS_AR = 0xc09b, HOST_DATA_AR = 0xc093, HOST_TR_AR = 0x8b;
/** A 64-bit host's CS: L = 1, D/B = 0 (§28.5.2). */
const HOST_CS64_AR = 0xa09b;
const HOST_SEL: readonly V[] = [V.HostEsSelector, V.HostCsSelector, V.HostSsSelector, V.HostDsSelector, V.HostFsSelector, V.HostGsSelector];

/** §28.5 "Loading Host State"; returns why the host's PDPTEs are bad (a VMX abort), or null. */
function loadHostState(u: VmxUnit): string | null {
  const c = u.cpu, s = u.vmcs, exit = s.lo(V.VmExitControls);
  // ---- §28.5.1 control registers, debug registers, MSRs
  c.cr0 = ((s.lo(V.HostCr0) & ~CR0_KEPT_ON_EXIT) | (c.cr0 & CR0_KEPT_ON_EXIT)) | 0;
  c.cr3 = s.lo(V.HostCr3); c.cr3hi = s.hi(V.HostCr3) & 0xf; // bits 35:32 (checked, §27.2.2)
  c.cr4 = s.lo(V.HostCr4) | Cr4.VMXE;
  c.dr[7] = 0x400;
  c.sysenterCs = s.lo(V.HostIa32SysenterCs) & 0xffff;
  c.sysenterEsp = s.lo(V.HostIa32SysenterEsp) | 0;
  c.sysenterEip = s.lo(V.HostIa32SysenterEip) | 0;
  const long = u.caps.isa.longMode, hostLong = (exit & ExitCtls.HostAddressSpaceSize) !== 0;
  if (long) { c.sysenterEspHi = s.hi(V.HostIa32SysenterEsp) | 0; c.sysenterEipHi = s.hi(V.HostIa32SysenterEip) | 0; }
  if ((exit & ExitCtls.LoadPat) !== 0) {
    const e = c.msrs.get(MSR_PAT);
    const lo = s.lo(V.HostIa32Pat) | 0, hi = s.hi(V.HostIa32Pat) | 0;
    if (e !== undefined) { e[0] = lo; e[1] = hi; } else c.msrs.set(MSR_PAT, [lo, hi]);
  }
  // IA32_EFER: the field with "load IA32_EFER"; otherwise LMA and LME from "host address-space
  // size" (§28.5.1).
  if ((exit & ExitCtls.LoadEfer) !== 0) c.efer = s.lo(V.HostIa32Efer) & eferFieldBits(u.caps);
  else if (long) c.efer = (c.efer & ~(Efer.LMA | Efer.LME)) | (hostLong ? Efer.LMA | Efer.LME : 0);
  // ---- §28.5.2 segment and descriptor-table registers
  c.setCpl(0);
  for (let seg = Seg.ES; seg <= Seg.GS; seg++) {
    const sel = s.lo(HOST_SEL[seg]) & 0xffff;
    c.segSel[seg] = sel;
    if (long) c.segBaseHi[seg] = seg === Seg.FS ? s.hi(V.HostFsBase) | 0 : seg === Seg.GS ? s.hi(V.HostGsBase) | 0 : 0;
    if (seg === Seg.CS) {
      // CS.L = "host address-space size", D/B its inverse (§28.5.2).
      c.segBase[seg] = 0; c.segLimit[seg] = 0xffffffff; c.segAttr[seg] = hostLong ? HOST_CS64_AR : HOST_CS_AR;
    } else if (sel === 0) {
      // Unusable; FS and GS still take their bases from the host fields.
      c.segBase[seg] = seg === Seg.FS ? s.lo(V.HostFsBase) | 0 : seg === Seg.GS ? s.lo(V.HostGsBase) | 0 : 0;
      c.segLimit[seg] = 0; c.segAttr[seg] = UNUSABLE;
    } else {
      c.segBase[seg] = seg === Seg.FS ? s.lo(V.HostFsBase) | 0 : seg === Seg.GS ? s.lo(V.HostGsBase) | 0 : 0;
      c.segLimit[seg] = 0xffffffff; c.segAttr[seg] = HOST_DATA_AR;
    }
  }
  c.segSel[Seg.TR] = s.lo(V.HostTrSelector) & 0xffff;
  c.segBase[Seg.TR] = s.lo(V.HostTrBase) | 0; c.segLimit[Seg.TR] = 0x67; c.segAttr[Seg.TR] = HOST_TR_AR;
  c.segSel[Seg.LDTR] = 0; c.segBase[Seg.LDTR] = 0; c.segLimit[Seg.LDTR] = 0; c.segAttr[Seg.LDTR] = UNUSABLE;
  c.gdtrBase = s.lo(V.HostGdtrBase) | 0; c.gdtrLimit = 0xffff;
  c.idtrBase = s.lo(V.HostIdtrBase) | 0; c.idtrLimit = 0xffff;
  if (long) {
    c.segBaseHi[Seg.TR] = s.hi(V.HostTrBase) | 0; c.segBaseHi[Seg.LDTR] = 0;
    c.gdtrBaseHi = s.hi(V.HostGdtrBase) | 0; c.idtrBaseHi = s.hi(V.HostIdtrBase) | 0;
  }
  // ---- §28.5.3 RIP, RSP, RFLAGS
  c.eip = s.lo(V.HostRip) >>> 0;
  c.r32[4] = s.lo(V.HostRsp);
  if (long) c.r32hi[4] = s.hi(V.HostRsp) | 0;
  c.flags = 2; c.lazyMask = 0;
  // ---- §28.5.5 non-register state: active, no blocking by STI or MOV SS
  c.halted = false; c.waitForSipi = false; c.inhibitUntil = -1;
  for (let seg = 0; seg < 8; seg++) c.updateSegLimits(seg);
  c.modeChanged();
  if (long) {
    // A 64-bit host (EFER.LMA and CS.L) gets the whole RIP (canonical: §27.2.4); the part of the
    // TLB for pages above 4 GB is not tagged by VPID/EPT context.
    if (c.mode64) c.eip = pairToNumber(s.lo(V.HostRip), s.hi(V.HostRip));
    c.tlb.flushHi();
  }
  c.eventPending = true;
  // ---- §28.5.4 PDPTEs of a PAE host outside IA-32e mode (vmxlab's paging reads them from
  // memory at every walk; their reserved bits are checked here as the load would)
  if ((c.cr0 & Cr0.PG) !== 0 && (c.cr4 & Cr4.PAE) !== 0 && (c.efer & Efer.LMA) === 0) {
    const base = c.cr3 & ~0x1f;
    for (let i = 0; i < 4; i++) {
      const lo = c.mem.read32(base + i * 8), hi = c.mem.read32(base + i * 8 + 4);
      if (paePdpteInvalid(lo, hi)) return `host PDPTE ${i} at 0x${(base + i * 8).toString(16)} sets reserved bits`;
    }
  }
  return null;
}
