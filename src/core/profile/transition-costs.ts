// The hardware cost of one VM exit + VM entry round trip (the transition alone, no handler
// work), in CPU cycles, per generation. Published figures come from one table; generations it
// does not cover carry an estimate, flagged so that every view can say so.
//
// Source of the published rows (../shared/docs/vmexit-costs.md): the "Cost of #vmexit" table of
// a course lecture, believed to come from Bugnion, Nieh & Tsafrir, *Hardware and Software Support
// for Virtualization* (Morgan & Claypool, 2017), VT-x chapter; unconfirmed against the book.
import type { GenerationName } from '../vmx/generations';

export interface TransitionCost {
  /** VM exit + VM entry round trip, cycles. */
  readonly cycles: number;
  /** True when no published figure exists and `cycles` is vmxlab's estimate. */
  readonly estimate: boolean;
  /** Where the figure comes from, or how the estimate was made. */
  readonly source: string;
}

const TABLE = 'Bugnion, Nieh & Tsafrir 2017 (VT-x chapter) via a course lecture table "Cost of #vmexit"; unconfirmed';

export const TRANSITION_COSTS: Readonly<Record<GenerationName, TransitionCost>> = {
  'prescott': { cycles: 1926, estimate: false, source: TABLE },
  'merom': { cycles: 1156, estimate: false, source: TABLE },
  'penryn': { cycles: 858, estimate: false, source: TABLE },
  // The table skips Nehalem. SplitX (Landau et al., 2011) measured ~2,000 cycles per exit on a
  // Xeon X5570 under KVM, handler included, so it does not give the transition. Estimate: the
  // midpoint of Penryn (858) and Westmere (569), the generations either side.
  'nehalem': { cycles: 714, estimate: true, source: 'estimate: midpoint of Penryn 858 and Westmere 569 (no published transition figure)' },
  'westmere': { cycles: 569, estimate: false, source: TABLE },
  'sandy-bridge': { cycles: 507, estimate: false, source: TABLE },
  'ivy-bridge': { cycles: 466, estimate: false, source: TABLE },
  'haswell': { cycles: 512, estimate: false, source: TABLE },
  'broadwell': { cycles: 531, estimate: false, source: TABLE },
  // No published figure found for Skylake or later: Broadwell's, the newest published one.
  'skylake': { cycles: 531, estimate: true, source: 'estimate: Broadwell figure carried forward (none published for Skylake)' },
  'ice-lake': { cycles: 531, estimate: true, source: 'estimate: Broadwell figure carried forward (none published for Ice Lake)' },
};
