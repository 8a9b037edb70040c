// DOS .COM programs: the whole file is loaded at offset 100h of one segment behind a Program
// Segment Prefix, with the minimal DOS API of dos-stub.ts (NOT DOS) behind INT 20h/21h. The
// firmware has run POST, so INT 10h/16h/1Ah are the BIOS's.
//
// PSP (MS-DOS Programmer's Reference, "Program Segment Prefix"):
//   00h INT 20h (CD 20) | 02h segment past the program's memory | 0Ah INT 22h terminate address
//   | 0Eh INT 23h Ctrl-C address | 12h INT 24h critical error address | 2Ch environment segment
//   | 50h INT 21h / RETF (CD 21 CB) | 5Ch FCB 1 | 6Ch FCB 2 | 80h command tail length
//   | 81h command tail, ended by 0Dh
// Entry: CS = DS = ES = SS = PSP segment, IP = 100h, SP = FFFEh with a 0 word on the stack (a
// near RET jumps to PSP:0000, INT 20h), interrupts enabled.
import type { Cpu } from '../cpu/cpu';
import type { PhysicalMemory } from '../platform/memory';
import { hex, wr16 } from './bytes';
import { enterReal } from './cpu-entry';
import { assembleDosStub, type DosStub } from './dos-stub';
import { type E820Entry, usableEnd } from './e820';
import { ImageFormatError } from './errors';

/** Largest .COM program (inclusive): a 64 KB segment less the PSP and the initial stack word. */
export const COM_MAX_BYTES = 0x10000 - 0x100 - 2;
export const COM_SEGMENT = 0x1000;

export interface ComOptions {
  /** Command tail (what followed the program name on a DOS command line). */
  cmdline?: string;
  /** The program's file name, for the environment block. */
  name?: string;
  /** PSP segment (default 1000h); the DOS stub goes in the 4 KB below it. */
  segment?: number;
  e820?: readonly E820Entry[];
}

export interface ComPlan {
  segment: number;
  stubSegment: number;
  stub: DosStub;
  psp: Uint8Array;
  program: Uint8Array;
  /** Paragraph past the end of usable conventional memory (PSP word 02h). */
  memTopSegment: number;
}

export function planCom(program: Uint8Array, opts: ComOptions = {}): ComPlan {
  if (program.length === 0) throw new ImageFormatError('empty .COM program');
  if (program.length > COM_MAX_BYTES) {
    throw new ImageFormatError(`.COM program of ${program.length} bytes is too large: at most ${COM_MAX_BYTES} bytes fit (64 KB less the PSP and the stack)`);
  }
  const segment = opts.segment ?? COM_SEGMENT;
  if (segment < 0x200 || segment > 0x9000) throw new ImageFormatError(`.COM segment ${hex(segment)} must be between 0x200 and 0x9000`);
  const lowEnd = opts.e820 === undefined ? 0x9fc00 : Math.min(usableEnd(opts.e820, 0), 0xa0000);
  const memTopSegment = lowEnd >>> 4;
  if (memTopSegment < segment + 0x1000) {
    throw new ImageFormatError(`conventional memory ends at ${hex(lowEnd)}: no room for a 64 KB .COM segment at ${hex(segment << 4)}`);
  }
  const stubSegment = segment - 0x100;
  const name = (opts.name ?? 'PROGRAM.COM').replace(/^.*[\\/]/, '').toUpperCase();
  const stub = assembleDosStub(`C:\\${name}`);
  if (stub.code.length > 0x1000) throw new ImageFormatError('internal: the DOS stub outgrew its 4 KB');

  const psp = new Uint8Array(0x100);
  psp[0] = 0xcd; psp[1] = 0x20; // INT 20h
  wr16(psp, 0x02, memTopSegment);
  const far = (off: number, at: number): void => { wr16(psp, at, off); wr16(psp, at + 2, stubSegment); };
  far(stub.int22, 0x0a); far(stub.int23, 0x0e); far(stub.int24, 0x12);
  wr16(psp, 0x2c, stubSegment + stub.envParagraph);
  psp[0x50] = 0xcd; psp[0x51] = 0x21; psp[0x52] = 0xcb; // INT 21h / RETF
  for (const fcb of [0x5c, 0x6c]) psp.fill(0x20, fcb + 1, fcb + 12); // blank FCB names, drive 0
  let tail = opts.cmdline ?? '';
  if (tail.length > 0 && !tail.startsWith(' ')) tail = ' ' + tail;
  if (tail.length > 126) throw new ImageFormatError(`.COM command tail is ${tail.length} characters; DOS allows 126`);
  psp[0x80] = tail.length;
  for (let i = 0; i < tail.length; i++) psp[0x81 + i] = tail.charCodeAt(i) & 0xff;
  psp[0x81 + tail.length] = 0x0d;
  return { segment, stubSegment, stub, psp, program, memTopSegment };
}

/** Interrupt vectors the stub provides: vector -> handler offset in the stub segment. */
function vectors(s: DosStub): [number, number][] {
  return [[0x20, s.int20], [0x21, s.int21], [0x22, s.int22], [0x23, s.int23], [0x24, s.int24], [0x29, s.int29]];
}

export function applyCom(plan: ComPlan, cpu: Cpu, mem: PhysicalMemory = cpu.mem): void {
  const base = plan.segment << 4;
  mem.load(plan.stubSegment << 4, plan.stub.code);
  mem.load(base, new Uint8Array(0x10000)); // a clean segment: .bss-like data starts at zero
  mem.load(base, plan.psp);
  mem.load(base + 0x100, plan.program);
  const ivt = new Uint8Array(4);
  for (const [v, off] of vectors(plan.stub)) {
    wr16(ivt, 0, off); wr16(ivt, 2, plan.stubSegment);
    mem.load(v * 4, ivt);
  }
  const seg = plan.segment;
  enterReal(cpu, { cs: seg, ip: 0x100, ds: seg, ss: seg, sp: 0xfffe, flags: 0x0200 });
  // Registers as DOS leaves them for a .COM program (AX = FCB drive validity, CX = 00FFh, DX =
  // PSP segment, SI = IP, DI = SP; documented only in part but relied on by some programs).
  cpu.r32.fill(0, 0, 8);
  cpu.r32[1] = 0x00ff; cpu.r32[2] = seg; cpu.r32[4] = 0xfffe; cpu.r32[5] = 0x091c; cpu.r32[6] = 0x100; cpu.r32[7] = 0xfffe;
}
