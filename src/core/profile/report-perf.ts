// `vmxlab run --report perf`: the exit table in the layout of `perf kvm stat report` (Linux
// tools/perf/builtin-kvm.c print_result: the same columns, widths and total line), with times
// modelled from cycles at the cost model's clock. After perf's part, vmxlab adds the cost
// model in use, the run's guest/exit split and the run re-costed on every generation.
import { EVENT_TITLES, eventRows, relStddevPercent, type EventClass, type SortKey } from './event-rows';
import { formatRipRange } from './filters';
import type { Profile } from './profile-json';

export interface PerfReportOptions {
  readonly event?: EventClass;
  readonly key?: SortKey;
  /** Append the cost model, run split and per-generation table (default true). */
  readonly details?: boolean;
}

/** printf("%*.*f") */
const f = (v: number, width: number, prec = 2): string => (Number.isFinite(v) ? v.toFixed(prec) : 'nan').padStart(width);
const s = (v: string, width: number): string => v.padStart(width);
const pct = (part: number, whole: number): number => (whole > 0 ? (part / whole) * 100 : 0);
/** Big counts with thousands separators, locale-independent. */
export const group = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function formatPerfReport(p: Profile, options: PerfReportOptions = {}): string {
  const cls = options.event ?? 'vmexit';
  const key = options.key ?? 'sample';
  const us = (cycles: number): number => (cycles / p.costModel.clockHz) * 1e6;
  const rows = eventRows(p, cls, key);
  const totalCount = rows.reduce((a, r) => a + r.count, 0);
  const totalCycles = rows.reduce((a, r) => a + r.cycles, 0);

  let out = '\n\n';
  out += `Analyze events for all VMs, ${p.run.filters.vcpu === null ? 'all VCPUs' : `VCPU ${p.run.filters.vcpu}`}:\n\n`;
  out += `${s(EVENT_TITLES[cls], 20)} ${s('Samples', 10)} ${s('Samples%', 9)} ${s('Time%', 9)} ${s('Min Time', 11)} ${s('Max Time', 11)} ${s('Avg time', 16)} \n\n`;
  for (const r of rows) {
    out += `${s(r.label, 20)} ${s(String(r.count), 10)} ${f(pct(r.count, totalCount), 8)}% ${f(pct(r.cycles, totalCycles), 8)}% ` +
      `${f(us(r.minCycles), 9)}us ${f(us(r.maxCycles), 9)}us ${f(us(r.avgCycles), 9)}us ( +-${f(relStddevPercent(r), 7)}% )\n`;
  }
  out += `\nTotal Samples:${totalCount}, Total events handled time:${us(totalCycles).toFixed(2)}us.\n\n`;
  if (options.details === false) return out;
  return out + formatRunDetails(p);
}

/** The cost model, the run's split and the per-generation table (text). */
export function formatRunDetails(p: Profile): string {
  const m = p.costModel, t = p.totals;
  const lines: string[] = [];
  const filters: string[] = [];
  if (p.run.filters.vcpu !== null) filters.push(`vCPU ${p.run.filters.vcpu}`);
  if (p.run.filters.ripRange !== null) filters.push(`RIP in ${formatRipRange(p.run.filters.ripRange)} (end exclusive)`);
  if (filters.length > 0) lines.push(`Counted: ${filters.join(', ')}; ${t.filteredOut} exits filtered out.`);
  lines.push(`Times are modelled: ${m.generation} round trip ${m.roundTrip.cycles} cycles` +
    `${m.roundTrip.estimate ? ' (ESTIMATE)' : ''} + handler cycles (cost table), at ${(m.clockHz / 1e9).toFixed(2)} GHz.`);
  lines.push(`Guest ${group(p.run.guestInstructions)} instructions x CPI ${m.cpi} = ${group(t.guestCycles)} cycles; ` +
    `exits ${group(t.exits)} = ${group(t.exitCycles)} cycles (transition ${group(t.transitionCycles)}, handler ${group(t.handlerCycles)}); ` +
    `overhead ${t.overheadPercent.toFixed(2)}% of guest time (${t.exitSharePercent.toFixed(2)}% of the run).`);
  if (t.rejected > 0) lines.push(`${t.rejected} events refused (reason or vCPU out of range).`);
  lines.push('', formatGenerationTable(p));
  return `${lines.join('\n')}\n`;
}

/** The run re-costed on every generation, side by side; estimates and warnings marked. */
export function formatGenerationTable(p: Profile): string {
  const head = `${'generation'.padEnd(14)} ${s('round trip', 12)} ${s('exit cycles', 16)} ${s('total cycles', 16)} ${s('overhead', 9)} ${s('time', 12)}`;
  const lines = [head];
  const notes: string[] = [];
  for (const g of p.generations) {
    const mark = g.roundTrip.estimate ? '*' : ' ';
    const warn = g.warnings.length > 0 ? ' !' : '';
    lines.push(`${g.generation.padEnd(14)} ${s(`${g.roundTrip.cycles}${mark}`, 12)} ${s(group(g.exitCycles), 16)} ${s(group(g.totalCycles), 16)} ` +
      `${f(g.overheadPercent, 8)}% ${f(g.timeNs / 1e6, 10, 3)}ms${warn}`);
    for (const w of g.warnings) notes.push(`! ${g.generation}: ${w}`);
  }
  lines.push('* estimate: no published round-trip figure for this generation (see the source in the profile JSON).');
  if (notes.length > 0) lines.push('! the generation lacks something this run used:');
  return `${[...lines, ...notes].join('\n')}\n`;
}
