// The MC146818 RTC/CMOS as BIOS and OS code reads it: wait for UIP = 0, read BCD time, set the
// clock under SET, periodic/update/alarm interrupts on IRQ8 with register C acknowledgement, and
// the AT memory size fields.
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqRouter, type IrqSink } from '../../src/core/platform/irq';
import { Cmos, civilFromDays, daysFromCivil } from '../../src/core/platform/devices/cmos';

let counter: { icount: number };
let clock: VirtualClock;
let io: IoBus;
let cmos: Cmos;
let irqLevel: boolean;
let irqRises: number;

const NS = 10; // ns per instruction at the default 100 M/s

function make(options = {}): void {
  counter = { icount: 0 };
  clock = new VirtualClock(counter);
  io = new IoBus();
  irqLevel = false; irqRises = 0;
  const sink: IrqSink = { setIrq: (irq, level) => { expect(irq).toBe(8); if (level && !irqLevel) irqRises++; irqLevel = level; } };
  const router = new IrqRouter();
  router.add(sink);
  cmos = new Cmos(clock, router.line(8), options);
  cmos.registerPorts(io);
}

const rd = (i: number) => { io.write(0x70, 1, i); return io.read(0x71, 1); };
const wr = (i: number, v: number) => { io.write(0x70, 1, i); io.write(0x71, 1, v); };
const setNs = (ns: number) => { counter.icount = Math.round(ns / NS); };

function advance(ns: number, onStep?: () => void): void {
  const end = counter.icount + Math.round(ns / NS);
  while (counter.icount < end) {
    counter.icount += clock.budgetUntilNext(end - counter.icount);
    clock.runDue();
    onStep?.();
  }
}

/** The BIOS/OS way: spin while UIP is set, then read the fields. */
function readTime(): number[] {
  let spins = 0;
  while (rd(0x0a) & 0x80) { counter.icount += 1000; spins++; if (spins > 1000) throw new Error('UIP stuck'); }
  return [0x32, 0x09, 0x08, 0x07, 0x04, 0x02, 0x00].map(rd);
}

beforeEach(() => make());

describe('MC146818 time keeping', () => {
  it('starts at 2026-01-01 00:00:00 in BCD, 24 h, with valid RAM', () => {
    expect(readTime()).toEqual([0x20, 0x26, 0x01, 0x01, 0x00, 0x00, 0x00]);
    expect(rd(0x06)).toBe(5); // Thursday
    expect(rd(0x0a)).toBe(0x26);
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('advances with virtual time', () => {
    setNs((3600 + 23 * 60 + 45) * 1e9 + 5e8);
    expect(readTime()).toEqual([0x20, 0x26, 0x01, 0x01, 0x01, 0x23, 0x45]);
    setNs((31 * 86400 + 86399) * 1e9 + 1e6);
    expect(readTime()).toEqual([0x20, 0x26, 0x02, 0x01, 0x23, 0x59, 0x59]);
    expect(rd(0x06)).toBe(1); // 2026-02-01 is a Sunday
  });

  it('sets UIP during the 244 us before each update', () => {
    setNs(5e9 - 300_000);
    expect(rd(0x0a) & 0x80).toBe(0);
    expect(rd(0x00)).toBe(0x04);
    setNs(5e9 - 200_000);
    expect(rd(0x0a) & 0x80).toBe(0x80);
    expect(rd(0x00)).toBe(0x04);
    setNs(5e9);
    expect(rd(0x0a) & 0x80).toBe(0);
    expect(rd(0x00)).toBe(0x05);
  });

  it('honours binary mode and the 12 hour format', () => {
    setNs((13 * 3600 + 7 * 60 + 9) * 1e9);
    wr(0x0b, 0x06); // binary, 24 h
    expect(readTime()).toEqual([20, 26, 1, 1, 13, 7, 9]);
    wr(0x0b, 0x04); // binary, 12 h
    expect(rd(0x04)).toBe(0x80 | 1); // 1 PM
    wr(0x0b, 0x00); // BCD, 12 h
    expect(rd(0x04)).toBe(0x81);
    setNs((12 * 3600 + 60) * 1e9 + 86400e9);
    expect(rd(0x04)).toBe(0x92); // 12 PM
    setNs((0 * 3600 + 60) * 1e9 + 2 * 86400e9);
    expect(rd(0x04)).toBe(0x12); // 12 AM
  });

  it('is set by the guest under SET, day before month, and keeps counting afterwards', () => {
    setNs(40 * 86400e9); // 2026-02-10
    wr(0x0b, 0x82); // SET, 24 h, BCD
    wr(0x00, 0x58); wr(0x02, 0x59); wr(0x04, 0x23);
    wr(0x07, 0x31); wr(0x08, 0x12); wr(0x09, 0x99); wr(0x32, 0x20); // 2099-12-31 23:59:58
    setNs(50 * 86400e9);
    expect(readTime()).toEqual([0x20, 0x99, 0x12, 0x31, 0x23, 0x59, 0x58]); // halted while SET
    wr(0x0b, 0x02);
    advance(2.5e9);
    expect(readTime()).toEqual([0x21, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00]); // century rolls over
    expect(rd(0x06)).toBe(6); // 2100-01-01 is a Friday
  });

  it('holds the divider in reset and updates 500 ms after leaving it', () => {
    setNs(10e9);
    wr(0x0a, 0x76); // DV = 111: reset
    setNs(20e9);
    expect(rd(0x00)).toBe(0x10);
    wr(0x0a, 0x26);
    setNs(20.49e9);
    expect(rd(0x00)).toBe(0x10);
    setNs(20.5e9);
    expect(rd(0x00)).toBe(0x11);
  });

  it('takes a configured start date', () => {
    make({ start: '1999-12-31 23:59:59' });
    expect(readTime()).toEqual([0x19, 0x99, 0x12, 0x31, 0x23, 0x59, 0x59]);
    setNs(1e9);
    expect(readTime()).toEqual([0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00]);
    make({ start: { year: 2024, month: 2, day: 29, hour: 12, minute: 0, second: 0 } });
    expect(readTime()).toEqual([0x20, 0x24, 0x02, 0x29, 0x12, 0x00, 0x00]);
    expect(() => make({ start: 'yesterday' })).toThrow(/RTC start date/);
  });

  it('converts calendar days both ways', () => {
    const d = { year: 0, month: 0, day: 0 };
    for (const z of [-719468, -1, 0, 59, 11016, 20454, 47482, 2932896]) {
      civilFromDays(z, d);
      expect(daysFromCivil(d.year, d.month, d.day)).toBe(z);
    }
    expect(daysFromCivil(2026, 1, 1)).toBe(20454);
  });
});

describe('MC146818 interrupts on IRQ8', () => {
  it('raises the periodic interrupt at 1024 Hz and at 2 Hz, acknowledged by reading C', () => {
    wr(0x0b, 0x42); // PIE
    let acks = 0;
    advance(1e9, () => { if (irqLevel) { expect(rd(0x0c) & 0xc0).toBe(0xc0); acks++; expect(irqLevel).toBe(false); } });
    expect(acks).toBe(1024);
    wr(0x0a, 0x2f); // RS = 15: 2 Hz
    acks = 0;
    advance(1e9, () => { if (irqLevel) { rd(0x0c); acks++; } });
    expect(acks).toBe(2);
  });

  it('raises no further interrupt until register C is read', () => {
    wr(0x0b, 0x42);
    advance(100e6);
    expect(irqRises).toBe(1);
    expect(irqLevel).toBe(true);
    const c = rd(0x0c);
    expect(c & 0xc0).toBe(0xc0);
    expect(irqLevel).toBe(false);
    expect(rd(0x0c)).toBe(0); // read clears
    advance(1e6);
    expect(irqRises).toBe(2);
  });

  it('sets PF and UF for polling with interrupts disabled', () => {
    advance(1.01e9);
    expect(irqRises).toBe(0);
    expect(rd(0x0c)).toBe(0x50); // PF | UF, no IRQF
  });

  it('raises update-ended interrupts once a second', () => {
    wr(0x0b, 0x12); // UIE
    let n = 0;
    advance(5e9, () => { if (irqLevel) { expect(rd(0x0c) & 0x90).toBe(0x90); n++; } });
    expect(n).toBe(5);
    wr(0x0b, 0x92); // SET clears UIE
    expect(rd(0x0b)).toBe(0x82);
  });

  it('raises the alarm interrupt at the programmed time, with don\'t-care hours', () => {
    wr(0x01, 0x05); wr(0x03, 0x00); wr(0x05, 0xc0); // hh:00:05, any hour
    wr(0x0b, 0x22); // AIE
    let at = -1;
    advance(10e9, () => { if (irqLevel && at < 0) { at = clock.nowNs(); expect(rd(0x0c) & 0xa0).toBe(0xa0); } });
    expect(at).toBe(5e9);
  });

  it('clears enables and flags on reset, keeping time and RAM', () => {
    wr(0x40, 0x5a);
    wr(0x0b, 0x72);
    advance(2e9);
    cmos.reset();
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x0c)).toBe(0);
    expect(rd(0x40)).toBe(0x5a);
    expect(rd(0x00)).toBe(0x02);
    expect(clock.nextDeadlineNs()).toBe(Infinity);
  });
});

describe('CMOS RAM', () => {
  it('fills the memory size fields and the checksum', () => {
    cmos.setMemorySize(64 * 1024 * 1024);
    expect([rd(0x15), rd(0x16)]).toEqual([0x80, 0x02]); // 640 KB
    expect([rd(0x17), rd(0x18)]).toEqual([0x00, 0xfc]); // 64512 KB
    expect([rd(0x30), rd(0x31)]).toEqual([0x00, 0xfc]);
    expect([rd(0x34), rd(0x35)]).toEqual([0x00, 0x03]); // 768 x 64 KB above 16 MB
    cmos.setMemorySize(512 * 1024 * 1024);
    expect([rd(0x17), rd(0x18), rd(0x30), rd(0x31)]).toEqual([0xff, 0xff, 0xff, 0xff]); // capped
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((512 - 16) * 16);
    cmos.setMemorySize(8 * 1024 * 1024);
    expect([rd(0x34), rd(0x35)]).toEqual([0, 0]);
    cmos.setFloppyTypes(4, 0);
    cmos.setHardDiskTypes(47, 0);
    cmos.setEquipment(0x41);
    expect(rd(0x10)).toBe(0x40);
    expect(rd(0x12)).toBe(0xf0);
    expect(rd(0x19)).toBe(47);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(i);
    expect((rd(0x2e) << 8) | rd(0x2f)).toBe(sum);
  });

  it('latches the NMI mask from bit 7 of port 0x70 and keeps plain RAM', () => {
    io.write(0x70, 1, 0x8f);
    expect(cmos.nmiDisabled).toBe(true);
    io.write(0x71, 1, 0x0a); // shutdown status byte
    io.write(0x70, 1, 0x0f);
    expect(cmos.nmiDisabled).toBe(false);
    expect(io.read(0x71, 1)).toBe(0x0a);
    wr(0x0c, 0xff); wr(0x0d, 0x00); // read-only
    expect(rd(0x0d)).toBe(0x80);
    expect(cmos.state().time.year).toBe(2026);
  });
});
