// A decoded instruction of the decoded-instruction cache (decode-cache.ts) and the forms it
// can take. One record shape for every form keeps property access monomorphic.

/** What a decoded record does. R = 32-bit register, M = memory (EA), I = immediate; B = byte
 *  operands (r8 indices); Nw = compute flags without writing back (CMP, TEST). */
export enum Form {
  Interp = 0,
  MovRR, MovRM, MovMR, MovRI, MovMI, Lea,
  AluRR, AluNwRR, AluRM, AluNwRM, AluMR, AluNwMR, AluRI, AluNwRI, AluMI, AluNwMI,
  AluBRR, AluNwBRR, AluBRM, AluNwBRM, AluBMR, AluNwBMR, AluBRI, AluNwBRI, AluBMI, AluNwBMI,
  MovBRR, MovBRM, MovBMR, MovBRI, MovBMI,
  ShiftR, ShiftM, Inc, Dec, Push, Pop,
  Jcc, Jmp, Call, Ret,
  NotR, NotM, NegR, NegM, MulDivR, MulDivM,
  ImulRRI, ImulRMI, ImulRR, ImulRM, Cdq,
  Movzx8R, Movzx8M, Movsx8R, Movsx8M, Movzx16R, Movzx16M, Movsx16R, Movsx16M,
}

export class Insn {
  form: Form = Form.Interp;
  /** Instruction length: the next EIP is the running EIP + len (never cached absolute). */
  len = 0;
  /** Branch displacement from the next EIP (Jcc/JMP/CALL). */
  rel = 0;
  /** First register operand (destination), or condition code, or shift/ALU sub-operation. */
  a = 0;
  /** Second register operand (source). */
  b = 0;
  /** ALU / shift / group-3 operation. */
  op = 0;
  imm = 0;
  /** Memory operand: EA = [base] + ([index] << scale) + disp, in segment `seg`. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  seg = 0;
}
