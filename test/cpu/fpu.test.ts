// x87 FPU tests: instruction bytes run through Cpu.step() in real mode (16-bit addressing with
// disp16 operands) or 32-bit protected mode; results are checked against known encodings and
// values (SDM Vol. 1 ch. 4 and 8). Encodings were checked with `nasm -f bin`.
import { describe, it, expect } from 'vitest';
import { Cpu } from '../../src/core/cpu/cpu';
import '../../src/core/cpu/fpu/rows';
import { Fpu } from '../../src/core/cpu/fpu/fpu';
import { FAULT } from '../../src/core/cpu/fault';
import { Flag, Seg } from '../../src/core/cpu/regs';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';

// Status word bits
const IE = 0x1, DE = 0x2, ZE = 0x4, OE = 0x8, UE = 0x10, PE = 0x20, SF = 0x40, ES = 0x80;
const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
const CC = C0 | C1 | C2 | C3;

/** Data offset used by memory operands (DS base 0 in real mode). */
const D = 0x8000;

interface M { c: Cpu; f: Fpu; mem: PhysicalMemory; dv: DataView }

function machine(): M {
  const mem = new PhysicalMemory(1 << 20);
  const c = new Cpu(mem, new IoBus());
  const f = new Fpu();
  c.fpu = f;
  c.cr0 = 0x60000010 | 0x20; // ET, NE: native #MF
  c.setSegReal(Seg.CS, 0x100, 0xffff, 0x9b);
  c.setSegReal(Seg.DS, 0, 0xffff, 0x93);
  c.eip = 0;
  return { c, f, mem, dv: new DataView(mem.buffer) };
}

/** 32-bit protected mode, flat-ish segments: CS selector 8 (base 0x80), DS selector 0x10 (base 0x100). */
function machine32(): M {
  const m = machine();
  m.c.cr0 |= 1;
  m.c.setSegReal(Seg.CS, 0x08, 0xffffffff, 0x409b);
  m.c.setSegReal(Seg.DS, 0x10, 0xffffffff, 0x4093);
  m.c.eip = 0x1000;
  return m;
}

/** Writes code at CS:EIP and executes it instruction by instruction. */
function run(m: M, ...code: number[][]): void {
  const bytes = code.flat();
  const start = m.c.eip;
  const lin = m.c.segBase[Seg.CS] + start;
  m.mem.u8.set(bytes, lin);
  const end = start + bytes.length;
  let guard = 0;
  while (m.c.eip !== end) {
    m.c.step();
    if (++guard > 10000) throw new Error('runaway');
  }
}

/** Executes one instruction and returns the exception vector it raised, or -1. */
function fault(m: M, code: number[]): number {
  const start = m.c.eip;
  m.mem.u8.set(code, m.c.segBase[Seg.CS] + start);
  try {
    m.c.step();
  } catch (e) {
    if (e !== FAULT) throw e;
    m.c.eip = start;
    return FAULT.vector;
  }
  return -1;
}

// ---- Instruction builders. Memory operands: [disp16] in 16-bit mode, [disp32] in 32-bit mode.
let addr32 = false;
function mem(op: number, reg: number, a = D): number[] {
  if (addr32) return [op, (reg << 3) | 5, a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, a >>> 24];
  return [op, (reg << 3) | 6, a & 0xff, a >> 8];
}
const FLD64 = (a = D) => mem(0xdd, 0, a);
const FST64 = (a = D) => mem(0xdd, 2, a);
const FSTP64 = (a = D) => mem(0xdd, 3, a);
const FLD32 = (a = D) => mem(0xd9, 0, a);
const FSTP32 = (a = D) => mem(0xd9, 3, a);
const FLD80 = (a = D) => mem(0xdb, 5, a);
const FSTP80 = (a = D) => mem(0xdb, 7, a);
const FILD16 = (a = D) => mem(0xdf, 0, a);
const FILD32 = (a = D) => mem(0xdb, 0, a);
const FILD64 = (a = D) => mem(0xdf, 5, a);
const FIST16 = (a = D) => mem(0xdf, 2, a);
const FISTP16 = (a = D) => mem(0xdf, 3, a);
const FIST32 = (a = D) => mem(0xdb, 2, a);
const FISTP64 = (a = D) => mem(0xdf, 7, a);
const FBLD = (a = D) => mem(0xdf, 4, a);
const FBSTP = (a = D) => mem(0xdf, 6, a);
const FLDCW = (a = D) => mem(0xd9, 5, a);
const FNSTCW = (a = D) => mem(0xd9, 7, a);
const FNSTSWm = (a = D) => mem(0xdd, 7, a);
const FNSTENV = (a = D) => mem(0xd9, 6, a);
const FLDENV = (a = D) => mem(0xd9, 4, a);
const FNSAVE = (a = D) => mem(0xdd, 6, a);
const FRSTOR = (a = D) => mem(0xdd, 4, a);
const FDIV64 = (a = D) => mem(0xdc, 6, a);
const FADD64 = (a = D) => mem(0xdc, 0, a);
const FMUL64 = (a = D) => mem(0xdc, 1, a);
const FIADD16 = (a = D) => mem(0xde, 0, a);
const FISUBR32 = (a = D) => mem(0xda, 5, a);
const FICOM16 = (a = D) => mem(0xde, 2, a);
const FLD1 = [0xd9, 0xe8], FLDL2T = [0xd9, 0xe9], FLDPI = [0xd9, 0xeb], FLDZ = [0xd9, 0xee];
const FCHS = [0xd9, 0xe0], FTST = [0xd9, 0xe4], FXAM = [0xd9, 0xe5];
const F2XM1 = [0xd9, 0xf0], FYL2X = [0xd9, 0xf1], FPTAN = [0xd9, 0xf2], FPATAN = [0xd9, 0xf3];
const FXTRACT = [0xd9, 0xf4], FPREM1 = [0xd9, 0xf5], FDECSTP = [0xd9, 0xf6], FINCSTP = [0xd9, 0xf7];
const FPREM = [0xd9, 0xf8], FSQRT = [0xd9, 0xfa], FSINCOS = [0xd9, 0xfb], FRNDINT = [0xd9, 0xfc];
const FSCALE = [0xd9, 0xfd], FSIN = [0xd9, 0xfe];
const FNSTSW_AX = [0xdf, 0xe0], FNCLEX = [0xdb, 0xe2], FNINIT = [0xdb, 0xe3], WAIT = [0x9b];
const FXCH1 = [0xd9, 0xc9], FCOM1 = [0xd8, 0xd1], FCOMPP = [0xde, 0xd9], FUCOMPP = [0xda, 0xe9];
const FCOMI1 = [0xdb, 0xf1], FUCOMI1 = [0xdb, 0xe9], FCOMIP1 = [0xdf, 0xf1];
const FADD01 = [0xd8, 0xc1], FDIV01 = [0xd8, 0xf1];
const FSUBP = [0xde, 0xe9], FSUBRP = [0xde, 0xe1], FDIVP = [0xde, 0xf9], FSUB10 = [0xdc, 0xe9];
const FCMOVB1 = [0xda, 0xc1], FCMOVNB1 = [0xdb, 0xc1], FFREE1 = [0xdd, 0xc1], FSTP1 = [0xdd, 0xd9];

// ---- Memory helpers
const put64 = (m: M, v: number, a = D) => m.dv.setFloat64(a, v, true);
const get64 = (m: M, a = D) => m.dv.getFloat64(a, true);
const put32 = (m: M, v: number, a = D) => m.dv.setFloat32(a, v, true);
function putBits64(m: M, hi: number, lo: number, a = D): void { m.dv.setUint32(a, lo, true); m.dv.setUint32(a + 4, hi, true); }
function bits64(m: M, a = D): string {
  return m.dv.getUint32(a + 4, true).toString(16).padStart(8, '0') + m.dv.getUint32(a, true).toString(16).padStart(8, '0');
}
function put80(m: M, se: number, hi: number, lo: number, a = D): void {
  m.dv.setUint32(a, lo, true); m.dv.setUint32(a + 4, hi, true); m.dv.setUint16(a + 8, se, true);
}
/** 'SEXP SIGNIFICAND' in hex, e.g. '3fff 8000000000000000'. */
function get80(m: M, a = D): string {
  return m.dv.getUint16(a + 8, true).toString(16).padStart(4, '0') + ' ' + bits64(m, a);
}
function bytes(m: M, a: number, n: number): string {
  return Array.from(m.mem.u8.subarray(a, a + n), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
const putW = (m: M, v: number, a = D) => m.dv.setUint16(a, v, true);
const getW = (m: M, a = D) => m.dv.getUint16(a, true);
const getD = (m: M, a = D) => m.dv.getUint32(a, true);

function setCW(m: M, cw: number): void { putW(m, cw, m.c.segBase[Seg.DS] + 0x7000); run(m, FLDCW(0x7000)); }
const sw = (m: M) => m.f.statusWord;
const top = (m: M) => (m.f.statusWord >> 11) & 7;

describe('x87 initial state and accessors', () => {
  it('FNINIT state: CW 037F, SW 0, all tags empty', () => {
    const m = machine();
    run(m, FLD1, FLDPI, FNINIT);
    expect(m.f.controlWord).toBe(0x037f);
    expect(m.f.statusWord).toBe(0);
    expect(m.f.tagWord).toBe(0xffff);
  });

  it('hardware RESET state differs from FNINIT: CW 0040, TW 5555', () => {
    const f = new Fpu();
    f.powerOnReset();
    expect(f.controlWord).toBe(0x0040);
    expect(f.statusWord).toBe(0);
    expect(f.tagWord).toBe(0x5555);
    expect(f.getST(3)).toBe(0);
  });

  it('records FIP/FCS/FOP/FDP/FDS for non-control instructions only', () => {
    const m = machine();
    run(m, FLD1); // IP 0
    put64(m, 2, D + 8);
    run(m, FLD64(D + 8)); // IP 2: DD 06 08 80
    expect(m.f.fip).toBe(2);
    expect(m.f.fcs).toBe(0x100);
    expect(m.f.fop).toBe(0x506);
    expect(m.f.fdp).toBe(D + 8);
    expect(m.f.fds).toBe(0);
    run(m, FNSTCW(0x7000), FNSTSW_AX); // control instructions leave them alone
    expect(m.f.fip).toBe(2);
    expect(m.f.fop).toBe(0x506);
    run(m, FXCH1); // IP 12
    expect(m.f.fip).toBe(12);
    expect(m.f.fop).toBe(0x1c9);
    expect(m.f.fdp).toBe(D + 8); // register forms keep the data pointer
  });
});

describe('80-bit conversions (FLD/FSTP m80fp)', () => {
  it('1.0 is 3FFF 8000000000000000', () => {
    const m = machine();
    put64(m, 1);
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('3fff 8000000000000000');
    put64(m, -2.5);
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('c000 a000000000000000');
  });

  it('FLDPI stores the 64-bit pi, rounded per RC', () => {
    const m = machine();
    run(m, FLDPI, FSTP80());
    expect(get80(m)).toBe('4000 c90fdaa22168c235');
    setCW(m, 0x077f); // round down
    run(m, FLDPI, FSTP80());
    expect(get80(m)).toBe('4000 c90fdaa22168c234');
    setCW(m, 0x0b7f); // round up: L2T's nearest value was rounded down
    run(m, FLDL2T, FSTP80());
    expect(get80(m)).toBe('4000 d49a784bcd1b8aff');
  });

  it('m80 pi loads as Math.PI and stores to m64 with PE', () => {
    const m = machine();
    put80(m, 0x4000, 0xc90fdaa2, 0x2168c235);
    run(m, FLD80(), FSTP64(D + 16));
    expect(get64(m, D + 16)).toBe(Math.PI);
    expect(sw(m) & PE).toBe(PE);
  });

  it('keeps m80 values bit-exact through the stack', () => {
    const m = machine();
    put80(m, 0x3fff, 0xffffffff, 0xffffffff); // 2 - 2^-63: not a double
    run(m, FLD80(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('3fff ffffffffffffffff');
    put80(m, 0x7ffe, 0xffffffff, 0xffffffff); // largest finite extended
    run(m, FLD80(), FLD1, FXCH1, FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('7ffe ffffffffffffffff');
  });

  it('double denormals become normal extended values', () => {
    const m = machine();
    putBits64(m, 0, 1); // 2^-1074
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('3bcd 8000000000000000');
    expect(sw(m) & DE).toBe(DE); // denormal source operand
    putBits64(m, 0x000fffff, 0xffffffff); // largest double denormal
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('3c00 fffffffffffff000');
  });

  it('extended denormals: FXAM says denormal, m80 round trip exact, m64 store underflows', () => {
    const m = machine();
    put80(m, 0x0000, 0, 1);
    run(m, FLD80(), FXAM);
    expect(sw(m) & CC).toBe(C3 | C2);
    run(m, FST64(D + 32), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('0000 0000000000000001');
    expect(bits64(m, D + 32)).toBe('0000000000000000');
    expect(sw(m) & (UE | PE)).toBe(UE | PE);
  });

  it('infinities, NaN payloads and SNaN quieting', () => {
    const m = machine();
    put64(m, -Infinity);
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('ffff 8000000000000000');
    putBits64(m, 0x7ff80000, 1); // QNaN with payload
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('7fff c000000000000800');
    expect(sw(m) & IE).toBe(0);
    run(m, FLD80(D + 16), FSTP64(D + 32));
    expect(bits64(m, D + 32)).toBe('7ff8000000000001');
    putBits64(m, 0x7ff00000, 1); // SNaN: #IA (masked), quieted
    run(m, FLD64(), FSTP80(D + 16));
    expect(get80(m, D + 16)).toBe('7fff c000000000000800');
    expect(sw(m) & IE).toBe(IE);
  });

  it('invalid operations give the indefinite QNaN', () => {
    const m = machine();
    run(m, FLD1, FCHS, FSQRT, FST64(), FSTP80(D + 16));
    expect(sw(m) & IE).toBe(IE);
    expect(bits64(m)).toBe('fff8000000000000');
    expect(get80(m, D + 16)).toBe('ffff c000000000000000');
    put32(m, 0, D + 32);
    run(m, FLD1, FSTP32(D + 32));
    expect(m.dv.getUint32(D + 32, true)).toBe(0x3f800000);
  });

  it('unsupported encodings: FXAM class 000, arithmetic raises #IA', () => {
    const m = machine();
    put80(m, 0x3fff, 0x40000000, 0); // unnormal (integer bit clear)
    run(m, FLD80(), FXAM);
    expect(sw(m) & (C3 | C2 | C0)).toBe(0);
    run(m, FLD1, FADD01, FSTP80(D + 16));
    expect(sw(m) & IE).toBe(IE);
    expect(get80(m, D + 16)).toBe('ffff c000000000000000');
  });

  it('m80 values beyond the double range overflow on FST m64', () => {
    const m = machine();
    put80(m, 0x7ffe, 0xffffffff, 0xffffffff);
    run(m, FLD80(), FST64(D + 16));
    expect(get64(m, D + 16)).toBe(Infinity);
    expect(sw(m) & (OE | PE)).toBe(OE | PE);
  });
});

describe('BCD (FBLD/FBSTP)', () => {
  it('FBSTP of 12345 and -12345', () => {
    const m = machine();
    put64(m, 12345);
    run(m, FLD64(), FBSTP(D + 16));
    expect(bytes(m, D + 16, 10)).toBe('45 23 01 00 00 00 00 00 00 00');
    expect(top(m)).toBe(0);
    put64(m, -12345);
    run(m, FLD64(), FBSTP(D + 16));
    expect(bytes(m, D + 16, 10)).toBe('45 23 01 00 00 00 00 00 00 80');
  });

  it('FBLD of 18 nines is exact (also through FISTP m64)', () => {
    const m = machine();
    m.mem.u8.set([0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x80], D);
    run(m, FBLD(), FBSTP(D + 16));
    expect(bytes(m, D + 16, 10)).toBe('99 99 99 99 99 99 99 99 99 80');
    run(m, FBLD(), FISTP64(D + 32));
    expect(m.dv.getBigInt64(D + 32, true)).toBe(-999999999999999999n);
  });

  it('FBSTP rounds with RC and gives the BCD indefinite when out of range', () => {
    const m = machine();
    put64(m, 2.5);
    run(m, FLD64(), FBSTP(D + 16));
    expect(bytes(m, D + 16, 10)).toBe('02 00 00 00 00 00 00 00 00 00');
    expect(sw(m) & PE).toBe(PE);
    put64(m, 1e18);
    run(m, FLD64(), FBSTP(D + 16));
    expect(bytes(m, D + 16, 10)).toBe('00 00 00 00 00 00 00 c0 ff ff');
    expect(sw(m) & IE).toBe(IE);
  });
});

describe('integer loads and stores', () => {
  it('FIST rounding modes: nearest-even, down, up, chop', () => {
    const cases: [number, number[]][] = [
      // value, [nearest, down, up, chop]
      [2.5, [2, 2, 3, 2]],
      [-2.5, [-2, -3, -2, -2]],
      [3.5, [4, 3, 4, 3]],
      [-2.7, [-3, -3, -2, -2]],
      [7, [7, 7, 7, 7]],
    ];
    for (const [v, want] of cases) {
      for (let rc = 0; rc < 4; rc++) {
        const m = machine();
        setCW(m, 0x037f | (rc << 10));
        put64(m, v);
        run(m, FLD64(), FIST32(D + 16), FIST16(D + 24));
        expect(m.dv.getInt32(D + 16, true), `FIST m32 ${v} rc=${rc}`).toBe(want[rc]);
        expect(m.dv.getInt16(D + 24, true), `FIST m16 ${v} rc=${rc}`).toBe(want[rc]);
        expect(sw(m) & PE).toBe(Number.isInteger(v) ? 0 : PE);
        // C1 says whether the magnitude was rounded up
        expect((sw(m) & C1) !== 0).toBe(Math.abs(want[rc]) > Math.abs(v));
      }
    }
  });

  it('integer indefinite on overflow and NaN (masked #IA)', () => {
    const m = machine();
    put64(m, 40000);
    run(m, FLD64(), FIST16(D + 16));
    expect(getW(m, D + 16)).toBe(0x8000);
    expect(sw(m) & IE).toBe(IE);
    run(m, FNINIT);
    put64(m, -32768);
    run(m, FLD64(), FIST16(D + 16));
    expect(getW(m, D + 16)).toBe(0x8000);
    expect(sw(m) & IE).toBe(0);
    put64(m, 3e9);
    run(m, FLD64(), FIST32(D + 16));
    expect(getD(m, D + 16)).toBe(0x80000000);
    put64(m, 1e19);
    run(m, FLD64(), FISTP64(D + 16));
    expect(bits64(m, D + 16)).toBe('8000000000000000');
    run(m, FLD1, FCHS, FSQRT, FISTP64(D + 16));
    expect(bits64(m, D + 16)).toBe('8000000000000000');
  });

  it('unmasked #IA: nothing stored, no pop, ES set', () => {
    const m = machine();
    setCW(m, 0x037e);
    put64(m, 1e10);
    putW(m, 0x1234, D + 16);
    run(m, FLD64(), [0xdf, 0x1e, (D + 16) & 0xff, (D + 16) >> 8]); // FISTP m16
    expect(getW(m, D + 16)).toBe(0x1234);
    expect(top(m)).toBe(7);
    expect(sw(m) & (IE | ES | B)).toBe(IE | ES | B);
  });

  it('FLD m32fp (denormal raises DE) and FISTP m16int', () => {
    const m = machine();
    m.dv.setUint32(D, 1, true); // smallest float denormal, 2^-149
    run(m, FLD32());
    expect(m.f.getST(0)).toBe(2 ** -149);
    expect(sw(m) & DE).toBe(DE);
    put32(m, -1234.5, D + 4);
    run(m, FLD32(D + 4), FISTP16(D + 8));
    expect(m.dv.getInt16(D + 8, true)).toBe(-1234); // nearest even
    expect(top(m)).toBe(7);
    const u = machine();
    setCW(u, 0x037d); // DE unmasked: the load does not happen
    u.dv.setUint32(D, 1, true);
    run(u, FLD32());
    expect(top(u)).toBe(0);
    expect(sw(u) & (DE | ES)).toBe(DE | ES);
  });

  it('FILD/FISTP m64 copies any 64-bit integer exactly', () => {
    const m = machine();
    for (const v of [0x123456789abcdef1n, -0x123456789abcdef1n, -(1n << 63n), (1n << 63n) - 1n, 0n, -1n]) {
      m.dv.setBigInt64(D, v, true);
      run(m, FILD64(), FISTP64(D + 16));
      expect(m.dv.getBigInt64(D + 16, true)).toBe(v);
    }
    expect(sw(m) & (IE | PE)).toBe(0);
  });

  it('FILD m16/m32 and integer arithmetic', () => {
    const m = machine();
    putW(m, 0xfffe); // -2
    m.dv.setInt32(D + 4, 100000, true);
    run(m, FILD16(), FILD32(D + 4));
    expect(m.f.getST(0)).toBe(100000);
    expect(m.f.getST(1)).toBe(-2);
    putW(m, 5, D + 8);
    run(m, FIADD16(D + 8));
    expect(m.f.getST(0)).toBe(100005);
    m.dv.setInt32(D + 12, 5, true);
    run(m, FISUBR32(D + 12)); // ST0 = 5 - ST0
    expect(m.f.getST(0)).toBe(-100000);
    putW(m, 0xfffe, D + 16);
    run(m, FXCH1, FICOM16(D + 16));
    expect(sw(m) & (C3 | C2 | C0)).toBe(C3); // -2 == -2
  });
});

describe('arithmetic', () => {
  it('basic forms, including the reversed DC/DE encodings', () => {
    const m = machine();
    put64(m, 5);
    run(m, FLD64(), FLD1, FSUBP); // ST1 = 5 - 1, pop
    expect(m.f.getST(0)).toBe(4);
    expect(top(m)).toBe(7);
    run(m, FLD1, FSUBRP); // ST1 = ST0 - ST1 = 1 - 4
    expect(m.f.getST(0)).toBe(-3);
    put64(m, 6);
    run(m, FLD64(), FDIVP); // ST1 = -3 / 6
    expect(m.f.getST(0)).toBe(-0.5);
    run(m, FLD1, FSUB10); // DC E9: ST1 = ST1 - ST0 = -1.5
    expect(m.f.getST(1)).toBe(-1.5);
    expect(m.f.getST(0)).toBe(1);
  });

  it('rounding control applies to FDIV/FADD/FMUL/FSQRT', () => {
    const third = 1 / 3; // rounded down from the exact 1/3
    const results: number[] = [];
    const c1: boolean[] = [];
    for (let rc = 0; rc < 4; rc++) {
      const m = machine();
      setCW(m, 0x037f | (rc << 10));
      put64(m, 3);
      run(m, FLD1, FDIV64());
      results.push(m.f.getST(0));
      c1.push((sw(m) & C1) !== 0);
      expect(sw(m) & PE).toBe(PE);
    }
    expect(results).toEqual([third, third, 0.33333333333333337, third]);
    expect(c1).toEqual([false, false, true, false]);

    const m = machine();
    setCW(m, 0x0b7f); // up
    put64(m, 2 ** -60);
    run(m, FLD1, FADD64());
    expect(m.f.getST(0)).toBe(1 + 2 ** -52);
    put64(m, 1 + 2 ** -52);
    run(m, FLD64(), FMUL64()); // (1+e)^2 = 1 + 2e + e^2
    expect(m.f.getST(0)).toBe(1 + 3 * 2 ** -52);
    setCW(m, 0x037f);
    run(m, FLD64(), FMUL64());
    expect(m.f.getST(0)).toBe(1 + 2 ** -51);
    put64(m, 2);
    run(m, FLD64(), FSQRT);
    expect(m.f.getST(0)).toBe(Math.SQRT2);
    expect(sw(m) & (PE | C1)).toBe(PE | C1); // sqrt(2) rounds up to the nearest double
    setCW(m, 0x077f); // down
    run(m, FLD64(), FSQRT);
    expect(m.f.getST(0)).toBe(1.4142135623730949);
  });

  it('exact results do not set PE', () => {
    const m = machine();
    put64(m, 16);
    run(m, FLD64(), FSQRT, FLD1, FADD01);
    expect(m.f.getST(0)).toBe(5);
    expect(sw(m) & PE).toBe(0);
  });

  it('divide by zero: masked gives infinity, unmasked keeps the operands and raises #MF later', () => {
    const m = machine();
    run(m, FLDZ, FLD1, FDIV01); // ST0 = 1 / 0
    expect(m.f.getST(0)).toBe(Infinity);
    run(m, FCHS, FLDZ, FXCH1, FDIV01); // ST0 = -inf / 0: no #Z
    expect(m.f.getST(0)).toBe(-Infinity);
    run(m, FLDZ, FLDZ, FDIV01); // 0 / 0: #IA
    expect(m.f.getST(0)).toBeNaN();
    expect(sw(m) & IE).toBe(IE);
    expect(sw(m) & (ZE | ES)).toBe(ZE);

    const u = machine();
    setCW(u, 0x037b); // ZE unmasked
    run(u, FLDZ, FLD1, FDIV01); // 1 / 0
    expect(u.f.getST(0)).toBe(1);
    expect(sw(u) & (ZE | ES | B)).toBe(ZE | ES | B);
    expect(fault(u, FLD1)).toBe(16); // #MF at the next waiting instruction
    expect(fault(u, WAIT)).toBe(16);
    run(u, FNSTSW_AX); // no-wait instructions go ahead
    expect(u.c.r16[0]).toBe(sw(u));
    run(u, FNCLEX);
    expect(sw(u) & (ZE | ES | B)).toBe(0);
    run(u, FLD1);
    expect(u.f.getST(0)).toBe(1);
  });

  it('CR0.NE=0: the FERR hook is called and the instruction continues', () => {
    const m = machine();
    m.c.cr0 &= ~0x20;
    let ferr = 0;
    m.f.onLegacyFerr = () => { ferr++; };
    setCW(m, 0x037b);
    run(m, FLDZ, FLD1, FDIV01);
    expect(ferr).toBe(0);
    run(m, FLD1);
    expect(ferr).toBe(1);
    expect(m.f.getST(0)).toBe(1);
  });

  it('FLDCW that unmasks a pending flag sets ES', () => {
    const m = machine();
    run(m, FLDZ, FLD1, FDIV01);
    expect(sw(m) & (ZE | ES)).toBe(ZE);
    setCW(m, 0x037b);
    expect(sw(m) & (ES | B)).toBe(ES | B);
    putW(m, 0x037f, 0x7000);
    expect(fault(m, FLDCW(0x7000))).toBe(16); // FLDCW is a waiting instruction
    run(m, FNCLEX, FLDCW(0x7000));
    expect(sw(m) & ES).toBe(0);
  });

  it('overflow: masked response follows RC', () => {
    const m = machine();
    put64(m, 1e300);
    run(m, FLD64(), FLD64(), [0xd8, 0xc9] /* FMUL ST0,ST1 */);
    expect(m.f.getST(0)).toBe(Infinity);
    expect(sw(m) & (OE | PE | C1)).toBe(OE | PE | C1);
    run(m, FNINIT);
    setCW(m, 0x0f7f); // chop
    run(m, FLD64(), FLD64(), [0xd8, 0xc9]);
    expect(m.f.getST(0)).toBe(Number.MAX_VALUE);
  });
});

describe('stack faults', () => {
  it('overflow sets IE, SF and C1 and pushes the indefinite', () => {
    const m = machine();
    for (let i = 0; i < 8; i++) run(m, FLD1);
    expect(sw(m) & (IE | SF)).toBe(0);
    run(m, FLD1);
    expect(sw(m) & (IE | SF | C1)).toBe(IE | SF | C1);
    expect(top(m)).toBe(7);
    expect(m.f.getST(0)).toBeNaN();
    expect(m.f.tagWord).toBe(0x8000); // R7 special, the rest valid
  });

  it('underflow sets IE and SF with C1 = 0', () => {
    const m = machine();
    run(m, FLD1, FLD1);
    for (let i = 0; i < 7; i++) run(m, FLD1);
    run(m, FNINIT, FADD01);
    expect(sw(m) & (IE | SF | C1)).toBe(IE | SF);
    expect(m.f.getST(0)).toBeNaN();
    run(m, FNINIT, FCOM1);
    expect(sw(m) & (IE | SF | C3 | C2 | C0)).toBe(IE | SF | C3 | C2 | C0);
  });

  it('FST m64 from an empty register stores the indefinite; unmasked stores nothing', () => {
    const m = machine();
    run(m, FSTP64());
    expect(bits64(m)).toBe('fff8000000000000');
    expect(top(m)).toBe(1);
    const u = machine();
    setCW(u, 0x037e);
    put64(u, 42);
    run(u, FSTP64());
    expect(get64(u)).toBe(42);
    expect(top(u)).toBe(0);
    expect(sw(u) & (IE | SF | ES)).toBe(IE | SF | ES);
  });
});

describe('comparisons and classification', () => {
  it('FCOM/FCOMPP/FUCOMPP condition codes', () => {
    const m = machine();
    put64(m, 2);
    run(m, FLD64(), FLD1, FCOM1);
    expect(sw(m) & (C3 | C2 | C0)).toBe(C0); // 1 < 2
    run(m, FXCH1, FCOM1);
    expect(sw(m) & (C3 | C2 | C0)).toBe(0); // 2 > 1
    run(m, FCOMPP);
    expect(top(m)).toBe(0);
    putBits64(m, 0x7ff80000, 0);
    run(m, FLD64(), FLD1, FUCOMPP);
    expect(sw(m) & (C3 | C2 | C0 | IE)).toBe(C3 | C2 | C0); // QNaN: unordered, no #IA
    run(m, FLD64(), FLD1, FCOMPP);
    expect(sw(m) & (C3 | C2 | C0 | IE)).toBe(C3 | C2 | C0 | IE);
  });

  it('FCOMI/FUCOMI/FCOMIP set ZF PF CF and clear OF SF AF', () => {
    const m = machine();
    put64(m, 2);
    m.c.setArith(Flag.OF | Flag.SF | Flag.AF | Flag.ZF, Flag.OF | Flag.SF | Flag.AF | Flag.ZF);
    run(m, FLD64(), FLD1, FCOMI1);
    const arith = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;
    expect(m.c.getFlags() & arith).toBe(Flag.CF); // 1 < 2
    run(m, FXCH1, FCOMI1);
    expect(m.c.getFlags() & arith).toBe(0);
    run(m, FLD64(), FCOMIP1);
    expect(m.c.getFlags() & arith).toBe(Flag.ZF);
    expect(top(m)).toBe(6);
    putBits64(m, 0x7ff80000, 0, D + 8);
    run(m, FLD64(D + 8), FUCOMI1);
    expect(m.c.getFlags() & arith).toBe(Flag.ZF | Flag.PF | Flag.CF);
    expect(sw(m) & IE).toBe(0);
    run(m, FCOMI1);
    expect(sw(m) & IE).toBe(IE);
  });

  it('FTST and FXAM', () => {
    const m = machine();
    run(m, FLD1, FCHS, FTST);
    expect(sw(m) & (C3 | C2 | C0)).toBe(C0);
    run(m, FXAM);
    expect(sw(m) & CC).toBe(C2 | C1); // negative normal
    run(m, FLDZ, FXAM);
    expect(sw(m) & CC).toBe(C3);
    put64(m, -Infinity);
    run(m, FLD64(), FXAM);
    expect(sw(m) & CC).toBe(C2 | C1 | C0);
    putBits64(m, 0x7ff80000, 0);
    run(m, FLD64(), FXAM);
    expect(sw(m) & CC).toBe(C0);
    run(m, FNINIT, FXAM);
    expect(sw(m) & (C3 | C2 | C0)).toBe(C3 | C0); // empty
  });

  it('FCMOVcc uses EFLAGS', () => {
    const m = machine();
    put64(m, 7);
    run(m, FLD64(), FLD1);
    m.c.setArith(Flag.CF, 0);
    run(m, FCMOVB1);
    expect(m.f.getST(0)).toBe(1);
    run(m, FCMOVNB1);
    expect(m.f.getST(0)).toBe(7);
  });
});

describe('transcendental and other ST(0) instructions', () => {
  it('FPATAN, FSQRT', () => {
    const m = machine();
    run(m, FLD1, FLD1, FPATAN);
    expect(m.f.getST(0)).toBeCloseTo(0.7853981633974483, 15);
    expect(top(m)).toBe(7);
    put64(m, -1);
    run(m, FLD1, FLD64(), FPATAN); // atan2(1, -1)
    expect(m.f.getST(0)).toBeCloseTo(2.356194490192345, 15);
    put64(m, 2);
    run(m, FLD64(), FSQRT);
    expect(m.f.getST(0)).toBe(1.4142135623730951);
  });

  it('FPREM quotient bits in C0 C3 C1, FPREM1 rounds to nearest', () => {
    const m = machine();
    put64(m, 5); put64(m, 17, D + 8);
    run(m, FLD64(), FLD64(D + 8), FPREM); // 17 = 3*5 + 2
    expect(m.f.getST(0)).toBe(2);
    expect(sw(m) & CC).toBe(C3 | C1); // q = 011
    put64(m, 3, D + 16); put64(m, 23, D + 24);
    run(m, FNINIT, FLD64(D + 16), FLD64(D + 24), FPREM); // 23 = 7*3 + 2
    expect(m.f.getST(0)).toBe(2);
    expect(sw(m) & CC).toBe(C0 | C3 | C1);
    put64(m, 18, D + 8);
    run(m, FNINIT, FLD64(), FLD64(D + 8), FPREM1); // 18 = 4*5 - 2
    expect(m.f.getST(0)).toBe(-2);
    expect(sw(m) & CC).toBe(C0);
    run(m, FNINIT, FLD64(), FLD64(D + 8), FPREM); // 18 = 3*5 + 3
    expect(m.f.getST(0)).toBe(3);
  });

  it('FPREM reduces partially (C2=1) for large exponent differences', () => {
    const m = machine();
    put64(m, 3); put64(m, 2 ** 100, D + 8);
    run(m, FLD64(), FLD64(D + 8), FPREM);
    expect(sw(m) & C2).toBe(C2);
    let n = 1;
    while (sw(m) & C2) { run(m, FPREM); n++; }
    expect(n).toBeGreaterThan(1);
    expect(m.f.getST(0)).toBe(1); // 2^100 mod 3
    expect(sw(m) & (C0 | C3 | C1)).toBe(C0 | C1); // (2^64 - 1)/3 = ...0101b
  });

  it('FSCALE, FXTRACT, FRNDINT, F2XM1, FYL2X', () => {
    const m = machine();
    put64(m, 3); put64(m, 1.5, D + 8);
    run(m, FLD64(), FLD64(D + 8), FSCALE);
    expect(m.f.getST(0)).toBe(12);
    run(m, FXTRACT);
    expect(m.f.getST(0)).toBe(1.5);
    expect(m.f.getST(1)).toBe(3);
    put64(m, 2.5, D + 16);
    run(m, FNINIT, FLD64(D + 16), FRNDINT);
    expect(m.f.getST(0)).toBe(2);
    setCW(m, 0x0b7f);
    run(m, FLD64(D + 16), FRNDINT);
    expect(m.f.getST(0)).toBe(3);
    setCW(m, 0x037f);
    run(m, FNINIT, FLD1, F2XM1);
    expect(m.f.getST(0)).toBe(1);
    put64(m, 0.5, D + 24);
    run(m, FLD64(D + 24), F2XM1);
    expect(m.f.getST(0)).toBeCloseTo(Math.SQRT2 - 1, 15);
    put64(m, 8, D + 32);
    run(m, FNINIT, FNCLEX, FLD1, FLD64(D + 32), FYL2X); // 1 * log2(8)
    expect(m.f.getST(0)).toBe(3);
    expect(sw(m) & PE).toBe(0);
    put64(m, 1e300, D + 40);
    run(m, FLD64(D + 40), FLD1, FLD64(D + 40), FSCALE); // 1e300 * 2^1 is fine
    expect(m.f.getST(0)).toBe(2e300);
  });

  it('FSIN/FSINCOS/FPTAN, with C2 for |x| >= 2^63', () => {
    const m = machine();
    put64(m, 2 ** 63);
    run(m, FLD64(), FSIN);
    expect(sw(m) & C2).toBe(C2);
    expect(m.f.getST(0)).toBe(2 ** 63);
    put64(m, Math.PI / 6);
    run(m, FNINIT, FLD64(), FSIN);
    expect(sw(m) & C2).toBe(0);
    expect(m.f.getST(0)).toBeCloseTo(0.5, 15);
    run(m, FNINIT, FLDZ, FSINCOS);
    expect(m.f.getST(0)).toBe(1);
    expect(m.f.getST(1)).toBe(0);
    put64(m, 0.5);
    run(m, FNINIT, FLD64(), FPTAN);
    expect(m.f.getST(0)).toBe(1);
    expect(m.f.getST(1)).toBeCloseTo(0.5463024898437905, 15);
  });

  it('FXCH, FFREE, FINCSTP, FDECSTP, FSTP ST(i)', () => {
    const m = machine();
    put64(m, 2);
    run(m, FLD64(), FLD1, FXCH1);
    expect(m.f.getST(0)).toBe(2);
    expect(m.f.getST(1)).toBe(1);
    run(m, FINCSTP);
    expect(top(m)).toBe(7);
    run(m, FDECSTP, FFREE1);
    expect(m.f.tagWord).toBe(0xcfff); // R7 (ST1) freed, R6 valid
    run(m, FLD1, FSTP1); // ST1 <- ST0, pop
    expect(top(m)).toBe(6);
    expect(m.f.getST(0)).toBe(1);
  });
});

describe('environment and state save/restore', () => {
  function loadSome(m: M): void {
    put64(m, 1.5, m.c.segBase[Seg.DS] + D + 0x100);
    run(m, FLD64(D + 0x100), FLD1, FLDPI, FLDZ);
  }

  it('FNSAVE/FRSTOR, real mode, 16-bit layout (94 bytes)', () => {
    const m = machine();
    loadSome(m); // FLD m64 at IP 0, FLD1 4, FLDPI 6, FLDZ 8
    m.mem.u8.fill(0xaa, D, D + 120);
    run(m, FNSAVE());
    expect(getW(m, D)).toBe(0x037f);
    expect(getW(m, D + 2)).toBe(0x2000); // TOP = 4
    expect(getW(m, D + 4)).toBe(0x01ff); // R4 zero, R5-R7 valid, R0-R3 empty
    expect(getW(m, D + 6)).toBe(0x1008); // FIP 15:0: linear 0x1000 + 8 (FLDZ)
    expect(getW(m, D + 8)).toBe(0x01ee); // FIP 19:16 = 0, FOP = D9 EE
    expect(getW(m, D + 10)).toBe(D + 0x100); // FDP
    expect(getW(m, D + 12)).toBe(0);
    expect(bytes(m, D + 14, 10)).toBe('00 00 00 00 00 00 00 00 00 00'); // ST0 = +0
    expect(get80(m, D + 24)).toBe('4000 c90fdaa22168c235'); // ST1 = pi
    expect(get80(m, D + 34)).toBe('3fff 8000000000000000'); // ST2 = 1
    expect(get80(m, D + 44)).toBe('3fff c000000000000000'); // ST3 = 1.5
    expect(m.mem.u8[D + 94]).toBe(0xaa); // exactly 94 bytes
    // FNSAVE reinitializes
    expect(m.f.tagWord).toBe(0xffff);
    expect(m.f.statusWord).toBe(0);
    run(m, FRSTOR());
    expect(m.f.statusWord).toBe(0x2000);
    expect(m.f.tagWord).toBe(0x01ff);
    expect(m.f.getST(1)).toBe(Math.PI);
    expect(m.f.getST(3)).toBe(1.5);
    expect(m.f.fip).toBe(0x1008); // real mode: linear address, selector 0
    expect(m.f.fcs).toBe(0);
    expect(m.f.fop).toBe(0x1ee);
    run(m, FSTP80(D + 0x200), FSTP80(D + 0x200));
    expect(get80(m, D + 0x200)).toBe('4000 c90fdaa22168c235');
  });

  it('FNSAVE/FRSTOR, real mode with o32: 28-byte environment', () => {
    const m = machine();
    loadSome(m);
    run(m, [0x66, ...FNSAVE()]);
    expect(getD(m, D)).toBe(0xffff037f);
    expect(getD(m, D + 4)).toBe(0xffff2000);
    expect(getD(m, D + 8)).toBe(0xffff01ff);
    expect(getD(m, D + 12)).toBe(0xffff1008);
    expect(getD(m, D + 16)).toBe(0x000001ee);
    expect(getD(m, D + 20)).toBe((0xffff0000 | (D + 0x100)) >>> 0);
    expect(get80(m, D + 38)).toBe('4000 c90fdaa22168c235'); // ST1 at 28 + 10
    run(m, [0x66, ...FRSTOR()]);
    expect(m.f.tagWord).toBe(0x01ff);
    expect(m.f.getST(3)).toBe(1.5);
  });

  it('FNSAVE/FRSTOR, 32-bit protected mode: 108 bytes with selectors and opcode', () => {
    addr32 = true;
    try {
      const m = machine32();
      loadSome(m); // at EIP 0x1000: FLD m64 (6 bytes), FLD1, FLDPI, FLDZ at 0x100a
      setCW(m, 0x0a7f); // RC up, PC 53 (kept, not modelled)
      m.mem.u8.fill(0xaa, 0x100 + D, 0x100 + D + 120);
      run(m, FNSAVE());
      const base = 0x100 + D; // DS base 0x100
      expect(getD(m, base)).toBe(0xffff0a7f);
      expect(getD(m, base + 4)).toBe(0xffff2000);
      expect(getD(m, base + 8)).toBe(0xffff01ff);
      expect(getD(m, base + 12)).toBe(0x100a); // FIP offset
      expect(getD(m, base + 16)).toBe(0x01ee0008); // FOP << 16 | FCS
      expect(getD(m, base + 20)).toBe(D + 0x100); // FDP offset
      expect(getD(m, base + 24)).toBe(0xffff0010); // FDS
      expect(get80(m, base + 28 + 10)).toBe('4000 c90fdaa22168c235');
      expect(get80(m, base + 28 + 30)).toBe('3fff c000000000000000');
      expect(m.mem.u8[base + 108]).toBe(0xaa);
      expect(m.f.controlWord).toBe(0x037f);
      run(m, FRSTOR());
      expect(m.f.controlWord).toBe(0x0a7f);
      expect(m.f.statusWord).toBe(0x2000);
      expect(m.f.tagWord).toBe(0x01ff);
      expect(m.f.fcs).toBe(8);
      expect(m.f.fip).toBe(0x100a);
      expect(m.f.fds).toBe(0x10);
      expect(m.f.getST(1)).toBe(Math.PI);
    } finally {
      addr32 = false;
    }
  });

  it('FNSTENV masks all exceptions; FLDENV restores', () => {
    const m = machine();
    setCW(m, 0x0360);
    run(m, FLD1, FNSTENV());
    expect(getW(m, D)).toBe(0x0360 | 0x40);
    expect(m.f.controlWord).toBe(0x037f);
    expect(getW(m, D + 4)).toBe(0x3fff); // R7 valid
    run(m, FNINIT, FLDENV());
    expect(m.f.controlWord).toBe(0x0360 | 0x40);
    expect(m.f.tagWord).toBe(0x3fff);
    expect(top(m)).toBe(7);
  });

  it('FNSTCW/FNSTSW m16 and AX', () => {
    const m = machine();
    run(m, FLD1, FNSTCW(D), FNSTSWm(D + 2), FNSTSW_AX);
    expect(getW(m, D)).toBe(0x037f);
    expect(getW(m, D + 2)).toBe(0x3800);
    expect(m.c.r16[0]).toBe(0x3800);
  });
});

describe('faults', () => {
  it('#NM for CR0.EM or CR0.TS; WAIT only when TS and MP', () => {
    const m = machine();
    m.c.cr0 |= 8; // TS
    expect(fault(m, FLD1)).toBe(7);
    expect(fault(m, WAIT)).toBe(-1);
    m.c.cr0 |= 2; // MP
    expect(fault(m, WAIT)).toBe(7);
    m.c.cr0 &= ~0xa;
    m.c.cr0 |= 4; // EM
    expect(fault(m, FNINIT)).toBe(7);
    expect(fault(m, WAIT)).toBe(-1);
  });

  it('#UD for undefined escape encodings and FISTTP', () => {
    const m = machine();
    expect(fault(m, [0xd9, 0xd1])).toBe(6);
    expect(fault(m, [0xd9, 0xe2])).toBe(6);
    expect(fault(m, [0xdf, 0xe1])).toBe(6);
    expect(fault(m, [0xde, 0xd8])).toBe(6);
    expect(fault(m, [0xdb, 0xf8])).toBe(6);
    expect(fault(m, mem(0xdf, 1))).toBe(6); // FISTTP m16 (SSE3)
    expect(fault(m, mem(0xd9, 1))).toBe(6);
    expect(fault(m, mem(0xdd, 5))).toBe(6);
    expect(fault(m, mem(0xdb, 4))).toBe(6);
    expect(fault(m, FLD1)).toBe(-1);
  });

  it('a faulting store leaves the FPU unchanged', () => {
    const m = machine();
    m.c.setSegReal(Seg.DS, 0, 0x8003, 0x93); // m64 at 0x8000 crosses the limit
    run(m, FLD1);
    expect(fault(m, FSTP64())).toBe(13);
    expect(top(m)).toBe(7);
    expect(m.f.getST(0)).toBe(1);
  });
});
