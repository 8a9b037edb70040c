// VMX control bits (SDM Vol. 3C §25.6.1 "Pin-Based VM-Execution Controls" Table 25-5,
// §25.6.2 "Processor-Based VM-Execution Controls" Tables 25-6 and 25-7, §25.7.1 "VM-Exit
// Controls" Table 25-13, §25.8.1 "VM-Entry Controls" Table 25-15; chapter 24 in editions
// before 2023). Labels are derived from the enum keys; the default1 classes are those of
// Vol. 3D Appendix A.2 "Reserved Controls and Default Settings".

export enum PinBasedCtls {
  ExternalInterruptExiting = 1 << 0,
  NmiExiting = 1 << 3,
  VirtualNmis = 1 << 5,
  ActivatePreemptionTimer = 1 << 6,
  ProcessPostedInterrupts = 1 << 7,
}

export enum ProcBasedCtls {
  InterruptWindowExiting = 1 << 2,
  UseTscOffsetting = 1 << 3,
  HltExiting = 1 << 7,
  InvlpgExiting = 1 << 9,
  MwaitExiting = 1 << 10,
  RdpmcExiting = 1 << 11,
  RdtscExiting = 1 << 12,
  Cr3LoadExiting = 1 << 15,
  Cr3StoreExiting = 1 << 16,
  ActivateTertiaryControls = 1 << 17,
  Cr8LoadExiting = 1 << 19,
  Cr8StoreExiting = 1 << 20,
  UseTprShadow = 1 << 21,
  NmiWindowExiting = 1 << 22,
  MovDrExiting = 1 << 23,
  UnconditionalIoExiting = 1 << 24,
  UseIoBitmaps = 1 << 25,
  MonitorTrapFlag = 1 << 27,
  UseMsrBitmaps = 1 << 28,
  MonitorExiting = 1 << 29,
  PauseExiting = 1 << 30,
  ActivateSecondaryControls = 1 << 31,
}

export enum ProcBasedCtls2 {
  VirtualizeApicAccesses = 1 << 0,
  EnableEpt = 1 << 1,
  DescriptorTableExiting = 1 << 2,
  EnableRdtscp = 1 << 3,
  VirtualizeX2apicMode = 1 << 4,
  EnableVpid = 1 << 5,
  WbinvdExiting = 1 << 6,
  UnrestrictedGuest = 1 << 7,
  ApicRegisterVirtualization = 1 << 8,
  VirtualInterruptDelivery = 1 << 9,
  PauseLoopExiting = 1 << 10,
  RdrandExiting = 1 << 11,
  EnableInvpcid = 1 << 12,
  EnableVmFunctions = 1 << 13,
  VmcsShadowing = 1 << 14,
  EnclsExiting = 1 << 15,
  RdseedExiting = 1 << 16,
  EnablePml = 1 << 17,
  EptViolationVe = 1 << 18,
  ConcealVmxFromPt = 1 << 19,
  EnableXsavesXrstors = 1 << 20,
  PasidTranslation = 1 << 21,
  ModeBasedEptExecute = 1 << 22,
  SubPageWritePermissions = 1 << 23,
  PtUsesGuestPhysical = 1 << 24,
  UseTscScaling = 1 << 25,
  EnableUserWaitPause = 1 << 26,
  EnablePconfig = 1 << 27,
  EnableEnclvExiting = 1 << 28,
  VmmBusLockDetection = 1 << 30,
  InstructionTimeout = 1 << 31,
}

export enum ExitCtls {
  SaveDebugControls = 1 << 2,
  HostAddressSpaceSize = 1 << 9,
  LoadPerfGlobalCtrl = 1 << 12,
  AcknowledgeInterruptOnExit = 1 << 15,
  SavePat = 1 << 18,
  LoadPat = 1 << 19,
  SaveEfer = 1 << 20,
  LoadEfer = 1 << 21,
  SavePreemptionTimer = 1 << 22,
  ClearBndcfgs = 1 << 23,
  ConcealVmxFromPt = 1 << 24,
  ClearRtitCtl = 1 << 25,
  ClearLbrCtl = 1 << 26,
  ClearUinv = 1 << 27,
  LoadCetState = 1 << 28,
  LoadPkrs = 1 << 29,
  SavePerfGlobalCtrl = 1 << 30,
  ActivateSecondaryControls = 1 << 31,
}

export enum EntryCtls {
  LoadDebugControls = 1 << 2,
  Ia32eModeGuest = 1 << 9,
  EntryToSmm = 1 << 10,
  DeactivateDualMonitor = 1 << 11,
  LoadPerfGlobalCtrl = 1 << 13,
  LoadPat = 1 << 14,
  LoadEfer = 1 << 15,
  LoadBndcfgs = 1 << 16,
  ConcealVmxFromPt = 1 << 17,
  LoadRtitCtl = 1 << 18,
  LoadUinv = 1 << 19,
  LoadCetState = 1 << 20,
  LoadLbrCtl = 1 << 21,
  LoadPkrs = 1 << 22,
}

/**
 * The "default1" reserved bits of each control (Appendix A.2): 1 in the non-TRUE capability
 * MSRs on every processor; an IA32_VMX_TRUE_* MSR may report some of them as allowed to be 0
 * (and only those).
 */
export const PIN_DEFAULT1 = 0x00000016; // bits 1, 2, 4
export const PROC_DEFAULT1 = 0x0401e172; // bits 1, 4-6, 8, 13-16, 26
export const EXIT_DEFAULT1 = 0x00036dff; // bits 0-8, 10, 11, 13, 14, 16, 17
export const ENTRY_DEFAULT1 = 0x000011ff; // bits 0-8, 12

/** The five control fields, for messages and for checks that treat them alike. */
export enum ControlField { PinBased = 0, ProcBased = 1, ProcBased2 = 2, Exit = 3, Entry = 4 }
export const CONTROL_FIELD_LABELS: Readonly<Record<ControlField, string>> = {
  [ControlField.PinBased]: 'pin-based control',
  [ControlField.ProcBased]: 'primary processor-based control',
  [ControlField.ProcBased2]: 'secondary control',
  [ControlField.Exit]: 'VM-exit control',
  [ControlField.Entry]: 'VM-entry control',
};
const BIT_ENUMS: Readonly<Record<ControlField, Record<string, string | number>>> = {
  [ControlField.PinBased]: PinBasedCtls,
  [ControlField.ProcBased]: ProcBasedCtls,
  [ControlField.ProcBased2]: ProcBasedCtls2,
  [ControlField.Exit]: ExitCtls,
  [ControlField.Entry]: EntryCtls,
};

/** The enum key of bit `bit` of a control field ('EnableEpt'), or 'reserved'. */
export function controlBitName(field: ControlField, bit: number): string {
  const e = BIT_ENUMS[field];
  const key = e[(1 << bit) | 0];
  return typeof key === 'string' ? key : 'reserved';
}
