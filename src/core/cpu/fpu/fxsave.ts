// 0F AE group 15 as a P6-family CPU with FXSR (Pentium II) defines it: /0 FXSAVE, /1 FXRSTOR,
// memory forms (group15Form hands each /digit to its row; XSAVE /4 and XRSTOR /5 are in
// ops/xsave.ts). The SSE forms (/2 LDMXCSR, /3 STMXCSR, fences, CLFLUSH) raise #UD: the model
// has no SSE.
// SDM Vol. 2A FXSAVE/FXRSTOR: #GP(0) unless the operand is 16-byte aligned; #NM with CR0.EM/TS.
import type { Cpu } from '../cpu';
import { group15Form, registerRows } from '../decode-table';
import { Cr0, Vector } from '../regs';

function fxChecks(c: Cpu): void {
  if (c.lock || c.fpu === null) c.raise(Vector.UD);
  if ((c.cr0 & (Cr0.EM | Cr0.TS)) !== 0) c.raise(Vector.NM);
  if ((c.eaOff & 15) !== 0) c.gp(0);
}

function fxsave(c: Cpu): void { fxChecks(c); c.fpu!.fxsave(c, c.eaSeg, c.eaOff); }
function fxrstor(c: Cpu): void { fxChecks(c); c.fpu!.fxrstor(c, c.eaSeg, c.eaOff); }

registerRows([
  {
    code: 0x0fae,
    name: 'GRP15 (FXSAVE FXRSTOR XSAVE XRSTOR) M',
    exec: (c: Cpu) => { c.decodeModrm(); group15Form(c); },
  },
  { code: 0x0fae, reg: 0, name: 'FXSAVE M512', exec: fxsave },
  { code: 0x0fae, reg: 1, name: 'FXRSTOR M512', exec: fxrstor },
  // The operand-size prefix has always been ignored here (as before the group had rows); F2/F3
  // select other instructions of the group (Table A-6) and are #UD.
  { code: 0x0fae, reg: 0, prefix: 0x66, name: 'FXSAVE M512 (66)', exec: fxsave },
  { code: 0x0fae, reg: 1, prefix: 0x66, name: 'FXRSTOR M512 (66)', exec: fxrstor },
]);
