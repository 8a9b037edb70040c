// System control port A at 0x92 ("PS/2 fast A20 and fast reset"; PIIX4 datasheet Port 92h,
// OSDev "A20 Line" / "Reset"):
//
//   [7:6] disk activity LED | [5:4] reserved | [3] CMOS security lock | [2] reserved
//   [1] ALT_A20_GATE: 1 enables A20  | [0] INIT_NOW: a 0 -> 1 write resets the CPU (fast reset)
//
// Bit 0 reads back as written until the reset has happened; the machine's reset() clears it
// through `reset()` below, as the PIIX4 clears INIT_NOW on the reset it causes. reset() does not
// call setA20: the machine puts its own A20 state back on reset.
import type { IoBus, PortDevice } from '../io-bus';

export class Port92 implements PortDevice {
  private value = 0;

  /** `setA20(enabled)` sees every change of bit 1; `reset()` is the fast reset pulse. */
  constructor(private readonly setA20: (enabled: boolean) => void, private readonly resetCpu: () => void) {}

  reset(): void { this.value = 0; }

  registerPorts(io: IoBus): void { io.register(0x92, 1, 'system control port A (0x92 fast A20/reset)', this); }

  get a20(): boolean { return (this.value & 2) !== 0; }

  ioRead(_offset: number, _size: number): number { return this.value; }

  ioWrite(_offset: number, _size: number, value: number): void {
    const old = this.value;
    this.value = value & 0xff;
    if (((old ^ this.value) & 2) !== 0) this.setA20((this.value & 2) !== 0);
    if ((old & 1) === 0 && (this.value & 1) !== 0) this.resetCpu();
  }

  state(): { value: number; a20: boolean } { return { value: this.value, a20: this.a20 }; }
}
