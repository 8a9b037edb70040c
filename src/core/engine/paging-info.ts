// The paging section of a hosted run's profile and stats (issue 6): whether the VMM used EPT or
// shadow page tables, with the shadow MMU's counters and the real-mode code it emulated. One
// helper for the engine and `vmxlab run`, so both write the same figures.
import type { ProfilePaging } from '../profile/profile-json';
import type { HostedVm } from '../vmm/index';

/** The paging figures of `vm` now; null in bare mode (no VMM). */
export function hostedPaging(vm: HostedVm | null): ProfilePaging | null {
  if (vm === null) return null;
  const shadow = vm.shadowStats;
  return { mode: shadow === null ? 'ept' : 'shadow', shadow, emulation: shadow === null ? null : { instructions: vm.emulation.instructions, batches: vm.emulation.batches } };
}
