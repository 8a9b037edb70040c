// `vmxlab compare a.json b.json`: two saved profiles side by side, by exit reason and by
// sub-key, with the change from A to B, the largest change first (in modelled cycles, or in
// exit counts with --by count). Notes say when the two runs were counted or costed
// differently, since then a delta mixes guest behaviour with settings.
import { comparePaging, pagingModeLabel, type PagingComparison } from './paging';
import type { Profile, ProfileStats } from './profile-json';
import { group } from './report-perf';

export type CompareBy = 'cycles' | 'count';

export interface CompareRow {
  readonly label: string;
  readonly countA: number;
  readonly countB: number;
  readonly cyclesA: number;
  readonly cyclesB: number;
  readonly deltaCount: number;
  readonly deltaCycles: number;
  /** Change in cycles relative to A, %; null when A had none. */
  readonly deltaPercent: number | null;
}

export interface Comparison {
  readonly summary: readonly CompareRow[];
  readonly reasons: readonly CompareRow[];
  readonly subkeys: readonly CompareRow[];
  /** What shadow paging costs and EPT removes (issue 6): CR3-load, #PF and INVLPG exits,
   *  VMM-emulated instructions, shadow memory and faults, for A and B. */
  readonly paging: PagingComparison;
  readonly notes: readonly string[];
}

function makeRow(label: string, a: { count: number; cycles: number } | undefined, b: { count: number; cycles: number } | undefined): CompareRow {
  const countA = a?.count ?? 0, countB = b?.count ?? 0, cyclesA = a?.cycles ?? 0, cyclesB = b?.cycles ?? 0;
  return {
    label, countA, countB, cyclesA, cyclesB, deltaCount: countB - countA, deltaCycles: cyclesB - cyclesA,
    deltaPercent: cyclesA !== 0 ? ((cyclesB - cyclesA) / cyclesA) * 100 : null,
  };
}

function sortRows(rows: CompareRow[], by: CompareBy): CompareRow[] {
  const primary = by === 'count' ? (r: CompareRow) => Math.abs(r.deltaCount) : (r: CompareRow) => Math.abs(r.deltaCycles);
  const secondary = by === 'count' ? (r: CompareRow) => Math.abs(r.deltaCycles) : (r: CompareRow) => Math.abs(r.deltaCount);
  return rows.sort((x, y) => primary(y) - primary(x) || secondary(y) - secondary(x) || (x.label < y.label ? -1 : x.label > y.label ? 1 : 0));
}

/** Joins the entries of A and B by `key`, summing entries that share a key. */
function join<T extends ProfileStats>(a: readonly T[], b: readonly T[], key: (e: T) => string): CompareRow[] {
  const sum = (list: readonly T[]): Map<string, { count: number; cycles: number }> => {
    const m = new Map<string, { count: number; cycles: number }>();
    for (const e of list) {
      const k = key(e), g = m.get(k);
      if (g === undefined) m.set(k, { count: e.count, cycles: e.cycles }); else { g.count += e.count; g.cycles += e.cycles; }
    }
    return m;
  };
  const ma = sum(a), mb = sum(b);
  return [...new Set([...ma.keys(), ...mb.keys()])].map((k) => makeRow(k, ma.get(k), mb.get(k)));
}

export function compareProfiles(a: Profile, b: Profile, by: CompareBy = 'cycles'): Comparison {
  const ta = a.totals, tb = b.totals;
  const pair = (label: string, x: number, y: number): CompareRow => makeRow(label, { count: x, cycles: x }, { count: y, cycles: y });
  const summary = [
    makeRow('all exits', { count: ta.exits, cycles: ta.exitCycles }, { count: tb.exits, cycles: tb.exitCycles }),
    pair('guest cycles', ta.guestCycles, tb.guestCycles),
    pair('transition cycles', ta.transitionCycles, tb.transitionCycles),
    pair('handler cycles', ta.handlerCycles, tb.handlerCycles),
    pair('total cycles', ta.totalCycles, tb.totalCycles),
    pair('overhead %', ta.overheadPercent, tb.overheadPercent),
  ];
  const notes: string[] = [];
  const ca = a.costModel, cb = b.costModel;
  if (ca.generation !== cb.generation) notes.push(`costed on different generations (A ${ca.generation}, B ${cb.generation}): cycle deltas include the round-trip difference`);
  if (ca.clockHz !== cb.clockHz || ca.cpi !== cb.cpi) notes.push(`different clock or CPI (A ${ca.clockHz} Hz CPI ${ca.cpi}, B ${cb.clockHz} Hz CPI ${cb.cpi})`);
  if (JSON.stringify(ca.handlers.map((h) => h.cycles)) !== JSON.stringify(cb.handlers.map((h) => h.cycles))) notes.push('different handler cost tables: cycle deltas include cost-table changes');
  if (JSON.stringify(a.run.filters) !== JSON.stringify(b.run.filters)) notes.push(`different filters (A ${JSON.stringify(a.run.filters)}, B ${JSON.stringify(b.run.filters)})`);
  return {
    summary,
    reasons: sortRows(join(a.reasons, b.reasons, (e) => e.name), by),
    subkeys: sortRows(join(a.subkeys, b.subkeys, (e) => `${e.name} ${e.label}`), by),
    paging: comparePaging(a, b),
    notes,
  };
}

const sign = (n: number, fmt: (v: number) => string): string => (n > 0 ? `+${fmt(n)}` : n < 0 ? `-${fmt(-n)}` : fmt(0));
const pctText = (p: number | null): string => (p === null ? 'new' : `${p > 0 ? '+' : ''}${p.toFixed(1)}%`);

function table(title: string, rows: readonly CompareRow[], top: number): string[] {
  const w = Math.max(28, ...rows.slice(0, top).map((r) => r.label.length));
  const lines = [title, `${'event'.padEnd(w)} ${'A count'.padStart(12)} ${'B count'.padStart(12)} ${'delta'.padStart(12)} ` +
    `${'A cycles'.padStart(16)} ${'B cycles'.padStart(16)} ${'delta'.padStart(16)} ${'change'.padStart(9)}`];
  for (const r of rows.slice(0, top)) {
    lines.push(`${r.label.padEnd(w)} ${group(r.countA).padStart(12)} ${group(r.countB).padStart(12)} ${sign(r.deltaCount, group).padStart(12)} ` +
      `${group(r.cyclesA).padStart(16)} ${group(r.cyclesB).padStart(16)} ${sign(r.deltaCycles, group).padStart(16)} ${pctText(r.deltaPercent).padStart(9)}`);
  }
  if (rows.length > top) lines.push(`(${rows.length - top} more rows; --top N shows more)`);
  return lines;
}

/** The paging section: A and B's paging mode, then one row per figure ('-': not recorded). */
function pagingTable(p: PagingComparison): string[] {
  const w = 28, cell = (v: number | null): string => (v === null ? '-' : group(v));
  const lines = [`Paging (A: ${pagingModeLabel(p.modeA)}, B: ${pagingModeLabel(p.modeB)}):`,
    `${'figure'.padEnd(w)} ${'A'.padStart(14)} ${'B'.padStart(14)} ${'delta'.padStart(14)}`];
  for (const r of p.rows) {
    lines.push(`${r.label.padEnd(w)} ${cell(r.a).padStart(14)} ${cell(r.b).padStart(14)} ${(r.delta === null ? '-' : sign(r.delta, group)).padStart(14)}`);
  }
  return lines;
}

/** The comparison as text. `names` label the two runs (file names). */
export function formatCompare(a: Profile, b: Profile, options: { names?: readonly [string, string]; by?: CompareBy; top?: number } = {}): string {
  const by = options.by ?? 'cycles', top = options.top ?? 20;
  const [na, nb] = options.names ?? ['A', 'B'];
  const c = compareProfiles(a, b, by);
  const desc = (p: Profile): string => `${p.run.image ?? 'run'} on ${p.costModel.generation}, ${group(p.totals.exits)} exits`;
  const lines = [`A: ${na} (${desc(a)})`, `B: ${nb} (${desc(b)})`, ''];
  const w = 20;
  lines.push(`${''.padEnd(w)} ${'A'.padStart(18)} ${'B'.padStart(18)} ${'delta'.padStart(18)} ${'change'.padStart(9)}`);
  for (const r of c.summary) {
    const isPct = r.label === 'overhead %';
    const fmt = (v: number): string => (isPct ? v.toFixed(2) : group(v));
    const va = r.label === 'all exits' ? `${group(r.countA)} / ${group(r.cyclesA)}` : fmt(r.cyclesA);
    const vb = r.label === 'all exits' ? `${group(r.countB)} / ${group(r.cyclesB)}` : fmt(r.cyclesB);
    const d = r.label === 'all exits' ? `${sign(r.deltaCount, group)} / ${sign(r.deltaCycles, group)}` : sign(r.deltaCycles, fmt);
    lines.push(`${(r.label === 'all exits' ? 'exits / exit cycles' : r.label).padEnd(w)} ${va.padStart(18)} ${vb.padStart(18)} ${d.padStart(18)} ${(isPct ? '' : pctText(r.deltaPercent)).padStart(9)}`);
  }
  lines.push('', ...pagingTable(c.paging));
  lines.push('', ...table(`By exit reason (largest change in ${by} first):`, c.reasons, top));
  lines.push('', ...table(`By sub-key (largest change in ${by} first):`, c.subkeys, top));
  if (c.notes.length > 0) lines.push('', ...c.notes.map((n) => `note: ${n}`));
  return `${lines.join('\n')}\n`;
}
