// The exit profiler: every VM exit counted, attributed and costed per CPU generation.
// Hook: the VMM fills an ExitEvent per exit (VMX exit fields, then what it did) and calls
// `recorder.record(ev)` before VM entry. Reports: buildReports (reports.ts).
export { ExitEvent } from './exit-event';
export { ExitRecorder, type RecorderOptions, type KeyedStats } from './recorder';
export { CostModel, costRun, costOnEveryGeneration, parseCostOverrides, type CostSettings, type RunCost } from './cost-model';
export { TRANSITION_COSTS, type TransitionCost } from './transition-costs';
export { SUBKEY_DECODERS, subkeyOf, type SubkeyDecoder, type SubkeyKind } from './subkey';
export { parseRipRange, parseVcpu, type ExitFilter, type RipRange } from './filters';
export { buildProfile, parseProfile, profileToJson, PROFILE_SCHEMA, PROFILE_SCHEMA_VERSION, type Profile, type ProfilePaging, type RunInfo, type ShadowFigures } from './profile-json';
export { EVENT_CLASSES, SORT_KEYS, eventRows, type EventClass, type SortKey } from './event-rows';
export { formatPerfReport, formatGenerationTable } from './report-perf';
export { formatCsvReport } from './report-csv';
export { buildTrace, traceToJson } from './trace';
export { compareProfiles, formatCompare, type CompareBy } from './compare';
export { comparePaging, pagingFigures, pagingModeLabel, PAGING_ROWS, type PagingComparison, type PagingFigures, type PagingRow } from './paging';
export { buildReports, type ReportOptions, type Reports } from './reports';
export {
  PROFILE_FLAGS_USAGE, defaultProfileOptions, profilingRequested, recorderFor, takeProfileFlag, type ProfileCliOptions,
} from './profile-options';
export { validateJson, type JsonSchema, type SchemaError } from './json-schema';
