// VMX instructions executed in 64-bit mode (SDM Vol. 3C §31.3: VMREAD/VMWRITE "operand size is
// 64 bits in 64-bit mode", the m64 pointers and m128 descriptors at 64-bit linear addresses;
// §28.2.5 instruction information with address size 2 and REX-extended register numbers). The
// 64-bit interpreter (cpu/long/exec64.ts) has decoded ModRM into D64 before it calls the unit;
// these helpers take the operands from there. Never on the 32-bit path.
import type { Cpu } from '../cpu/cpu';
import { D64, Sz, ea, getR, setR } from '../cpu/long/decode64';
import { read32, readSized, write64, writeSized } from '../cpu/long/mem64';
import { toU64 } from '../cpu/long/long-mode';
import { OperandParts } from './exit-info';
import { FieldWidth, fieldWidth, isHighAccess } from './fields';
import type { CurrentVmcs } from './vmcs';

/** Reads the m64 operand at the effective address into `out` ([lo, hi]). */
export function readM64Long(c: Cpu, out: Int32Array): void {
  const lin = ea(c);
  out[0] = read32(c, lin);
  out[1] = read32(c, lin + 4);
}

/** Reads the m128 descriptor of INVEPT/INVVPID into `out` (four dwords). */
export function readM128Long(c: Cpu, out: Int32Array): void {
  const lin = ea(c);
  for (let i = 0; i < 4; i++) out[i] = read32(c, lin + i * 4);
}

/** Writes the m64 operand (VMPTRST). */
export function writeM64Long(c: Cpu, lo: number, hi: number): void {
  write64(c, ea(c), toU64(lo, hi));
}

/** The 64-bit field-encoding register of VMREAD/VMWRITE (ModRM.reg with REX.R): the encoding,
 *  or -1 when bits 63:32 are set (no field corresponds). */
export function fieldEncodingLong(c: Cpu): number {
  return c.r32hi[D64.reg] !== 0 ? -1 : c.r32[D64.reg] >>> 0;
}

/** VMREAD's 64-bit value of a supported field: narrower fields zero-extended, the high access
 *  type the upper 32 bits, 64-bit and natural-width fields whole. */
export function readFieldLong(s: CurrentVmcs, enc: number): bigint {
  if (isHighAccess(enc)) return BigInt(s.hi(enc));
  switch (fieldWidth(enc)) {
    case FieldWidth.Bits16: return BigInt(s.lo(enc) & 0xffff);
    case FieldWidth.Bits32: return BigInt(s.lo(enc));
    default: return toU64(s.lo(enc), s.hi(enc));
  }
}

/** VMWRITE of a 64-bit source `v` to a supported, writable field. */
export function writeFieldLong(s: CurrentVmcs, enc: number, v: bigint): void {
  const lo = Number(BigInt.asIntN(32, v)), hi = Number(BigInt.asIntN(32, v >> 32n));
  if (isHighAccess(enc)) { s.setHi(enc, lo); return; }
  switch (fieldWidth(enc)) {
    case FieldWidth.Bits16: s.setLo(enc, lo & 0xffff); return;
    case FieldWidth.Bits32: s.setLo(enc, lo); return;
    default: s.setLo(enc, lo); s.setHi(enc, hi); return; // 64-bit and natural width
  }
}

/** VMREAD's destination r/m64. */
export function writeRm64(c: Cpu, v: bigint): void {
  if (D64.mod === 3) setR(c, D64.rm, Sz.Q, v); else writeSized(c, ea(c), Sz.Q, v);
}

/** VMWRITE's source r/m64. */
export function readRm64(c: Cpu): bigint {
  return D64.mod === 3 ? getR(c, D64.rm, Sz.Q) : readSized(c, ea(c), Sz.Q);
}

/** The operand parts of the current 64-bit instruction for the exit's instruction information
 *  (§28.2.5): register numbers with REX (0-15), address size 64 unless 67H. A RIP-relative
 *  operand has no base register (base invalid) and its displacement as the qualification. */
export function operandPartsLong(o: OperandParts): void {
  const d = D64;
  o.reg = d.reg; o.rm = d.rm; o.memory = d.mod !== 3;
  o.addr64 = d.a64; o.addr32 = !d.a64;
  o.seg = d.seg; o.base = -1; o.index = -1; o.scale = 0; o.disp = 0;
  if (!o.memory) return;
  o.base = d.base; o.index = d.index; o.scale = d.index >= 0 ? d.scale : 0; o.disp = d.disp;
}
