// Test machines for VMX: a CPU of a given generation in flat 32-bit protected mode with paging
// (VMXON needs CR0.PG, CR0.NE and CR4.VMXE), code assembled with nasm and run instruction by
// instruction, faults reported instead of delivered.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpu, type Cpu } from '../../src/core/cpu/index';
import { FAULT } from '../../src/core/cpu/fault';
import { ARITH_FLAGS, Cr0, Cr4, Efer, Seg } from '../../src/core/cpu/regs';
import { loadEfer } from '../../src/core/cpu/long/long-mode';
import { Desc, loadCache, tryFetchDesc } from '../../src/core/cpu/descriptor';
import { writeMsr } from '../../src/core/cpu/ops/system';
import type { CpuModel } from '../../src/core/cpu/model';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';
import { VmxRoot } from '../../src/core/vmx/root';
import { VmxUnit } from '../../src/core/vmx/unit';

const cache = new Map<string, Uint8Array>();

/** Assembles 32-bit (or `bits`) code at `org` with nasm; results are cached by source. */
export function asm(src: string, org: number, bits = 32): Uint8Array {
  const full = `bits ${bits}\norg 0x${org.toString(16)}\n${src}\n`;
  const hit = cache.get(full);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'vmxlab-vmx-'));
  try {
    writeFileSync(join(dir, 'a.asm'), full);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
    const b = new Uint8Array(readFileSync(join(dir, 'a.bin')));
    cache.set(full, b);
    return b;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Layout of the test machine (physical = linear, identity-mapped with 4 MB pages).
export const GDT = 0x1000, PD = 0x2000, CODE = 0x10000, STACK = 0x90000;
export const VMXON_PA = 0x100000, VMCS_PA = 0x101000, VMCS2_PA = 0x102000, DATA = 0x200000;
export const CODE0 = 0x08, DATA0 = 0x10, CODE3 = 0x1b, DATA3 = 0x23, CODE16 = 0x28, TSS = 0x30;

export interface Options {
  /** IA32_FEATURE_CONTROL after setup (default 5: locked, VMX outside SMX). */
  featureControl?: number;
  /** CR4.VMXE (default true when the model has VMX). */
  vmxe?: boolean;
  /** Set up this CPU of another machine (a PcMachine's, whose run loop then drives it) instead
   *  of a CPU of its own; its memory must be at least 16 MB, its model `gen`'s. */
  host?: { mem: PhysicalMemory; io: IoBus; cpu: Cpu };
  /** CPUID reports the generation's Intel 64 facts (cpuModelFor's longMode; default false). */
  longMode?: boolean;
  /** CPUID reports SMX (cpuModelFor's smx; default false). */
  smx?: boolean;
  /** Start in 64-bit mode (IA-32e paging identity-mapping 0-16 MB, also at FFFF8000_00000000;
   *  CS = CODE64): implies longMode. */
  start64?: boolean;
}

// IA-32e paging structures of the test machine and the 64-bit code selector (GDT entry 8).
export const PML4 = 0x5000, PDPT = 0x6000, PD2M = 0x7000, CODE64 = 0x40;
/** Linear base of the second (high, canonical) mapping of 0-16 MB in 64-bit mode. */
export const HIGH_BASE = 0xffff800000000000n;

export class VmxMachine {
  readonly mem: PhysicalMemory;
  readonly io: IoBus;
  readonly c: Cpu;
  readonly model: CpuModel;

  constructor(readonly gen: string, opts: Options = {}) {
    this.model = cpuModelFor(generation(gen), { longMode: opts.longMode === true || opts.start64 === true, smx: opts.smx === true });
    this.mem = opts.host?.mem ?? new PhysicalMemory(16 << 20);
    this.io = opts.host?.io ?? new IoBus();
    this.c = opts.host?.cpu ?? createCpu(this.mem, this.io, this.model);
    const m = this.mem, c = this.c;
    // GDT: null, ring-0 code/data, ring-3 code/data, 16-bit ring-0 code, a TSS.
    const desc = (i: number, base: number, limit: number, access: number, flags: number): void => {
      m.write32(GDT + i * 8, (limit & 0xffff) | ((base & 0xffff) << 16));
      m.write32(GDT + i * 8 + 4, ((base >>> 16) & 0xff) | (access << 8) | (((limit >>> 16) & 0xf) << 16) | (flags << 20) | (base & 0xff000000));
    };
    desc(1, 0, 0xfffff, 0x9a, 0xc); desc(2, 0, 0xfffff, 0x92, 0xc);
    desc(3, 0, 0xfffff, 0xfa, 0xc); desc(4, 0, 0xfffff, 0xf2, 0xc);
    desc(5, 0, 0xfffff, 0x9a, 0x0); // 16-bit code, 1 MB desc(6, 0x3000, 0x67, 0x89, 0);
    c.gdtrBase = GDT; c.gdtrLimit = 7 * 8 - 1;
    // Page directory: 4 MB pages identity-mapping 0-16 MB, user accessible.
    for (let i = 0; i < 4; i++) m.write32(PD + i * 4, (i << 22) | 0x87);
    c.cr3 = PD;
    c.cr4 = Cr4.PSE | ((opts.vmxe ?? this.hasVmx) ? Cr4.VMXE : 0);
    c.cr0 = Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET;
    c.tlb.flushAll();
    this.ring(0);
    if (this.hasVmx) writeMsr(c, 0x3a, opts.featureControl ?? 5, 0);
    // Regions carry the generation's revision identifier.
    if (this.hasVmx) for (const pa of [VMXON_PA, VMCS_PA, VMCS2_PA]) m.write32(pa, this.revision);
    if (opts.start64 === true) this.enterLongMode();
  }

  /** Puts the CPU in 64-bit mode as an OS would before VMXON (SDM Vol. 3A §9.8.5): 4-level
   *  paging with 2 MB pages identity-mapping 0-16 MB (PML4 entries 0 and 256, so the same memory
   *  is also at HIGH_BASE), CR4.PAE, EFER.LME/LMA, CS a 64-bit code segment. */
  enterLongMode(): void {
    const m = this.mem, c = this.c;
    for (let i = 0; i < 8; i++) { m.write32(PD2M + i * 8, (i << 21) | 0x87); m.write32(PD2M + i * 8 + 4, 0); }
    m.write32(PDPT, PD2M | 7); m.write32(PDPT + 4, 0);
    m.write32(PML4, PDPT | 7); m.write32(PML4 + 256 * 8, PDPT | 7);
    m.write32(GDT + 8 * 8, 0xffff); m.write32(GDT + 8 * 8 + 4, 0x00af9a00); // 64-bit code, DPL 0
    c.gdtrLimit = 9 * 8 - 1;
    c.cr4 |= Cr4.PAE; c.cr3 = PML4;
    loadEfer(c, c.efer | Efer.LME | Efer.LMA);
    const d = new Desc();
    if (!tryFetchDesc(c, CODE64, d)) throw new Error('bad CODE64');
    loadCache(c, Seg.CS, CODE64, d);
    c.modeChanged();
    c.tlb.flushAll();
    if (!c.mode64) throw new Error('enterLongMode: not in 64-bit mode');
  }

  get hasVmx(): boolean { return this.c.vmx !== null; }
  get unit(): VmxUnit { return this.c.vmx as VmxUnit; }
  get revision(): number { return this.unit.caps.revisionId; }
  root(): VmxRoot { return new VmxRoot(this.c); }

  /** Flat ring-0 or ring-3 segments (CPL follows CS). */
  ring(r: 0 | 3): void {
    const c = this.c, d = new Desc();
    const load = (seg: number, sel: number): void => {
      if (!tryFetchDesc(c, sel, d)) throw new Error(`bad test selector ${sel}`);
      loadCache(c, seg, sel, d);
    };
    load(Seg.CS, r === 0 ? CODE0 : CODE3);
    c.setCpl(r);
    for (const s of [Seg.SS, Seg.DS, Seg.ES, Seg.FS, Seg.GS]) load(s, r === 0 ? DATA0 : DATA3);
    c.modeChanged();
    c.r32[4] = STACK;
  }

  /** Runs `src` (32-bit code at CODE) instruction by instruction until it falls off its end;
   *  returns the vector of the first exception (not delivered), or null. */
  exec(src: string, bits = 32): number | null {
    const code = asm(src, CODE, bits);
    this.mem.load(CODE, code);
    const c = this.c;
    // 16-bit code in protected mode runs from a 16-bit code segment (CS.D = 0), then CS returns.
    const cs16 = bits === 16 && c.protectedMode() && !c.v86();
    if (cs16) {
      const saved = c.segSel[Seg.CS];
      const d = new Desc();
      tryFetchDesc(c, CODE16, d); loadCache(c, Seg.CS, CODE16, d);
      try { return this.run(code.length); } finally { tryFetchDesc(c, saved, d); loadCache(c, Seg.CS, saved, d); }
    }
    return this.run(code.length);
  }

  private run(length: number): number | null {
    const c = this.c;
    c.eip = CODE;
    c.invalidateFetch();
    const end = CODE + length;
    for (let n = 0; c.eip !== end; n++) {
      if (n > 10000) throw new Error('test code did not reach its end');
      if (c.shutdown) return -1;
      try { c.step(); c.icount++; } catch (e) {
        if (e !== FAULT) throw e;
        c.eip = c.instrStart;
        return FAULT.vector;
      }
    }
    return null;
  }

  /** The arithmetic flags (CF PF AF ZF SF OF) of EFLAGS. */
  arith(): number { return this.c.getFlags() & ARITH_FLAGS; }

  /** RDMSR through the CPU's MSR code: [lo, hi] unsigned, or null for #GP. */
  rdmsr(n: number): [number, number] | null {
    const c = this.c;
    const save0 = c.r32[0], save2 = c.r32[2];
    c.r32[1] = n;
    const v = this.exec('rdmsr');
    const r: [number, number] | null = v === null ? [c.r32[0] >>> 0, c.r32[2] >>> 0] : null;
    c.r32[0] = save0; c.r32[2] = save2;
    return r;
  }

  /** VMXON at VMXON_PA and VMPTRLD of VMCS_PA, through VmxRoot; throws if either fails. */
  enterWithVmcs(): VmxRoot {
    const r = this.root();
    const a = r.vmxon(VMXON_PA), b = r.vmclear(VMCS_PA), d = r.vmptrld(VMCS_PA);
    if (a.kind !== 'succeed' || b.kind !== 'succeed' || d.kind !== 'succeed') {
      throw new Error(`VMX setup failed: ${JSON.stringify([a, b, d])}`);
    }
    return r;
  }
}

/** Flags after VMsucceed / VMfailInvalid / VMfailValid (SDM Vol. 3C §31.2). */
export const SUCCEED_FLAGS = 0, FAIL_INVALID_FLAGS = 0x01, FAIL_VALID_FLAGS = 0x40;
/** Sets every arithmetic flag before an instruction, to see VMX instructions clear them. */
export const SET_ALL_FLAGS = 'push dword 0x8d7\npopfd\n';
