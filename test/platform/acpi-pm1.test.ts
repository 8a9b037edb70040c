// ACPI PM1 event/control registers: TMR_STS follows the PM timer's bit 23, write-1-to-clear,
// the SCI follows SCI_EN & STS & EN (a timer raises it on time with TMR_EN), SLP_EN with
// SLP_TYP 0 powers off, other sleep types are ignored and counted.
import { expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqLine } from '../../src/core/platform/irq';
import { PmTimer } from '../../src/core/platform/devices/pm-timer';
import { AcpiPm1, Pm1Sts } from '../../src/core/platform/devices/acpi-pm1';

function setup() {
  const counter = { icount: 0 };
  const clock = new VirtualClock(counter); // 100 M instructions/s
  const io = new IoBus();
  const timer = new PmTimer(clock);
  const levels: boolean[] = [];
  const pm1 = new AcpiPm1(clock, timer, new IrqLine({ setIrq: (_n, l) => levels.push(l) }, 9));
  pm1.registerPorts(io, 0x600);
  return { counter, clock, io, pm1, levels };
}

it('sets TMR_STS at each change of PM timer bit 23 and clears it on a write of 1', () => {
  const { counter, io, levels } = setup();
  expect(io.read(0x604, 2)).toBe(1); // SCI_EN: always in ACPI mode
  expect(io.read(0x600, 2)).toBe(0);
  counter.icount = 2.3e8; // 2.3 s: bit 23 (2^23 / 3.579545 MHz = 2.343 s) not yet set
  expect(io.read(0x600, 2) & Pm1Sts.Tmr).toBe(0);
  counter.icount = 2.4e8;
  expect(io.read(0x600, 2) & Pm1Sts.Tmr).toBe(Pm1Sts.Tmr);
  io.write(0x600, 2, 0x0000); // writing 0 keeps it
  expect(io.read(0x600, 2) & Pm1Sts.Tmr).toBe(Pm1Sts.Tmr);
  io.write(0x600, 2, Pm1Sts.Tmr);
  expect(io.read(0x600, 2) & Pm1Sts.Tmr).toBe(0);
  expect(levels).toEqual([]); // TMR_EN off: no SCI
});

it('raises the SCI on time when TMR_EN is set, and lowers it when the status is cleared', () => {
  const { counter, clock, io, levels } = setup();
  io.write(0x602, 2, Pm1Sts.Tmr);
  expect(io.read(0x602, 2)).toBe(Pm1Sts.Tmr);
  // The carry is due at 2^23 ticks = 2.3435 s; run the clock's timers as the machine does.
  counter.icount = 2.34e8; clock.runDue();
  expect(levels).toEqual([]);
  counter.icount = 2.35e8; clock.runDue();
  expect(levels).toEqual([true]);
  io.write(0x600, 2, Pm1Sts.Tmr);
  expect(levels).toEqual([true, false]);
  counter.icount = 4.7e8; clock.runDue(); // the next carry at 4.687 s
  expect(levels).toEqual([true, false, true]);
  io.write(0x604, 2, 0); // SCI_EN off masks it
  expect(levels).toEqual([true, false, true, false]);
});

it('powers off on SLP_EN with SLP_TYP 0 and ignores other sleep types', () => {
  const { io, pm1 } = setup();
  let off = 0;
  pm1.onPowerOff = () => off++;
  io.write(0x604, 2, (1 << 10) | (1 << 13) | 1); // S1-type request
  expect(off).toBe(0);
  expect(pm1.otherSleepRequests).toBe(1);
  expect(io.read(0x604, 2)).toBe((1 << 10) | 1); // SLP_EN reads as 0
  io.write(0x604, 2, (1 << 13) | 1);
  expect(off).toBe(1);
  pm1.pressPowerButton();
  expect(io.read(0x600, 2) & Pm1Sts.PwrBtn).toBe(Pm1Sts.PwrBtn);
});
