// Debug ports that firmware and test guests write:
//   0x80  POST code (the ISA "manufacturing test" port, AT BIOS checkpoint codes; also written
//         by guests as an I/O delay). Keeps the last code and a bounded history. Reads return
//         the last code.
//   0xE9  Bochs/QEMU-style debug console ("port E9 hack"): each byte written goes to a callback;
//         reads return 0xE9 so guests can detect it.
import type { IoBus, PortDevice } from '../io-bus';

export class PostCodePort implements PortDevice {
  /** Last POST code written, -1 before the first. */
  last = -1;
  /** Total writes. */
  writes = 0;
  private readonly ring: Uint8Array;
  private head = 0;
  private filled = 0;

  constructor(readonly historySize = 256) { this.ring = new Uint8Array(Math.max(1, historySize)); }

  reset(): void { this.last = -1; this.writes = 0; this.head = 0; this.filled = 0; }

  registerPorts(io: IoBus): void { io.register(0x80, 1, 'POST code (0x80)', this); }

  ioRead(_offset: number, _size: number): number { return this.last < 0 ? 0xff : this.last; }

  ioWrite(_offset: number, _size: number, value: number): void {
    const v = value & 0xff;
    this.last = v;
    this.writes++;
    this.ring[this.head] = v;
    this.head = (this.head + 1) % this.ring.length;
    if (this.filled < this.ring.length) this.filled++;
  }

  /** The retained codes, oldest first. */
  history(): number[] {
    const out: number[] = [];
    const n = this.ring.length;
    for (let i = 0; i < this.filled; i++) out.push(this.ring[(this.head - this.filled + i + n) % n]);
    return out;
  }

  state(): { last: number; writes: number; history: number[] } { return { last: this.last, writes: this.writes, history: this.history() }; }
}

export class DebugConsolePort implements PortDevice {
  bytes = 0;
  constructor(private readonly onByte: (byte: number) => void) {}
  reset(): void { this.bytes = 0; }
  registerPorts(io: IoBus): void { io.register(0xe9, 1, 'debug console (0xE9)', this); }
  ioRead(_offset: number, _size: number): number { return 0xe9; }
  ioWrite(_offset: number, size: number, value: number): void {
    // A wide OUT to a one-port range hands over all of its bytes; each is a character.
    for (let i = 0; i < size; i++) { this.bytes++; this.onByte((value >>> (8 * i)) & 0xff); }
  }
  state(): { bytes: number } { return { bytes: this.bytes }; }
}
