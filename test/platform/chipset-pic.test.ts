// The 8259A pair as a PC BIOS and OS drive it: ICW1-ICW4 with vectors 0x08/0x70, masking, EOI and
// priority, cascade through IRQ2, ELCR level triggering and the spurious IRQ7/IRQ15 vectors.
import { beforeEach, describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { Pic8259Pair } from '../../src/core/platform/devices/pic';

let io: IoBus;
let pic: Pic8259Pair;
let outputs: boolean[];

const out = (port: number, v: number) => io.write(port, 1, v);
const inb = (port: number) => io.read(port, 1);

/** The sequence a PC BIOS uses: edge-triggered, cascade, 8086 mode, master 0x08, slave 0x70. */
function biosInit(icw4 = 0x01): void {
  out(0x20, 0x11); out(0xa0, 0x11); // ICW1: edge, cascade, ICW4 needed
  out(0x21, 0x08); out(0xa1, 0x70); // ICW2: vector bases
  out(0x21, 0x04); out(0xa1, 0x02); // ICW3: slave on IR2 / slave id 2
  out(0x21, icw4); out(0xa1, icw4); // ICW4: 8086 mode (+AEOI when 0x03)
  out(0x21, 0x00); out(0xa1, 0x00); // OCW1: all unmasked
}
const isr = (base: number) => { out(base, 0x0b); return inb(base); };
const irr = (base: number) => { out(base, 0x0a); return inb(base); };
const eoi = (base: number) => out(base, 0x20);

beforeEach(() => {
  io = new IoBus();
  outputs = [];
  pic = new Pic8259Pair((level) => outputs.push(level));
  pic.registerPorts(io);
  biosInit();
});

describe('8259A pair', () => {
  it('claims its ports with readable names', () => {
    expect(io.nameOf(0x20)).toMatch(/PIC master/);
    expect(io.nameOf(0xa1)).toMatch(/PIC slave/);
    expect(io.nameOf(0x4d1)).toMatch(/ELCR/);
  });

  it('delivers IRQ1 as vector 0x09, holds it in service until EOI', () => {
    pic.setIrq(1, true);
    expect(outputs).toEqual([true]);
    expect(pic.hasInterrupt()).toBe(true);
    expect(irr(0x20)).toBe(0x02);
    expect(pic.acknowledge()).toBe(0x09);
    expect(isr(0x20)).toBe(0x02);
    expect(irr(0x20)).toBe(0x00); // edge request cleared on INTA
    expect(pic.hasInterrupt()).toBe(false);
    expect(outputs).toEqual([true, false]);
    pic.setIrq(1, false);
    pic.setIrq(1, true); // next keystroke while the first is still in service
    expect(pic.hasInterrupt()).toBe(false);
    eoi(0x20);
    expect(isr(0x20)).toBe(0);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x09);
  });

  it('masks through OCW1 and keeps the request latched in IRR', () => {
    out(0x21, 0xff);
    expect(inb(0x21)).toBe(0xff);
    pic.setIrq(0, true); pic.setIrq(0, false); // a PIT pulse
    expect(pic.hasInterrupt()).toBe(false);
    expect(irr(0x20)).toBe(0x01);
    out(0x21, 0xfe);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x08);
  });

  it('resolves fixed priority and nests a higher-priority request', () => {
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09); // IRQ1 beats IRQ3
    expect(pic.hasInterrupt()).toBe(false); // IRQ3 is lower than IRQ1 in service
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x08); // IRQ0 nests above IRQ1
    expect(isr(0x20)).toBe(0x03);
    eoi(0x20); // non-specific EOI clears the highest in service: IRQ0
    expect(isr(0x20)).toBe(0x02);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x20, 0x61); // specific EOI for IRQ1
    expect(isr(0x20)).toBe(0);
    expect(pic.acknowledge()).toBe(0x0b);
  });

  it('cascades the slave through IRQ2 (RTC IRQ8, then IDE IRQ14)', () => {
    pic.setIrq(14, true);
    pic.setIrq(8, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(irr(0x20)).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x70);
    expect(isr(0x20)).toBe(0x04);
    expect(isr(0xa0)).toBe(0x01);
    expect(pic.hasInterrupt()).toBe(false);
    eoi(0xa0); // the handler EOIs the slave, then the master
    expect(pic.hasInterrupt()).toBe(false); // master IR2 still in service
    eoi(0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x76);
    expect(pic.stats().acknowledged[8]).toBe(1);
    expect(pic.stats().acknowledged[14]).toBe(1);
    expect(pic.stats().raised[14]).toBe(1);
  });

  it('masks slave lines in the slave IMR and the whole slave through master IR2', () => {
    out(0x21, 0x04);
    pic.setIrq(12, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x21, 0x00);
    out(0xa1, 0x10);
    pic.setIrq(12, false); pic.setIrq(12, true);
    expect(pic.hasInterrupt()).toBe(true); // master IRR2 latched the edge before the slave masked it
    out(0xa1, 0x00);
    expect(pic.acknowledge()).toBe(0x74);
  });

  it('answers a level request that vanished before INTA with spurious IRQ7 (no ISR bit)', () => {
    out(0x4d0, 0x20); // IRQ5 level-triggered
    expect(inb(0x4d0)).toBe(0x20);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.acknowledge()).toBe(0x0f);
    expect(isr(0x20)).toBe(0);
    expect(pic.stats().spurious7).toBe(1);
  });

  it('answers a vanished slave request with spurious IRQ15 and master ISR2 set', () => {
    out(0x4d1, 0x04); // IRQ10 level-triggered
    pic.setIrq(10, true);
    pic.setIrq(10, false); // gone; the master latched the cascade edge
    expect(pic.acknowledge()).toBe(0x77);
    expect(isr(0x20)).toBe(0x04);
    expect(isr(0xa0)).toBe(0);
    expect(pic.stats().spurious15).toBe(1);
  });

  it('re-interrupts for a level line still high after EOI, and not after it drops', () => {
    out(0x4d1, 0x08); // IRQ11 level (a PCI device)
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x73);
    eoi(0xa0); eoi(0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x73);
    pic.setIrq(11, false);
    eoi(0xa0); eoi(0x20);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('keeps IRQ0, 1, 2, 8 and 13 edge-only in the ELCR', () => {
    out(0x4d0, 0xff); out(0x4d1, 0xff);
    expect(inb(0x4d0)).toBe(0xf8);
    expect(inb(0x4d1)).toBe(0xde);
    expect(io.read(0x4d0, 2)).toBe(0xdef8);
  });

  it('does not set ISR in automatic EOI mode', () => {
    biosInit(0x03);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x08);
    expect(isr(0x20)).toBe(0);
    pic.setIrq(0, false); pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x08); // no EOI needed
  });

  it('rotates priority with the set-priority command and rotate-on-EOI', () => {
    out(0x20, 0xc0 | 3); // IRQ3 lowest, so IRQ4 highest
    pic.setIrq(1, true);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x0d);
    out(0x20, 0xa0); // rotate on non-specific EOI: IRQ5 becomes lowest, IRQ6 highest
    expect(pic.state().master.lowestPriority).toBe(5);
    expect(pic.acknowledge()).toBe(0x09);
  });

  it('answers the poll command with the highest request and acknowledges it', () => {
    pic.setIrq(6, true); // the CPU runs with IF = 0; the IMR still applies to the poll
    pic.setIrq(7, true);
    out(0x20, 0x0c); // OCW3 poll
    expect(inb(0x20)).toBe(0x86);
    expect(isr(0x20)).toBe(0x40);
    out(0x21, 0x80);
    out(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x00); // IRQ7 masked: nothing to report
  });

  it('lets lower levels through in special mask mode', () => {
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x08);
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x21, 0x01); // mask the level in service
    out(0x20, 0x68); // OCW3: set special mask mode
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x0c);
    out(0x20, 0x48); // reset special mask mode
    expect(pic.state().master.specialMask).toBe(false);
  });

  it('reinitialises on ICW1: clears ISR and IMR, forgets latched edges', () => {
    out(0x21, 0xff);
    pic.setIrq(3, true);
    pic.setIrq(4, true); pic.setIrq(4, false);
    out(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x0b);
    biosInit();
    expect(isr(0x20)).toBe(0);
    expect(irr(0x20)).toBe(0); // line 3 is still high but its edge was consumed
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(3, false); pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x0b);
  });

  it('starts uninitialised after reset() and reports state', () => {
    pic.setIrq(1, true);
    pic.reset();
    const s = pic.state();
    expect(s.master.initialised).toBe(false);
    expect(s.output).toBe(false);
    expect(pic.stats().raised[1]).toBe(0);
  });
});
