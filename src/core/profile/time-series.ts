// Exits over virtual time in a bounded number of bins of equal width, starting at time 0. When
// an exit falls past the last bin, neighbouring bins are merged pairwise and the width doubles
// (as sampling profilers keep a fixed-size timeline), as often as needed: memory stays
// binCount x (2 + REASON_SLOTS) numbers however long the run.
import { REASON_SLOTS } from './reasons';

export interface TimeSeriesBin {
  readonly startNs: number;
  readonly count: number;
  /** Handler cycles of the bin's exits (the transition cost is count x round trip). */
  readonly handlerCycles: number;
  /** Exits per basic reason, only reasons with exits, ascending by reason. */
  readonly reasons: readonly { readonly reason: number; readonly count: number }[];
}

export class TimeSeries {
  private widthNs: number;
  readonly count: Float64Array;
  readonly handler: Float64Array;
  /** bin * REASON_SLOTS + reason -> exits. */
  readonly byReason: Float64Array;
  /** Highest bin index used so far, or -1. */
  private last = -1;

  constructor(readonly binCount = 256, initialWidthNs = 1_000_000) {
    if (!Number.isInteger(binCount) || binCount < 2 || binCount % 2 !== 0) {
      throw new Error(`profile: time-series bin count must be an even whole number >= 2, got ${binCount}`);
    }
    if (!(initialWidthNs > 0)) throw new Error(`profile: time-series bin width must be positive, got ${initialWidthNs}`);
    this.widthNs = initialWidthNs;
    this.count = new Float64Array(binCount);
    this.handler = new Float64Array(binCount);
    this.byReason = new Float64Array(binCount * REASON_SLOTS);
  }

  /** Current bin width, ns. */
  get binWidthNs(): number { return this.widthNs; }
  /** Bins that hold anything so far (the rest of the range is empty). */
  get usedBins(): number { return this.last + 1; }

  /** Adds one exit at virtual time `at.timeNs` (negative times count in bin 0). The time is
   *  read from the event, not passed: virtual times pass 2^31 ns after two seconds and would be
   *  boxed as call arguments. */
  add(at: { readonly timeNs: number }, reason: number, handlerCycles: number): void {
    const timeNs = at.timeNs;
    let b = Math.floor(timeNs / this.widthNs);
    if (b >= this.binCount) {
      while (b >= this.binCount) { this.mergePairs(); b = Math.floor(timeNs / this.widthNs); }
    } else if (!(b >= 0)) b = 0;
    this.count[b] += 1;
    this.handler[b] += handlerCycles;
    this.byReason[b * REASON_SLOTS + reason] += 1;
    if (b > this.last) this.last = b;
  }

  /** Bin i <- bins 2i and 2i+1, for the first half; the second half empties; the width doubles. */
  private mergePairs(): void {
    const n = this.binCount, half = n / 2;
    for (let i = 0; i < half; i++) {
      this.count[i] = this.count[2 * i]! + this.count[2 * i + 1]!;
      this.handler[i] = this.handler[2 * i]! + this.handler[2 * i + 1]!;
      const to = i * REASON_SLOTS, a = 2 * i * REASON_SLOTS, c = a + REASON_SLOTS;
      for (let r = 0; r < REASON_SLOTS; r++) this.byReason[to + r] = this.byReason[a + r]! + this.byReason[c + r]!;
    }
    this.count.fill(0, half);
    this.handler.fill(0, half);
    this.byReason.fill(0, half * REASON_SLOTS);
    this.widthNs *= 2;
    this.last = this.last < 0 ? -1 : Math.floor(this.last / 2);
  }

  /** The bins from 0 to the last used one (report time). */
  bins(): TimeSeriesBin[] {
    const out: TimeSeriesBin[] = [];
    for (let b = 0; b <= this.last; b++) {
      const reasons: { reason: number; count: number }[] = [];
      for (let r = 0; r < REASON_SLOTS; r++) {
        const c = this.byReason[b * REASON_SLOTS + r]!;
        if (c !== 0) reasons.push({ reason: r, count: c });
      }
      out.push({ startNs: b * this.widthNs, count: this.count[b]!, handlerCycles: this.handler[b]!, reasons });
    }
    return out;
  }
}
