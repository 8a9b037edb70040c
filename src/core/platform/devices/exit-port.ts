// A test-harness exit device like QEMU's `isa-debug-exit,iobase=0xf4,iosize=0x04`: a write
// ends the run with the value written (QEMU's process status would be (value << 1) | 1).
// Guests in guests/ and the .COM stub use it to report success or failure.
import type { IoBus, PortDevice } from '../io-bus';

export const EXIT_PORT_BASE = 0xf4;

export class ExitPort implements PortDevice {
  /** The last value written, or null. */
  code: number | null = null;
  constructor(private readonly onExit: (code: number) => void) {}
  registerPorts(io: IoBus): void { io.register(EXIT_PORT_BASE, 4, 'exit port (isa-debug-exit)', this); }
  ioRead(): number { return 0; }
  ioWrite(_offset: number, _size: number, value: number): void {
    this.code = value >>> 0;
    this.onExit(this.code);
  }
  reset(): void { this.code = null; }
  state(): Record<string, unknown> { return { code: this.code }; }
}
