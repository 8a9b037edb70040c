// Integer arithmetic primitives shared by the opcode handlers: the eight group-1 ALU
// operations, shifts and rotates, multiply/divide, with EFLAGS as the SDM defines them
// (SDM Vol. 2, instruction pages; Vol. 1 Appendix A EFLAGS cross-reference).
import { Cpu, LazyKind, SIZE_MASK, SIZE_SIGN } from '../cpu';
import { ARITH_FLAGS, Flag, Vector } from '../regs';

/** Group-1 operation numbers (the ModRM reg field of 80-83, and bits 5:3 of 00-3F). */
export enum AluOp { Add = 0, Or = 1, Adc = 2, Sbb = 3, And = 4, Sub = 5, Xor = 6, Cmp = 7 }
export const ALU_NAMES = ['ADD', 'OR', 'ADC', 'SBB', 'AND', 'SUB', 'XOR', 'CMP'] as const;

const NOT_CF = ARITH_FLAGS & ~Flag.CF;

/** Computes `a op b` at `size` (0/1/2 = 8/16/32 bits), sets flags, returns the raw result. */
export function alu(c: Cpu, op: number, a: number, b: number, size: number): number {
  let r: number;
  switch (op) {
    case AluOp.Add: r = a + b; c.setLazy(LazyKind.Add, size, a, b, r, ARITH_FLAGS); return r;
    case AluOp.Or: r = a | b; c.setLazy(LazyKind.Logic, size, a, b, r, ARITH_FLAGS); return r;
    case AluOp.Adc: {
      const cf = c.cf(), m = SIZE_MASK[size];
      r = a + b + cf;
      c.setLazy(LazyKind.Add, size, a, b, r, NOT_CF);
      const rm = (r & m) >>> 0, am = (a & m) >>> 0;
      c.setArith(Flag.CF, (cf !== 0 ? rm <= am : rm < am) ? Flag.CF : 0);
      return r;
    }
    case AluOp.Sbb: {
      const cf = c.cf(), m = SIZE_MASK[size];
      r = a - b - cf;
      c.setLazy(LazyKind.Sub, size, a, b, r, NOT_CF);
      const am = (a & m) >>> 0, bm = (b & m) >>> 0;
      c.setArith(Flag.CF, (cf !== 0 ? am <= bm : am < bm) ? Flag.CF : 0);
      return r;
    }
    case AluOp.And: r = a & b; c.setLazy(LazyKind.Logic, size, a, b, r, ARITH_FLAGS); return r;
    case AluOp.Sub:
    case AluOp.Cmp: r = a - b; c.setLazy(LazyKind.Sub, size, a, b, r, ARITH_FLAGS); return r;
    default: r = a ^ b; c.setLazy(LazyKind.Logic, size, a, b, r, ARITH_FLAGS); return r;
  }
}

export function inc(c: Cpu, a: number, size: number): number {
  const r = a + 1;
  c.setLazy(LazyKind.Add, size, a, 1, r, NOT_CF);
  return r;
}
export function dec(c: Cpu, a: number, size: number): number {
  const r = a - 1;
  c.setLazy(LazyKind.Sub, size, a, 1, r, NOT_CF);
  return r;
}
export function neg(c: Cpu, a: number, size: number): number {
  const r = 0 - a;
  c.setLazy(LazyKind.Sub, size, 0, a, r, ARITH_FLAGS);
  return r;
}
/** Sets SF/ZF/PF from a result, clears CF/OF/AF (logic-op flags). */
export function logicFlags(c: Cpu, r: number, size: number): void {
  c.setLazy(LazyKind.Logic, size, 0, 0, r, ARITH_FLAGS);
}

const BITS = [8, 16, 32] as const;

/** Group-2 shift/rotate operation numbers (ModRM reg field of C0/C1/D0-D3). */
export enum ShiftOp { Rol = 0, Ror = 1, Rcl = 2, Rcr = 3, Shl = 4, Shr = 5, Sal = 6, Sar = 7 }

/**
 * Shifts/rotates `a` by `count` (already read; masked to 5 bits here, SDM: "The count is
 * masked to 5 bits"). Returns the new value; with a zero count, flags and value are unchanged.
 */
export function shift(c: Cpu, op: number, a: number, count: number, size: number): number {
  count &= 31;
  if (count === 0) return a;
  if (size === 2 && op !== ShiftOp.Rcl && op !== ShiftOp.Rcr) return shift32(c, op, a | 0, count);
  const bits = BITS[size], m = SIZE_MASK[size], sign = SIZE_SIGN[size];
  a = (a & m) >>> 0;
  let r: number, cf: number;
  switch (op) {
    case ShiftOp.Rol: {
      const n = count & (bits - 1);
      r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & m;
      cf = r & 1;
      c.setArith(Flag.CF | Flag.OF, cf | ((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0 ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.Ror: {
      const n = count & (bits - 1);
      r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & m;
      const msb = (r & sign) !== 0 ? 1 : 0, msb2 = (r & (sign >>> 1)) !== 0 ? 1 : 0;
      c.setArith(Flag.CF | Flag.OF, msb | ((msb ^ msb2) !== 0 ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.Rcl: {
      const n = count % (bits + 1);
      cf = c.cf();
      r = a;
      for (let i = 0; i < n; i++) {
        const out = (r & sign) !== 0 ? 1 : 0;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      if (n === 0) return a;
      c.setArith(Flag.CF | Flag.OF, cf | (((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0) ? Flag.OF : 0));
      return r >>> 0;
    }
    case ShiftOp.Rcr: {
      const n = count % (bits + 1);
      cf = c.cf();
      r = a;
      // OF for a 1-bit RCR: MSB(dest) XOR CF before the rotate (SDM RCL/RCR/ROL/ROR).
      const of = ((((a & sign) !== 0 ? 1 : 0) ^ cf) !== 0) ? Flag.OF : 0;
      for (let i = 0; i < n; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf !== 0 ? sign : 0)) & m;
        cf = out;
      }
      if (n === 0) return a;
      const msb = (r & sign) !== 0 ? 1 : 0, msb2 = (r & (sign >>> 1)) !== 0 ? 1 : 0;
      c.setArith(Flag.CF | Flag.OF, cf | (n === 1 ? of : ((msb ^ msb2) !== 0 ? Flag.OF : 0)));
      return r >>> 0;
    }
    case ShiftOp.Shl:
    case ShiftOp.Sal: {
      if (count < bits) { r = (a << count) & m; cf = (a >>> (bits - count)) & 1; }
      else { r = 0; cf = count === bits ? a & 1 : 0; }
      logicFlags(c, r, size);
      c.setArith(Flag.CF | Flag.OF, cf | (((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0) ? Flag.OF : 0));
      return r >>> 0;
    }
    case ShiftOp.Shr: {
      if (count < bits) { r = a >>> count; cf = (a >>> (count - 1)) & 1; }
      else { r = 0; cf = count === bits ? (a >>> (bits - 1)) & 1 : 0; }
      logicFlags(c, r, size);
      // OF = MSB(result) XOR next bit: the original MSB for a 1-bit shift (the only defined
      // case, SDM SAL/SAR/SHL/SHR); for longer counts this is what the 286 and Bochs report.
      c.setArith(Flag.CF | Flag.OF, cf | ((((r << 1) ^ r) & sign) !== 0 ? Flag.OF : 0));
      return r;
    }
    default: { // SAR
      const sa = size === 2 ? a | 0 : size === 1 ? (a << 16) >> 16 : (a << 24) >> 24;
      const n = count > 31 ? 31 : count;
      r = (sa >> n) & m;
      cf = (sa >> (n - 1)) & 1;
      logicFlags(c, r, size);
      c.setArith(Flag.CF | Flag.OF, cf);
      return r >>> 0;
    }
  }
}

/** 32-bit ROL/ROR/SHL/SHR/SAR for a count of 1..31, in int32 arithmetic throughout (the hot
 *  case; same results and flags as the general path above). */
function shift32(c: Cpu, op: number, a: number, n: number): number {
  let r: number, cf: number;
  switch (op) {
    case ShiftOp.Rol:
      r = (a << n) | (a >>> (32 - n)); cf = r & 1;
      c.setArith(Flag.CF | Flag.OF, cf | (((r >>> 31) ^ cf) !== 0 ? Flag.OF : 0));
      return r;
    case ShiftOp.Ror:
      r = (a >>> n) | (a << (32 - n)); cf = r >>> 31;
      c.setArith(Flag.CF | Flag.OF, cf | ((cf ^ ((r >>> 30) & 1)) !== 0 ? Flag.OF : 0));
      return r;
    case ShiftOp.Shl:
    case ShiftOp.Sal:
      r = a << n; cf = (a >>> (32 - n)) & 1;
      logicFlags(c, r, 2);
      c.setArith(Flag.CF | Flag.OF, cf | (((r >>> 31) ^ cf) !== 0 ? Flag.OF : 0));
      return r;
    case ShiftOp.Shr:
      r = a >>> n; cf = (a >>> (n - 1)) & 1;
      logicFlags(c, r, 2);
      c.setArith(Flag.CF | Flag.OF, cf | ((((r << 1) ^ r) >>> 31) !== 0 ? Flag.OF : 0));
      return r | 0;
    default: // SAR
      r = a >> n; cf = (a >> (n - 1)) & 1;
      logicFlags(c, r, 2);
      c.setArith(Flag.CF | Flag.OF, cf);
      return r;
  }
}

/** SHLD/SHRD (SDM Vol. 2B): shifts `dst` filling from `src`; count masked to 5 bits. */
export function shiftDouble(c: Cpu, left: boolean, dst: number, src: number, count: number, size: number): number {
  count &= 31;
  if (count === 0) return dst;
  const bits = size === 2 ? 32 : 16, m = SIZE_MASK[size], sign = SIZE_SIGN[size];
  dst = (dst & m) >>> 0; src = (src & m) >>> 0;
  let r: number, cf: number;
  if (size === 2) {
    if (left) { r = ((dst << count) | (src >>> (32 - count))) >>> 0; cf = (dst >>> (32 - count)) & 1; }
    else { r = ((dst >>> count) | (src << (32 - count))) >>> 0; cf = (dst >>> (count - 1)) & 1; }
  } else {
    // 16-bit with count > 16 is undefined; model it as a 48-bit shift dst:src:dst as P6 cores do.
    if (left) {
      const hi = (dst << 16) | src; // 32 bits: dst:src
      const wide = count <= 16 ? (hi << count) >>> 16 : ((src << 16 | dst) << (count - 16)) >>> 16;
      r = wide & 0xffff;
      cf = count <= 16 ? (dst >>> (16 - count)) & 1 : (src >>> (32 - count)) & 1;
    } else {
      const lo = (src << 16) | dst; // src:dst
      const wide = count <= 16 ? lo >>> count : ((dst << 16) | src) >>> (count - 16);
      r = wide & 0xffff;
      cf = count <= 16 ? (dst >>> (count - 1)) & 1 : (src >>> (count - 17)) & 1;
    }
  }
  logicFlags(c, r, size);
  c.setArith(Flag.CF | Flag.OF, cf | ((((dst ^ r) & sign) !== 0) ? Flag.OF : 0));
  void bits;
  return r;
}

// ---- Multiply and divide (SDM Vol. 2A MUL/IMUL/DIV/IDIV) ----

/** Results of the last 32x32 multiply: hi:lo as unsigned 32-bit numbers. */
export const mulOut = { lo: 0, hi: 0 };

/** Unsigned 32x32 -> 64 product into mulOut (exact, without BigInt). */
export function mulU32(a: number, b: number): void {
  a >>>= 0; b >>>= 0;
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p0 = a0 * b0, m1 = a1 * b0, m2 = a0 * b1, p3 = a1 * b1;
  const carry = ((p0 >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  mulOut.lo = Math.imul(a, b) >>> 0;
  mulOut.hi = (p3 + (m1 >>> 16) + (m2 >>> 16) + carry) >>> 0;
}
/** Signed 32x32 -> 64 product into mulOut. */
export function mulS32(a: number, b: number): void {
  mulU32(a, b);
  let hi = mulOut.hi;
  if ((a | 0) < 0) hi -= b >>> 0;
  if ((b | 0) < 0) hi -= a >>> 0;
  mulOut.hi = hi >>> 0;
}

/** Sets CF=OF=`overflow` and SF/ZF/PF from `low` (undefined on real CPUs; kept consistent). */
function mulFlags(c: Cpu, low: number, size: number, overflow: boolean): void {
  logicFlags(c, low, size);
  c.setArith(Flag.CF | Flag.OF, overflow ? Flag.CF | Flag.OF : 0);
}

/** MUL r/m (F6/F7 /4): unsigned accumulator multiply. */
export function mulAcc(c: Cpu, src: number, size: number): void {
  if (size === 0) {
    const r = c.r8[0] * (src & 0xff);
    c.r16[0] = r;
    mulFlags(c, r, 0, r > 0xff);
  } else if (size === 1) {
    const r = c.r16[0] * (src & 0xffff);
    c.r16[0] = r; c.r16[4] = r >>> 16;
    mulFlags(c, r, 1, r > 0xffff);
  } else {
    mulU32(c.r32[0], src);
    c.r32[0] = mulOut.lo; c.r32[2] = mulOut.hi;
    mulFlags(c, mulOut.lo, 2, mulOut.hi !== 0);
  }
}

/** IMUL r/m (F6/F7 /5): signed accumulator multiply. */
export function imulAcc(c: Cpu, src: number, size: number): void {
  if (size === 0) {
    const r = ((c.r8[0] << 24) >> 24) * ((src << 24) >> 24);
    c.r16[0] = r;
    mulFlags(c, r, 0, r !== ((r << 24) >> 24));
  } else if (size === 1) {
    const r = ((c.r16[0] << 16) >> 16) * ((src << 16) >> 16);
    c.r16[0] = r; c.r16[4] = r >> 16;
    mulFlags(c, r, 1, r !== ((r << 16) >> 16));
  } else {
    mulS32(c.r32[0], src);
    c.r32[0] = mulOut.lo; c.r32[2] = mulOut.hi;
    mulFlags(c, mulOut.lo, 2, (mulOut.hi | 0) !== ((mulOut.lo | 0) >> 31));
  }
}

/** Two/three-operand IMUL: truncated signed product of a*b, flags set on truncation. */
export function imulTrunc(c: Cpu, a: number, b: number, size: number): number {
  if (size === 1) {
    const r = ((a << 16) >> 16) * ((b << 16) >> 16);
    mulFlags(c, r, 1, r !== ((r << 16) >> 16));
    return r & 0xffff;
  }
  mulS32(a, b);
  mulFlags(c, mulOut.lo, 2, (mulOut.hi | 0) !== ((mulOut.lo | 0) >> 31));
  return mulOut.lo | 0;
}

/** DIV r/m (F6/F7 /6). #DE on divide by zero or quotient overflow. */
export function divAcc(c: Cpu, src: number, size: number): void {
  if (size === 0) {
    const d = src & 0xff, n = c.r16[0];
    if (d === 0) c.raise(Vector.DE);
    const q = Math.floor(n / d);
    if (q > 0xff) c.raise(Vector.DE);
    c.r8[0] = q; c.r8[1] = n % d;
  } else if (size === 1) {
    const d = src & 0xffff, n = (c.r16[4] * 65536) + c.r16[0];
    if (d === 0) c.raise(Vector.DE);
    const q = Math.floor(n / d);
    if (q > 0xffff) c.raise(Vector.DE);
    c.r16[0] = q; c.r16[4] = n % d;
  } else {
    const d = src >>> 0, hi = c.r32[2] >>> 0, lo = c.r32[0] >>> 0;
    if (d === 0) c.raise(Vector.DE);
    if (hi >= d) c.raise(Vector.DE);
    divU64(hi, lo, d);
    c.r32[0] = divOut.q; c.r32[2] = divOut.r;
  }
}

const divOut = { q: 0, r: 0 };
/** (hi:lo) / d for hi < d, in two exact 16-bit steps of double arithmetic. */
function divU64(hi: number, lo: number, d: number): void {
  const n1 = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(n1 / d), r1 = n1 - q1 * d;
  const n2 = r1 * 65536 + (lo & 0xffff);
  const q2 = Math.floor(n2 / d), r2 = n2 - q2 * d;
  divOut.q = (q1 * 65536 + q2) >>> 0;
  divOut.r = r2 >>> 0;
}

/** IDIV r/m (F6/F7 /7). Quotient truncated toward zero; #DE when it does not fit. */
export function idivAcc(c: Cpu, src: number, size: number): void {
  if (size === 0) {
    const d = (src << 24) >> 24, n = (c.r16[0] << 16) >> 16;
    if (d === 0) c.raise(Vector.DE);
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) c.raise(Vector.DE);
    c.r8[0] = q; c.r8[1] = n - q * d;
  } else if (size === 1) {
    const d = (src << 16) >> 16, n = ((c.r16[4] << 16) | c.r16[0]) | 0;
    if (d === 0) c.raise(Vector.DE);
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) c.raise(Vector.DE);
    c.r16[0] = q; c.r16[4] = n - q * d;
  } else {
    const ds = src | 0;
    if (ds === 0) c.raise(Vector.DE);
    let hi = c.r32[2] >>> 0, lo = c.r32[0] >>> 0;
    const negN = (hi & 0x80000000) !== 0;
    if (negN) { lo = (-lo) >>> 0; hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0; }
    const d = ds < 0 ? (-ds) >>> 0 : ds;
    if (hi >= d) c.raise(Vector.DE);
    divU64(hi, lo, d);
    const negQ = negN !== (ds < 0);
    const q = divOut.q, r = divOut.r;
    if (negQ ? q > 0x80000000 : q > 0x7fffffff) c.raise(Vector.DE);
    c.r32[0] = negQ ? -q : q;
    c.r32[2] = negN ? -r : r;
  }
}
