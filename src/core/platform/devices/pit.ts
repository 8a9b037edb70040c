// The 8254 programmable interval timer (Intel 82C54 datasheet, order 231244; IBM PC AT Technical
// Reference, "System Timers"): three 16-bit down counters clocked at 1.193182 MHz (the 14.31818
// MHz crystal / 12). Counter 0 drives IRQ0, counter 1 is the old DRAM refresh timer, counter 2
// drives the speaker with its gate on port 0x61 bit 0 and its output on port 0x61 bit 5.
//
//   0x40-0x42  counter 0-2 data (count register writes, count/status reads)
//   0x43       control word (write only):
//                [7:6] SC counter select (11 = read-back) | [5:4] RW 00 latch, 01 LSB, 10 MSB, 11 LSB
//                then MSB | [3:1] mode (x10 = 2, x11 = 3) | [0] BCD
//              read-back: [5] /COUNT | [4] /STATUS | [3] CNT2 | [2] CNT1 | [1] CNT0
//   status byte: [7] OUT | [6] NULL COUNT | [5:4] RW | [3:1] mode | [0] BCD
//
// Counters are evaluated analytically from the tick at which the count element (CE) was loaded,
// never stepped: CE and OUT at any tick follow from the mode and the count. Only counter 0 arms a
// Timer on the VirtualClock, at its next OUT edge. Modelling choices: the CE is loaded on the
// clock pulse after the count is written (so mode 0 OUT rises N+1 ticks after the write, as in
// the datasheet); in mode 2 the one-tick low pulse before each reload is delivered as a lower/
// raise pair at the reload tick; a new count written in mode 2 or 3 takes effect at the end of
// the current period (mode 3: the datasheet says half period). Counts of 1 in modes 2/3 behave as 2.
import { Timer, type VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';

/** Input clock in Hz. */
export const PIT_HZ = 1_193_182;

const toBcd = (v: number): number => ((v / 1000) % 10 << 12) | ((v / 100) % 10 << 8) | ((v / 10) % 10 << 4) | (v % 10);
const fromBcd = (v: number): number => ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);

/** PIT ticks elapsed at virtual time `ns` (a small epsilon absorbs float error at exact deadlines). */
export function pitTickAt(ns: number): number { return Math.floor((ns * PIT_HZ) / 1e9 + 1e-6); }
/** Virtual time at which tick `t` has been reached. */
export function pitNsOf(t: number): number { return Math.ceil((t * 1e9) / PIT_HZ); }

// RW access modes
const RW_LSB = 1, RW_MSB = 2, RW_WORD = 3;

export interface PitCounterState {
  mode: number; rw: number; bcd: boolean; count: number; value: number; out: boolean;
  gate: boolean; running: boolean; nullCount: boolean; latched: boolean; statusLatched: boolean;
}

export class PitCounter {
  mode = 0;
  rw = RW_WORD;
  bcd = false;
  /** Count register as last written (raw 16-bit, BCD when `bcd`). */
  cr = 0;
  /** Effective count in ticks (0 means 65536, or 10000 in BCD). */
  n = 0x10000;
  /** CE is counting (or loads at `loadTick`); false before a count is written or while waiting for a gate trigger. */
  running = false;
  /** Tick at which CE holds `n` (start of the current count or period). */
  loadTick = 0;
  /** Mode 0/4 paused by a low gate: ticks elapsed since the load when the gate fell. */
  paused = false;
  private pausedD = 0;
  /** A new count for modes 2/3, taking effect at tick `pendingAt`; -1 when none. */
  pendingN = -1;
  pendingAt = 0;
  /** Count written in mode 1/5 (or 2/3 with the gate low), waiting for a gate rising edge. */
  armed = false;
  /** Count for the next mode 1/5 trigger, written while one is running; -1 when none. */
  private pendingTrigger = -1;
  /** OUT while not running. */
  idleOut = false;
  gate: boolean;
  nullCount = true;
  // byte sequencing
  private writeHigh = false;
  private readHigh = false;
  private lsbWritten = 0;
  private latch = -1;
  private latchHigh = false;
  private status = -1;

  constructor(readonly index: number, private readonly initialGate: boolean) { this.gate = initialGate; }

  reset(): void {
    this.mode = 0; this.rw = RW_WORD; this.bcd = false; this.cr = 0; this.n = 0x10000;
    this.running = false; this.loadTick = 0; this.paused = false; this.pausedD = 0;
    this.pendingN = -1; this.pendingAt = 0; this.armed = false; this.pendingTrigger = -1; this.idleOut = false;
    this.gate = this.initialGate; this.nullCount = true;
    this.writeHigh = false; this.readHigh = false; this.lsbWritten = 0;
    this.latch = -1; this.latchHigh = false; this.status = -1;
  }

  private get wrap(): number { return this.bcd ? 10000 : 0x10000; }

  private effective(cr: number): number {
    const v = this.bcd ? fromBcd(cr) : cr;
    const n = v === 0 ? this.wrap : v;
    return this.periodic && n < 2 ? 2 : n;
  }

  private get periodic(): boolean { return this.mode === 2 || this.mode === 3; }

  /** Ticks since CE was loaded (negative before the load), frozen while paused. */
  private elapsed(t: number): number { return this.paused ? this.pausedD : t - this.loadTick; }

  /** Applies a pending mode 2/3 count once its period boundary is reached. */
  sync(t: number): void {
    if (this.pendingN >= 0 && t >= this.pendingAt) {
      this.loadTick = this.pendingAt;
      this.n = this.pendingN;
      this.pendingN = -1;
      this.nullCount = false;
    }
  }

  out(t: number): boolean {
    this.sync(t);
    if (!this.running) return this.idleOut;
    const d = this.elapsed(t);
    const n = this.n;
    switch (this.mode) {
      case 0: return d >= n;
      case 1: return d < 0 ? true : d >= n;
      case 4: case 5: return d !== n;
      default:
        if (d < 0) return true;
        if (this.mode === 2) return d % n !== n - 1;
        return d % n < Math.ceil(n / 2);
    }
  }

  /** The CE value at tick `t` in binary (the caller converts to BCD). */
  private ce(t: number): number {
    this.sync(t);
    if (!this.running) return this.n % this.wrap;
    const d = this.elapsed(t);
    const n = this.n;
    if (d < 0) return n % this.wrap;
    if (!this.periodic) return (((n - d) % this.wrap) + this.wrap) % this.wrap;
    const p = d % n;
    if (this.mode === 2) return (n - p) % this.wrap;
    // Mode 3: CE decrements by two through each half period (odd counts load N-1 for the high half).
    const high = Math.ceil(n / 2);
    const even = n & ~1;
    return (p < high ? even - 2 * p : even - 2 * (p - high)) % this.wrap;
  }

  value(t: number): number {
    const v = this.ce(t);
    return this.bcd ? toBcd(v % 10000) : v & 0xffff;
  }

  /** Next OUT event strictly after tick `t`: sets `evTick`/`evKind`, false when OUT will not change. */
  nextEvent(t: number, ev: { tick: number; kind: number }): boolean {
    this.sync(t);
    if (!this.running || this.paused) return false;
    const d = t - this.loadTick;
    const n = this.n;
    switch (this.mode) {
      case 0: case 1:
        if (d >= n) return false;
        ev.tick = this.loadTick + n; ev.kind = EV_RISE; return true;
      case 4: case 5:
        if (d < n) { ev.tick = this.loadTick + n; ev.kind = EV_FALL; return true; }
        if (d === n) { ev.tick = this.loadTick + n + 1; ev.kind = EV_RISE; return true; }
        return false;
      default: {
        const k = d < 0 ? 0 : Math.floor(d / n);
        const base = this.loadTick + k * n;
        if (this.mode === 2) {
          ev.tick = base + n; ev.kind = EV_PULSE; return true;
        }
        const fall = base + Math.ceil(n / 2);
        if (fall > t) { ev.tick = fall; ev.kind = EV_FALL; return true; }
        ev.tick = base + n; ev.kind = EV_RISE; return true;
      }
    }
  }

  writeControl(t: number, v: number): void {
    const rw = (v >> 4) & 3;
    if (rw === 0) { this.latchCount(t); return; }
    this.rw = rw;
    this.mode = (v >> 1) & 7;
    if (this.mode >= 6) this.mode -= 4; // 110/111 are modes 2/3
    this.bcd = (v & 1) !== 0;
    this.writeHigh = false; this.readHigh = false;
    this.latch = -1; this.status = -1;
    this.running = false; this.paused = false; this.pendingN = -1; this.armed = false; this.pendingTrigger = -1;
    this.nullCount = true;
    this.idleOut = this.mode !== 0; // mode 0: OUT low after the control word; others high
  }

  latchCount(t: number): void {
    if (this.latch >= 0) return; // a second latch before the read is ignored
    this.latch = this.value(t);
    this.latchHigh = false;
  }

  latchStatus(t: number): void {
    if (this.status >= 0) return;
    this.status = (this.out(t) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  read(t: number): number {
    if (this.status >= 0) { const s = this.status; this.status = -1; return s; }
    const latched = this.latch >= 0;
    const v = latched ? this.latch : this.value(t);
    let b: number;
    switch (this.rw) {
      case RW_LSB: b = v & 0xff; if (latched) this.latch = -1; break;
      case RW_MSB: b = (v >> 8) & 0xff; if (latched) this.latch = -1; break;
      default:
        if (latched) {
          b = this.latchHigh ? (v >> 8) & 0xff : v & 0xff;
          if (this.latchHigh) this.latch = -1;
          this.latchHigh = !this.latchHigh;
        } else {
          b = this.readHigh ? (v >> 8) & 0xff : v & 0xff;
          this.readHigh = !this.readHigh;
        }
    }
    return b;
  }

  write(t: number, v: number): void {
    let cr: number;
    switch (this.rw) {
      case RW_LSB: cr = v & 0xff; break;
      case RW_MSB: cr = (v & 0xff) << 8; break;
      default:
        if (!this.writeHigh) {
          this.lsbWritten = v & 0xff;
          this.writeHigh = true;
          if (this.mode === 0) { this.sync(t); this.running = false; this.idleOut = false; } // first byte stops mode 0
          return;
        }
        this.writeHigh = false;
        cr = this.lsbWritten | ((v & 0xff) << 8);
    }
    this.loadCount(t, cr);
  }

  private loadCount(t: number, cr: number): void {
    this.sync(t);
    this.cr = cr;
    this.nullCount = true;
    const n = this.effective(cr);
    switch (this.mode) {
      case 0: case 4:
        this.start(t, n);
        if (!this.gate) this.pause(t);
        break;
      case 1: case 5:
        // Takes effect at the next gate trigger.
        if (!this.running) { this.n = n; this.armed = true; this.idleOut = true; }
        else this.pendingTrigger = n;
        break;
      default:
        if (this.running) {
          const d = Math.max(0, t - this.loadTick);
          this.pendingN = n;
          this.pendingAt = this.loadTick + (Math.floor(d / this.n) + 1) * this.n;
        } else {
          this.n = n;
          if (this.gate) this.start(t, n);
          else { this.armed = true; this.idleOut = true; }
        }
    }
  }

  private start(t: number, n: number): void {
    this.n = n;
    this.loadTick = t + 1; // CE loads on the next clock pulse
    this.running = true;
    this.paused = false;
    this.armed = false;
    this.nullCount = false;
  }

  private pause(t: number): void {
    this.pausedD = t - this.loadTick;
    this.paused = true;
  }

  setGate(t: number, level: boolean): void {
    if (level === this.gate) return;
    this.sync(t);
    this.gate = level;
    switch (this.mode) {
      case 0: case 4:
        if (!this.running) return;
        if (!level) { this.pause(t); return; }
        if (this.paused) { this.loadTick = t - this.pausedD; this.paused = false; } // resume where it stopped
        return;
      case 1: case 5:
        if (level && (this.armed || this.running)) {
          if (this.pendingTrigger >= 0) { this.n = this.pendingTrigger; this.pendingTrigger = -1; }
          this.start(t, this.n);
        }
        return;
      default:
        if (!level) {
          // Modes 2/3: counting stops and OUT goes high at once.
          if (this.running) {
            this.running = false;
            this.armed = true;
            if (this.pendingN >= 0) { this.n = this.pendingN; this.pendingN = -1; } // the gate's rising edge loads the latest count
          }
          this.idleOut = true;
        } else if (this.armed) {
          this.start(t, this.n);
        }
    }
  }

  state(t: number): PitCounterState {
    return {
      mode: this.mode, rw: this.rw, bcd: this.bcd, count: this.cr, value: this.value(t), out: this.out(t),
      gate: this.gate, running: this.running, nullCount: this.nullCount, latched: this.latch >= 0,
      statusLatched: this.status >= 0,
    };
  }
}

const EV_RISE = 0, EV_FALL = 1, EV_PULSE = 2;

export class Pit8254 implements PortDevice {
  readonly counters: readonly [PitCounter, PitCounter, PitCounter] = [new PitCounter(0, true), new PitCounter(1, true), new PitCounter(2, false)];
  private readonly timer: Timer;
  private readonly ev = { tick: 0, kind: 0 };
  /** IRQ0 edges delivered (rising edges of counter 0 OUT), for the profiler. */
  irq0Edges = 0;

  constructor(private readonly clock: VirtualClock, private readonly irq0: IrqLine) {
    this.timer = new Timer('PIT counter 0', () => this.fire());
  }

  reset(): void {
    for (const c of this.counters) c.reset();
    this.clock.disarm(this.timer);
    this.irq0.lower();
    this.irq0Edges = 0;
  }

  registerPorts(io: IoBus): void { io.register(0x40, 4, 'PIT (8254)', this); }

  /** Current PIT tick from the virtual clock. */
  tick(): number { return pitTickAt(this.clock.nowNs()); }

  /** Counter `ch` output now (port 0x61 bit 5 reads counter 2). */
  output(ch: number): boolean { return this.counters[ch].out(this.tick()); }

  /** Sets counter `ch`'s gate (counter 2: port 0x61 bit 0; counters 0 and 1 are tied high). */
  setGate(ch: number, level: boolean): void {
    const t = this.tick();
    this.counters[ch].setGate(t, level);
    if (ch === 0) this.reprogrammed(t);
  }

  ioRead(offset: number, _size: number): number {
    if (offset === 3) return 0xff; // the control register is write-only
    const c = this.counters[offset];
    return c.read(this.tick());
  }

  ioWrite(offset: number, _size: number, value: number): void {
    const t = this.tick();
    value &= 0xff;
    if (offset < 3) {
      this.counters[offset].write(t, value);
      if (offset === 0) this.reprogrammed(t);
      return;
    }
    const sc = value >> 6;
    if (sc === 3) {
      // Read-back: bits are active low.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const c = this.counters[i];
        if ((value & 0x10) === 0) c.latchStatus(t);
        if ((value & 0x20) === 0) c.latchCount(t);
      }
      return;
    }
    this.counters[sc].writeControl(t, value);
    if (sc === 0) this.reprogrammed(t);
  }

  /** Counter 0 changed: drive IRQ0 to OUT now and re-arm for the next edge. */
  private reprogrammed(t: number): void {
    const c = this.counters[0];
    const out = c.out(t);
    if (out && !this.irq0.high) this.irq0Edges++;
    this.irq0.set(out);
    this.arm(t);
  }

  private arm(after: number): void {
    if (this.counters[0].nextEvent(after, this.ev)) this.clock.arm(this.timer, pitNsOf(this.ev.tick));
    else this.clock.disarm(this.timer);
  }

  private fire(): void {
    const at = this.ev.tick;
    switch (this.ev.kind) {
      case EV_RISE: this.irq0.raise(); this.irq0Edges++; break;
      case EV_FALL: this.irq0.lower(); break;
      default: this.irq0.lower(); this.irq0.raise(); this.irq0Edges++; break;
    }
    const c = this.counters[0];
    if (!c.nextEvent(at, this.ev)) { this.clock.disarm(this.timer); return; }
    const now = this.tick();
    if (this.ev.tick < now) {
      // The run fell behind by more than an edge: skip to now rather than replay every edge (the
      // PIC would merge them into one request anyway, as on hardware), leaving the line at the
      // level before the next edge so that edge is seen.
      c.nextEvent(now - 1, this.ev);
      if (this.ev.kind === EV_FALL) { if (!this.irq0.high) { this.irq0.raise(); this.irq0Edges++; } } else this.irq0.lower();
    }
    this.clock.arm(this.timer, pitNsOf(this.ev.tick));
  }

  state(): { counters: PitCounterState[]; irq0: boolean; irq0Edges: number } {
    const t = this.tick();
    return { counters: this.counters.map((c) => c.state(t)), irq0: this.irq0.high, irq0Edges: this.irq0Edges };
  }
}
