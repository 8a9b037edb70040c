// The x86 CPU: architectural state, memory access through segmentation and the software TLB,
// instruction fetch, ModRM decoding, lazy flags and the run loop. Instruction semantics live in
// ops/*.ts, rows in decode-table.ts; protected-mode transfers in segmentation.ts and
// interrupts.ts; paging in paging.ts.
import { IoBus } from '../platform/io-bus';
import { PhysicalMemory, PageKind } from '../platform/memory';
import { CpuFault, FAULT } from './fault';
import { Cr0, Efer, Flag, Seg, SegAttr, Vector, ARITH_FLAGS } from './regs';
import { CpuModel, P6_MODEL, cpuSignature } from './model';
import { Tlb, TlbBit } from './paging';
import type { Fpu } from './fpu/fpu';
import type { DecodeCache } from './decode-cache';
import type { Insn } from './insn';
import { ApicAccessKind, VM_EXIT, type VmxHooks } from './vmx-hooks';

/** Why `run` returned. */
export enum StopReason { Budget = 0, Halted = 1, Shutdown = 2, Breakpoint = 3, Requested = 4 }

/** Something that raises maskable interrupts (the PIC / APIC, filled in by the platform). */
export interface InterruptSource {
  /** True when an unmasked interrupt is waiting. */
  hasInterrupt(): boolean;
  /** Acknowledges the interrupt and returns its vector. */
  acknowledge(): number;
}

/** What the CPU core sees of its local APIC (SDM Vol. 3A §10.4.3-10.4.4). */
export interface CpuLocalApic {
  /** IA32_APIC_BASE: [8] BSP | [11] global enable | [31:12] base (bits 35:32 read as 0). */
  readBaseMsr(): number;
  /** WRMSR IA32_APIC_BASE; false for reserved bits (#GP). */
  writeBaseMsr(lo: number, hi: number): boolean;
  /** IA32_APIC_BASE[11]: while clear, CPUID.1:EDX.APIC reads 0 (SDM §10.4.3). */
  readonly hwEnabled: boolean;
}

/** What started an interrupt shadow (SDM Vol. 3A §6.8.3): VM entry fails with error 26 after
 *  MOV SS / POP SS (Vol. 3C §31.3 VMLAUNCH/VMRESUME), and VMX saves the two kinds apart. */
export enum InhibitBy { Sti = 1, MovSs = 2 }
/** DR6.BS: the #DB was a single step (SDM Vol. 3A §17.2.3). */
export const DR6_BS = 0x4000;

/** Lazy-flag operation kinds: how to derive CF/OF/AF from the saved operands. */
export enum LazyKind { Add = 0, Sub = 1, Logic = 2 }

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b !== 0; b >>= 1) p ^= b & 1;
  PARITY[i] = p ? Flag.PF : 0;
}

export const SIZE_MASK = [0xff, 0xffff, 0xffffffff] as const;
export const SIZE_SIGN = [0x80, 0x8000, 0x80000000 | 0] as const;

/** An opcode handler; `code` is the opcode byte (the second byte for the 0F map). */
export type OpHandler = (c: Cpu, code: number) => void;

/** Set by decode-table.ts: one-byte and 0F-prefixed dispatch tables. */
export const OPS: OpHandler[] = new Array(256);
export const OPS_0F: OpHandler[] = new Array(256);

/** Prefix bytes (SDM Vol. 2A §2.1.1). */
const IS_PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) IS_PREFIX[p] = 1;

export class Cpu {
  readonly mem: PhysicalMemory;
  readonly io: IoBus;
  model: CpuModel;

  // ---- General registers: 16 slots, low 32 bits here, 8/16-bit views over the same buffer.
  readonly r32 = new Int32Array(16);
  readonly r16 = new Uint16Array(this.r32.buffer);
  readonly r8 = new Uint8Array(this.r32.buffer);
  /** High halves of the 64-bit registers (long mode, later). */
  readonly r32hi = new Int32Array(16);
  eip = 0;

  // ---- EFLAGS: `flags` holds every bit except those in `lazyMask`, derived on demand.
  flags = 2;
  lazyMask = 0;
  lazyKind: LazyKind = LazyKind.Logic;
  lazyA = 0;
  lazyB = 0;
  lazyRes = 0;
  /** 0, 1, 2 for 8, 16, 32-bit results. */
  lazySize = 0;

  // ---- Segment registers and descriptor caches (ES CS SS DS FS GS LDTR TR).
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Int32Array(8);
  /** Raw limit (byte granular, expanded) and VMX-layout access rights. */
  readonly segLimit = new Uint32Array(8);
  readonly segAttr = new Int32Array(8);
  /** Valid offsets for reads and for writes: [lo, hi]; lo > hi means none (null/unusable). */
  readonly rdLo = new Uint32Array(8);
  readonly rdHi = new Uint32Array(8);
  readonly wrLo = new Uint32Array(8);
  readonly wrHi = new Uint32Array(8);
  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0x3ff;

  // ---- IA-32e mode (SDM Vol. 3A §2.2.1, long/long-mode.ts). In 64-bit mode `eip` holds the whole
  // RIP as a JS number (canonical, so |RIP| < 2^47 and exact); elsewhere it is a 32-bit offset.
  /** 64-bit mode: IA32_EFER.LMA = 1 and CS.L = 1 (recomputed with CS and EFER). */
  mode64 = false;
  /** Bits 63:32 of the segment bases (FS/GS in 64-bit mode, the 16-byte LDT/TSS descriptors). */
  readonly segBaseHi = new Int32Array(8);
  gdtrBaseHi = 0; idtrBaseHi = 0;
  /** CR2 bits 63:32 (the faulting linear address of a #PF above 4 GB). */
  cr2hi = 0;
  /** CR3 bits 35:32 (MAXPHYADDR 36): the PML4 table's address above 4 GB in IA-32e mode, set by
   *  MOV to CR3 in 64-bit mode and VM entry/exit; only the 4-level walk (paging.ts) reads it. */
  cr3hi = 0;
  /** CR8 (TPR in 64-bit mode, SDM Vol. 3A §10.8.6.1): 4 bits. */
  cr8 = 0;
  /** IA-32e MSRs as [lo, hi] pairs by LongMsr index (long/long-mode.ts). */
  readonly longMsr = new Int32Array(16);

  // ---- Control, debug and model-specific state.
  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  /** XCR0, the XSAVE feature mask (SDM Vol. 1 §13.3; ops/xsave.ts): 1 (x87) after RESET,
   *  unchanged by INIT (SDM Vol. 3A Table 9-1). */
  xcr0 = 1;
  readonly dr = new Int32Array(8);
  /** MSRs the core does not model individually: number -> [lo, hi]. */
  readonly msrs = new Map<number, [number, number]>();
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  /** Bits 63:32 of IA32_SYSENTER_ESP/EIP (Intel 64 models; SYSENTER in IA-32e mode uses them). */
  sysenterEspHi = 0; sysenterEipHi = 0;
  /** Offset added to retired instructions to form the TSC (written by WRMSR 0x10). */
  tscOffset = 0;

  cpl = 0;
  /** CS.D: default operand/address size of the current code segment. */
  code32 = false;
  /** SS.B: stack pointer width. */
  stack32 = false;

  // ---- Per-instruction decode state.
  os32 = false;
  as32 = false;
  segOvr = -1;
  /** 0 none, 0xF3 REP/REPE, 0xF2 REPNE. */
  rep = 0;
  lock = false;
  instrStart = 0;
  modrm = 0;
  /** For memory operands: segment and offset of the effective address. */
  eaSeg = 0;
  eaOff = 0;

  // ---- Execution state.
  halted = false;
  shutdown = false;
  shutdownReason = '';
  /** Retired instructions (virtual time is derived from this). */
  icount = 0;
  /** Interrupts are inhibited until this instruction count (MOV SS / POP SS / STI shadow). */
  inhibitUntil = -1;
  /** Which instruction set `inhibitUntil`. */
  inhibitBy: InhibitBy = InhibitBy.Sti;
  /** A #DB trap held by blocking by MOV SS (SDM Vol. 3A §6.8.3: a single step of MOV SS/POP SS
   *  is delivered after the next instruction), as the DR6 bits it sets (B3:B0, BS; VMX's
   *  pending debug exceptions, Vol. 3C §24.4.2); 0: none. */
  heldDebug = 0;
  /** The #DB being raised: its DR6 bits (B0-B3, BD, BS) and DR6/DR7 as they were before it
   *  updated them (noteDebug). A #DB that causes a VM exit updates neither register; its bits go
   *  to the exit qualification instead (SDM Vol. 3C §28.1, §28.2.1 Table 28-1). */
  dbBits = 0;
  dr6Before = 0;
  dr7Before = 0;
  nmiPending = false;
  nmiBlocked = false;
  intr: InterruptSource | null = null;
  /** Wait-for-SIPI activity state (see `enterWaitForSipi`); `run` returns Halted at once. */
  waitForSipi = false;
  /** PAUSE ends the run slice after it retires (set by the SMP schedule while another CPU can
   *  run: a spin-wait loop hands the turn to the CPU it waits for). No architectural effect. */
  yieldOnPause = false;
  /** Set by a VM exit taken in place by an instruction (VmxHooks.tryInstructionExit); the run
   *  loop clears it. */
  exitTaken = false;
  /** Initial APIC ID, reported in CPUID.1:EBX[31:24] (set by the platform per CPU). */
  apicId = 0;
  /** The local APIC's architectural side (IA32_APIC_BASE, CPUID.1:EDX.APIC), installed by the
   *  platform; null without one (IA32_APIC_BASE is then plain storage). */
  lapic: CpuLocalApic | null = null;
  /** Set when something between instructions needs attention (IRQ line, NMI, stop request). */
  eventPending = false;
  stopRequested = false;
  /** Exception being delivered, for double-fault rules; -1 when none. */
  delivering = -1;
  /** The x87 unit (fpu/fpu.ts), installed by createCpu. */
  fpu: Fpu | null = null;

  readonly tlb: Tlb;
  // Hot-path copies (one property load instead of two): guest RAM views, TLB entries and the
  // permission bits a TLB hit needs at the current privilege (kept in sync by Tlb.setCpl).
  readonly ram8: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  /** The TLB's current space (Tlb.selectSpace switches it under VMX). */
  tlbE: Int32Array;
  tlbNeedR = 0;
  tlbNeedW = 0;
  readonly cpuidOut = new Int32Array(4);
  /** RDRAND/RDSEED generator (ops/random.ts): [0] counter, [1] 1 once seeded. Cleared at RESET
   *  and seeded from the APIC ID at first use, so runs are reproducible. */
  readonly randState = new Int32Array(2);
  /** VMX non-root operation with "virtualize APIC accesses": the physical page (4 KB aligned)
   *  whose accesses the VMX unit virtualizes or turns into APIC-access VM exits (vmx-hooks.ts
   *  apicAccess); -1 otherwise. The TLB never gives it direct RAM access (paging.ts ramBits),
   *  so only the slow paths of the linear accessors compare against it. */
  apicAccessPage = -1;
  /** MONITOR armed address-range monitoring (ops/monitor.ts); MWAIT and VM entry/exit clear it. */
  monitorArmed = false;

  // Instruction fetch cache: eip in [fetchLo, fetchHi] reads u8[eip + fetchDelta].
  fetchLo = 1;
  fetchHi = 0;
  fetchDelta = 0;
  /** Decoded-instruction slots of the page in the fetch window (null: not cached). */
  fetchCache: (Insn | undefined)[] | null = null;
  /** The decoded-instruction cache (decode-cache.ts), installed by createCpu. */
  dcache: DecodeCache | null = null;
  /** The VMX unit (vmx-hooks.ts), installed by createCpu when the model has VMX; null: the VMX
   *  instructions raise #UD and the VMX MSRs #GP. */
  vmx: VmxHooks | null = null;
  /** In VMX non-root operation: a guest runs under the VMX unit, which sets and clears this at
   *  VM entry and exit. Tested only where an instruction or event already does slow work. */
  nonRoot = false;
  /** Instruction count at which the run loop stops to check events (VMX: the preemption timer's
   *  deadline, the monitor trap flag); Infinity when nothing asks. Read once per event check,
   *  never per instruction. */
  eventAt = Infinity;
  /** An INIT that VMX operation blocked (SDM Vol. 3C §24.8: blocked in VMX root operation and in
   *  the guest's wait-for-SIPI state): latched, taken as an INIT once the CPU leaves VMX
   *  operation (VMXOFF), or as a VM exit once a guest can take it (VMX unit). */
  initPending = false;
  /** How the platform takes a latched INIT (the machine: the CPU's INIT, then wait-for-SIPI or
   *  the firmware's entry, and the local APIC's INIT state); null: `init()` alone. */
  initHandler: (() => void) | null = null;


  constructor(mem: PhysicalMemory, io: IoBus, model: CpuModel = P6_MODEL) {
    this.mem = mem;
    this.io = io;
    this.model = model;
    this.ram8 = mem.u8; this.ram16 = mem.u16; this.ram32 = mem.i32;
    this.tlb = new Tlb(this);
    this.tlbE = this.tlb.entry;
    this.reset();
  }

  /** Power-on / RESET state (SDM Vol. 3A §9.1.1, Table 9-1). */
  reset(): void {
    this.resetCore(0x60000010);
    this.msrs.clear();
    this.longMsr.fill(0);
    this.randState.fill(0);
    this.sysenterCs = 0; this.sysenterEsp = 0; this.sysenterEip = 0; this.tscOffset = 0;
    this.sysenterEspHi = 0; this.sysenterEipHi = 0;
    this.xcr0 = 1;
    this.fpu?.powerOnReset(); // hardware RESET state (SDM Vol. 3A Table 9-1); INIT keeps it
    this.dcache?.clear();
    this.vmx?.reset(); // RESET leaves VMX operation (SDM Vol. 3C §24.8)
    this.tlb.flushAll();
    this.invalidateFetch();
  }

  /**
   * INIT (INIT# or an INIT IPI; SDM Vol. 3A §9.1, Table 9-1 "INIT" column): the RESET state,
   * except that the x87/SSE state, the MSRs (SYSENTER, MTRRs, PAT, the TSC, ...), CR0.CD/NW
   * and the caches are kept. The platform then either resumes at the reset vector (the BSP)
   * or parks the CPU in wait-for-SIPI (an AP: `enterWaitForSipi`).
   */
  init(): boolean {
    // In VMX operation INIT is blocked (root: latched in initPending) or causes a VM exit
    // (non-root): SDM Vol. 3C §24.8, §26.2. False: the CPU did not take it, and the platform
    // leaves the CPU as it is.
    if (this.vmx !== null && this.vmx.inVmxOperation && !this.vmx.initSignal()) return false;
    this.resetCore((this.cr0 & 0x60000000) | 0x10);
    this.tlb.flushAll();
    this.invalidateFetch();
    return true;
  }

  /** State common to RESET and INIT; `cr0` first, since the segment caches depend on CR0.PE. */
  private resetCore(cr0: number): void {
    this.cr0 = cr0;
    this.r32.fill(0); this.r32hi.fill(0);
    this.r32[2] = cpuSignature(this.model); // EDX = signature
    this.eip = 0xfff0;
    this.flags = 2; this.lazyMask = 0;
    this.cr2 = 0; this.cr3 = 0; this.cr4 = 0; this.efer = 0;
    this.mode64 = false; this.segBaseHi.fill(0); this.gdtrBaseHi = 0; this.idtrBaseHi = 0; this.cr2hi = 0; this.cr3hi = 0; this.cr8 = 0;
    this.dr.fill(0); this.dr[6] = 0xffff0ff0 | 0; this.dr[7] = 0x400;
    for (let s = 0; s < 6; s++) this.setSegReal(s, 0, 0xffff, 0x93);
    this.setSegReal(Seg.CS, 0xf000, 0xffff, 0x9b);
    this.segBase[Seg.CS] = 0xffff0000 | 0;
    this.setSegReal(Seg.LDTR, 0, 0xffff, 0x82);
    this.setSegReal(Seg.TR, 0, 0xffff, 0x8b);
    this.gdtrBase = 0; this.gdtrLimit = 0xffff; this.idtrBase = 0; this.idtrLimit = 0xffff;
    this.cpl = 0; this.code32 = false; this.stack32 = false;
    this.tlb.setCpl(0);
    this.halted = false; this.shutdown = false; this.shutdownReason = '';
    this.inhibitUntil = -1; this.nmiPending = false; this.nmiBlocked = false;
    this.waitForSipi = false;
    this.delivering = -1;
    this.eventAt = Infinity;
    this.initPending = false;
    this.heldDebug = 0;
    this.monitorArmed = false;
  }

  /** Parks the CPU in the wait-for-SIPI activity state (an AP after INIT, SDM Vol. 3A §8.4.1,
   *  §10.4.7.3): it executes nothing and ignores INTR and NMI until a Startup IPI. */
  enterWaitForSipi(): void {
    this.waitForSipi = true;
    this.halted = false;
    this.eventPending = true; // leave the run loop if this CPU is the one running
  }

  /** A Startup IPI with vector `vector` (SDM Vol. 3A §10.6.1, §8.4.4.1): leaves wait-for-SIPI and
   *  starts in real mode at `vector`00:0000 (physical vector << 12). Ignored otherwise. */
  startup(vector: number): boolean {
    // A guest's wait-for-SIPI state: the SIPI is a VM exit (SDM Vol. 3C §26.2); otherwise VMX
    // non-root operation discards SIPIs (§27.7.2).
    if (this.nonRoot) return this.vmx!.startupIpi(vector);
    if (!this.waitForSipi) return false;
    this.waitForSipi = false;
    this.setSegReal(Seg.CS, (vector & 0xff) << 8, 0xffff, 0x9b);
    this.eip = 0;
    this.eventPending = true;
    return true;
  }

  /** Loads a descriptor cache directly (reset, real mode, tests). `attr` is the access byte. */
  setSegReal(seg: number, sel: number, limit: number, attr: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = sel << 4;
    this.segLimit[seg] = limit >>> 0;
    this.segAttr[seg] = attr;
    this.updateSegLimits(seg);
  }

  /** Recomputes the read/write offset windows of a segment from its cache (SDM Vol. 3A §5.3). */
  updateSegLimits(seg: number): void {
    const attr = this.segAttr[seg];
    const limit = this.segLimit[seg];
    if ((attr & 0x10000) !== 0 || ((attr & 0x80) === 0 && this.protectedMode() && !this.v86())) {
      // unusable (null selector): every access faults
      this.rdLo[seg] = 1; this.rdHi[seg] = 0; this.wrLo[seg] = 1; this.wrHi[seg] = 0;
      return;
    }
    let lo = 0, hi = limit;
    const type = attr & 0xf;
    const code = (type & 8) !== 0;
    if (!code && (type & 4) !== 0) { // expand-down data segment
      lo = (limit + 1) >>> 0;
      hi = (attr & 0x4000) !== 0 ? 0xffffffff : 0xffff;
    }
    const realish = !this.protectedMode() || this.v86();
    const readable = realish || !code || (type & 2) !== 0;
    const writable = realish || (!code && (type & 2) !== 0);
    if (readable) { this.rdLo[seg] = lo; this.rdHi[seg] = hi; } else { this.rdLo[seg] = 1; this.rdHi[seg] = 0; }
    if (writable) { this.wrLo[seg] = lo; this.wrHi[seg] = hi; } else { this.wrLo[seg] = 1; this.wrHi[seg] = 0; }
    if (seg === Seg.CS) {
      // 64-bit mode (SDM Vol. 3A §5.2.1): CS.L with IA32_EFER.LMA; its code is never "32-bit".
      this.mode64 = (attr & SegAttr.L) !== 0 && (this.efer & Efer.LMA) !== 0 && !realish;
      this.code32 = (attr & 0x4000) !== 0 && !realish && !this.mode64;
      this.invalidateFetch();
    }
    else if (seg === Seg.SS) this.stack32 = (attr & 0x4000) !== 0 && !realish;
  }

  protectedMode(): boolean { return (this.cr0 & Cr0.PE) !== 0; }
  v86(): boolean { return (this.flags & Flag.VM) !== 0; }
  paging(): boolean { return (this.cr0 & Cr0.PG) !== 0; }

  // ======================================================================================
  // Faults
  // ======================================================================================

  /** Raises an exception without error code (fault semantics: EIP restored by the loop). */
  raise(vector: number): never {
    FAULT.vector = vector; FAULT.errorCode = 0; FAULT.hasErrorCode = false;
    throw FAULT;
  }
  /** Raises an exception with an error code. */
  raiseErr(vector: number, errorCode: number): never {
    FAULT.vector = vector; FAULT.errorCode = errorCode; FAULT.hasErrorCode = true;
    throw FAULT;
  }
  ud(): never { return this.raise(Vector.UD); }
  gp(code: number): never { return this.raiseErr(Vector.GP, code); }
  /** Segment-limit or type violation: #SS for the stack segment, #GP otherwise. */
  segFault(seg: number): never {
    return this.raiseErr(seg === Seg.SS ? Vector.SS : Vector.GP, 0);
  }

  // ======================================================================================
  // Linear memory (through the TLB; paging off uses identity entries)
  // ======================================================================================

  readLin8(lin: number): number {
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedR) === this.tlbNeedR) return this.ram8[(e & ~0xfff) | (lin & 0xfff)];
    const p = this.tlb.translate(lin, false);
    if ((p & ~0xfff) === this.apicAccessPage) return this.vmx!.apicAccess(p & 0xfff, 1, ApicAccessKind.Read, 0);
    return this.mem.read8(p);
  }
  readLin16(lin: number): number {
    if ((lin & 0xfff) === 0xfff) return this.readLin8(lin) | (this.readLin8(lin + 1) << 8);
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedR) === this.tlbNeedR) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return (p & 1) === 0 ? this.ram16[p >>> 1] : this.ram8[p] | (this.ram8[p + 1] << 8);
    }
    const p = this.tlb.translate(lin, false);
    if ((p & ~0xfff) === this.apicAccessPage) return this.vmx!.apicAccess(p & 0xfff, 2, ApicAccessKind.Read, 0);
    return this.mem.read16(p);
  }
  readLin32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return this.readLin16(lin) | (this.readLin16(lin + 2) << 16);
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedR) === this.tlbNeedR) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) return this.ram32[p >>> 2];
      const u = this.ram8;
      return u[p] | (u[p + 1] << 8) | (u[p + 2] << 16) | (u[p + 3] << 24);
    }
    const p = this.tlb.translate(lin, false);
    if ((p & ~0xfff) === this.apicAccessPage) return this.vmx!.apicAccess(p & 0xfff, 4, ApicAccessKind.Read, 0);
    return this.mem.read32(p);
  }
  writeLin8(lin: number, v: number): void {
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedW) === this.tlbNeedW) { this.ram8[(e & ~0xfff) | (lin & 0xfff)] = v; return; }
    const p = this.tlb.translate(lin, true);
    if ((p & ~0xfff) === this.apicAccessPage) { this.vmx!.apicAccess(p & 0xfff, 1, ApicAccessKind.Write, v); return; }
    this.mem.write8(p, v);
  }
  writeLin16(lin: number, v: number): void {
    if ((lin & 0xfff) === 0xfff) {
      // Check both pages before writing either byte so a fault leaves memory unchanged.
      this.tlb.probeWrite(lin); this.tlb.probeWrite(lin + 1);
      this.writeLin8(lin, v); this.writeLin8(lin + 1, v >>> 8); return;
    }
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedW) === this.tlbNeedW) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.ram8[p] = v; this.ram8[p + 1] = v >>> 8; return;
    }
    const p = this.tlb.translate(lin, true);
    if ((p & ~0xfff) === this.apicAccessPage) { this.vmx!.apicAccess(p & 0xfff, 2, ApicAccessKind.Write, v); return; }
    this.mem.write16(p, v);
  }
  writeLin32(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffc) {
      this.tlb.probeWrite(lin); this.tlb.probeWrite(lin + 3);
      this.writeLin16(lin, v); this.writeLin16(lin + 2, v >>> 16); return;
    }
    const e = this.tlbE[lin >>> 12];
    if ((e & this.tlbNeedW) === this.tlbNeedW) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) { this.ram32[p >>> 2] = v; return; }
      const u = this.ram8; u[p] = v; u[p + 1] = v >>> 8; u[p + 2] = v >>> 16; u[p + 3] = v >>> 24; return;
    }
    const p = this.tlb.translate(lin, true);
    if ((p & ~0xfff) === this.apicAccessPage) { this.vmx!.apicAccess(p & 0xfff, 4, ApicAccessKind.Write, v); return; }
    this.mem.write32(p, v);
  }

  /** Supervisor-mode implicit accesses (descriptor tables, TSS), regardless of CPL. */
  readSys8(lin: number): number { const s = this.tlb.beginSys(); try { return this.readLin8(lin); } finally { this.tlb.endSys(s); } }
  readSys16(lin: number): number { const s = this.tlb.beginSys(); try { return this.readLin16(lin); } finally { this.tlb.endSys(s); } }
  readSys32(lin: number): number { const s = this.tlb.beginSys(); try { return this.readLin32(lin); } finally { this.tlb.endSys(s); } }
  writeSys8(lin: number, v: number): void { const s = this.tlb.beginSys(); try { this.writeLin8(lin, v); } finally { this.tlb.endSys(s); } }
  writeSys16(lin: number, v: number): void { const s = this.tlb.beginSys(); try { this.writeLin16(lin, v); } finally { this.tlb.endSys(s); } }
  writeSys32(lin: number, v: number): void { const s = this.tlb.beginSys(); try { this.writeLin32(lin, v); } finally { this.tlb.endSys(s); } }

  // ======================================================================================
  // Segmented memory
  // ======================================================================================

  // Each access has a small fast path (offset inside the segment window, TLB hit on a RAM page,
  // naturally aligned) that V8 can inline into the run loops; everything else (limit faults,
  // misses, page-crossing or unaligned accesses, MMIO) goes through the *Slow variants.
  read8(seg: number, off: number): number {
    off >>>= 0;
    if (off >= this.rdLo[seg] && off <= this.rdHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedR) === this.tlbNeedR) return this.ram8[(e & ~0xfff) | (lin & 0xfff)];
    }
    return this.read8Slow(seg, off);
  }
  read16(seg: number, off: number): number {
    off >>>= 0;
    if ((off & 1) === 0 && off >= this.rdLo[seg] && off + 1 <= this.rdHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedR) === this.tlbNeedR && (lin & 1) === 0) return this.ram16[((e & ~0xfff) | (lin & 0xfff)) >>> 1];
    }
    return this.read16Slow(seg, off);
  }
  read32(seg: number, off: number): number {
    off >>>= 0;
    if (off >= this.rdLo[seg] && off + 3 <= this.rdHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedR) === this.tlbNeedR && (lin & 3) === 0) return this.ram32[((e & ~0xfff) | (lin & 0xfff)) >>> 2];
    }
    return this.read32Slow(seg, off);
  }
  write8(seg: number, off: number, v: number): void {
    off >>>= 0;
    if (off >= this.wrLo[seg] && off <= this.wrHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedW) === this.tlbNeedW) { this.ram8[(e & ~0xfff) | (lin & 0xfff)] = v; return; }
    }
    this.write8Slow(seg, off, v);
  }
  write16(seg: number, off: number, v: number): void {
    off >>>= 0;
    if (off >= this.wrLo[seg] && off + 1 <= this.wrHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedW) === this.tlbNeedW && (lin & 1) === 0) { this.ram16[((e & ~0xfff) | (lin & 0xfff)) >>> 1] = v; return; }
    }
    this.write16Slow(seg, off, v);
  }
  write32(seg: number, off: number, v: number): void {
    off >>>= 0;
    if (off >= this.wrLo[seg] && off + 3 <= this.wrHi[seg]) {
      const lin = (this.segBase[seg] + off) | 0, e = this.tlbE[lin >>> 12];
      if ((e & this.tlbNeedW) === this.tlbNeedW && (lin & 3) === 0) { this.ram32[((e & ~0xfff) | (lin & 0xfff)) >>> 2] = v; return; }
    }
    this.write32Slow(seg, off, v);
  }
  private read8Slow(seg: number, off: number): number {
    if (off < this.rdLo[seg] || off > this.rdHi[seg]) this.segFault(seg);
    return this.readLin8((this.segBase[seg] + off) | 0);
  }
  private read16Slow(seg: number, off: number): number {
    if (off < this.rdLo[seg] || off + 1 > this.rdHi[seg]) this.segFault(seg);
    return this.readLin16((this.segBase[seg] + off) | 0);
  }
  private read32Slow(seg: number, off: number): number {
    if (off < this.rdLo[seg] || off + 3 > this.rdHi[seg]) this.segFault(seg);
    return this.readLin32((this.segBase[seg] + off) | 0);
  }
  private write8Slow(seg: number, off: number, v: number): void {
    if (off < this.wrLo[seg] || off > this.wrHi[seg]) this.segFault(seg);
    this.writeLin8((this.segBase[seg] + off) | 0, v);
  }
  private write16Slow(seg: number, off: number, v: number): void {
    if (off < this.wrLo[seg] || off + 1 > this.wrHi[seg]) this.segFault(seg);
    this.writeLin16((this.segBase[seg] + off) | 0, v);
  }
  private write32Slow(seg: number, off: number, v: number): void {
    if (off < this.wrLo[seg] || off + 3 > this.wrHi[seg]) this.segFault(seg);
    this.writeLin32((this.segBase[seg] + off) | 0, v);
  }
  /** Checks that [off, off+len) is writable in `seg` without writing (multi-part stores). */
  checkWrite(seg: number, off: number, len: number): void {
    off >>>= 0;
    if (off < this.wrLo[seg] || off + len - 1 > this.wrHi[seg]) this.segFault(seg);
    const lin = (this.segBase[seg] + off) | 0;
    this.tlb.probeWrite(lin); this.tlb.probeWrite(lin + len - 1);
  }
  checkRead(seg: number, off: number, len: number): void {
    off >>>= 0;
    if (off < this.rdLo[seg] || off + len - 1 > this.rdHi[seg]) this.segFault(seg);
  }

  // ======================================================================================
  // Instruction fetch
  // ======================================================================================

  invalidateFetch(): void {
    this.fetchLo = 1; this.fetchHi = 0; this.fetchCache = null;
    this.memoPageA = -1; this.memoPageB = -1; this.memoCacheA = null; this.memoCacheB = null;
  }

  // The last two code pages the fetch window held (hot loops often straddle a page boundary):
  // linear page, TLB entry, decoded-instruction slots. Cleared by invalidateFetch, which every
  // TLB flush, CS/CPL/mode change and code-page invalidation goes through.
  private memoPageA = -1; private memoEntryA = 0; private memoCacheA: (Insn | undefined)[] | null = null;
  private memoPageB = -1; private memoEntryB = 0; private memoCacheB: (Insn | undefined)[] | null = null;

  /** Refills the fetch window for the page holding CS:EIP, or faults. */
  private refillFetch(): void {
    if (this.mode64) { this.refillFetch64(); return; }
    const eip = this.eip;
    if (eip > this.segLimit[Seg.CS]) this.raiseErr(Vector.GP, 0);
    const lin = (this.segBase[Seg.CS] + eip) | 0;
    const lp = lin >>> 12;
    let e: number, cache: (Insn | undefined)[] | null;
    if (lp === this.memoPageA) { e = this.memoEntryA; cache = this.memoCacheA; }
    else if (lp === this.memoPageB) { e = this.memoEntryB; cache = this.memoCacheB; }
    else {
      e = this.tlb.fetchEntry(lin); // faults on #PF
      cache = this.dcache !== null && this.code32 && (e & TlbBit.Ram) !== 0 ? this.dcache.page((e >>> 12) & 0xfffff) : null;
      this.memoPageB = this.memoPageA; this.memoEntryB = this.memoEntryA; this.memoCacheB = this.memoCacheA;
      this.memoPageA = lp; this.memoEntryA = e; this.memoCacheA = cache;
    }
    if ((e & TlbBit.Ram) === 0) { this.fetchLo = 1; this.fetchHi = 0; this.fetchCache = null; return; }
    const pageOff = lin & 0xfff;
    const lo = eip - pageOff;
    let hi = eip + (0xfff - pageOff);
    if (hi > this.segLimit[Seg.CS]) hi = this.segLimit[Seg.CS];
    this.fetchLo = lo < 0 ? 0 : lo;
    this.fetchHi = hi;
    // phys = eip + fetchDelta for every eip in the window
    this.fetchDelta = (((e & ~0xfff) >>> 0) + pageOff) - eip;
    this.fetchCache = cache;
  }

  fetch8(): number {
    const eip = this.eip;
    if (eip >= this.fetchLo && eip <= this.fetchHi) {
      this.eip = eip + 1;
      return this.ram8[eip + this.fetchDelta];
    }
    return this.fetchSlow();
  }
  private fetchSlow(): number {
    this.refillFetch();
    const eip = this.eip;
    if (eip >= this.fetchLo && eip <= this.fetchHi) {
      this.eip = eip + 1;
      return this.ram8[eip + this.fetchDelta];
    }
    if (this.mode64) return this.fetchSlow64();
    // MMIO or ROM-less code page: slow physical read.
    const lin = (this.segBase[Seg.CS] + eip) | 0;
    const p = this.tlb.translateFetch(lin);
    const b = (p & ~0xfff) === this.apicAccessPage ? this.vmx!.apicAccess(p & 0xfff, 1, ApicAccessKind.Fetch, 0) : this.mem.read8(p);
    this.eip = (eip + 1) >>> 0;
    return b;
  }
  fetch16(): number { const lo = this.fetch8(); return lo | (this.fetch8() << 8); }
  fetch32(): number {
    const eip = this.eip;
    if (eip >= this.fetchLo && eip + 3 <= this.fetchHi) {
      this.eip = eip + 4;
      const p = eip + this.fetchDelta, u = this.ram8;
      return u[p] | (u[p + 1] << 8) | (u[p + 2] << 16) | (u[p + 3] << 24);
    }
    const a = this.fetch16();
    return a | (this.fetch16() << 16);
  }
  /** Immediate of the current operand size (16 or 32). */
  fetchImmV(): number { return this.os32 ? this.fetch32() : this.fetch16(); }

  // ======================================================================================
  // ModRM / SIB effective addresses (SDM Vol. 2A §2.1.5, Tables 2-1..2-3)
  // ======================================================================================

  /** Reads the ModRM byte and, for memory forms, computes eaSeg/eaOff. */
  decodeModrm(): void {
    const m = this.fetch8();
    this.modrm = m;
    if (m >= 0xc0) return;
    if (this.as32) this.ea32(m); else this.ea16(m);
  }

  private ea16(m: number): void {
    const mod = m >> 6, rm = m & 7;
    const r = this.r16;
    let off = 0, seg = Seg.DS;
    switch (rm) {
      case 0: off = r[6] + r[12]; break; // BX+SI
      case 1: off = r[6] + r[14]; break; // BX+DI
      case 2: off = r[10] + r[12]; seg = Seg.SS; break; // BP+SI
      case 3: off = r[10] + r[14]; seg = Seg.SS; break; // BP+DI
      case 4: off = r[12]; break;
      case 5: off = r[14]; break;
      case 6: if (mod === 0) { off = this.fetch16(); } else { off = r[10]; seg = Seg.SS; } break;
      case 7: off = r[6]; break;
    }
    if (mod === 1) off += (this.fetch8() << 24) >> 24;
    else if (mod === 2) off += this.fetch16();
    this.eaOff = off & 0xffff;
    this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
  }

  private ea32(m: number): void {
    const mod = m >> 6, rm = m & 7;
    let off = 0, seg = Seg.DS;
    if (rm === 4) {
      const sib = this.fetch8();
      const base = sib & 7, idx = (sib >> 3) & 7, scale = sib >> 6;
      if (base === 5 && mod === 0) off = this.fetch32();
      else { off = this.r32[base]; if (base === 4 || base === 5) seg = Seg.SS; }
      if (idx !== 4) off = (off + (this.r32[idx] << scale)) | 0;
    } else if (rm === 5 && mod === 0) {
      off = this.fetch32();
    } else {
      off = this.r32[rm];
      if (rm === 5) seg = Seg.SS;
    }
    if (mod === 1) off = (off + ((this.fetch8() << 24) >> 24)) | 0;
    else if (mod === 2) off = (off + this.fetch32()) | 0;
    this.eaOff = off >>> 0;
    this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
  }

  /** Reads a moffs (A0-A3) address: a 16/32-bit offset in the DS (or override) segment. */
  decodeMoffs(): void {
    this.eaOff = this.as32 ? this.fetch32() >>> 0 : this.fetch16();
    this.eaSeg = this.segOvr >= 0 ? this.segOvr : Seg.DS;
  }

  get modReg(): number { return (this.modrm >> 3) & 7; }

  // r/m operand access after decodeModrm()
  rmRead8(): number {
    const m = this.modrm;
    if (m >= 0xc0) { const r = m & 7; return this.r8[((r & 3) << 2) | (r >> 2)]; }
    return this.read8(this.eaSeg, this.eaOff);
  }
  rmRead16(): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.r16[(m & 7) << 1];
    return this.read16(this.eaSeg, this.eaOff);
  }
  rmRead32(): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.r32[m & 7];
    return this.read32(this.eaSeg, this.eaOff);
  }
  rmWrite8(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) { const r = m & 7; this.r8[((r & 3) << 2) | (r >> 2)] = v; return; }
    this.write8(this.eaSeg, this.eaOff, v);
  }
  rmWrite16(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) { this.r16[(m & 7) << 1] = v; return; }
    this.write16(this.eaSeg, this.eaOff, v);
  }
  rmWrite32(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) { this.r32[m & 7] = v; return; }
    this.write32(this.eaSeg, this.eaOff, v);
  }
  rmReadV(): number { return this.os32 ? this.rmRead32() : this.rmRead16(); }
  rmWriteV(v: number): void { if (this.os32) this.rmWrite32(v); else this.rmWrite16(v); }

  /** 8-bit register by x86 encoding (0-3 low bytes of EAX..EBX, 4-7 high bytes). */
  getReg8(r: number): number { return this.r8[((r & 3) << 2) | (r >> 2)]; }
  setReg8(r: number, v: number): void { this.r8[((r & 3) << 2) | (r >> 2)] = v; }
  getRegV(r: number): number { return this.os32 ? this.r32[r] : this.r16[r << 1]; }
  setRegV(r: number, v: number): void { if (this.os32) this.r32[r] = v; else this.r16[r << 1] = v; }

  // ======================================================================================
  // Flags (lazy: the last arithmetic result decides CF/PF/AF/ZF/SF/OF until read)
  // ======================================================================================

  /** Records a lazily evaluated result. `mask` says which arithmetic flags it defines. */
  setLazy(kind: LazyKind, size: number, a: number, b: number, res: number, mask: number): void {
    if ((this.lazyMask & ~mask) !== 0) this.materialize(this.lazyMask & ~mask);
    this.lazyKind = kind; this.lazySize = size; this.lazyA = a; this.lazyB = b; this.lazyRes = res;
    this.lazyMask = mask;
  }

  private materialize(bits: number): void {
    let f = this.flags & ~bits;
    if (bits & Flag.CF) f |= this.lazyCF();
    if (bits & Flag.PF) f |= PARITY[this.lazyRes & 0xff];
    if (bits & Flag.AF) f |= this.lazyAF();
    if (bits & Flag.ZF) f |= this.lazyZF();
    if (bits & Flag.SF) f |= (this.lazyRes & SIZE_SIGN[this.lazySize]) !== 0 ? Flag.SF : 0;
    if (bits & Flag.OF) f |= this.lazyOF();
    this.flags = f;
    this.lazyMask &= ~bits;
  }

  private lazyCF(): number {
    const m = SIZE_MASK[this.lazySize];
    switch (this.lazyKind) {
      case LazyKind.Add: return ((this.lazyRes & m) >>> 0) < ((this.lazyA & m) >>> 0) ? Flag.CF : 0;
      case LazyKind.Sub: return ((this.lazyA & m) >>> 0) < ((this.lazyB & m) >>> 0) ? Flag.CF : 0;
      default: return 0;
    }
  }
  private lazyAF(): number {
    return this.lazyKind === LazyKind.Logic ? 0 : (this.lazyA ^ this.lazyB ^ this.lazyRes) & Flag.AF;
  }
  private lazyZF(): number { return (this.lazyRes & SIZE_MASK[this.lazySize]) === 0 ? Flag.ZF : 0; }
  private lazyOF(): number {
    const s = SIZE_SIGN[this.lazySize], a = this.lazyA, b = this.lazyB, r = this.lazyRes;
    switch (this.lazyKind) {
      case LazyKind.Add: return ((a ^ r) & (b ^ r) & s) !== 0 ? Flag.OF : 0;
      case LazyKind.Sub: return ((a ^ b) & (a ^ r) & s) !== 0 ? Flag.OF : 0;
      default: return 0;
    }
  }

  /** Full EFLAGS value. */
  getFlags(): number {
    if (this.lazyMask !== 0) this.materialize(this.lazyMask);
    return this.flags;
  }
  /** Replaces EFLAGS bits selected by `mask` (no privilege rules; callers apply them). */
  setFlags(v: number, mask: number): void {
    const old = this.getFlags();
    const nv = ((old & ~mask) | (v & mask) | 2) & ~(0x8 | 0x20 | 0x8000 | 0xffc00000);
    this.flags = nv;
    if (((old ^ nv) & Flag.VM) !== 0) this.modeChanged();
    if ((nv & Flag.IF) !== 0 && (old & Flag.IF) === 0) this.eventPending = true;
  }
  /** Sets or clears arithmetic flag bits eagerly. */
  setArith(bits: number, values: number): void {
    if (this.lazyMask & bits) this.lazyMask &= ~bits;
    this.flags = (this.flags & ~bits) | (values & bits);
  }
  /** Materializes all flags, so an eager update can follow. */
  flushFlags(): void { if (this.lazyMask !== 0) this.materialize(this.lazyMask); }

  cf(): number { return (this.lazyMask & Flag.CF) !== 0 ? (this.lazyCF() !== 0 ? 1 : 0) : this.flags & 1; }
  zf(): boolean { return (this.lazyMask & Flag.ZF) !== 0 ? (this.lazyRes & SIZE_MASK[this.lazySize]) === 0 : (this.flags & Flag.ZF) !== 0; }
  sf(): boolean { return (this.lazyMask & Flag.SF) !== 0 ? (this.lazyRes & SIZE_SIGN[this.lazySize]) !== 0 : (this.flags & Flag.SF) !== 0; }
  of(): boolean { return (this.lazyMask & Flag.OF) !== 0 ? this.lazyOF() !== 0 : (this.flags & Flag.OF) !== 0; }
  pf(): boolean { return (this.lazyMask & Flag.PF) !== 0 ? PARITY[this.lazyRes & 0xff] !== 0 : (this.flags & Flag.PF) !== 0; }
  af(): boolean { return (this.lazyMask & Flag.AF) !== 0 ? this.lazyAF() !== 0 : (this.flags & Flag.AF) !== 0; }

  /** Condition codes 0-15 as in Jcc/SETcc/CMOVcc (SDM Vol. 1 Appendix B). */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.of(); break;
      case 1: r = this.cf() !== 0; break;
      case 2: r = this.zf(); break;
      case 3: r = this.cf() !== 0 || this.zf(); break;
      case 4: r = this.sf(); break;
      case 5: r = this.pf(); break;
      case 6: r = this.sf() !== this.of(); break;
      default: r = this.zf() || this.sf() !== this.of(); break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  static parity(v: number): number { return PARITY[v & 0xff]; }

  // ======================================================================================
  // Stack
  // ======================================================================================

  get sp(): number { return this.stack32 ? this.r32[4] >>> 0 : this.r16[8]; }
  set sp(v: number) { if (this.stack32) this.r32[4] = v; else this.r16[8] = v; }

  push16(v: number): void {
    const sp = (this.sp - 2) & (this.stack32 ? -1 : 0xffff);
    this.write16(Seg.SS, sp, v);
    this.sp = sp;
  }
  push32(v: number): void {
    const sp = (this.sp - 4) & (this.stack32 ? -1 : 0xffff);
    this.write32(Seg.SS, sp, v);
    this.sp = sp;
  }
  pushV(v: number): void { if (this.os32) this.push32(v); else this.push16(v); }
  pop16(): number { const sp = this.sp; const v = this.read16(Seg.SS, sp); this.sp = sp + 2; return v; }
  pop32(): number { const sp = this.sp; const v = this.read32(Seg.SS, sp); this.sp = sp + 4; return v; }
  popV(): number { return this.os32 ? this.pop32() : this.pop16(); }
  /** Reads the stack at SP+off without popping. */
  peek16(off: number): number { return this.read16(Seg.SS, (this.sp + off) & (this.stack32 ? -1 : 0xffff)); }
  peek32(off: number): number { return this.read32(Seg.SS, (this.sp + off) & (this.stack32 ? -1 : 0xffff)); }

  // ======================================================================================
  // Control flow helpers
  // ======================================================================================

  /** Near jump target within CS: truncated to the operand size, limit-checked. */
  jumpNear(target: number): void {
    target = this.os32 ? target >>> 0 : target & 0xffff;
    if (target > this.segLimit[Seg.CS]) this.gp(0);
    this.eip = target;
  }

  /** Called when CR0.PE/PG, EFLAGS.VM or CPL change: recompute derived state. */
  modeChanged(): void {
    for (let s = 0; s < 6; s++) this.updateSegLimits(s);
    this.tlb.setCpl(this.cpl);
    this.invalidateFetch();
  }
  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.tlb.setCpl(cpl);
    this.invalidateFetch();
  }

  /** Current stack/IP width helpers for the interrupt and far-transfer code. */
  ipMask(): number { return this.code32 ? -1 : 0xffff; }

  // ======================================================================================
  // I/O
  // ======================================================================================

  /** IOPL/TSS I/O permission check (SDM Vol. 1 §18.5); implemented in segmentation.ts. */
  ioPermission: (c: Cpu, port: number, size: number) => void = () => {};

  ioIn(port: number, size: number): number {
    if (this.protectedMode() && (this.cpl > ((this.flags >> 12) & 3) || this.v86())) this.ioPermission(this, port, size);
    return this.io.read(port, size);
  }
  ioOut(port: number, size: number, v: number): void {
    if (this.protectedMode() && (this.cpl > ((this.flags >> 12) & 3) || this.v86())) this.ioPermission(this, port, size);
    this.io.write(port, size, v);
  }
  /** IN/OUT in VMX non-root operation: the IOPL / I/O-bitmap check (it has priority over the
   *  VM exit, SDM Vol. 3C §26.1.1), then the exit decision; true when the exit was taken (the
   *  row returns: VmxHooks.tryIo). */
  ioExitTaken(port: number, size: number, input: boolean, imm: boolean): boolean {
    if (this.protectedMode() && (this.cpl > ((this.flags >> 12) & 3) || this.v86())) this.ioPermission(this, port, size);
    return this.vmx!.tryIo(port, size, input, imm);
  }
  /** VMX non-root operation: the I/O instruction's IOPL / I/O-bitmap check, which has priority
   *  over its VM exit (SDM Vol. 3C §26.1.1), then the exit decision. */
  ioExitCheck(port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): void {
    if (this.protectedMode() && (this.cpl > ((this.flags >> 12) & 3) || this.v86())) this.ioPermission(this, port, size);
    this.vmx!.io(port, size, input, str, rep, imm);
  }

  // ======================================================================================
  // Run loop
  // ======================================================================================

  /** Interrupt/exception delivery, installed by interrupts.ts. */
  deliver: (c: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean) => void = () => {
    throw new Error('interrupt delivery not installed');
  };

  /**
   * Runs decoded instructions from the cache until `end` retired instructions, an event, or an
   * instruction the cache does not hold; increments icount per instruction. Installed by
   * decode-cache.ts on the prototype (a constant method); without the cache it does nothing.
   */
  runCached(_end: number): void { /* no decoded-instruction cache */ }

  /** Interprets one instruction: prefixes, then the opcode's row. Faults propagate as FAULT.
   *  (`run` takes cached instructions from the decoded-instruction cache first.) */
  step(): void {
    if (this.mode64) { this.step64(); return; }
    this.instrStart = this.eip;
    const d = this.code32;
    this.os32 = d; this.as32 = d; this.segOvr = -1; this.rep = 0; this.lock = false;
    let op = this.fetch8();
    while (IS_PREFIX[op] !== 0) {
      switch (op) {
        case 0x26: this.segOvr = Seg.ES; break;
        case 0x2e: this.segOvr = Seg.CS; break;
        case 0x36: this.segOvr = Seg.SS; break;
        case 0x3e: this.segOvr = Seg.DS; break;
        case 0x64: this.segOvr = Seg.FS; break;
        case 0x65: this.segOvr = Seg.GS; break;
        case 0x66: this.os32 = !d; break;
        case 0x67: this.as32 = !d; break;
        case 0xf0: this.lock = true; break;
        default: this.rep = op; break;
      }
      // An instruction longer than 15 bytes raises #GP(0) (SDM Vol. 2A §2.3.11).
      if (((this.eip - this.instrStart) & 0xffffffff) >= 15) this.gp(0);
      op = this.fetch8();
    }
    this.dispatch(op);
  }

  /** 64-bit mode: interprets one instruction (long/exec64.ts installs it); the fetch window of a
   *  64-bit code page, and a fetch outside RAM. */
  step64(): void { this.ud(); }
  refillFetch64(): void { this.ud(); }
  fetchSlow64(): number { return this.ud(); }

  /** Executes opcode `op` after its prefixes; dispatch.ts replaces this with a switch that
   *  calls the hottest rows' handlers directly (a known call target V8 can inline). */
  dispatch(op: number): void { OPS[op](this, op); }

  /**
   * Runs up to `budget` instructions. Returns why it stopped. Never throws for guest
   * behaviour: faults are delivered, a triple fault becomes StopReason.Shutdown.
   */
  run(budget: number): StopReason {
    const end = this.icount + budget;
    while (this.icount < end) {
      if (this.shutdown) return StopReason.Shutdown;
      if (this.waitForSipi) return StopReason.Halted;
      // A deadline the VMX unit set (whoever moves `eventAt` also sets `eventPending`, so the
      // inner loop below, bounded by `stop`, never runs past a new one).
      if (this.icount >= this.eventAt) { this.eventAt = Infinity; this.eventPending = true; }
      if (this.eventPending) {
        const r = this.serviceEvents();
        if (r !== StopReason.Budget) return r;
      }
      if (this.halted) return StopReason.Halted;
      const stop = this.eventAt < end ? this.eventAt : end;
      try {
        while (this.icount < stop) {
          if (this.fetchCache !== null && (this.flags & Flag.TF) === 0 && this.heldDebug === 0) {
            const before = this.icount;
            this.runCached(stop);
            // Stop for an event only after progress: with none, the next instruction is one
            // the cache does not hold, and an inhibited event must not starve it.
            if (this.icount >= stop || (this.eventPending && this.icount !== before)) break;
          }
          const tf = this.flags & Flag.TF;
          this.step();
          // A VM exit the instruction took in place (VmxHooks.tryInstructionExit): it retires
          // as the unwinding exits do (the catch below) and the loop goes on at the host.
          if (this.exitTaken) { this.exitTaken = false; this.icount++; break; }
          this.icount++;
          if (tf !== 0 || this.heldDebug !== 0) {
            // MOV SS/POP SS block debug exceptions for one more instruction: the trap waits.
            if (this.icount < this.inhibitUntil && this.inhibitBy === InhibitBy.MovSs) { if (tf !== 0) this.heldDebug |= DR6_BS; }
            else { this.debugTrap(tf !== 0 ? DR6_BS : 0); break; }
          }
          if (this.eventPending) break;
        }
      } catch (e) {
        if (e !== FAULT) {
          // A VM exit inside a guest instruction: the host's state is loaded; go on there.
          if (e !== VM_EXIT) throw e;
          if (!this.vmx!.exitRestartsInstruction) this.icount++;
          continue;
        }
        this.icount++;
        this.eip = this.instrStart;
        this.heldDebug = 0; // a fault in the MOV SS shadow: the held trap is lost
        this.exception(FAULT);
      }
    }
    return StopReason.Budget;
  }

  /** Delivers a fault caught by the run loop (or by a caller), applying double-fault rules. */
  exception(f: CpuFault): void {
    const vector = f.vector, err = f.errorCode, hasErr = f.hasErrorCode;
    try {
      this.deliver(this, vector, InterruptKind.Exception, err, hasErr);
    } catch (e) {
      if (e !== FAULT) { if (e === VM_EXIT) return; throw e; } // a VM exit has been taken
      if (this.shutdown) return;
      this.eip = this.instrStart;
      this.exception(FAULT);
    }
  }

  /** A #DB is about to be raised with DR6 bits `bits`: remembers DR6/DR7 first (see dbBits). */
  noteDebug(bits: number): void {
    this.dr6Before = this.dr[6]; this.dr7Before = this.dr[7]; this.dbBits = bits;
    this.dr[6] |= bits;
  }

  /** A #DB trap after an instruction: single step (`bits` = BS) and what MOV SS held. */
  private debugTrap(bits: number): void {
    this.noteDebug(bits | this.heldDebug);
    this.heldDebug = 0;
    this.instrStart = this.eip; // a trap: a fault while delivering it restarts here, not the last instruction
    try {
      this.deliver(this, Vector.DB, InterruptKind.Exception, 0, false);
    } catch (e) {
      if (e !== FAULT) { if (e === VM_EXIT) return; throw e; }
      this.exception(FAULT);
    }
  }

  /** Handles NMI, INTR and stop requests between instructions. */
  private serviceEvents(): StopReason {
    // A stop request returns first; whatever else was pending (an MTF or preemption-timer exit
    // of a guest, an interrupt) stays pending for the next run.
    if (this.stopRequested) { this.stopRequested = false; return StopReason.Requested; }
    this.eventPending = false;
    if (this.nonRoot) return this.vmx!.serviceEvents(); // a guest's events: VMX decides (§26.2)
    // An INIT latched in VMX root operation, now that the CPU has left VMX operation (§24.8).
    if (this.initPending && !this.vmx!.inVmxOperation) {
      this.initPending = false;
      if (this.initHandler !== null) this.initHandler(); else this.init();
      return StopReason.Budget;
    }
    if (this.icount < this.inhibitUntil) { this.eventPending = true; return StopReason.Budget; }
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false; this.nmiBlocked = true; this.halted = false;
      this.interruptNow(Vector.NMI, InterruptKind.Nmi);
    } else if ((this.flags & Flag.IF) !== 0 && this.intr !== null && this.intr.hasInterrupt()) {
      const v = this.intr.acknowledge();
      this.halted = false;
      this.interruptNow(v, InterruptKind.External);
    }
    if (this.nmiPending || (this.intr !== null && this.intr.hasInterrupt())) this.eventPending = true;
    return StopReason.Budget;
  }

  /** Halted: whether anything can still wake the CPU (RFLAGS.IF, a pending NMI; in VMX non-root
   *  operation whatever exits or wakes the guest, SDM Vol. 3C §26.2). The machine reports a CPU
   *  for which this is false as halted for good. */
  canWake(): boolean {
    if (this.nonRoot) return this.vmx!.canWake();
    return (this.flags & Flag.IF) !== 0 || this.nmiPending;
  }

  /** Halted: whether the next run() takes an event (an SMP schedule runs such a CPU). */
  hasWakeEvent(): boolean {
    if (this.nonRoot) return this.vmx!.eventReady();
    if (this.nmiPending && !this.nmiBlocked) return true;
    return (this.flags & Flag.IF) !== 0 && this.intr !== null && this.intr.hasInterrupt();
  }

  /** Halted: the virtual time (timeBase ticks) at which the CPU must run again whatever devices
   *  do (a guest's VMX-preemption timer); Infinity: none. Idle skips stop there. */
  wakeDeadline(): number { return this.nonRoot ? this.vmx!.wakeDeadline() : Infinity; }

  /** Delivers an NMI or external interrupt at the current instruction boundary (also the VMX
   *  unit's, for a guest's own interrupts). */
  interruptNow(vector: number, kind: number): void {
    this.instrStart = this.eip;
    try { this.deliver(this, vector, kind, 0, false); } catch (e) {
      if (e !== FAULT) { if (e === VM_EXIT) return; throw e; }
      this.exception(FAULT);
    }
  }

  /** Blocks INTR/NMI until the next instruction has completed (MOV SS, POP SS, STI). */
  inhibitInterrupts(by: InhibitBy): void { this.inhibitUntil = this.icount + 2; this.inhibitBy = by; this.eventPending = true; }

  /** Raises the interrupt-request line check (called by the PIC/APIC when its output changes). */
  notifyInterrupt(): void { this.eventPending = true; }

  /** Enters the shutdown state after a triple fault (SDM Vol. 3A §6.15, interrupt 8). */
  triple(reason: string): void {
    this.shutdown = true;
    this.shutdownReason = reason;
  }

  /** Virtual time in instruction units; the machine points this at its clock so that idle time
   *  skipped while halted advances the TSC too (default: retired instructions only). */
  timeBase: { ticks(): number } | null = null;

  /** Time-stamp counter: one tick per instruction unit of virtual time (deterministic). */
  tsc(): number { return (this.timeBase !== null ? this.timeBase.ticks() : this.icount) + this.tscOffset; }
}

/** How an interrupt arrives, which decides privilege checks and what EIP is pushed. */
// The values are the interruption types of VMX (SDM Vol. 3C §25.8.3, Table 25-17 "Format of the
// VM-Entry Interruption-Information Field"): the VMX unit reports and injects events by them.
// PrivilegedSoftwareException is INT1 (ICEBP): delivered like a hardware exception (no gate DPL
// check, EXT = 1) but a trap of its own instruction.
export enum InterruptKind { External = 0, Nmi = 2, Exception = 3, Software = 4, PrivilegedSoftwareException = 5, SoftwareException = 6 }

export { CpuFault };
export { PageKind };
export { ARITH_FLAGS };
