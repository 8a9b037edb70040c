// The profiling flags of `vmxlab run`, parsed in one place so run.ts needs one call in its
// argument loop (`if (takeProfileFlag(o.profiling, arg, next)) continue;`), one to build the
// recorder and one for the reports:
//   --report perf|csv   --profile FILE   --trace FILE   --event vmexit|ioport|mmio|msr|cr|exception
//   --key sample|time   --vcpu N   --rip-range A-B   --ring-size N
//   --handler-cost Cpuid=1000,IoInstruction=800,emulated=400,injected=150
//   --clock-ghz F   --cpi F
// Errors are plain Errors with the flag named (run.ts turns them into usage errors).
import type { GenerationName } from '../vmx/generations';
import { parseCostOverrides, type CostSettings } from './cost-model';
import { parseEventClass, parseSortKey, type EventClass, type SortKey } from './event-rows';
import { parseRipRange, parseVcpu, type RipRange } from './filters';
import { ExitRecorder } from './recorder';
import { REPORT_KINDS, type ReportKind } from './reports';

export interface ProfileCliOptions {
  report: ReportKind | null;
  profileFile: string | null;
  traceFile: string | null;
  event: EventClass;
  key: SortKey;
  vcpu: number | null;
  ripRange: RipRange | null;
  ringSize: number | null;
  cost: Pick<CostSettings, 'handlerCycles' | 'perEmulatedInstruction' | 'perInjectedInterrupt'>;
  clockHz: number | null;
  cpi: number | null;
}

export function defaultProfileOptions(): ProfileCliOptions {
  return {
    report: null, profileFile: null, traceFile: null, event: 'vmexit', key: 'sample', vcpu: null, ripRange: null,
    ringSize: null, cost: {}, clockHz: null, cpi: null,
  };
}

/** Usage text for the flags above. */
export const PROFILE_FLAGS_USAGE =
  '[--report perf|csv] [--profile FILE] [--trace FILE] [--event vmexit|ioport|mmio|msr|cr|exception]\n' +
  '           [--key sample|time] [--vcpu N] [--rip-range A-B] [--ring-size N] [--handler-cost R=C,...]\n' +
  '           [--clock-ghz F] [--cpi F]';

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${flag}: a positive number, got '${text}'`);
  return n;
}

/**
 * Applies `flag` to `o` if it is a profiling flag, reading its value with `value()`; returns
 * whether it was one. Throws an Error naming the flag for a bad value.
 */
export function takeProfileFlag(o: ProfileCliOptions, flag: string, value: () => string): boolean {
  switch (flag) {
    case '--report': {
      const v = value();
      const k = REPORT_KINDS.find((r) => r === v);
      if (k === undefined) throw new Error(`--report: one of ${REPORT_KINDS.join(', ')}, got '${v}'`);
      o.report = k;
      return true;
    }
    case '--profile': o.profileFile = value(); return true;
    case '--trace': o.traceFile = value(); return true;
    case '--event': o.event = parseEventClass(value()); return true;
    case '--key': o.key = parseSortKey(value()); return true;
    case '--vcpu': o.vcpu = parseVcpu(value()); return true;
    case '--rip-range': o.ripRange = parseRipRange(value()); return true;
    case '--ring-size': {
      const v = value(), n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 1 << 24) throw new Error(`--ring-size: a whole number from 0 to ${1 << 24}, got '${v}'`);
      o.ringSize = n;
      return true;
    }
    case '--handler-cost': o.cost = parseCostOverrides(value()); return true;
    case '--clock-ghz': o.clockHz = positive(value(), '--clock-ghz') * 1e9; return true;
    case '--cpi': o.cpi = positive(value(), '--cpi'); return true;
    default: return false;
  }
}

/** Whether any output of the profiler was asked for (else run.ts need not record at all). */
export function profilingRequested(o: ProfileCliOptions): boolean {
  return o.report !== null || o.profileFile !== null || o.traceFile !== null;
}

/** The recorder for a run on `generation` with these options. */
export function recorderFor(o: ProfileCliOptions, generation: GenerationName): ExitRecorder {
  return new ExitRecorder({
    cost: {
      generation, ...o.cost,
      ...(o.clockHz !== null ? { clockHz: o.clockHz } : {}),
      ...(o.cpi !== null ? { cpi: o.cpi } : {}),
    },
    filter: { vcpu: o.vcpu, ripRange: o.ripRange },
    ...(o.ringSize !== null ? { ringSize: o.ringSize } : {}),
  });
}
