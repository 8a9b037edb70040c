// Opcode rows for integer arithmetic and logic (SDM Vol. 2D Table; groups in A-6).
import { Cpu, OpHandler } from '../cpu';
import { OpRow, group9Form, registerRows } from '../decode-table';
import { Flag, Vector } from '../regs';
import {
  ALU_NAMES, AluOp, alu, dec, divAcc, idivAcc, imulAcc, imulTrunc, inc, logicFlags, mulAcc, neg, shift, shiftDouble,
} from './arith';

const rows: OpRow[] = [];
const row = (code: number, name: string, exec: OpHandler): void => { rows.push({ code, name, exec }); };

/** LOCK is legal only with a memory destination (SDM Vol. 2B LOCK). */
export function lockCheck(c: Cpu): void { if (c.lock && c.modrm >= 0xc0) c.raise(Vector.UD); }

// ---- 00-3F: the eight ALU operations in six forms each; bits 5:3 of the opcode pick the
// operation. Named functions (not closures) so the run loop's fast dispatch can call them. ----
export function aluEbGb(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  c.decodeModrm(); lockCheck(c);
  const r = alu(c, op, c.rmRead8(), c.getReg8(c.modReg), 0);
  if (op !== AluOp.Cmp) c.rmWrite8(r);
}
export function aluEvGv(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  c.decodeModrm(); lockCheck(c);
  if (c.os32) { const r = alu(c, op, c.rmRead32(), c.r32[c.modReg], 2); if (op !== AluOp.Cmp) c.rmWrite32(r); }
  else { const r = alu(c, op, c.rmRead16(), c.r16[c.modReg << 1], 1); if (op !== AluOp.Cmp) c.rmWrite16(r); }
}
export function aluGbEb(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  c.decodeModrm(); if (c.lock) c.ud();
  const reg = c.modReg, r = alu(c, op, c.getReg8(reg), c.rmRead8(), 0);
  if (op !== AluOp.Cmp) c.setReg8(reg, r);
}
export function aluGvEv(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  c.decodeModrm(); if (c.lock) c.ud();
  const reg = c.modReg;
  if (c.os32) { const r = alu(c, op, c.r32[reg], c.rmRead32(), 2); if (op !== AluOp.Cmp) c.r32[reg] = r; }
  else { const r = alu(c, op, c.r16[reg << 1], c.rmRead16(), 1); if (op !== AluOp.Cmp) c.r16[reg << 1] = r; }
}
export function aluALIb(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  if (c.lock) c.ud();
  const r = alu(c, op, c.r8[0], c.fetch8(), 0);
  if (op !== AluOp.Cmp) c.r8[0] = r;
}
export function aluEAXIv(c: Cpu, code: number): void {
  const op = (code >> 3) & 7;
  if (c.lock) c.ud();
  if (c.os32) { const r = alu(c, op, c.r32[0], c.fetch32(), 2); if (op !== AluOp.Cmp) c.r32[0] = r; }
  else { const r = alu(c, op, c.r16[0], c.fetch16(), 1); if (op !== AluOp.Cmp) c.r16[0] = r; }
}
for (let op = 0; op < 8; op++) {
  const n = ALU_NAMES[op], base = op << 3;
  row(base + 0, `${n} Eb,Gb`, aluEbGb);
  row(base + 1, `${n} Ev,Gv`, aluEvGv);
  row(base + 2, `${n} Gb,Eb`, aluGbEb);
  row(base + 3, `${n} Gv,Ev`, aluGvEv);
  row(base + 4, `${n} AL,Ib`, aluALIb);
  row(base + 5, `${n} eAX,Iv`, aluEAXIv);
}

// ---- Group 1: 80, 81, 82 (alias of 80 outside 64-bit mode), 83 ----
const grp1Eb: OpHandler = (c) => {
  c.decodeModrm(); lockCheck(c);
  const op = c.modReg, r = alu(c, op, c.rmRead8(), c.fetch8(), 0);
  if (op !== AluOp.Cmp) c.rmWrite8(r);
};
row(0x80, 'GRP1 Eb,Ib', grp1Eb);
row(0x82, 'GRP1 Eb,Ib (alias)', grp1Eb);
export function grp1EvIv(c: Cpu): void {
  c.decodeModrm(); lockCheck(c);
  const op = c.modReg;
  if (c.os32) { const a = c.rmRead32(), r = alu(c, op, a, c.fetch32(), 2); if (op !== AluOp.Cmp) c.rmWrite32(r); }
  else { const a = c.rmRead16(), r = alu(c, op, a, c.fetch16(), 1); if (op !== AluOp.Cmp) c.rmWrite16(r); }
}
export function grp1EvIb(c: Cpu): void {
  c.decodeModrm(); lockCheck(c);
  const op = c.modReg;
  if (c.os32) { const a = c.rmRead32(), r = alu(c, op, a, (c.fetch8() << 24) >> 24, 2); if (op !== AluOp.Cmp) c.rmWrite32(r); }
  else { const a = c.rmRead16(), r = alu(c, op, a, ((c.fetch8() << 24) >> 24) & 0xffff, 1); if (op !== AluOp.Cmp) c.rmWrite16(r); }
}
row(0x81, 'GRP1 Ev,Iv', grp1EvIv);
row(0x83, 'GRP1 Ev,Ib', grp1EvIb);

// ---- TEST ----
row(0x84, 'TEST Eb,Gb', (c) => { c.decodeModrm(); if (c.lock) c.ud(); alu(c, AluOp.And, c.rmRead8(), c.getReg8(c.modReg), 0); });
export function testEvGv(c: Cpu): void {
  c.decodeModrm(); if (c.lock) c.ud();
  if (c.os32) alu(c, AluOp.And, c.rmRead32(), c.r32[c.modReg], 2); else alu(c, AluOp.And, c.rmRead16(), c.r16[c.modReg << 1], 1);
}
row(0x85, 'TEST Ev,Gv', testEvGv);
row(0xa8, 'TEST AL,Ib', (c) => { alu(c, AluOp.And, c.r8[0], c.fetch8(), 0); });
row(0xa9, 'TEST eAX,Iv', (c) => { if (c.os32) alu(c, AluOp.And, c.r32[0], c.fetch32(), 2); else alu(c, AluOp.And, c.r16[0], c.fetch16(), 1); });

// ---- INC/DEC register (40-4F): the low three bits name the register ----
const RV = ['eAX', 'eCX', 'eDX', 'eBX', 'eSP', 'eBP', 'eSI', 'eDI'];
export function incReg(c: Cpu, code: number): void {
  const r = code & 7;
  if (c.os32) c.r32[r] = inc(c, c.r32[r], 2); else c.r16[r << 1] = inc(c, c.r16[r << 1], 1);
}
export function decReg(c: Cpu, code: number): void {
  const r = code & 7;
  if (c.os32) c.r32[r] = dec(c, c.r32[r], 2); else c.r16[r << 1] = dec(c, c.r16[r << 1], 1);
}
for (let r = 0; r < 8; r++) {
  row(0x40 + r, `INC ${RV[r]}`, incReg);
  row(0x48 + r, `DEC ${RV[r]}`, decReg);
}

// ---- Group 2: shifts and rotates ----
function grp2b(c: Cpu, count: number): void { c.rmWrite8(shift(c, c.modReg, c.rmRead8(), count, 0)); }
function grp2v(c: Cpu, count: number): void {
  if (c.os32) c.rmWrite32(shift(c, c.modReg, c.rmRead32(), count, 2));
  else c.rmWrite16(shift(c, c.modReg, c.rmRead16(), count, 1));
}
row(0xc0, 'GRP2 Eb,Ib', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const v = c.rmRead8(), n = c.fetch8();
  c.rmWrite8(shift(c, c.modReg, v, n, 0));
});
export function grp2EvIb(c: Cpu): void {
  c.decodeModrm(); if (c.lock) c.ud();
  if (c.os32) { const v = c.rmRead32(), n = c.fetch8(); c.rmWrite32(shift(c, c.modReg, v, n, 2)); }
  else { const v = c.rmRead16(), n = c.fetch8(); c.rmWrite16(shift(c, c.modReg, v, n, 1)); }
}
row(0xc1, 'GRP2 Ev,Ib', grp2EvIb);
row(0xd0, 'GRP2 Eb,1', (c) => { c.decodeModrm(); if (c.lock) c.ud(); grp2b(c, 1); });
row(0xd1, 'GRP2 Ev,1', (c) => { c.decodeModrm(); if (c.lock) c.ud(); grp2v(c, 1); });
row(0xd2, 'GRP2 Eb,CL', (c) => { c.decodeModrm(); if (c.lock) c.ud(); grp2b(c, c.r8[4]); });
row(0xd3, 'GRP2 Ev,CL', (c) => { c.decodeModrm(); if (c.lock) c.ud(); grp2v(c, c.r8[4]); });

// ---- Group 3: TEST/NOT/NEG/MUL/IMUL/DIV/IDIV ----
row(0xf6, 'GRP3 Eb', (c) => {
  c.decodeModrm();
  const op = c.modReg;
  if (c.lock && op !== 2 && op !== 3) c.ud();
  lockCheck(c);
  switch (op) {
    case 0: case 1: { const v = c.rmRead8(); alu(c, AluOp.And, v, c.fetch8(), 0); break; }
    case 2: c.rmWrite8(~c.rmRead8()); break;
    case 3: c.rmWrite8(neg(c, c.rmRead8(), 0)); break;
    case 4: mulAcc(c, c.rmRead8(), 0); break;
    case 5: imulAcc(c, c.rmRead8(), 0); break;
    case 6: divAcc(c, c.rmRead8(), 0); break;
    default: idivAcc(c, c.rmRead8(), 0); break;
  }
});
row(0xf7, 'GRP3 Ev', (c) => {
  c.decodeModrm();
  const op = c.modReg, size = c.os32 ? 2 : 1;
  if (c.lock && op !== 2 && op !== 3) c.ud();
  lockCheck(c);
  switch (op) {
    case 0: case 1: { const v = c.rmReadV(); alu(c, AluOp.And, v, c.fetchImmV(), size); break; }
    case 2: c.rmWriteV(~c.rmReadV()); break;
    case 3: c.rmWriteV(neg(c, c.rmReadV(), size)); break;
    case 4: mulAcc(c, c.rmReadV(), size); break;
    case 5: imulAcc(c, c.rmReadV(), size); break;
    case 6: divAcc(c, c.rmReadV(), size); break;
    default: idivAcc(c, c.rmReadV(), size); break;
  }
});

// ---- Group 4/5 INC/DEC on r/m (FE, and FF /0 /1; the rest of FF is in control.ts) ----
row(0xfe, 'GRP4 Eb', (c) => {
  c.decodeModrm(); lockCheck(c);
  const op = c.modReg;
  if (op === 0) c.rmWrite8(inc(c, c.rmRead8(), 0));
  else if (op === 1) c.rmWrite8(dec(c, c.rmRead8(), 0));
  else c.ud();
});

// ---- IMUL forms ----
row(0x69, 'IMUL Gv,Ev,Iv', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const s = c.os32 ? 2 : 1, a = c.rmReadV(), b = c.fetchImmV();
  c.setRegV(c.modReg, imulTrunc(c, a, b, s));
});
row(0x6b, 'IMUL Gv,Ev,Ib', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const s = c.os32 ? 2 : 1, a = c.rmReadV(), b = (c.fetch8() << 24) >> 24;
  c.setRegV(c.modReg, imulTrunc(c, a, b, s));
});
row(0x0faf, 'IMUL Gv,Ev', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const s = c.os32 ? 2 : 1;
  c.setRegV(c.modReg, imulTrunc(c, c.getRegV(c.modReg), c.rmReadV(), s));
});

// ---- BCD adjust (SDM DAA/DAS/AAA/AAS/AAM/AAD) ----
row(0x27, 'DAA', (c) => {
  const oldAl = c.r8[0], oldCf = c.cf();
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0xf) > 9 || c.af()) { al += 6; cf = oldCf | (al > 0xff ? 1 : 0); af = Flag.AF; }
  if (oldAl > 0x99 || oldCf !== 0) { al += 0x60; cf = 1; } else cf = 0;
  al &= 0xff; c.r8[0] = al;
  logicFlags(c, al, 0);
  c.setArith(Flag.CF | Flag.AF, cf | af);
});
row(0x2f, 'DAS', (c) => {
  const oldAl = c.r8[0], oldCf = c.cf();
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0xf) > 9 || c.af()) { cf = oldCf | (al < 6 ? 1 : 0); al -= 6; af = Flag.AF; }
  if (oldAl > 0x99 || oldCf !== 0) { al -= 0x60; cf = 1; }
  al &= 0xff; c.r8[0] = al;
  logicFlags(c, al, 0);
  c.setArith(Flag.CF | Flag.AF, cf | af);
});
row(0x37, 'AAA', (c) => {
  if ((c.r8[0] & 0xf) > 9 || c.af()) {
    c.r16[0] = c.r16[0] + 0x106; c.r8[0] &= 0xf;
    logicFlags(c, c.r8[0], 0); c.setArith(Flag.CF | Flag.AF, Flag.CF | Flag.AF);
  } else {
    c.r8[0] &= 0xf;
    logicFlags(c, c.r8[0], 0); c.setArith(Flag.CF | Flag.AF, 0);
  }
});
row(0x3f, 'AAS', (c) => {
  if ((c.r8[0] & 0xf) > 9 || c.af()) {
    c.r16[0] = c.r16[0] - 6; c.r8[1] = c.r8[1] - 1; c.r8[0] &= 0xf;
    logicFlags(c, c.r8[0], 0); c.setArith(Flag.CF | Flag.AF, Flag.CF | Flag.AF);
  } else {
    c.r8[0] &= 0xf;
    logicFlags(c, c.r8[0], 0); c.setArith(Flag.CF | Flag.AF, 0);
  }
});
row(0xd4, 'AAM Ib', (c) => {
  const base = c.fetch8();
  if (base === 0) c.raise(Vector.DE);
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / base); c.r8[0] = al % base;
  logicFlags(c, c.r8[0], 0);
});
row(0xd5, 'AAD Ib', (c) => {
  const base = c.fetch8();
  const a = c.r8[0], b = (c.r8[1] * base) & 0xff;
  // Flags as the internal 8-bit ADD of AL + AH*imm8 leaves them (undefined OF/AF/CF per SDM).
  const r = alu(c, AluOp.Add, a, b, 0) & 0xff;
  c.r16[0] = r;
});
row(0xd6, 'SALC (undocumented)', (c) => { c.r8[0] = c.cf() !== 0 ? 0xff : 0; });

// ---- CBW/CWDE, CWD/CDQ ----
row(0x98, 'CBW/CWDE', (c) => { if (c.os32) c.r32[0] = (c.r16[0] << 16) >> 16; else c.r16[0] = (c.r8[0] << 24) >> 24; });
row(0x99, 'CWD/CDQ', (c) => { if (c.os32) c.r32[2] = c.r32[0] >> 31; else c.r16[4] = ((c.r16[0] << 16) >> 31); });

// ---- Flag instructions ----
row(0xf5, 'CMC', (c) => { c.setArith(Flag.CF, c.cf() ^ 1); });
row(0xf8, 'CLC', (c) => { c.setArith(Flag.CF, 0); });
row(0xf9, 'STC', (c) => { c.setArith(Flag.CF, Flag.CF); });
row(0xfc, 'CLD', (c) => { c.flags &= ~Flag.DF; });
row(0xfd, 'STD', (c) => { c.flags |= Flag.DF; });

// ---- 0F: SHLD/SHRD ----
function shd(left: boolean, imm: boolean): OpHandler {
  return (c) => {
    c.decodeModrm(); if (c.lock) c.ud();
    const s = c.os32 ? 2 : 1, dst = c.rmReadV(), src = c.getRegV(c.modReg);
    const n = imm ? c.fetch8() : c.r8[4];
    c.rmWriteV(shiftDouble(c, left, dst, src, n, s));
  };
}
row(0x0fa4, 'SHLD Ev,Gv,Ib', shd(true, true));
row(0x0fa5, 'SHLD Ev,Gv,CL', shd(true, false));
row(0x0fac, 'SHRD Ev,Gv,Ib', shd(false, true));
row(0x0fad, 'SHRD Ev,Gv,CL', shd(false, false));

// ---- 0F: bit test and scan (SDM BT/BTS/BTR/BTC/BSF/BSR) ----
/** op: 0 BT, 1 BTS, 2 BTR, 3 BTC. With a register bit offset on memory, the offset is signed
 *  and selects a word/dword relative to the effective address. */
function bitOp(c: Cpu, op: number, offset: number, immediate: boolean): void {
  const s32 = c.os32;
  const bits = s32 ? 32 : 16;
  let v: number, bit: number;
  if (c.modrm >= 0xc0) {
    bit = offset & (bits - 1);
    v = s32 ? c.r32[c.modrm & 7] : c.r16[(c.modrm & 7) << 1];
  } else {
    if (immediate) { bit = offset & (bits - 1); }
    else {
      const so = s32 ? offset | 0 : (offset << 16) >> 16;
      const words = Math.floor(so / bits);
      c.eaOff = c.as32 ? (c.eaOff + words * (bits >> 3)) >>> 0 : (c.eaOff + words * (bits >> 3)) & 0xffff;
      bit = so & (bits - 1);
    }
    v = s32 ? c.read32(c.eaSeg, c.eaOff) : c.read16(c.eaSeg, c.eaOff);
  }
  const cf = (v >>> bit) & 1;
  c.setArith(Flag.CF, cf);
  if (op === 0) return;
  const nv = op === 1 ? v | (1 << bit) : op === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
  if (s32) c.rmWrite32(nv); else c.rmWrite16(nv);
}
const BT_NAMES = ['BT', 'BTS', 'BTR', 'BTC'];
const BT_CODES = [0xa3, 0xab, 0xb3, 0xbb];
for (let op = 0; op < 4; op++) {
  row(0x0f00 | BT_CODES[op], `${BT_NAMES[op]} Ev,Gv`, (c) => {
    c.decodeModrm();
    if (op === 0) { if (c.lock) c.ud(); } else lockCheck(c);
    bitOp(c, op, c.getRegV(c.modReg), false);
  });
}
row(0x0fba, 'GRP8 Ev,Ib (BT/BTS/BTR/BTC)', (c) => {
  c.decodeModrm();
  const op = c.modReg;
  if (op < 4) c.ud();
  if (op === 4) { if (c.lock) c.ud(); } else lockCheck(c);
  bitOp(c, op - 4, c.fetch8(), true);
});
row(0x0fbc, 'BSF Gv,Ev', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const v = c.os32 ? c.rmRead32() : c.rmRead16();
  c.flushFlags();
  if (v === 0) { c.setArith(Flag.ZF, Flag.ZF); return; }
  c.setArith(Flag.ZF, 0);
  c.setRegV(c.modReg, 31 - Math.clz32(v & -v));
});
row(0x0fbd, 'BSR Gv,Ev', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const v = c.os32 ? c.rmRead32() : c.rmRead16();
  c.flushFlags();
  if (v === 0) { c.setArith(Flag.ZF, Flag.ZF); return; }
  c.setArith(Flag.ZF, 0);
  c.setRegV(c.modReg, 31 - Math.clz32(v));
});

// ---- 0F: SETcc, CMOVcc, BSWAP ----
for (let cc = 0; cc < 16; cc++) {
  row(0x0f90 + cc, `SETcc(${cc}) Eb`, (c) => { c.decodeModrm(); if (c.lock) c.ud(); c.rmWrite8(c.cond(cc) ? 1 : 0); });
  row(0x0f40 + cc, `CMOVcc(${cc}) Gv,Ev`, (c) => {
    c.decodeModrm(); if (c.lock) c.ud();
    const v = c.rmReadV(); // the source is read (and may fault) whatever the condition
    if (c.cond(cc)) c.setRegV(c.modReg, v);
  });
}
for (let r = 0; r < 8; r++) {
  row(0x0fc8 + r, `BSWAP r${r}`, (c) => {
    if (c.os32) { const v = c.r32[r]; c.r32[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24); }
    else c.r16[r << 1] = 0; // 16-bit operand: undefined by the SDM; P6 cores clear it
  });
}

// ---- 0F: XADD, CMPXCHG, CMPXCHG8B ----
row(0x0fc0, 'XADD Eb,Gb', (c) => {
  c.decodeModrm(); lockCheck(c);
  const d = c.rmRead8(), s = c.getReg8(c.modReg), r = alu(c, AluOp.Add, d, s, 0);
  // SRC <- DEST, then DEST <- sum (XADD reg,same-reg leaves the sum); memory is written first
  // so a faulting store leaves the register unchanged.
  if (c.modrm >= 0xc0) { c.setReg8(c.modReg, d); c.rmWrite8(r); } else { c.rmWrite8(r); c.setReg8(c.modReg, d); }
});
row(0x0fc1, 'XADD Ev,Gv', (c) => {
  c.decodeModrm(); lockCheck(c);
  const size = c.os32 ? 2 : 1, d = c.rmReadV(), s = c.getRegV(c.modReg), r = alu(c, AluOp.Add, d, s, size);
  if (c.modrm >= 0xc0) { c.setRegV(c.modReg, d); c.rmWriteV(r); } else { c.rmWriteV(r); c.setRegV(c.modReg, d); }
});
row(0x0fb0, 'CMPXCHG Eb,Gb', (c) => {
  c.decodeModrm(); lockCheck(c);
  const d = c.rmRead8();
  alu(c, AluOp.Cmp, c.r8[0], d, 0);
  if (c.r8[0] === d) c.rmWrite8(c.getReg8(c.modReg)); else { c.rmWrite8(d); c.r8[0] = d; }
});
row(0x0fb1, 'CMPXCHG Ev,Gv', (c) => {
  c.decodeModrm(); lockCheck(c);
  if (c.os32) {
    const d = c.rmRead32();
    alu(c, AluOp.Cmp, c.r32[0], d, 2);
    if (c.r32[0] === d) c.rmWrite32(c.r32[c.modReg]); else { c.rmWrite32(d); c.r32[0] = d; }
  } else {
    const d = c.rmRead16();
    alu(c, AluOp.Cmp, c.r16[0], d, 1);
    if (c.r16[0] === d) c.rmWrite16(c.r16[c.modReg << 1]); else { c.rmWrite16(d); c.r16[0] = d; }
  }
});
row(0x0fc7, 'GRP9 CMPXCHG8B Mq', (c) => {
  c.decodeModrm();
  if (c.modReg !== 1) { group9Form(c); return; } // the other /digits: rows with `reg` (ops/vmx.ts)
  if (c.modrm >= 0xc0) c.ud();
  const seg = c.eaSeg, off = c.eaOff;
  const lo = c.read32(seg, off), hi = c.read32(seg, off + 4);
  c.flushFlags();
  if (lo === c.r32[0] && hi === c.r32[2]) {
    c.checkWrite(seg, off, 8);
    c.write32(seg, off, c.r32[3]); c.write32(seg, off + 4, c.r32[1]);
    c.setArith(Flag.ZF, Flag.ZF);
  } else {
    c.checkWrite(seg, off, 8);
    c.write32(seg, off, lo); c.write32(seg, off + 4, hi); // the locked cycle writes back
    c.r32[0] = lo; c.r32[2] = hi;
    c.setArith(Flag.ZF, 0);
  }
});


registerRows(rows);
