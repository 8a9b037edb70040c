// The vocabulary of VMX capabilities a processor generation may have (SDM Vol. 3C ch. 25
// "Virtual Machine Control Structures", Vol. 3D Appendix A "VMX Capability Reporting
// Facility"). generations.ts says which generation has which; capabilities.ts turns a
// generation into the IA32_VMX_* MSR values, keeping only the features vmxlab models
// (MODELLED_FEATURES) and those the interpreter can back (HostIsa).

export enum VmxFeature {
  // ---- IA32_VMX_BASIC
  /** BASIC[55]: the IA32_VMX_TRUE_* MSRs exist and may allow default1 controls to be 0. */
  TrueControls,
  /** BASIC[54]: VM exits from INS/OUTS report instruction information. */
  InsOutsInfo,
  /** BASIC[49]: dual-monitor treatment of SMIs and SMM. */
  DualMonitorSmm,
  // ---- pin-based controls (§25.6.1)
  VirtualNmis,
  PreemptionTimer,
  PostedInterrupts,
  // ---- primary processor-based controls (§25.6.2)
  TprShadow,
  MonitorTrapFlag,
  SecondaryControls,
  TertiaryControls,
  // ---- secondary processor-based controls (§25.6.2, Table 25-7)
  VirtualizeApicAccesses,
  Ept,
  DescriptorTableExiting,
  Rdtscp,
  VirtualizeX2apic,
  Vpid,
  WbinvdExiting,
  UnrestrictedGuest,
  ApicRegisterVirtualization,
  VirtualInterruptDelivery,
  PauseLoopExiting,
  RdrandExiting,
  Invpcid,
  VmFunctions,
  VmcsShadowing,
  EnclsExiting,
  RdseedExiting,
  Pml,
  EptViolationVe,
  ConcealVmxFromPt,
  Xsaves,
  PasidTranslation,
  ModeBasedEptExecute,
  SubPageWritePermissions,
  PtGuestPhysical,
  TscScaling,
  UserWaitPause,
  PconfigExiting,
  EnclvExiting,
  InstructionTimeout,
  // ---- VM-exit / VM-entry controls (§25.7.1, §25.8.1)
  SaveLoadPat,
  SaveLoadEfer,
  LoadPerfGlobalCtrl,
  Mpx,
  ProcessorTrace,
  ArchLbr,
  Pks,
  Cet,
  UserInterrupts,
  // ---- IA32_VMX_EPT_VPID_CAP (Appendix A.10)
  EptExecuteOnly,
  Ept2MbPages,
  Ept1GbPages,
  EptAccessedDirty,
  EptAdvancedExitInfo,
  // ---- IA32_VMX_MISC (Appendix A.6)
  /** MISC[5]: VM exits store IA32_EFER.LMA into the "IA-32e mode guest" entry control. */
  StoreLmaOnExit,
  /** MISC[29]: VMWRITE may write any supported field, VM-exit information fields included. */
  VmwriteAnyField,
  /** MISC[30]: software interrupts/exceptions may be injected with instruction length 0. */
  ZeroLengthInjection,
  /** MISC[8:6]: activity states beyond active. */
  ActivityHlt,
  ActivityShutdown,
  ActivityWaitForSipi,
}

/** `Ept`, `SaveLoadPat`, ... by value (labels derived from the enum). */
export const FEATURE_NAMES: ReadonlyMap<VmxFeature, string> = new Map(
  Object.entries(VmxFeature).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as VmxFeature, k]),
);

/**
 * What vmxlab's VMX models: the features of issue 4 (VMCS, entry/exit with their controls,
 * EPT with A/D flags and 1 GB pages, VPID, the preemption timer, the activity states). A real
 * generation's other features (PML, VMCS shadowing, posted interrupts, APIC virtualization, VM
 * functions, #VE, SMM dual-monitor treatment, XSAVES, TSC scaling, Intel PT, ...) are recorded in
 * generations.ts as facts but never reported in the capability MSRs: a VMM must not be told the
 * emulated CPU does what it cannot. "Virtualize APIC accesses" and "use TPR shadow" are modelled
 * for 32-bit guests (apic-virtualization.ts: VTPR accesses through the APIC-access page, the TPR
 * threshold, APIC-access and TPR-below-threshold exits); the CR8 controls are not (no CR8).
 */
export const MODELLED_FEATURES: ReadonlySet<VmxFeature> = new Set([
  VmxFeature.TrueControls, VmxFeature.InsOutsInfo,
  VmxFeature.VirtualNmis, VmxFeature.PreemptionTimer,
  VmxFeature.TprShadow, VmxFeature.MonitorTrapFlag, VmxFeature.SecondaryControls,
  VmxFeature.VirtualizeApicAccesses, VmxFeature.Ept, VmxFeature.DescriptorTableExiting, VmxFeature.Rdtscp,
  VmxFeature.Vpid, VmxFeature.WbinvdExiting, VmxFeature.UnrestrictedGuest, VmxFeature.PauseLoopExiting,
  VmxFeature.RdrandExiting, VmxFeature.Invpcid, VmxFeature.RdseedExiting,
  VmxFeature.SaveLoadPat, VmxFeature.SaveLoadEfer,
  VmxFeature.EptExecuteOnly, VmxFeature.Ept2MbPages, VmxFeature.Ept1GbPages, VmxFeature.EptAccessedDirty,
  VmxFeature.StoreLmaOnExit, VmxFeature.VmwriteAnyField, VmxFeature.ZeroLengthInjection,
  VmxFeature.ActivityHlt, VmxFeature.ActivityShutdown, VmxFeature.ActivityWaitForSipi,
]);

/**
 * What the interpreter itself implements, as its CPUID reports it (model.ts). VMX controls
 * that only make sense with an instruction or mode the interpreter lacks are not reported:
 * CR8-load/store exiting need CR8 (64-bit mode only), "enable RDTSCP"/"enable INVPCID" enable
 * instructions in
 * the guest, "RDRAND/RDSEED exiting" intercept instructions. Each comes back by itself once the
 * interpreter implements it and reports it in CPUID. ("Host address-space size" and "IA-32e
 * mode guest" are reported all the same, and VM entry refuses them outside IA-32e mode with
 * error 8: capabilities.ts.)
 */
export interface HostIsa {
  readonly longMode: boolean;
  readonly rdtscp: boolean;
  readonly rdrand: boolean;
  readonly rdseed: boolean;
  readonly invpcid: boolean;
}
