// Per-key statistics as columns of typed arrays: count, and min/max/sum of the handler cost
// (cycles the VMM spends on the exit), with the running mean and squared deviations (Welford's
// method, as perf's util/stat.c keeps them) for a standard deviation, plus the work the VMM
// reported (instructions emulated, interrupts injected). The hardware transition cost is the
// same for every exit of a run on one generation, so it is not stored: totals add
// count x round trip, and min/max/stddev shift by it or not at all (cost-model.ts).
// In the manner of Firecracker's per-exit metrics: count plus min/max/sum, the average derived.

export interface StatsView {
  readonly count: number;
  readonly handlerSum: number;
  readonly handlerMin: number;
  readonly handlerMax: number;
  /** Sum of squared deviations from the mean (Welford's M2). */
  readonly m2: number;
  readonly instructionsEmulated: number;
  readonly interruptsInjected: number;
}

export class StatColumns {
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  mean: Float64Array;
  m2: Float64Array;
  instr: Float64Array;
  inj: Float64Array;

  constructor(capacity: number) {
    this.count = new Float64Array(capacity);
    this.sum = new Float64Array(capacity);
    this.min = new Float64Array(capacity);
    this.max = new Float64Array(capacity);
    this.mean = new Float64Array(capacity);
    this.m2 = new Float64Array(capacity);
    this.instr = new Float64Array(capacity);
    this.inj = new Float64Array(capacity);
  }

  get capacity(): number { return this.count.length; }

  /** Makes room for slot indices below `n` (doubling; only when keys are added). */
  ensure(n: number): void {
    if (n > this.count.length) this.grow(n);
  }

  // Apart from ensure(): a closure here would make V8 allocate a context on every ensure() call.
  private grow(n: number): void {
    let cap = this.count.length * 2;
    while (cap < n) cap *= 2;
    const g = (x: Float64Array): Float64Array => { const y = new Float64Array(cap); y.set(x); return y; };
    this.count = g(this.count); this.sum = g(this.sum); this.min = g(this.min); this.max = g(this.max);
    this.mean = g(this.mean); this.m2 = g(this.m2); this.instr = g(this.instr); this.inj = g(this.inj);
  }

  /** Adds one exit with handler cost `h` to slot `s`. */
  add(s: number, h: number, instructions: number, injections: number): void {
    const n = this.count[s]! + 1;
    this.count[s] = n;
    this.sum[s] += h;
    if (n === 1) { this.min[s] = h; this.max[s] = h; } else {
      if (h < this.min[s]!) this.min[s] = h;
      if (h > this.max[s]!) this.max[s] = h;
    }
    const mean = this.mean[s]!;
    const delta = h - mean;
    const m = mean + delta / n;
    this.mean[s] = m;
    this.m2[s] += delta * (h - m);
    this.instr[s] += instructions;
    this.inj[s] += injections;
  }

  /** A copy of slot `s` (report time). */
  view(s: number): StatsView {
    return {
      count: this.count[s]!, handlerSum: this.sum[s]!, handlerMin: this.min[s]!, handlerMax: this.max[s]!,
      m2: this.m2[s]!, instructionsEmulated: this.instr[s]!, interruptsInjected: this.inj[s]!,
    };
  }
}

export const EMPTY_STATS: StatsView = {
  count: 0, handlerSum: 0, handlerMin: 0, handlerMax: 0, m2: 0, instructionsEmulated: 0, interruptsInjected: 0,
};

/** Two sets of statistics as one (Chan et al.'s parallel form of Welford's method for M2). */
export function mergeStats(x: StatsView, y: StatsView): StatsView {
  if (x.count === 0) return y;
  if (y.count === 0) return x;
  const n = x.count + y.count;
  const delta = y.handlerSum / y.count - x.handlerSum / x.count;
  return {
    count: n,
    handlerSum: x.handlerSum + y.handlerSum,
    handlerMin: Math.min(x.handlerMin, y.handlerMin),
    handlerMax: Math.max(x.handlerMax, y.handlerMax),
    m2: x.m2 + y.m2 + (delta * delta * x.count * y.count) / n,
    instructionsEmulated: x.instructionsEmulated + y.instructionsEmulated,
    interruptsInjected: x.interruptsInjected + y.interruptsInjected,
  };
}

/** Sample standard deviation of the per-exit cost (0 with fewer than two exits). */
export function stddevOf(s: StatsView): number {
  return s.count < 2 ? 0 : Math.sqrt(Math.max(0, s.m2) / (s.count - 1));
}
