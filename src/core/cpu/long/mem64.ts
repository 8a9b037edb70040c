// Memory and register access of 64-bit mode (SDM Vol. 1 §3.3.7 "Address Calculations in 64-Bit
// Mode", Vol. 3A §3.2.4 "Segmentation in IA-32e Mode"): linear addresses are JS numbers holding
// the signed canonical value (exact, |lin| < 2^47); segment limits are not checked; below 4 GB
// the accesses go through the CPU's ordinary TLB paths, above through Tlb.translate64.
import type { Cpu } from '../cpu';
import { Seg, Vector } from '../regs';
import { PageKind, PHYS_LIMIT } from '../../platform/memory';
import { ApicAccessKind } from '../vmx-hooks';
import { CANON } from './long-mode';

const TWO32 = 4294967296;

/** #GP(0), or #SS(0) for a stack reference, for a non-canonical address (SDM Vol. 3A §6.15). */
export function canonicalFault(c: Cpu, seg: number): never {
  return c.raiseErr(seg === Seg.SS ? Vector.SS : Vector.GP, 0);
}

/** Checks `lin` is canonical (else #GP(0)/#SS(0) per `seg`). */
export function checkCanon(c: Cpu, lin: number, seg: number): void {
  if (!(lin >= -CANON && lin < CANON)) canonicalFault(c, seg);
}

function hiOf(lin: number): number { return Math.floor(lin / TWO32) | 0; }

/** Physical address of `lin` above 4 GB (the tagged TLB part / 4-level walk). */
function phys(c: Cpu, lin: number, write: boolean): number {
  return c.tlb.translate64(lin >>> 0 | 0, hiOf(lin), write, false);
}

export function read8(c: Cpu, lin: number): number {
  if (lin >= 0 && lin < TWO32) return c.readLin8(lin | 0);
  return c.mem.read8(phys(c, lin, false));
}
export function read16(c: Cpu, lin: number): number {
  if (lin >= 0 && lin <= TWO32 - 2) return c.readLin16(lin | 0);
  if ((lin & 0xfff) === 0xfff) return read8(c, lin) | (read8(c, lin + 1) << 8);
  return c.mem.read16(phys(c, lin, false));
}
export function read32(c: Cpu, lin: number): number {
  if (lin >= 0 && lin <= TWO32 - 4) return c.readLin32(lin | 0);
  if (((lin >>> 0) & 0xfff) > 0xffc) return read16(c, lin) | (read16(c, lin + 2) << 16);
  return c.mem.read32(phys(c, lin, false));
}
/** Makes sure a write to `lin` would not fault (multi-part stores check every page first). */
export function probeWrite(c: Cpu, lin: number): void {
  if (lin >= 0 && lin < TWO32) c.tlb.probeWrite(lin | 0); else phys(c, lin, true);
}
export function write8(c: Cpu, lin: number, v: number): void {
  if (lin >= 0 && lin < TWO32) { c.writeLin8(lin | 0, v); return; }
  c.mem.write8(phys(c, lin, true), v);
}
export function write16(c: Cpu, lin: number, v: number): void {
  if (lin >= 0 && lin <= TWO32 - 2) { c.writeLin16(lin | 0, v); return; }
  if (((lin >>> 0) & 0xfff) === 0xfff) { probeWrite(c, lin); probeWrite(c, lin + 1); write8(c, lin, v); write8(c, lin + 1, v >>> 8); return; }
  c.mem.write16(phys(c, lin, true), v);
}
export function write32(c: Cpu, lin: number, v: number): void {
  if (lin >= 0 && lin <= TWO32 - 4) { c.writeLin32(lin | 0, v); return; }
  if (((lin >>> 0) & 0xfff) > 0xffc) { probeWrite(c, lin); probeWrite(c, lin + 3); write16(c, lin, v); write16(c, lin + 2, v >>> 16); return; }
  c.mem.write32(phys(c, lin, true), v);
}
/** 8-byte accesses as two halves; a store checks both pages before writing either. */
export function read64(c: Cpu, lin: number): bigint {
  const lo = read32(c, lin), hi = read32(c, lin + 4);
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
export function write64(c: Cpu, lin: number, v: bigint): void {
  if (((lin >>> 0) & 0xfff) > 0xff8) { probeWrite(c, lin); probeWrite(c, lin + 7); }
  write32(c, lin, Number(v & 0xffffffffn) | 0);
  write32(c, lin + 4, Number((v >> 32n) & 0xffffffffn) | 0);
}
/** An 8-byte store given as halves (stack frames). */
export function write64Halves(c: Cpu, lin: number, lo: number, hi: number): void {
  if (((lin >>> 0) & 0xfff) > 0xff8) { probeWrite(c, lin); probeWrite(c, lin + 7); }
  write32(c, lin, lo); write32(c, lin + 4, hi);
}

/** Reads by size code (0: 8, 1: 16, 2: 32, 3: 64 bits) as an unsigned BigInt. */
export function readSized(c: Cpu, lin: number, s: number): bigint {
  switch (s) {
    case 0: return BigInt(read8(c, lin));
    case 1: return BigInt(read16(c, lin));
    case 2: return BigInt(read32(c, lin) >>> 0);
    default: return read64(c, lin);
  }
}
export function writeSized(c: Cpu, lin: number, s: number, v: bigint): void {
  switch (s) {
    case 0: write8(c, lin, Number(v & 0xffn)); return;
    case 1: write16(c, lin, Number(v & 0xffffn)); return;
    case 2: write32(c, lin, Number(v & 0xffffffffn) | 0); return;
    default: write64(c, lin, v);
  }
}

/** Supervisor-mode implicit access (descriptor tables, IDT, TSS) regardless of CPL. */
export function sysRead32(c: Cpu, lin: number): number { const t = c.tlb.beginSys(); try { return read32(c, lin); } finally { c.tlb.endSys(t); } }

// ---- 64-bit GPRs as numbers (addresses) ------------------------------------------------------

/** GPR r as a signed number (exact while |value| < 2^53; addresses always are). */
export function gq(c: Cpu, r: number): number { return c.r32hi[r] * TWO32 + (c.r32[r] >>> 0); }
/** Sets GPR r from an integer number in [-2^53, 2^53] (two's complement into 64 bits). */
export function sq(c: Cpu, r: number, n: number): void { c.r32[r] = n >>> 0 | 0; c.r32hi[r] = Math.floor(n / TWO32) | 0; }

/** Instruction fetch outside RAM in 64-bit mode (MMIO or no memory): one byte (cpu.ts fetchSlow). */
export function fetchSlow64(c: Cpu): number {
  const lin = c.eip;
  checkCanon(c, lin, Seg.CS);
  const p = c.tlb.translate64(lin >>> 0 | 0, hiOf(lin), false, true);
  const b = (p & ~0xfff) === c.apicAccessPage ? c.vmx!.apicAccess(p & 0xfff, 1, ApicAccessKind.Fetch, 0) : c.mem.read8(p);
  c.eip = lin + 1;
  return b;
}

/** Refills the fetch window (cpu.ts fetchLo/fetchHi/fetchDelta) for the page holding RIP; no
 *  decoded-instruction cache in 64-bit mode (it serves 32-bit code only). */
export function refillFetch64(c: Cpu): void {
  const rip = c.eip;
  checkCanon(c, rip, Seg.CS);
  const lo = rip >>> 0 | 0, hi = hiOf(rip);
  c.fetchCache = null;
  const p = c.tlb.translate64(lo, hi, false, true); // faults on #PF (NX too)
  // Above 4 GB (no memory) byte by byte through fetchSlow64, which reads all ones there.
  const k = p >= PHYS_LIMIT ? PageKind.Unmapped : c.mem.kind[p >>> 12];
  if ((k !== PageKind.Ram && k !== PageKind.Rom) || (p & ~0xfff) === c.apicAccessPage) { c.fetchLo = 1; c.fetchHi = 0; return; }
  const pageStart = rip - (lo & 0xfff);
  c.fetchLo = pageStart;
  c.fetchHi = pageStart + 0xfff;
  c.fetchDelta = (p & ~0xfff) - pageStart;
}
