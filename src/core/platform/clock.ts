// Virtual time. Every device runs on a clock derived from retired instructions, never the host's
// wall clock, so a run is deterministic: the same image and settings give the same device
// behaviour and the same exits. A configurable guest speed (instructions per second) turns
// instructions into nanoseconds. While the CPU is halted, the machine skips ahead to the next
// timer deadline; skipped time is counted here so time keeps flowing without retiring
// instructions.

/** Something that counts retired instructions (the CPU). */
export interface InstructionCounter { readonly icount: number }

/** A one-shot timer owned by a device; reused, never allocated per event. */
export class Timer {
  /** Absolute deadline in ns of virtual time, or -1 when not armed. */
  deadline = -1;
  constructor(readonly name: string, readonly fire: (nowNs: number) => void) {}
}

export class VirtualClock {
  /** Instructions skipped while halted (idle time), in instruction units. */
  private skipped = 0;
  private readonly timers: Timer[] = [];
  /** End of the CPU slice being run (ns), set by the machine; Infinity outside a slice. */
  sliceEndNs = Infinity;
  /** Called when a timer is armed before the end of the running slice: the machine ends the
   *  slice early so the timer fires on time (a device armed it during an I/O access). */
  onPreempt: (() => void) | null = null;

  /** `ips`: guest instructions per second (default 100 M: 10 ns per instruction). */
  constructor(private readonly counter: InstructionCounter, readonly ips = 100_000_000) {
    if (!(ips > 0)) throw new Error(`guest speed must be positive, got ${ips}`);
  }

  /** Virtual time in instruction units (retired + skipped). */
  ticks(): number { return this.counter.icount + this.skipped; }
  /** Virtual time in nanoseconds. */
  nowNs(): number { return (this.ticks() * 1e9) / this.ips; }
  /** Converts a duration in ns to instruction units (rounded up, at least 1). */
  nsToTicks(ns: number): number { return Math.max(1, Math.ceil((ns * this.ips) / 1e9)); }

  /** Arms `t` to fire at absolute virtual time `atNs` (re-arming moves it). */
  arm(t: Timer, atNs: number): void {
    if (t.deadline < 0) this.timers.push(t);
    t.deadline = atNs;
    if (this.sliceEndNs !== Infinity && atNs < this.sliceEndNs && this.onPreempt !== null) this.onPreempt();
  }
  disarm(t: Timer): void {
    if (t.deadline < 0) return;
    t.deadline = -1;
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Earliest armed deadline in ns, or Infinity. */
  nextDeadlineNs(): number {
    let d = Infinity;
    for (const t of this.timers) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /** Starts a CPU slice of `ticks` instructions (see sliceEndNs). */
  beginSlice(ticks: number): void { this.sliceEndNs = ((this.ticks() + ticks) * 1e9) / this.ips; }
  endSlice(): void { this.sliceEndNs = Infinity; }

  /** Instructions the CPU may retire before the next deadline (>= 1), capped at `max`. */
  budgetUntilNext(max: number): number {
    const d = this.nextDeadlineNs();
    if (d === Infinity) return max;
    const left = Math.ceil(((d - this.nowNs()) * this.ips) / 1e9);
    return left < 1 ? 1 : left > max ? max : left;
  }

  /** Fires every timer whose deadline has passed, earliest first. */
  runDue(): void {
    for (;;) {
      const now = this.nowNs();
      let first: Timer | null = null;
      for (const t of this.timers) if (t.deadline <= now && (first === null || t.deadline < first.deadline)) first = t;
      if (first === null) return;
      this.disarm(first);
      first.fire(now);
    }
  }

  /** Skips idle time to the next deadline (CPU halted), or only up to `limitTicks` (absolute, in
   *  instruction units: a halted CPU's own deadline, Cpu.wakeDeadline). Returns false when
   *  nothing is armed and there is no limit. */
  skipToNext(limitTicks = Infinity): boolean {
    const d = this.nextDeadlineNs();
    if (d === Infinity && limitTicks === Infinity) return false;
    let need = d === Infinity ? Infinity : Math.ceil(((d - this.nowNs()) * this.ips) / 1e9);
    const toLimit = limitTicks - this.ticks();
    if (toLimit < need) need = toLimit;
    if (need > 0) this.skipped += need;
    return true;
  }
}
