// What a BIOS service sees: the CPU (registers of the interrupted caller), guest memory, the
// port bus, and helpers for the interrupt frame the caller's INT pushed (IP, CS, FLAGS at
// SS:SP when the service stub traps).
import type { Cpu } from '../cpu/cpu';
import { Flag } from '../cpu/regs';
import type { IoBus } from '../platform/io-bus';
import type { PhysicalMemory } from '../platform/memory';
import type { GuestMem } from './guest';

/** Indices into `Cpu.r8` (low/high bytes of the first four registers). */
export const AL = 0, AH = 1, CL = 4, CH = 5, DL = 8, DH = 9, BL = 12, BH = 13;
/** Indices into `Cpu.r16`. */
export const AX = 0, CX = 2, DX = 4, BX = 6, SP = 8, BP = 10, SI = 12, DI = 14;
/** Indices into `Cpu.r32`. */
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESI = 6, EDI = 7;

export interface BiosCtx {
  readonly cpu: Cpu;
  readonly io: IoBus;
  readonly mem: PhysicalMemory;
  readonly g: GuestMem;
  /** EIP right after the trapping OUT. */
  trapEip: number;
}

/** Linear address of the FLAGS word of the INT frame (SS:SP+4 at the stub's OUT). */
function flagsAddr(b: BiosCtx): number {
  const c = b.cpu;
  return (c.segBase[2] + ((c.r16[SP] + 4) & 0xffff)) >>> 0;
}

function setFrameFlag(b: BiosCtx, bit: number, on: boolean): void {
  const a = flagsAddr(b);
  const f = b.g.r16(a);
  b.g.w16(a, on ? f | bit : f & ~bit);
}

/** Sets the caller's CF (returned by the stub's IRET). */
export function setCF(b: BiosCtx, on: boolean): void { setFrameFlag(b, 0x0001, on); }
/** Sets the caller's ZF. */
export function setZF(b: BiosCtx, on: boolean): void { setFrameFlag(b, 0x0040, on); }
/** Success: AH = 0, CF = 0. */
export function ok(b: BiosCtx): void { b.cpu.r8[AH] = 0; setCF(b, false); }
/** Failure: AH = code, CF = 1. */
export function fail(b: BiosCtx, code: number): void { b.cpu.r8[AH] = code; setCF(b, true); }
/** Blocking service not finished: the stub runs `sti; hlt` and asks again. */
export function waitAndRetry(b: BiosCtx): void { b.cpu.eip = b.trapEip + 1; }

/** The service's STI (the IBM BIOS enables interrupts in services that poll devices, so the
 *  timer keeps ticking while they wait); the caller's IF comes back with the stub's IRET. */
export function sti(b: BiosCtx): void { b.cpu.flags |= Flag.IF; b.cpu.eventPending = true; }

/** Not finished, but no interrupt is needed: the stub jumps straight back to its OUT (a busy
 *  wait in guest time, e.g. for a UART FIFO to drain). */
export function spinAndRetry(b: BiosCtx): void { b.cpu.eip = b.trapEip + 3; }

/** Linear address of seg:off where `seg` is a segment register slot. */
export function segOff(b: BiosCtx, seg: number, off: number): number {
  return (b.cpu.segBase[seg] + (off & 0xffff)) >>> 0;
}
