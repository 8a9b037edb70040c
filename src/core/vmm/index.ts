// The VMM of hosted mode (issue 5): root-mode software in TypeScript driving the CPU through
// VmxRoot only. hosted.ts has the overview.
export { HostedVm, hostReservedBytes, UnsupportedGeneration, type GuestFault, type HostedOptions, type HostedStop } from './hosted';
