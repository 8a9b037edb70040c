// What `vmxlab run` calls at the end of a profiled run: every requested report from one
// recorder, as text for the caller to print or write (this module touches no file).
import { type EventClass, type SortKey } from './event-rows';
import { buildProfile, profileToJson, type Profile, type RunInfo } from './profile-json';
import type { ExitRecorder } from './recorder';
import { formatCsvReport } from './report-csv';
import { formatPerfReport } from './report-perf';
import { buildTrace, traceToJson } from './trace';

export const REPORT_KINDS = ['perf', 'csv'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface ReportOptions {
  /** `--report perf|csv`: the table to print, or none. */
  readonly report?: ReportKind | null;
  /** `--event` (default vmexit) and `--key` (default sample). */
  readonly event?: EventClass;
  readonly key?: SortKey;
  /** `--profile FILE` was given: produce the profile JSON. */
  readonly profile?: boolean;
  /** `--trace FILE` was given: produce the Chrome trace JSON. */
  readonly trace?: boolean;
  /** What the recorder cannot know (guest instructions, image, ...). */
  readonly run: RunInfo;
}

export interface Reports {
  /** The profile every report was made from. */
  readonly profile: Profile;
  /** The perf-style table or the CSV, or null. */
  readonly text: string | null;
  readonly profileJson: string | null;
  readonly traceJson: string | null;
}

export function buildReports(recorder: ExitRecorder, options: ReportOptions): Reports {
  const profile = buildProfile(recorder, options.run);
  const report = options.report ?? null;
  const text = report === 'perf' ? formatPerfReport(profile, { event: options.event, key: options.key })
    : report === 'csv' ? formatCsvReport(profile, { event: options.event, key: options.key })
      : null;
  return {
    profile,
    text,
    profileJson: options.profile === true ? profileToJson(profile) : null,
    traceJson: options.trace === true ? traceToJson(buildTrace(profile)) : null,
  };
}
