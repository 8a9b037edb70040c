// The 64-bit mode interpreter (SDM Vol. 1 §3.2.1 "64-Bit Mode Execution Environment", Vol. 2
// §2.2.1 REX, Appendix A opcode map with its i64/o64/d64/f64 superscripts). Cpu.step() hands
// every instruction to `step64` while Cpu.mode64 (IA32_EFER.LMA = 1 and CS.L = 1); compatibility
// mode and legacy modes never come here, so the 32-bit fast paths (decode cache, dispatch
// switch) are unchanged. Instructions without operands whose 32-bit handler is also right in
// 64-bit mode (HLT, CLI, STI, INT n, CPUID, ...) run through the opcode table (OPS/OPS_0F), with
// the upper halves of the registers they write cleared afterwards.
//
// Phase 1: no SSE in 64-bit mode, no call gates or far returns to an outer level; these raise
// #UD or #GP. RDRAND/RDSEED/RDTSCP/INVPCID/MONITOR/MWAIT/LAR/LSL/VERR/VERW: isa64.ts; the x87
// escapes and FXSAVE/FXRSTOR (0F AE): fpu64.ts; XSAVE/XRSTOR, GETSEC: xstate64.ts.
import { Cpu, InhibitBy, OPS, OPS_0F } from '../cpu';
import { Flag, Seg, SegAttr, Vector } from '../regs';
import { Desc, fetchDesc, loadCache, loadNull, notPresent, selErr, setAccessed } from '../descriptor';
import { loadSegment } from '../segmentation';
import { popFlags } from '../ops/move';
import { add, alu, imul2, incDec, logic, shift, shiftDouble, sub, szp } from './alu64';
import { BITS, D64, MASK, SIGN, Sz, ea, eaOffsetFull, getR, linOf, modrm64, resetDecode, rmLin, rmRead, rmWrite, setR, setR32, sx } from './decode64';
import { stringIo, stringOp } from './string64';
import { group6_64, group7_64, movCr64, movDr64 } from './system-ops64';
import {
  checkCanon, fetchSlow64, gq, probeWrite, read16, read32, read64, read8, readSized, refillFetch64, sq, write16, write32,
  write64, writeSized,
} from './mem64';
import { CANON } from './long-mode';
import { map0F38, vmreadVmwrite64, vmxGroup9 } from './vmx64';
import { interruptReturn64, syscall, sysret } from './system64';
import { larLsl64 } from './isa64';
import { group15_64, x87Escape64 } from './fpu64';
import { getsec64 } from './xstate64';

const RSP = 4;
const DS = new Desc();

// ---- stack (SDM Vol. 1 §6.2.5: 64-bit pushes by default, 16-bit with 66) ----------------------

export function push64(c: Cpu, v: bigint): void {
  const sp = gq(c, RSP) - 8;
  checkCanon(c, sp, Seg.SS);
  write64(c, sp, v);
  sq(c, RSP, sp);
}
function pushSized(c: Cpu, v: bigint, s: Sz): void {
  if (s !== Sz.W) { push64(c, v); return; }
  const sp = gq(c, RSP) - 2;
  checkCanon(c, sp, Seg.SS);
  write16(c, sp, Number(v & 0xffffn));
  sq(c, RSP, sp);
}
export function pop64(c: Cpu): bigint {
  const sp = gq(c, RSP);
  checkCanon(c, sp, Seg.SS);
  const v = read64(c, sp);
  sq(c, RSP, sp + 8);
  return v;
}
function popSized(c: Cpu, s: Sz): bigint {
  if (s !== Sz.W) return pop64(c);
  const sp = gq(c, RSP);
  checkCanon(c, sp, Seg.SS);
  const v = BigInt(read16(c, sp));
  sq(c, RSP, sp + 2);
  return v;
}
/** Operand size of the d64 instructions (near branches, PUSH/POP): 64, or 16 with 66. */
function stackSize(): Sz { return D64.p66 && !D64.w ? Sz.W : Sz.Q; }

// ---- operands ---------------------------------------------------------------------------------

/** Immediate of size `s` (imm32 sign-extended for 64-bit operands), as an unsigned value of `s`. */
function imm(c: Cpu, s: Sz): bigint {
  switch (s) {
    case Sz.B: return BigInt(c.fetch8());
    case Sz.W: return BigInt(c.fetch16());
    case Sz.D: return BigInt(c.fetch32() >>> 0);
    default: return BigInt.asUintN(64, BigInt(c.fetch32()));
  }
}
function imm8sx(c: Cpu, s: Sz): bigint { return BigInt.asUintN(BITS[s], BigInt((c.fetch8() << 24) >> 24)); }

// ---- control transfer --------------------------------------------------------------------------

/** Near branch to `target` (a number): #GP(0) if not canonical (SDM Vol. 2A JMP). With 66 the
 *  target is truncated to 16 bits. */
function branch(c: Cpu, target: number): void {
  if (D64.p66 && !D64.w) target = ((target % 65536) + 65536) % 65536;
  if (!(target >= -CANON && target < CANON)) c.gp(0);
  c.eip = target;
}
function u64ToNum(v: bigint): number { return Number(BigInt.asIntN(64, v)); }

/** Far transfer to `sel`:`off` without a privilege change (JMP/CALL m16:xx, RETF to the same
 *  level): a code segment, conforming DPL <= CPL or non-conforming DPL = CPL (SDM Vol. 3A §5.8.1).
 *  A target with L = 1 runs in 64-bit mode, one with L = 0 in compatibility mode. */
function farSameLevel(c: Cpu, sel: number, off: number, retRpl: number): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, sel, DS, Vector.GP);
  if (!DS.isCode) c.gp(selErr(sel));
  if (DS.conforming ? DS.dpl > c.cpl : DS.dpl !== c.cpl || (retRpl < 0 && (sel & 3) > c.cpl)) c.gp(selErr(sel));
  if (retRpl >= 0 && retRpl !== c.cpl) c.gp(selErr(sel)); // RETF to an outer level: not in phase 1
  if (!DS.present) notPresent(c, sel, false);
  const long = (DS.attr & SegAttr.L) !== 0;
  if (long && (DS.attr & SegAttr.DB) !== 0) c.gp(selErr(sel));
  if (long) { if (!(off >= -CANON && off < CANON)) c.gp(0); } else { off = off >>> 0; if (off > DS.limit) c.gp(0); }
  setAccessed(c, DS);
  loadCache(c, Seg.CS, (sel & 0xfffc) | c.cpl, DS);
  c.eip = off;
}

/** ENTER Iw, Ib in 64-bit mode (SDM Vol. 2A ENTER: 64-bit frame pointer pushes). */
function enter(c: Cpu): void {
  const size = c.fetch16(), level = c.fetch8() & 31;
  const w = stackSize() === Sz.W ? 2 : 8;
  const rsp0 = gq(c, RSP);
  let sp = rsp0 - w;
  checkCanon(c, sp, Seg.SS);
  const rbp = gq(c, 5);
  const frame = sp;
  // Write everything to a local list first so a fault leaves RSP/RBP unchanged.
  const vals: bigint[] = [BigInt.asUintN(64, BigInt(rbp))];
  let bp = rbp;
  for (let i = 1; i < level; i++) {
    bp -= w;
    checkCanon(c, bp, Seg.SS);
    vals.push(w === 8 ? read64(c, bp) : BigInt(read16(c, bp)));
  }
  if (level > 0) vals.push(BigInt.asUintN(64, BigInt(frame)));
  sp = rsp0;
  for (const v of vals) {
    sp -= w;
    checkCanon(c, sp, Seg.SS);
    if (w === 8) write64(c, sp, v); else write16(c, sp, Number(v & 0xffffn));
  }
  const end = sp - size;
  checkCanon(c, end, Seg.SS);
  if (w === 8) sq(c, 5, frame); else c.r16[10] = frame & 0xffff;
  sq(c, RSP, end);
}

/** 0F C7 /1: CMPXCHG8B m64, or with REX.W CMPXCHG16B m128 (#GP(0) unless 16-byte aligned). */
function cmpxchg8or16(c: Cpu): void {
  const d = D64;
  if (d.mod === 3) c.ud();
  const lin = ea(c);
  if (d.w) {
    if ((lin & 15) !== 0) c.gp(0);
    const lo = read64(c, lin), hi = read64(c, lin + 8);
    const eq = lo === getR(c, 0, Sz.Q) && hi === getR(c, 2, Sz.Q);
    probeWrite(c, lin); probeWrite(c, lin + 15);
    if (eq) { write64(c, lin, getR(c, 3, Sz.Q)); write64(c, lin + 8, getR(c, 1, Sz.Q)); }
    else { write64(c, lin, lo); write64(c, lin + 8, hi); setR(c, 0, Sz.Q, lo); setR(c, 2, Sz.Q, hi); }
    c.flushFlags();
    c.setArith(Flag.ZF, eq ? Flag.ZF : 0);
    return;
  }
  const lo = read32(c, lin), hi = read32(c, lin + 4);
  const eq = lo === c.r32[0] && hi === c.r32[2];
  probeWrite(c, lin); probeWrite(c, lin + 7);
  if (eq) { write32(c, lin, c.r32[3]); write32(c, lin + 4, c.r32[1]); }
  else { write32(c, lin, lo); write32(c, lin + 4, hi); setR32(c, 0, lo); setR32(c, 2, hi); }
  c.flushFlags();
  c.setArith(Flag.ZF, eq ? Flag.ZF : 0);
}

// ---- MUL/DIV (group 3) ------------------------------------------------------------------------

function mulDiv(c: Cpu, op: number, v: bigint, s: Sz): void {
  const n = BigInt(BITS[s]), m = MASK[s];
  // AL/AX, AH/DX halves by size: 8-bit uses AX.
  const lo = getR(c, 0, s);
  const hi = s === Sz.B ? BigInt(c.r8[1]) : getR(c, 2, s);
  const put = (l: bigint, h: bigint): void => {
    if (s === Sz.B) c.r16[0] = Number(((h & 0xffn) << 8n) | (l & 0xffn));
    else { setR(c, 0, s, l & m); setR(c, 2, s, h & m); }
  };
  switch (op) {
    case 4: { // MUL
      const p = lo * v;
      put(p & m, p >> n);
      const over = (p >> n) !== 0n;
      c.setArith(Flag.CF | Flag.OF | Flag.ZF | Flag.SF | Flag.PF | Flag.AF, (over ? Flag.CF | Flag.OF : 0) | szp(p & m, s));
      return;
    }
    case 5: { // IMUL
      const p = sx(lo, s) * sx(v, s);
      put(p & m, (p >> n) & m);
      const over = BigInt.asIntN(Number(n), p & m) !== p;
      c.setArith(Flag.CF | Flag.OF | Flag.ZF | Flag.SF | Flag.PF | Flag.AF, (over ? Flag.CF | Flag.OF : 0) | szp(p & m, s));
      return;
    }
    case 6: { // DIV
      if (v === 0n) c.raise(Vector.DE);
      const dividend = (hi << n) | lo;
      const q = dividend / v;
      if (q > m) c.raise(Vector.DE);
      put(q, dividend % v);
      return;
    }
    default: { // IDIV
      if (v === 0n) c.raise(Vector.DE);
      const dividend = BigInt.asIntN(2 * Number(n), (hi << n) | lo);
      const dv = sx(v, s);
      const q = dividend / dv, r = dividend % dv; // BigInt division truncates toward zero
      if (q > (SIGN[s] - 1n) || q < -SIGN[s]) c.raise(Vector.DE);
      put(q & m, r & m);
    }
  }
}

// ---- the interpreter ----------------------------------------------------------------------------

/** Clears bits 63:32 of the registers an opcode-table handler wrote as 32-bit results. */
function zeroHi(c: Cpu, ...regs: number[]): void { for (const r of regs) c.r32hi[r] = 0; }

function step64(c: Cpu): void {
  const start = c.eip;
  c.instrStart = start;
  resetDecode();
  const d = D64;
  // Legacy prefixes, then at most one REX immediately before the opcode (SDM Vol. 2A §2.2.1:
  // a REX followed by a legacy prefix is ignored).
  let op = c.fetch8();
  for (;;) {
    if (op >= 0x40 && op <= 0x4f) {
      d.rex = op; d.w = (op & 8) !== 0; d.r = (op & 4) << 1; d.x = (op & 2) << 2; d.b = (op & 1) << 3;
    } else {
      let isPrefix = true;
      switch (op) {
        case 0x26: case 0x2e: case 0x36: case 0x3e: break; // ES/CS/SS/DS overrides: no effect
        case 0x64: d.segOvr = Seg.FS; break;
        case 0x65: d.segOvr = Seg.GS; break;
        case 0x66: d.p66 = true; break;
        case 0x67: d.a64 = false; break;
        case 0xf0: d.lock = true; break;
        case 0xf2: case 0xf3: d.rep = op; break;
        default: isPrefix = false;
      }
      if (!isPrefix) break;
      d.rex = 0; d.w = false; d.r = 0; d.x = 0; d.b = 0;
    }
    if (c.eip - start >= 15) c.gp(0); // longer than 15 bytes (SDM Vol. 2A §2.3.11)
    op = c.fetch8();
  }
  d.os = d.w ? Sz.Q : d.p66 ? Sz.W : Sz.D;
  c.os32 = d.os !== Sz.W; c.as32 = true; c.segOvr = d.segOvr; c.rep = d.rep; c.lock = d.lock;
  if (op === 0x0f) exec0F(c, c.fetch8()); else exec(c, op);
}

function exec(c: Cpu, op: number): void {
  const d = D64;
  const s = (op & 1) === 0 ? Sz.B : d.os; // the byte/full-size pairs of the one-byte map
  if (op < 0x40) {
    if ((op & 7) >= 6) c.ud(); // PUSH/POP ES CS SS DS, DAA DAS AAA AAS: invalid in 64-bit mode
    const aluOp = op >> 3;
    switch (op & 7) {
      case 0: case 1: { // Eb,Gb / Ev,Gv
        modrm64(c);
        const lin = rmLin(c);
        const r = alu(c, aluOp, rmRead(c, s, lin), getR(c, d.reg, s), s);
        if (r !== null) rmWrite(c, s, lin, r);
        return;
      }
      case 2: case 3: { // Gb,Eb / Gv,Ev
        modrm64(c);
        const r = alu(c, aluOp, getR(c, d.reg, s), rmRead(c, s, rmLin(c)), s);
        if (r !== null) setR(c, d.reg, s, r);
        return;
      }
      default: { // AL,Ib / rAX,Iz
        const r = alu(c, aluOp, getR(c, 0, s), imm(c, s), s);
        if (r !== null) setR(c, 0, s, r);
        return;
      }
    }
  }
  switch (op) {
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
      const ss = stackSize();
      pushSized(c, getR(c, (op & 7) | d.b, ss), ss);
      return;
    }
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const ss = stackSize();
      const v = popSized(c, ss);
      setR(c, (op & 7) | d.b, ss, v);
      return;
    }
    case 0x63: { // MOVSXD Gv,Ed (REX.W); without REX.W a plain 32-bit move
      modrm64(c);
      const v = rmRead(c, Sz.D, rmLin(c));
      setR(c, d.reg, d.os, d.os === Sz.Q ? BigInt.asUintN(64, sx(v, Sz.D)) : v);
      return;
    }
    case 0x68: pushSized(c, imm(c, stackSize() === Sz.W ? Sz.W : Sz.Q), stackSize()); return;
    case 0x6a: pushSized(c, imm8sx(c, Sz.Q), stackSize()); return;
    case 0x69: case 0x6b: { // IMUL Gv,Ev,Iz / Ib
      modrm64(c);
      // the immediate comes before the memory operand's address (RIP-relative forms)
      const b = op === 0x6b ? imm8sx(c, d.os) : imm(c, d.os);
      setR(c, d.reg, d.os, imul2(c, rmRead(c, d.os, rmLin(c)), b, d.os));
      return;
    }
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const rel = (c.fetch8() << 24) >> 24;
      if (c.cond(op & 15)) branch(c, c.eip + rel);
      return;
    }
    case 0x80: case 0x81: case 0x83: {
      modrm64(c);
      const sz = op === 0x80 ? Sz.B : d.os;
      const b = op === 0x81 ? imm(c, sz) : op === 0x83 ? imm8sx(c, sz) : imm(c, Sz.B);
      const lin = rmLin(c);
      const r = alu(c, (d.modrm >> 3) & 7, rmRead(c, sz, lin), b, sz);
      if (r !== null) rmWrite(c, sz, lin, r);
      return;
    }
    case 0x84: case 0x85: modrm64(c); logic(c, rmRead(c, s, rmLin(c)) & getR(c, d.reg, s), s); return;
    case 0x86: case 0x87: { // XCHG (LOCK implied with memory)
      modrm64(c);
      const lin = rmLin(c);
      const a = rmRead(c, s, lin), b = getR(c, d.reg, s);
      rmWrite(c, s, lin, b);
      setR(c, d.reg, s, a);
      return;
    }
    case 0x88: case 0x89: modrm64(c); rmWrite(c, s, rmLin(c), getR(c, d.reg, s)); return;
    case 0x8a: case 0x8b: modrm64(c); setR(c, d.reg, s, rmRead(c, s, rmLin(c))); return;
    case 0x8c: { // MOV Ev,Sreg: a register gets the selector zero-extended
      modrm64(c);
      const sr = (d.modrm >> 3) & 7;
      if (sr > 5) c.ud();
      const v = BigInt(c.segSel[sr]);
      if (d.mod === 3) setR(c, d.rm, d.os === Sz.W ? Sz.W : d.os, v); else writeSized(c, ea(c), Sz.W, v);
      return;
    }
    case 0x8d: { // LEA
      modrm64(c);
      if (d.mod === 3) c.ud();
      setR(c, d.reg, d.os, eaOffsetFull(c));
      return;
    }
    case 0x8e: { // MOV Sreg,Ew
      modrm64(c);
      const sr = (d.modrm >> 3) & 7;
      if (sr === Seg.CS || sr > 5) c.ud();
      loadSeg64(c, sr, Number(rmRead(c, Sz.W, rmLin(c))));
      if (sr === Seg.SS) c.inhibitInterrupts(InhibitBy.MovSs); // SDM Vol. 3A §6.8.3
      return;
    }
    case 0x8f: { // POP Ev
      modrm64(c);
      if ((d.modrm & 0x38) !== 0) c.ud();
      const ss = stackSize();
      const sp = gq(c, RSP);
      const v = popSized(c, ss);
      // the address is computed with the incremented RSP (SDM Vol. 2B POP)
      try { rmWrite(c, ss, rmLin(c), v); } catch (e) { sq(c, RSP, sp); throw e; }
      return;
    }
    case 0x90:
      if (d.b !== 0) { xchgAx(c, 8); return; } // XCHG r8, rAX
      if (d.rep === 0xf3) { OPS[0x90](c, 0x90); } // PAUSE (the table's NOP row handles F3)
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: xchgAx(c, (op & 7) | d.b); return;
    case 0x98: { // CBW/CWDE/CDQE
      const from = (d.os - 1) as Sz;
      setR(c, 0, d.os, BigInt.asUintN(BITS[d.os], sx(getR(c, 0, from), from)));
      return;
    }
    case 0x99: { // CWD/CDQ/CQO
      const neg = (getR(c, 0, d.os) & SIGN[d.os]) !== 0n;
      setR(c, 2, d.os, neg ? MASK[d.os] : 0n);
      return;
    }
    case 0x9c: { // PUSHFQ: VM and RF read as 0 in the image
      const f = BigInt((c.getFlags() & ~(Flag.VM | Flag.RF)) >>> 0);
      pushSized(c, f, stackSize());
      return;
    }
    case 0x9d: { // POPFQ (SDM Vol. 2B POPF: VM, VIF, VIP kept; RF cleared)
      const ss = stackSize();
      const v = Number(popSized(c, ss) & 0xffffffffn);
      popFlags(c, v & ~(Flag.VM | Flag.VIF | Flag.VIP | Flag.RF), ss !== Sz.W);
      return;
    }
    case 0x9e: c.setArith(Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF, c.r8[1]); return; // SAHF
    case 0x9f: c.r8[1] = (c.getFlags() & 0xd5) | 2; return; // LAHF
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV with a moffs64 (moffs32 with 67)
      const off = d.a64 ? u64ToNum(BigInt.asUintN(64, (BigInt(c.fetch32() >>> 0)) | (BigInt(c.fetch32() >>> 0) << 32n))) : c.fetch32() >>> 0;
      const lin = linOf(c, d.segOvr >= 0 ? d.segOvr : Seg.DS, off);
      if (op < 0xa2) setR(c, 0, s, readSized(c, lin, s)); else writeSized(c, lin, s, getR(c, 0, s));
      return;
    }
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      stringOp(c, op); return;
    case 0xa8: case 0xa9: logic(c, getR(c, 0, s) & imm(c, s), s); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      setR(c, (op & 7) | d.b, Sz.B, BigInt(c.fetch8())); return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: {
      const r = (op & 7) | d.b;
      if (d.os === Sz.Q) { const lo = c.fetch32(), hi = c.fetch32(); c.r32[r] = lo; c.r32hi[r] = hi; return; } // MOV r64, imm64
      setR(c, r, d.os, imm(c, d.os));
      return;
    }
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      modrm64(c);
      const count = op <= 0xc1 ? -1 : op <= 0xd1 ? 1 : c.r8[4];
      const n = count < 0 ? c.fetch8() : count;
      const lin = rmLin(c);
      rmWrite(c, s, lin, shift(c, (d.modrm >> 3) & 7, rmRead(c, s, lin), n, s));
      return;
    }
    case 0xc2: case 0xc3: { // RET (Iw)
      const n = op === 0xc2 ? c.fetch16() : 0;
      const ss = stackSize();
      const sp = gq(c, RSP);
      const t = popSized(c, ss);
      try { branch(c, u64ToNum(t)); } catch (e) { sq(c, RSP, sp); throw e; }
      sq(c, RSP, gq(c, RSP) + n);
      return;
    }
    case 0xc6: case 0xc7: {
      modrm64(c);
      if ((d.modrm & 0x38) !== 0) c.ud();
      const v = imm(c, s);
      rmWrite(c, s, rmLin(c), v);
      return;
    }
    case 0xc9: { // LEAVE: RSP = RBP, pop RBP
      const bp = gq(c, 5);
      checkCanon(c, bp, Seg.SS);
      const v = stackSize() === Sz.W ? BigInt(read16(c, bp)) : read64(c, bp);
      sq(c, RSP, bp + (stackSize() === Sz.W ? 2 : 8));
      setR(c, 5, stackSize(), v);
      return;
    }
    case 0xca: case 0xcb: { // RETF (Iw): REX.W pops 8-byte RIP and CS, else 4-byte
      const n = op === 0xca ? c.fetch16() : 0;
      const w = d.w ? 8 : d.p66 ? 2 : 4;
      const sp = gq(c, RSP);
      checkCanon(c, sp, Seg.SS);
      const rip = w === 8 ? u64ToNum(read64(c, sp)) : w === 4 ? read32(c, sp) >>> 0 : read16(c, sp);
      const cs = read16(c, sp + w);
      farSameLevel(c, cs, rip, cs & 3);
      sq(c, RSP, sp + 2 * w + n);
      return;
    }
    case 0xcc: case 0xcd: case 0xf1: OPS[op](c, op); return; // INT3, INT n, INT1
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: stringIo(c, op); return;
    case 0xc8: enter(c); return;
    case 0xcf: interruptReturn64(c, d.w ? 8 : d.p66 ? 2 : 4); return;
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      x87Escape64(c, op); return; // x87 (fpu64.ts)
    case 0xd7: { // XLAT
      const base = d.a64 ? gq(c, 3) : c.r32[3] >>> 0;
      c.r8[0] = read8(c, linOf(c, d.segOvr >= 0 ? d.segOvr : Seg.DS, base + c.r8[0]));
      return;
    }
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: { // LOOPNE LOOPE LOOP JRCXZ
      const rel = (c.fetch8() << 24) >> 24;
      let n = d.a64 ? gq(c, 1) : c.r32[1] >>> 0;
      let take: boolean;
      if (op === 0xe3) take = n === 0;
      else {
        n = d.a64 ? u64ToNum(BigInt.asUintN(64, BigInt(n) - 1n)) : (n - 1) >>> 0;
        if (d.a64) { const v = BigInt.asUintN(64, getR(c, 1, Sz.Q) - 1n); setR(c, 1, Sz.Q, v); take = v !== 0n; }
        else { setR32(c, 1, n | 0); take = n !== 0; }
        if (op === 0xe0) take = take && !c.zf(); else if (op === 0xe1) take = take && c.zf();
      }
      if (take) branch(c, c.eip + rel);
      return;
    }
    case 0xe4: case 0xe5: case 0xec: case 0xed: { // IN
      const port = op >= 0xec ? c.r16[4] : c.fetch8();
      const sz = (op & 1) === 0 ? 1 : d.p66 ? 2 : 4;
      if (c.nonRoot && c.ioExitTaken(port, sz, true, op < 0xec)) return; // VMX I/O exiting (§26.1.3)
      const v = c.ioIn(port, sz);
      if (sz === 1) c.r8[0] = v; else if (sz === 2) c.r16[0] = v; else setR32(c, 0, v);
      return;
    }
    case 0xe6: case 0xe7: case 0xee: case 0xef: { // OUT
      const port = op >= 0xee ? c.r16[4] : c.fetch8();
      const sz = (op & 1) === 0 ? 1 : d.p66 ? 2 : 4;
      if (c.nonRoot && c.ioExitTaken(port, sz, false, op < 0xee)) return;
      c.ioOut(port, sz, sz === 1 ? c.r8[0] : sz === 2 ? c.r16[0] : c.r32[0]);
      return;
    }
    case 0xe8: { // CALL rel32
      const rel = c.fetch32();
      const target = c.eip + rel;
      if (!(target >= -CANON && target < CANON)) c.gp(0);
      pushSized(c, BigInt.asUintN(64, BigInt(c.eip)), stackSize());
      branch(c, target);
      return;
    }
    case 0xe9: { const rel = c.fetch32(); branch(c, c.eip + rel); return; }
    case 0xeb: { const rel = (c.fetch8() << 24) >> 24; branch(c, c.eip + rel); return; }
    case 0xf4: case 0xf5: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0x9b:
      OPS[op](c, op); return; // HLT CMC CLC STC CLI STI CLD STD WAIT: as in every mode
    case 0xf6: case 0xf7: {
      modrm64(c);
      const g = (d.modrm >> 3) & 7;
      if (g <= 1) { const b = imm(c, s); logic(c, rmRead(c, s, rmLin(c)) & b, s); return; } // TEST
      const lin = rmLin(c);
      const v = rmRead(c, s, lin);
      if (g === 2) { rmWrite(c, s, lin, ~v & MASK[s]); return; } // NOT
      if (g === 3) { rmWrite(c, s, lin, sub(c, 0n, v, 0, s)); c.setArith(Flag.CF, v !== 0n ? Flag.CF : 0); return; } // NEG
      mulDiv(c, g, v, s);
      return;
    }
    case 0xfe: case 0xff: group45(c, op, s); return;
    default:
      // 06/07/0E/16/17/1E/1F 27/2F/37/3F 60-62 82 9A C4 C5 CE D4 D5 D6 EA: invalid in 64-bit mode
      // (Table A-2 "i64").
      c.ud();
  }
}

function xchgAx(c: Cpu, r: number): void {
  const s = D64.os;
  const a = getR(c, 0, s), b = getR(c, r, s);
  setR(c, 0, s, b); setR(c, r, s, a);
}

/** FE/FF: INC, DEC, CALL, CALL far, JMP, JMP far, PUSH. */
function group45(c: Cpu, op: number, s: Sz): void {
  const d = D64;
  modrm64(c);
  const g = (d.modrm >> 3) & 7;
  if (op === 0xfe && g > 1) c.ud();
  switch (g) {
    case 0: case 1: { const lin = rmLin(c); rmWrite(c, s, lin, incDec(c, rmRead(c, s, lin), g === 1, s)); return; }
    case 2: case 4: { // CALL/JMP near Ev: 64-bit operand (f64)
      const ss = stackSize();
      const t = u64ToNum(rmRead(c, ss, rmLin(c)));
      if (g === 2) {
        if (!(t >= -CANON && t < CANON)) c.gp(0);
        pushSized(c, BigInt.asUintN(64, BigInt(c.eip)), ss);
      }
      branch(c, t);
      return;
    }
    case 3: case 5: { // CALL/JMP far m16:16/32/64 (same privilege; call gates not in phase 1)
      if (d.mod === 3) c.ud();
      const lin = ea(c);
      const w = d.w ? 8 : d.p66 ? 2 : 4;
      const off = w === 8 ? u64ToNum(read64(c, lin)) : w === 4 ? read32(c, lin) >>> 0 : read16(c, lin);
      const sel = read16(c, lin + w);
      if (g === 3) {
        const oldCs = c.segSel[Seg.CS], oldRip = c.eip, sp = gq(c, RSP);
        const ww = w === 8 ? 8 : w;
        // push CS, then the return offset, in the operand size
        const nsp = sp - 2 * ww;
        checkCanon(c, nsp, Seg.SS);
        farSameLevel(c, sel, off, -1);
        // Phase 1: CS is loaded before the pushes, so a fault on them leaves the new CS.
        if (ww === 8) { write64(c, nsp + 8, BigInt(oldCs)); write64(c, nsp, BigInt.asUintN(64, BigInt(oldRip))); }
        else if (ww === 4) { writeSized(c, nsp + 4, Sz.D, BigInt(oldCs)); writeSized(c, nsp, Sz.D, BigInt(oldRip >>> 0)); }
        else { write16(c, nsp + 2, oldCs); write16(c, nsp, oldRip & 0xffff); }
        sq(c, RSP, nsp);
        return;
      }
      farSameLevel(c, sel, off, -1);
      return;
    }
    case 6: { const ss = stackSize(); pushSized(c, rmRead(c, ss, rmLin(c)), ss); return; }
    default: c.ud();
  }
}

/** MOV Sreg / POP FS/GS in 64-bit mode: SS may be null at CPL < 3 (SDM Vol. 2B MOV "64-bit mode"). */
function loadSeg64(c: Cpu, seg: number, sel: number): void {
  if (seg === Seg.SS && (sel & 0xfffc) === 0 && c.cpl !== 3 && (sel & 3) === c.cpl) { loadNull(c, Seg.SS, sel); return; }
  loadSegment(c, seg, sel);
}

// ---- the 0F map ------------------------------------------------------------------------------------

function exec0F(c: Cpu, op: number): void {
  const d = D64;
  const s = d.os;
  if (op >= 0x40 && op <= 0x4f) { // CMOVcc: a 32-bit destination is zero-extended even if not moved
    modrm64(c);
    const v = rmRead(c, s, rmLin(c));
    if (c.cond(op & 15)) setR(c, d.reg, s, v);
    else if (s === Sz.D) c.r32hi[d.reg] = 0;
    return;
  }
  if (op >= 0x80 && op <= 0x8f) { const rel = c.fetch32(); if (c.cond(op & 15)) branch(c, c.eip + rel); return; }
  if (op >= 0x90 && op <= 0x9f) { modrm64(c); rmWrite(c, Sz.B, rmLin(c), c.cond(op & 15) ? 1n : 0n); return; }
  if (op >= 0xc8 && op <= 0xcf) { // BSWAP
    const r = (op & 7) | d.b;
    if (s === Sz.Q) {
      const v = getR(c, r, Sz.Q);
      let o = 0n;
      for (let i = 0n; i < 64n; i += 8n) o = (o << 8n) | ((v >> i) & 0xffn);
      setR(c, r, Sz.Q, o);
    } else {
      const v = c.r32[r];
      setR32(c, r, ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24));
    }
    return;
  }
  switch (op) {
    case 0x00: group6_64(c); return;
    case 0x02: case 0x03: modrm64(c); larLsl64(c, op === 0x03); return; // LAR, LSL (isa64.ts)
    case 0x01: group7_64(c); return;
    case 0x05: syscall(c); return;
    case 0x07: sysret(c); return;
    case 0x06: case 0x08: case 0x09: case 0x0b: OPS_0F[op](c, op); return; // CLTS INVD WBINVD UD2
    case 0x34: case 0x35: OPS_0F[op](c, op); return; // SYSENTER, SYSEXIT (IA-32e forms in ops/system.ts)
    case 0x1f: modrm64(c); if (d.mod !== 3) ea(c); return; // NOP Ev
    case 0x20: case 0x22: movCr64(c, op === 0x22); return;
    case 0x21: case 0x23: movDr64(c, op === 0x23); return;
    case 0xc7: { // CMPXCHG8B/16B; the VMX forms and RDRAND/RDSEED (vmx64.ts)
      modrm64(c);
      const g = (d.modrm >> 3) & 7;
      if (g === 6 || g === 7) { vmxGroup9(c); return; }
      if (g !== 1) c.ud();
      cmpxchg8or16(c);
      return;
    }
    case 0x78: case 0x79: vmreadVmwrite64(c, op === 0x79); return;
    case 0x38: map0F38(c); return;
    case 0x37: getsec64(c); return; // GETSEC (xstate64.ts)
    case 0xae: group15_64(c); return; // FXSAVE FXRSTOR XSAVE XRSTOR (fpu64.ts)
    case 0x30: OPS_0F[op](c, op); return; // WRMSR reads EDX:EAX, ECX
    case 0x31: case 0x32: OPS_0F[op](c, op); zeroHi(c, 0, 2); return; // RDTSC, RDMSR
    case 0xa2: OPS_0F[op](c, op); zeroHi(c, 0, 1, 2, 3); return; // CPUID
    case 0xa0: case 0xa8: pushSized(c, BigInt(c.segSel[op === 0xa0 ? Seg.FS : Seg.GS]), stackSize()); return;
    case 0xa1: case 0xa9: {
      const ss = stackSize(), sp = gq(c, RSP);
      const v = Number(popSized(c, ss) & 0xffffn);
      try { loadSeg64(c, op === 0xa1 ? Seg.FS : Seg.GS, v); } catch (e) { sq(c, RSP, sp); throw e; }
      return;
    }
    case 0xa3: case 0xab: case 0xb3: case 0xbb: bitTest(c, (op >> 3) & 3, false); return;
    case 0xba: bitTest(c, -1, true); return;
    case 0xa4: case 0xa5: case 0xac: case 0xad: { // SHLD/SHRD
      modrm64(c);
      const n = (op & 1) === 0 ? c.fetch8() : c.r8[4];
      const linA = rmLin(c);
      rmWrite(c, s, linA, shiftDouble(c, op < 0xa8, rmRead(c, s, linA), getR(c, d.reg, s), n, s));
      return;
    }
    case 0xaf: { modrm64(c); setR(c, d.reg, s, imul2(c, getR(c, d.reg, s), rmRead(c, s, rmLin(c)), s)); return; }
    case 0xb0: case 0xb1: { // CMPXCHG
      const sz = op === 0xb0 ? Sz.B : s;
      modrm64(c);
      const lin = rmLin(c);
      const dst = rmRead(c, sz, lin), acc = getR(c, 0, sz);
      sub(c, acc, dst, 0, sz);
      if (acc === dst) rmWrite(c, sz, lin, getR(c, d.reg, sz));
      else { if (d.mod !== 3) rmWrite(c, sz, lin, dst); setR(c, 0, sz, dst); }
      return;
    }
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: { // MOVZX / MOVSX
      modrm64(c);
      const from = (op & 1) === 0 ? Sz.B : Sz.W;
      const v = rmRead(c, from, rmLin(c));
      setR(c, d.reg, s, op >= 0xbe ? BigInt.asUintN(BITS[s], sx(v, from)) : v);
      return;
    }
    case 0xbc: case 0xbd: { // BSF/BSR: ZF = source is zero (destination kept)
      modrm64(c);
      const v = rmRead(c, s, rmLin(c));
      c.flushFlags();
      if (v === 0n) { c.setArith(Flag.ZF, Flag.ZF); return; }
      let i: number;
      if (op === 0xbc) { i = 0; while (((v >> BigInt(i)) & 1n) === 0n) i++; }
      else { i = BITS[s] - 1; while (((v >> BigInt(i)) & 1n) === 0n) i--; }
      c.setArith(Flag.ZF, 0);
      setR(c, d.reg, s, BigInt(i));
      return;
    }
    case 0xc0: case 0xc1: { // XADD
      const sz = op === 0xc0 ? Sz.B : s;
      modrm64(c);
      const lin = rmLin(c);
      const a = rmRead(c, sz, lin), b = getR(c, d.reg, sz);
      const r = add(c, a, b, 0, sz);
      setR(c, d.reg, sz, a);
      rmWrite(c, sz, lin, r);
      return;
    }
    default: c.ud();
  }
}

/** BT/BTS/BTR/BTC (`kind` 0-3; -1: group 8 with an immediate bit offset). A register offset
 *  with a memory operand addresses beyond the operand (SDM Vol. 2A BT). */
function bitTest(c: Cpu, kind: number, immForm: boolean): void {
  const d = D64, s = d.os === Sz.W ? Sz.W : d.os;
  modrm64(c);
  if (immForm) { kind = ((d.modrm >> 3) & 7) - 4; if (kind < 0) c.ud(); }
  const n = BITS[s];
  let lin = 0, bit: number;
  if (immForm) {
    bit = c.fetch8() & (n - 1);
    if (d.mod !== 3) lin = ea(c);
  } else {
    const off = sx(getR(c, d.reg, s), s);
    if (d.mod === 3) bit = Number(off & BigInt(n - 1));
    else {
      bit = Number(BigInt.asUintN(16, off) & BigInt(n - 1));
      const elem = off >> BigInt(Math.log2(n));
      lin = ea(c) + Number(elem) * (n / 8);
      checkCanon(c, lin, d.seg);
    }
  }
  const v = rmRead(c, s, lin);
  const m = 1n << BigInt(bit);
  c.flushFlags();
  c.setArith(Flag.CF, (v & m) !== 0n ? Flag.CF : 0);
  if (kind === 0) return;
  rmWrite(c, s, lin, kind === 1 ? v | m : kind === 2 ? v & ~m : v ^ m);
}

Cpu.prototype.step64 = function (this: Cpu): void { step64(this); };
Cpu.prototype.refillFetch64 = function (this: Cpu): void { refillFetch64(this); };
Cpu.prototype.fetchSlow64 = function (this: Cpu): number { return fetchSlow64(this); };
