// The XSAVE feature set as this CPU has it (SDM Vol. 1 ch. 13 "Managing State Using the XSAVE
// Feature Set"; CPUID leaf 0DH in Vol. 2A CPUID): which state components XCR0 may enable, the
// XSAVE area's layout and the CPUID values that describe it. The instructions are in
// ops/xsave.ts.
//
// Supported components: x87 only (XCR0 bit 0). The interpreter executes no SSE instruction and
// has no XMM registers (CPUID.1:EDX.SSE = 0), and the SDM lets a processor support state
// component 0 without 1 (Vol. 1 §13.3: XCR0[0] must be 1, every other bit is optional; a
// component is supported exactly when CPUID.(EAX=0DH,ECX=0):EAX reports it). Offering bit 1
// would need XMM registers as bare storage behind instructions that #UD. An OS sees a coherent
// part: Linux masks every xstate component by its CPUID feature (xsave_cpuid_features: SSE needs
// X86_FEATURE_XMM), finds x87 without SSE, logs "FP/SSE not present amongst the CPU's xstate
// features" and runs with FXSAVE instead; that is what it would do with x87|SSE offered too,
// since CPUID.1:EDX.SSE is 0.
import type { CpuModel } from './model';
import { Cpuid1Ecx } from './model';

/** XCR0 state-component bits (SDM Vol. 1 §13.1, §13.3). */
export enum Xcr0 { X87 = 1 << 0, SSE = 1 << 1, AVX = 1 << 2 }

/** The XCR0 bits this CPU supports: CPUID.(EAX=0DH,ECX=0):EAX (and EDX = 0). */
export const XCR0_SUPPORTED = Xcr0.X87;

/** Standard-format XSAVE area (SDM Vol. 1 §13.4): the legacy region (the FXSAVE layout) in bytes
 *  0-511, the XSAVE header in bytes 512-575 (XSTATE_BV at 512, XCOMP_BV at 520, the rest
 *  reserved); the extended region of components 2 and up would follow. */
export const XSAVE_LEGACY_BYTES = 512;
export const XSAVE_HEADER_BYTES = 64;
/** Bytes of the area for XCR0 = x87 (the largest, as no component above 1 exists): CPUID
 *  leaf 0DH EBX and ECX. */
export const XSAVE_AREA_BYTES = XSAVE_LEGACY_BYTES + XSAVE_HEADER_BYTES;
/** XSAVE, XRSTOR: #GP(0) unless the area is 64-byte aligned (SDM Vol. 2C XSAVE). */
export const XSAVE_ALIGN = 64;

/** Whether the model reports the XSAVE feature set (CPUID.1:ECX.XSAVE[26]). */
export function hasXsave(m: CpuModel): boolean {
  return (m.leaf1Ecx & Cpuid1Ecx.XSAVE) !== 0;
}

/** The bytes an XSAVE area takes for the components `xcr0` enables (CPUID leaf 0DH EBX). Only
 *  components 0 and 1 can be on, and both live in the legacy region. */
export function xsaveAreaBytes(_xcr0: number): number {
  return XSAVE_AREA_BYTES;
}

/**
 * CPUID leaf 0DH of a model with XSAVE (SDM Vol. 2A CPUID, "Processor Extended State Enumeration
 * Main Leaf (EAX = 0DH, ECX = 0)" and sub-leaf 1), without the per-processor part (EBX of
 * sub-leaf 0 depends on XCR0: cpuidXsaveDynamic):
 *   sub-leaf 0: EAX = supported XCR0 bits [31:0], EBX = bytes for the enabled components,
 *               ECX = bytes for every supported component, EDX = supported XCR0 bits [63:32];
 *   sub-leaf 1: EAX = 0: no XSAVEOPT [0], XSAVEC [1], XGETBV with ECX = 1 [2], XSAVES [3];
 *   sub-leaf 2 and up: zero (no component above 1 is supported).
 */
export function cpuidLeafD(sub: number, out: Int32Array): void {
  if ((sub >>> 0) === 0) {
    out[0] = XCR0_SUPPORTED; out[1] = xsaveAreaBytes(Xcr0.X87); out[2] = XSAVE_AREA_BYTES; out[3] = 0;
  }
}

/**
 * The parts of CPUID that follow the processor's XSAVE state: CPUID.1:ECX.OSXSAVE[27] reads
 * CR4.OSXSAVE (SDM Vol. 2A CPUID Table 3-10), CPUID.(0DH,0):EBX the area size for the current
 * XCR0. `leaf`/`sub` are the inputs; `out` holds the model's answer.
 */
export function cpuidXsaveDynamic(m: CpuModel, leaf: number, sub: number, osxsave: boolean, xcr0: number, out: Int32Array): void {
  if (!hasXsave(m)) return;
  leaf >>>= 0;
  if (leaf === 1) out[2] = osxsave ? out[2] | Cpuid1Ecx.OSXSAVE : out[2] & ~Cpuid1Ecx.OSXSAVE;
  else if (leaf === 0xd && (sub >>> 0) === 0) out[1] = xsaveAreaBytes(xcr0);
}
