// The cost model: what one exit costs (hardware round trip of the generation + what the VMM
// spends on it) and what a run costs (guest instructions at a CPI, plus its exits), in cycles
// and, at a clock frequency, in time. The same recorded run can be re-costed on every
// generation: the handler costs do not depend on the generation (vmxlab models the VMM's work
// in cycles), so only count x round trip changes from one to the next.
import { ExitReason } from '../vmx/exit-reasons';
import { DEFAULT_GENERATION, GENERATION_NAMES, findGeneration, type GenerationName } from '../vmx/generations';
import type { VmxFeature } from '../vmx/features';
import type { ExitEvent } from './exit-event';
import { featureWarnings, featuresUsed } from './feature-use';
import {
  DEFAULT_HANDLER_COST, DEFAULT_HANDLER_COSTS, PER_EMULATED_INSTRUCTION, PER_INJECTED_INTERRUPT, type CostBasis,
  type HandlerCost,
} from './handler-costs';
import { ALL_REASONS, REASON_SLOTS, isReasonSlot, reasonName } from './reasons';
import { TRANSITION_COSTS, type TransitionCost } from './transition-costs';

/** What the user may set; everything is optional. */
export interface CostSettings {
  /** The generation the run is costed on (default: vmx/generations DEFAULT_GENERATION). */
  readonly generation?: GenerationName;
  /** Core clock, Hz, to turn cycles into time (default 3 GHz: an estimate, a typical desktop clock). */
  readonly clockHz?: number;
  /** Guest cycles per guest instruction (default 1.0: an estimate for integer code on the
   *  out-of-order cores of this table). */
  readonly cpi?: number;
  /** Handler cycles per basic exit reason, replacing the defaults (handler-costs.ts). */
  readonly handlerCycles?: ReadonlyMap<number, number>;
  /** Cycles per instruction the VMM emulates (default PER_EMULATED_INSTRUCTION). */
  readonly perEmulatedInstruction?: number;
  /** Cycles per interrupt the VMM injects (default PER_INJECTED_INTERRUPT). */
  readonly perInjectedInterrupt?: number;
}

export const DEFAULT_CLOCK_HZ = 3e9;
export const DEFAULT_CPI = 1;

/** One row of the handler table as the profile reports it. */
export interface HandlerEntry {
  readonly reason: number;
  readonly name: string;
  readonly cycles: number;
  readonly basis: CostBasis | 'user';
  readonly source: string;
}

function checkCycles(v: number, what: string): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`cost model: ${what} must be a finite number of cycles >= 0, got ${v}`);
  return v;
}

export class CostModel {
  readonly generation: GenerationName;
  readonly clockHz: number;
  readonly cpi: number;
  /** The generation's round trip (transition-costs.ts). */
  readonly transition: TransitionCost;
  /** Handler cycles by basic reason (typed array: the recorder's hot path). */
  readonly handlerBase = new Float64Array(REASON_SLOTS);
  readonly perInstruction: number;
  readonly perInjection: number;
  private readonly overridden = new Set<number>();
  private readonly userPerInstruction: boolean;
  private readonly userPerInjection: boolean;

  constructor(settings: CostSettings = {}) {
    const gen = settings.generation ?? DEFAULT_GENERATION;
    if (findGeneration(gen) === undefined) throw new Error(`cost model: unknown generation '${gen}' (one of ${GENERATION_NAMES.join(', ')})`);
    this.generation = gen;
    this.clockHz = settings.clockHz ?? DEFAULT_CLOCK_HZ;
    if (!(this.clockHz > 0) || !Number.isFinite(this.clockHz)) throw new Error(`cost model: clock must be a positive frequency in Hz, got ${settings.clockHz}`);
    this.cpi = settings.cpi ?? DEFAULT_CPI;
    if (!(this.cpi > 0) || !Number.isFinite(this.cpi)) throw new Error(`cost model: CPI must be positive, got ${settings.cpi}`);
    this.transition = TRANSITION_COSTS[gen];
    this.handlerBase.fill(DEFAULT_HANDLER_COST.cycles);
    for (const [r, c] of DEFAULT_HANDLER_COSTS) this.handlerBase[r] = c.cycles;
    for (const [r, c] of settings.handlerCycles ?? []) {
      if (!isReasonSlot(r)) throw new Error(`cost model: ${r} is not a basic exit reason (0..${REASON_SLOTS - 1})`);
      this.handlerBase[r] = checkCycles(c, `the handler cost of ${reasonName(r)}`);
      this.overridden.add(r);
    }
    this.perInstruction = checkCycles(settings.perEmulatedInstruction ?? PER_EMULATED_INSTRUCTION.cycles, 'the cost per emulated instruction');
    this.perInjection = checkCycles(settings.perInjectedInterrupt ?? PER_INJECTED_INTERRUPT.cycles, 'the cost per injected interrupt');
    this.userPerInstruction = settings.perEmulatedInstruction !== undefined;
    this.userPerInjection = settings.perInjectedInterrupt !== undefined;
  }

  /** Handler cycles of one exit: the reason's figure plus the work the VMM reported. */
  handlerCycles(ev: ExitEvent): number {
    return this.handlerBase[ev.reason]! + this.perInstruction * ev.instructionsEmulated + this.perInjection * ev.interruptsInjected;
  }

  /** Round-trip cycles on `gen` (this model's generation by default). */
  roundTrip(gen: GenerationName = this.generation): number {
    return TRANSITION_COSTS[gen].cycles;
  }

  /** Cycles -> ns at this model's clock. */
  cyclesToNs(cycles: number): number {
    return (cycles * 1e9) / this.clockHz;
  }

  /** The handler table in use, every named reason, with where each figure comes from. */
  handlerTable(): HandlerEntry[] {
    return ALL_REASONS.map((r) => this.handlerEntry(r));
  }

  handlerEntry(r: ExitReason): HandlerEntry {
    if (this.overridden.has(r)) return { reason: r, name: reasonName(r), cycles: this.handlerBase[r]!, basis: 'user', source: 'set by the user' };
    const d: HandlerCost = DEFAULT_HANDLER_COSTS.get(r) ?? DEFAULT_HANDLER_COST;
    return { reason: r, name: reasonName(r), cycles: d.cycles, basis: d.basis, source: d.source };
  }

  /** The per-instruction and per-injection figures with their sources. */
  workCosts(): { perEmulatedInstruction: HandlerCost | UserCost; perInjectedInterrupt: HandlerCost | UserCost } {
    return {
      perEmulatedInstruction: this.userPerInstruction ? user(this.perInstruction) : PER_EMULATED_INSTRUCTION,
      perInjectedInterrupt: this.userPerInjection ? user(this.perInjection) : PER_INJECTED_INTERRUPT,
    };
  }
}

export interface UserCost { readonly cycles: number; readonly basis: 'user'; readonly source: string }
const user = (cycles: number): UserCost => ({ cycles, basis: 'user', source: 'set by the user' });

/** What a run's exits add up to (from the recorder's totals). */
export interface RunTotals {
  /** Exits recorded (after filters). */
  readonly exits: number;
  /** Sum of handler cycles over those exits. */
  readonly handlerCycles: number;
  /** Guest instructions retired in VMX non-root operation (by the vCPUs counted). */
  readonly guestInstructions: number;
  /** Basic reasons that had at least one exit. */
  readonly reasonsWithExits: readonly number[];
}

/** A run costed on one generation. */
export interface RunCost {
  readonly generation: GenerationName;
  readonly title: string;
  /** The round trip used for every exit, with its estimate flag and source. */
  readonly roundTrip: TransitionCost;
  readonly guestCycles: number;
  /** exits x round trip. */
  readonly transitionCycles: number;
  readonly handlerCycles: number;
  /** transition + handler. */
  readonly exitCycles: number;
  /** guest + exit. */
  readonly totalCycles: number;
  /** Slowdown against running the guest instructions natively: exit / guest x 100. */
  readonly overheadPercent: number;
  /** Share of the run spent in exits: exit / total x 100. */
  readonly exitSharePercent: number;
  /** totalCycles at the model's clock, ns. */
  readonly timeNs: number;
  /** Features the run used that this generation lacks (feature-use.ts). */
  readonly warnings: readonly string[];
}

/** Costs `run` on `gen` with `model`'s handler figures, CPI and clock. */
export function costRun(model: CostModel, run: RunTotals, gen: GenerationName = model.generation,
  reportedFeatures: Iterable<VmxFeature> = []): RunCost {
  const roundTrip = TRANSITION_COSTS[gen];
  const guestCycles = run.guestInstructions * model.cpi;
  const transitionCycles = run.exits * roundTrip.cycles;
  const exitCycles = transitionCycles + run.handlerCycles;
  const totalCycles = guestCycles + exitCycles;
  return {
    generation: gen,
    title: findGeneration(gen)?.title ?? gen,
    roundTrip,
    guestCycles,
    transitionCycles,
    handlerCycles: run.handlerCycles,
    exitCycles,
    totalCycles,
    overheadPercent: guestCycles > 0 ? (exitCycles / guestCycles) * 100 : 0,
    exitSharePercent: totalCycles > 0 ? (exitCycles / totalCycles) * 100 : 0,
    timeNs: model.cyclesToNs(totalCycles),
    warnings: featureWarnings(gen, featuresUsed(run.reasonsWithExits, reportedFeatures)),
  };
}

/** The same run on every generation, in table order. */
export function costOnEveryGeneration(model: CostModel, run: RunTotals, reportedFeatures: Iterable<VmxFeature> = []): RunCost[] {
  const reported = [...reportedFeatures];
  return GENERATION_NAMES.map((g) => costRun(model, run, g, reported));
}

/**
 * Parses handler-cost overrides as a user writes them: `Cpuid=1000,IO_INSTRUCTION=800,30=900`
 * (reason by enum name, perf-style name or number), plus `emulated=N` and `injected=N`.
 * Throws an Error naming the bad item.
 */
export function parseCostOverrides(text: string): Pick<CostSettings, 'handlerCycles' | 'perEmulatedInstruction' | 'perInjectedInterrupt'> {
  const handlerCycles = new Map<number, number>();
  let perEmulatedInstruction: number | undefined;
  let perInjectedInterrupt: number | undefined;
  const byName = new Map<string, number>();
  for (const r of ALL_REASONS) {
    byName.set(reasonName(r).toLowerCase(), r);
    byName.set(reasonName(r).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(), r);
  }
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z_0-9]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)$/.exec(item);
    if (!m) throw new Error(`cost override '${item}': expected REASON=CYCLES (e.g. Cpuid=1000)`);
    const key = m[1]!.toLowerCase(), cycles = Number(m[2]);
    if (key === 'emulated') { perEmulatedInstruction = cycles; continue; }
    if (key === 'injected') { perInjectedInterrupt = cycles; continue; }
    const r = /^[0-9]+$/.test(key) ? Number(key) : byName.get(key);
    if (r === undefined || !isReasonSlot(r)) throw new Error(`cost override '${item}': unknown exit reason '${m[1]}'`);
    handlerCycles.set(r, cycles);
  }
  return { handlerCycles, perEmulatedInstruction, perInjectedInterrupt };
}
