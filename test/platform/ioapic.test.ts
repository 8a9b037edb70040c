// The I/O APIC with two local APICs on the bus: register access through IOREGSEL/IOWIN,
// redirection to physical and logical destinations, the ISA IRQ0 -> pin 2 override, masking
// (edges on a masked pin are lost), level-triggered pins with the remote IRR and the EOI
// broadcast, NMI and ExtINT delivery.
import { beforeEach, describe, expect, it } from 'vitest';
import { createCpu, type Cpu, type InterruptSource } from '../../src/core/cpu/index';
import { IoBus } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { VirtualClock } from '../../src/core/platform/clock';
import { ApicBus } from '../../src/core/platform/devices/apic-bus';
import { LapicReg, LocalApic } from '../../src/core/platform/devices/lapic';
import { IOAPIC_VERSION, IoApic, RedirBit, isaIrqToPin } from '../../src/core/platform/devices/ioapic';

class FakePic implements InterruptSource {
  queue: number[] = [];
  hasInterrupt(): boolean { return this.queue.length > 0; }
  acknowledge(): number { return this.queue.shift() ?? 0x0f; }
}

let ioapic: IoApic;
let apics: LocalApic[];
let cpus: Cpu[];
let pic: FakePic;
const bit = (words: Uint32Array, v: number): boolean => (words[v >>> 5] & (1 << (v & 31))) !== 0;

/** Writes redirection entry `pin` through IOREGSEL/IOWIN, high dword first (as Linux does). */
function route(pin: number, low: number, dest: number): void {
  ioapic.mmioWrite(0x00, 4, 0x11 + 2 * pin); ioapic.mmioWrite(0x10, 4, dest << 24);
  ioapic.mmioWrite(0x00, 4, 0x10 + 2 * pin); ioapic.mmioWrite(0x10, 4, low);
}
function readReg(index: number): number {
  ioapic.mmioWrite(0x00, 1, index);
  return ioapic.mmioRead(0x10, 4) >>> 0;
}

beforeEach(() => {
  const bus = new ApicBus();
  const clock = new VirtualClock({ icount: 0 });
  const mem = new PhysicalMemory(1 << 20), io = new IoBus();
  pic = new FakePic();
  cpus = [createCpu(mem, io), createCpu(mem, io)];
  apics = cpus.map((c, i) => {
    const a = new LocalApic(c, clock, bus, { id: i, bsp: i === 0, extInt: pic, onInit: () => true });
    c.intr = a;
    bus.add(a);
    a.writeRegister(LapicReg.Svr, 0x1ff);
    return a;
  });
  ioapic = new IoApic(bus);
});

describe('I/O APIC registers', () => {
  it('has a version with 24 entries, a writable 4-bit ID and every entry masked at reset', () => {
    expect(readReg(0x01)).toBe(IOAPIC_VERSION);
    expect(IOAPIC_VERSION).toBe(0x00170011);
    expect(readReg(0x00)).toBe(0);
    ioapic.mmioWrite(0x00, 1, 0x00); ioapic.mmioWrite(0x10, 4, 0x02000000);
    expect(readReg(0x00)).toBe(0x02000000);
    expect(readReg(0x02)).toBe(0x02000000); // arbitration ID follows
    for (let pin = 0; pin < 24; pin++) expect(readReg(0x10 + 2 * pin)).toBe(RedirBit.Masked);
    ioapic.mmioWrite(0x00, 4, 0x2e);
    expect(ioapic.mmioRead(0x00, 4)).toBe(0x2e); // IOREGSEL reads back
  });

  it('keeps delivery status and remote IRR read-only', () => {
    route(5, 0x5000 | 0x35, 0); // tries to set [12] and [14]
    expect(readReg(0x10 + 10)).toBe(0x1035 & ~0x1000);
  });
});

describe('I/O APIC redirection', () => {
  it('routes ISA IRQ0 to pin 2 and the other ISA IRQs to their own pins', () => {
    expect(isaIrqToPin(0)).toBe(2);
    expect(isaIrqToPin(2)).toBe(-1);
    expect(isaIrqToPin(4)).toBe(4);
    route(2, 0x30, 0); // fixed, physical, edge, vector 30h to APIC 0
    ioapic.setIrq(0, true); ioapic.setIrq(0, false); // a PIT pulse
    expect(bit(apics[0].irr, 0x30)).toBe(true);
    expect(bit(apics[0].tmr, 0x30)).toBe(false);
    expect(ioapic.sentCount[2]).toBe(1);
  });

  it('sends one message per rising edge and loses edges on a masked pin', () => {
    route(4, 0x34, 1);
    ioapic.setIrq(4, true);
    expect(apics[1].acknowledge()).toBe(0x34);
    apics[1].writeRegister(LapicReg.Eoi, 0);
    ioapic.setIrq(4, true); // still high: no new edge
    expect(apics[1].hasInterrupt()).toBe(false);
    ioapic.setIrq(4, false);
    route(4, RedirBit.Masked | 0x34, 1);
    ioapic.setIrq(4, true); // edge while masked: lost
    route(4, 0x34, 1);
    expect(apics[1].hasInterrupt()).toBe(false);
    ioapic.setIrq(4, false); ioapic.setIrq(4, true);
    expect(apics[1].acknowledge()).toBe(0x34);
  });

  it('delivers to a logical destination set (flat model)', () => {
    apics[0].writeRegister(LapicReg.Ldr, 0x01000000);
    apics[1].writeRegister(LapicReg.Ldr, 0x02000000);
    route(6, RedirBit.Logical | 0x36, 0x02);
    ioapic.setPin(6, true);
    expect(bit(apics[1].irr, 0x36)).toBe(true);
    expect(bit(apics[0].irr, 0x36)).toBe(false);
    route(7, RedirBit.Logical | 0x100 | 0x37, 0x03); // lowest priority over both
    apics[0].writeRegister(LapicReg.Tpr, 0x50);
    ioapic.setPin(7, true);
    expect(bit(apics[1].irr, 0x37)).toBe(true);
    expect(bit(apics[0].irr, 0x37)).toBe(false);
  });

  it('holds a level-triggered pin in remote IRR until the EOI broadcast, then resends while asserted', () => {
    route(9, RedirBit.LevelTriggered | 0x49, 0);
    ioapic.setPin(9, true);
    expect(readReg(0x10 + 18) & RedirBit.RemoteIrr).toBe(RedirBit.RemoteIrr);
    expect(apics[0].acknowledge()).toBe(0x49);
    expect(bit(apics[0].tmr, 0x49)).toBe(true);
    ioapic.setPin(9, true); // still asserted, remote IRR set: nothing new
    expect(ioapic.sentCount[9]).toBe(1);
    apics[0].writeRegister(LapicReg.Eoi, 0); // EOI broadcast: remote IRR clears, pin still high
    expect(ioapic.sentCount[9]).toBe(2);
    expect(apics[0].acknowledge()).toBe(0x49);
    ioapic.setPin(9, false); // the device is serviced
    apics[0].writeRegister(LapicReg.Eoi, 0);
    expect(readReg(0x10 + 18) & RedirBit.RemoteIrr).toBe(0);
    expect(ioapic.sentCount[9]).toBe(2);
    expect(apics[0].hasInterrupt()).toBe(false);
  });

  it('sends an asserted level-triggered pin when it is unmasked; masked level changes do nothing', () => {
    route(10, RedirBit.Masked | RedirBit.LevelTriggered | 0x4a, 1);
    ioapic.setPin(10, true);
    expect(ioapic.sentCount[10]).toBe(0);
    route(10, RedirBit.LevelTriggered | 0x4a, 1);
    expect(ioapic.sentCount[10]).toBe(1);
    expect(bit(apics[1].irr, 0x4a)).toBe(true);
  });

  it('leaves remote IRR clear when no local APIC accepts (software-disabled target)', () => {
    apics[1].writeRegister(LapicReg.Svr, 0xff);
    route(11, RedirBit.LevelTriggered | 0x4b, 1);
    ioapic.setPin(11, true);
    expect(readReg(0x10 + 22) & RedirBit.RemoteIrr).toBe(0);
  });

  it('delivers NMI and ExtINT (the 8259 vector through pin 0)', () => {
    route(3, 0x400, 1); // NMI
    ioapic.setPin(3, true);
    expect(cpus[1].nmiPending).toBe(true);
    route(0, 0x700, 0); // ExtINT
    pic.queue.push(0x08);
    ioapic.setPin(0, true);
    expect(apics[0].hasInterrupt()).toBe(true);
    expect(apics[0].acknowledge()).toBe(0x08);
    expect(apics[0].hasInterrupt()).toBe(false);
  });
});
