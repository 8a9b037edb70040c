// External interrupts, NMI, HLT and the interrupt shadow (SDM Vol. 3A §6.8.3, §6.7.1, HLT).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpu, StopReason, type InterruptSource } from '../../src/core/cpu/index';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { Seg } from '../../src/core/cpu/regs';

const dir = mkdtempSync(join(tmpdir(), 'vmxlab-int-'));
function asm(src: string): Uint8Array {
  const f = join(dir, `t${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits 16\norg 0x1000\n${src}`);
  execFileSync('nasm', ['-f', 'bin', '-o', `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
}

/** A PIC stand-in: raises `vector` while `pending`. */
class Line implements InterruptSource {
  pending = false;
  acks = 0;
  constructor(readonly vector: number) {}
  hasInterrupt(): boolean { return this.pending; }
  acknowledge(): number { this.pending = false; this.acks++; return this.vector; }
}

/** Real-mode machine: code at 0:1000, handler for vector 0x20 stores AX at 0:0600 and counts
 *  at 0:0602; the NMI handler (vector 2) counts at 0:0604. */
function machine(code: string) {
  const mem = new PhysicalMemory(1 << 20);
  const c = createCpu(mem, new IoBus());
  mem.load(0x1000, asm(code + `
int20: mov [0x600], ax
  inc word [0x602]
  iret
nmi: inc word [0x604]
  iret
`));
  const img = mem.u8;
  // Handler addresses: find them by assembling again with labels exported is overkill; use fixed
  // offsets from the code's end instead via a scan for the handler bytes.
  const handler = indexOf(img, [0xa3, 0x00, 0x06], 0x1000); // mov [0x600], ax
  const nmi = indexOf(img, [0xff, 0x06, 0x04, 0x06], 0x1000); // inc word [0x604]
  mem.write16(0x20 * 4, handler); mem.write16(0x20 * 4 + 2, 0);
  mem.write16(2 * 4, nmi); mem.write16(2 * 4 + 2, 0);
  for (const s of [Seg.DS, Seg.ES, Seg.SS]) c.setSegReal(s, 0, 0xffff, 0x93);
  c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
  c.eip = 0x1000; c.r16[8] = 0x8000;
  const line = new Line(0x20);
  c.intr = line;
  return { mem, c, line };
}
function indexOf(a: Uint8Array, pat: number[], from: number): number {
  outer: for (let i = from; i < from + 0x1000; i++) { for (let k = 0; k < pat.length; k++) if (a[i + k] !== pat[k]) continue outer; return i; }
  throw new Error('pattern not found');
}

describe('external interrupts', () => {
  it('are delivered only with IF=1, after the instruction following STI', () => {
    const { mem, c, line } = machine(`
  cli
  mov ax, 7
  sti
  mov ax, 1
  mov ax, 2
  hlt
`);
    line.pending = true;
    c.run(2); // cli, mov ax,7: IF=0, nothing delivered
    expect(line.acks).toBe(0);
    c.notifyInterrupt();
    expect(c.run(100)).toBe(StopReason.Halted);
    expect(line.acks).toBe(1);
    // STI's shadow covers `mov ax, 1`: the handler runs after it, before `mov ax, 2`.
    expect(mem.read16(0x600)).toBe(1);
    expect(mem.read16(0x602)).toBe(1);
    expect(c.r16[0]).toBe(2);
  });

  it('MOV SS inhibits interrupts for one instruction', () => {
    const { mem, c, line } = machine(`
  sti
  mov ax, 0
  mov ss, ax
  mov ax, 5
  mov ax, 6
  hlt
`);
    c.run(3); // sti, mov ax 0, mov ss
    line.pending = true; c.notifyInterrupt();
    expect(c.run(100)).toBe(StopReason.Halted);
    expect(line.acks).toBe(1);
    // Without the shadow the handler would see AX=0; it runs after `mov ax, 5`.
    expect(mem.read16(0x600)).toBe(5);
  });

  it('wakes the CPU from HLT and resumes after the HLT', () => {
    const { mem, c, line } = machine(`
  sti
  hlt
  mov ax, 0x4242
  hlt
`);
    expect(c.run(100)).toBe(StopReason.Halted);
    expect(c.halted).toBe(true);
    expect(c.run(100)).toBe(StopReason.Halted); // nothing pending: stays halted
    line.pending = true; c.notifyInterrupt();
    expect(c.run(100)).toBe(StopReason.Halted);
    expect(mem.read16(0x602)).toBe(1);
    expect(c.r16[0]).toBe(0x4242);
  });

  it('NMI is taken with IF=0 and blocks further NMIs until IRET', () => {
    const { mem, c } = machine(`
  cli
  jmp $
`);
    c.run(1);
    c.nmiPending = true; c.notifyInterrupt();
    c.run(1); // delivers the NMI and runs `inc word [0x604]` of the handler
    expect(mem.read16(0x604)).toBe(1);
    c.nmiPending = true; c.notifyInterrupt();
    c.run(1); // still inside the handler (before IRET): the second NMI waits
    expect(mem.read16(0x604)).toBe(1);
    c.run(10); // IRET unblocks; the pending NMI is delivered
    expect(mem.read16(0x604)).toBe(2);
  });
});
