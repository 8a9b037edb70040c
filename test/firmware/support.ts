// A bare test machine for the BIOS: CPU + RAM + port bus + tiny fake devices (COM1 capture,
// a CMOS with a fixed time, an exit port at 0xF4, a keyboard data port) and a PIC stand-in
// that delivers queued vectors. The real device models are not needed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpu, StopReason, type Cpu, type InterruptSource } from '../../src/core/cpu/index';
import { IoBus, type PortDevice } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { BlockDevice } from '../../src/core/platform/block';
import { Firmware, type BootDevice } from '../../src/core/firmware/firmware';

const dir = mkdtempSync(join(tmpdir(), 'vmxlab-bios-'));
let n = 0;
/** Assembles a 16-bit flat binary with nasm (`includeDir`: where its %include files are). */
export function asm(src: string, includeDir?: string): Uint8Array {
  const f = join(dir, `g${n++}.asm`);
  writeFileSync(f, src);
  execFileSync('nasm', ['-f', 'bin', ...(includeDir !== undefined ? ['-I', `${includeDir}/`] : []), '-o', `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
}

/** Delivers queued vectors (stands in for the 8259 pair). */
export class FakePic implements InterruptSource {
  queue: number[] = [];
  hasInterrupt(): boolean { return this.queue.length > 0; }
  acknowledge(): number { return this.queue.shift()!; }
}

class Capture implements PortDevice {
  out = '';
  private dlab = false;
  private scratch = 0;
  ioRead(off: number): number { return off === 5 ? 0x60 : off === 7 ? this.scratch : 0; }
  ioWrite(off: number, _s: number, v: number): void {
    if (off === 3) this.dlab = (v & 0x80) !== 0;
    else if (off === 7) this.scratch = v & 0xff;
    else if (off === 0 && !this.dlab) this.out += String.fromCharCode(v & 0xff);
  }
}

/** CMOS index/data with fixed time 12:34:56 (BCD), 2025-06-01. */
class FakeCmos implements PortDevice {
  idx = 0;
  readonly regs = new Uint8Array(128);
  constructor() {
    this.regs.set([0x56, 0, 0x34, 0, 0x12, 0, 0, 0x01, 0x06, 0x25], 0);
    this.regs[0x0b] = 0x02; this.regs[0x32] = 0x20;
  }
  ioRead(off: number): number { return off === 1 ? this.regs[this.idx] : 0xff; }
  ioWrite(off: number, _s: number, v: number): void { if (off === 0) this.idx = v & 0x7f; else this.regs[this.idx] = v; }
}

export interface TestMachineOptions {
  floppy?: Uint8Array; disk?: Uint8Array; cdrom?: Uint8Array;
  bootOrder?: BootDevice[]; cpuCount?: number; memoryBytes?: number;
}

export class TestMachine {
  readonly mem: PhysicalMemory;
  readonly io = new IoBus();
  readonly cpu: Cpu;
  readonly fw: Firmware;
  readonly serial = new Capture();
  readonly cmos = new FakeCmos();
  readonly pic = new FakePic();
  kbdData = 0;
  exited = false;
  bootFailure: string | null = null;
  /** Vector delivered each time the CPU halts with nothing pending (a timer), or -1. */
  idleVector = -1;

  constructor(o: TestMachineOptions) {
    this.mem = new PhysicalMemory(o.memoryBytes ?? 16 * 1024 * 1024);
    this.cpu = createCpu(this.mem, this.io);
    this.cpu.intr = this.pic;
    this.io.register(0x3f8, 8, 'COM1 capture', this.serial);
    this.io.register(0x70, 2, 'CMOS', this.cmos);
    this.io.register(0x60, 1, 'kbd data', { ioRead: () => this.kbdData, ioWrite: () => {} });
    this.io.register(0xf4, 1, 'exit', { ioRead: () => 0, ioWrite: () => { this.exited = true; this.cpu.stopRequested = true; this.cpu.eventPending = true; } });
    const bd = (name: string, b?: Uint8Array): BlockDevice | null => (b ? new BlockDevice(name, b) : null);
    this.fw = new Firmware({
      cpu: this.cpu, mem: this.mem, io: this.io, memoryBytes: this.mem.size,
      floppies: [bd('fd0', o.floppy), null], disks: [bd('hd0', o.disk), null, null, null], cdrom: bd('cd', o.cdrom),
      bootOrder: o.bootOrder ?? ['floppy', 'hdd', 'cdrom'], cpuCount: o.cpuCount,
      onBootFailure: (m) => { this.bootFailure = m; },
    });
    this.fw.install();
  }

  /** Runs until the exit port, a final HLT, or the budget. */
  run(budget = 5_000_000): 'exit' | 'halted' | 'budget' {
    const end = this.cpu.icount + budget;
    while (this.cpu.icount < end) {
      const r = this.cpu.run(Math.min(100_000, end - this.cpu.icount));
      if (this.exited) { this.cpu.stopRequested = false; return 'exit'; }
      if (r === StopReason.Halted || this.cpu.halted) {
        if (this.pic.hasInterrupt()) { this.cpu.notifyInterrupt(); continue; }
        if (this.idleVector >= 0 && (this.cpu.getFlags() & 0x200) !== 0) { this.pic.queue.push(this.idleVector); this.cpu.notifyInterrupt(); continue; }
        return 'halted';
      }
      if (r === StopReason.Shutdown) throw new Error(`shutdown: ${this.cpu.shutdownReason}`);
    }
    return 'budget';
  }

  /** Text of screen row `row` (page 0). */
  screenRow(row: number): string {
    let s = '';
    for (let col = 0; col < 80; col++) s += String.fromCharCode(this.mem.u8[0xb8000 + (row * 80 + col) * 2]);
    return s.trimEnd();
  }
}

/** A boot sector from `body` (org 7C00h), padded to 512 bytes with 55 AA, plus extra sectors. */
export function bootSector(body: string, sectors = 1, extra = ''): Uint8Array {
  return asm(`bits 16\norg 0x7c00\n${body}\ntimes 510-($-$$) db 0\ndw 0xaa55\n${extra}\ntimes ${sectors * 512}-($-$$) db 0\n`);
}
