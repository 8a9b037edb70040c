// 0F AE group 15 as a P6-family CPU with FXSR (Pentium II) defines it: /0 FXSAVE, /1 FXRSTOR.
// The SSE forms (/2 LDMXCSR, /3 STMXCSR, fences, CLFLUSH) raise #UD: the model has no SSE.
// SDM Vol. 2A FXSAVE/FXRSTOR: #GP(0) unless the operand is 16-byte aligned; #NM with CR0.EM/TS.
import type { Cpu } from '../cpu';
import { registerRows } from '../decode-table';
import { Cr0, Vector } from '../regs';

registerRows([{
  code: 0x0fae,
  name: 'GRP15 FXSAVE/FXRSTOR M512',
  exec: (c: Cpu) => {
    c.decodeModrm();
    const op = c.modReg;
    if (c.modrm >= 0xc0 || op > 1 || c.lock || c.fpu === null) c.raise(Vector.UD);
    if ((c.cr0 & (Cr0.EM | Cr0.TS)) !== 0) c.raise(Vector.NM);
    if ((c.eaOff & 15) !== 0) c.gp(0);
    if (op === 0) c.fpu.fxsave(c, c.eaSeg, c.eaOff); else c.fpu.fxrstor(c, c.eaSeg, c.eaOff);
  },
}]);
