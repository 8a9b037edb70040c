// VM-instruction error numbers (SDM Vol. 3C §31.4 "VM Instruction Error Numbers", Table 31-1),
// stored in the VM-instruction error field of the current VMCS by VMfailValid. Numbers 14, 21
// and 27 are reserved.

export enum VmInstructionError {
  VmcallInRoot = 1,
  VmclearInvalidAddress = 2,
  VmclearVmxonPointer = 3,
  VmlaunchNonClearVmcs = 4,
  VmresumeNonLaunchedVmcs = 5,
  VmresumeAfterVmxoff = 6,
  EntryInvalidControlFields = 7,
  EntryInvalidHostState = 8,
  VmptrldInvalidAddress = 9,
  VmptrldVmxonPointer = 10,
  VmptrldIncorrectRevision = 11,
  UnsupportedVmcsComponent = 12,
  VmwriteReadOnlyComponent = 13,
  VmxonInRoot = 15,
  EntryInvalidExecutiveVmcsPointer = 16,
  EntryNonLaunchedExecutiveVmcs = 17,
  EntryExecutiveVmcsNotVmxonPointer = 18,
  VmcallNonClearVmcs = 19,
  VmcallInvalidExitControls = 20,
  VmcallIncorrectMsegRevision = 22,
  VmxoffUnderDualMonitor = 23,
  VmcallInvalidSmmMonitorFeatures = 24,
  EntryInvalidExecutiveVmcsControls = 25,
  EntryEventsBlockedByMovSs = 26,
  InvalidInveptInvvpidOperand = 28,
}

/** The SDM's description of each error number (Table 31-1). */
export const VM_INSTRUCTION_ERROR_TEXT: Readonly<Record<VmInstructionError, string>> = {
  [VmInstructionError.VmcallInRoot]: 'VMCALL executed in VMX root operation',
  [VmInstructionError.VmclearInvalidAddress]: 'VMCLEAR with invalid physical address',
  [VmInstructionError.VmclearVmxonPointer]: 'VMCLEAR with VMXON pointer',
  [VmInstructionError.VmlaunchNonClearVmcs]: 'VMLAUNCH with non-clear VMCS',
  [VmInstructionError.VmresumeNonLaunchedVmcs]: 'VMRESUME with non-launched VMCS',
  [VmInstructionError.VmresumeAfterVmxoff]: 'VMRESUME after VMXOFF (VMXOFF and VMXON between VMLAUNCH and VMRESUME)',
  [VmInstructionError.EntryInvalidControlFields]: 'VM entry with invalid control field(s)',
  [VmInstructionError.EntryInvalidHostState]: 'VM entry with invalid host-state field(s)',
  [VmInstructionError.VmptrldInvalidAddress]: 'VMPTRLD with invalid physical address',
  [VmInstructionError.VmptrldVmxonPointer]: 'VMPTRLD with VMXON pointer',
  [VmInstructionError.VmptrldIncorrectRevision]: 'VMPTRLD with incorrect VMCS revision identifier',
  [VmInstructionError.UnsupportedVmcsComponent]: 'VMREAD/VMWRITE from/to unsupported VMCS component',
  [VmInstructionError.VmwriteReadOnlyComponent]: 'VMWRITE to read-only VMCS component',
  [VmInstructionError.VmxonInRoot]: 'VMXON executed in VMX root operation',
  [VmInstructionError.EntryInvalidExecutiveVmcsPointer]: 'VM entry with invalid executive-VMCS pointer',
  [VmInstructionError.EntryNonLaunchedExecutiveVmcs]: 'VM entry with non-launched executive VMCS',
  [VmInstructionError.EntryExecutiveVmcsNotVmxonPointer]: 'VM entry with executive-VMCS pointer not VMXON pointer',
  [VmInstructionError.VmcallNonClearVmcs]: 'VMCALL with non-clear VMCS',
  [VmInstructionError.VmcallInvalidExitControls]: 'VMCALL with invalid VM-exit control fields',
  [VmInstructionError.VmcallIncorrectMsegRevision]: 'VMCALL with incorrect MSEG revision identifier',
  [VmInstructionError.VmxoffUnderDualMonitor]: 'VMXOFF under dual-monitor treatment of SMIs and SMM',
  [VmInstructionError.VmcallInvalidSmmMonitorFeatures]: 'VMCALL with invalid SMM-monitor features',
  [VmInstructionError.EntryInvalidExecutiveVmcsControls]: 'VM entry with invalid VM-execution control fields in executive VMCS',
  [VmInstructionError.EntryEventsBlockedByMovSs]: 'VM entry with events blocked by MOV SS',
  [VmInstructionError.InvalidInveptInvvpidOperand]: 'Invalid operand to INVEPT/INVVPID',
};

/** 'VM-instruction error 7 (VM entry with invalid control field(s))'. */
export function vmInstructionErrorLabel(n: number): string {
  const text = (VM_INSTRUCTION_ERROR_TEXT as Record<number, string | undefined>)[n];
  return `VM-instruction error ${n} (${text ?? 'reserved'})`;
}
