// Instruction decoding of 64-bit mode (SDM Vol. 2A §2.2.1 "REX Prefixes", §2.2.1.3 ModRM/SIB
// with REX, §2.2.1.6 "RIP-Relative Addressing", §2.2.1.2 operand-size table; Vol. 1 §3.6.1): the
// prefix state, the operand registers and the effective address of the current instruction.
// Operands are BigInts (one generic path for 8/16/32/64 bits; phase 1 favours exactness over
// speed, and none of this is on the 32-bit path).
import type { Cpu } from '../cpu';
import { Seg } from '../regs';
import { canonicalFault, gq, readSized, writeSized } from './mem64';
import { CANON } from './long-mode';

/** Operand size codes. */
export const enum Sz { B = 0, W = 1, D = 2, Q = 3 }
export const MASK = [0xffn, 0xffffn, 0xffffffffn, 0xffffffffffffffffn] as const;
export const SIGN = [0x80n, 0x8000n, 0x80000000n, 0x8000000000000000n] as const;
export const BITS = [8, 16, 32, 64] as const;
export const BYTES = [1, 2, 4, 8] as const;

/** Decode state of the instruction being executed (one instruction at a time on a thread). */
export const D64 = {
  rex: 0, w: false, r: 0, x: 0, b: 0,
  /** Operand size of instructions whose default is 32 bits (REX.W: 64, 66: 16). */
  os: Sz.D as Sz,
  /** 66 prefix seen. */
  p66: false,
  /** Address size 64 (no 67 prefix). */
  a64: true,
  segOvr: -1,
  rep: 0,
  lock: false,
  // ModRM
  modrm: 0, mod: 0,
  /** ModRM.reg extended by REX.R. */
  reg: 0,
  /** ModRM.rm extended by REX.B (register operand when mod = 3). */
  rm: 0,
  base: -1, index: -1, scale: 0, disp: 0, ripRel: false,
  /** Segment the EA refers to (default DS or SS; FS/GS overrides add their bases). */
  seg: Seg.DS,
};

export function resetDecode(): void {
  const d = D64;
  d.rex = 0; d.w = false; d.r = 0; d.x = 0; d.b = 0; d.os = Sz.D; d.p66 = false; d.a64 = true;
  d.segOvr = -1; d.rep = 0; d.lock = false;
}

/** Reads ModRM (and SIB/displacement); the address itself is formed by `ea` once the
 *  immediates are fetched (RIP-relative addresses count from the next instruction). */
export function modrm64(c: Cpu): void {
  const d = D64;
  const m = c.fetch8();
  d.modrm = m; d.mod = m >> 6;
  d.reg = ((m >> 3) & 7) | d.r;
  d.rm = (m & 7) | d.b;
  if (d.mod === 3) return;
  d.base = -1; d.index = -1; d.scale = 0; d.disp = 0; d.ripRel = false; d.seg = Seg.DS;
  const rm = m & 7;
  if (rm === 4) {
    const sib = c.fetch8();
    const base = sib & 7, idx = ((sib >> 3) & 7) | d.x;
    d.scale = sib >> 6;
    if (idx !== 4) d.index = idx; // RSP cannot be an index; R12 (REX.X) can
    if (base === 5 && d.mod === 0) d.disp = c.fetch32();
    else { d.base = base | d.b; if (base === 4 || base === 5) d.seg = Seg.SS; }
  } else if (rm === 5 && d.mod === 0) {
    d.ripRel = true;
    d.disp = c.fetch32();
  } else {
    d.base = rm | d.b;
    if (rm === 5 || rm === 4) d.seg = Seg.SS;
  }
  if (d.mod === 1) d.disp = (d.disp + ((c.fetch8() << 24) >> 24)) | 0;
  else if (d.mod === 2) d.disp = (d.disp + c.fetch32()) | 0;
  if (d.segOvr >= 0) d.seg = d.segOvr;
}

/** Base of segment `s` in 64-bit mode: FS and GS only (SDM Vol. 3A §3.2.4). */
export function segBase64(c: Cpu, s: number): number {
  return s === Seg.FS || s === Seg.GS ? c.segBaseHi[s] * 4294967296 + (c.segBase[s] >>> 0) : 0;
}

/** The effective address's offset (no segment base): 64-bit, or zero-extended 32-bit with 67. */
export function eaOffset(c: Cpu): number {
  const d = D64;
  if (!d.a64) {
    let v = d.disp;
    if (d.ripRel) v = (v + (c.eip >>> 0)) | 0;
    if (d.base >= 0) v = (v + c.r32[d.base]) | 0;
    if (d.index >= 0) v = (v + (c.r32[d.index] << d.scale)) | 0;
    return v >>> 0;
  }
  let a = d.disp;
  if (d.ripRel) a += c.eip;
  const hb = d.base >= 0 ? c.r32hi[d.base] : 0, hi = d.index >= 0 ? c.r32hi[d.index] : 0;
  if ((hb === 0 || hb === -1) && (hi === 0 || hi === -1)) {
    if (d.base >= 0) a += gq(c, d.base);
    if (d.index >= 0) a += gq(c, d.index) * (1 << d.scale);
    return a;
  }
  // Large register values: exact 64-bit arithmetic, wrapped (SDM Vol. 1 §3.3.7).
  let v = BigInt(a);
  if (d.base >= 0) v += BigInt.asIntN(64, (BigInt(c.r32hi[d.base]) << 32n) | BigInt(c.r32[d.base] >>> 0));
  if (d.index >= 0) v += BigInt.asIntN(64, (BigInt(c.r32hi[d.index]) << 32n) | BigInt(c.r32[d.index] >>> 0)) << BigInt(d.scale);
  v = BigInt.asIntN(64, v);
  return v >= -BigInt(CANON) && v < BigInt(CANON) ? Number(v) : (v < 0n ? -2 * CANON : 2 * CANON);
}

/** The effective address as a full 64-bit value (LEA: no canonical check, SDM Vol. 2A LEA), or
 *  zero-extended from 32 bits with a 67 prefix. */
export function eaOffsetFull(c: Cpu): bigint {
  const d = D64;
  if (!d.a64) return BigInt(eaOffset(c));
  let v = BigInt(d.disp) + (d.ripRel ? BigInt(c.eip) : 0n);
  if (d.base >= 0) v += (BigInt(c.r32hi[d.base]) << 32n) | BigInt(c.r32[d.base] >>> 0);
  if (d.index >= 0) v += ((BigInt(c.r32hi[d.index]) << 32n) | BigInt(c.r32[d.index] >>> 0)) << BigInt(d.scale);
  return BigInt.asUintN(64, v);
}

/** The linear address of the memory operand, canonical (else #GP(0) / #SS(0)). */
export function ea(c: Cpu): number {
  const d = D64;
  const lin = eaOffset(c) + segBase64(c, d.seg);
  if (!(lin >= -CANON && lin < CANON)) canonicalFault(c, d.seg);
  return lin;
}

/** Linear address of offset `off` in segment `s` (string instructions, XLAT, moffs), checked. */
export function linOf(c: Cpu, s: number, off: number): number {
  const lin = off + segBase64(c, s);
  if (!(lin >= -CANON && lin < CANON)) canonicalFault(c, s);
  return lin;
}

// ---- registers by size ----------------------------------------------------------------------

/** Byte register index into Cpu.r8: with any REX, 4-7 are SPL/BPL/SIL/DIL; without, AH..BH. */
export function r8Index(r: number): number {
  return D64.rex !== 0 || r < 4 ? r << 2 : ((r & 3) << 2) | 1;
}

export function getR(c: Cpu, r: number, s: Sz): bigint {
  switch (s) {
    case Sz.B: return BigInt(c.r8[r8Index(r)]);
    case Sz.W: return BigInt(c.r16[r << 1]);
    case Sz.D: return BigInt(c.r32[r] >>> 0);
    default: return (BigInt(c.r32hi[r] >>> 0) << 32n) | BigInt(c.r32[r] >>> 0);
  }
}
/** Writes a register: 32-bit results zero-extend into bits 63:32 (SDM Vol. 1 §3.4.1.1); 8/16-bit
 *  results leave the rest unchanged. */
export function setR(c: Cpu, r: number, s: Sz, v: bigint): void {
  switch (s) {
    case Sz.B: c.r8[r8Index(r)] = Number(v & 0xffn); return;
    case Sz.W: c.r16[r << 1] = Number(v & 0xffffn); return;
    case Sz.D: c.r32[r] = Number(v & 0xffffffffn) | 0; c.r32hi[r] = 0; return;
    default: c.r32[r] = Number(v & 0xffffffffn) | 0; c.r32hi[r] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
}
/** Writes a 32-bit number result (zero-extending). */
export function setR32(c: Cpu, r: number, v: number): void { c.r32[r] = v; c.r32hi[r] = 0; }

/** Sign-extends `v` of size `s` to a signed BigInt. */
export function sx(v: bigint, s: Sz): bigint { return BigInt.asIntN(BITS[s], v); }

// ---- the r/m operand -------------------------------------------------------------------------

/** The r/m operand: a register (mod = 3) or memory at `lin` (ea() computed by the caller). */
export function rmRead(c: Cpu, s: Sz, lin: number): bigint { return D64.mod === 3 ? getR(c, D64.rm, s) : readSized(c, lin, s); }
export function rmWrite(c: Cpu, s: Sz, lin: number, v: bigint): void { if (D64.mod === 3) setR(c, D64.rm, s, v); else writeSized(c, lin, s, v); }
export function rmLin(c: Cpu): number { return D64.mod === 3 ? 0 : ea(c); }
