// The x87 FPU and FXSAVE/FXRSTOR in 64-bit mode (SDM Vol. 1 §8.1.8 "x87 FPU Instruction and
// Data (Operand) Pointers", §10.5.1 Tables 10-2/10-3; Vol. 2A FXSAVE/FXRSTOR "64-bit mode"):
// the escape opcodes D8-DF run the 32-bit rows' Fpu code unchanged; only the memory operand
// differs. fpu/fpu.ts reaches memory through an X87Bus; here that bus is x87-bus64.ts's, whose
// "offsets" are 64-bit linear addresses (mem64.ts), so RIP-relative and REX-extended operands
// and addresses above 4 GB work as in any 64-bit instruction. FIP is RIP and FDP the 64-bit
// offset of the operand (Fpu.begin with c.mode64); FXSAVE64/FXRSTOR64 (REX.W) store and load
// them whole, FXSAVE without REX.W keeps the 32-bit layout (FIP[31:0], FCS, FDP[31:0], FDS).
// WAIT/FWAIT (9B) runs through the opcode table as in every mode (exec64.ts).
import type { Cpu } from '../cpu';
import { Cr0, Vector } from '../regs';
import { D64, ea, eaOffset, modrm64 } from './decode64';
import { linearBus } from './x87-bus64';
import { xrstor64, xsave64 } from './xstate64';

/** D8-DF in 64-bit mode. No FPU: #NM, as in the 32-bit rows (fpu/rows.ts); LOCK: #UD. */
export function x87Escape64(c: Cpu, opcode: number): void {
  const f = c.fpu;
  if (f === null) { c.raise(Vector.NM); return; }
  const d = D64;
  modrm64(c);
  if (d.lock) c.ud();
  c.modrm = d.modrm; // Fpu reads the ModRM byte (register forms, FOP) from the CPU
  const bus = linearBus(c);
  if (d.mod === 3) { f.exec64(c, opcode, bus, d.seg, 0, 0); return; }
  // No immediate follows an x87 ModRM: RIP already points at the next instruction.
  const off = eaOffset(c), lin = ea(c);
  f.exec64(c, opcode, bus, d.seg, lin, off);
}

/** FXSAVE/FXRSTOR m512 (REX.W: FXSAVE64/FXRSTOR64). Checks as fpu/fxsave.ts: #UD with LOCK or
 *  without an FPU, #NM with CR0.EM or CR0.TS, #GP(0) unless 16-byte aligned. */
function fx64(c: Cpu, restore: boolean): void {
  const d = D64;
  if (d.lock || c.fpu === null) c.raise(Vector.UD);
  if ((c.cr0 & (Cr0.EM | Cr0.TS)) !== 0) c.raise(Vector.NM);
  const lin = ea(c);
  if ((lin & 15) !== 0) c.gp(0);
  if (restore) c.fpu!.fxrstor(c, d.seg, lin, linearBus(c), d.w);
  else c.fpu!.fxsave(c, d.seg, lin, linearBus(c), d.w);
}

/** 0F AE (group 15) in 64-bit mode: /0 FXSAVE, /1 FXRSTOR (NP or 66, as the 32-bit rows), /4
 *  XSAVE, /5 XRSTOR (NP only). Register forms (fences, RDFSBASE..WRGSBASE) and the SSE members
 *  (/2 LDMXCSR, /3 STMXCSR, /7 CLFLUSH) are #UD: the model has no SSE nor FSGSBASE. */
export function group15_64(c: Cpu): void {
  const d = D64;
  modrm64(c);
  if (d.mod === 3 || d.rep !== 0) c.ud();
  switch ((d.modrm >> 3) & 7) {
    case 0: fx64(c, false); return;
    case 1: fx64(c, true); return;
    case 4: if (d.p66) c.ud(); xsave64(c); return;
    case 5: if (d.p66) c.ud(); xrstor64(c); return;
    default: c.ud();
  }
}
