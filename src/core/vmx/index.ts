// VMX (Intel VT-x) for the emulated CPU: VMCS fields, controls, exit reasons, VM-instruction
// errors, the generation table with its capability MSRs, the VMX instructions and the typed
// interface for root-mode software in TypeScript (VmxRoot). The CPU core reaches this module
// only through the VmxHooks a VMX-capable CPU model installs (cpu-model.ts).
export * from './fields';
export * from './exit-reasons';
export * from './controls';
export * from './errors';
export * from './features';
export * from './generations';
export * from './capabilities';
export * from './vmcs';
export * from './entry-checks';
export { VM_FAIL_INVALID, VM_SUCCEED, type VmOutcome } from './instructions';
export * from './exit-info';
export * from './exit-record';
export { ActivityState, EntryFailureQualification, Interruptibility, PendingDebug, checkGuestState, type GuestCheckFailure } from './guest-checks';
export { EntryOutcome } from './vm-entry';
export { VmxAbort } from './vm-exit';
export { VmxUnit } from './unit';
export {
  VmxRoot, DEFAULT_GUEST_BUDGET, type GuestRunner, type VmxResult, type VmreadResult, type Vmread64Result, type VmptrstResult,
} from './root';
export { cpuModelFor, cpuModelForName } from './cpu-model';
