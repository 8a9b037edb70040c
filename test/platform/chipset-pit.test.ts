// The 8254 PIT and port 0x61 measured in virtual time: a VirtualClock on a fake instruction
// counter, advanced the way the machine loop does (budget to the next deadline, then runDue()).
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqRouter, type IrqSink } from '../../src/core/platform/irq';
import { Pic8259Pair } from '../../src/core/platform/devices/pic';
import { PIT_HZ, Pit8254 } from '../../src/core/platform/devices/pit';
import { SystemControlPortB } from '../../src/core/platform/devices/sysctl';

let counter: { icount: number };
let clock: VirtualClock;
let io: IoBus;
let pit: Pit8254;
let port61: SystemControlPortB;
/** Virtual times (ns) of IRQ0 rising and falling edges. */
let rises: number[];
let falls: number[];

const out = (port: number, v: number) => io.write(port, 1, v);
const inb = (port: number) => io.read(port, 1);

/** Runs `ns` of virtual time like the machine loop: retire up to the next deadline, fire due timers. */
function advance(ns: number): void {
  const end = counter.icount + clock.nsToTicks(ns);
  while (counter.icount < end) {
    counter.icount += clock.budgetUntilNext(end - counter.icount);
    clock.runDue();
  }
}

beforeEach(() => {
  counter = { icount: 0 };
  clock = new VirtualClock(counter); // 100 M instructions/s: 10 ns each
  io = new IoBus();
  rises = []; falls = [];
  const recorder: IrqSink = { setIrq: (_irq, level) => (level ? rises : falls).push(clock.nowNs()) };
  const router = new IrqRouter();
  router.add(recorder);
  pit = new Pit8254(clock, router.line(0));
  pit.registerPorts(io);
  port61 = new SystemControlPortB(clock, pit);
  port61.registerPorts(io);
});

function intervals(ts: number[]): number[] { return ts.slice(1).map((t, i) => t - ts[i]); }

describe('8254 PIT counter 0 -> IRQ0', () => {
  it('runs the BIOS 18.2 Hz tick: mode 3, count 0 (65536)', () => {
    out(0x43, 0x36); // the control word drives OUT high: the first rising edge, at time 0
    expect(rises).toEqual([0]);
    rises.length = 0;
    out(0x40, 0x00); out(0x40, 0x00);
    advance(1e9);
    expect(rises.length).toBe(18); // 1 s / 54.925 ms
    const period = (65536 / PIT_HZ) * 1e9;
    for (const d of intervals(rises)) expect(Math.abs(d - period)).toBeLessThan(20);
    // Square wave: the line is high for half of each period.
    expect(Math.abs(rises[0] - falls[0] - period / 2)).toBeLessThan(1000);
    advance(9e9);
    expect(rises.length).toBe(182);
  });

  it('runs a 1000 Hz mode 2 rate generator (count 1193)', () => {
    out(0x43, 0x34); out(0x40, 1193 & 0xff); out(0x40, 1193 >> 8);
    rises.length = 0; // drop the control word's edge
    advance(1e9);
    expect(rises.length).toBe(1000);
    const period = (1193 / PIT_HZ) * 1e9; // 999.85 us
    for (const d of intervals(rises)) expect(Math.abs(d - period)).toBeLessThan(20);
    const first = rises[0];
    expect(Math.abs(first - (1194 / PIT_HZ) * 1e9)).toBeLessThan(20); // CE loads one clock after the write
  });

  it('delivers the 1000 Hz tick through the PIC as vector 0x08 with EOIs', () => {
    const pics = new Pic8259Pair(() => undefined);
    pics.registerPorts(io);
    for (const [p, v] of [[0x20, 0x11], [0x21, 0x08], [0x21, 0x04], [0x21, 0x01], [0x21, 0xfe]]) out(p, v);
    const router = new IrqRouter();
    router.add(pics);
    const p2 = new Pit8254(clock, router.line(0));
    const io2 = new IoBus();
    p2.registerPorts(io2);
    io2.write(0x43, 1, 0x34); io2.write(0x40, 1, 1193 & 0xff); io2.write(0x40, 1, 1193 >> 8);
    let ticks = 0;
    const end = counter.icount + 1e8;
    while (counter.icount < end) {
      counter.icount += clock.budgetUntilNext(end - counter.icount);
      clock.runDue();
      if (pics.hasInterrupt()) { expect(pics.acknowledge()).toBe(0x08); ticks++; out(0x20, 0x20); }
    }
    expect(ticks).toBe(1000);
    expect(pics.stats().acknowledged[0]).toBe(1000);
  });

  it('fires once in mode 0 (interrupt on terminal count) and stays high', () => {
    out(0x43, 0x30); // counter 0, lohi, mode 0
    expect(falls.length).toBe(0); // the line was already low
    out(0x40, 1000 & 0xff); out(0x40, 1000 >> 8);
    advance(500_000);
    // Counting down: read the live count low byte then high byte.
    const v = inb(0x40) | (inb(0x40) << 8);
    expect(v).toBeGreaterThan(1000 - Math.ceil(0.0005 * PIT_HZ) - 2);
    expect(v).toBeLessThan(1000 - Math.floor(0.0005 * PIT_HZ) + 2);
    expect(rises.length).toBe(0);
    advance(10e6);
    expect(rises.length).toBe(1);
    expect(Math.abs(rises[0] - (1001 / PIT_HZ) * 1e9)).toBeLessThan(20);
    advance(100e6);
    expect(rises.length).toBe(1);
    expect(pit.output(0)).toBe(true);
    // A new count restarts the one-shot; the control word drives OUT low first.
    out(0x43, 0x30);
    expect(falls.length).toBe(1);
    out(0x40, 10); out(0x40, 0);
    advance(1e6);
    expect(rises.length).toBe(2);
  });

  it('stops a mode 0 count while only the first byte is written', () => {
    out(0x43, 0x30); out(0x40, 100); out(0x40, 0);
    advance(50_000); // 59 ticks
    out(0x40, 200); // first byte of a new count: counting stops
    advance(1e6);
    expect(rises.length).toBe(0);
    out(0x40, 0); // second byte: count 200 starts
    advance(1e6);
    expect(rises.length).toBe(1);
  });
});

describe('8254 latch and read-back', () => {
  it('latches a count that survives further counting until both bytes are read', () => {
    out(0x43, 0xb4); out(0x42, 0x00); out(0x42, 0x10); // counter 2, lohi, mode 2, 0x1000
    out(0x61, 0x01); // gate on
    const t0 = pit.tick();
    advance(1e6);
    out(0x43, 0x80); // latch counter 2
    const elapsed = pit.tick() - t0 - 1;
    const expected = 0x1000 - (elapsed % 0x1000);
    advance(1e6);
    const lo = inb(0x42);
    advance(1e6);
    const hi = inb(0x42);
    expect(lo | (hi << 8)).toBe(expected);
    const live = inb(0x42) | (inb(0x42) << 8);
    expect(live).not.toBe(expected);
  });

  it('ignores a second latch before the first is read', () => {
    out(0x43, 0x34); out(0x40, 0xff); out(0x40, 0xff);
    advance(100_000);
    out(0x43, 0x00);
    const first = pit.counters[0].value(pit.tick());
    advance(100_000);
    out(0x43, 0x00);
    expect(inb(0x40) | (inb(0x40) << 8)).toBe(first);
  });

  it('reads back status then count', () => {
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x20); // mode 2, 0x2000
    out(0x43, 0xc2); // read-back (bits active low): latch count and status of counter 0
    // status: OUT high, null count clear, RW = 11, mode 010, binary
    expect(inb(0x40)).toBe(0xb4);
    // The count is latched right after the write: the CE is not loaded yet and shows the count.
    expect(inb(0x40) | (inb(0x40) << 8)).toBe(0x2000);
    out(0x43, 0xd2); // count only
    expect(inb(0x40) | (inb(0x40) << 8)).toBe(0x2000);
    out(0x43, 0xe2); // status only
    expect(inb(0x40)).toBe(0xb4);
    out(0x43, 0x30); // mode 0: OUT low, null count set until a count is written
    out(0x43, 0xe2);
    expect(inb(0x40)).toBe(0x70);
    out(0x40, 0x10); out(0x40, 0x00);
    advance(10_000);
    out(0x43, 0xc2);
    expect(inb(0x40)).toBe(0x30); // count loaded: null count clear, OUT still low
    expect(inb(0x40) | (inb(0x40) << 8)).toBe(16 - (pit.tick() - 1));
  });

  it('counts in BCD', () => {
    out(0x43, 0xb1); // counter 2, lohi, mode 0, BCD
    out(0x61, 0x01);
    out(0x42, 0x00); out(0x42, 0x10); // 1000 decimal
    advance(Math.ceil((101 / PIT_HZ) * 1e9)); // 100 ticks after the load
    out(0x43, 0x80);
    expect(inb(0x42) | (inb(0x42) << 8)).toBe(0x0900);
  });

  it('reads a single byte per access in LSB-only mode', () => {
    out(0x43, 0x14); out(0x40, 50); // counter 0, LSB only, mode 2
    advance(Math.ceil((11 / PIT_HZ) * 1e9));
    expect(inb(0x40)).toBe(40);
    expect(inb(0x40)).toBe(40);
  });
});

describe('counter 2 and port 0x61', () => {
  it('gates counter 2 from port 0x61 bit 0 and shows OUT in bit 5 (BIOS calibration loop)', () => {
    out(0x61, 0x00);
    out(0x43, 0xb0); out(0x42, 0x9c); out(0x42, 0x2e); // mode 0, 11932 (10 ms)
    advance(20e6);
    expect(inb(0x61) & 0x20).toBe(0); // gate low: counter paused before its load
    out(0x61, 0x01);
    const start = clock.nowNs();
    let loops = 0;
    while ((inb(0x61) & 0x20) === 0) { counter.icount += 100; loops++; }
    const ms = (clock.nowNs() - start) / 1e6;
    expect(ms).toBeGreaterThan(9.99);
    expect(ms).toBeLessThan(10.02);
    expect(loops).toBeGreaterThan(900);
  });

  it('pauses mode 0 while the gate is low and resumes the remaining count', () => {
    out(0x61, 0x01);
    out(0x43, 0xb0); out(0x42, 0x00); out(0x42, 0x10); // 4096 ticks
    advance(2e6); // ~2386 ticks
    out(0x61, 0x00);
    const held = pit.counters[2].value(pit.tick());
    advance(50e6);
    expect(pit.counters[2].value(pit.tick())).toBe(held);
    expect(pit.output(2)).toBe(false);
    out(0x61, 0x01);
    advance(((held + 2) / PIT_HZ) * 1e9);
    expect(pit.output(2)).toBe(true);
  });

  it('makes a square wave for the speaker in mode 3', () => {
    const changes: boolean[] = [];
    port61 = new SystemControlPortB(clock, pit, (on) => changes.push(on));
    const io2 = new IoBus();
    port61.registerPorts(io2);
    io2.write(0x61, 1, 0x03); // gate + speaker data
    out(0x43, 0xb6); out(0x42, 1193 & 0xff); out(0x42, 1193 >> 8); // 1 kHz
    let highs = 0;
    for (let i = 0; i < 1000; i++) { counter.icount += 1000; if (io2.read(0x61, 1) & 0x20) highs++; } // 10 ms
    expect(highs).toBeGreaterThan(450);
    expect(highs).toBeLessThan(550);
    expect(changes).toEqual([true]);
    expect(port61.speakerEnabled()).toBe(true);
  });

  it('toggles the refresh bit every ~15 us of virtual time', () => {
    let last = inb(0x61) & 0x10;
    let toggles = 0;
    for (let i = 0; i < 1000; i++) {
      counter.icount += 100; // 1 us
      const b = inb(0x61) & 0x10;
      if (b !== last) toggles++;
      last = b;
    }
    expect(toggles).toBeGreaterThanOrEqual(65); // 1 ms / 15.09 us = 66.3
    expect(toggles).toBeLessThanOrEqual(67);
    // Deterministic: the same virtual time gives the same bit.
    counter.icount = 12345;
    const a = inb(0x61);
    counter.icount = 12345;
    expect(inb(0x61)).toBe(a);
  });

  it('keeps the writable bits of port 0x61', () => {
    out(0x61, 0xff);
    expect(inb(0x61) & 0x0f).toBe(0x0f);
    expect(inb(0x61) & 0xc0).toBe(0);
  });
});

describe('8254 one-shot and strobe modes', () => {
  const ticksNs = (t: number) => Math.ceil((t / PIT_HZ) * 1e9);

  it('mode 1: a gate rising edge starts a retriggerable one-shot (OUT low for N ticks)', () => {
    out(0x43, 0xb2); out(0x42, 100); out(0x42, 0); // counter 2, lohi, mode 1
    advance(1e6);
    expect(inb(0x61) & 0x20).toBe(0x20); // no trigger yet: OUT high
    out(0x61, 0x01); // trigger
    advance(ticksNs(50));
    expect(inb(0x61) & 0x20).toBe(0);
    out(0x61, 0x00); out(0x61, 0x01); // retrigger restarts the count
    advance(ticksNs(80));
    expect(inb(0x61) & 0x20).toBe(0);
    advance(ticksNs(30));
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 4: a software strobe, one tick low N+1 ticks after the write', () => {
    out(0x43, 0x38); out(0x40, 50); out(0x40, 0); // counter 0, lohi, mode 4
    rises.length = 0; falls.length = 0;
    advance(1e6);
    expect(falls.length).toBe(1);
    expect(rises.length).toBe(1);
    expect(Math.abs(falls[0] - ticksNs(51))).toBeLessThan(20);
    expect(Math.abs(rises[0] - ticksNs(52))).toBeLessThan(20);
    advance(100e6);
    expect(rises.length).toBe(1); // no reload
  });

  it('mode 5: a strobe triggered by the gate', () => {
    out(0x43, 0xba); out(0x42, 20); out(0x42, 0); // counter 2, lohi, mode 5
    advance(1e6);
    out(0x61, 0x01);
    const t0 = pit.tick();
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) { if ((inb(0x61) & 0x20) === 0) seen.push(pit.tick() - t0); counter.icount = Math.ceil(((t0 + i + 1) / PIT_HZ) * 1e9 / 10); }
    expect(seen).toEqual([21]);
  });

  it('mode 2: a new count takes effect at the end of the current period', () => {
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x10); // 4096
    rises.length = 0;
    advance(ticksNs(1000));
    out(0x40, 0x00); out(0x40, 0x02); // 512
    advance(ticksNs(4096 + 512 * 3 + 10));
    expect(intervals(rises).map((d) => Math.round((d * PIT_HZ) / 1e9))).toEqual([512, 512, 512, 512]); // up to tick 6642
    expect(Math.round((rises[0] * PIT_HZ) / 1e9)).toBe(4097);
  });
});

describe('PIT reset and state', () => {
  it('disarms its timer on reset', () => {
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x01);
    expect(clock.nextDeadlineNs()).toBeLessThan(Infinity);
    pit.reset();
    expect(clock.nextDeadlineNs()).toBe(Infinity);
    const s = pit.state();
    expect(s.counters[0].mode).toBe(0);
    expect(s.counters[2].gate).toBe(false);
  });
});
