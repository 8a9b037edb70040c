// The exit-control panel's catalogue: every VMX control bit of the five control fields, listed
// from the enums of src/core/vmx/controls.ts, each with a one-line explanation (SDM Vol. 3C
// §25.6.1 Table 25-5, §25.6.2 Tables 25-6/25-7, §25.7.1 Table 25-13, §25.8.1 Table 25-15),
// and whether the chosen generation allows it, from its capability MSRs (capabilities.ts;
// Appendix A.3-A.5 allowed-0/allowed-1 settings) with the reason when it does not.
// The explanation tables are Records keyed by the enums, so a control added to an enum without
// an explanation fails to type-check.
import {
  ControlField, CONTROL_FIELD_LABELS, EntryCtls, ExitCtls, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2,
} from '../vmx/controls';
import { capabilitiesFor, controlCaps, type VmxCapabilities } from '../vmx/capabilities';
import { cpuModelFor } from '../vmx/cpu-model';
import { FEATURE_NAMES, MODELLED_FEATURES, VmxFeature as F } from '../vmx/features';
import { GENERATIONS, findGeneration, type Generation, type GenerationName } from '../vmx/generations';
import { hasEptAndUnrestricted, KVM_EXCEPTION_BITMAP, KVM_PASS_MSRS, PF_EXCEPTION_BIT } from '../vmm/exit-controls';
import type { ControlMasks, ControlPreset, ExitControlSettings } from './protocol';

const PIN_INFO: Readonly<Record<PinBasedCtls, string>> = {
  [PinBasedCtls.ExternalInterruptExiting]: 'External interrupts cause VM exits instead of going through the guest IDT.',
  [PinBasedCtls.NmiExiting]: 'NMIs cause VM exits instead of being delivered to the guest.',
  [PinBasedCtls.VirtualNmis]: 'The VMM tracks NMI blocking for the guest (virtual NMIs, NMI-window exiting).',
  [PinBasedCtls.ActivatePreemptionTimer]: 'The VMX preemption timer counts down in the guest and exits at zero.',
  [PinBasedCtls.ProcessPostedInterrupts]: 'Interrupts posted in a descriptor are delivered without a VM exit.',
};

const PROC_INFO: Readonly<Record<ProcBasedCtls, string>> = {
  [ProcBasedCtls.InterruptWindowExiting]: 'Exit as soon as the guest can take an interrupt (RFLAGS.IF = 1, no blocking).',
  [ProcBasedCtls.UseTscOffsetting]: 'RDTSC/RDTSCP and IA32_TSC reads return the TSC plus the TSC offset.',
  [ProcBasedCtls.HltExiting]: 'HLT exits to the VMM.',
  [ProcBasedCtls.InvlpgExiting]: 'INVLPG exits to the VMM.',
  [ProcBasedCtls.MwaitExiting]: 'MWAIT exits to the VMM.',
  [ProcBasedCtls.RdpmcExiting]: 'RDPMC exits to the VMM.',
  [ProcBasedCtls.RdtscExiting]: 'RDTSC and RDTSCP exit to the VMM.',
  [ProcBasedCtls.Cr3LoadExiting]: 'MOV to CR3 exits unless the value is one of the CR3-target values.',
  [ProcBasedCtls.Cr3StoreExiting]: 'MOV from CR3 exits to the VMM.',
  [ProcBasedCtls.ActivateTertiaryControls]: 'The tertiary processor-based controls are used.',
  [ProcBasedCtls.Cr8LoadExiting]: 'MOV to CR8 exits (64-bit mode only).',
  [ProcBasedCtls.Cr8StoreExiting]: 'MOV from CR8 exits (64-bit mode only).',
  [ProcBasedCtls.UseTprShadow]: 'CR8 and APIC TPR accesses use the virtual-APIC page (TPR shadow).',
  [ProcBasedCtls.NmiWindowExiting]: 'Exit as soon as there is no virtual-NMI blocking.',
  [ProcBasedCtls.MovDrExiting]: 'MOV to or from a debug register exits.',
  [ProcBasedCtls.UnconditionalIoExiting]: 'Every IN, OUT, INS and OUTS exits (ignored when I/O bitmaps are used).',
  [ProcBasedCtls.UseIoBitmaps]: 'I/O bitmaps A and B choose which ports exit.',
  [ProcBasedCtls.MonitorTrapFlag]: 'Exit after every guest instruction (monitor trap flag).',
  [ProcBasedCtls.UseMsrBitmaps]: 'MSR bitmaps choose which RDMSR/WRMSR exit (else all do).',
  [ProcBasedCtls.MonitorExiting]: 'MONITOR exits to the VMM.',
  [ProcBasedCtls.PauseExiting]: 'PAUSE exits to the VMM.',
  [ProcBasedCtls.ActivateSecondaryControls]: 'The secondary processor-based controls are used.',
};

const PROC2_INFO: Readonly<Record<ProcBasedCtls2, string>> = {
  [ProcBasedCtls2.VirtualizeApicAccesses]: 'Accesses to the APIC-access page exit (APIC-access exits) instead of reaching memory.',
  [ProcBasedCtls2.EnableEpt]: 'Guest-physical addresses are translated through EPT tables the VMM builds.',
  [ProcBasedCtls2.DescriptorTableExiting]: 'LGDT, LIDT, LLDT, LTR, SGDT, SIDT, SLDT and STR exit.',
  [ProcBasedCtls2.EnableRdtscp]: 'RDTSCP is allowed in the guest (else it raises #UD).',
  [ProcBasedCtls2.VirtualizeX2apicMode]: 'x2APIC MSR accesses are virtualized through the virtual-APIC page.',
  [ProcBasedCtls2.EnableVpid]: 'TLB entries are tagged with a VPID, so VM entry and exit need not flush them.',
  [ProcBasedCtls2.WbinvdExiting]: 'WBINVD exits to the VMM.',
  [ProcBasedCtls2.UnrestrictedGuest]: 'The guest may run unpaged or in real mode (needs EPT).',
  [ProcBasedCtls2.ApicRegisterVirtualization]: 'APIC register reads are served from the virtual-APIC page.',
  [ProcBasedCtls2.VirtualInterruptDelivery]: 'Pending virtual interrupts are evaluated and delivered without exits.',
  [ProcBasedCtls2.PauseLoopExiting]: 'A PAUSE loop longer than the PLE window exits (spin-lock detection).',
  [ProcBasedCtls2.RdrandExiting]: 'RDRAND exits to the VMM.',
  [ProcBasedCtls2.EnableInvpcid]: 'INVPCID is allowed in the guest (else it raises #UD).',
  [ProcBasedCtls2.EnableVmFunctions]: 'VMFUNC is allowed in the guest (EPTP switching).',
  [ProcBasedCtls2.VmcsShadowing]: 'The guest\'s VMREAD/VMWRITE use a shadow VMCS (nested virtualization).',
  [ProcBasedCtls2.EnclsExiting]: 'ENCLS leaves chosen by the ENCLS-exiting bitmap exit.',
  [ProcBasedCtls2.RdseedExiting]: 'RDSEED exits to the VMM.',
  [ProcBasedCtls2.EnablePml]: 'The CPU logs the guest-physical pages it dirties (page-modification log).',
  [ProcBasedCtls2.EptViolationVe]: 'Some EPT violations become #VE in the guest instead of VM exits.',
  [ProcBasedCtls2.ConcealVmxFromPt]: 'Intel PT packets do not reveal that the guest runs in VMX non-root.',
  [ProcBasedCtls2.EnableXsavesXrstors]: 'XSAVES/XRSTORS are allowed in the guest.',
  [ProcBasedCtls2.PasidTranslation]: 'ENQCMD/ENQCMDS PASIDs are translated.',
  [ProcBasedCtls2.ModeBasedEptExecute]: 'EPT has separate execute permissions for supervisor and user code.',
  [ProcBasedCtls2.SubPageWritePermissions]: 'EPT write permission per 128-byte sub-page.',
  [ProcBasedCtls2.PtUsesGuestPhysical]: 'Intel PT output addresses are guest-physical (translated by EPT).',
  [ProcBasedCtls2.UseTscScaling]: 'The guest TSC is scaled by the TSC multiplier.',
  [ProcBasedCtls2.EnableUserWaitPause]: 'UMWAIT and TPAUSE are allowed in the guest.',
  [ProcBasedCtls2.EnablePconfig]: 'PCONFIG is allowed in the guest.',
  [ProcBasedCtls2.EnableEnclvExiting]: 'ENCLV leaves chosen by the ENCLV-exiting bitmap exit.',
  [ProcBasedCtls2.VmmBusLockDetection]: 'A bus lock in the guest causes a VM exit.',
  [ProcBasedCtls2.InstructionTimeout]: 'An instruction that does not finish within the notify window exits.',
};

const EXIT_INFO: Readonly<Record<ExitCtls, string>> = {
  [ExitCtls.SaveDebugControls]: 'DR7 and IA32_DEBUGCTL are saved to the guest state at VM exit.',
  [ExitCtls.HostAddressSpaceSize]: 'The host runs in 64-bit mode after VM exit.',
  [ExitCtls.LoadPerfGlobalCtrl]: 'IA32_PERF_GLOBAL_CTRL is loaded from the host state at VM exit.',
  [ExitCtls.AcknowledgeInterruptOnExit]: 'An external-interrupt exit acknowledges the interrupt and reports its vector.',
  [ExitCtls.SavePat]: 'IA32_PAT is saved to the guest state at VM exit.',
  [ExitCtls.LoadPat]: 'IA32_PAT is loaded from the host state at VM exit.',
  [ExitCtls.SaveEfer]: 'IA32_EFER is saved to the guest state at VM exit.',
  [ExitCtls.LoadEfer]: 'IA32_EFER is loaded from the host state at VM exit.',
  [ExitCtls.SavePreemptionTimer]: 'The preemption-timer value is saved at VM exit (it resumes from there).',
  [ExitCtls.ClearBndcfgs]: 'IA32_BNDCFGS is cleared at VM exit (MPX).',
  [ExitCtls.ConcealVmxFromPt]: 'Intel PT does not record the VM exit.',
  [ExitCtls.ClearRtitCtl]: 'IA32_RTIT_CTL is cleared at VM exit (Intel PT).',
  [ExitCtls.ClearLbrCtl]: 'IA32_LBR_CTL is cleared at VM exit.',
  [ExitCtls.ClearUinv]: 'UINV is cleared at VM exit (user interrupts).',
  [ExitCtls.LoadCetState]: 'CET state is loaded from the host state at VM exit.',
  [ExitCtls.LoadPkrs]: 'IA32_PKRS is loaded from the host state at VM exit.',
  [ExitCtls.SavePerfGlobalCtrl]: 'IA32_PERF_GLOBAL_CTRL is saved to the guest state at VM exit.',
  [ExitCtls.ActivateSecondaryControls]: 'The secondary VM-exit controls are used.',
};

const ENTRY_INFO: Readonly<Record<EntryCtls, string>> = {
  [EntryCtls.LoadDebugControls]: 'DR7 and IA32_DEBUGCTL are loaded from the guest state at VM entry.',
  [EntryCtls.Ia32eModeGuest]: 'The guest enters in IA-32e (64-bit) mode.',
  [EntryCtls.EntryToSmm]: 'VM entry goes to SMM (dual-monitor treatment).',
  [EntryCtls.DeactivateDualMonitor]: 'VM entry leaves dual-monitor treatment of SMM.',
  [EntryCtls.LoadPerfGlobalCtrl]: 'IA32_PERF_GLOBAL_CTRL is loaded from the guest state at VM entry.',
  [EntryCtls.LoadPat]: 'IA32_PAT is loaded from the guest state at VM entry.',
  [EntryCtls.LoadEfer]: 'IA32_EFER is loaded from the guest state at VM entry.',
  [EntryCtls.LoadBndcfgs]: 'IA32_BNDCFGS is loaded at VM entry (MPX).',
  [EntryCtls.ConcealVmxFromPt]: 'Intel PT does not record the VM entry.',
  [EntryCtls.LoadRtitCtl]: 'IA32_RTIT_CTL is loaded at VM entry (Intel PT).',
  [EntryCtls.LoadUinv]: 'UINV is loaded at VM entry (user interrupts).',
  [EntryCtls.LoadCetState]: 'CET state is loaded from the guest state at VM entry.',
  [EntryCtls.LoadLbrCtl]: 'IA32_LBR_CTL is loaded at VM entry.',
  [EntryCtls.LoadPkrs]: 'IA32_PKRS is loaded at VM entry.',
};

/** Why a control may be unavailable: a VMX feature, or something the CPU itself lacks. */
type Need = F | 'long-mode' | 'none';

// The feature each control needs (Appendix A: the allowed-1 bit is set only on processors
// with it). Controls not listed exist on every VT-x processor.
const NEEDS: ReadonlyMap<string, Need> = new Map<string, Need>([
  [`${ControlField.PinBased}:${PinBasedCtls.VirtualNmis}`, F.VirtualNmis],
  [`${ControlField.PinBased}:${PinBasedCtls.ActivatePreemptionTimer}`, F.PreemptionTimer],
  [`${ControlField.PinBased}:${PinBasedCtls.ProcessPostedInterrupts}`, F.PostedInterrupts],
  [`${ControlField.ProcBased}:${ProcBasedCtls.ActivateTertiaryControls}`, F.TertiaryControls],
  [`${ControlField.ProcBased}:${ProcBasedCtls.Cr8LoadExiting}`, 'long-mode'],
  [`${ControlField.ProcBased}:${ProcBasedCtls.Cr8StoreExiting}`, 'long-mode'],
  [`${ControlField.ProcBased}:${ProcBasedCtls.UseTprShadow}`, F.TprShadow],
  [`${ControlField.ProcBased}:${ProcBasedCtls.NmiWindowExiting}`, F.VirtualNmis],
  [`${ControlField.ProcBased}:${ProcBasedCtls.MonitorTrapFlag}`, F.MonitorTrapFlag],
  [`${ControlField.ProcBased}:${ProcBasedCtls.ActivateSecondaryControls}`, F.SecondaryControls],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.VirtualizeApicAccesses}`, F.VirtualizeApicAccesses],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableEpt}`, F.Ept],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.DescriptorTableExiting}`, F.DescriptorTableExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableRdtscp}`, F.Rdtscp],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.VirtualizeX2apicMode}`, F.VirtualizeX2apic],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableVpid}`, F.Vpid],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.WbinvdExiting}`, F.WbinvdExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.UnrestrictedGuest}`, F.UnrestrictedGuest],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.ApicRegisterVirtualization}`, F.ApicRegisterVirtualization],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.VirtualInterruptDelivery}`, F.VirtualInterruptDelivery],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.PauseLoopExiting}`, F.PauseLoopExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.RdrandExiting}`, F.RdrandExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableInvpcid}`, F.Invpcid],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableVmFunctions}`, F.VmFunctions],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.VmcsShadowing}`, F.VmcsShadowing],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnclsExiting}`, F.EnclsExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.RdseedExiting}`, F.RdseedExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnablePml}`, F.Pml],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EptViolationVe}`, F.EptViolationVe],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.ConcealVmxFromPt}`, F.ConcealVmxFromPt],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableXsavesXrstors}`, F.Xsaves],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.PasidTranslation}`, F.PasidTranslation],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.ModeBasedEptExecute}`, F.ModeBasedEptExecute],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.SubPageWritePermissions}`, F.SubPageWritePermissions],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.PtUsesGuestPhysical}`, F.PtGuestPhysical],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.UseTscScaling}`, F.TscScaling],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableUserWaitPause}`, F.UserWaitPause],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnablePconfig}`, F.PconfigExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.EnableEnclvExiting}`, F.EnclvExiting],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.VmmBusLockDetection}`, 'none'],
  [`${ControlField.ProcBased2}:${ProcBasedCtls2.InstructionTimeout}`, F.InstructionTimeout],
  [`${ControlField.Exit}:${ExitCtls.HostAddressSpaceSize}`, 'long-mode'],
  [`${ControlField.Exit}:${ExitCtls.LoadPerfGlobalCtrl}`, F.LoadPerfGlobalCtrl],
  [`${ControlField.Exit}:${ExitCtls.SavePat}`, F.SaveLoadPat],
  [`${ControlField.Exit}:${ExitCtls.LoadPat}`, F.SaveLoadPat],
  [`${ControlField.Exit}:${ExitCtls.SaveEfer}`, F.SaveLoadEfer],
  [`${ControlField.Exit}:${ExitCtls.LoadEfer}`, F.SaveLoadEfer],
  [`${ControlField.Exit}:${ExitCtls.SavePreemptionTimer}`, F.PreemptionTimer],
  [`${ControlField.Exit}:${ExitCtls.ClearBndcfgs}`, F.Mpx],
  [`${ControlField.Exit}:${ExitCtls.ConcealVmxFromPt}`, F.ConcealVmxFromPt],
  [`${ControlField.Exit}:${ExitCtls.ClearRtitCtl}`, F.ProcessorTrace],
  [`${ControlField.Exit}:${ExitCtls.ClearLbrCtl}`, F.ArchLbr],
  [`${ControlField.Exit}:${ExitCtls.ClearUinv}`, F.UserInterrupts],
  [`${ControlField.Exit}:${ExitCtls.LoadCetState}`, F.Cet],
  [`${ControlField.Exit}:${ExitCtls.LoadPkrs}`, F.Pks],
  [`${ControlField.Exit}:${ExitCtls.SavePerfGlobalCtrl}`, 'none'],
  [`${ControlField.Exit}:${ExitCtls.ActivateSecondaryControls}`, 'none'],
  [`${ControlField.Entry}:${EntryCtls.Ia32eModeGuest}`, 'long-mode'],
  [`${ControlField.Entry}:${EntryCtls.EntryToSmm}`, F.DualMonitorSmm],
  [`${ControlField.Entry}:${EntryCtls.DeactivateDualMonitor}`, F.DualMonitorSmm],
  [`${ControlField.Entry}:${EntryCtls.LoadPerfGlobalCtrl}`, F.LoadPerfGlobalCtrl],
  [`${ControlField.Entry}:${EntryCtls.LoadPat}`, F.SaveLoadPat],
  [`${ControlField.Entry}:${EntryCtls.LoadEfer}`, F.SaveLoadEfer],
  [`${ControlField.Entry}:${EntryCtls.LoadBndcfgs}`, F.Mpx],
  [`${ControlField.Entry}:${EntryCtls.ConcealVmxFromPt}`, F.ConcealVmxFromPt],
  [`${ControlField.Entry}:${EntryCtls.LoadRtitCtl}`, F.ProcessorTrace],
  [`${ControlField.Entry}:${EntryCtls.LoadUinv}`, F.UserInterrupts],
  [`${ControlField.Entry}:${EntryCtls.LoadCetState}`, F.Cet],
  [`${ControlField.Entry}:${EntryCtls.LoadLbrCtl}`, F.ArchLbr],
  [`${ControlField.Entry}:${EntryCtls.LoadPkrs}`, F.Pks],
]);

export const CONTROL_FIELDS: readonly ControlField[] = [
  ControlField.PinBased, ControlField.ProcBased, ControlField.ProcBased2, ControlField.Exit, ControlField.Entry,
];

/** The ControlMasks key of each field. */
export const MASK_KEY: Readonly<Record<ControlField, keyof ControlMasks>> = {
  [ControlField.PinBased]: 'pin', [ControlField.ProcBased]: 'proc', [ControlField.ProcBased2]: 'proc2',
  [ControlField.Exit]: 'exit', [ControlField.Entry]: 'entry',
};

const ENUMS: Readonly<Record<ControlField, { names: Record<string, string | number>; info: Readonly<Record<number, string>> }>> = {
  [ControlField.PinBased]: { names: PinBasedCtls, info: PIN_INFO },
  [ControlField.ProcBased]: { names: ProcBasedCtls, info: PROC_INFO },
  [ControlField.ProcBased2]: { names: ProcBasedCtls2, info: PROC2_INFO },
  [ControlField.Exit]: { names: ExitCtls, info: EXIT_INFO },
  [ControlField.Entry]: { names: EntryCtls, info: ENTRY_INFO },
};

export interface ControlInfo {
  readonly field: ControlField;
  /** 'pin-based control', ... */
  readonly fieldLabel: string;
  readonly bit: number;
  /** The bit as a mask (bit 31 negative, as the enums have it). */
  readonly mask: number;
  /** The enum key ('HltExiting'). */
  readonly name: string;
  readonly description: string;
}

/** Every control bit of every field, in field then bit order. */
export const CONTROLS: readonly ControlInfo[] = CONTROL_FIELDS.flatMap((field) => {
  const { names, info } = ENUMS[field];
  return Object.entries(names)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, v]) => {
      const mask = v as number;
      return { field, fieldLabel: CONTROL_FIELD_LABELS[field], bit: 31 - Math.clz32(mask >>> 0), mask, name, description: info[mask] ?? '' };
    })
    .sort((a, b) => a.bit - b.bit);
});

export type ControlAvailability = 'available' | 'required' | 'unavailable';

export interface ControlState {
  readonly availability: ControlAvailability;
  /** Why it is required or unavailable ('' when available). */
  readonly reason: string;
}

const featureName = (f: F): string => FEATURE_NAMES.get(f) ?? `feature ${f}`;

/** The first generation of the table that has feature `f`, or undefined. */
function firstWith(f: F): Generation | undefined {
  return GENERATIONS.find((g) => g.vmx?.features.has(f) === true);
}

const capsCache = new Map<GenerationName, VmxCapabilities | null>();

/** The capability MSRs of a generation as vmxlab's CPU reports them (null: no VMX). */
export function generationCaps(name: GenerationName): VmxCapabilities | null {
  let c = capsCache.get(name);
  if (c === undefined) {
    const g = findGeneration(name);
    if (g === undefined) throw new Error(`unknown CPU generation '${name}'`);
    c = g.vmx === null ? null : capabilitiesFor(g, cpuModelFor(g));
    capsCache.set(name, c);
  }
  return c;
}

/** Whether `ctl` may be 1, must be 1 or cannot be 1 on generation `name`, and why. */
export function controlState(ctl: ControlInfo, name: GenerationName): ControlState {
  const gen = findGeneration(name);
  if (gen === undefined) throw new Error(`unknown CPU generation '${name}'`);
  const caps = generationCaps(name);
  if (caps === null) return { availability: 'unavailable', reason: `${gen.title} has no VMX` };
  const c = controlCaps(caps, ctl.field);
  const bit = ctl.mask >>> 0;
  if ((c.mustBe1 & bit) >>> 0 !== 0) {
    return { availability: 'required', reason: `default1 bit: ${gen.title} has no TRUE capability MSRs, so it must be 1` };
  }
  if ((c.mayBe1 & bit) >>> 0 !== 0) return { availability: 'available', reason: '' };
  if (ctl.field === ControlField.ProcBased2 && (caps.proc.mayBe1 & ProcBasedCtls.ActivateSecondaryControls) === 0) {
    return { availability: 'unavailable', reason: `${gen.title} has no secondary controls` };
  }
  const need = NEEDS.get(`${ctl.field}:${ctl.mask}`);
  if (need === 'long-mode') return { availability: 'unavailable', reason: 'needs Intel 64 (long mode), which this CPU model does not report' };
  if (need === undefined || need === 'none') return { availability: 'unavailable', reason: 'not modelled by vmxlab' };
  const fname = featureName(need);
  if (gen.vmx?.features.has(need) === true) {
    return MODELLED_FEATURES.has(need)
      ? { availability: 'unavailable', reason: `${gen.title} has ${fname}, but vmxlab's CPU lacks the instruction it needs` }
      : { availability: 'unavailable', reason: `${gen.title} has ${fname}; vmxlab does not model it yet` };
  }
  const first = firstWith(need);
  if (first === undefined) return { availability: 'unavailable', reason: `${fname}: on no generation vmxlab models` };
  return { availability: 'unavailable', reason: `${gen.title} lacks ${fname} (from ${first.title})` };
}

// ---- presets ------------------------------------------------------------------------------

type Want = readonly (readonly [ControlField, number])[];

// What KVM runs a guest with (Linux arch/x86/kvm/vmx/vmx.c: the required and optional control
// sets of setup_vmcs_config, then vmx_exec_control/vmx_secondary_exec_control: RDTSC exiting,
// I/O bitmaps, MTF, PAUSE exiting and the interrupt/NMI windows off at launch; CR3 and INVLPG
// exiting only without EPT; CR8 exiting on 64-bit hosts). Filtered to what the generation allows.
const KVM: Want = [
  [ControlField.PinBased, PinBasedCtls.ExternalInterruptExiting], [ControlField.PinBased, PinBasedCtls.NmiExiting],
  [ControlField.PinBased, PinBasedCtls.VirtualNmis],
  [ControlField.ProcBased, ProcBasedCtls.HltExiting], [ControlField.ProcBased, ProcBasedCtls.UseTscOffsetting],
  [ControlField.ProcBased, ProcBasedCtls.MovDrExiting], [ControlField.ProcBased, ProcBasedCtls.UnconditionalIoExiting],
  [ControlField.ProcBased, ProcBasedCtls.MwaitExiting], [ControlField.ProcBased, ProcBasedCtls.MonitorExiting],
  [ControlField.ProcBased, ProcBasedCtls.RdpmcExiting], [ControlField.ProcBased, ProcBasedCtls.UseTprShadow],
  [ControlField.ProcBased, ProcBasedCtls.UseMsrBitmaps], [ControlField.ProcBased, ProcBasedCtls.ActivateSecondaryControls],
  [ControlField.ProcBased2, ProcBasedCtls2.VirtualizeApicAccesses], [ControlField.ProcBased2, ProcBasedCtls2.EnableEpt],
  [ControlField.ProcBased2, ProcBasedCtls2.EnableVpid], [ControlField.ProcBased2, ProcBasedCtls2.WbinvdExiting],
  [ControlField.ProcBased2, ProcBasedCtls2.UnrestrictedGuest], [ControlField.ProcBased2, ProcBasedCtls2.PauseLoopExiting],
  [ControlField.ProcBased2, ProcBasedCtls2.EnableRdtscp], [ControlField.ProcBased2, ProcBasedCtls2.EnableInvpcid],
  [ControlField.Exit, ExitCtls.AcknowledgeInterruptOnExit], [ControlField.Exit, ExitCtls.SavePat],
  [ControlField.Exit, ExitCtls.LoadPat], [ControlField.Exit, ExitCtls.SaveEfer], [ControlField.Exit, ExitCtls.LoadEfer],
  [ControlField.Entry, EntryCtls.LoadPat], [ControlField.Entry, EntryCtls.LoadEfer],
];
/** KVM's controls that it sets only on CPUs without EPT (shadow paging needs them). */
const KVM_WITHOUT_EPT: Want = [
  [ControlField.ProcBased, ProcBasedCtls.Cr3LoadExiting], [ControlField.ProcBased, ProcBasedCtls.Cr3StoreExiting],
  [ControlField.ProcBased, ProcBasedCtls.InvlpgExiting],
];

// Everything that can exit does, with no bitmaps to filter I/O and MSRs, and the controls a VMM
// needs to run legacy guests (EPT, unrestricted guest, VPID). The monitor trap flag and the
// interrupt/NMI windows stay off: they are run-time tools of the VMM, not exit policy.
const TRAP_ALL: Want = [
  [ControlField.PinBased, PinBasedCtls.ExternalInterruptExiting], [ControlField.PinBased, PinBasedCtls.NmiExiting],
  [ControlField.PinBased, PinBasedCtls.VirtualNmis],
  ...[ProcBasedCtls.HltExiting, ProcBasedCtls.InvlpgExiting, ProcBasedCtls.MwaitExiting, ProcBasedCtls.RdpmcExiting,
    ProcBasedCtls.RdtscExiting, ProcBasedCtls.Cr3LoadExiting, ProcBasedCtls.Cr3StoreExiting, ProcBasedCtls.Cr8LoadExiting,
    ProcBasedCtls.Cr8StoreExiting, ProcBasedCtls.MovDrExiting, ProcBasedCtls.UnconditionalIoExiting,
    ProcBasedCtls.MonitorExiting, ProcBasedCtls.PauseExiting, ProcBasedCtls.ActivateSecondaryControls]
    .map((b) => [ControlField.ProcBased, b] as const),
  ...[ProcBasedCtls2.EnableEpt, ProcBasedCtls2.UnrestrictedGuest, ProcBasedCtls2.EnableVpid,
    ProcBasedCtls2.DescriptorTableExiting, ProcBasedCtls2.WbinvdExiting, ProcBasedCtls2.RdrandExiting,
    ProcBasedCtls2.RdseedExiting, ProcBasedCtls2.PauseLoopExiting, ProcBasedCtls2.EnclsExiting]
    .map((b) => [ControlField.ProcBased2, b] as const),
  [ControlField.Exit, ExitCtls.AcknowledgeInterruptOnExit], [ControlField.Exit, ExitCtls.SaveEfer],
  [ControlField.Exit, ExitCtls.LoadEfer], [ControlField.Entry, EntryCtls.LoadEfer],
];

// The fewest exits a VMM can live with: interrupts and NMIs (it must keep control of the
// machine), I/O and MSR bitmaps (empty ones: nothing exits unless the VMM marks it), EPT with
// unrestricted guest and VPID so that paging and mode switches need no exits.
const MINIMAL: Want = [
  [ControlField.PinBased, PinBasedCtls.ExternalInterruptExiting], [ControlField.PinBased, PinBasedCtls.NmiExiting],
  [ControlField.ProcBased, ProcBasedCtls.UseIoBitmaps], [ControlField.ProcBased, ProcBasedCtls.UseMsrBitmaps],
  [ControlField.ProcBased, ProcBasedCtls.ActivateSecondaryControls],
  [ControlField.ProcBased2, ProcBasedCtls2.EnableEpt], [ControlField.ProcBased2, ProcBasedCtls2.UnrestrictedGuest],
  [ControlField.ProcBased2, ProcBasedCtls2.EnableVpid],
  [ControlField.Exit, ExitCtls.AcknowledgeInterruptOnExit], [ControlField.Exit, ExitCtls.SaveEfer],
  [ControlField.Exit, ExitCtls.LoadEfer], [ControlField.Entry, EntryCtls.LoadEfer],
];

/** Each preset's port list, MSR list and exception bitmap. KVM: no I/O bitmaps (unconditional
 *  I/O exiting), its pass-through MSRs, its exception bitmap (src/core/vmm/exit-controls.ts cites
 *  vmx.c); trap everything: every exception vector exits, no bitmaps; minimal: empty bitmaps
 *  (only the VMM's own port and MSRs exit) and no exception exits (EPT makes #PF the guest's). */
export const PRESET_LISTS: Readonly<Record<ControlPreset, Pick<ExitControlSettings, 'ioPorts' | 'msrMode' | 'msrs' | 'exceptionBitmap'>>> = {
  'kvm': { ioPorts: [], msrMode: 'pass', msrs: KVM_PASS_MSRS, exceptionBitmap: KVM_EXCEPTION_BITMAP },
  'trap-all': { ioPorts: [], msrMode: 'exit', msrs: [], exceptionBitmap: 0xffffffff },
  'minimal': { ioPorts: [], msrMode: 'exit', msrs: [], exceptionBitmap: 0 },
};

export const PRESET_LABELS: Readonly<Record<ControlPreset, string>> = {
  'kvm': 'KVM defaults', 'trap-all': 'Trap everything', 'minimal': 'Minimal',
};

/** The masks of a preset on a generation: the preset's controls that the generation allows,
 *  plus every bit it requires. */
export function presetControls(preset: ControlPreset, name: GenerationName): ExitControlSettings {
  const caps = generationCaps(name);
  let want: Want = preset === 'kvm' ? KVM : preset === 'trap-all' ? TRAP_ALL : MINIMAL;
  // Without EPT and unrestricted guest the VMM runs shadow paging (issue 6), which needs the
  // controls KVM sets with enable_ept=0: CR3-load/store and INVLPG exiting, #PF intercepted.
  const shadow = caps === null || !hasEptAndUnrestricted(caps);
  if (preset === 'kvm' && shadow) want = [...want, ...KVM_WITHOUT_EPT];
  const m = { pin: 0, proc: 0, proc2: 0, exit: 0, entry: 0 };
  const lists = preset === 'kvm' && caps !== null && shadow
    ? { ...PRESET_LISTS.kvm, exceptionBitmap: (PRESET_LISTS.kvm.exceptionBitmap | PF_EXCEPTION_BIT) >>> 0 } : PRESET_LISTS[preset];
  if (caps === null) return { preset, ...m, ...lists };
  for (const f of CONTROL_FIELDS) m[MASK_KEY[f]] = controlCaps(caps, f).mustBe1;
  for (const [f, bit] of want) {
    const c = controlCaps(caps, f);
    if ((c.mayBe1 & bit) !== 0) m[MASK_KEY[f]] |= bit;
  }
  // Secondary controls mean nothing without "activate secondary controls".
  if ((m.proc & ProcBasedCtls.ActivateSecondaryControls) === 0) m.proc2 = 0;
  // Unrestricted guest needs EPT (SDM Vol. 3C §27.2.1.1).
  if ((m.proc2 & ProcBasedCtls2.EnableEpt) === 0) m.proc2 &= ~ProcBasedCtls2.UnrestrictedGuest;
  for (const k of Object.keys(m) as (keyof ControlMasks)[]) m[k] >>>= 0;
  return { preset, ...m, ...lists };
}

/** Controls in `s` that generation `name` does not allow (for a message), as 'Name (reason)'. */
export function disallowedControls(s: ControlMasks, name: GenerationName): string[] {
  const out: string[] = [];
  for (const ctl of CONTROLS) {
    const on = (s[MASK_KEY[ctl.field]] & ctl.mask) !== 0;
    const st = controlState(ctl, name);
    if (on && st.availability === 'unavailable') out.push(`${ctl.name} (${st.reason})`);
    if (!on && st.availability === 'required') out.push(`${ctl.name} must be 1 (${st.reason})`);
  }
  return out;
}
