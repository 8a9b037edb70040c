// The VMM of hosted mode (issue 5): root-mode software in TypeScript driving the CPU through
// VmxRoot only. hosted.ts has the overview.
export { HostedVm, hostReservedBytes, UnsupportedGeneration, type EmulationStats, type GuestFault, type HostedOptions, type HostedStop } from './hosted';
export type { ShadowStats } from './shadow/index';
export {
  checkExitControls, controlWords, describeExits, eptOn, ExitControlError, exitsFromJson, hasEptAndUnrestricted, kvmDefaults, shadowControls, msrExits, parseExits, portExits,
  KVM_EXCEPTION_BITMAP, KVM_PASS_MSRS, VMM_MSRS, VMM_PORTS, type ExitControls, type IdRange, type IoExiting, type MsrExiting,
} from './exit-controls';
