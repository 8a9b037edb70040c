// What a stats batch carries about exits: a compact, structured-clone-safe view of one
// ExitRecorder (src/core/profile) made 10-30 times a second while a guest runs. Its size is
// bounded whatever the run length: reasons (at most 128), the most frequent sub-keys and RIPs
// per reason (SNAPSHOT_KEYS_PER_REASON each), the recorder's bounded time series, and one row
// per generation.
import { costOnEveryGeneration, costRun } from '../profile/cost-model';
import { profileStats } from '../profile/profile-json';
import { REASON_SLOTS, reasonName } from '../profile/reasons';
import type { ExitRecorder, KeyedStats } from '../profile/recorder';
import { SUBKEY_DECODERS } from '../profile/subkey';
import { SNAPSHOT_KEYS_PER_REASON, type ExitKeyRow, type ExitSnapshot } from './protocol';

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** The `limit` most frequent entries of each reason, as rows. */
/** I/O sub-keys share a label ('0x80:POUT') across access sizes; say which. */
function subkeyDetail(reason: number, key: number): string {
  const d = SUBKEY_DECODERS.get(reason);
  if (d === undefined || d.kind !== 'io') return '';
  const f = d.fields(key, reason);
  return `${String(f['size'])} byte${f['size'] === 1 ? '' : 's'}${f['string'] === true ? ', string' : ''}${f['rep'] === true ? ', REP' : ''}`;
}

function topPerReason(list: readonly KeyedStats[], t: number, label: (reason: number, key: number) => string, limit: number,
  detail: (reason: number, key: number) => string = () => ''): ExitKeyRow[] {
  const by = new Map<number, KeyedStats[]>();
  for (const k of list) {
    let g = by.get(k.reason);
    if (g === undefined) { g = []; by.set(k.reason, g); }
    g.push(k);
  }
  const out: ExitKeyRow[] = [];
  for (const reason of [...by.keys()].sort((a, b) => a - b)) {
    const g = by.get(reason)!.sort((a, b) => b.stats.count - a.stats.count || a.key - b.key).slice(0, limit);
    for (const k of g) {
      out.push({ reason, key: k.key, label: label(reason, k.key), detail: detail(reason, k.key), count: k.stats.count, cycles: k.stats.handlerSum + k.stats.count * t });
    }
  }
  return out;
}

/**
 * The snapshot of `rec` (null when it has recorded nothing). `guestInstructions` are the
 * instructions the run's guest retired (for guest cycles and the overhead); `scope` is the
 * recorder's vCPU filter.
 */
export function exitSnapshot(rec: ExitRecorder, guestInstructions: number, scope: number | null): ExitSnapshot | null {
  if (rec.exits === 0) return null;
  const model = rec.cost;
  const t = model.transition.cycles;
  const run = rec.runTotals(guestInstructions);
  const here = costRun(model, run);
  const reasons = rec.reasonStats().map((k) => {
    const s = profileStats(k.stats, t);
    return {
      reason: k.reason, name: reasonName(k.reason), count: s.count, cycles: s.cycles, handlerCycles: s.handlerCycles,
      minCycles: s.minCycles, maxCycles: s.maxCycles, avgCycles: s.avgCycles,
    };
  });
  const subkeys = topPerReason(rec.subkeyStatsList(), t, (r, k) => SUBKEY_DECODERS.get(r)?.label(k, r) ?? String(k), SNAPSHOT_KEYS_PER_REASON, subkeyDetail);
  const rips = topPerReason(rec.ripStatsList(), t, (_r, k) => hex(k), SNAPSHOT_KEYS_PER_REASON);

  // The time series as a dense bins x reasons matrix of the reasons that occur.
  const series = rec.series;
  const bins = series.usedBins;
  const seriesReasons: number[] = [];
  for (let r = 0; r < REASON_SLOTS; r++) {
    for (let b = 0; b < bins; b++) {
      if (series.byReason[b * REASON_SLOTS + r]! !== 0) { seriesReasons.push(r); break; }
    }
  }
  const counts = new Float64Array(bins * seriesReasons.length);
  for (let b = 0; b < bins; b++) {
    for (let i = 0; i < seriesReasons.length; i++) counts[b * seriesReasons.length + i] = series.byReason[b * REASON_SLOTS + seriesReasons[i]!]!;
  }

  const generations = costOnEveryGeneration(model, run).map((c) => ({
    generation: c.generation, title: c.title, roundTripCycles: c.roundTrip.cycles, estimate: c.roundTrip.estimate,
    exitCycles: c.exitCycles, transitionCycles: c.transitionCycles, handlerCycles: c.handlerCycles,
    overheadPercent: c.overheadPercent, warnings: [...c.warnings],
  }));

  return {
    scope, total: rec.exits, entryFailures: rec.entryFailures, guestCycles: here.guestCycles, exitCycles: here.exitCycles,
    overheadPercent: here.overheadPercent, generation: model.generation, roundTripCycles: t,
    roundTripEstimate: model.transition.estimate, reasons, subkeys, rips, binWidthNs: series.binWidthNs, bins, seriesReasons,
    counts, generations, vcpus: rec.vcpuStatsList().map((v) => v.key),
  };
}
