// Chart data kept outside Vue and Pinia (design.md, "Chart.js with Vue"): Chart.js must never
// get a reactive array. The exit store hands each stats batch to `chartFeed.update`, which
// copies it into plain arrays and bumps `version`; chart components redraw from a coalesced
// timer with chart.update('none'), at most once per frame however many batches arrived.
import type { ExitSnapshot } from '../../../core/engine/protocol';

export interface RateSeries {
  /** Bin start, virtual ms (x axis). */
  labels: number[];
  /** Per reason: exits per virtual second in each bin. */
  datasets: { reason: number; data: Float64Array }[];
}

export class ChartFeed {
  version = 0;
  rate: RateSeries = { labels: [], datasets: [] };
  /** Exit cycles per generation (cost bars). */
  costs: { generation: string; title: string; cycles: number; estimate: boolean; overhead: number; warnings: readonly string[] }[] = [];
  /** Overhead percent over virtual time (one point per batch). */
  overheadX: number[] = [];
  overheadY: number[] = [];
  private listeners = new Set<() => void>();

  clear(): void {
    this.rate = { labels: [], datasets: [] };
    this.costs = [];
    this.overheadX = [];
    this.overheadY = [];
    this.bump();
  }

  update(ex: ExitSnapshot | null, virtualNs: number): void {
    if (ex === null) {
      if (this.rate.labels.length > 0 || this.costs.length > 0) this.clear();
      return;
    }
    const n = ex.seriesReasons.length, w = ex.binWidthNs;
    const labels = new Array<number>(ex.bins);
    for (let b = 0; b < ex.bins; b++) labels[b] = (b * w) / 1e6;
    const datasets = ex.seriesReasons.map((reason, i) => {
      const data = new Float64Array(ex.bins);
      for (let b = 0; b < ex.bins; b++) data[b] = ex.counts[b * n + i]! / (w / 1e9);
      return { reason, data };
    });
    this.rate = { labels, datasets };
    this.costs = ex.generations.map((g) => ({
      generation: g.generation, title: g.title, cycles: g.exitCycles, estimate: g.estimate, overhead: g.overheadPercent, warnings: g.warnings,
    }));
    const x = virtualNs / 1e6;
    if (this.overheadX.length === 0 || x > this.overheadX[this.overheadX.length - 1]!) {
      this.overheadX.push(x);
      this.overheadY.push(ex.overheadPercent);
      if (this.overheadX.length > 600) { this.overheadX.splice(0, 100); this.overheadY.splice(0, 100); }
    }
    this.bump();
  }

  /** Calls `fn` after each change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  private bump(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

export const chartFeed = new ChartFeed();

/** Runs `fn` at most once per `ms` however often `schedule()` is called (a coalesced redraw). */
export function coalesce(fn: () => void, ms = 33): { schedule(): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    schedule(): void {
      if (timer !== null) return;
      timer = setTimeout(() => { timer = null; fn(); }, ms);
    },
    cancel(): void { if (timer !== null) { clearTimeout(timer); timer = null; } },
  };
}
