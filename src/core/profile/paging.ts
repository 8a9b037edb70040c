// The paging figures of a profile (issue 6): what shadow paging costs and EPT removes, read
// off one saved profile, so `vmxlab compare` and the desktop's Compare view show the same
// numbers. Exit counts come from the profile's sub-keys (MOV to CR3: CR-access qualification,
// SDM Vol. 3C §28.2.1 Table 28-3; #PF: vector 14 of the exit interruption information,
// §25.9.2) and reasons (INVLPG, exit 14); shadow memory from the profile's `paging` section.
import type { Profile } from './profile-json';
import { ExitReason } from '../vmx/exit-reasons';
import { CR_ACCESS_SHIFT, CrAccessType, INTR_VECTOR_MASK } from './exit-qualification';

/** #PF (SDM Vol. 3A §6.15). */
const PF_VECTOR = 14;
/** The CR-access sub-key of MOV to CR3 (qualification bits 5:0). */
const CR3_LOAD_KEY = 3 | (CrAccessType.MovToCr << CR_ACCESS_SHIFT);
/** Bytes per shadow page (a 4 KB paging structure). */
export const SHADOW_PAGE_BYTES = 4096;

export interface PagingFigures {
  /** 'ept', 'shadow', or null when the profile does not say (bare mode, older profiles). */
  readonly mode: 'ept' | 'shadow' | null;
  readonly cr3LoadExits: number;
  readonly pageFaultExits: number;
  readonly invlpgExits: number;
  /** Every instruction the VMM emulated (exit handlers and real-mode batches). */
  readonly emulatedInstructions: number;
  /** Null where the profile has no shadow counters (EPT, bare mode, older profiles). */
  readonly shadowPages: number | null;
  readonly peakShadowPages: number | null;
  readonly faultsFixed: number | null;
  readonly faultsInjected: number | null;
}

/** The paging figures of `p`. */
export function pagingFigures(p: Profile): PagingFigures {
  let cr3 = 0, pf = 0;
  for (const s of p.subkeys) {
    if (s.kind === 'cr' && s.key === CR3_LOAD_KEY) cr3 += s.count;
    else if (s.kind === 'exception' && s.reason === ExitReason.ExceptionOrNmi && (s.key & INTR_VECTOR_MASK) === PF_VECTOR) pf += s.count;
  }
  const invlpg = p.reasons.find((r) => r.reason === ExitReason.Invlpg)?.count ?? 0;
  const sh = p.paging?.shadow ?? null;
  return {
    mode: p.paging?.mode ?? null,
    cr3LoadExits: cr3, pageFaultExits: pf, invlpgExits: invlpg, emulatedInstructions: p.totals.instructionsEmulated,
    shadowPages: sh?.shadowPages ?? null, peakShadowPages: sh?.peakShadowPages ?? null,
    faultsFixed: sh?.faultsFixed ?? null, faultsInjected: sh?.faultsInjected ?? null,
  };
}

/** One row of the paging comparison: A, B and the change (null where a profile has no figure). */
export interface PagingRow {
  readonly key: keyof Omit<PagingFigures, 'mode'>;
  readonly label: string;
  readonly a: number | null;
  readonly b: number | null;
  readonly delta: number | null;
}

/** The rows in display order, each with its label. */
export const PAGING_ROWS: readonly { readonly key: PagingRow['key']; readonly label: string }[] = [
  { key: 'cr3LoadExits', label: 'CR3-load exits' },
  { key: 'pageFaultExits', label: '#PF exits' },
  { key: 'invlpgExits', label: 'INVLPG exits' },
  { key: 'emulatedInstructions', label: 'VMM-emulated instructions' },
  { key: 'shadowPages', label: 'shadow pages (end)' },
  { key: 'peakShadowPages', label: 'shadow pages (peak)' },
  { key: 'faultsFixed', label: 'shadow faults fixed' },
  { key: 'faultsInjected', label: 'shadow faults injected' },
];

export interface PagingComparison {
  readonly modeA: PagingFigures['mode'];
  readonly modeB: PagingFigures['mode'];
  readonly rows: readonly PagingRow[];
}

/** A and B side by side. A shadow-page figure absent from one profile (EPT) counts as 0 when the
 *  other has it, so the change says what shadow paging added; absent from both, it stays null. */
export function comparePaging(a: Profile, b: Profile): PagingComparison {
  const fa = pagingFigures(a), fb = pagingFigures(b);
  const rows = PAGING_ROWS.map(({ key, label }): PagingRow => {
    let x = fa[key], y = fb[key];
    if (x === null && y !== null && fa.mode === 'ept') x = 0;
    if (y === null && x !== null && fb.mode === 'ept') y = 0;
    return { key, label, a: x, b: y, delta: x === null || y === null ? null : y - x };
  });
  return { modeA: fa.mode, modeB: fb.mode, rows };
}

/** 'EPT', 'shadow paging' or 'not recorded'. */
export function pagingModeLabel(m: PagingFigures['mode']): string {
  return m === 'ept' ? 'EPT' : m === 'shadow' ? 'shadow paging' : 'not recorded';
}
