// The CPU core's public entry: importing this module fills the opcode table (each ops/ file
// registers its rows) and `createCpu` wires interrupt delivery, the FPU and, for a model with
// VMX, its VMX unit (vmx-hooks.ts).
import './ops/alu';
import './ops/move';
import './ops/control';
import './ops/string';
import './ops/system';
import './ops/vmx';
import './ops/rdtscp';
import './ops/random';
import './ops/invpcid';
import './ops/monitor';
import './ops/xsave';
import './ops/getsec';
import './fpu/rows';
import './fpu/fxsave';
import './dispatch';
import './long/exec64';
import { Cpu } from './cpu';
import { Fpu } from './fpu/fpu';
import { installInterrupts } from './interrupts';
import { DecodeCache } from './decode-cache';
import type { CpuModel } from './model';
import type { PhysicalMemory } from '../platform/memory';
import type { IoBus } from '../platform/io-bus';

export interface CreateCpuOptions {
  /** Use the decoded-instruction cache (default true); off = pure interpreter. */
  decodeCache?: boolean;
  /** Share this CPU's decoded-instruction cache with another CPU on the same memory (SMP). */
  shareDecodeCacheWith?: Cpu;
}

export function createCpu(mem: PhysicalMemory, io: IoBus, model?: CpuModel, opts: CreateCpuOptions = {}): Cpu {
  const c = new Cpu(mem, io, model);
  const shared = opts.shareDecodeCacheWith?.dcache ?? null;
  if (shared !== null) { shared.attach(c); c.dcache = shared; } else if (opts.decodeCache !== false) c.dcache = new DecodeCache(c);
  installInterrupts(c);
  if (c.model.vmx !== undefined) c.vmx = c.model.vmx(c);
  c.fpu = new Fpu();
  c.fpu.powerOnReset();
  return c;
}

export { Cpu, StopReason, InterruptKind } from './cpu';
export type { InterruptSource } from './cpu';
export { ALL_ROWS, ROW_BY_CODE } from './decode-table';
export * from './regs';
