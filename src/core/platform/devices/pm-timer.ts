// The ACPI power-management timer (ACPI 6.5 §4.8.3.3, PM_TMR; PIIX4 datasheet PMTMR at PM base
// + 8): a free-running 24-bit up counter at 3.579545 MHz, read-only, read as a 32-bit register
// with bits [31:24] zero. Derived from virtual time, so it never runs backwards and is
// deterministic. (The TMR_STS overflow status and its SCI live in the PM1 event block, not here;
// `carries(ns)` tells that block how many times bit 23 has toggled.)
import type { VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';

export const PM_TIMER_HZ = 3_579_545;

export class PmTimer implements PortDevice {
  constructor(private readonly clock: VirtualClock) {}

  reset(): void { /* free-running from virtual time; nothing to reset */ }

  /** Claims PM_TMR at `base` (the PIIX4 PM I/O base + 8, e.g. 0x608). */
  registerPorts(io: IoBus, base: number): void { io.register(base, 4, 'ACPI PM timer', this); }

  /** Counter ticks since time 0 (unwrapped). */
  ticks(): number { return Math.floor(this.clock.nowNs() * (PM_TIMER_HZ / 1e9) + 1e-6); }

  /** The 24-bit PM_TMR value. */
  value(): number { return this.ticks() % 0x1000000; }

  /** How many times bit 23 has changed since time 0 (each is a TMR_STS event). */
  carries(): number { return Math.floor(this.ticks() / 0x800000); }

  ioRead(offset: number, size: number): number {
    const v = this.value();
    const shifted = offset >= 4 ? 0 : v >>> (8 * offset);
    return size === 4 ? shifted >>> 0 : shifted & (size === 2 ? 0xffff : 0xff);
  }

  ioWrite(_offset: number, _size: number, _value: number): void { /* read-only */ }

  state(): { value: number } { return { value: this.value() }; }
}
