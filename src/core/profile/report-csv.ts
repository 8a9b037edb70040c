// `vmxlab run --report csv`: the rows of the perf-style table as CSV (RFC 4180: comma
// separated, a header line, fields with commas, quotes or line breaks quoted, quotes doubled).
import { eventRows, relStddevPercent, type EventClass, type SortKey } from './event-rows';
import type { Profile } from './profile-json';

export const CSV_COLUMNS = [
  'event', 'samples', 'samples_percent', 'time_percent', 'min_time_us', 'max_time_us', 'avg_time_us',
  'stddev_percent', 'cycles',
] as const;

export function csvField(v: string | number): string {
  const t = String(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export function formatCsvReport(p: Profile, options: { event?: EventClass; key?: SortKey } = {}): string {
  const rows = eventRows(p, options.event ?? 'vmexit', options.key ?? 'sample');
  const us = (cycles: number): string => ((cycles / p.costModel.clockHz) * 1e6).toFixed(4);
  const totalCount = rows.reduce((a, r) => a + r.count, 0);
  const totalCycles = rows.reduce((a, r) => a + r.cycles, 0);
  const pct = (x: number, whole: number): string => (whole > 0 ? ((x / whole) * 100).toFixed(4) : '0');
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push([
      csvField(r.label), r.count, pct(r.count, totalCount), pct(r.cycles, totalCycles), us(r.minCycles), us(r.maxCycles),
      us(r.avgCycles), relStddevPercent(r).toFixed(4), r.cycles,
    ].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
