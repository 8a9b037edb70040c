// An IBM PC parallel printer port (SPP, the "standard" mode of later chipsets) with a printer
// attached that is always on line and never busy. The PC wires LPT1 at 0x378 / IRQ7; the machine
// calls `registerPorts(io, base)`.
//
// Source: IBM PC AT Technical Reference, "Parallel Printer Adapter" (registers and the
// STROBE/ACK handshake); IEEE 1284 compatibility mode for the signal polarities.
//
// Registers (offset from base):
//   0  data: write latches the byte on D0-D7; read returns the latch (SPP: output drivers on)
//   1  status (read-only): [7] /BUSY (1 = not busy) | [6] /ACK | [5] PE paper end | [4] SLCT
//      on line | [3] /ERROR (1 = no error) | [2:0] read as 1
//   2  control: [4] IRQ enable (ACK raises the IRQ) | [3] SLCT IN | [2] /INIT (0 = reset the
//      printer) | [1] AUTO FD | [0] STROBE (1 = asserted); reads return [4:0] with [7:5] as 1
//
// A byte is printed on the falling edge of STROBE (control bit 0 written 1 then 0): the printer
// takes the latched data and answers with an ACK pulse, which raises the IRQ when enabled. The
// printer takes no time (BUSY never asserts, /ACK reads high between pulses): no guest here
// measures printer speed, and an instant printer keeps the port out of the virtual-time budget.
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';

const STATUS_NOT_BUSY = 0x80, STATUS_NOT_ACK = 0x40, STATUS_SELECT = 0x10, STATUS_NOT_ERROR = 0x08;
const CTRL_STROBE = 0x01, CTRL_NOT_INIT = 0x04, CTRL_IRQ_ENABLE = 0x10;

export class ParallelPort implements PortDevice {
  /** Bytes the printer received (strobed), for listeners (CLI, UI, tests). */
  onPrint: ((byte: number) => void) | null = null;
  /** Times the printer was reset through /INIT. */
  resets = 0;
  private data = 0;
  private control = CTRL_NOT_INIT;

  constructor(private readonly irq: IrqLine | null, readonly name = 'LPT1 parallel port') {}

  registerPorts(io: IoBus, base: number): void { io.register(base, 3, this.name, this); }

  ioRead(offset: number, _size: number): number {
    switch (offset) {
      case 0: return this.data;
      case 1: return STATUS_NOT_BUSY | STATUS_NOT_ACK | STATUS_SELECT | STATUS_NOT_ERROR | 0x07;
      default: return 0xe0 | (this.control & 0x1f);
    }
  }

  ioWrite(offset: number, _size: number, value: number): void {
    value &= 0xff;
    if (offset === 0) { this.data = value; return; }
    if (offset !== 2) return; // the status register is read-only
    const before = this.control;
    this.control = value & 0x1f;
    if ((before & CTRL_NOT_INIT) !== 0 && (value & CTRL_NOT_INIT) === 0) this.resets++;
    if ((before & CTRL_STROBE) !== 0 && (value & CTRL_STROBE) === 0) this.strobe();
  }

  private strobe(): void {
    this.onPrint?.(this.data);
    if ((this.control & CTRL_IRQ_ENABLE) !== 0) this.irq?.pulse();
  }
}
