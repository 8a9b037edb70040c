// The whole profile of a run as one JSON document (`vmxlab run --profile out.json`), versioned
// and described by profile.schema.json. Every report (perf table, CSV, compare) reads this
// form, so a saved profile gives the same reports as a live recorder.
import { FEATURE_NAMES, type VmxFeature } from '../vmx/features';
import { costOnEveryGeneration, costRun, type HandlerEntry, type RunCost } from './cost-model';
import { featuresUsed } from './feature-use';
import { validateJson, type JsonSchema } from './json-schema';
import schemaJson from './profile.schema.json';
import type { ExitRecorder } from './recorder';
import { reasonName } from './reasons';
import { mergeStats, stddevOf, type StatsView } from './stats';
import { SUBKEY_DECODERS, type SubkeyKind } from './subkey';
import type { RipRange } from './filters';
import type { CostBasis } from './handler-costs';
import type { TransitionCost } from './transition-costs';

export const PROFILE_SCHEMA_VERSION = 1;
/** The JSON Schema of the profile (profile.schema.json). */
export const PROFILE_SCHEMA: JsonSchema = schemaJson as JsonSchema;

/** Counts and modelled cycles of a set of exits (schema `$defs/stats`). */
export interface ProfileStats {
  readonly count: number;
  /** handlerCycles + transitionCycles. */
  readonly cycles: number;
  readonly handlerCycles: number;
  readonly transitionCycles: number;
  readonly minCycles: number;
  readonly maxCycles: number;
  readonly avgCycles: number;
  /** Sample standard deviation of the per-exit cycles. */
  readonly stddevCycles: number;
  readonly instructionsEmulated: number;
  readonly interruptsInjected: number;
}

export interface ReasonEntry extends ProfileStats { readonly reason: number; readonly name: string }
export interface SubkeyEntry extends ProfileStats {
  readonly reason: number;
  readonly name: string;
  readonly kind: SubkeyKind;
  readonly key: number;
  readonly label: string;
  /** Kind-specific fields: port/direction/size/string/rep, msr/access, cr/access, ... */
  readonly [field: string]: number | string | boolean | null;
}
export interface RipEntry extends ProfileStats {
  readonly rip: number;
  readonly reasons: readonly { readonly reason: number; readonly name: string; readonly count: number; readonly cycles: number }[];
}
export interface DeviceEntry extends ProfileStats { readonly device: string }
export interface VcpuEntry extends ProfileStats { readonly vcpu: number }
export interface Figure { readonly cycles: number; readonly basis: CostBasis | 'user'; readonly source: string }

/** A RunCost as the JSON profile holds it (generation names are plain strings when read back). */
export interface GenerationCost extends Omit<RunCost, 'generation'> { readonly generation: string }

export interface RecentEntry {
  readonly vcpu: number; readonly timeNs: number; readonly modelledNs: number; readonly reason: number;
  readonly name: string; readonly entryFailure: boolean; readonly qualification: number; readonly guestRip: number;
  readonly instructionLength: number; readonly instructionInfo: number; readonly guestPhysical: number;
  readonly guestLinear: number; readonly exitInterruptionInfo: number; readonly exitInterruptionErrorCode: number;
  readonly idtVectoringInfo: number; readonly idtVectoringErrorCode: number; readonly ecx: number; readonly eax: number;
  readonly device: string | null; readonly instructionsEmulated: number; readonly interruptsInjected: number;
  readonly cycles: number; readonly subkey: number | null; readonly label: string | null;
}

/** The shadow MMU's counters (the VMM's ShadowStats, src/core/vmm/shadow/stats.ts: the same
 *  fields, declared here because the profiler sits below the VMM). */
export interface ShadowFigures {
  readonly shadowPages: number;
  readonly peakShadowPages: number;
  readonly faultsFixed: number;
  readonly faultsInjected: number;
  readonly writeProtectFaults: number;
  readonly mmioFaults: number;
  readonly evictions: number;
  readonly rootsCached: number;
  readonly rootHits: number;
  readonly rootMisses: number;
}

/** How the VMM mapped guest memory in a hosted run, and what shadow paging cost (issue 6). */
export interface ProfilePaging {
  readonly mode: 'ept' | 'shadow';
  /** Null with EPT. */
  readonly shadow: ShadowFigures | null;
  /** Real-mode code the VMM emulated in batches (also counted in totals.instructionsEmulated);
   *  null with EPT. */
  readonly emulation: { readonly instructions: number; readonly batches: number } | null;
}

export interface Profile {
  readonly schemaVersion: 1;
  readonly generator: 'vmxlab';
  readonly run: {
    readonly image: string | null;
    readonly mode: string | null;
    readonly generation: string;
    readonly guestInstructions: number;
    readonly virtualTimeNs: number | null;
    readonly vcpus: number | null;
    readonly filters: { readonly vcpu: number | null; readonly ripRange: RipRange | null };
    readonly featuresUsed: readonly string[];
    readonly ringSize: number;
    readonly binCount: number;
  };
  readonly costModel: {
    readonly generation: string;
    readonly clockHz: number;
    readonly cpi: number;
    readonly roundTrip: TransitionCost;
    readonly perEmulatedInstruction: Figure;
    readonly perInjectedInterrupt: Figure;
    readonly handlers: readonly HandlerEntry[];
  };
  readonly totals: {
    readonly exits: number; readonly filteredOut: number; readonly rejected: number; readonly entryFailures: number;
    readonly droppedSubkeys: number; readonly droppedRips: number;
    readonly instructionsEmulated: number; readonly interruptsInjected: number;
    readonly guestCycles: number; readonly transitionCycles: number; readonly handlerCycles: number;
    readonly exitCycles: number; readonly totalCycles: number; readonly overheadPercent: number;
    readonly exitSharePercent: number; readonly timeNs: number;
  };
  readonly reasons: readonly ReasonEntry[];
  readonly subkeys: readonly SubkeyEntry[];
  readonly rips: readonly RipEntry[];
  readonly devices: readonly DeviceEntry[];
  readonly vcpus: readonly VcpuEntry[];
  readonly timeSeries: {
    readonly binWidthNs: number;
    readonly bins: readonly {
      readonly startNs: number; readonly count: number; readonly cycles: number; readonly handlerCycles: number;
      readonly reasons: readonly { readonly reason: number; readonly count: number }[];
    }[];
  };
  readonly generations: readonly GenerationCost[];
  readonly recent: readonly RecentEntry[];
  /** Hosted runs: EPT or shadow paging; null in bare mode; absent in older profiles. */
  readonly paging?: ProfilePaging | null;
}

/** What the recorder cannot know about the run: the caller supplies it. */
export interface RunInfo {
  /** Guest instructions retired in VMX non-root operation by the vCPUs counted (with --vcpu N,
   *  that vCPU's). Needed for guest cycles and the overhead. */
  readonly guestInstructions: number;
  readonly image?: string;
  readonly mode?: string;
  /** Virtual time at the end of the run, ns. */
  readonly virtualTimeNs?: number;
  readonly vcpus?: number;
  /** VMX features the VMM enabled that no exit shows (unrestricted guest, VPID, ...). */
  readonly featuresUsed?: readonly VmxFeature[];
  /** Hosted runs: the VMM's paging mode and shadow-paging counters (HostedVm.shadowStats,
   *  HostedVm.emulation). */
  readonly paging?: ProfilePaging | null;
}

/** ProfileStats of `s` with the round trip `t` added to every exit. */
export function profileStats(s: StatsView, t: number): ProfileStats {
  const n = s.count;
  return {
    count: n,
    cycles: s.handlerSum + n * t,
    handlerCycles: s.handlerSum,
    transitionCycles: n * t,
    minCycles: n > 0 ? s.handlerMin + t : 0,
    maxCycles: n > 0 ? s.handlerMax + t : 0,
    avgCycles: n > 0 ? s.handlerSum / n + t : 0,
    stddevCycles: stddevOf(s),
    instructionsEmulated: s.instructionsEmulated,
    interruptsInjected: s.interruptsInjected,
  };
}

/** Builds the profile of what `rec` recorded. */
export function buildProfile(rec: ExitRecorder, info: RunInfo): Profile {
  if (!(info.guestInstructions >= 0)) throw new Error(`profile: guestInstructions must be a number >= 0, got ${info.guestInstructions}`);
  const model = rec.cost;
  const t = model.transition.cycles;
  const run = rec.runTotals(info.guestInstructions);
  const reported = info.featuresUsed ?? [];
  const here = costRun(model, run, model.generation, reported);
  const used = featuresUsed(run.reasonsWithExits, reported);

  const reasons: ReasonEntry[] = rec.reasonStats().map((k) => ({ reason: k.reason, name: reasonName(k.reason), ...profileStats(k.stats, t) }));

  const subkeys: SubkeyEntry[] = rec.subkeyStatsList()
    .sort((a, b) => a.reason - b.reason || a.key - b.key)
    .map((k) => {
      const d = SUBKEY_DECODERS.get(k.reason)!;
      return {
        reason: k.reason, name: reasonName(k.reason), kind: d.kind, key: k.key, label: d.label(k.key, k.reason),
        ...d.fields(k.key, k.reason), ...profileStats(k.stats, t),
      };
    });

  // Per RIP: the (reason, RIP) aggregates grouped by RIP.
  const byRip = new Map<number, { stats: StatsView[]; reasons: { reason: number; name: string; count: number; cycles: number }[] }>();
  for (const k of rec.ripStatsList()) {
    let g = byRip.get(k.key);
    if (g === undefined) { g = { stats: [], reasons: [] }; byRip.set(k.key, g); }
    g.stats.push(k.stats);
    g.reasons.push({ reason: k.reason, name: reasonName(k.reason), count: k.stats.count, cycles: k.stats.handlerSum + k.stats.count * t });
  }
  const rips: RipEntry[] = [...byRip.entries()].sort((a, b) => a[0] - b[0]).map(([rip, g]) => ({
    rip,
    ...profileStats(g.stats.reduce((a, b) => mergeStats(a, b)), t),
    reasons: g.reasons.sort((a, b) => a.reason - b.reason),
  }));

  const devices: DeviceEntry[] = rec.deviceStatsList().map((d) => ({ device: d.device, ...profileStats(d.stats, t) }));
  const vcpus: VcpuEntry[] = rec.vcpuStatsList().map((v) => ({ vcpu: v.key, ...profileStats(v.stats, t) }));

  const bins = rec.series.bins().map((b) => ({
    startNs: b.startNs, count: b.count, cycles: b.handlerCycles + b.count * t, handlerCycles: b.handlerCycles,
    reasons: b.reasons.map((r) => ({ reason: r.reason, count: r.count })),
  }));

  const recent: RecentEntry[] = rec.recent().map((e) => {
    const d = SUBKEY_DECODERS.get(e.reason);
    return {
      vcpu: e.vcpu, timeNs: e.timeNs, modelledNs: e.modelledNs, reason: e.reason, name: reasonName(e.reason),
      entryFailure: e.entryFailure, qualification: e.qualification, guestRip: e.guestRip,
      instructionLength: e.instructionLength, instructionInfo: e.instructionInfo, guestPhysical: e.guestPhysical,
      guestLinear: e.guestLinear, exitInterruptionInfo: e.exitInterruptionInfo,
      exitInterruptionErrorCode: e.exitInterruptionErrorCode, idtVectoringInfo: e.idtVectoringInfo,
      idtVectoringErrorCode: e.idtVectoringErrorCode, ecx: e.ecx, eax: e.eax, device: rec.deviceName(e.device),
      instructionsEmulated: e.instructionsEmulated, interruptsInjected: e.interruptsInjected,
      cycles: e.handlerCycles + t, subkey: e.subkey >= 0 ? e.subkey : null,
      label: d !== undefined && e.subkey >= 0 ? d.label(e.subkey, e.reason) : null,
    };
  });

  const work = model.workCosts();
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    generator: 'vmxlab',
    run: {
      image: info.image ?? null,
      mode: info.mode ?? null,
      generation: model.generation,
      guestInstructions: info.guestInstructions,
      virtualTimeNs: info.virtualTimeNs ?? null,
      vcpus: info.vcpus ?? null,
      filters: { vcpu: rec.filter.vcpu, ripRange: rec.filter.ripRange === null ? null : { start: rec.filter.ripRange.start, end: rec.filter.ripRange.end } },
      featuresUsed: [...used].sort((a, b) => a - b).map((f) => FEATURE_NAMES.get(f) ?? `feature ${f}`),
      ringSize: rec.ring.capacity,
      binCount: rec.series.binCount,
    },
    costModel: {
      generation: model.generation,
      clockHz: model.clockHz,
      cpi: model.cpi,
      roundTrip: { ...model.transition },
      perEmulatedInstruction: { ...work.perEmulatedInstruction },
      perInjectedInterrupt: { ...work.perInjectedInterrupt },
      handlers: model.handlerTable(),
    },
    totals: {
      exits: rec.exits, filteredOut: rec.filteredOut, rejected: rec.rejected, entryFailures: rec.entryFailures,
      droppedSubkeys: rec.droppedSubkeys, droppedRips: rec.droppedRips,
      instructionsEmulated: rec.instructionsEmulated, interruptsInjected: rec.interruptsInjected,
      guestCycles: here.guestCycles, transitionCycles: here.transitionCycles, handlerCycles: here.handlerCycles,
      exitCycles: here.exitCycles, totalCycles: here.totalCycles, overheadPercent: here.overheadPercent,
      exitSharePercent: here.exitSharePercent, timeNs: here.timeNs,
    },
    reasons,
    subkeys,
    rips,
    devices,
    vcpus,
    timeSeries: { binWidthNs: rec.series.binWidthNs, bins },
    generations: costOnEveryGeneration(model, run, reported).map((c) => ({
      generation: c.generation, title: c.title, roundTrip: { ...c.roundTrip }, guestCycles: c.guestCycles,
      transitionCycles: c.transitionCycles, handlerCycles: c.handlerCycles, exitCycles: c.exitCycles,
      totalCycles: c.totalCycles, overheadPercent: c.overheadPercent, exitSharePercent: c.exitSharePercent,
      timeNs: c.timeNs, warnings: [...c.warnings],
    })),
    recent,
    paging: info.paging === undefined || info.paging === null ? null : copyPaging(info.paging),
  };
}

/** A plain copy of `p` with exactly the schema's fields (the VMM's objects may carry more). */
function copyPaging(p: ProfilePaging): ProfilePaging {
  const s = p.shadow;
  return {
    mode: p.mode,
    shadow: s === null ? null : {
      shadowPages: s.shadowPages, peakShadowPages: s.peakShadowPages, faultsFixed: s.faultsFixed, faultsInjected: s.faultsInjected,
      writeProtectFaults: s.writeProtectFaults, mmioFaults: s.mmioFaults, evictions: s.evictions, rootsCached: s.rootsCached,
      rootHits: s.rootHits, rootMisses: s.rootMisses,
    },
    emulation: p.emulation === null ? null : { instructions: p.emulation.instructions, batches: p.emulation.batches },
  };
}

/** The profile as JSON text (2-space indentation, a final newline). */
export function profileToJson(p: Profile): string {
  return `${JSON.stringify(p, null, 2)}\n`;
}

/**
 * Parses and checks a profile written by `profileToJson` (for `vmxlab compare`). Throws an
 * Error that names `source` and says what is wrong: not JSON, another schema version, or the
 * first schema violations.
 */
export function parseProfile(text: string, source: string): Profile {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new Error(`${source}: not JSON (${(e as Error).message})`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${source}: not a vmxlab profile (expected a JSON object)`);
  const version = (v as { schemaVersion?: unknown }).schemaVersion;
  if (version === undefined) throw new Error(`${source}: not a vmxlab profile (no schemaVersion)`);
  if (version !== PROFILE_SCHEMA_VERSION) throw new Error(`${source}: profile schema version ${JSON.stringify(version)}, this vmxlab reads version ${PROFILE_SCHEMA_VERSION}`);
  const errors = validateJson(PROFILE_SCHEMA, v, 5);
  if (errors.length > 0) throw new Error(`${source}: not a valid vmxlab profile: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return v as Profile;
}
