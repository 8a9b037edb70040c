// The VMCS of a hosted-mode vCPU: controls adjusted to the generation's capability MSRs (SDM
// Vol. 3D Appendix A.3-A.5: a bit may be 0 where the MSR's low half has 0, may be 1 where its
// high half has 1; IA32_VMX_TRUE_* when IA32_VMX_BASIC[55] says they exist), host state that
// passes §27.2.3 (the host built by host.ts), and the guest state of a PC at its reset vector
// (§27.3.1 with the unrestricted-guest relaxations: real mode runs directly, CR0.PE = PG = 0).
import type { Cpu } from '../cpu/cpu';
import { Seg } from '../cpu/regs';
import { ControlField, ExitCtls, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2, controlBitName } from '../vmx/controls';
import { GUEST_SEGMENT_FIELDS, VmcsField as V } from '../vmx/fields';
import type { VmxRoot } from '../vmx/root';
import { controlWords, crMasks, type ExitControls } from './exit-controls';
import { CR0_OWNED, CR4_OWNED } from './guest-view';
import { HOST_CR0, HOST_CR4, rdmsr } from './host';
import { HOST_CS, HOST_DS, HOST_GDT, HOST_PD, HOST_RIP, HOST_STACK_TOP, HOST_TR, HOST_TSS } from './layout';

/** Capability MSRs (Appendix A): basic, the control pairs, the TRUE pairs, EPT/VPID. */
export const enum VmxMsr {
  Basic = 0x480, Pinbased = 0x481, Procbased = 0x482, Exit = 0x483, Entry = 0x484, Misc = 0x485,
  Procbased2 = 0x48b, EptVpidCap = 0x48c,
  TruePinbased = 0x48d, TrueProcbased = 0x48e, TrueExit = 0x48f, TrueEntry = 0x490,
}

/** Where the VMM's bitmaps are (host-physical): I/O bitmaps A and B, the MSR bitmap (§25.6.4, §25.6.9). */
export interface BitmapAddresses { ioA: number; ioB: number; msr: number }

/** VPID of vCPU `i`: nonzero (0 is the host's, §27.2.1.1 refuses it with "enable VPID"), one
 *  per vCPU so that each keeps its own tagged translations (§29.1). */
export function vcpuVpid(i: number): number { return i + 1; }

/** Guest activity states (SDM Vol. 3C §25.4.2 Table 25-3). */
export const enum Activity { Active = 0, Hlt = 1, Shutdown = 2, WaitForSipi = 3 }

/** A generation lacks a control hosted mode needs. */
export class UnsupportedGeneration extends Error {}

export class VmcsWriter {
  constructor(readonly root: VmxRoot, readonly generation: string) {}

  w(f: V, v: number): void {
    const r = this.root.vmwrite(f, v);
    if (r.kind !== 'succeed') throw new Error(`VMWRITE ${V[f]} = 0x${(v >>> 0).toString(16)}: ${r.kind === 'failValid' ? r.detail : r.kind}`);
  }
  r(f: V): number {
    const value = this.root.vmreadValue(f), r = this.root.lastResult;
    if (r.kind !== 'succeed') throw new Error(`VMREAD ${V[f]}: ${r.kind === 'failValid' ? r.detail : r.kind}`);
    return value;
  }
  w64(f: V, v: bigint): void {
    const r = this.root.vmwrite64(f, v);
    if (r.kind !== 'succeed') throw new Error(`VMWRITE ${V[f]} (64-bit): ${r.kind === 'failValid' ? r.detail : r.kind}`);
  }

  /** `want` plus the must-be-1 bits of `msr`; refuses bits the generation cannot set. */
  adjust(c: Cpu, field: ControlField, msr: number, want: number): number {
    const [must1, may1] = rdmsr(c, msr);
    const missing = want & ~may1;
    if (missing !== 0) {
      const names: string[] = [];
      for (let b = 0; b < 32; b++) if ((missing >>> b) & 1) names.push(`'${controlBitName(field, b)}'`);
      throw new UnsupportedGeneration(`hosted mode needs ${names.join(', ')} (${field === ControlField.ProcBased2 ? 'secondary processor-based' : 'VM-execution'} control), which generation '${this.generation}' lacks` +
        (missing & (ProcBasedCtls2.UnrestrictedGuest | ProcBasedCtls2.EnableEpt) && field === ControlField.ProcBased2
          ? ' (running real-mode code without unrestricted guest needs shadow paging and V86 emulation: issue 6)' : ''));
    }
    return (want | must1) >>> 0;
  }
}

/** Whether the generation has "unrestricted guest" and "enable EPT" (read from the capability
 *  MSRs as root software would: IA32_VMX_PROCBASED_CTLS[63] for the secondary controls,
 *  IA32_VMX_PROCBASED_CTLS2[32+1] and [32+7]). Without them the VMM runs shadow paging and
 *  emulates real-mode code (issue 6). */
export function hasUnrestrictedGuest(c: Cpu): boolean {
  const [, procMay1] = rdmsr(c, VmxMsr.Procbased);
  const [, proc2May1] = ((procMay1 >>> 31) & 1) !== 0 ? rdmsr(c, VmxMsr.Procbased2) : [0, 0];
  const need = ProcBasedCtls2.EnableEpt | ProcBasedCtls2.UnrestrictedGuest;
  return (proc2May1 & need) === need;
}

/** Writes controls, host state and the reset-vector guest state. `reset` holds the state the
 *  bare machine's CPU starts in (the firmware's reset, read before the host took the CPU). */
export function setupVmcs(v: VmcsWriter, c: Cpu, hostBase: number, eptp: number, s: ExitControls, bitmaps: BitmapAddresses,
  reset: ResetState, vpid: number, activity: Activity, shadow: ShadowCrs | null = null): void {
  const [, basicHi] = rdmsr(c, VmxMsr.Basic);
  const hasTrue = ((basicHi >>> 23) & 1) !== 0; // IA32_VMX_BASIC[55]
  const [, proc1Allowed] = rdmsr(c, VmxMsr.Procbased);
  const secondary = ((proc1Allowed >>> 31) & 1) !== 0;
  if (!secondary && shadow === null) {
    throw new UnsupportedGeneration(`hosted mode with EPT needs 'unrestricted guest' and 'enable EPT', which generation '${v.generation}' lacks (no secondary processor-based controls at all: run with ept=off)`);
  }
  // [0] external-interrupt exiting: the guest's PIC/APIC interrupts come to the VMM, which
  // injects them (§26.2; with "acknowledge interrupt on exit" the vector is in the exit
  // interruption information, §28.2.2).
  // The run's exit controls (exit-controls.ts; checked against the generation before this).
  const want = controlWords(s);
  v.w(V.PinBasedControls, v.adjust(c, ControlField.PinBased, hasTrue ? VmxMsr.TruePinbased : VmxMsr.Pinbased, PinBasedCtls.ExternalInterruptExiting | want.pin));
  // MWAIT and MONITOR exiting always, as KVM's setup_vmcs_config requires them (hosted.ts runs
  // them as NOPs; CPUID hides MONITOR/MWAIT from the guest).
  // Shadow paging (issue 6): the guest's CR3 loads and stores, its INVLPGs and every #PF come
  // to the VMM (KVM with enable_ept=0), whatever the settings say.
  const shadowProc = shadow !== null ? ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr3StoreExiting | ProcBasedCtls.InvlpgExiting : 0;
  const proc = want.proc | shadowProc | (secondary ? ProcBasedCtls.ActivateSecondaryControls : 0) | ProcBasedCtls.MwaitExiting | ProcBasedCtls.MonitorExiting;
  v.w(V.ProcBasedControls, v.adjust(c, ControlField.ProcBased, hasTrue ? VmxMsr.TrueProcbased : VmxMsr.Procbased, proc));
  // RDTSCP and INVPCID run in the guest where the CPU has them (as KVM's
  // vmx_secondary_exec_control does); without the control they #UD there, so CPUID hides them
  // (hosted.ts cpuid).
  if (secondary) {
    const [, proc2May1] = rdmsr(c, VmxMsr.Procbased2);
    const guestIsa = proc2May1 & (ProcBasedCtls2.EnableRdtscp | ProcBasedCtls2.EnableInvpcid);
    const paging = shadow === null ? ProcBasedCtls2.EnableEpt | ProcBasedCtls2.UnrestrictedGuest : 0;
    v.w(V.ProcBasedControls2, v.adjust(c, ControlField.ProcBased2, VmxMsr.Procbased2, paging | guestIsa | want.proc2));
  }
  if (s.vpid) v.w(V.VirtualProcessorId, vpid);
  // The preemption timer reloads this value at every entry ("save VMX-preemption timer value"
  // stays 0, §26.7.4): a fixed scheduling tick of value * 2^MISC[4:0] TSC ticks.
  if (s.preemptionTimer !== null) v.w(V.VmxPreemptionTimerValue, s.preemptionTimer);
  v.w64(V.IoBitmapA, BigInt(bitmaps.ioA)); v.w64(V.IoBitmapB, BigInt(bitmaps.ioB)); v.w64(V.MsrBitmap, BigInt(bitmaps.msr));
  v.w(V.VmExitControls, v.adjust(c, ControlField.Exit, hasTrue ? VmxMsr.TrueExit : VmxMsr.Exit, ExitCtls.AcknowledgeInterruptOnExit));
  v.w(V.VmEntryControls, v.adjust(c, ControlField.Entry, hasTrue ? VmxMsr.TrueEntry : VmxMsr.Entry, 0));
  v.w(V.ExceptionBitmap, (s.exceptionBitmap | (shadow !== null ? 1 << 14 : 0)) >>> 0);
  v.w(V.PageFaultErrorCodeMask, 0); v.w(V.PageFaultErrorCodeMatch, 0);
  v.w(V.Cr3TargetCount, 0);
  v.w(V.VmExitMsrStoreCount, 0); v.w(V.VmExitMsrLoadCount, 0); v.w(V.VmEntryMsrLoadCount, 0);
  v.w(V.VmEntryInterruptionInfo, 0);
  v.w64(V.VmcsLinkPointer, 0xffffffffffffffffn);
  if (shadow === null) v.w64(V.EptPointer, BigInt(eptp >>> 0));
  // CR0.NE and CR4.VMXE are the VMM's (see guest-view.ts): the guest reads its own values.
  // plus the run's masks (exit-controls.ts: KVM's by default).
  const masks = crMasks(s);
  // With shadow paging the VMM also owns the paging bits (shadow.cr0Owned / cr4Owned).
  const own0 = shadow !== null ? shadow.cr0Owned : CR0_OWNED, own4 = shadow !== null ? shadow.cr4Owned : CR4_OWNED;
  v.w(V.Cr0GuestHostMask, (own0 | masks.cr0) >>> 0); v.w(V.Cr4GuestHostMask, (own4 | masks.cr4) >>> 0);
  // Host state (§27.2.3): the flat ring-0 host of host.ts.
  v.w(V.HostCr0, HOST_CR0); v.w(V.HostCr3, hostBase + HOST_PD); v.w(V.HostCr4, HOST_CR4);
  v.w(V.HostCsSelector, HOST_CS);
  for (const f of [V.HostSsSelector, V.HostDsSelector, V.HostEsSelector, V.HostFsSelector, V.HostGsSelector]) v.w(f, HOST_DS);
  v.w(V.HostTrSelector, HOST_TR); v.w(V.HostTrBase, hostBase + HOST_TSS);
  v.w(V.HostGdtrBase, hostBase + HOST_GDT); v.w(V.HostIdtrBase, 0);
  v.w(V.HostFsBase, 0); v.w(V.HostGsBase, 0);
  v.w(V.HostIa32SysenterCs, 0); v.w(V.HostIa32SysenterEsp, 0); v.w(V.HostIa32SysenterEip, 0);
  v.w(V.HostRip, hostBase + HOST_RIP); v.w(V.HostRsp, hostBase + HOST_STACK_TOP);
  writeGuestState(v, reset, activity);
  // MSRs in the guest-state area: RESET clears them, INIT keeps them (Table 9-1), so only here.
  v.w(V.GuestIa32SysenterCs, 0); v.w(V.GuestIa32SysenterEsp, 0); v.w(V.GuestIa32SysenterEip, 0);
  v.w64(V.GuestIa32Debugctl, 0n);
}

/** The guest-state area for a vCPU at `reset` (the reset vector, or the INIT state of an AP)
 *  in `activity` (an AP waits for its Startup IPI: §25.4.2, §26.2). */
export function writeGuestState(v: VmcsWriter, reset: ResetState, activity: Activity): void {
  for (let i = 0; i < 6; i++) {
    const [sel, base, lim, ar] = GUEST_SEGMENT_FIELDS[i];
    v.w(sel, reset.sel[i]); v.w(base, reset.base[i]); v.w(lim, reset.limit[i]); v.w(ar, reset.attr[i]);
  }
  // LDTR unusable; TR a busy 32-bit TSS as §27.3.1.2 requires even in real mode (base 0).
  v.w(V.GuestLdtrSelector, 0); v.w(V.GuestLdtrBase, 0); v.w(V.GuestLdtrLimit, 0xffff); v.w(V.GuestLdtrAccessRights, 0x10000);
  v.w(V.GuestTrSelector, 0); v.w(V.GuestTrBase, 0); v.w(V.GuestTrLimit, 0xffff); v.w(V.GuestTrAccessRights, 0x8b);
  v.w(V.GuestGdtrBase, reset.gdtrBase); v.w(V.GuestGdtrLimit, reset.gdtrLimit);
  v.w(V.GuestIdtrBase, reset.idtrBase); v.w(V.GuestIdtrLimit, reset.idtrLimit);
  v.w(V.GuestCr0, (reset.cr0 | CR0_OWNED) >>> 0); v.w(V.Cr0ReadShadow, reset.cr0);
  v.w(V.GuestCr4, reset.cr4 | CR4_OWNED); v.w(V.Cr4ReadShadow, reset.cr4);
  v.w(V.GuestCr3, reset.cr3);
  v.w(V.GuestDr7, 0x400);
  v.w(V.GuestRip, reset.eip); v.w(V.GuestRsp, reset.esp); v.w(V.GuestRflags, reset.flags);
  v.w(V.GuestActivityState, activity); v.w(V.GuestInterruptibilityState, 0); v.w(V.GuestPendingDebugExceptions, 0);
}

/** The CR0/CR4 bits the VMM owns under shadow paging (guest-view.ts `shadowOwned`). */
export interface ShadowCrs { cr0Owned: number; cr4Owned: number }

/** What the CPU held after the firmware's reset (the bare machine's starting state). */
export interface ResetState {
  sel: number[]; base: number[]; limit: number[]; attr: number[];
  eip: number; esp: number; flags: number; cr0: number; cr3: number; cr4: number;
  gdtrBase: number; gdtrLimit: number; idtrBase: number; idtrLimit: number;
}

/** The state INIT gives a CPU (SDM Vol. 3A §9.1.1 Table 9-1, "INIT" column): as RESET, with
 *  CR0.CD/NW kept from `cr0` (the guest's CR0 when the INIT came). */
export function initState(cr0: number): ResetState {
  const data = 0x93, code = 0x9b;
  return {
    sel: [0, 0xf000, 0, 0, 0, 0], base: [0, 0xffff0000, 0, 0, 0, 0], limit: [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff],
    attr: [data, code, data, data, data, data],
    eip: 0xfff0, esp: 0, flags: 2, cr0: ((cr0 & 0x60000000) | 0x10) >>> 0, cr3: 0, cr4: 0,
    gdtrBase: 0, gdtrLimit: 0xffff, idtrBase: 0, idtrLimit: 0xffff,
  };
}

export function captureReset(c: Cpu): ResetState {
  const segs = [Seg.ES, Seg.CS, Seg.SS, Seg.DS, Seg.FS, Seg.GS];
  return {
    sel: segs.map((s) => c.segSel[s]), base: segs.map((s) => c.segBase[s] >>> 0),
    limit: segs.map((s) => c.segLimit[s] >>> 0), attr: segs.map((s) => c.segAttr[s] >>> 0),
    eip: c.eip >>> 0, esp: c.r32[4] >>> 0, flags: c.getFlags() >>> 0, cr0: c.cr0 >>> 0, cr3: c.cr3 >>> 0, cr4: c.cr4 >>> 0,
    gdtrBase: c.gdtrBase >>> 0, gdtrLimit: c.gdtrLimit, idtrBase: c.idtrBase >>> 0, idtrLimit: c.idtrLimit,
  };
}
