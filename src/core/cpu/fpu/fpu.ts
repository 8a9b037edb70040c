// The x87 FPU of a P6-class CPU (SDM Vol. 1 ch. 8; Vol. 2 instruction pages FABS..FYL2XP1).
//
// Representation. Each of the eight physical registers R0..R7 holds an IEEE double (`st`), not
// an 80-bit double-extended value: arithmetic runs at 53-bit precision over the double exponent
// range. Precision control (CW.PC) is not modelled, values beyond the double range overflow to
// infinity or underflow to zero/denormals where real hardware would still have room, and the
// transcendental instructions use the host's Math library (results may differ from Intel's in
// the last bits, and argument reduction for FSIN/FCOS/FPTAN is the host's, not Intel's 66-bit
// pi). Rounding control (CW.RC) is honoured: for FADD/FSUB/FMUL/FDIV/FSQRT/FSCALE the exact
// error of the host's round-to-nearest result is computed (TwoSum/Dekker) and the result is
// nudged by one ulp for the directed modes; integer and float stores round with RC too.
//
// Besides the double, a register can carry its exact 80-bit encoding (`rawValid`): values
// loaded with FLD m80fp/FRSTOR, FILD m64int, FBLD and the FLD constants keep all 64 significand
// bits, so FSTP m80fp/FNSAVE and FISTP m64int give them back bit-exactly (memcpy-style FILD/FISTP
// qword copies, context switches). Any arithmetic drops back to the double. NaNs and the
// unsupported encodings (pseudo-NaN, pseudo-infinity, unnormal) always use the raw form, so NaN
// payloads, quiet/signalling and indefinite (FFFF C000000000000000) are exact.
//
// Exceptions (SDM Vol. 1 §8.4-8.7): IE (incl. stack fault SF with C1 = direction), DE (denormal
// m32fp/m64fp operands only: register values are never extended denormals), ZE, OE, UE (only
// when the double result lost precision in the double's denormal range), PE (exact for the
// basic operations and stores, "always" for transcendentals). Masked responses follow the SDM.
// Unmasked IE/DE/ZE leave destination and TOP unchanged; unmasked OE/UE store nothing to memory
// but, for register destinations, store the masked response (the 2^±24576 bias adjust is not
// modelled). An unmasked exception sets ES and B; the next waiting x87 instruction (or WAIT)
// raises #MF when CR0.NE=1, or calls `onLegacyFerr` (FERR# -> IRQ13) and continues when NE=0.
//
// FIP/FCS/FDP/FDS/FOP are recorded by every non-control instruction (SDM Vol. 1 §8.1.8): FCS:FIP
// is CS and the offset of the instruction's first byte (prefixes included), FDS:FDP the segment
// selector and offset of the memory operand. Real-mode/V86 FSTENV layouts store the 20-bit
// linear forms (selector*16 + offset); FLDENV in those modes loads the linear address into the
// offset and zero into the selector. In 64-bit mode (long/fpu64.ts, through `exec64` and a linear
// X87Bus) FIP is RIP and FDP the operand's 64-bit offset; bits 63:32 live in fipHi/fdpHi, which
// only FXSAVE64/XSAVE64 store (SDM Vol. 1 §10.5.1); FSTENV/FSAVE keep the 32-bit layouts.
import type { Cpu } from '../cpu';
import { Cr0, Flag, Seg, Vector } from '../regs';

/** The memory accesses of the x87 instructions, FXSAVE and XSAVE: the CPU's segmented ones
 *  (Cpu has these methods), or in 64-bit mode linear ones where `off` is the linear address
 *  and `seg` only selects #SS or #GP for a non-canonical one (long/fpu64.ts). */
export interface X87Bus {
  read8(seg: number, off: number): number;
  read16(seg: number, off: number): number;
  read32(seg: number, off: number): number;
  write8(seg: number, off: number, v: number): void;
  write16(seg: number, off: number, v: number): void;
  write32(seg: number, off: number, v: number): void;
  checkWrite(seg: number, off: number, len: number): void;
  checkRead(seg: number, off: number, len: number): void;
}

/** The bus before any instruction has set one (exec/exec64 always do). */
function noBus(): never { throw new Error('x87: memory access outside an instruction (no bus set)'); }
const NO_BUS: X87Bus = {
  read8: noBus, read16: noBus, read32: noBus, write8: noBus, write16: noBus, write32: noBus, checkWrite: noBus, checkRead: noBus,
};

// ---- Status word (SDM Vol. 1 §8.1.3, Figure 8-4). Exception bits equal their CW mask bits.
const IE = 0x0001, DE = 0x0002, ZE = 0x0004, OE = 0x0008, UE = 0x0010, PE = 0x0020;
const SF = 0x0040, ES = 0x0080, C0 = 0x0100, C1 = 0x0200, C2 = 0x0400, C3 = 0x4000, BUSY = 0x8000;
const CC_ALL = C0 | C1 | C2 | C3;
const TOP_BITS = 0x3800;

/** Slots 0-7 are R0..R7; slot 8 holds a memory operand, slot 9 is a constant +0.0 (FTST). */
const TMP = 8;
const ZERO = 9;

/** Register classes (FXAM, tag word; SDM Vol. 1 §8.1.7 and FXAM). */
const K_ZERO = 0, K_NORMAL = 1, K_DENORMAL = 2, K_INF = 3, K_NAN = 4, K_UNSUPPORTED = 5;

/** Binary operations; the reg field of D8/DC/DA/DE selects them (SDM Vol. 2 Appendix A.5). */
const OP_ADD = 0, OP_MUL = 1, OP_SUB = 4, OP_DIV = 6;

// ---- Bit-level helpers on one preallocated scratch buffer (no allocation per instruction).
const SCR = new DataView(new ArrayBuffer(16));
function dblHi(x: number): number { SCR.setFloat64(0, x, true); return SCR.getUint32(4, true); }
/** Low word of the double last passed to dblHi. */
function dblLo(): number { return SCR.getUint32(0, true); }
function dblFrom(hi: number, lo: number): number {
  SCR.setUint32(0, lo, true); SCR.setUint32(4, hi, true); return SCR.getFloat64(0, true);
}
function f32Bits(f: number): number { SCR.setFloat32(8, f, true); return SCR.getUint32(8, true); }
function f32From(b: number): number { SCR.setUint32(8, b, true); return SCR.getFloat32(8, true); }

/** 2^n for -1074 <= n <= 1023, built from bits (exact). */
function pow2(n: number): number {
  if (n >= -1022) return dblFrom((n + 1023) << 20, 0);
  const b = n + 1074;
  return b >= 32 ? dblFrom(1 << (b - 32), 0) : dblFrom(0, 1 << b);
}
const P2_1000 = pow2(1000), P2_M1000 = pow2(-1000), P2_M60 = pow2(-60);
const MIN_NORMAL = pow2(-1022), MIN_DENORMAL = pow2(-1074);
const DBL_MAX = dblFrom(0x7fefffff, 0xffffffff);
const FLT_MAX = f32From(0x7f7fffff);
const FLT_MIN_NORMAL = f32From(0x00800000);
const TWO63 = pow2(63);

/** x * 2^k in exact steps (used where the result is a normal number). */
function mulPow2(v: number, k: number): number {
  while (k > 1000) { v *= P2_1000; k -= 1000; }
  while (k < -1000) { v *= P2_M1000; k += 1000; }
  return v * pow2(k);
}

/** floor(log2|x|) for finite nonzero x, denormals included. */
function expOf(x: number): number {
  const hi = dblHi(x), e = (hi >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  const mh = hi & 0xfffff;
  return mh !== 0 ? 63 - Math.clz32(mh) - 1074 : 31 - Math.clz32(dblLo()) - 1074;
}

/** x * 2^n with a single rounding (FSCALE, 80-bit conversion). */
function ldexp(x: number, n: number): number {
  if (x === 0 || x !== x || x === Infinity || x === -Infinity || n === 0) return x;
  const e = expOf(x), t = e + n;
  if (t > 1023) return x > 0 ? Infinity : -Infinity;
  if (t < -1100) return x > 0 ? 0 : -0;
  const m = mulPow2(x, -e); // in [1, 2), exact
  return t >= -1022 ? m * pow2(t) : (m * P2_M60) * pow2(t + 60);
}

function nextUp(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return MIN_DENORMAL;
  let hi = dblHi(x), lo = dblLo();
  if (x > 0) { lo = (lo + 1) >>> 0; if (lo === 0) hi++; } else { if (lo === 0) hi--; lo = (lo - 1) >>> 0; }
  return dblFrom(hi, lo);
}
function nextDown(x: number): number { return -nextUp(-x); }
function nextUp32(f: number): number {
  if (f !== f || f === Infinity) return f;
  if (f === 0) return f32From(1);
  const b = f32Bits(f);
  return f32From(f > 0 ? b + 1 : b - 1);
}
function nextDown32(f: number): number { return -nextUp32(-f); }

function sgn(x: number): number { return x > 0 ? 1 : x < 0 ? -1 : 0; }
function signBit(x: number): number { return x < 0 || (x === 0 && 1 / x < 0) ? 1 : 0; }

// ---- Exact error of the host's round-to-nearest result: sign(exact - rounded) (Knuth TwoSum,
// Dekker TwoProduct on operands scaled to [1, 2) so that no intermediate over/underflows).
const SPLIT = 134217729; // 2^27 + 1

/** x*y - p exactly enough for its sign; x, y in [1, 2). */
function twoProdErr(x: number, y: number, p: number): number {
  let t = SPLIT * x;
  const xh = t - (t - x), xl = x - xh;
  t = SPLIT * y;
  const yh = t - (t - y), yl = y - yh;
  return ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
}
function addErrSign(a: number, b: number, s: number): number {
  if (s !== s || s === Infinity || s === -Infinity || a === Infinity || a === -Infinity || b === Infinity || b === -Infinity) return 0;
  const bb = s - a;
  return sgn((a - (s - bb)) + (b - bb));
}
function mulErrSign(a: number, b: number, p: number): number {
  if (a === 0 || b === 0 || p !== p || p === Infinity || p === -Infinity || a === Infinity || a === -Infinity || b === Infinity || b === -Infinity) return 0;
  const neg = (a < 0) !== (b < 0);
  if (p === 0) return neg ? -1 : 1;
  const ea = expOf(a), eb = expOf(b);
  const s = sgn(twoProdErr(mulPow2(Math.abs(a), -ea), mulPow2(Math.abs(b), -eb), mulPow2(Math.abs(p), -(ea + eb))));
  return neg ? -s : s;
}
function divErrSign(a: number, b: number, q: number): number {
  if (a === 0 || b === 0 || q !== q || q === Infinity || q === -Infinity || a === Infinity || a === -Infinity || b === Infinity || b === -Infinity) return 0;
  const neg = (a < 0) !== (b < 0);
  if (q === 0) return neg ? -1 : 1;
  const ea = expOf(a), eb = expOf(b);
  const x = mulPow2(Math.abs(a), -ea), y = mulPow2(Math.abs(b), -eb), Q = mulPow2(Math.abs(q), -(ea - eb));
  const p = Q * y;
  const s = sgn((x - p) - twoProdErr(Q, y, p));
  return neg ? -s : s;
}
function sqrtErrSign(a: number, r: number): number {
  const k = expOf(a) >> 1;
  const x = mulPow2(a, -2 * k), R = mulPow2(r, -k);
  const p = R * R;
  return sgn((x - p) - twoProdErr(R, R, p));
}

// ---- Double-extended (80-bit) conversions (SDM Vol. 1 §4.2.2, Table 4-3). Results go through
// these module variables to avoid allocating.
let extSE = 0, extHi = 0, extLo = 0;

/** double -> 80-bit (exact; NaNs get the double's payload). */
function toExt(x: number): void {
  const hi = dblHi(x), lo = dblLo();
  const sign = (hi >>> 16) & 0x8000, e = (hi >>> 20) & 0x7ff, mh = hi & 0xfffff;
  if (e === 0x7ff) {
    extSE = sign | 0x7fff;
    extHi = (0x80000000 | (mh << 11) | (lo >>> 21)) >>> 0; extLo = (lo << 11) >>> 0;
  } else if (e !== 0) {
    extSE = sign | (e - 1023 + 16383);
    extHi = (0x80000000 | (mh << 11) | (lo >>> 21)) >>> 0; extLo = (lo << 11) >>> 0;
  } else if ((mh | lo) === 0) {
    extSE = sign; extHi = 0; extLo = 0;
  } else {
    // A double denormal is a normal extended value: shift the leading 1 to bit 63.
    const msb = mh !== 0 ? 63 - Math.clz32(mh) : 31 - Math.clz32(lo);
    const s = 63 - msb;
    if (s >= 32) { extHi = (lo << (s - 32)) >>> 0; extLo = 0; } else { extHi = ((mh << s) | (lo >>> (32 - s))) >>> 0; extLo = (lo << s) >>> 0; }
    extSE = sign | (msb - 1074 + 16383);
  }
}

/** 80-bit -> double, rounded to nearest; NaN for NaNs and unsupported encodings. Extended
 * denormals and values below the double range become zero; values above it, infinity. */
function extToDouble(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff, neg = (se & 0x8000) !== 0;
  let v: number;
  if (e === 0) v = 0;
  else if ((hi & 0x80000000) === 0) return NaN; // unnormal, pseudo-NaN, pseudo-infinity
  else if (e === 0x7fff) {
    if ((hi & 0x7fffffff) !== 0 || lo !== 0) return NaN;
    v = Infinity;
  } else v = ldexp((hi >>> 0) * 4294967296 + (lo >>> 0), e - 16383 - 63);
  return neg ? -v : v;
}

/** Register/operand class of an 80-bit encoding. */
function extClass(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff, j = (hi & 0x80000000) !== 0;
  if (e === 0) return (hi | lo) === 0 ? K_ZERO : K_DENORMAL;
  if (e === 0x7fff) {
    if (!j) return K_UNSUPPORTED;
    return (hi & 0x7fffffff) === 0 && lo === 0 ? K_INF : K_NAN;
  }
  return j ? K_NORMAL : K_UNSUPPORTED;
}

/** Signed 64-bit magnitude -> 80-bit (FILD m64int, FBLD), exact. */
function int64ToExt(neg: boolean, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  if ((hi | lo) === 0) { extSE = neg ? 0x8000 : 0; extHi = 0; extLo = 0; return; }
  const s = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (s >= 32) { extHi = (lo << (s - 32)) >>> 0; extLo = 0; } else if (s > 0) { extHi = ((hi << s) | (lo >>> (32 - s))) >>> 0; extLo = (lo << s) >>> 0; } else { extHi = hi; extLo = lo; }
  extSE = (neg ? 0x8000 : 0) | (16383 + 63 - s);
}

// Result of extToInt: magnitude in intHi:intLo (unsigned), sign, and whether rounding happened.
let intHi = 0, intLo = 0, intNeg = false, intInexact = false, intUp = false;

/** Rounds a finite 80-bit value to an integer with rounding control `rc` (SDM Vol. 1 §4.8.4).
 * Returns false when the magnitude does not fit in 64 bits. */
function extToInt(se: number, hi: number, lo: number, rc: number): boolean {
  intNeg = (se & 0x8000) !== 0; intInexact = false; intUp = false;
  const E = (se & 0x7fff) - 16383;
  hi >>>= 0; lo >>>= 0;
  let ih = 0, il = 0, round = 0, sticky = 0;
  if ((hi | lo) === 0) { intHi = 0; intLo = 0; return true; }
  if (E > 63) return false;
  if (E === 63) { ih = hi; il = lo; }
  else if (E >= 0) {
    const s = 63 - E;
    if (s < 32) { il = ((lo >>> s) | (hi << (32 - s))) >>> 0; ih = hi >>> s; round = (lo >>> (s - 1)) & 1; sticky = lo & ((1 << (s - 1)) - 1); }
    else if (s === 32) { il = hi; round = lo >>> 31; sticky = lo & 0x7fffffff; }
    else { il = hi >>> (s - 32); round = (hi >>> (s - 33)) & 1; sticky = (hi & ((1 << (s - 33)) - 1)) | lo; }
  } else if (E === -1) { round = hi >>> 31; sticky = (hi & 0x7fffffff) | lo; }
  else sticky = hi | lo;
  intInexact = (round | sticky) !== 0;
  let up = false;
  if (intInexact) {
    switch (rc) {
      case 0: up = round !== 0 && (sticky !== 0 || (il & 1) !== 0); break;
      case 1: up = intNeg; break;
      case 2: up = !intNeg; break;
      default: break;
    }
  }
  if (up) {
    il = (il + 1) >>> 0;
    if (il === 0) { ih = (ih + 1) >>> 0; if (ih === 0) return false; }
  }
  intUp = up; intHi = ih; intLo = il;
  return true;
}

/** Magnitude intHi:intLo fits a signed integer of `bytes` (2, 4, 8) with sign intNeg. */
function intFits(bytes: number): boolean {
  const lim = bytes === 2 ? 0x8000 : 0x80000000;
  if (bytes !== 8) return intHi === 0 && (intLo < lim || (intNeg && intLo === lim));
  return intHi < 0x80000000 || (intNeg && intHi === 0x80000000 && intLo === 0);
}

// FLD constants as 80-bit values rounded to nearest (SDM Vol. 2A FLD1/FLDL2T/FLDL2E/FLDPI/...,
// and Vol. 1 ch. 8 "Load Constant Instructions": a 66-bit internal constant rounded per RC).
// `adj` says how the 66-bit internal constant rounds in the other modes: -1 means the nearest
// value was rounded up (round down/chop give significand-1), +1 means it was rounded down
// (round up gives significand+1).
const CONST_SE = [0x3fff, 0x4000, 0x3fff, 0x4000, 0x3ffd, 0x3ffe, 0];
const CONST_HI = [0x80000000, 0xd49a784b, 0xb8aa3b29, 0xc90fdaa2, 0x9a209a84, 0xb17217f7, 0];
const CONST_LO = [0, 0xcd1b8afe, 0x5c17f0bc, 0x2168c235, 0xfbcff799, 0xd1cf79ac, 0];
const CONST_ADJ = [0, 1, -1, -1, -1, -1, 0];

/** Packed BCD scratch (FBLD/FBSTP). */
const BCD = new Uint8Array(10);

export class Fpu {
  /** Control word (SDM Vol. 1 §8.1.5). */
  cw = 0x037f;
  /** Status word with the TOP field kept zero; see `statusWord`. */
  sw = 0;
  /** Top-of-stack physical register (SW bits 13:11). */
  top = 0;
  /** Register values as doubles, by physical index (slots 8, 9: internal operands). */
  readonly st = new Float64Array(10);
  /** 1 when the physical register's tag is empty (11b). */
  readonly empty = new Uint8Array(10);
  /** 1 when rawSE/rawHi/rawLo hold the register's exact 80-bit encoding. */
  readonly rawValid = new Uint8Array(10);
  readonly rawSE = new Uint16Array(10);
  readonly rawHi = new Uint32Array(10);
  readonly rawLo = new Uint32Array(10);

  /** Last non-control instruction: CS selector, offset, opcode (11 bits), operand seg:offset. */
  fcs = 0; fip = 0; fop = 0; fds = 0; fdp = 0;
  /** Bits 63:32 of FIP and FDP: 64-bit mode records RIP and the 64-bit operand offset (SDM
   *  Vol. 1 §8.1.8); FXSAVE64/XSAVE64 store them, FXRSTOR64/XRSTOR64 load them. 0 elsewhere. */
  fipHi = 0; fdpHi = 0;

  /** The memory operand of the instruction being executed: the accesses go through `bus` at
   *  aSeg:aOff (the CPU with the ModRM segment and offset; in 64-bit mode long/fpu64.ts's
   *  linear bus with the linear address), and `dOff` is the offset FDP records. */
  private bus: X87Bus = NO_BUS;
  private aSeg = 0;
  private aOff = 0;
  private dOff = 0;

  /** NE=0 error reporting: called when a waiting instruction finds ES set (FERR# -> IRQ13). */
  onLegacyFerr: (() => void) | null = null;

  /** The m32fp/m64fp operand in TMP was a denormal (raises DE when used). */
  private tmpDenormal = false;
  /** Set by roundRc/overflowValue: the result's magnitude was rounded up (C1). */
  private roundedUp = false;
  /** FSAVE/FRSTOR image as 16-bit words (108 bytes at most). */
  private readonly img = new Uint16Array(54);

  constructor() { this.reset(); }

  /** FNINIT state (SDM Vol. 2A FINIT/FNINIT): CW 037F, SW 0, all tags empty, pointers 0. */
  reset(): void {
    this.cw = 0x037f; this.sw = 0; this.top = 0;
    this.empty.fill(1); this.empty[TMP] = 0; this.empty[ZERO] = 0;
    this.rawValid.fill(0);
    this.st[ZERO] = 0;
    this.fcs = 0; this.fip = 0; this.fop = 0; this.fds = 0; this.fdp = 0; this.fipHi = 0; this.fdpHi = 0;
  }

  /** The x87 state component's initial configuration (SDM Vol. 1 §13.6, XRSTOR of a component
   *  whose XSTATE_BV bit is 0): FCW 037FH, FSW 0, all tags empty, FOP/FIP/FDP 0, R0-R7 +0.0. */
  initX87(): void {
    for (let p = 0; p < 8; p++) this.setValue(p, 0);
    this.reset();
  }

  /** Hardware RESET state, which differs from FNINIT (SDM Vol. 3A §9.1.1 Table 9-1, §9.2):
   * CW 0040H (all exceptions unmasked), SW 0, TW 5555H, R0-R7 +0.0. INIT leaves the FPU as is. */
  powerOnReset(): void {
    this.reset();
    this.cw = 0x0040;
    for (let p = 0; p < 8; p++) this.setValue(p, 0);
  }

  // ======================================================================================
  // State accessors (tests, debugger, FSTENV)
  // ======================================================================================

  /** Status word with TOP (SDM Vol. 1 §8.1.3). */
  get statusWord(): number { return (this.sw & ~TOP_BITS) | (this.top << 11); }
  get controlWord(): number { return this.cw; }

  /** Full tag word, two bits per physical register: 0 valid, 1 zero, 2 special, 3 empty (§8.1.7). */
  get tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) tw |= this.tagOf(p) << (2 * p);
    return tw;
  }

  /** Value of ST(i) as a double (NaN for NaNs, whatever the tag). */
  getST(i: number): number { return this.st[(this.top + i) & 7]; }
  /** Value of physical register R`p`. */
  getPhys(p: number): number { return this.st[p & 7]; }
  /** 80-bit encoding of physical register R`p`: [sign|exponent, significand high, low]. */
  getPhys80(p: number): [number, number, number] { this.extOf(p & 7); return [extSE, extHi, extLo]; }

  /** Pushes a value as FLD would, without exceptions (debugger and tests). */
  push(v: number): void {
    this.top = (this.top - 1) & 7;
    this.setValue(this.top, v);
  }

  // ======================================================================================
  // Entry points
  // ======================================================================================

  /** WAIT/FWAIT (9B): #NM when CR0.MP and CR0.TS are both set, then pending exceptions. */
  wait(c: Cpu): void {
    if ((c.cr0 & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) c.raise(Vector.NM);
    this.checkPending(c);
  }

  /** Executes escape opcode D8..DF; CS:EIP is just past the opcode byte. */
  exec(c: Cpu, opcode: number): void {
    c.decodeModrm();
    this.bus = c; this.aSeg = c.eaSeg; this.aOff = c.eaOff; this.dOff = c.eaOff;
    this.run(c, opcode);
  }

  /** Escape opcode D8..DF in 64-bit mode (long/fpu64.ts): ModRM decoded into c.modrm, the memory
   *  operand at linear address `lin` (segment `seg` for the fault type) through `bus`, `off`
   *  its 64-bit offset for FDP. */
  exec64(c: Cpu, opcode: number, bus: X87Bus, seg: number, lin: number, off: number): void {
    this.bus = bus; this.aSeg = seg; this.aOff = lin; this.dOff = off;
    this.run(c, opcode);
  }

  private run(c: Cpu, opcode: number): void {
    // Device-not-available: CR0.EM or CR0.TS (SDM Vol. 3A §2.5, Table 2-2).
    if ((c.cr0 & (Cr0.EM | Cr0.TS)) !== 0) c.raise(Vector.NM);
    const m = c.modrm;
    if (m < 0xc0) this.execMem(c, opcode, (m >> 3) & 7);
    else this.execReg(c, opcode, m);
    // An unmasked exception flag sets the summary and busy bits (SDM Vol. 1 §8.1.3.3).
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= ES | BUSY;
  }

  /** Waiting instructions first deliver a pending unmasked exception (SDM Vol. 1 §8.6-8.7). */
  private checkPending(c: Cpu): void {
    if ((this.sw & ES) === 0) return;
    if ((c.cr0 & Cr0.NE) !== 0) c.raise(Vector.MF);
    if (this.onLegacyFerr !== null) this.onLegacyFerr();
  }

  /** Start of a non-control instruction: pending exceptions, then FIP/FDP/FOP (§8.1.8-8.1.9). */
  private begin(c: Cpu, opcode: number): void {
    this.checkPending(c);
    this.fop = ((opcode & 7) << 8) | c.modrm;
    const ip = c.instrStart;
    this.fcs = c.segSel[Seg.CS]; this.fip = ip >>> 0; this.fipHi = c.mode64 ? Math.floor(ip / 4294967296) | 0 : 0;
    if (c.modrm < 0xc0) {
      const dp = this.dOff;
      this.fds = c.segSel[this.aSeg]; this.fdp = dp >>> 0; this.fdpHi = c.mode64 ? Math.floor(dp / 4294967296) | 0 : 0;
    }
    this.sw &= ~C1; // C1 defaults to 0 ("not rounded up", "no stack overflow")
  }

  // ======================================================================================
  // Memory forms
  // ======================================================================================

  private execMem(c: Cpu, op: number, r: number): void {
    const seg = this.aSeg, off = this.aOff;
    switch (op) {
      case 0xd8: this.begin(c, op); this.loadF32(this.bus.read32(seg, off), TMP); this.arithGroup(r, TMP); return;
      case 0xda: this.begin(c, op); this.setValue(TMP, this.bus.read32(seg, off) | 0); this.tmpDenormal = false; this.arithGroup(r, TMP); return;
      case 0xdc: this.begin(c, op); this.loadF64(this.bus.read32(seg, off), this.bus.read32(seg, off + 4), TMP); this.arithGroup(r, TMP); return;
      case 0xde: this.begin(c, op); this.setValue(TMP, (this.bus.read16(seg, off) << 16) >> 16); this.tmpDenormal = false; this.arithGroup(r, TMP); return;
      case 0xd9:
        switch (r) {
          case 0: this.begin(c, op); this.loadF32(this.bus.read32(seg, off), TMP); this.fldTmp(true); return; // FLD m32fp
          case 2: this.begin(c, op); this.storeF32(c, false); return; // FST m32fp
          case 3: this.begin(c, op); this.storeF32(c, true); return; // FSTP m32fp
          case 4: this.checkPending(c); this.fldenv(c); return; // FLDENV
          case 5: { // FLDCW: reserved bits 15:13 and 7 read 0, bit 6 reads 1
            this.checkPending(c);
            this.cw = (this.bus.read16(seg, off) & 0x1f3f) | 0x40;
            this.updateSummary();
            return;
          }
          case 6: this.fnstenv(c); return; // FNSTENV
          case 7: this.bus.write16(seg, off, this.cw); return; // FNSTCW
          default: return c.raise(Vector.UD);
        }
      case 0xdb:
        switch (r) {
          case 0: this.begin(c, op); this.setValue(TMP, this.bus.read32(seg, off) | 0); this.fldTmp(false); return; // FILD m32int
          case 2: this.begin(c, op); this.storeInt(c, 4, false); return; // FIST m32int
          case 3: this.begin(c, op); this.storeInt(c, 4, true); return; // FISTP m32int
          case 5: { // FLD m80fp: no #IA for SNaN, no #D (SDM Vol. 2A FLD)
            this.begin(c, op);
            const lo = this.bus.read32(seg, off), hi = this.bus.read32(seg, off + 4), se = this.bus.read16(seg, off + 8);
            this.setRaw(TMP, se, hi, lo);
            this.fldTmp(false);
            return;
          }
          case 7: this.begin(c, op); this.storeF80(); return; // FSTP m80fp
          default: return c.raise(Vector.UD); // /1 FISTTP is SSE3; /4, /6 reserved
        }
      case 0xdd:
        switch (r) {
          case 0: this.begin(c, op); this.loadF64(this.bus.read32(seg, off), this.bus.read32(seg, off + 4), TMP); this.fldTmp(true); return; // FLD m64fp
          case 2: this.begin(c, op); this.storeF64(c, false); return; // FST m64fp
          case 3: this.begin(c, op); this.storeF64(c, true); return; // FSTP m64fp
          case 4: this.checkPending(c); this.frstor(c); return; // FRSTOR
          case 6: this.fnsave(c); return; // FNSAVE
          case 7: this.bus.write16(seg, off, this.statusWord); return; // FNSTSW m2byte
          default: return c.raise(Vector.UD); // /1 FISTTP is SSE3; /5 reserved
        }
      case 0xdf:
        switch (r) {
          case 0: this.begin(c, op); this.setValue(TMP, (this.bus.read16(seg, off) << 16) >> 16); this.fldTmp(false); return; // FILD m16int
          case 2: this.begin(c, op); this.storeInt(c, 2, false); return; // FIST m16int
          case 3: this.begin(c, op); this.storeInt(c, 2, true); return; // FISTP m16int
          case 4: this.begin(c, op); this.fbld(); return; // FBLD m80bcd
          case 5: { // FILD m64int: kept exact in the raw form
            this.begin(c, op);
            let lo = this.bus.read32(seg, off) >>> 0, hi = this.bus.read32(seg, off + 4) >>> 0;
            const neg = hi >= 0x80000000;
            if (neg) { lo = (~lo + 1) >>> 0; hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0; }
            int64ToExt(neg, hi, lo);
            this.setRaw(TMP, extSE, extHi, extLo);
            this.fldTmp(false);
            return;
          }
          case 6: this.begin(c, op); this.fbstp(); return; // FBSTP m80bcd
          case 7: this.begin(c, op); this.storeInt(c, 8, true); return; // FISTP m64int
          default: return c.raise(Vector.UD); // /1 FISTTP is SSE3
        }
      default: c.raise(Vector.UD);
    }
  }

  /** D8/DA/DC/DE memory forms and D8 register forms: ST(0) <- ST(0) op src (Vol. 2A FADD...). */
  private arithGroup(r: number, src: number): void {
    const d = this.top;
    switch (r) {
      case 0: this.arith(OP_ADD, d, d, src); return;
      case 1: this.arith(OP_MUL, d, d, src); return;
      case 2: this.setCC(this.compare(d, src, false)); return; // FCOM
      case 3: { const k = this.compare(d, src, false); if (k >= 0) { this.setCC(k); this.pop(); } return; } // FCOMP
      case 4: this.arith(OP_SUB, d, d, src); return;
      case 5: this.arith(OP_SUB, d, src, d); return; // FSUBR
      case 6: this.arith(OP_DIV, d, d, src); return;
      default: this.arith(OP_DIV, d, src, d); return; // FDIVR
    }
  }

  // ======================================================================================
  // Register forms (SDM Vol. 2D Appendix A.5, the escape opcode maps for mod = 11b)
  // ======================================================================================

  private execReg(c: Cpu, op: number, m: number): void {
    const i = m & 7, r = (m >> 3) & 7;
    const si = (this.top + i) & 7;
    switch (op) {
      case 0xd8: this.begin(c, op); this.arithGroup(r, si); return;
      case 0xd9: this.execD9(c, m, i, si); return;
      case 0xda:
        if (m < 0xe0) { this.begin(c, op); this.fcmov(si, this.fcmovCond(c, r)); return; } // FCMOVB/E/BE/U
        if (m === 0xe9) { this.begin(c, op); this.fucompp(true); return; } // FUCOMPP
        return c.raise(Vector.UD);
      case 0xdb:
        if (m < 0xe0) { this.begin(c, op); this.fcmov(si, !this.fcmovCond(c, r & 3)); return; } // FCMOVNB/NE/NBE/NU
        if (m >= 0xe8 && m < 0xf8) { this.begin(c, op); this.fcomi(c, si, m < 0xf0, false); return; } // FUCOMI / FCOMI
        switch (m) {
          case 0xe0: case 0xe1: case 0xe4: return; // FNENI, FNDISI, FNSETPM: no-ops since the 387
          case 0xe2: this.sw &= ~(0xff | BUSY); return; // FNCLEX: PE..IE, SF, ES, B
          case 0xe3: this.reset(); return; // FNINIT
          default: return c.raise(Vector.UD);
        }
      case 0xdc:
        // ST(i) <- ST(i) op ST(0); note E0/E8 and F0/F8 are FSUBR/FSUB, FDIVR/FDIV here.
        this.begin(c, op);
        this.arithRev(r, si);
        return;
      case 0xdd:
        switch (r) {
          case 0: this.begin(c, op); this.empty[si] = 1; return; // FFREE
          case 1: this.begin(c, op); this.fxch(si); return; // FXCH4 (reserved alias of D9 C8+i)
          case 2: this.begin(c, op); this.fstReg(si, false); return; // FST ST(i)
          case 3: this.begin(c, op); this.fstReg(si, true); return; // FSTP ST(i)
          case 4: this.begin(c, op); this.setCC(this.compare(this.top, si, true)); return; // FUCOM
          case 5: { this.begin(c, op); const k = this.compare(this.top, si, true); if (k >= 0) { this.setCC(k); this.pop(); } return; } // FUCOMP
          default: return c.raise(Vector.UD);
        }
      case 0xde:
        if (r === 2) { this.begin(c, op); const k = this.compare(this.top, si, false); if (k >= 0) { this.setCC(k); this.pop(); } return; } // FCOMP5 alias
        if (r === 3) { if (m === 0xd9) { this.begin(c, op); this.fucompp(false); return; } return c.raise(Vector.UD); } // FCOMPP
        this.begin(c, op);
        if (this.arithRev(r, si)) this.pop(); // FADDP FMULP FSUBRP FSUBP FDIVRP FDIVP
        return;
      default: // 0xdf
        switch (r) {
          case 0: this.begin(c, op); this.empty[si] = 1; this.pop(); return; // FFREEP
          case 1: this.begin(c, op); this.fxch(si); return; // FXCH7 alias
          case 2: case 3: this.begin(c, op); this.fstReg(si, true); return; // FSTP8/FSTP9 aliases
          case 4: if (m === 0xe0) { c.r16[0] = this.statusWord; return; } return c.raise(Vector.UD); // FNSTSW AX
          case 5: case 6: this.begin(c, op); this.fcomi(c, si, r === 5, true); return; // FUCOMIP / FCOMIP
          default: c.raise(Vector.UD);
        }
    }
  }

  /** DC/DE register forms: ST(i) <- ST(i) op ST(0), with the reversed SUB/DIV encodings. */
  private arithRev(r: number, si: number): boolean {
    const t = this.top;
    switch (r) {
      case 0: return this.arith(OP_ADD, si, si, t);
      case 1: return this.arith(OP_MUL, si, si, t);
      case 2: this.setCC(this.compare(t, si, false)); return false; // DC D0+i: FCOM2 alias
      case 3: { const k = this.compare(t, si, false); if (k >= 0) { this.setCC(k); this.pop(); } return false; } // FCOMP3 alias
      case 4: return this.arith(OP_SUB, si, t, si); // E0+i: FSUBR ST(i),ST(0)
      case 5: return this.arith(OP_SUB, si, si, t); // E8+i: FSUB ST(i),ST(0)
      case 6: return this.arith(OP_DIV, si, t, si); // F0+i: FDIVR ST(i),ST(0)
      default: return this.arith(OP_DIV, si, si, t); // F8+i: FDIV ST(i),ST(0)
    }
  }

  private execD9(c: Cpu, m: number, i: number, si: number): void {
    if (m < 0xc8) { this.begin(c, 0xd9); this.fldReg(si); return; } // FLD ST(i)
    if (m < 0xd0) { this.begin(c, 0xd9); this.fxch(si); return; } // FXCH ST(i)
    if (m === 0xd0) { this.begin(c, 0xd9); return; } // FNOP
    if (m >= 0xd8 && m < 0xe0) { this.begin(c, 0xd9); this.fstReg(si, true); return; } // FSTP1 alias
    const p = this.top;
    switch (m) {
      case 0xe0: case 0xe1: { // FCHS, FABS: sign only, NaNs included (Vol. 2A FCHS/FABS)
        this.begin(c, 0xd9);
        if (this.empty[p]) { this.underflow(p); return; }
        if (m === 0xe0) { this.st[p] = -this.st[p]; this.rawSE[p] ^= 0x8000; }
        else { this.st[p] = Math.abs(this.st[p]); this.rawSE[p] &= 0x7fff; }
        return;
      }
      case 0xe4: this.begin(c, 0xd9); this.setCC(this.compare(p, ZERO, false)); return; // FTST
      case 0xe5: this.begin(c, 0xd9); this.fxam(); return;
      case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
        this.begin(c, 0xd9); this.fldConst(m - 0xe8); return; // FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ
      case 0xf0: this.begin(c, 0xd9); this.f2xm1(); return;
      case 0xf1: this.begin(c, 0xd9); this.fyl2x(false); return;
      case 0xf2: this.begin(c, 0xd9); this.trig(2); return; // FPTAN
      case 0xf3: this.begin(c, 0xd9); this.fpatan(); return;
      case 0xf4: this.begin(c, 0xd9); this.fxtract(); return;
      case 0xf5: this.begin(c, 0xd9); this.fprem(true); return; // FPREM1
      case 0xf6: this.begin(c, 0xd9); this.top = (this.top - 1) & 7; return; // FDECSTP
      case 0xf7: this.begin(c, 0xd9); this.top = (this.top + 1) & 7; return; // FINCSTP
      case 0xf8: this.begin(c, 0xd9); this.fprem(false); return; // FPREM
      case 0xf9: this.begin(c, 0xd9); this.fyl2x(true); return; // FYL2XP1
      case 0xfa: this.begin(c, 0xd9); this.fsqrt(); return;
      case 0xfb: this.begin(c, 0xd9); this.trig(3); return; // FSINCOS
      case 0xfc: this.begin(c, 0xd9); this.frndint(); return;
      case 0xfd: this.begin(c, 0xd9); this.fscale(); return;
      case 0xfe: this.begin(c, 0xd9); this.trig(0); return; // FSIN
      case 0xff: this.begin(c, 0xd9); this.trig(1); return; // FCOS
      default: c.raise(Vector.UD); // D9 D1-D7, E2, E3, E6, E7, EF
    }
  }

  // ======================================================================================
  // Register file primitives
  // ======================================================================================

  private setValue(p: number, v: number): void {
    this.st[p] = v; this.empty[p] = 0;
    if (v !== v) this.setIndefinite(p); else this.rawValid[p] = 0;
  }
  private setRaw(p: number, se: number, hi: number, lo: number): void {
    this.rawSE[p] = se; this.rawHi[p] = hi; this.rawLo[p] = lo; this.rawValid[p] = 1;
    this.st[p] = extToDouble(se, hi, lo); this.empty[p] = 0;
  }
  /** QNaN floating-point indefinite (SDM Vol. 1 §4.8.3.7). */
  private setIndefinite(p: number): void {
    this.rawSE[p] = 0xffff; this.rawHi[p] = 0xc0000000; this.rawLo[p] = 0; this.rawValid[p] = 1;
    this.st[p] = NaN; this.empty[p] = 0;
  }
  private copy(dst: number, src: number): void {
    this.st[dst] = this.st[src]; this.empty[dst] = 0;
    this.rawValid[dst] = this.rawValid[src];
    this.rawSE[dst] = this.rawSE[src]; this.rawHi[dst] = this.rawHi[src]; this.rawLo[dst] = this.rawLo[src];
  }
  /** Loads the 80-bit encoding of slot p into extSE/extHi/extLo. */
  private extOf(p: number): void {
    if (this.rawValid[p]) { extSE = this.rawSE[p]; extHi = this.rawHi[p]; extLo = this.rawLo[p]; } else toExt(this.st[p]);
  }
  private classOf(p: number): number {
    if (this.rawValid[p]) return extClass(this.rawSE[p], this.rawHi[p], this.rawLo[p]);
    const v = this.st[p];
    return v === 0 ? K_ZERO : v === Infinity || v === -Infinity ? K_INF : K_NORMAL;
  }
  private tagOf(p: number): number {
    if (this.empty[p]) return 3;
    const k = this.classOf(p);
    return k === K_NORMAL ? 0 : k === K_ZERO ? 1 : 2;
  }
  private signOf(p: number): number { return this.rawValid[p] ? this.rawSE[p] >>> 15 : signBit(this.st[p]); }
  /** SNaN or unsupported encoding: raises #IA when used as an arithmetic operand. */
  private isSignaling(p: number): boolean {
    if (this.st[p] === this.st[p]) return false;
    return extClass(this.rawSE[p], this.rawHi[p], this.rawLo[p]) !== K_NAN || (this.rawHi[p] & 0x40000000) === 0;
  }

  private pop(): void { this.empty[this.top] = 1; this.top = (this.top + 1) & 7; }

  /** Sets exception flags; true when one of them is unmasked (the operation must not complete). */
  private exc(bits: number): boolean {
    this.sw |= bits;
    return (bits & ~this.cw & 0x3f) !== 0;
  }
  private updateSummary(): void {
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= ES | BUSY; else this.sw &= ~(ES | BUSY);
  }

  /** Stack underflow (#IS, SDM Vol. 1 §8.5.1.1): IE+SF, C1=0; masked: dst <- indefinite. */
  private underflow(dst: number): boolean {
    this.sw = (this.sw | IE | SF) & ~C1;
    if ((this.cw & IE) === 0) return false;
    if (dst >= 0) this.setIndefinite(dst);
    return true;
  }

  /** Checks room for a push. On overflow (#IS with C1=1) the masked response pushes the
   * indefinite; either way the caller must not push its value (returns false). */
  private pushOk(): boolean {
    const p = (this.top - 1) & 7;
    if (!this.empty[p]) {
      this.sw |= IE | SF | C1;
      if ((this.cw & IE) !== 0) { this.top = p; this.setIndefinite(p); }
      return false;
    }
    return true;
  }

  /**
   * NaN operands (SDM Vol. 1 §4.8.3.5, Table 4-7). Returns 0 when neither a nor b (b < 0: none)
   * is a NaN/unsupported; 1 when the NaN result was stored in dst; 2 when an unmasked #IA
   * suppressed it.
   */
  private nanOps(dst: number, a: number, b: number): number {
    const an = this.st[a] !== this.st[a], bn = b >= 0 && this.st[b] !== this.st[b];
    if (!an && !bn) return 0;
    if (((an && this.isSignaling(a)) || (bn && this.isSignaling(b))) && this.exc(IE)) return 2;
    const ua = an && this.classOf(a) === K_UNSUPPORTED, ub = bn && this.classOf(b) === K_UNSUPPORTED;
    if (ua || ub) { this.setIndefinite(dst); return 1; }
    let src = an ? a : b;
    if (an && bn) {
      const qa = (this.rawHi[a] & 0x40000000) !== 0, qb = (this.rawHi[b] & 0x40000000) !== 0;
      if (qa !== qb) src = qa ? a : b;
      else {
        // larger significand wins
        const ha = this.rawHi[a] & 0xbfffffff, hb = this.rawHi[b] & 0xbfffffff;
        src = ha > hb || (ha === hb && this.rawLo[a] >= this.rawLo[b]) ? a : b;
      }
    }
    this.copy(dst, src);
    this.rawHi[dst] |= 0x40000000; // quiet it
    return 1;
  }

  // ======================================================================================
  // Rounding and result delivery
  // ======================================================================================

  /** Rounds `r` (the host's round-to-nearest result, exact value on side `es`) per CW.RC;
   * sets roundedUp when the magnitude went up. `single`: r is a float32 value. */
  private roundRc(r: number, es: number, single: boolean): number {
    let up = false;
    switch ((this.cw >> 10) & 3) {
      case 0: up = (r > 0 && es < 0) || (r < 0 && es > 0); break;
      case 1: if (es < 0) r = single ? nextDown32(r) : nextDown(r); up = r < 0; break;
      case 2: if (es > 0) r = single ? nextUp32(r) : nextUp(r); up = r > 0; break;
      default:
        if (r > 0 && es < 0) r = single ? nextDown32(r) : nextDown(r);
        else if (r < 0 && es > 0) r = single ? nextUp32(r) : nextUp(r);
        break;
    }
    this.roundedUp = up;
    return r;
  }

  /** Masked overflow response (SDM Vol. 1 §4.9.1.4, Table 4-10). */
  private overflowValue(positive: boolean, max: number): number {
    let inf: boolean;
    switch ((this.cw >> 10) & 3) {
      case 0: inf = true; break;
      case 1: inf = !positive; break;
      case 2: inf = positive; break;
      default: inf = false; break;
    }
    this.roundedUp = inf;
    const v = inf ? Infinity : max;
    return positive ? v : -v;
  }

  /** Stores an arithmetic result with OE/UE/PE and C1 (SDM Vol. 1 §4.9.1.4-4.9.1.6). */
  private putRounded(dst: number, r: number, es: number, finiteIn: boolean): boolean {
    if (finiteIn && (r === Infinity || r === -Infinity)) {
      this.sw |= OE | PE;
      r = this.overflowValue(r > 0, DBL_MAX);
      if (this.roundedUp) this.sw |= C1;
      this.setValue(dst, r);
      return true;
    }
    if (es !== 0) {
      this.sw |= PE;
      r = this.roundRc(r, es, false);
      if (this.roundedUp) this.sw |= C1;
      if (r === Infinity || r === -Infinity) this.sw |= OE;
      // tiny and inexact: only the double's range lost bits here (extended would not).
      if (r > -MIN_NORMAL && r < MIN_NORMAL) this.sw |= UE;
    }
    this.setValue(dst, r);
    return true;
  }

  // ======================================================================================
  // Arithmetic
  // ======================================================================================

  /** dst <- st[x] op st[y] for ADD/MUL/SUB/DIV. Returns false when nothing was stored
   * (unmasked exception), so the P forms do not pop. */
  private arith(op: number, dst: number, x: number, y: number): boolean {
    if (this.empty[x] || this.empty[y]) return this.underflow(dst);
    const n = this.nanOps(dst, x, y);
    if (n !== 0) return n === 1;
    if (this.tmpDenormal && (x === TMP || y === TMP) && this.exc(DE)) return false;
    const a = this.st[x], b = this.st[y];
    let r: number, es: number;
    switch (op) {
      case OP_ADD: r = a + b; es = addErrSign(a, b, r); if (r === 0) r = this.zeroSum(a, b); break;
      case OP_SUB: r = a - b; es = addErrSign(a, -b, r); if (r === 0) r = this.zeroSum(a, -b); break;
      case OP_MUL: r = a * b; es = mulErrSign(a, b, r); break;
      default:
        r = a / b;
        if (b === 0 && a === a && a !== 0 && a !== Infinity && a !== -Infinity) {
          // Divide-by-zero (#Z): masked result is a correctly signed infinity.
          if (this.exc(ZE)) return false;
          this.setValue(dst, r);
          return true;
        }
        es = divErrSign(a, b, r);
        break;
    }
    if (r !== r) { // inf-inf, 0*inf, 0/0, inf/inf: invalid operation (#IA)
      if (this.exc(IE)) return false;
      this.setIndefinite(dst);
      return true;
    }
    return this.putRounded(dst, r, es, a !== Infinity && a !== -Infinity && b !== Infinity && b !== -Infinity);
  }

  /** Sign of an exact zero sum a + b: -0 when both are -0, or, rounding down, unless both are
   * +0 (IEEE 754 §6.3, as the SDM's FADD/FSUB tables show for RC = down). */
  private zeroSum(a: number, b: number): number {
    const na = signBit(a), nb = signBit(b);
    if (na & nb) return -0;
    return ((this.cw >> 10) & 3) === 1 && (na | nb | (a !== 0 ? 1 : 0)) !== 0 ? -0 : 0;
  }

  /**
   * Compares st[a] with st[b] (FCOM/FUCOM/FICOM/FTST/FCOMI; SDM Vol. 2A FCOM). Returns 0 for
   * a > b, 1 for a < b, 2 for equal, 3 for unordered, -1 when an unmasked #IA suppresses the
   * result. `quiet`: QNaNs compare unordered without #IA (FUCOM).
   */
  private compare(a: number, b: number, quiet: boolean): number {
    if (this.empty[a] || this.empty[b]) return this.underflow(-1) ? 3 : -1;
    const x = this.st[a], y = this.st[b];
    if (x !== x || y !== y) {
      const signal = !quiet || (x !== x && this.isSignaling(a)) || (y !== y && this.isSignaling(b));
      if (signal && this.exc(IE)) return -1;
      return 3;
    }
    if (this.tmpDenormal && (a === TMP || b === TMP) && this.exc(DE)) return -1;
    return x > y ? 0 : x < y ? 1 : 2;
  }

  /** C3 C2 C0 from a comparison result: > 000, < 001, = 100, unordered 111. */
  private setCC(k: number): void {
    if (k < 0) return;
    const cc = k === 0 ? 0 : k === 1 ? C0 : k === 2 ? C3 : C3 | C2 | C0;
    this.sw = (this.sw & ~CC_ALL) | cc;
  }

  /** FCOMI/FUCOMI(P): ZF PF CF like C3 C2 C0; OF SF AF cleared (SDM Vol. 2A FCOMI). */
  private fcomi(c: Cpu, si: number, quiet: boolean, popAfter: boolean): void {
    const k = this.compare(this.top, si, quiet);
    if (k < 0) return;
    const v = k === 0 ? 0 : k === 1 ? Flag.CF : k === 2 ? Flag.ZF : Flag.ZF | Flag.PF | Flag.CF;
    c.setArith(Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF, v);
    if (popAfter) this.pop();
  }

  /** FCOMPP (quiet=false) / FUCOMPP (quiet=true): compare ST(0) with ST(1), pop twice. */
  private fucompp(quiet: boolean): void {
    const k = this.compare(this.top, (this.top + 1) & 7, quiet);
    if (k < 0) return;
    this.setCC(k); this.pop(); this.pop();
  }

  private fcmovCond(c: Cpu, r: number): boolean {
    switch (r & 3) {
      case 0: return c.cf() !== 0; // B
      case 1: return c.zf(); // E
      case 2: return c.cf() !== 0 || c.zf(); // BE
      default: return c.pf(); // U
    }
  }
  /** FCMOVcc ST(0), ST(i) (SDM Vol. 2A FCMOVcc). */
  private fcmov(si: number, cond: boolean): void {
    const p = this.top;
    if (this.empty[p] || this.empty[si]) { this.underflow(p); return; }
    if (cond) this.copy(p, si);
  }

  private fxch(si: number): void {
    const p = this.top;
    if (this.empty[p] || this.empty[si]) {
      if (!this.underflow(-1)) return;
      if (this.empty[p]) this.setIndefinite(p);
      if (this.empty[si]) this.setIndefinite(si);
    }
    this.copy(TMP, p); this.copy(p, si); this.copy(si, TMP);
  }

  private fldReg(si: number): void {
    if (!this.pushOk()) return;
    const p = (this.top - 1) & 7;
    if (this.empty[si]) { if (this.underflow(-1)) { this.top = p; this.setIndefinite(p); } return; }
    this.copy(TMP, si);
    this.top = p;
    this.copy(p, TMP);
  }

  /** FST/FSTP ST(i). */
  private fstReg(si: number, popAfter: boolean): void {
    const p = this.top;
    if (this.empty[p]) { if (!this.underflow(si)) return; } else this.copy(si, p);
    if (popAfter) this.pop();
  }

  /** Pushes TMP (FLD m32fp/m64fp/m80fp, FILD, FBLD). `checkSignaling`: m32fp/m64fp SNaNs
   * raise #IA and are quieted; denormals raise #D (SDM Vol. 2A FLD). */
  private fldTmp(checkSignaling: boolean): void {
    if (!this.pushOk()) return;
    if (checkSignaling) {
      if (this.isSignaling(TMP)) { if (this.exc(IE)) return; this.rawHi[TMP] |= 0x40000000; }
      else if (this.tmpDenormal && this.exc(DE)) return;
    }
    this.top = (this.top - 1) & 7;
    this.copy(this.top, TMP);
  }

  private fldConst(k: number): void {
    if (!this.pushOk()) return;
    this.top = (this.top - 1) & 7;
    let lo = CONST_LO[k];
    const adj = CONST_ADJ[k], rc = (this.cw >> 10) & 3;
    if (adj < 0 && (rc === 1 || rc === 3)) lo -= 1;
    else if (adj > 0 && rc === 2) lo += 1;
    this.setRaw(this.top, CONST_SE[k], CONST_HI[k], lo >>> 0);
  }

  private fxam(): void {
    const p = this.top;
    let cc: number;
    if (this.empty[p]) cc = C3 | C0;
    else {
      switch (this.classOf(p)) {
        case K_UNSUPPORTED: cc = 0; break;
        case K_NAN: cc = C0; break;
        case K_NORMAL: cc = C2; break;
        case K_INF: cc = C2 | C0; break;
        case K_ZERO: cc = C3; break;
        default: cc = C3 | C2; break; // denormal
      }
    }
    if (this.signOf(p)) cc |= C1;
    this.sw = (this.sw & ~CC_ALL) | cc;
  }

  // ---- One-operand instructions on ST(0)

  /** Common prologue: false when ST(0) was empty or a NaN (result already handled). */
  private unaryPrologue(p: number): boolean {
    if (this.empty[p]) { this.underflow(p); return false; }
    if (this.st[p] !== this.st[p]) { this.nanOps(p, p, -1); return false; }
    return true;
  }

  private fsqrt(): void {
    const p = this.top;
    if (!this.unaryPrologue(p)) return;
    const x = this.st[p];
    if (x < 0) { if (!this.exc(IE)) this.setIndefinite(p); return; } // -0 passes: sqrt(-0) = -0
    if (x === 0 || x === Infinity) return;
    const r = Math.sqrt(x);
    this.putRounded(p, r, sqrtErrSign(x, r), true);
  }

  private frndint(): void {
    const p = this.top;
    if (!this.unaryPrologue(p)) return;
    const x = this.st[p];
    if (x === 0 || x === Infinity || x === -Infinity) return;
    this.extOf(p);
    const se = extSE, hi = extHi, lo = extLo;
    if ((se & 0x7fff) - 16383 >= 63) return; // already an integer
    extToInt(se, hi, lo, (this.cw >> 10) & 3);
    if (intInexact) {
      this.sw |= PE;
      if (intUp) this.sw |= C1;
    }
    int64ToExt(intNeg, intHi, intLo);
    this.setRaw(p, extSE, extHi, extLo);
  }

  /** F2XM1: ST(0) <- 2^ST(0) - 1, defined for -1 <= ST(0) <= 1 (SDM Vol. 2A F2XM1). */
  private f2xm1(): void {
    const p = this.top;
    if (!this.unaryPrologue(p)) return;
    const x = this.st[p];
    if (x === 0 || x === Infinity) return;
    if (x === -Infinity) { this.setValue(p, -1); return; }
    // pow is accurate away from 0 (2^x - 1 is then exact by Sterbenz for x in [-1, 1]);
    // expm1 avoids the cancellation near 0.
    const r = x >= 0.25 || x <= -0.25 ? Math.pow(2, x) - 1 : Math.expm1(x * Math.LN2);
    if (!Number.isInteger(x)) this.sw |= PE;
    this.setValue(p, r);
  }

  /** FSIN (0), FCOS (1), FPTAN (2), FSINCOS (3): C2=1 and no change when |x| >= 2^63. */
  private trig(k: number): void {
    const p = this.top;
    const pushes = k >= 2;
    if (this.empty[p]) {
      if (this.underflow(p) && pushes && this.pushOk()) { this.top = (this.top - 1) & 7; this.setIndefinite(this.top); }
      return;
    }
    const x = this.st[p];
    if (x !== x) {
      if (pushes && !this.empty[(this.top - 1) & 7]) { this.pushOk(); return; }
      if (this.nanOps(p, p, -1) === 1 && pushes) { this.copy(TMP, p); this.top = (this.top - 1) & 7; this.copy(this.top, TMP); }
      return;
    }
    if (x === Infinity || x === -Infinity) {
      if (this.exc(IE)) return;
      this.setIndefinite(p);
      if (pushes && this.pushOk()) { this.top = (this.top - 1) & 7; this.setIndefinite(this.top); }
      return;
    }
    if (x >= TWO63 || x <= -TWO63) { this.sw |= C2; return; }
    if (pushes && !this.pushOk()) return;
    this.sw &= ~C2;
    if (x !== 0) this.sw |= PE;
    switch (k) {
      case 0: this.setValue(p, Math.sin(x)); return;
      case 1: this.setValue(p, Math.cos(x)); return;
      case 2: this.setValue(p, Math.tan(x)); this.top = (this.top - 1) & 7; this.setValue(this.top, 1); return;
      default: {
        const s = Math.sin(x), co = Math.cos(x);
        this.setValue(p, s); this.top = (this.top - 1) & 7; this.setValue(this.top, co);
      }
    }
  }

  /** Two-operand instructions that write ST(1) and pop: prologue as for arith. */
  private binaryPopPrologue(): boolean {
    const p0 = this.top, p1 = (this.top + 1) & 7;
    if (this.empty[p0] || this.empty[p1]) { if (this.underflow(p1)) this.pop(); return false; }
    const n = this.nanOps(p1, p1, p0);
    if (n !== 0) { if (n === 1) this.pop(); return false; }
    return true;
  }

  /** FPATAN: ST(1) <- arctan(ST(1)/ST(0)), pop (SDM Vol. 2A FPATAN; atan2 conventions). */
  private fpatan(): void {
    if (!this.binaryPopPrologue()) return;
    const p1 = (this.top + 1) & 7;
    const y = this.st[p1], x = this.st[this.top];
    const r = Math.atan2(y, x);
    if (r !== 0) this.sw |= PE;
    this.setValue(p1, r);
    this.pop();
  }

  /** FYL2X: ST(1) <- ST(1)*log2(ST(0)); FYL2XP1: ST(1) <- ST(1)*log2(ST(0)+1); pop. */
  private fyl2x(plus1: boolean): void {
    if (!this.binaryPopPrologue()) return;
    const p1 = (this.top + 1) & 7;
    const x = this.st[this.top], y = this.st[p1];
    let r: number;
    if (plus1) {
      if (x < -1) { if (this.exc(IE)) return; this.setIndefinite(p1); this.pop(); return; }
      r = y * (Math.log1p(x) / Math.LN2);
    } else {
      if (x < 0) { if (this.exc(IE)) return; this.setIndefinite(p1); this.pop(); return; }
      if (x === 0 && y !== 0 && y === y && y !== Infinity && y !== -Infinity) {
        if (this.exc(ZE)) return; // log2(0) = -inf
      }
      const l = Math.log2(x);
      r = y * l;
      // exact only for powers of two with an exact product
      if (r === r && r !== 0 && r !== Infinity && r !== -Infinity && Number.isInteger(l) && mulErrSign(y, l, r) === 0) {
        this.setValue(p1, r); this.pop(); return;
      }
    }
    if (r !== r) { if (this.exc(IE)) return; this.setIndefinite(p1); this.pop(); return; }
    if (r !== 0 && r !== Infinity && r !== -Infinity) this.sw |= PE;
    this.setValue(p1, r);
    this.pop();
  }

  /** FSCALE: ST(0) <- ST(0) * 2^trunc(ST(1)) (SDM Vol. 2A FSCALE and its table of special operands). */
  private fscale(): void {
    const p0 = this.top, p1 = (this.top + 1) & 7;
    if (this.empty[p0] || this.empty[p1]) { this.underflow(p0); return; }
    if (this.nanOps(p0, p0, p1) !== 0) return;
    const x = this.st[p0], s = this.st[p1];
    if (s === Infinity || s === -Infinity) {
      // 0 * 2^+inf and inf * 2^-inf are invalid; otherwise the result is inf or 0 of x's sign.
      if ((s > 0 && x === 0) || (s < 0 && (x === Infinity || x === -Infinity))) {
        if (!this.exc(IE)) this.setIndefinite(p0);
        return;
      }
      if (x === 0 || x === Infinity || x === -Infinity) return;
      this.setValue(p0, s > 0 ? (x > 0 ? Infinity : -Infinity) : (x > 0 ? 0 : -0));
      return;
    }
    if (x === 0 || x === Infinity || x === -Infinity) return;
    let n = Math.trunc(s);
    if (n > 100000) n = 100000; else if (n < -100000) n = -100000;
    const r = ldexp(x, n);
    let es = 0;
    if (r === 0) es = x > 0 ? 1 : -1;
    else if (r !== Infinity && r !== -Infinity) es = sgn(x - ldexp(r, -n));
    this.putRounded(p0, r, es, true);
  }

  /** FXTRACT: ST(0) <- exponent, push significand (SDM Vol. 2A FXTRACT). */
  private fxtract(): void {
    const p = this.top;
    if (this.empty[p]) {
      if (this.underflow(p) && this.pushOk()) { this.top = (this.top - 1) & 7; this.setIndefinite(this.top); }
      return;
    }
    if (!this.empty[(this.top - 1) & 7]) { this.pushOk(); return; }
    const x = this.st[p];
    if (x !== x) {
      if (this.nanOps(p, p, -1) === 1) { this.copy(TMP, p); this.top = (this.top - 1) & 7; this.copy(this.top, TMP); }
      return;
    }
    if (x === 0) {
      if (this.exc(ZE)) return;
      this.copy(TMP, p);
      this.setValue(p, -Infinity);
      this.top = (this.top - 1) & 7; this.copy(this.top, TMP);
      return;
    }
    if (x === Infinity || x === -Infinity) {
      this.setValue(p, Infinity);
      this.top = (this.top - 1) & 7; this.setValue(this.top, x);
      return;
    }
    // Exact from the 80-bit form: normalize (extended denormals too), exponent unbiased.
    this.extOf(p);
    let e = extSE & 0x7fff, hi = extHi, lo = extLo;
    if (e === 0) {
      const s = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
      if (s >= 32) { hi = (lo << (s - 32)) >>> 0; lo = 0; } else if (s > 0) { hi = ((hi << s) | (lo >>> (32 - s))) >>> 0; lo = (lo << s) >>> 0; }
      e = 1 - s;
    }
    const sign = extSE & 0x8000;
    this.setValue(p, e - 16383);
    this.top = (this.top - 1) & 7;
    this.setRaw(this.top, sign | 0x3fff, hi, lo);
  }

  /**
   * FPREM (truncating quotient) / FPREM1 (IEEE round-to-nearest quotient), SDM Vol. 2A FPREM.
   * When the exponent difference D >= 64 the reduction is partial (C2=1): ST(0) is reduced by
   * ST(1)*2^(D-N), N = 32 + D mod 32. Otherwise C2=0 and C0, C3, C1 = quotient bits Q2, Q1, Q0.
   */
  private fprem(ieee: boolean): void {
    const p0 = this.top, p1 = (this.top + 1) & 7;
    if (this.empty[p0] || this.empty[p1]) { this.underflow(p0); return; }
    if (this.nanOps(p0, p0, p1) !== 0) return;
    const a = this.st[p0], b = this.st[p1];
    if (a === Infinity || a === -Infinity || b === 0) { if (!this.exc(IE)) this.setIndefinite(p0); return; }
    this.sw &= ~CC_ALL;
    if (a === 0 || b === Infinity || b === -Infinity) return; // unchanged, quotient 0
    const D = expOf(a) - expOf(b);
    if (D >= 64) {
      const sh = D - (32 + (D % 32));
      this.setValue(p0, a % ldexp(Math.abs(b), sh));
      this.sw |= C2;
      return;
    }
    const ab = Math.abs(b);
    let r = a % b; // exact (fmod)
    const r8 = Math.abs(a) % (8 * ab);
    let q = Math.round((r8 - Math.abs(r)) / ab) & 7;
    if (ieee) {
      const ar = Math.abs(r), h = ab - ar;
      if (ar > h || (ar === h && (q & 1) !== 0)) { r = a > 0 ? r - ab : r + ab; q = (q + 1) & 7; }
    }
    this.setValue(p0, r);
    if (q & 4) this.sw |= C0;
    if (q & 2) this.sw |= C3;
    if (q & 1) this.sw |= C1;
  }

  // ======================================================================================
  // Memory operand loads
  // ======================================================================================

  /** m32fp into slot (SDM Vol. 1 §4.2.2): NaNs keep their payload in the raw form. */
  private loadF32(v: number, slot: number): void {
    const e = (v >>> 23) & 0xff, mant = v & 0x7fffff;
    this.tmpDenormal = e === 0 && mant !== 0;
    if (e === 0xff && mant !== 0) { this.setRaw(slot, ((v >>> 16) & 0x8000) | 0x7fff, (0x80000000 | (mant << 8)) >>> 0, 0); return; }
    this.setValue(slot, f32From(v));
  }
  private loadF64(lo: number, hi: number, slot: number): void {
    const e = (hi >>> 20) & 0x7ff, mh = hi & 0xfffff;
    this.tmpDenormal = e === 0 && (mh | lo) !== 0;
    if (e === 0x7ff && (mh | lo) !== 0) {
      this.setRaw(slot, ((hi >>> 16) & 0x8000) | 0x7fff, (0x80000000 | (mh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
      return;
    }
    this.setValue(slot, dblFrom(hi, lo));
  }

  // ======================================================================================
  // Memory operand stores (memory is written before any FPU state changes, so a fault on the
  // write leaves the FPU as it was)
  // ======================================================================================

  /** Source check for stores: false when an unmasked stack underflow suppresses the store. */
  private storeSource(p: number): number {
    // 0: value, 1: masked underflow (store indefinite), 2: unmasked underflow (nothing)
    if (!this.empty[p]) return 0;
    return (this.cw & IE) !== 0 ? 1 : 2;
  }

  /** Finishes a store: flags, then pop. */
  private storeDone(flags: number, popAfter: boolean): void {
    this.sw |= flags;
    if (popAfter) this.pop();
  }

  private storeF32(c: Cpu, popAfter: boolean): void {
    const p = this.top;
    let flags = 0, bits: number;
    const src = this.storeSource(p);
    if (src === 2) { this.underflow(-1); return; }
    if (src === 1) { flags = IE | SF; bits = 0xffc00000; this.sw &= ~C1; }
    else if (this.st[p] !== this.st[p]) {
      if (this.isSignaling(p)) { if (this.exc(IE)) return; }
      bits = this.classOf(p) === K_UNSUPPORTED ? 0xffc00000
        : ((this.rawSE[p] & 0x8000) << 16) | 0x7fc00000 | ((this.rawHi[p] >>> 8) & 0x7fffff);
    } else {
      const x = this.st[p];
      let f = Math.fround(x);
      if (f !== x && x === x) {
        if ((f === Infinity || f === -Infinity) && x !== f) {
          if (this.exc(OE | PE) && (this.cw & OE) === 0) return; // unmasked #O: nothing stored
          f = this.overflowValue(x > 0, FLT_MAX);
          flags |= OE | PE;
        } else {
          f = this.roundRc(f, x > f ? 1 : -1, true);
          flags |= PE;
          if (f === Infinity || f === -Infinity) flags |= OE;
          if (f > -FLT_MIN_NORMAL && f < FLT_MIN_NORMAL) {
            flags |= UE;
            if ((this.cw & UE) === 0) { this.sw |= UE | PE; return; } // unmasked #U: no store
          }
        }
        if (this.roundedUp) flags |= C1;
      } else if (this.rawValid[p] && this.rawInexact(p)) flags |= PE;
      bits = f32Bits(f);
    }
    this.bus.write32(this.aSeg, this.aOff, bits);
    this.storeDone(flags, popAfter);
  }

  /** True when the register's exact 80-bit value differs from its double (lost bits). */
  private rawInexact(p: number): boolean {
    const se = this.rawSE[p], hi = this.rawHi[p], lo = this.rawLo[p];
    toExt(this.st[p]);
    return extSE !== se || extHi !== hi || extLo !== lo;
  }

  private storeF64(c: Cpu, popAfter: boolean): void {
    const p = this.top;
    let flags = 0, hi: number, lo: number;
    const src = this.storeSource(p);
    if (src === 2) { this.underflow(-1); return; }
    if (src === 1) { flags = IE | SF; hi = 0xfff80000; lo = 0; this.sw &= ~C1; }
    else if (this.st[p] !== this.st[p]) {
      if (this.isSignaling(p)) { if (this.exc(IE)) return; }
      if (this.classOf(p) === K_UNSUPPORTED) { hi = 0xfff80000; lo = 0; }
      else {
        const rh = this.rawHi[p], rl = this.rawLo[p];
        hi = ((this.rawSE[p] & 0x8000) << 16) | 0x7ff80000 | ((rh >>> 11) & 0xfffff);
        lo = (rh << 21) | (rl >>> 11);
      }
    } else {
      let x = this.st[p];
      if (this.rawValid[p] && this.rawInexact(p)) {
        // An exact 80-bit value (FLD m80fp etc.) that does not fit a double.
        const e = this.rawSE[p] & 0x7fff;
        if ((x === Infinity || x === -Infinity) && e !== 0x7fff) {
          if (this.exc(OE | PE) && (this.cw & OE) === 0) return;
          x = this.overflowValue(x > 0, DBL_MAX);
          flags |= OE | PE;
          if (this.roundedUp) flags |= C1;
        } else {
          flags |= PE;
          if (x > -MIN_NORMAL && x < MIN_NORMAL) {
            flags |= UE;
            if ((this.cw & UE) === 0) { this.sw |= UE | PE; return; }
          }
        }
      }
      hi = dblHi(x); lo = dblLo();
    }
    this.bus.checkWrite(this.aSeg, this.aOff, 8);
    this.bus.write32(this.aSeg, this.aOff, lo);
    this.bus.write32(this.aSeg, this.aOff + 4, hi);
    this.storeDone(flags, popAfter);
  }

  /** FSTP m80fp: exact, no exceptions but stack underflow (SDM Vol. 2A FST/FSTP). */
  private storeF80(): void {
    const p = this.top;
    let flags = 0;
    const src = this.storeSource(p);
    if (src === 2) { this.underflow(-1); return; }
    if (src === 1) { flags = IE | SF; extSE = 0xffff; extHi = 0xc0000000; extLo = 0; this.sw &= ~C1; }
    else this.extOf(p);
    const se = extSE, hi = extHi, lo = extLo;
    this.bus.checkWrite(this.aSeg, this.aOff, 10);
    this.bus.write32(this.aSeg, this.aOff, lo);
    this.bus.write32(this.aSeg, this.aOff + 4, hi);
    this.bus.write16(this.aSeg, this.aOff + 8, se);
    this.storeDone(flags, true);
  }

  /** FIST/FISTP m16int/m32int/m64int with CW.RC (SDM Vol. 2A FIST/FISTP): out of range, NaN
   * and infinity give #IA, masked: the integer indefinite (the most negative integer). */
  private storeInt(c: Cpu, bytes: number, popAfter: boolean): void {
    const p = this.top;
    let flags = 0, hi = 0, lo = 0;
    const src = this.storeSource(p);
    if (src === 2) { this.underflow(-1); return; }
    let indefinite = src === 1;
    if (indefinite) { flags = IE | SF; this.sw &= ~C1; }
    else {
      const k = this.classOf(p);
      if (k === K_NAN || k === K_INF || k === K_UNSUPPORTED) indefinite = true;
      else {
        this.extOf(p);
        if (!extToInt(extSE, extHi, extLo, (this.cw >> 10) & 3) || !intFits(bytes)) indefinite = true;
        else {
          if (intInexact) flags |= PE | (intUp ? C1 : 0);
          hi = intHi; lo = intLo;
          if (intNeg) { lo = (~lo + 1) >>> 0; hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0; }
        }
      }
      if (indefinite) { if (this.exc(IE)) return; flags |= IE; }
    }
    if (indefinite) { hi = 0x80000000; lo = bytes === 2 ? 0x8000 : 0x80000000; if (bytes === 8) lo = 0; }
    const seg = this.aSeg, off = this.aOff;
    if (bytes === 2) this.bus.write16(seg, off, lo);
    else if (bytes === 4) this.bus.write32(seg, off, lo);
    else { this.bus.checkWrite(seg, off, 8); this.bus.write32(seg, off, lo); this.bus.write32(seg, off + 4, hi); }
    this.storeDone(flags, popAfter);
  }

  /** FBLD: 18 packed BCD digits and a sign byte (SDM Vol. 1 §4.7; Vol. 2A FBLD). Invalid
   * digits give an undefined result (here: their binary value is used). */
  private fbld(): void {
    const seg = this.aSeg, off = this.aOff;
    const w0 = this.bus.read32(seg, off), w1 = this.bus.read32(seg, off + 4), w2 = this.bus.read16(seg, off + 8);
    let lo9 = 0, hi9 = 0;
    for (let j = 8; j >= 0; j--) {
      const b = j < 4 ? (w0 >>> (8 * j)) & 0xff : j < 8 ? (w1 >>> (8 * (j - 4))) & 0xff : w2 & 0xff;
      const d = (b >> 4) * 10 + (b & 0xf);
      if (j >= 5) hi9 = hi9 * 100 + d;
      else if (j === 4) { hi9 = hi9 * 10 + (b >> 4); lo9 = b & 0xf; }
      else lo9 = lo9 * 100 + d;
    }
    // BigInt only here: 18 digits exceed 2^53.
    const v = BigInt(hi9) * 1000000000n + BigInt(lo9);
    int64ToExt((w2 & 0x8000) !== 0, Number(v >> 32n), Number(v & 0xffffffffn));
    this.setRaw(TMP, extSE, extHi, extLo);
    this.fldTmp(false);
  }

  /** FBSTP: round with RC, store 18 BCD digits, pop. |value| >= 10^18, NaN, infinity: #IA,
   * masked: the packed BCD indefinite FFFF C000 0000 0000 0000. */
  private fbstp(): void {
    const p = this.top;
    let flags = 0;
    const src = this.storeSource(p);
    if (src === 2) { this.underflow(-1); return; }
    let indefinite = src === 1;
    BCD.fill(0);
    if (indefinite) { flags = IE | SF; this.sw &= ~C1; }
    else {
      const k = this.classOf(p);
      if (k === K_NAN || k === K_INF || k === K_UNSUPPORTED) indefinite = true;
      else {
        this.extOf(p);
        if (!extToInt(extSE, extHi, extLo, (this.cw >> 10) & 3)) indefinite = true;
        else {
          // magnitude / 10^9 by long division over 16-bit chunks (exact in doubles)
          let rem = 0, q = 0;
          for (let j = 0; j < 4; j++) {
            const chunk = j === 0 ? intHi >>> 16 : j === 1 ? intHi & 0xffff : j === 2 ? intLo >>> 16 : intLo & 0xffff;
            const cur = rem * 65536 + chunk;
            const qd = Math.floor(cur / 1e9);
            rem = cur - qd * 1e9;
            q = q * 65536 + qd;
          }
          if (q >= 1e9) indefinite = true;
          else {
            if (intInexact) flags |= PE | (intUp ? C1 : 0);
            let lo9 = rem, hi9 = q;
            for (let d = 0; d < 18; d++) {
              let digit: number;
              if (d < 9) { digit = lo9 % 10; lo9 = (lo9 - digit) / 10; } else { digit = hi9 % 10; hi9 = (hi9 - digit) / 10; }
              BCD[d >> 1] |= (d & 1) !== 0 ? digit << 4 : digit;
            }
            if (intNeg) BCD[9] = 0x80;
          }
        }
      }
      if (indefinite) { if (this.exc(IE)) return; flags |= IE; }
    }
    if (indefinite) { BCD.fill(0); BCD[7] = 0xc0; BCD[8] = 0xff; BCD[9] = 0xff; }
    const seg = this.aSeg, off = this.aOff;
    this.bus.checkWrite(seg, off, 10);
    this.bus.write32(seg, off, BCD[0] | (BCD[1] << 8) | (BCD[2] << 16) | (BCD[3] << 24));
    this.bus.write32(seg, off + 4, BCD[4] | (BCD[5] << 8) | (BCD[6] << 16) | (BCD[7] << 24));
    this.bus.write16(seg, off + 8, BCD[8] | (BCD[9] << 8));
    this.storeDone(flags, true);
  }

  // ======================================================================================
  // Environment and state (SDM Vol. 1 §8.1.10, Figures 8-9..8-12; Vol. 2A FSTENV/FSAVE)
  // ======================================================================================

  /** Fills img with the environment in the current mode and operand size; returns bytes. */
  private buildEnv(c: Cpu): number {
    const img = this.img, sw = this.statusWord, tw = this.tagWord;
    const pm = c.protectedMode() && !c.v86();
    if (c.os32) {
      // 28 bytes; reserved upper halves are stored as ones.
      img[0] = this.cw; img[1] = 0xffff; img[2] = sw; img[3] = 0xffff; img[4] = tw; img[5] = 0xffff;
      if (pm) {
        img[6] = this.fip; img[7] = this.fip >>> 16;
        img[8] = this.fcs; img[9] = this.fop & 0x7ff;
        img[10] = this.fdp; img[11] = this.fdp >>> 16;
        img[12] = this.fds; img[13] = 0xffff;
      } else {
        const ip = ((this.fcs << 4) + this.fip) >>> 0, dp = ((this.fds << 4) + this.fdp) >>> 0;
        img[6] = ip; img[7] = 0xffff;
        img[8] = ((ip >>> 4) & 0xf000) | (this.fop & 0x7ff); img[9] = ip >>> 20;
        img[10] = dp; img[11] = 0xffff;
        img[12] = (dp >>> 4) & 0xf000; img[13] = dp >>> 20;
      }
      return 28;
    }
    img[0] = this.cw; img[1] = sw; img[2] = tw;
    if (pm) { img[3] = this.fip; img[4] = this.fcs; img[5] = this.fdp; img[6] = this.fds; }
    else {
      const ip = ((this.fcs << 4) + this.fip) >>> 0, dp = ((this.fds << 4) + this.fdp) >>> 0;
      img[3] = ip; img[4] = ((ip >>> 4) & 0xf000) | (this.fop & 0x7ff);
      img[5] = dp; img[6] = (dp >>> 4) & 0xf000;
    }
    return 14;
  }

  /** Loads CW, SW (with TOP), tags and pointers from img (read from memory already). */
  private applyEnv(c: Cpu): number {
    const img = this.img;
    const pm = c.protectedMode() && !c.v86();
    let tw: number;
    if (c.os32) {
      this.cw = img[0]; this.sw = img[2]; tw = img[4];
      if (pm) {
        this.fip = (img[6] | (img[7] << 16)) >>> 0; this.fcs = img[8]; this.fop = img[9] & 0x7ff;
        this.fdp = (img[10] | (img[11] << 16)) >>> 0; this.fds = img[12];
      } else {
        this.fip = (img[6] | (((img[8] | (img[9] << 16)) & 0x0ffff000) << 4)) >>> 0; this.fcs = 0; this.fop = img[8] & 0x7ff;
        this.fdp = (img[10] | (((img[12] | (img[13] << 16)) & 0x0ffff000) << 4)) >>> 0; this.fds = 0;
      }
    } else {
      this.cw = img[0]; this.sw = img[1]; tw = img[2];
      if (pm) { this.fip = img[3]; this.fcs = img[4]; this.fdp = img[5]; this.fds = img[6]; this.fop = 0; }
      else {
        this.fip = (img[3] | ((img[4] & 0xf000) << 4)) >>> 0; this.fcs = 0; this.fop = img[4] & 0x7ff;
        this.fdp = (img[5] | ((img[6] & 0xf000) << 4)) >>> 0; this.fds = 0;
      }
    }
    this.fipHi = 0; this.fdpHi = 0; // the 14/28-byte images carry 32-bit pointers
    this.cw = (this.cw & 0x1f3f) | 0x40;
    this.top = (this.sw >> 11) & 7;
    this.sw &= ~TOP_BITS;
    // Only "empty" is taken from the image; other tags follow the register contents.
    for (let p = 0; p < 8; p++) this.empty[p] = ((tw >> (2 * p)) & 3) === 3 ? 1 : 0;
    this.updateSummary();
    return c.os32 ? 28 : 14;
  }

  private readImg(c: Cpu, words: number): void {
    const seg = this.aSeg, off = this.aOff;
    for (let k = 0; k < words; k++) this.img[k] = this.bus.read16(seg, off + 2 * k);
  }
  private writeImg(c: Cpu, bytes: number): void {
    const seg = this.aSeg, off = this.aOff;
    this.bus.checkWrite(seg, off, bytes);
    for (let k = 0; k < bytes >> 1; k++) this.bus.write16(seg, off + 2 * k, this.img[k]);
  }

  private fnstenv(c: Cpu): void {
    this.writeImg(c, this.buildEnv(c));
    this.cw |= 0x3f; // FSTENV masks all exceptions after saving
  }

  private fldenv(c: Cpu): void {
    this.readImg(c, c.os32 ? 14 : 7);
    this.applyEnv(c);
  }

  private fnsave(c: Cpu): void {
    const n = this.buildEnv(c) >> 1;
    const img = this.img;
    for (let i = 0; i < 8; i++) {
      this.extOf((this.top + i) & 7);
      const w = n + 5 * i;
      img[w] = extLo; img[w + 1] = extLo >>> 16; img[w + 2] = extHi; img[w + 3] = extHi >>> 16; img[w + 4] = extSE;
    }
    this.writeImg(c, 2 * n + 80);
    this.reset(); // FSAVE then initializes the FPU (as FNINIT)
  }

  /** MXCSR as FXSAVE/FXRSTOR keep it (no SSE execution units are modelled). */
  mxcsr = 0x1f80;

  /**
   * FXSAVE (SDM Vol. 2A FXSAVE, Vol. 1 §10.5.1 Table 10-2): the 512-byte image at seg:off,
   * 16-byte aligned. x87 state, abridged tag byte, MXCSR and its mask; XMM registers (none
   * modelled) stored as zero. `bus` and `wide` as for saveX87Legacy.
   */
  fxsave(c: Cpu, seg: number, off: number, bus: X87Bus = c, wide = false): void {
    bus.checkWrite(seg, off, 512);
    this.saveX87Legacy(c, seg, off, bus, wide);
    bus.write32(seg, off + 24, this.mxcsr); bus.write32(seg, off + 28, 0xffbf);
    for (let o = 160; o < 288; o += 4) bus.write32(seg, off + o, 0);
  }

  /** The x87 part of the FXSAVE/XSAVE legacy region (SDM Vol. 1 §13.4.1: state component 0 is
   *  bytes 0-23 and 32-159; MXCSR in bytes 24-31 belongs to components 1 and 2). Bytes 8-23
   *  (SDM Vol. 1 §10.5.1.1): FIP[31:0], FCS, FDP[31:0], FDS; with `wide` (FXSAVE64/XSAVE64,
   *  REX.W in 64-bit mode) the 64-bit FIP in bytes 15:8 and FDP in bytes 23:16. `bus` carries
   *  the accesses: the CPU's segmented ones, or 64-bit linear ones (long/fpu64.ts), where `off`
   *  is a linear address. */
  saveX87Legacy(c: Cpu, seg: number, off: number, bus: X87Bus = c, wide = false): void {
    const tw = this.tagWord;
    let abridged = 0;
    for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== 3) abridged |= 1 << p;
    bus.write16(seg, off, this.cw); bus.write16(seg, off + 2, this.statusWord);
    bus.write8(seg, off + 4, abridged); bus.write8(seg, off + 5, 0);
    bus.write16(seg, off + 6, this.fop & 0x7ff);
    if (wide) {
      bus.write32(seg, off + 8, this.fip); bus.write32(seg, off + 12, this.fipHi);
      bus.write32(seg, off + 16, this.fdp); bus.write32(seg, off + 20, this.fdpHi);
    } else {
      bus.write32(seg, off + 8, this.fip); bus.write16(seg, off + 12, this.fcs); bus.write16(seg, off + 14, 0);
      bus.write32(seg, off + 16, this.fdp); bus.write16(seg, off + 20, this.fds); bus.write16(seg, off + 22, 0);
    }
    for (let i = 0; i < 8; i++) {
      this.extOf((this.top + i) & 7);
      const o = off + 32 + 16 * i;
      bus.write32(seg, o, extLo); bus.write32(seg, o + 4, extHi); bus.write16(seg, o + 8, extSE);
      bus.write16(seg, o + 10, 0); bus.write32(seg, o + 12, 0);
    }
  }

  /** FXRSTOR: the inverse of fxsave; reserved MXCSR bits raise #GP(0). */
  fxrstor(c: Cpu, seg: number, off: number, bus: X87Bus = c, wide = false): void {
    bus.checkRead(seg, off, 512);
    const mx = bus.read32(seg, off + 24) >>> 0;
    if ((mx & ~0xffbf) !== 0) c.gp(0);
    this.restoreX87Legacy(c, seg, off, bus, wide);
    this.mxcsr = mx;
  }

  /** Loads the x87 part of a legacy region (the inverse of saveX87Legacy). The wide form loads
   *  64-bit FIP and FDP and leaves FCS and FDS as they are (the image has none). */
  restoreX87Legacy(c: Cpu, seg: number, off: number, bus: X87Bus = c, wide = false): void {
    this.cw = (bus.read16(seg, off) & 0x1f3f) | 0x40;
    const sw = bus.read16(seg, off + 2);
    this.top = (sw >> 11) & 7; this.sw = sw & ~TOP_BITS;
    const abridged = bus.read8(seg, off + 4);
    this.fop = bus.read16(seg, off + 6) & 0x7ff;
    this.fip = bus.read32(seg, off + 8) >>> 0; this.fdp = bus.read32(seg, off + 16) >>> 0;
    if (wide) { this.fipHi = bus.read32(seg, off + 12) | 0; this.fdpHi = bus.read32(seg, off + 20) | 0; }
    else { this.fcs = bus.read16(seg, off + 12); this.fds = bus.read16(seg, off + 20); this.fipHi = 0; this.fdpHi = 0; }
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7, o = off + 32 + 16 * i;
      this.setRaw(p, bus.read16(seg, o + 8), bus.read32(seg, o + 4) >>> 0, bus.read32(seg, o) >>> 0);
    }
    for (let p = 0; p < 8; p++) this.empty[p] = (abridged >> p) & 1 ? 0 : 1;
    this.updateSummary();
  }

  private frstor(c: Cpu): void {
    const n = (c.os32 ? 28 : 14) >> 1;
    this.readImg(c, n + 40);
    this.applyEnv(c);
    const img = this.img;
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7, w = n + 5 * i;
      const wasEmpty = this.empty[p];
      this.setRaw(p, img[w + 4], (img[w + 2] | (img[w + 3] << 16)) >>> 0, (img[w] | (img[w + 1] << 16)) >>> 0);
      this.empty[p] = wasEmpty;
    }
  }
}
