// The rows of a `perf kvm stat report`-style table, read from a profile: `--event vmexit`
// lists exit reasons; ioport, mmio, msr, cr and exception list the sub-keys of the reasons
// behind them, merged by label as perf keys them (an I/O port and direction, whatever the
// access size; an MSR and R/W). `--key sample` sorts by samples, `--key time` by average time,
// as perf does.
import { type Profile, type ProfileStats, type SubkeyEntry } from './profile-json';
import { perfReasonName } from './reasons';
import { mergeStats, stddevOf, type StatsView } from './stats';

export const EVENT_CLASSES = ['vmexit', 'ioport', 'mmio', 'msr', 'cr', 'exception'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export const SORT_KEYS = ['sample', 'time'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Column title of the event column, as perf names its event kinds. */
export const EVENT_TITLES: Readonly<Record<EventClass, string>> = {
  vmexit: 'VM-EXIT', ioport: 'IO Port Access', mmio: 'MMIO Access', msr: 'MSR Access', cr: 'CR Access',
  exception: 'Exception',
};

/** Which sub-key entries make up each event class other than vmexit. MMIO: EPT violations a
 *  device model handled, EPT misconfigurations (the MMIO fast path of VMMs that use it), and
 *  APIC-page accesses. */
const MEMBER: Readonly<Record<Exclude<EventClass, 'vmexit'>, (e: SubkeyEntry) => boolean>> = {
  ioport: (e) => e.kind === 'io',
  mmio: (e) => (e.kind === 'ept' && e.mmio === true) || e.kind === 'eptMisconfig' || e.kind === 'apicAccess' || e.kind === 'apicWrite',
  msr: (e) => e.kind === 'msr',
  cr: (e) => e.kind === 'cr',
  exception: (e) => e.kind === 'exception',
};

export interface EventRow {
  readonly label: string;
  readonly count: number;
  readonly cycles: number;
  readonly minCycles: number;
  readonly maxCycles: number;
  readonly avgCycles: number;
  readonly stddevCycles: number;
}

/** ProfileStats (cycles with the transition) as mergeable statistics. */
function asStats(s: ProfileStats): StatsView {
  return {
    count: s.count, handlerSum: s.cycles, handlerMin: s.minCycles, handlerMax: s.maxCycles,
    m2: s.count > 1 ? s.stddevCycles * s.stddevCycles * (s.count - 1) : 0,
    instructionsEmulated: s.instructionsEmulated, interruptsInjected: s.interruptsInjected,
  };
}

function row(label: string, s: StatsView): EventRow {
  return {
    label, count: s.count, cycles: s.handlerSum, minCycles: s.handlerMin, maxCycles: s.handlerMax,
    avgCycles: s.count > 0 ? s.handlerSum / s.count : 0, stddevCycles: stddevOf(s),
  };
}

/** The rows of `cls`, sorted by `key` (descending; ties by label). */
export function eventRows(p: Profile, cls: EventClass, key: SortKey = 'sample'): EventRow[] {
  const groups = new Map<string, StatsView>();
  const add = (label: string, s: StatsView): void => {
    const g = groups.get(label);
    groups.set(label, g === undefined ? s : mergeStats(g, s));
  };
  if (cls === 'vmexit') for (const r of p.reasons) add(perfReasonName(r.reason), asStats(r));
  else for (const e of p.subkeys) if (MEMBER[cls](e)) add(e.label, asStats(e));
  const rows = [...groups].map(([label, s]) => row(label, s));
  const by = key === 'time' ? (r: EventRow) => r.avgCycles : (r: EventRow) => r.count;
  return rows.sort((a, b) => by(b) - by(a) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Relative standard deviation of the mean, % (perf's "( +- x% )"): stddev / sqrt(n) / avg. */
export function relStddevPercent(r: EventRow): number {
  return r.count > 0 && r.avgCycles > 0 ? (r.stddevCycles / Math.sqrt(r.count) / r.avgCycles) * 100 : 0;
}

/** Parses `--event`; throws an Error listing the choices. */
export function parseEventClass(text: string): EventClass {
  const c = EVENT_CLASSES.find((e) => e === text);
  if (c === undefined) throw new Error(`--event: one of ${EVENT_CLASSES.join(', ')}, got '${text}'`);
  return c;
}

/** Parses `--key`; throws an Error listing the choices. */
export function parseSortKey(text: string): SortKey {
  const k = SORT_KEYS.find((e) => e === text);
  if (k === undefined) throw new Error(`--key: one of ${SORT_KEYS.join(', ')}, got '${text}'`);
  return k;
}
