// Opcode rows for the x87 escape opcodes D8-DF and WAIT/FWAIT (SDM Vol. 2D Appendix A.5, the
// escape opcode maps). The whole escape byte is one row: Fpu.exec decodes ModRM and dispatches.
// A CPU without an FPU object behaves as if CR0.EM were set (#NM), which is what an OS expects
// of a machine that has no coprocessor.
import type { Cpu, OpHandler } from '../cpu';
import { registerRows } from '../decode-table';
import { Cr0, Vector } from '../regs';

function esc(opcode: number): OpHandler {
  return (c: Cpu) => {
    const f = c.fpu;
    if (f === null) return c.raise(Vector.NM);
    f.exec(c, opcode);
  };
}

registerRows([
  { code: 0xd8, name: 'ESC D8 (x87: FADD/FMUL/FCOM/FCOMP/FSUB/FSUBR/FDIV/FDIVR m32fp or ST(i))', exec: esc(0xd8) },
  { code: 0xd9, name: 'ESC D9 (x87: FLD/FST/FSTP m32fp, FLDENV/FLDCW/FNSTENV/FNSTCW, FXCH, FCHS..FCOS)', exec: esc(0xd9) },
  { code: 0xda, name: 'ESC DA (x87: FIADD..FIDIVR m32int, FCMOVB/E/BE/U, FUCOMPP)', exec: esc(0xda) },
  { code: 0xdb, name: 'ESC DB (x87: FILD/FIST/FISTP m32int, FLD/FSTP m80fp, FCMOVNcc, FNCLEX, FNINIT, FUCOMI, FCOMI)', exec: esc(0xdb) },
  { code: 0xdc, name: 'ESC DC (x87: FADD/FMUL/FCOM/FCOMP/FSUB/FSUBR/FDIV/FDIVR m64fp or ST(i),ST(0))', exec: esc(0xdc) },
  { code: 0xdd, name: 'ESC DD (x87: FLD/FST/FSTP m64fp, FRSTOR, FNSAVE, FNSTSW m16, FFREE, FST/FSTP ST(i), FUCOM/FUCOMP)', exec: esc(0xdd) },
  { code: 0xde, name: 'ESC DE (x87: FIADD..FIDIVR m16int, FADDP/FMULP/FCOMPP/FSUBRP/FSUBP/FDIVRP/FDIVP)', exec: esc(0xde) },
  { code: 0xdf, name: 'ESC DF (x87: FILD/FIST/FISTP m16int, FBLD, FILD/FISTP m64int, FBSTP, FFREEP, FNSTSW AX, FUCOMIP, FCOMIP)', exec: esc(0xdf) },
  {
    code: 0x9b,
    name: 'WAIT/FWAIT',
    exec: (c: Cpu) => {
      const f = c.fpu;
      // Without an FPU, WAIT still honours CR0.MP/TS (SDM Vol. 3A §2.5 Table 2-2) and is a no-op.
      if (f === null) {
        if ((c.cr0 & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) c.raise(Vector.NM);
        return;
      }
      f.wait(c);
    },
  },
]);
