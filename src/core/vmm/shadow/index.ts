// Shadow paging for the VMM without EPT (issue 6): see mmu.ts and the README's section.
export { ShadowContext, ShadowMmu, type ShadowFault, type ShadowMmuOptions } from './mmu';
export { emptyShadowStats, type ShadowStats } from './stats';
export { GuestWalker, PfErr, Pte } from './guest-walk';
export { ShadowPool, ShadowKind, ENTRIES, NO_SLOT } from './pool';
