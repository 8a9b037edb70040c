// Integer arithmetic of 64-bit mode at any operand size, with eagerly computed flags (SDM Vol. 1
// Appendix A "EFLAGS Cross-Reference", Vol. 2 instruction pages). The 32-bit interpreter keeps
// its lazy flags; these helpers write the arithmetic flags directly (Cpu.setArith), so Jcc, SETcc
// and PUSHF read them the same way.
import { Cpu } from '../cpu';
import { ARITH_FLAGS, Flag } from '../regs';
import { BITS, MASK, SIGN, Sz } from './decode64';

/** ZF, SF, PF of result `r` (already masked to size `s`). */
export function szp(r: bigint, s: Sz): number {
  return (r === 0n ? Flag.ZF : 0) | ((r & SIGN[s]) !== 0n ? Flag.SF : 0) | Cpu.parity(Number(r & 0xffn));
}

function setFlags(c: Cpu, f: number): void { c.setArith(ARITH_FLAGS, f); }

/** ADD/ADC: a + b + carry. */
export function add(c: Cpu, a: bigint, b: bigint, carry: number, s: Sz): bigint {
  const full = a + b + BigInt(carry), m = MASK[s], r = full & m;
  let f = szp(r, s) | (full > m ? Flag.CF : 0) | Number((a ^ b ^ r) & 0x10n);
  if (((a ^ r) & (b ^ r) & SIGN[s]) !== 0n) f |= Flag.OF;
  setFlags(c, f);
  return r;
}
/** SUB/SBB/CMP/NEG: a - b - borrow. */
export function sub(c: Cpu, a: bigint, b: bigint, borrow: number, s: Sz): bigint {
  const r = (a - b - BigInt(borrow)) & MASK[s];
  let f = szp(r, s) | (a < b + BigInt(borrow) ? Flag.CF : 0) | Number((a ^ b ^ r) & 0x10n);
  if (((a ^ b) & (a ^ r) & SIGN[s]) !== 0n) f |= Flag.OF;
  setFlags(c, f);
  return r;
}
/** AND/OR/XOR/TEST: CF = OF = 0, AF undefined (cleared, as the 32-bit interpreter does). */
export function logic(c: Cpu, r: bigint, s: Sz): bigint {
  setFlags(c, szp(r, s));
  return r;
}

/** Group-1 operation `op` (ADD OR ADC SBB AND SUB XOR CMP); null for CMP (no write-back). */
export function alu(c: Cpu, op: number, a: bigint, b: bigint, s: Sz): bigint | null {
  switch (op) {
    case 0: return add(c, a, b, 0, s);
    case 1: return logic(c, a | b, s);
    case 2: return add(c, a, b, c.cf(), s);
    case 3: return sub(c, a, b, c.cf(), s);
    case 4: return logic(c, a & b, s);
    case 5: return sub(c, a, b, 0, s);
    case 6: return logic(c, a ^ b, s);
    default: sub(c, a, b, 0, s); return null;
  }
}

/** INC/DEC: CF unchanged. */
export function incDec(c: Cpu, a: bigint, dec: boolean, s: Sz): bigint {
  const cf = c.cf();
  const r = dec ? sub(c, a, 1n, 0, s) : add(c, a, 1n, 0, s);
  c.setArith(Flag.CF, cf);
  return r;
}

/**
 * Group-2 shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR) by `count` (already read; masked
 * here to 5 bits, 6 with 64-bit operands). A zero count changes nothing. OF is defined for
 * counts of 1 only; it is computed as the 1-bit formula for every count, as QEMU does.
 */
export function shift(c: Cpu, op: number, a: bigint, count: number, s: Sz): bigint {
  count &= s === Sz.Q ? 0x3f : 0x1f;
  if (count === 0) return a;
  const n = BITS[s], m = MASK[s], sign = SIGN[s];
  const bc = BigInt(count);
  let r: bigint, cf: number;
  c.flushFlags();
  switch (op & 7) {
    case 0: { // ROL
      const k = BigInt(count % n);
      r = ((a << k) | (a >> (BigInt(n) - k))) & m;
      cf = Number(r & 1n);
      c.setArith(Flag.CF | Flag.OF, (cf ? Flag.CF : 0) | (((r & sign) !== 0n) !== (cf !== 0) ? Flag.OF : 0));
      return r;
    }
    case 1: { // ROR
      const k = BigInt(count % n);
      r = ((a >> k) | (a << (BigInt(n) - k))) & m;
      const msb = (r & sign) !== 0n, msb2 = (r & (sign >> 1n)) !== 0n;
      c.setArith(Flag.CF | Flag.OF, (msb ? Flag.CF : 0) | (msb !== msb2 ? Flag.OF : 0));
      return r;
    }
    case 2: case 3: { // RCL, RCR through CF: an (n+1)-bit rotation
      const k = count % (n + 1);
      if (k === 0) return a;
      const wide = (BigInt(c.cf()) << BigInt(n)) | a, w = BigInt(n + 1), wm = (1n << w) - 1n, bk = BigInt(k);
      const rot = (op & 7) === 2 ? ((wide << bk) | (wide >> (w - bk))) & wm : ((wide >> bk) | (wide << (w - bk))) & wm;
      r = rot & m;
      cf = Number(rot >> BigInt(n));
      const of = (op & 7) === 2 ? ((r & sign) !== 0n) !== (cf !== 0) : ((r & sign) !== 0n) !== ((r & (sign >> 1n)) !== 0n);
      c.setArith(Flag.CF | Flag.OF, (cf ? Flag.CF : 0) | (of ? Flag.OF : 0));
      return r;
    }
    case 4: case 6: { // SHL/SAL
      r = (a << bc) & m;
      cf = count <= n ? Number((a >> BigInt(n - count)) & 1n) : 0;
      c.setArith(ARITH_FLAGS, szp(r, s) | (cf ? Flag.CF : 0) | (((r & sign) !== 0n) !== (cf !== 0) ? Flag.OF : 0));
      return r;
    }
    case 5: { // SHR
      r = a >> bc;
      cf = Number((a >> (bc - 1n)) & 1n);
      c.setArith(ARITH_FLAGS, szp(r, s) | (cf ? Flag.CF : 0) | ((a & sign) !== 0n ? Flag.OF : 0));
      return r;
    }
    default: { // SAR
      const sa = BigInt.asIntN(n, a);
      r = (sa >> bc) & m;
      cf = Number((sa >> (bc - 1n)) & 1n);
      c.setArith(ARITH_FLAGS, szp(r, s) | (cf ? Flag.CF : 0));
      return r;
    }
  }
}

/** SHLD/SHRD (SDM Vol. 2B): `a` shifted by `count` filling from `b`. */
export function shiftDouble(c: Cpu, left: boolean, a: bigint, b: bigint, count: number, s: Sz): bigint {
  count &= s === Sz.Q ? 0x3f : 0x1f;
  if (count === 0) return a;
  const n = BigInt(BITS[s]), m = MASK[s], k = BigInt(count);
  let r: bigint, cf: number;
  if (left) { r = ((a << k) | (b >> (n - k))) & m; cf = Number((a >> (n - k)) & 1n); }
  else { r = ((a >> k) | (b << (n - k))) & m; cf = Number((a >> (k - 1n)) & 1n); }
  const of = ((r ^ a) & SIGN[s]) !== 0n;
  c.setArith(ARITH_FLAGS, szp(r, s) | (cf ? Flag.CF : 0) | (of ? Flag.OF : 0));
  return r;
}

/** Two-operand IMUL product of signed a, b truncated to size `s`; CF = OF = truncation lost bits. */
export function imul2(c: Cpu, a: bigint, b: bigint, s: Sz): bigint {
  const n = BITS[s];
  const p = BigInt.asIntN(n, a) * BigInt.asIntN(n, b);
  const r = p & MASK[s];
  const lost = BigInt.asIntN(n, r) !== p;
  c.setArith(ARITH_FLAGS, szp(r, s) | (lost ? Flag.CF | Flag.OF : 0));
  return r;
}
