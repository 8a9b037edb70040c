// VMCS field encodings (SDM Vol. 3D Appendix B "Field Encoding in VMCS"; Vol. 3C §25.11.2
// "VMREAD, VMWRITE, and Encodings of VMCS Fields"). Every field is named once here, after the
// SDM; its width and type come from the encoding bits, its label from the enum key:
//
//   [0]     access type: 0 = full, 1 = high (the upper 32 bits of a 64-bit field)
//   [9:1]   index
//   [11:10] type: 0 control, 1 VM-exit information (read-only), 2 guest state, 3 host state
//   [12]    reserved (0)
//   [14:13] width: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural width
//   [31:15] reserved (0)
//
// Which fields a processor supports depends on its features (the footnotes of Appendix B):
// FIELD_REQUIRES names the feature a field needs; fields absent from it exist on every
// processor with VMX.
import { VmxFeature } from './features';

export enum VmcsField {
  // ---- 16-bit control fields (B.1.1)
  VirtualProcessorId = 0x0000,
  PostedInterruptNotificationVector = 0x0002,
  EptpIndex = 0x0004,
  // ---- 16-bit guest-state fields (B.1.2)
  GuestEsSelector = 0x0800,
  GuestCsSelector = 0x0802,
  GuestSsSelector = 0x0804,
  GuestDsSelector = 0x0806,
  GuestFsSelector = 0x0808,
  GuestGsSelector = 0x080a,
  GuestLdtrSelector = 0x080c,
  GuestTrSelector = 0x080e,
  GuestInterruptStatus = 0x0810,
  PmlIndex = 0x0812,
  GuestUinv = 0x0814,
  // ---- 16-bit host-state fields (B.1.3)
  HostEsSelector = 0x0c00,
  HostCsSelector = 0x0c02,
  HostSsSelector = 0x0c04,
  HostDsSelector = 0x0c06,
  HostFsSelector = 0x0c08,
  HostGsSelector = 0x0c0a,
  HostTrSelector = 0x0c0c,
  // ---- 64-bit control fields (B.2.1); xxxHigh = the upper 32 bits (encoding | 1)
  IoBitmapA = 0x2000, IoBitmapAHigh = 0x2001,
  IoBitmapB = 0x2002, IoBitmapBHigh = 0x2003,
  MsrBitmap = 0x2004, MsrBitmapHigh = 0x2005,
  VmExitMsrStoreAddress = 0x2006, VmExitMsrStoreAddressHigh = 0x2007,
  VmExitMsrLoadAddress = 0x2008, VmExitMsrLoadAddressHigh = 0x2009,
  VmEntryMsrLoadAddress = 0x200a, VmEntryMsrLoadAddressHigh = 0x200b,
  ExecutiveVmcsPointer = 0x200c, ExecutiveVmcsPointerHigh = 0x200d,
  PmlAddress = 0x200e, PmlAddressHigh = 0x200f,
  TscOffset = 0x2010, TscOffsetHigh = 0x2011,
  VirtualApicAddress = 0x2012, VirtualApicAddressHigh = 0x2013,
  ApicAccessAddress = 0x2014, ApicAccessAddressHigh = 0x2015,
  PostedInterruptDescriptorAddress = 0x2016, PostedInterruptDescriptorAddressHigh = 0x2017,
  VmFunctionControls = 0x2018, VmFunctionControlsHigh = 0x2019,
  EptPointer = 0x201a, EptPointerHigh = 0x201b,
  EoiExitBitmap0 = 0x201c, EoiExitBitmap0High = 0x201d,
  EoiExitBitmap1 = 0x201e, EoiExitBitmap1High = 0x201f,
  EoiExitBitmap2 = 0x2020, EoiExitBitmap2High = 0x2021,
  EoiExitBitmap3 = 0x2022, EoiExitBitmap3High = 0x2023,
  EptpListAddress = 0x2024, EptpListAddressHigh = 0x2025,
  VmreadBitmapAddress = 0x2026, VmreadBitmapAddressHigh = 0x2027,
  VmwriteBitmapAddress = 0x2028, VmwriteBitmapAddressHigh = 0x2029,
  VirtualizationExceptionInfoAddress = 0x202a, VirtualizationExceptionInfoAddressHigh = 0x202b,
  XssExitingBitmap = 0x202c, XssExitingBitmapHigh = 0x202d,
  EnclsExitingBitmap = 0x202e, EnclsExitingBitmapHigh = 0x202f,
  SubPagePermissionTablePointer = 0x2030, SubPagePermissionTablePointerHigh = 0x2031,
  TscMultiplier = 0x2032, TscMultiplierHigh = 0x2033,
  TertiaryProcBasedControls = 0x2034, TertiaryProcBasedControlsHigh = 0x2035,
  EnclvExitingBitmap = 0x2036, EnclvExitingBitmapHigh = 0x2037,
  LowPasidDirectoryAddress = 0x2038, LowPasidDirectoryAddressHigh = 0x2039,
  HighPasidDirectoryAddress = 0x203a, HighPasidDirectoryAddressHigh = 0x203b,
  SharedEptPointer = 0x203c, SharedEptPointerHigh = 0x203d,
  PconfigExitingBitmap = 0x203e, PconfigExitingBitmapHigh = 0x203f,
  HlatPointer = 0x2040, HlatPointerHigh = 0x2041,
  // ---- 64-bit read-only data field (B.2.2)
  GuestPhysicalAddress = 0x2400, GuestPhysicalAddressHigh = 0x2401,
  // ---- 64-bit guest-state fields (B.2.3)
  VmcsLinkPointer = 0x2800, VmcsLinkPointerHigh = 0x2801,
  GuestIa32Debugctl = 0x2802, GuestIa32DebugctlHigh = 0x2803,
  GuestIa32Pat = 0x2804, GuestIa32PatHigh = 0x2805,
  GuestIa32Efer = 0x2806, GuestIa32EferHigh = 0x2807,
  GuestIa32PerfGlobalCtrl = 0x2808, GuestIa32PerfGlobalCtrlHigh = 0x2809,
  GuestPdpte0 = 0x280a, GuestPdpte0High = 0x280b,
  GuestPdpte1 = 0x280c, GuestPdpte1High = 0x280d,
  GuestPdpte2 = 0x280e, GuestPdpte2High = 0x280f,
  GuestPdpte3 = 0x2810, GuestPdpte3High = 0x2811,
  GuestIa32Bndcfgs = 0x2812, GuestIa32BndcfgsHigh = 0x2813,
  GuestIa32RtitCtl = 0x2814, GuestIa32RtitCtlHigh = 0x2815,
  GuestIa32LbrCtl = 0x2816, GuestIa32LbrCtlHigh = 0x2817,
  GuestIa32Pkrs = 0x2818, GuestIa32PkrsHigh = 0x2819,
  // ---- 64-bit host-state fields (B.2.4)
  HostIa32Pat = 0x2c00, HostIa32PatHigh = 0x2c01,
  HostIa32Efer = 0x2c02, HostIa32EferHigh = 0x2c03,
  HostIa32PerfGlobalCtrl = 0x2c04, HostIa32PerfGlobalCtrlHigh = 0x2c05,
  HostIa32Pkrs = 0x2c06, HostIa32PkrsHigh = 0x2c07,
  // ---- 32-bit control fields (B.3.1)
  PinBasedControls = 0x4000,
  ProcBasedControls = 0x4002,
  ExceptionBitmap = 0x4004,
  PageFaultErrorCodeMask = 0x4006,
  PageFaultErrorCodeMatch = 0x4008,
  Cr3TargetCount = 0x400a,
  VmExitControls = 0x400c,
  VmExitMsrStoreCount = 0x400e,
  VmExitMsrLoadCount = 0x4010,
  VmEntryControls = 0x4012,
  VmEntryMsrLoadCount = 0x4014,
  VmEntryInterruptionInfo = 0x4016,
  VmEntryExceptionErrorCode = 0x4018,
  VmEntryInstructionLength = 0x401a,
  TprThreshold = 0x401c,
  ProcBasedControls2 = 0x401e,
  PleGap = 0x4020,
  PleWindow = 0x4022,
  NotifyWindow = 0x4024,
  // ---- 32-bit read-only data fields (B.3.2)
  VmInstructionError = 0x4400,
  ExitReason = 0x4402,
  VmExitInterruptionInfo = 0x4404,
  VmExitInterruptionErrorCode = 0x4406,
  IdtVectoringInfo = 0x4408,
  IdtVectoringErrorCode = 0x440a,
  VmExitInstructionLength = 0x440c,
  VmExitInstructionInfo = 0x440e,
  // ---- 32-bit guest-state fields (B.3.3)
  GuestEsLimit = 0x4800,
  GuestCsLimit = 0x4802,
  GuestSsLimit = 0x4804,
  GuestDsLimit = 0x4806,
  GuestFsLimit = 0x4808,
  GuestGsLimit = 0x480a,
  GuestLdtrLimit = 0x480c,
  GuestTrLimit = 0x480e,
  GuestGdtrLimit = 0x4810,
  GuestIdtrLimit = 0x4812,
  GuestEsAccessRights = 0x4814,
  GuestCsAccessRights = 0x4816,
  GuestSsAccessRights = 0x4818,
  GuestDsAccessRights = 0x481a,
  GuestFsAccessRights = 0x481c,
  GuestGsAccessRights = 0x481e,
  GuestLdtrAccessRights = 0x4820,
  GuestTrAccessRights = 0x4822,
  GuestInterruptibilityState = 0x4824,
  GuestActivityState = 0x4826,
  GuestSmbase = 0x4828,
  GuestIa32SysenterCs = 0x482a,
  VmxPreemptionTimerValue = 0x482e,
  // ---- 32-bit host-state field (B.3.4)
  HostIa32SysenterCs = 0x4c00,
  // ---- natural-width control fields (B.4.1)
  Cr0GuestHostMask = 0x6000,
  Cr4GuestHostMask = 0x6002,
  Cr0ReadShadow = 0x6004,
  Cr4ReadShadow = 0x6006,
  Cr3TargetValue0 = 0x6008,
  Cr3TargetValue1 = 0x600a,
  Cr3TargetValue2 = 0x600c,
  Cr3TargetValue3 = 0x600e,
  // ---- natural-width read-only data fields (B.4.2)
  ExitQualification = 0x6400,
  IoRcx = 0x6402,
  IoRsi = 0x6404,
  IoRdi = 0x6406,
  IoRip = 0x6408,
  GuestLinearAddress = 0x640a,
  // ---- natural-width guest-state fields (B.4.3)
  GuestCr0 = 0x6800,
  GuestCr3 = 0x6802,
  GuestCr4 = 0x6804,
  GuestEsBase = 0x6806,
  GuestCsBase = 0x6808,
  GuestSsBase = 0x680a,
  GuestDsBase = 0x680c,
  GuestFsBase = 0x680e,
  GuestGsBase = 0x6810,
  GuestLdtrBase = 0x6812,
  GuestTrBase = 0x6814,
  GuestGdtrBase = 0x6816,
  GuestIdtrBase = 0x6818,
  GuestDr7 = 0x681a,
  GuestRsp = 0x681c,
  GuestRip = 0x681e,
  GuestRflags = 0x6820,
  GuestPendingDebugExceptions = 0x6822,
  GuestIa32SysenterEsp = 0x6824,
  GuestIa32SysenterEip = 0x6826,
  GuestIa32SCet = 0x6828,
  GuestSsp = 0x682a,
  GuestIa32InterruptSspTableAddress = 0x682c,
  // ---- natural-width host-state fields (B.4.4)
  HostCr0 = 0x6c00,
  HostCr3 = 0x6c02,
  HostCr4 = 0x6c04,
  HostFsBase = 0x6c06,
  HostGsBase = 0x6c08,
  HostTrBase = 0x6c0a,
  HostGdtrBase = 0x6c0c,
  HostIdtrBase = 0x6c0e,
  HostIa32SysenterEsp = 0x6c10,
  HostIa32SysenterEip = 0x6c12,
  HostRsp = 0x6c14,
  HostRip = 0x6c16,
  HostIa32SCet = 0x6c18,
  HostSsp = 0x6c1a,
  HostIa32InterruptSspTableAddress = 0x6c1c,
}

/** Encoding bits 14:13 (SDM Vol. 3C §25.11.2). */
export enum FieldWidth { Bits16 = 0, Bits64 = 1, Bits32 = 2, Natural = 3 }
/** Encoding bits 11:10. */
export enum FieldType { Control = 0, ExitInformation = 1, GuestState = 2, HostState = 3 }

export const fieldWidth = (enc: number): FieldWidth => ((enc >>> 13) & 3) as FieldWidth;
export const fieldType = (enc: number): FieldType => ((enc >>> 10) & 3) as FieldType;
export const fieldIndex = (enc: number): number => (enc >>> 1) & 0x1ff;
/** Access type bit 0: the high 32 bits of a 64-bit field. */
export const isHighAccess = (enc: number): boolean => (enc & 1) !== 0;
/** VM-exit information fields are read-only to VMWRITE unless IA32_VMX_MISC[29] (§31.3 VMWRITE). */
export const isReadOnly = (enc: number): boolean => fieldType(enc) === FieldType.ExitInformation;

/** Field name by encoding, derived from the enum ('GuestCr3'). */
export const FIELD_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(VmcsField).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

/** Every field, full encodings only (the high halves are views of the same storage). */
export const ALL_FIELDS: readonly VmcsField[] = [...FIELD_NAMES.keys()]
  .filter((e) => !(fieldWidth(e) === FieldWidth.Bits64 && isHighAccess(e)))
  .sort((a, b) => a - b) as VmcsField[];

/** `GuestCr3 (0x6802)`, or the hex encoding of an unknown one. */
export function fieldLabel(enc: number): string {
  const n = FIELD_NAMES.get(enc >>> 0);
  const hex = `0x${(enc >>> 0).toString(16).padStart(4, '0')}`;
  return n === undefined ? hex : `${n} (${hex})`;
}

/**
 * The feature a field needs (SDM Vol. 3D Appendix B footnotes: "This field exists only on
 * processors that support the 1-setting of ..."). Fields of features vmxlab does not model
 * (PML, VMCS shadowing, posted interrupts, ...) name that feature too: they exist on no
 * generation here, so VMREAD/VMWRITE of them fail with error 12 (unsupported component).
 */
export const FIELD_REQUIRES: ReadonlyMap<VmcsField, VmxFeature> = new Map<VmcsField, VmxFeature>([
  [VmcsField.VirtualProcessorId, VmxFeature.Vpid],
  [VmcsField.PostedInterruptNotificationVector, VmxFeature.PostedInterrupts],
  [VmcsField.EptpIndex, VmxFeature.EptViolationVe],
  [VmcsField.GuestInterruptStatus, VmxFeature.VirtualInterruptDelivery],
  [VmcsField.PmlIndex, VmxFeature.Pml],
  [VmcsField.GuestUinv, VmxFeature.UserInterrupts],
  [VmcsField.PmlAddress, VmxFeature.Pml],
  [VmcsField.VirtualApicAddress, VmxFeature.TprShadow],
  [VmcsField.ApicAccessAddress, VmxFeature.VirtualizeApicAccesses],
  [VmcsField.PostedInterruptDescriptorAddress, VmxFeature.PostedInterrupts],
  [VmcsField.VmFunctionControls, VmxFeature.VmFunctions],
  [VmcsField.EptPointer, VmxFeature.Ept],
  [VmcsField.EoiExitBitmap0, VmxFeature.VirtualInterruptDelivery],
  [VmcsField.EoiExitBitmap1, VmxFeature.VirtualInterruptDelivery],
  [VmcsField.EoiExitBitmap2, VmxFeature.VirtualInterruptDelivery],
  [VmcsField.EoiExitBitmap3, VmxFeature.VirtualInterruptDelivery],
  [VmcsField.EptpListAddress, VmxFeature.VmFunctions],
  [VmcsField.VmreadBitmapAddress, VmxFeature.VmcsShadowing],
  [VmcsField.VmwriteBitmapAddress, VmxFeature.VmcsShadowing],
  [VmcsField.VirtualizationExceptionInfoAddress, VmxFeature.EptViolationVe],
  [VmcsField.XssExitingBitmap, VmxFeature.Xsaves],
  [VmcsField.EnclsExitingBitmap, VmxFeature.EnclsExiting],
  [VmcsField.SubPagePermissionTablePointer, VmxFeature.SubPageWritePermissions],
  [VmcsField.TscMultiplier, VmxFeature.TscScaling],
  [VmcsField.TertiaryProcBasedControls, VmxFeature.TertiaryControls],
  [VmcsField.EnclvExitingBitmap, VmxFeature.EnclvExiting],
  [VmcsField.LowPasidDirectoryAddress, VmxFeature.PasidTranslation],
  [VmcsField.HighPasidDirectoryAddress, VmxFeature.PasidTranslation],
  [VmcsField.SharedEptPointer, VmxFeature.TertiaryControls],
  [VmcsField.PconfigExitingBitmap, VmxFeature.PconfigExiting],
  [VmcsField.HlatPointer, VmxFeature.TertiaryControls],
  [VmcsField.GuestPhysicalAddress, VmxFeature.Ept],
  [VmcsField.GuestIa32Pat, VmxFeature.SaveLoadPat],
  [VmcsField.GuestIa32Efer, VmxFeature.SaveLoadEfer],
  [VmcsField.GuestIa32PerfGlobalCtrl, VmxFeature.LoadPerfGlobalCtrl],
  [VmcsField.GuestPdpte0, VmxFeature.Ept],
  [VmcsField.GuestPdpte1, VmxFeature.Ept],
  [VmcsField.GuestPdpte2, VmxFeature.Ept],
  [VmcsField.GuestPdpte3, VmxFeature.Ept],
  [VmcsField.GuestIa32Bndcfgs, VmxFeature.Mpx],
  [VmcsField.GuestIa32RtitCtl, VmxFeature.ProcessorTrace],
  [VmcsField.GuestIa32LbrCtl, VmxFeature.ArchLbr],
  [VmcsField.GuestIa32Pkrs, VmxFeature.Pks],
  [VmcsField.HostIa32Pat, VmxFeature.SaveLoadPat],
  [VmcsField.HostIa32Efer, VmxFeature.SaveLoadEfer],
  [VmcsField.HostIa32PerfGlobalCtrl, VmxFeature.LoadPerfGlobalCtrl],
  [VmcsField.HostIa32Pkrs, VmxFeature.Pks],
  [VmcsField.TprThreshold, VmxFeature.TprShadow],
  [VmcsField.ProcBasedControls2, VmxFeature.SecondaryControls],
  [VmcsField.PleGap, VmxFeature.PauseLoopExiting],
  [VmcsField.PleWindow, VmxFeature.PauseLoopExiting],
  [VmcsField.NotifyWindow, VmxFeature.InstructionTimeout],
  [VmcsField.VmxPreemptionTimerValue, VmxFeature.PreemptionTimer],
  [VmcsField.GuestIa32SCet, VmxFeature.Cet],
  [VmcsField.GuestSsp, VmxFeature.Cet],
  [VmcsField.GuestIa32InterruptSspTableAddress, VmxFeature.Cet],
  [VmcsField.HostIa32SCet, VmxFeature.Cet],
  [VmcsField.HostSsp, VmxFeature.Cet],
  [VmcsField.HostIa32InterruptSspTableAddress, VmxFeature.Cet],
]);

/** Selector, base, limit and access-rights fields of each guest segment register, in vmxlab's
 *  Seg order (ES CS SS DS FS GS, then LDTR and TR), with the SDM's register names
 *  (§25.4.1 "Guest Register State"). */
export const GUEST_SEGMENT_FIELDS: readonly (readonly [VmcsField, VmcsField, VmcsField, VmcsField, string])[] = [
  [VmcsField.GuestEsSelector, VmcsField.GuestEsBase, VmcsField.GuestEsLimit, VmcsField.GuestEsAccessRights, 'ES'],
  [VmcsField.GuestCsSelector, VmcsField.GuestCsBase, VmcsField.GuestCsLimit, VmcsField.GuestCsAccessRights, 'CS'],
  [VmcsField.GuestSsSelector, VmcsField.GuestSsBase, VmcsField.GuestSsLimit, VmcsField.GuestSsAccessRights, 'SS'],
  [VmcsField.GuestDsSelector, VmcsField.GuestDsBase, VmcsField.GuestDsLimit, VmcsField.GuestDsAccessRights, 'DS'],
  [VmcsField.GuestFsSelector, VmcsField.GuestFsBase, VmcsField.GuestFsLimit, VmcsField.GuestFsAccessRights, 'FS'],
  [VmcsField.GuestGsSelector, VmcsField.GuestGsBase, VmcsField.GuestGsLimit, VmcsField.GuestGsAccessRights, 'GS'],
  [VmcsField.GuestLdtrSelector, VmcsField.GuestLdtrBase, VmcsField.GuestLdtrLimit, VmcsField.GuestLdtrAccessRights, 'LDTR'],
  [VmcsField.GuestTrSelector, VmcsField.GuestTrBase, VmcsField.GuestTrLimit, VmcsField.GuestTrAccessRights, 'TR'],
];
