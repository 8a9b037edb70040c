// Opcode rows for control transfer, interrupts, HLT and interrupt-flag control
// (SDM Vol. 2 Jcc, JMP, CALL, RET, LOOP, JCXZ, INT n/INTO/INT3, IRET, HLT, CLI/STI, BOUND).
import { Cpu, InhibitBy, InterruptKind, OpHandler } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { rowExit, type RowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls } from '../../vmx/controls';
import { Flag, Seg, Vector } from '../regs';
import { farCall, farJump, farReturn, interruptReturn } from '../segmentation';
import { inc, dec } from './arith';

const rows: OpRow[] = [];
const row = (code: number, name: string, exec: OpHandler, exits?: readonly RowExit[]): void => {
  rows.push(exits === undefined ? { code, name, exec } : { code, name, exec, exits });
};

// The exit column (SDM Vol. 3C §26.1, §26.2, §26.4.2).
const X_HLT = rowExit(ExitReason.Hlt, ControlField.ProcBased, ProcBasedCtls.HltExiting);
const X_TASK = rowExit(ExitReason.TaskSwitch, undefined, undefined, 'a task switch (TSS or task gate; IRET with NT = 1) always exits (§26.4.2)');
const softExc = (v: string): RowExit => rowExit(ExitReason.ExceptionOrNmi, undefined, undefined, `exception-bitmap bit of ${v} (a software exception, with its instruction length)`);

// ---- Conditional jumps ----
// The low four bits of the opcode are the condition (SDM Vol. 1 Appendix B).
export function jccShort(c: Cpu, code: number): void {
  const d = (c.fetch8() << 24) >> 24;
  if (c.cond(code & 15)) c.jumpNear(c.eip + d);
}
export function jccNear(c: Cpu, code: number): void {
  const d = c.os32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
  if (c.cond(code & 15)) c.jumpNear(c.eip + d);
}
const CC = ['O', 'NO', 'B', 'AE', 'E', 'NE', 'BE', 'A', 'S', 'NS', 'P', 'NP', 'L', 'GE', 'LE', 'G'];
for (let cc = 0; cc < 16; cc++) {
  row(0x70 + cc, `J${CC[cc]} Jb`, jccShort);
  row(0x0f80 + cc, `J${CC[cc]} Jz`, jccNear);
}

// ---- JMP / CALL / RET near ----
export function jmpShort(c: Cpu): void { const d = (c.fetch8() << 24) >> 24; c.jumpNear(c.eip + d); }
export function jmpNear(c: Cpu): void { const d = c.os32 ? c.fetch32() : (c.fetch16() << 16) >> 16; c.jumpNear(c.eip + d); }
row(0xeb, 'JMP Jb', jmpShort);
row(0xe9, 'JMP Jz', jmpNear);
export function callNear(c: Cpu): void {
  const d = c.os32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
  const ret = c.eip;
  const target = c.os32 ? (ret + d) >>> 0 : (ret + d) & 0xffff;
  if (target > c.segLimit[Seg.CS]) c.gp(0);
  c.pushV(ret);
  c.eip = target;
}
row(0xe8, 'CALL Jz', callNear);
export function retNear(c: Cpu): void {
  const t = c.os32 ? c.peek32(0) >>> 0 : c.peek16(0);
  if (t > c.segLimit[Seg.CS]) c.gp(0);
  c.sp = c.sp + (c.os32 ? 4 : 2);
  c.eip = t;
}
row(0xc3, 'RET', retNear);
row(0xc2, 'RET Iw', (c) => {
  const n = c.fetch16();
  const t = c.os32 ? c.peek32(0) >>> 0 : c.peek16(0);
  if (t > c.segLimit[Seg.CS]) c.gp(0);
  c.sp = c.sp + (c.os32 ? 4 : 2) + n;
  c.eip = t;
});

// ---- Far transfers (protected-mode rules in segmentation.ts) ----
row(0xea, 'JMP Ap', (c) => { const off = c.fetchImmV(); const sel = c.fetch16(); farJump(c, sel, off); }, [X_TASK]);
row(0x9a, 'CALL Ap', (c) => { const off = c.fetchImmV(); const sel = c.fetch16(); farCall(c, sel, off); }, [X_TASK]);
row(0xcb, 'RETF', (c) => { farReturn(c, 0); });
row(0xca, 'RETF Iw', (c) => { farReturn(c, c.fetch16()); });
row(0xcf, 'IRET/IRETD', (c) => { interruptReturn(c); }, [X_TASK]);

// ---- Group 5 (FF): INC, DEC, CALL/JMP near and far indirect, PUSH ----
row(0xff, 'GRP5 Ev', (c) => {
  c.decodeModrm();
  const op = c.modReg;
  if (c.lock && op > 1) c.ud();
  switch (op) {
    case 0: case 1: {
      if (c.lock && c.modrm >= 0xc0) c.ud();
      const s = c.os32 ? 2 : 1, v = c.rmReadV();
      c.rmWriteV(op === 0 ? inc(c, v, s) : dec(c, v, s));
      return;
    }
    case 2: {
      const t = c.os32 ? c.rmRead32() >>> 0 : c.rmRead16();
      if (t > c.segLimit[Seg.CS]) c.gp(0);
      c.pushV(c.eip);
      c.eip = t;
      return;
    }
    case 3: case 5: {
      if (c.modrm >= 0xc0) c.ud();
      const off = c.os32 ? c.read32(c.eaSeg, c.eaOff) >>> 0 : c.read16(c.eaSeg, c.eaOff);
      const sel = c.read16(c.eaSeg, (c.eaOff + (c.os32 ? 4 : 2)) >>> 0);
      if (op === 3) farCall(c, sel, off); else farJump(c, sel, off);
      return;
    }
    case 4: {
      const t = c.os32 ? c.rmRead32() >>> 0 : c.rmRead16();
      if (t > c.segLimit[Seg.CS]) c.gp(0);
      c.eip = t;
      return;
    }
    case 6: c.pushV(c.rmReadV()); return;
    default: c.ud();
  }
}, [X_TASK]);

// ---- LOOP / JCXZ (the counter is CX or ECX by address size) ----
function loopOp(kind: number): OpHandler {
  return (c) => {
    const d = (c.fetch8() << 24) >> 24;
    let count: number;
    if (c.as32) { count = (c.r32[1] - 1) | 0; c.r32[1] = count; } else { count = (c.r16[2] - 1) & 0xffff; c.r16[2] = count; }
    let take = count !== 0;
    if (kind === 0) take = take && !c.zf(); else if (kind === 1) take = take && c.zf();
    if (take) c.jumpNear(c.eip + d);
  };
}
row(0xe0, 'LOOPNE Jb', loopOp(0));
row(0xe1, 'LOOPE Jb', loopOp(1));
row(0xe2, 'LOOP Jb', loopOp(2));
row(0xe3, 'JCXZ/JECXZ Jb', (c) => {
  const d = (c.fetch8() << 24) >> 24;
  if ((c.as32 ? c.r32[1] : c.r16[2]) === 0) c.jumpNear(c.eip + d);
});

// ---- Software interrupts ----
/** INT n / INT3 / INTO: delivery (interrupts.ts) applies the V86 IOPL and CR4.VME rules. */
function softInt(c: Cpu, vector: number, kind: InterruptKind): void {
  c.deliver(c, vector, kind, 0, false);
}
// INT n never exits (a software interrupt, not an exception); INT3, INTO and INT1 are
// exceptions for the exception bitmap (§26.2), INT1 of its own interruption type (5).
row(0xcc, 'INT3', (c) => softInt(c, Vector.BP, InterruptKind.SoftwareException), [softExc('#BP')]);
row(0xcd, 'INT Ib', (c) => softInt(c, c.fetch8(), InterruptKind.Software));
row(0xce, 'INTO', (c) => { if (c.of()) softInt(c, Vector.OF, InterruptKind.SoftwareException); }, [softExc('#OF')]);
row(0xf1, 'INT1 (ICEBP)', (c) => { c.deliver(c, Vector.DB, InterruptKind.PrivilegedSoftwareException, 0, false); }, [softExc('#DB')]);

// ---- BOUND ----
row(0x62, 'BOUND Gv,Ma', (c) => {
  c.decodeModrm();
  if (c.modrm >= 0xc0) c.ud();
  let lo: number, hi: number, v: number;
  if (c.os32) { lo = c.read32(c.eaSeg, c.eaOff); hi = c.read32(c.eaSeg, (c.eaOff + 4) >>> 0); v = c.r32[c.modReg]; }
  else {
    lo = (c.read16(c.eaSeg, c.eaOff) << 16) >> 16; hi = (c.read16(c.eaSeg, (c.eaOff + 2) & 0xffff) << 16) >> 16;
    v = (c.r16[c.modReg << 1] << 16) >> 16;
  }
  if (v < lo || v > hi) c.raise(Vector.BR);
});

// ---- HLT, CLI, STI ----
row(0xf4, 'HLT', (c) => {
  if (c.protectedMode() && c.cpl !== 0) c.gp(0);
  if (c.nonRoot && c.vmx!.tryInstructionExit(X_HLT, 0)) return;
  c.halted = true;
  c.eventPending = true; // leave the inner loop so run() reports Halted
}, [X_HLT]);
row(0xfa, 'CLI', (c) => {
  if (c.protectedMode() && c.cpl > ((c.flags >> 12) & 3)) c.gp(0);
  c.flags &= ~Flag.IF;
});
row(0xfb, 'STI', (c) => {
  if (c.protectedMode() && c.cpl > ((c.flags >> 12) & 3)) c.gp(0);
  if ((c.flags & Flag.IF) === 0) { c.flags |= Flag.IF; c.inhibitInterrupts(InhibitBy.Sti); }
});

registerRows(rows);
