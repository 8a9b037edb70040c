// A CPU model: the identity CPUID reports and the features the core implements. VMX-capable
// generations (Merom, Nehalem, ...) are built in src/core/vmx/generations.ts and cpu-model.ts.
import type { VmxFactory } from './vmx-hooks';
import { cpuidLeafD } from './xstate';

/** CPUID.1:EDX feature bits (SDM Vol. 2A, CPUID, Table 3-11). */
export enum Cpuid1Edx {
  FPU = 1 << 0, VME = 1 << 1, DE = 1 << 2, PSE = 1 << 3, TSC = 1 << 4, MSR = 1 << 5, PAE = 1 << 6,
  MCE = 1 << 7, CX8 = 1 << 8, APIC = 1 << 9, SEP = 1 << 11, MTRR = 1 << 12, PGE = 1 << 13,
  MCA = 1 << 14, CMOV = 1 << 15, PAT = 1 << 16, PSE36 = 1 << 17, CLFSH = 1 << 19, MMX = 1 << 23,
  FXSR = 1 << 24, SSE = 1 << 25, SSE2 = 1 << 26,
}
/** CPUID.1:ECX feature bits. */
export enum Cpuid1Ecx { SSE3 = 1 << 0, MONITOR = 1 << 3, VMX = 1 << 5, SMX = 1 << 6, XSAVE = 1 << 26, OSXSAVE = 1 << 27, RDRAND = 1 << 30, HYPERVISOR = 1 << 31 }
/** CPUID.(EAX=07H, ECX=0):EBX bits (SDM Vol. 2A, CPUID, Table 3-8). */
export enum Cpuid7Ebx { INVPCID = 1 << 10, RDSEED = 1 << 18 }
/** CPUID.80000001h:EDX bits. */
export enum CpuidExtEdx { SYSCALL = 1 << 11, NX = 1 << 20, PAGE1GB = 1 << 26, RDTSCP = 1 << 27, LM = 1 << 29 }

export interface CpuModel {
  readonly name: string;
  readonly vendor: string; // 12 chars
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  readonly brand: string; // up to 48 chars
  readonly leaf1Edx: number;
  readonly leaf1Ecx: number;
  readonly extEdx: number;
  /** CPUID.(EAX=07H, ECX=0):EBX; absent or 0: the maximum basic leaf is 1 (no leaf 7). */
  readonly leaf7Ebx?: number;
  /** Guest frequency used to turn retired instructions into time (Hz). */
  readonly tscHz: number;
  /** Installs the VMX unit on a CPU of this model (src/core/vmx/cpu-model.ts); absent: no VMX. */
  readonly vmx?: VmxFactory;
}

/** A P6-class model carrying exactly what the interpreter implements today. */
export const P6_MODEL: CpuModel = {
  name: 'p6',
  vendor: 'GenuineIntel',
  family: 6, model: 15, stepping: 6,
  brand: 'vmxlab virtual P6-class CPU',
  leaf1Edx: Cpuid1Edx.FPU | Cpuid1Edx.VME | Cpuid1Edx.DE | Cpuid1Edx.PSE | Cpuid1Edx.TSC |
    Cpuid1Edx.MSR | Cpuid1Edx.PAE | Cpuid1Edx.CX8 | Cpuid1Edx.SEP | Cpuid1Edx.PGE | Cpuid1Edx.CMOV |
    Cpuid1Edx.FXSR,
  leaf1Ecx: 0,
  extEdx: CpuidExtEdx.NX,
  tscHz: 1_000_000_000,
};

/** The processor signature: CPUID.1 EAX and EDX after RESET (SDM Vol. 2A, CPUID, Figure
 *  "Version Information Returned by CPUID in EAX"): extended family and model fields included. */
export function cpuSignature(m: CpuModel): number {
  const fam = m.family > 15 ? 15 : m.family, extFam = m.family > 15 ? m.family - 15 : 0;
  return (extFam << 20) | (((m.model >> 4) & 0xf) << 16) | (fam << 8) | ((m.model & 0xf) << 4) | m.stepping;
}

function str4(s: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (s.charCodeAt(i + k) & 0xff) << (8 * k);
  return v >>> 0;
}

/**
 * The per-processor part of CPUID.1 (SDM Vol. 2A, CPUID, Table 3-8; Vol. 3A §10.4.2-10.4.3):
 * EBX[31:24] the initial APIC ID, EDX[9] APIC while IA32_APIC_BASE[11] enables the local APIC.
 * The model's leaf1Edx never carries APIC: the platform decides whether there is one.
 */
export function cpuidLeaf1Apic(out: Int32Array, apicId: number, apicEnabled: boolean): void {
  out[1] = (out[1] & 0x00ffffff) | ((apicId & 0xff) << 24);
  out[3] = apicEnabled ? out[3] | Cpuid1Edx.APIC : out[3] & ~Cpuid1Edx.APIC;
}

/** The highest basic CPUID leaf of a model: 0DH with XSAVE (leaf 0DH enumerates it, SDM Vol. 2A
 *  CPUID), else 7 when it reports leaf-7 features, else 1. */
export function maxBasicLeaf(m: CpuModel): number {
  if ((m.leaf1Ecx & Cpuid1Ecx.XSAVE) !== 0) return 0xd;
  return (m.leaf7Ebx ?? 0) !== 0 ? 7 : 1;
}

/** CPUID leaf results as [eax, ebx, ecx, edx] (SDM Vol. 2A, CPUID). */
export function cpuidLeaf(m: CpuModel, leaf: number, sub: number, out: Int32Array): void {
  leaf >>>= 0;
  out[0] = out[1] = out[2] = out[3] = 0;
  const maxBasic = maxBasicLeaf(m);
  if (leaf === 0) {
    out[0] = maxBasic; out[1] = str4(m.vendor, 0); out[3] = str4(m.vendor, 4); out[2] = str4(m.vendor, 8);
  } else if (leaf === 1) {
    out[0] = cpuSignature(m);
    out[1] = 0; out[2] = m.leaf1Ecx; out[3] = m.leaf1Edx;
  } else if (leaf === 0x80000000) {
    // Intel 64 processors report leaf 80000008H (address sizes).
    out[0] = ((m.extEdx & CpuidExtEdx.LM) !== 0 ? 0x80000008 : 0x80000004) | 0;
  } else if (leaf === 0x80000008 && (m.extEdx & CpuidExtEdx.LM) !== 0) {
    // Address sizes: EAX[7:0] physical (36, the width the 4-level walk checks), EAX[15:8] linear (48).
    out[0] = 0x3024;
  } else if (leaf === 0x80000001) {
    out[3] = m.extEdx;
  } else if (leaf >= 0x80000002 && leaf <= 0x80000004) {
    const b = m.brand.padEnd(48, '\0');
    const base = (leaf - 0x80000002) * 16;
    for (let k = 0; k < 4; k++) out[k] = str4(b, base + 4 * k);
  } else if (leaf > maxBasic && leaf < 0x80000000) {
    // Above the maximum basic leaf, Intel CPUs answer the highest basic leaf (SDM: CPUID).
    cpuidLeaf(m, maxBasic, 0, out);
  } else if (leaf === 5 && (m.leaf1Ecx & Cpuid1Ecx.MONITOR) !== 0) {
    // MONITOR/MWAIT leaf: smallest and largest monitor-line size (64 bytes); ECX = 1 (the MWAIT
    // extensions are enumerated: none, no interrupt break-event), EDX = 0 (no C-state sub-
    // states). vmxlab's MWAIT never waits (ops/monitor.ts), and with extensions enumerated but
    // no C1 sub-state Linux idles with HLT (prefer_mwait_c1_over_halt); with ECX = 0 it would
    // spin in MWAIT instead.
    out[0] = 64; out[1] = 64; out[2] = 1;
  } else if (leaf === 7 && (sub >>> 0) === 0) {
    // Structured extended features, sub-leaf 0: EAX = highest sub-leaf (0).
    out[1] = m.leaf7Ebx ?? 0;
  } else if (leaf === 0xd) {
    // Processor extended state enumeration (xstate.ts); EBX of sub-leaf 0 follows XCR0 at
    // CPUID time (cpuidXsaveDynamic).
    cpuidLeafD(sub, out);
  }
  // Leaves 2-6 and 8-0CH within the maximum (cache and TLB descriptors, deterministic cache
  // parameters, thermal and power, performance monitoring, topology) answer 0: no descriptors,
  // no cache levels, no architectural performance monitoring, no topology enumerated.
}
