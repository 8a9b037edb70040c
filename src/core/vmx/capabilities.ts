// The VMX capability MSRs of a generation (SDM Vol. 3D Appendix A "VMX Capability Reporting
// Facility"), computed from its features (generations.ts), what vmxlab models
// (MODELLED_FEATURES) and what the interpreter implements (HostIsa). The VMX instructions and
// the VM-entry checks read them from here; RDMSR returns `msrs`.
import type { CpuModel } from '../cpu/model';
import { Cpuid1Ecx, Cpuid7Ebx, CpuidExtEdx } from '../cpu/model';
import { cr4ValidBits, eferValidBits } from '../cpu/ops/system';
import { Cr0, Cr4 } from '../cpu/regs';
import {
  ControlField, ENTRY_DEFAULT1, EXIT_DEFAULT1, EntryCtls, ExitCtls, PIN_DEFAULT1, PROC_DEFAULT1,
  PinBasedCtls, ProcBasedCtls, ProcBasedCtls2,
} from './controls';
import { FieldWidth, FIELD_REQUIRES, ALL_FIELDS, fieldIndex, fieldWidth } from './fields';
import { HostIsa, MODELLED_FEATURES, VmxFeature as F } from './features';
import type { Generation } from './generations';

/** Capability MSR indices (Appendix A; Vol. 4 Table 2-2). */
export enum VmxMsr {
  FeatureControl = 0x03a,
  Basic = 0x480,
  PinBasedCtls = 0x481,
  ProcBasedCtls = 0x482,
  ExitCtls = 0x483,
  EntryCtls = 0x484,
  Misc = 0x485,
  Cr0Fixed0 = 0x486,
  Cr0Fixed1 = 0x487,
  Cr4Fixed0 = 0x488,
  Cr4Fixed1 = 0x489,
  VmcsEnum = 0x48a,
  ProcBasedCtls2 = 0x48b,
  EptVpidCap = 0x48c,
  TruePinBasedCtls = 0x48d,
  TrueProcBasedCtls = 0x48e,
  TrueExitCtls = 0x48f,
  TrueEntryCtls = 0x490,
  VmFunc = 0x491,
  ProcBasedCtls3 = 0x492,
}

/** IA32_FEATURE_CONTROL bits (Vol. 4 Table 2-2; Vol. 3C §24.7 "Enabling and Entering VMX Operation"). */
export enum FeatureControl { Lock = 1 << 0, VmxInsideSmx = 1 << 1, VmxOutsideSmx = 1 << 2 }

/** IA32_VMX_EPT_VPID_CAP bits (Appendix A.10), low and high dword. */
export enum EptCap {
  ExecuteOnly = 1 << 0, PageWalk4 = 1 << 6, MemTypeUc = 1 << 8, MemTypeWb = 1 << 14,
  Pages2Mb = 1 << 16, Pages1Gb = 1 << 17, Invept = 1 << 20, AccessedDirty = 1 << 21,
  AdvancedExitInfo = 1 << 22, InveptSingleContext = 1 << 25, InveptAllContext = 1 << 26,
}
export enum VpidCap {
  Invvpid = 1 << 0, IndividualAddress = 1 << 8, SingleContext = 1 << 9, AllContext = 1 << 10,
  SingleContextRetainingGlobals = 1 << 11,
}

/** A control's capability pair: bits that must be 1 (the MSR's low dword, "allowed-0 settings")
 *  and bits that may be 1 (the high dword, "allowed-1 settings"). */
export interface CtlCaps { readonly mustBe1: number; readonly mayBe1: number }

export interface VmxCapabilities {
  readonly generation: string;
  readonly revisionId: number;
  /** The generation's features after filtering: what this emulated CPU really offers. */
  readonly features: ReadonlySet<F>;
  readonly isa: HostIsa;
  /** IA32_EFER bits this CPU implements (the rest are reserved: host-state check, §27.2.2). */
  readonly eferValid: number;
  /** Width of physical addresses in VMXON/VMCS pointers and VMCS-referenced structures: 32 when
   *  IA32_VMX_BASIC[48] is set (processors without Intel 64), else MAXPHYADDR. */
  readonly pointerWidth: number;
  /** The controls as VM entry checks them: the TRUE MSRs when BASIC[55] is set (§27.2.1.1). */
  readonly pin: CtlCaps; readonly proc: CtlCaps; readonly proc2: CtlCaps; readonly exit: CtlCaps; readonly entry: CtlCaps;
  readonly cr0Fixed0: number; readonly cr0Fixed1: number; readonly cr4Fixed0: number; readonly cr4Fixed1: number;
  readonly cr3TargetCount: number;
  readonly eptCap: number;
  readonly vpidCap: number;
  /** Every capability MSR the generation has: index -> [low dword, high dword] (unsigned). */
  readonly msrs: ReadonlyMap<number, readonly [number, number]>;
  /** Per field encoding (0..0x7FFF, full access): 1 if the field exists on this generation. */
  readonly fieldExists: Uint8Array;
}

/** Bytes software allocates for the VMXON region and each VMCS (BASIC[44:32]): vmxlab's VMCS
 *  layout (vmcs.ts) needs 1.5 KB; like Bochs 2.7 it reports a whole page. */
export const VMCS_REGION_BYTES = 4096;

/** What the interpreter implements, read from its CPUID bits (model.ts). */
export function isaOf(m: CpuModel): HostIsa {
  const leaf7 = m.leaf7Ebx ?? 0;
  return {
    longMode: (m.extEdx & CpuidExtEdx.LM) !== 0,
    rdtscp: (m.extEdx & CpuidExtEdx.RDTSCP) !== 0,
    rdrand: (m.leaf1Ecx & Cpuid1Ecx.RDRAND) !== 0,
    rdseed: (leaf7 & Cpuid7Ebx.RDSEED) !== 0,
    invpcid: (leaf7 & Cpuid7Ebx.INVPCID) !== 0,
  };
}

const u32 = (v: number): number => v >>> 0;
const bit = (on: boolean, b: number): number => (on ? b : 0);

/** The CPU a generation's VMX runs on: its ISA, the CR4 bits MOV CR4 accepts (CR4_FIXED1 must
 *  not promise more) and the IA32_EFER bits WRMSR accepts. */
export interface HostCpu {
  readonly isa: HostIsa;
  readonly cr4Valid: number;
  readonly eferValid: number;
}

/** Computes the capability MSRs of `gen` on `cpu`. */
export function computeCapabilities(gen: Generation, cpu: HostCpu): VmxCapabilities {
  const isa = cpu.isa, cr4Valid = cpu.cr4Valid;
  const facts = gen.vmx;
  if (facts === null) throw new Error(`${gen.name} has no VMX`);
  const has = new Set<F>([...facts.features].filter((f) => MODELLED_FEATURES.has(f)));
  // Features that need an instruction or mode the interpreter lacks (see HostIsa).
  if (!isa.longMode) has.delete(F.StoreLmaOnExit);
  if (!isa.rdtscp) has.delete(F.Rdtscp);
  if (!isa.rdrand) has.delete(F.RdrandExiting);
  if (!isa.rdseed) has.delete(F.RdseedExiting);
  if (!isa.invpcid) has.delete(F.Invpcid);
  const h = (f: F): boolean => has.has(f);

  // ---- control capabilities (Appendix A.3-A.5); must-be-1 bits are always allowed to be 1.
  const pinMay = PIN_DEFAULT1 | PinBasedCtls.ExternalInterruptExiting | PinBasedCtls.NmiExiting |
    bit(h(F.VirtualNmis), PinBasedCtls.VirtualNmis) | bit(h(F.PreemptionTimer), PinBasedCtls.ActivatePreemptionTimer);
  const procMay = PROC_DEFAULT1 | ProcBasedCtls.InterruptWindowExiting | ProcBasedCtls.UseTscOffsetting |
    ProcBasedCtls.HltExiting | ProcBasedCtls.InvlpgExiting | ProcBasedCtls.MwaitExiting | ProcBasedCtls.RdpmcExiting |
    ProcBasedCtls.RdtscExiting | ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr3StoreExiting |
    ProcBasedCtls.MovDrExiting | ProcBasedCtls.UnconditionalIoExiting | ProcBasedCtls.UseIoBitmaps |
    ProcBasedCtls.UseMsrBitmaps | ProcBasedCtls.MonitorExiting | ProcBasedCtls.PauseExiting |
    // CR8 exists only in 64-bit mode: without long mode the CR8 exiting controls mean nothing.
    bit(isa.longMode && h(F.TprShadow), ProcBasedCtls.Cr8LoadExiting | ProcBasedCtls.Cr8StoreExiting) |
    bit(h(F.TprShadow), ProcBasedCtls.UseTprShadow) |
    bit(h(F.VirtualNmis), ProcBasedCtls.NmiWindowExiting) | // NMI-window exiting needs virtual NMIs (§27.2.1.1)
    bit(h(F.MonitorTrapFlag), ProcBasedCtls.MonitorTrapFlag) |
    bit(h(F.SecondaryControls), ProcBasedCtls.ActivateSecondaryControls);
  const proc2May = !h(F.SecondaryControls) ? 0 :
    bit(h(F.VirtualizeApicAccesses), ProcBasedCtls2.VirtualizeApicAccesses) | bit(h(F.Ept), ProcBasedCtls2.EnableEpt) |
    bit(h(F.DescriptorTableExiting), ProcBasedCtls2.DescriptorTableExiting) | bit(h(F.Rdtscp), ProcBasedCtls2.EnableRdtscp) |
    bit(h(F.Vpid), ProcBasedCtls2.EnableVpid) | bit(h(F.WbinvdExiting), ProcBasedCtls2.WbinvdExiting) |
    bit(h(F.UnrestrictedGuest) && h(F.Ept), ProcBasedCtls2.UnrestrictedGuest) |
    bit(h(F.PauseLoopExiting), ProcBasedCtls2.PauseLoopExiting) | bit(h(F.RdrandExiting), ProcBasedCtls2.RdrandExiting) |
    bit(h(F.Invpcid), ProcBasedCtls2.EnableInvpcid) | bit(h(F.RdseedExiting), ProcBasedCtls2.RdseedExiting);
  // "Host address-space size" and "IA-32e mode guest" are reported as on the Intel 64 parts the
  // generations are: allowed-1. Outside IA-32e mode (always so on a model without long mode) VM
  // entry refuses either set to 1 with error 8, as §27.2.4 "Checks Related to Address-Space Size"
  // does (and as the real parts and Bochs do for a 32-bit host); in IA-32e mode "host
  // address-space size" must be 1 (entry-checks.ts).
  const exitMay = EXIT_DEFAULT1 | ExitCtls.AcknowledgeInterruptOnExit | ExitCtls.HostAddressSpaceSize |
    bit(h(F.SaveLoadPat), ExitCtls.SavePat | ExitCtls.LoadPat) |
    bit(h(F.SaveLoadEfer), ExitCtls.SaveEfer | ExitCtls.LoadEfer) |
    bit(h(F.PreemptionTimer), ExitCtls.SavePreemptionTimer);
  const entryMay = ENTRY_DEFAULT1 | EntryCtls.Ia32eModeGuest |
    bit(h(F.SaveLoadPat), EntryCtls.LoadPat) | bit(h(F.SaveLoadEfer), EntryCtls.LoadEfer);
  // TRUE MSRs (Appendix A.3.1-A.5): the default1 bits real parts report as allowed-0 there
  // (the Skylake-X dump [generations.ts BXDUMP]: CR3-load/store exiting, save/load debug
  // controls); all are default1 bits Appendix A.2 permits to be relaxed.
  const trueProcMust = PROC_DEFAULT1 & ~(ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr3StoreExiting);
  const trueExitMust = EXIT_DEFAULT1 & ~ExitCtls.SaveDebugControls;
  const trueEntryMust = ENTRY_DEFAULT1 & ~EntryCtls.LoadDebugControls;
  const trueCtls = h(F.TrueControls);

  const pin: CtlCaps = { mustBe1: PIN_DEFAULT1, mayBe1: u32(pinMay) };
  const proc: CtlCaps = { mustBe1: trueCtls ? trueProcMust : PROC_DEFAULT1, mayBe1: u32(procMay) };
  const proc2: CtlCaps = { mustBe1: 0, mayBe1: u32(proc2May) };
  const exit: CtlCaps = { mustBe1: trueCtls ? trueExitMust : EXIT_DEFAULT1, mayBe1: u32(exitMay) };
  const entry: CtlCaps = { mustBe1: trueCtls ? trueEntryMust : ENTRY_DEFAULT1, mayBe1: u32(entryMay) };

  // ---- IA32_VMX_BASIC (A.1): [30:0] revision, [44:32] region size, [48] 32-bit addresses
  // (always 1 without Intel 64), [49] dual-monitor SMM (not modelled), [53:50] memory type WB
  // (6), [54] INS/OUTS information, [55] TRUE controls.
  const basicHi = VMCS_REGION_BYTES | bit(!isa.longMode, 1 << 16) | (6 << 18) |
    bit(h(F.InsOutsInfo), 1 << 22) | bit(trueCtls, 1 << 23);

  // ---- IA32_VMX_MISC (A.6): [4:0] preemption-timer rate, [5] LMA stored on exit, [8:6]
  // activity states, [24:16] CR3-target count, [27:25] MSR-list size 512 * (N + 1) with N = 0,
  // [29] VMWRITE to any field, [30] zero-length injection.
  const miscLo = bit(h(F.PreemptionTimer), facts.preemptionTimerRate & 0x1f) | bit(h(F.StoreLmaOnExit), 1 << 5) |
    bit(h(F.ActivityHlt), 1 << 6) | bit(h(F.ActivityShutdown), 1 << 7) | bit(h(F.ActivityWaitForSipi), 1 << 8) |
    ((facts.cr3TargetCount & 0x1ff) << 16) | bit(h(F.VmwriteAnyField), 1 << 29) | bit(h(F.ZeroLengthInjection), 1 << 30);

  // ---- CR0/CR4 fixed bits (A.7, A.8): PE, NE and PG must be 1 (unrestricted guest relaxes PE
  // and PG for guests only, §27.3.1.1); CR4.VMXE must be 1; CR4_FIXED1 is what MOV CR4 accepts.
  const cr0Fixed0 = Cr0.PE | Cr0.NE | Cr0.PG;
  const cr0Fixed1 = 0xffffffff;
  const cr4Fixed0 = Cr4.VMXE;
  const cr4Fixed1 = u32(cr4Valid | Cr4.VMXE);

  // ---- IA32_VMX_EPT_VPID_CAP (A.10)
  const ept = h(F.Ept), vpid = h(F.Vpid);
  const eptCap = !ept ? 0 : u32(bit(h(F.EptExecuteOnly), EptCap.ExecuteOnly) | EptCap.PageWalk4 | EptCap.MemTypeUc |
    EptCap.MemTypeWb | bit(h(F.Ept2MbPages), EptCap.Pages2Mb) | bit(h(F.Ept1GbPages), EptCap.Pages1Gb) |
    EptCap.Invept | bit(h(F.EptAccessedDirty), EptCap.AccessedDirty) | EptCap.InveptSingleContext |
    EptCap.InveptAllContext);
  const vpidCap = !vpid ? 0 : VpidCap.Invvpid | VpidCap.IndividualAddress | VpidCap.SingleContext |
    VpidCap.AllContext | VpidCap.SingleContextRetainingGlobals;

  // ---- fields this CPU supports (fields.ts FIELD_REQUIRES), and VMCS_ENUM (A.9): the highest
  // index of any supported encoding, in bits 9:1.
  const fieldExists = new Uint8Array(0x8000);
  let maxIndex = 0;
  for (const f of ALL_FIELDS) {
    const need = FIELD_REQUIRES.get(f);
    if (need !== undefined && !has.has(need)) continue;
    fieldExists[f] = 1;
    if (fieldWidth(f) === FieldWidth.Bits64) fieldExists[f | 1] = 1;
    if (fieldIndex(f) > maxIndex) maxIndex = fieldIndex(f);
  }

  const msrs = new Map<number, readonly [number, number]>();
  msrs.set(VmxMsr.Basic, [facts.revisionId & 0x7fffffff, u32(basicHi)]);
  msrs.set(VmxMsr.PinBasedCtls, [PIN_DEFAULT1, pin.mayBe1]);
  msrs.set(VmxMsr.ProcBasedCtls, [PROC_DEFAULT1, proc.mayBe1]);
  msrs.set(VmxMsr.ExitCtls, [EXIT_DEFAULT1, exit.mayBe1]);
  msrs.set(VmxMsr.EntryCtls, [ENTRY_DEFAULT1, entry.mayBe1]);
  msrs.set(VmxMsr.Misc, [u32(miscLo), 0]);
  msrs.set(VmxMsr.Cr0Fixed0, [cr0Fixed0 >>> 0, 0]);
  msrs.set(VmxMsr.Cr0Fixed1, [cr0Fixed1, 0]);
  msrs.set(VmxMsr.Cr4Fixed0, [cr4Fixed0, 0]);
  msrs.set(VmxMsr.Cr4Fixed1, [cr4Fixed1, 0]);
  msrs.set(VmxMsr.VmcsEnum, [maxIndex << 1, 0]);
  // PROCBASED_CTLS2 exists only with "activate secondary controls" allowed-1 (A.3.3);
  // EPT_VPID_CAP only with secondary controls and EPT or VPID (A.10).
  if (h(F.SecondaryControls)) msrs.set(VmxMsr.ProcBasedCtls2, [0, proc2.mayBe1]);
  if (h(F.SecondaryControls) && (ept || vpid)) msrs.set(VmxMsr.EptVpidCap, [eptCap, vpidCap]);
  if (trueCtls) {
    msrs.set(VmxMsr.TruePinBasedCtls, [PIN_DEFAULT1, pin.mayBe1]);
    msrs.set(VmxMsr.TrueProcBasedCtls, [proc.mustBe1, proc.mayBe1]);
    msrs.set(VmxMsr.TrueExitCtls, [exit.mustBe1, exit.mayBe1]);
    msrs.set(VmxMsr.TrueEntryCtls, [entry.mustBe1, entry.mayBe1]);
  }
  // IA32_VMX_VMFUNC (0x491) and PROCBASED_CTLS3 (0x492): VM functions and tertiary controls
  // are not modelled, so neither MSR exists (RDMSR #GP).

  return {
    generation: gen.name, revisionId: facts.revisionId & 0x7fffffff, features: has, isa, eferValid: cpu.eferValid,
    pointerWidth: isa.longMode ? 36 : 32,
    pin, proc, proc2, exit, entry, cr0Fixed0: cr0Fixed0 >>> 0, cr0Fixed1, cr4Fixed0, cr4Fixed1,
    cr3TargetCount: facts.cr3TargetCount, eptCap, vpidCap, msrs, fieldExists,
  };
}

/** The capabilities of `gen` on a CPU built from `model` (its CPUID bits and CR4 valid bits). */
export function capabilitiesFor(gen: Generation, model: CpuModel): VmxCapabilities {
  return computeCapabilities(gen, hostCpuOf(model));
}

/** The host-CPU description of a CPU model (CPUID bits, MOV CR4 and WRMSR EFER rules). */
export function hostCpuOf(model: CpuModel): HostCpu {
  const isa = isaOf(model);
  return { isa, cr4Valid: cr4ValidBits(model), eferValid: eferValidBits(model) };
}

/**
 * Allowed-0/allowed-1 semantics of a control capability MSR (Appendix A.3): `value` is allowed
 * when every bit the MSR's low dword sets is 1 in `value` and every bit 1 in `value` is 1 in its
 * high dword. False for MSRs the generation does not have.
 */
export function vmxAllows(caps: VmxCapabilities, msr: VmxMsr, value: number): boolean {
  const m = caps.msrs.get(msr);
  if (m === undefined) return false;
  return ((value & m[0]) >>> 0) === m[0] && (value & ~m[1]) === 0;
}

/** The lowest bit of `value` that breaks `c` (a must-be-1 bit that is 0, or a bit that may not
 *  be 1), or -1. For the entry checks' messages. */
export function firstDisallowedBit(c: CtlCaps, value: number): number {
  const bad = ((c.mustBe1 & ~value) | (value & ~c.mayBe1)) >>> 0;
  if (bad === 0) return -1;
  return 31 - Math.clz32(bad & -bad);
}

/** The capabilities of a control field as VM entry checks them. */
export function controlCaps(caps: VmxCapabilities, f: ControlField): CtlCaps {
  switch (f) {
    case ControlField.PinBased: return caps.pin;
    case ControlField.ProcBased: return caps.proc;
    case ControlField.ProcBased2: return caps.proc2;
    case ControlField.Exit: return caps.exit;
    default: return caps.entry;
  }
}

/** CPUID.1:ECX.VMX of a model. */
export function modelHasVmx(m: CpuModel): boolean {
  return (m.leaf1Ecx & Cpuid1Ecx.VMX) !== 0;
}
