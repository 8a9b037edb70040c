// The local APIC on its own (two APICs on one bus, a virtual clock driven by a counter the test
// sets): the timer in virtual time, IPIs through the ICR, IRR/ISR priorities and EOI, TPR
// masking, the spurious vector, LINT0 ExtINT in virtual-wire mode, IA32_APIC_BASE.
import { beforeEach, describe, expect, it } from 'vitest';
import { createCpu, type Cpu, type InterruptSource } from '../../src/core/cpu/index';
import { IoBus } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { VirtualClock } from '../../src/core/platform/clock';
import { ApicBus } from '../../src/core/platform/devices/apic-bus';
import { EsrBit, LAPIC_VERSION, LapicReg, LocalApic, Lvt } from '../../src/core/platform/devices/lapic';

/** A stand-in 8259: hands out queued vectors. */
class FakePic implements InterruptSource {
  queue: number[] = [];
  hasInterrupt(): boolean { return this.queue.length > 0; }
  acknowledge(): number { return this.queue.length > 0 ? this.queue.shift()! : 0x0f; }
}

const time = { icount: 0 }; // instruction units; 10 ns each at 100 MIPS
let clock: VirtualClock;
let bus: ApicBus;
let pic: FakePic;
let cpus: Cpu[];
let apics: LocalApic[];
let inits: number[];

function setTimeNs(ns: number): void { time.icount = ns / 10; clock.runDue(); }
const bit = (words: Uint32Array, v: number): boolean => (words[v >>> 5] & (1 << (v & 31))) !== 0;

beforeEach(() => {
  time.icount = 0;
  clock = new VirtualClock(time, 100_000_000);
  bus = new ApicBus();
  pic = new FakePic();
  inits = [];
  const mem = new PhysicalMemory(1 << 20), io = new IoBus();
  cpus = [createCpu(mem, io), createCpu(mem, io)];
  apics = cpus.map((c, i) => {
    const a = new LocalApic(c, clock, bus, { id: i, bsp: i === 0, extInt: pic, onInit: () => { inits.push(i); c.init(); if (i > 0) c.enterWaitForSipi(); return true; } });
    c.intr = a; c.lapic = a;
    bus.add(a);
    a.writeRegister(LapicReg.Svr, 0x1ff); // software-enabled, spurious vector FFh
    return a;
  });
});

describe('local APIC registers', () => {
  it('reports ID, version, reset LVT masks and the IA32_APIC_BASE BSP bit only on CPU 0', () => {
    const a = new LocalApic(cpus[1], clock, bus, { id: 1, bsp: false, extInt: null, onInit: () => true });
    expect(a.readRegister(LapicReg.Id) >>> 0).toBe(0x01000000);
    expect(a.readRegister(LapicReg.Version)).toBe(LAPIC_VERSION);
    expect(LAPIC_VERSION & 0xff).toBe(0x14);
    expect((LAPIC_VERSION >>> 16) & 0xff).toBe(5); // six LVT entries
    for (let r = LapicReg.LvtTimer; r <= LapicReg.LvtError; r += 0x10) expect(a.readRegister(r)).toBe(0x10000);
    expect(a.readRegister(LapicReg.Svr)).toBe(0xff);
    expect(a.readRegister(LapicReg.Dfr) >>> 0).toBe(0xffffffff);
    expect(apics[0].readBaseMsr() >>> 0).toBe(0xfee00900);
    expect(apics[1].readBaseMsr() >>> 0).toBe(0xfee00800);
    expect(apics[1].writeBaseMsr(0xfee00801, 0)).toBe(false); // reserved bit 0
    expect(apics[1].writeBaseMsr(0xfee00400, 0)).toBe(false); // x2APIC enable: not offered
  });

  it('cannot unmask LVT entries while software-disabled; disabling masks them all', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.LvtLint0, 0x700);
    expect(a.readRegister(LapicReg.LvtLint0)).toBe(0x700);
    a.writeRegister(LapicReg.Svr, 0xff); // software disable
    expect(a.readRegister(LapicReg.LvtLint0)).toBe(0x10700);
    a.writeRegister(LapicReg.LvtTimer, 0x20);
    expect(a.readRegister(LapicReg.LvtTimer)).toBe(0x10020);
  });

  it('answers MMIO at 16-byte aligned offsets and flags reserved registers in the ESR', () => {
    const a = apics[1];
    expect(a.mmioRead(0x20, 4) >>> 0).toBe(0x01000000);
    expect(a.mmioRead(0x23, 1)).toBe(0x01);
    expect(a.mmioRead(0x24, 4)).toBe(0); // the rest of the 16-byte slot
    a.mmioWrite(0x80, 4, 0x35);
    expect(a.tpr).toBe(0x35);
    a.mmioRead(0x40, 4); // reserved
    a.writeRegister(LapicReg.Esr, 0);
    expect(a.readRegister(LapicReg.Esr)).toBe(EsrBit.IllegalRegister);
    a.writeRegister(LapicReg.Esr, 0); // a write latches the errors since the last write: none
    expect(a.readRegister(LapicReg.Esr)).toBe(0);
  });
});

describe('local APIC timer (virtual time)', () => {
  it('counts down at the divided 100 MHz bus clock and fires once in one-shot mode', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.TimerDivide, 0x0b); // divide by 1: 10 ns per count
    a.writeRegister(LapicReg.LvtTimer, 0x40);
    a.writeRegister(LapicReg.TimerInitial, 1000);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(1000);
    setTimeNs(5000);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(500);
    expect(bit(a.irr, 0x40)).toBe(false);
    setTimeNs(9990);
    expect(bit(a.irr, 0x40)).toBe(false);
    setTimeNs(10000);
    expect(bit(a.irr, 0x40)).toBe(true);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(0);
    expect(a.timerFires).toBe(1);
    setTimeNs(50000);
    expect(a.timerFires).toBe(1);
  });

  it('reloads in periodic mode and honours the divider', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.TimerDivide, 0x03); // divide by 16: 160 ns per count
    a.writeRegister(LapicReg.LvtTimer, 0x20000 | 0x41); // periodic
    a.writeRegister(LapicReg.TimerInitial, 100); // 16 us period
    setTimeNs(8000);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(50);
    for (let k = 1; k <= 5; k++) setTimeNs(k * 16000);
    expect(a.timerFires).toBe(5);
    setTimeNs(5 * 16000 + 4000);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(75);
    a.writeRegister(LapicReg.TimerInitial, 0); // stops it
    setTimeNs(200000);
    expect(a.timerFires).toBe(5);
  });

  it('keeps counting with the LVT masked but raises nothing', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.TimerDivide, 0x0b);
    a.writeRegister(LapicReg.LvtTimer, 0x10042);
    a.writeRegister(LapicReg.TimerInitial, 100);
    setTimeNs(500);
    expect(a.readRegister(LapicReg.TimerCurrent)).toBe(50);
    setTimeNs(1000);
    expect(a.timerFires).toBe(1);
    expect(bit(a.irr, 0x42)).toBe(false);
  });
});

describe('local APIC interrupt acceptance', () => {
  it('delivers the highest pending vector, holds lower classes while one is in service, EOI releases them', () => {
    const a = apics[0];
    a.accept(0, 0x31, true, false);
    a.accept(0, 0x51, true, false);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x51);
    expect(bit(a.isr, 0x51)).toBe(true);
    expect(a.ppr()).toBe(0x50);
    a.accept(0, 0x55, true, false); // same class as the one in service: held
    expect(a.hasInterrupt()).toBe(false);
    a.accept(0, 0x61, true, false); // higher class: nests
    expect(a.acknowledge()).toBe(0x61);
    a.writeRegister(LapicReg.Eoi, 0); // ends 0x61
    expect(a.hasInterrupt()).toBe(false); // 0x55 still below 0x51's class
    a.writeRegister(LapicReg.Eoi, 0); // ends 0x51
    expect(a.acknowledge()).toBe(0x55);
    a.writeRegister(LapicReg.Eoi, 0);
    expect(a.acknowledge()).toBe(0x31);
    a.writeRegister(LapicReg.Eoi, 0);
    expect(a.hasInterrupt()).toBe(false);
    expect(Array.from(a.isr).every((w) => w === 0)).toBe(true);
  });

  it('masks by TPR class and answers the spurious vector when nothing is deliverable', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.Tpr, 0x40);
    a.accept(0, 0x45, true, false);
    expect(a.hasInterrupt()).toBe(false);
    expect(a.acknowledge()).toBe(0xff); // spurious: no ISR bit
    expect(bit(a.isr, 0xff)).toBe(false);
    a.accept(0, 0x50, true, false);
    expect(a.acknowledge()).toBe(0x50);
    a.writeRegister(LapicReg.Eoi, 0);
    cpus[0].eventPending = false;
    a.writeRegister(LapicReg.Tpr, 0x00);
    expect(cpus[0].eventPending).toBe(true); // lowering TPR tells the CPU to look again
    expect(a.acknowledge()).toBe(0x45);
  });

  it('refuses fixed interrupts while software-disabled and illegal vectors with an ESR error', () => {
    const a = apics[1];
    a.writeRegister(LapicReg.Svr, 0xff);
    expect(a.accept(0, 0x40, true, false)).toBe(false);
    expect(bit(a.irr, 0x40)).toBe(false);
    a.writeRegister(LapicReg.Svr, 0x1ff);
    a.writeRegister(LapicReg.LvtError, 0xfe);
    expect(a.accept(0, 0x0e, true, false)).toBe(false);
    a.writeRegister(LapicReg.Esr, 0);
    expect(a.readRegister(LapicReg.Esr)).toBe(EsrBit.ReceivedIllegalVector);
    expect(bit(a.irr, 0xfe)).toBe(true); // the error LVT fired
  });
});

describe('IPIs through the ICR', () => {
  const icr = (a: LocalApic, high: number, low: number): void => {
    a.writeRegister(LapicReg.IcrHigh, high);
    a.writeRegister(LapicReg.IcrLow, low);
  };

  it('sends fixed IPIs by physical ID, broadcast and shorthands; delivery status reads idle', () => {
    icr(apics[0], 0x01000000, 0x4041); // fixed, physical, vector 41h, to APIC 1
    expect(bit(apics[1].irr, 0x41)).toBe(true);
    expect(bit(apics[0].irr, 0x41)).toBe(false);
    expect(apics[0].readRegister(LapicReg.IcrLow) & 0x1000).toBe(0);
    icr(apics[0], 0xff000000, 0x0042); // physical broadcast
    expect(bit(apics[0].irr, 0x42) && bit(apics[1].irr, 0x42)).toBe(true);
    icr(apics[1], 0, 0x40043); // shorthand self
    expect(bit(apics[1].irr, 0x43)).toBe(true);
    expect(bit(apics[0].irr, 0x43)).toBe(false);
    icr(apics[1], 0, 0xc0044); // all excluding self
    expect(bit(apics[0].irr, 0x44)).toBe(true);
    expect(bit(apics[1].irr, 0x44)).toBe(false);
    icr(apics[1], 0, 0x80045); // all including self
    expect(bit(apics[0].irr, 0x45) && bit(apics[1].irr, 0x45)).toBe(true);
  });

  it('matches logical destinations in the flat and cluster models', () => {
    apics[0].writeRegister(LapicReg.Ldr, 0x01000000);
    apics[1].writeRegister(LapicReg.Ldr, 0x02000000);
    icr(apics[0], 0x02000000, 0x0850); // logical, MDA 02h -> CPU 1
    expect(bit(apics[1].irr, 0x50)).toBe(true);
    expect(bit(apics[0].irr, 0x50)).toBe(false);
    icr(apics[0], 0x03000000, 0x0851); // both
    expect(bit(apics[0].irr, 0x51) && bit(apics[1].irr, 0x51)).toBe(true);
    for (const a of apics) a.writeRegister(LapicReg.Dfr, 0x0fffffff); // cluster model
    apics[0].writeRegister(LapicReg.Ldr, 0x11000000); // cluster 1, member 1
    apics[1].writeRegister(LapicReg.Ldr, 0x21000000); // cluster 2, member 1
    icr(apics[0], 0x21000000, 0x0852);
    expect(bit(apics[1].irr, 0x52)).toBe(true);
    expect(bit(apics[0].irr, 0x52)).toBe(false);
  });

  it('gives lowest-priority interrupts to the APIC with the lowest priority', () => {
    apics[0].writeRegister(LapicReg.Tpr, 0x80);
    icr(apics[0], 0xff000000, 0x0160); // lowest priority to all: CPU 1 (TPR 0)
    expect(bit(apics[1].irr, 0x60)).toBe(true);
    expect(bit(apics[0].irr, 0x60)).toBe(false);
    apics[0].writeRegister(LapicReg.Tpr, 0);
    apics[1].writeRegister(LapicReg.Tpr, 0x20);
    icr(apics[1], 0xff000000, 0x0161);
    expect(bit(apics[0].irr, 0x61)).toBe(true);
    expect(bit(apics[1].irr, 0x61)).toBe(false);
  });

  it('refuses to send illegal vectors (ESR send illegal vector)', () => {
    icr(apics[0], 0x01000000, 0x0005);
    expect(Array.from(apics[1].irr).every((w) => w === 0)).toBe(true);
    apics[0].writeRegister(LapicReg.Esr, 0);
    expect(apics[0].readRegister(LapicReg.Esr)).toBe(EsrBit.SendIllegalVector);
  });

  it('delivers NMI, INIT (not the de-assert), and a Startup IPI only in wait-for-SIPI', () => {
    icr(apics[0], 0x01000000, 0x0400); // NMI
    expect(cpus[1].nmiPending).toBe(true);
    icr(apics[0], 0x01000000, 0x8500); // INIT level de-assert: no effect
    expect(inits).toEqual([]);
    apics[1].writeRegister(LapicReg.Tpr, 0x20);
    icr(apics[0], 0x01000000, 0xc500); // INIT assert
    expect(inits).toEqual([1]);
    expect(cpus[1].waitForSipi).toBe(true);
    expect(apics[1].tpr).toBe(0); // INIT resets the APIC ...
    expect(apics[1].id).toBe(1); // ... but keeps its ID
    icr(apics[0], 0x01000000, 0x0612); // Startup, vector 12h
    expect(cpus[1].waitForSipi).toBe(false);
    expect(cpus[1].segSel[1]).toBe(0x1200);
    expect(cpus[1].segBase[1]).toBe(0x12000);
    expect(cpus[1].eip).toBe(0);
    icr(apics[0], 0x01000000, 0x0634); // a second SIPI is ignored once running
    expect(cpus[1].segSel[1]).toBe(0x1200);
  });
});

describe('LINT0 and the 8259 (virtual wire)', () => {
  it('passes the 8259 vector through LINT0 ExtINT and not while LINT0 is masked', () => {
    const a = apics[0];
    pic.queue.push(0x08);
    a.setLint(0, true);
    expect(a.hasInterrupt()).toBe(false); // LINT0 masked since reset
    a.writeRegister(LapicReg.LvtLint0, 0x700);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x08);
    expect(Array.from(a.isr).every((w) => w === 0)).toBe(true); // ExtINT bypasses IRR/ISR
    a.writeRegister(LapicReg.Tpr, 0xf0); // and the TPR
    pic.queue.push(0x09);
    expect(a.acknowledge()).toBe(0x09);
  });

  it('makes LINT0 the INTR pin with the APIC globally disabled', () => {
    const a = apics[0];
    expect(a.writeBaseMsr(0xfee00000, 0)).toBe(true); // clear [11]
    expect(a.hwEnabled).toBe(false);
    pic.queue.push(0x20);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x20);
    expect(a.accept(0, 0x40, true, false)).toBe(false); // off the bus
    expect(a.writeBaseMsr(0xfee00800, 0)).toBe(true);
    expect(a.readRegister(LapicReg.Svr)).toBe(0xff); // back in the reset state
  });

  it('raises NMI on a LINT1 edge when programmed so', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.LvtLint1, 0x400);
    a.setLint(1, true);
    expect(cpus[0].nmiPending).toBe(true);
  });

  it('delivers a level-triggered fixed LINT0 once until EOI (remote IRR)', () => {
    const a = apics[0];
    a.writeRegister(LapicReg.LvtLint0, 0x8000 | 0x66); // fixed, level-triggered
    a.setLint(0, true);
    expect(a.readRegister(LapicReg.LvtLint0) & 0x4000).toBe(0x4000);
    expect(a.acknowledge()).toBe(0x66);
    expect(bit(a.tmr, 0x66)).toBe(true);
    a.writeRegister(LapicReg.Eoi, 0); // pin still high: delivered again
    expect(bit(a.irr, 0x66)).toBe(true);
    expect(a.acknowledge()).toBe(0x66);
    a.setLint(0, false);
    a.writeRegister(LapicReg.Eoi, 0);
    expect(bit(a.irr, 0x66)).toBe(false);
    expect(a.readRegister(LapicReg.LvtLint0) & 0x4000).toBe(0);
    expect(Lvt.Lint0).toBe(3);
  });
});
