// IA-32e mode state (SDM Vol. 3A §2.2.1 "Extended Feature Enable Register", §9.8.5
// "Initializing IA-32e Mode", Vol. 4 Table 2-2 the IA-32e MSRs): EFER.LME/LMA transitions, the
// MSRs of SYSCALL and the FS/GS bases, canonical addresses, and the 64-bit views of the CPU
// state that the VMX layer and tests use (full RIP, RSP, GPRs, segment bases, control registers).
//
// Representation (see cpu.ts): a GPR is r32[i] (bits 31:0) and r32hi[i] (bits 63:32); in 64-bit
// mode `Cpu.eip` is the whole RIP as a JS number (always canonical, so exact); a segment base is
// segBase[s] | segBaseHi[s] << 32.
import type { Cpu } from '../cpu';
import { Cr0, Cr4, Efer, Seg } from '../regs';
import { CpuidExtEdx } from '../model';

/** IA-32e MSRs (SDM Vol. 4 Table 2-2). */
export const enum LongMsrNumber {
  STAR = 0xc0000081, LSTAR = 0xc0000082, CSTAR = 0xc0000083, FMASK = 0xc0000084,
  FS_BASE = 0xc0000100, GS_BASE = 0xc0000101, KERNEL_GS_BASE = 0xc0000102,
}
/** Slots of Cpu.longMsr ([lo, hi] at 2k, 2k+1). */
export const enum LongMsr { Star = 0, Lstar = 2, Cstar = 4, Fmask = 6, KernelGsBase = 8 }

const TWO32 = 4294967296;
/** 2^47: canonical addresses are [-2^47, 2^47) as signed numbers (SDM Vol. 1 §3.3.7.1). */
export const CANON = 140737488355328;

export function hasLongMode(c: Cpu): boolean { return (c.model.extEdx & CpuidExtEdx.LM) !== 0; }
export function lma(c: Cpu): boolean { return (c.efer & Efer.LMA) !== 0; }

/** A 64-bit value given as lo/hi halves, canonical (bits 63:47 equal)? */
export function canonicalHalves(lo: number, hi: number): boolean {
  void lo;
  const top = hi >> 15; // bits 63:47 as a signed value: 0 or -1 when canonical
  return top === 0 || top === -1;
}
export function isCanonical(n: number): boolean { return n >= -CANON && n < CANON; }

/** Signed number of a lo/hi pair (exact when |value| < 2^53). */
export function pairToNumber(lo: number, hi: number): number { return (hi | 0) * TWO32 + (lo >>> 0); }
export function numberLo(n: number): number { return n >>> 0 | 0; }
export function numberHi(n: number): number { return Math.floor(n / TWO32) | 0; }

// ---- 64-bit views for the VMX layer and tests (BigInt: never on a hot path) ----------------

export function toU64(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }
export function lo32(v: bigint): number { return Number(BigInt.asIntN(32, v)); }
export function hi32(v: bigint): number { return Number(BigInt.asIntN(32, v >> 32n)); }

/** RIP (64-bit mode: the whole register; otherwise EIP zero-extended). */
export function getRip(c: Cpu): bigint { return BigInt.asUintN(64, BigInt(c.eip)); }
/** Sets RIP; outside 64-bit mode only bits 31:0 matter (SDM Vol. 3C §27.3.1.1 loads RIP whole). */
export function setRip(c: Cpu, v: bigint): void {
  c.eip = c.mode64 ? Number(BigInt.asIntN(64, v)) : Number(BigInt.asUintN(32, v));
  c.invalidateFetch();
}
export function getGpr64(c: Cpu, r: number): bigint { return toU64(c.r32[r], c.r32hi[r]); }
export function setGpr64(c: Cpu, r: number, v: bigint): void { c.r32[r] = lo32(v); c.r32hi[r] = hi32(v); }
export function getSegBase64(c: Cpu, s: number): bigint { return toU64(c.segBase[s], c.segBaseHi[s]); }
export function setSegBase64(c: Cpu, s: number, v: bigint): void {
  c.segBase[s] = lo32(v); c.segBaseHi[s] = hi32(v);
  if (s === Seg.CS) c.invalidateFetch();
}
export function getCr2_64(c: Cpu): bigint { return toU64(c.cr2, c.cr2hi); }
export function setCr2_64(c: Cpu, v: bigint): void { c.cr2 = lo32(v); c.cr2hi = hi32(v); }
export function getGdtrBase64(c: Cpu): bigint { return toU64(c.gdtrBase, c.gdtrBaseHi); }
export function setGdtrBase64(c: Cpu, v: bigint): void { c.gdtrBase = lo32(v); c.gdtrBaseHi = hi32(v); }
export function getIdtrBase64(c: Cpu): bigint { return toU64(c.idtrBase, c.idtrBaseHi); }
export function setIdtrBase64(c: Cpu, v: bigint): void { c.idtrBase = lo32(v); c.idtrBaseHi = hi32(v); }

/**
 * Loads IA32_EFER without WRMSR's checks, as VM entry and exit do (SDM Vol. 3C §27.3.2.1: with
 * "load IA32_EFER", or LMA/LME from "IA-32e mode guest"; §28.5.1 "host address-space size"),
 * then recomputes 64-bit mode from CS.L and drops the TLB (the paging mode may change). Callers
 * that load a whole state load EFER and CS before RIP: setRip keeps 64 bits only in 64-bit mode.
 */
export function loadEfer(c: Cpu, v: number): void {
  c.efer = v;
  c.updateSegLimits(Seg.CS);
  c.tlb.flushAll();
}

/**
 * Recomputes IA32_EFER.LMA after CR0.PG, CR4.PAE or EFER.LME changed (SDM Vol. 3A §9.8.5:
 * LMA = LME and PG, the PAE check being done by the caller's #GP rules), then 64-bit mode
 * (which also needs CS.L, cpu.ts updateSegLimits).
 */
export function updateLma(c: Cpu): void {
  const on = (c.efer & Efer.LME) !== 0 && (c.cr0 & Cr0.PG) !== 0;
  const was = (c.efer & Efer.LMA) !== 0;
  if (on === was) return;
  c.efer = on ? c.efer | Efer.LMA : c.efer & ~Efer.LMA;
  c.updateSegLimits(Seg.CS);
  c.tlb.flushAll();
}

/**
 * The #GP(0) rules of MOV to CR0 for IA-32e mode (SDM Vol. 2B MOV CR "Protected Mode
 * Exceptions", Vol. 3A §9.8.5): setting PG with LME = 1 needs CR4.PAE = 1 and CS.L = 0; clearing
 * PG in 64-bit mode is not allowed (only from compatibility mode). True when allowed.
 */
export function cr0LongModeAllowed(c: Cpu, v: number): boolean {
  const pgOn = (v & Cr0.PG) !== 0 && (c.cr0 & Cr0.PG) === 0;
  const pgOff = (v & Cr0.PG) === 0 && (c.cr0 & Cr0.PG) !== 0;
  if (pgOn && (c.efer & Efer.LME) !== 0 && ((c.cr4 & Cr4.PAE) === 0 || (c.segAttr[Seg.CS] & (1 << 13)) !== 0)) return false;
  if (pgOff && c.mode64) return false;
  return true;
}

/** MOV to CR4 clearing PAE while IA32_EFER.LMA = 1: #GP(0) (SDM Vol. 2B MOV CR). */
export function cr4LongModeAllowed(c: Cpu, v: number): boolean {
  return !((c.efer & Efer.LMA) !== 0 && (v & Cr4.PAE) === 0);
}
