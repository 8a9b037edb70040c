// A minimal bare machine for tests, the benchmark and the CLI until the full PC platform exists:
// RAM, the port-I/O bus and the CPU, plus three tiny port devices:
//
//   0x3F8-0x3FF  COM1 as a TRANSMIT-ONLY CAPTURE, not a 16550: bytes written to THR (offset 0
//                while LCR.DLAB = 0) are appended to `output`; LSR (0x3FD) always reads 0x60
//                (THR empty, transmitter empty); every other register accepts writes and reads 0.
//                The platform issue replaces this with a real UART.
//   0xE9         Bochs/QEMU-style debug console: bytes written are appended to `output` too;
//                reads return 0xE9 (the Bochs "port E9 hack" signature).
//   0xF4-0xF7    exit port like QEMU's `isa-debug-exit,iobase=0xf4,iosize=0x04`: a write stops
//                the run; `exitCode` is the value written (QEMU itself exits with the status
//                (value << 1) | 1, given as `qemuExitStatus`).
//
// There is NO BIOS: no interrupt vector table, no INT 10h/13h/15h services, no PIC or timer.
// `loadBootSector` loads a whole image (512-byte boot sector at 0x7C00, the remaining sectors
// right after it at 0x7E00, as if a boot loader had already read them) and sets the register
// state SeaBIOS hands a boot sector: CS:IP = 0000:7C00, DL = 0x80, SS:SP = 0000:7C00,
// DS = ES = FS = GS = 0. Guests must do everything through port I/O; a guest that wants to
// run under a real BIOS too can test for its own later sectors at 0x7E00 and skip INT 13h
// when they are already there (see guests/common/boot.inc).
//
// Pure TypeScript: no Node imports (src/core rule).
import { Cpu, StopReason } from '../cpu/cpu';
import { createCpu } from '../cpu/index'; // fills the opcode table, wires interrupt delivery
import { Seg } from '../cpu/regs';
import { IoBus, PortDevice } from './io-bus';
import { PhysicalMemory } from './memory';
import { DebugConsolePort } from './devices/debug-ports';
import { ExitPort } from './devices/exit-port';

export const COM1_BASE = 0x3f8;
export const BOOT_SECTOR_ADDR = 0x7c00;

/** Why `runUntil` returned. */
export type TestbedStop =
  | 'exit-port' // the guest wrote the exit port
  | 'marker' // the output ended with the requested marker
  | 'halted' // HLT (nothing can wake the CPU: the testbed has no interrupt sources)
  | 'shutdown' // triple fault
  | 'budget'; // maxInstructions retired

export interface RunUntilOptions {
  /** Upper bound on retired instructions for this call. */
  maxInstructions: number;
  /** Stop as soon as the captured output ends with this text. */
  marker?: string;
  /** Instructions per `Cpu.run` slice (default 1,000,000). */
  slice?: number;
}

export interface RunUntilResult {
  /** Everything captured so far from COM1 THR and port 0xE9 (one char per byte, Latin-1). */
  output: string;
  stopReason: TestbedStop;
  /** Instructions retired during this call. */
  instructions: number;
  /** Value written to the exit port, or null when the guest has not written it. */
  exitCode: number | null;
  /** Set when stopReason is 'shutdown'. */
  shutdownReason?: string;
}

export interface TestbedOptions {
  /** Guest RAM in bytes (default 64 MB). */
  memoryBytes?: number;
  /** Builds the CPU (default `createCpu(mem, io)` of src/core/cpu), e.g. for another CPU model. */
  createCpu?: (mem: PhysicalMemory, io: IoBus) => Cpu;
}

/** COM1: a transmit-only capture, not a 16550 (see the file comment). */
class SerialCapture implements PortDevice {
  private dlab = false;
  constructor(private readonly sink: (byte: number) => void) {}
  ioRead(offset: number): number {
    return offset === 5 ? 0x60 : 0;
  }
  ioWrite(offset: number, size: number, value: number): void {
    if (offset === 3) this.dlab = (value & 0x80) !== 0;
    else if (offset === 0 && !this.dlab) this.sink(value & 0xff);
    // 16/32-bit writes at offset 0 are not something a UART driver does; only the low byte
    // reaches THR (the IoBus hands the whole access to the first port).
    void size;
  }
}

export class Testbed {
  readonly mem: PhysicalMemory;
  readonly io: IoBus;
  readonly cpu: Cpu;
  /** Captured serial/debug output. */
  private chunks: string[] = [];
  private pending = '';
  private marker = '';
  private markerHit = false;
  exitCode: number | null = null;
  private exited = false;

  constructor(opts: TestbedOptions = {}) {
    this.mem = new PhysicalMemory(opts.memoryBytes ?? 64 * 1024 * 1024);
    this.io = new IoBus();
    this.cpu = (opts.createCpu ?? createCpu)(this.mem, this.io);
    const sink = (b: number): void => this.putByte(b);
    this.io.register(COM1_BASE, 8, 'COM1 (transmit-only capture)', new SerialCapture(sink));
    new DebugConsolePort(sink).registerPorts(this.io);
    new ExitPort((v) => this.onExit(v)).registerPorts(this.io);
  }

  /** The captured output so far. */
  get output(): string {
    if (this.pending.length > 0) { this.chunks.push(this.pending); this.pending = ''; }
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks.length === 0 ? '' : this.chunks[0];
  }

  /** QEMU's exit status for the last exit-port write ((value << 1) | 1, low 8 bits). */
  get qemuExitStatus(): number | null {
    return this.exitCode === null ? null : ((this.exitCode << 1) | 1) & 0xff;
  }

  private putByte(b: number): void {
    this.pending += String.fromCharCode(b);
    if (this.pending.length >= 4096) { this.chunks.push(this.pending); this.pending = ''; }
    if (this.marker.length > 0 && !this.markerHit && b === this.marker.charCodeAt(this.marker.length - 1)) {
      if (this.output.endsWith(this.marker)) {
        this.markerHit = true;
        this.requestStop();
      }
    }
  }

  private onExit(v: number): void {
    this.exitCode = v;
    this.exited = true;
    this.requestStop();
  }

  private requestStop(): void {
    this.cpu.stopRequested = true;
    this.cpu.eventPending = true;
  }

  /**
   * Loads a boot image: the first 512 bytes at 0x7C00, the rest right after them (0x7E00...),
   * and sets the boot-sector entry state (CS:IP = 0000:7C00, DL = 0x80, SS:SP = 0000:7C00).
   */
  loadBootSector(image: Uint8Array): void {
    if (image.length < 512) throw new Error(`boot image is ${image.length} bytes; a boot sector is 512`);
    if (image[510] !== 0x55 || image[511] !== 0xaa) throw new Error('boot image lacks the 55 AA boot signature');
    if (BOOT_SECTOR_ADDR + image.length > 0xa0000) {
      throw new Error(`boot image of ${image.length} bytes does not fit below 0xA0000 from 0x7C00`);
    }
    this.mem.load(BOOT_SECTOR_ADDR, image);
    const c = this.cpu;
    for (const s of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) c.setSegReal(s, 0, 0xffff, 0x93);
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    c.eip = BOOT_SECTOR_ADDR;
    c.r32.fill(0);
    c.r32[2] = 0x80; // DL: boot drive
    c.r32[4] = BOOT_SECTOR_ADDR; // SP
    c.setFlags(0x0002, ~0);
    c.halted = false;
  }

  /** Copies bytes into guest RAM. */
  load(addr: number, bytes: Uint8Array): void { this.mem.load(addr, bytes); }

  /**
   * Runs until the exit port is written, the output ends with `marker`, HLT, a triple fault,
   * or `maxInstructions` instructions have retired.
   */
  runUntil(opts: RunUntilOptions): RunUntilResult {
    const c = this.cpu;
    const slice = opts.slice ?? 1_000_000;
    this.marker = opts.marker ?? '';
    this.markerHit = this.marker.length > 0 && this.output.endsWith(this.marker);
    const start = c.icount;
    let stop: TestbedStop = 'budget';
    if (this.markerHit) stop = 'marker';
    else {
      for (;;) {
        const done = c.icount - start;
        if (done >= opts.maxInstructions) { stop = 'budget'; break; }
        const r = c.run(Math.min(slice, opts.maxInstructions - done));
        if (this.exited) { this.exited = false; stop = 'exit-port'; break; }
        if (this.markerHit) { stop = 'marker'; break; }
        if (r === StopReason.Shutdown || c.shutdown) { stop = 'shutdown'; break; }
        if (r === StopReason.Halted || c.halted) {
          // Nothing in the testbed raises interrupts, so HLT is final (also with IF=1).
          stop = 'halted';
          break;
        }
      }
    }
    // A stop request that arrived on the very last instruction of a slice is still pending.
    c.stopRequested = false;
    const res: RunUntilResult = { output: this.output, stopReason: stop, instructions: c.icount - start, exitCode: this.exitCode };
    if (stop === 'shutdown') res.shutdownReason = c.shutdownReason;
    return res;
  }
}

/** Convenience: a testbed with `image` loaded as a boot sector. */
export function bootTestbed(image: Uint8Array, opts: TestbedOptions = {}): Testbed {
  const tb = new Testbed(opts);
  tb.loadBootSector(image);
  return tb;
}
