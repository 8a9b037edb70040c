// The I/O APIC, 82093AA-style (Intel 82093AA I/O Advanced Programmable Interrupt Controller
// datasheet, order 290566, §3): 24 interrupt input pins, each with a 64-bit redirection entry
// that turns a pin's assertion into an interrupt message on the APIC bus. Memory-mapped at
// FEC00000h: IOREGSEL (offset 00h, the register index) and IOWIN (offset 10h, the data window).
//
// Registers through IOREGSEL/IOWIN (datasheet §3.1, §3.2):
//   00h IOAPICID  [27:24] ID        01h IOAPICVER [7:0] 11h | [23:16] max redirection entry (17h)
//   02h IOAPICARB [27:24] arbitration ID (read-only; loaded from the ID)
//   10h+2n, 11h+2n  redirection entry n, low and high dword:
//     [7:0] vector | [10:8] delivery mode | [11] logical destination | [12] delivery status (RO) |
//     [13] polarity (1 low) | [14] remote IRR (RO) | [15] level-triggered | [16] mask | [63:56] dest
//
// Wiring on this PC (as the MADT and MP table declare): ISA IRQ n -> pin n, except IRQ0 (the
// PIT) -> pin 2 (interrupt source override); pin 0 carries the 8259's INTR output (ExtINT,
// "virtual wire" through the I/O APIC); pins 16-23 are free. The lines carry logical assertion
// (a device's IrqLine high means "requesting"), so the polarity bit is stored and read back but
// never inverts anything: the board is assumed wired as the tables say.
//
// Edge-triggered pins send one message per rising edge; an edge on a masked pin is lost
// (datasheet §3.2.4, Interrupt Mask). Level-triggered pins send while asserted and the remote
// IRR is clear; the remote IRR is set when a local APIC accepts the message and cleared by the
// EOI broadcast for its vector, after which a still-asserted pin sends again.
import type { IrqSink } from '../irq';
import type { MmioDevice } from '../memory';
import { type ApicBus, DeliveryMode, type EoiListener, Shorthand } from './apic-bus';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
/** IOAPICVER: version 11h (82093AA), maximum redirection entry 23. */
export const IOAPIC_VERSION = 0x00170011;

export enum IoApicReg { Id = 0x00, Version = 0x01, Arbitration = 0x02, Redirection = 0x10 }

/** Redirection entry low-dword fields. */
export enum RedirBit {
  Logical = 1 << 11, DeliveryStatus = 1 << 12, PolarityLow = 1 << 13, RemoteIrr = 1 << 14,
  LevelTriggered = 1 << 15, Masked = 1 << 16,
}
const REDIR_LOW_WRITABLE = 0xff | 0x700 | RedirBit.Logical | RedirBit.PolarityLow | RedirBit.LevelTriggered | RedirBit.Masked;

/** The ISA IRQ -> pin map (IRQ0 to pin 2; IRQ2 is the 8259 cascade, not a device line). */
export function isaIrqToPin(irq: number): number {
  if (irq === 0) return 2;
  if (irq === 2) return -1;
  return irq < IOAPIC_PINS ? irq : -1;
}

export class IoApic implements IrqSink, MmioDevice, EoiListener {
  id = 0;
  regsel = 0;
  readonly redirLow = new Uint32Array(IOAPIC_PINS);
  readonly redirHigh = new Uint32Array(IOAPIC_PINS);
  /** Pin input levels, one bit per pin. */
  private levels = 0;
  /** Messages sent per pin, for statistics. */
  readonly sentCount = new Uint32Array(IOAPIC_PINS);

  constructor(private readonly bus: ApicBus) {
    bus.eoiListeners.push(this);
    this.reset();
  }

  /** RESET: every entry masked, edge, fixed, vector 0 (datasheet §3.2.4); the pins keep their levels. */
  reset(): void {
    this.id = 0; this.regsel = 0;
    this.redirLow.fill(RedirBit.Masked); this.redirHigh.fill(0);
  }

  // ---- IrqSink: ISA IRQs from the router

  setIrq(irq: number, level: boolean): void {
    const pin = isaIrqToPin(irq);
    if (pin >= 0) this.setPin(pin, level);
  }

  /** Sets the level of input pin `pin` (0-23). */
  setPin(pin: number, level: boolean): void {
    const bit = 1 << pin;
    const was = (this.levels & bit) !== 0;
    if (level) this.levels |= bit; else this.levels &= ~bit;
    const e = this.redirLow[pin];
    if ((e & RedirBit.Masked) !== 0) return; // edges lost, level changes without effect
    if ((e & RedirBit.LevelTriggered) !== 0) {
      if (level && (e & RedirBit.RemoteIrr) === 0) this.send(pin);
    } else if (level && !was) {
      this.send(pin);
    }
  }

  pinLevel(pin: number): boolean { return (this.levels & (1 << pin)) !== 0; }

  /** Sends pin `pin`'s interrupt message as its redirection entry says. */
  private send(pin: number): void {
    const e = this.redirLow[pin];
    const level = (e & RedirBit.LevelTriggered) !== 0;
    const mode = ((e >>> 8) & 7) as DeliveryMode;
    this.sentCount[pin]++;
    const n = this.bus.send(null, Shorthand.None, this.redirHigh[pin] >>> 24, (e & RedirBit.Logical) !== 0,
      mode, e & 0xff, true, level);
    // Remote IRR: a local APIC accepted a level-triggered fixed/lowest-priority interrupt.
    if (level && n > 0 && (mode === DeliveryMode.Fixed || mode === DeliveryMode.LowestPriority)) {
      this.redirLow[pin] |= RedirBit.RemoteIrr;
    }
  }

  // ---- EoiListener: the local APICs' EOI for a level-triggered vector

  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.redirLow[pin];
      if ((e & RedirBit.RemoteIrr) === 0 || (e & 0xff) !== vector) continue;
      this.redirLow[pin] = e & ~RedirBit.RemoteIrr;
      if ((e & RedirBit.Masked) === 0 && this.pinLevel(pin)) this.send(pin);
    }
  }

  // ---- Registers

  readRegister(index: number): number {
    if (index === IoApicReg.Id) return (this.id & 0xf) << 24;
    if (index === IoApicReg.Version) return IOAPIC_VERSION;
    if (index === IoApicReg.Arbitration) return (this.id & 0xf) << 24;
    if (index >= IoApicReg.Redirection && index < IoApicReg.Redirection + 2 * IOAPIC_PINS) {
      const pin = (index - IoApicReg.Redirection) >>> 1;
      return (index & 1) === 0 ? this.redirLow[pin] | 0 : this.redirHigh[pin] | 0;
    }
    return 0;
  }

  writeRegister(index: number, v: number): void {
    if (index === IoApicReg.Id) { this.id = (v >>> 24) & 0xf; return; }
    if (index < IoApicReg.Redirection || index >= IoApicReg.Redirection + 2 * IOAPIC_PINS) return; // read-only / reserved
    const pin = (index - IoApicReg.Redirection) >>> 1;
    if ((index & 1) === 1) { this.redirHigh[pin] = (v & 0xff000000) >>> 0; return; }
    const old = this.redirLow[pin];
    let e = (v & REDIR_LOW_WRITABLE) | (old & RedirBit.RemoteIrr);
    if ((e & RedirBit.LevelTriggered) === 0) e &= ~RedirBit.RemoteIrr; // remote IRR is for level entries only
    this.redirLow[pin] = e >>> 0;
    // Unmasking an asserted level-triggered pin with no interrupt outstanding sends it now.
    if ((e & (RedirBit.Masked | RedirBit.LevelTriggered | RedirBit.RemoteIrr)) === RedirBit.LevelTriggered && this.pinLevel(pin)) {
      this.send(pin);
    }
  }

  // ---- MmioDevice: IOREGSEL at 00h (8 bits used), IOWIN at 10h (32-bit accesses)

  mmioRead(offset: number, size: number): number {
    if (offset === 0x00) return this.regsel;
    if (offset >= 0x10 && offset < 0x14) {
      const v = this.readRegister(this.regsel);
      const sub = offset - 0x10;
      return size === 4 && sub === 0 ? v : (v >>> (8 * sub)) & (size === 1 ? 0xff : 0xffff);
    }
    return 0;
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (offset === 0x00) { this.regsel = value & 0xff; return; }
    if (offset >= 0x10 && offset < 0x14) {
      const sub = offset - 0x10;
      if (size === 4 && sub === 0) { this.writeRegister(this.regsel, value); return; }
      const mask = (size === 1 ? 0xff : 0xffff) << (8 * sub);
      this.writeRegister(this.regsel, (this.readRegister(this.regsel) & ~mask) | ((value << (8 * sub)) & mask));
    }
  }

  /** A snapshot for debugging and tests (allocates). */
  state(): { id: number; redirection: [number, number][]; levels: number } {
    const redirection: [number, number][] = [];
    for (let i = 0; i < IOAPIC_PINS; i++) redirection.push([this.redirLow[i], this.redirHigh[i]]);
    return { id: this.id, redirection, levels: this.levels };
  }
}
