// Helpers for the EPT tests: an EPT builder over a PhysicalMemory, and a guest harness that
// puts a VmxMachine's CPU under EPT the way VM entry does (EptUnit.onEntry with a VMCS holding
// the controls), with a sink that records EPT violations and misconfigurations and unwinds the
// instruction the way a VM exit does.
import { FAULT } from '../../src/core/cpu/fault';
import { Cr0, Cr4 } from '../../src/core/cpu/regs';
import type { PhysicalMemory } from '../../src/core/platform/memory';
import type { GuestLinear, GuestPhysical } from '../../src/core/platform/address';
import { ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import type { EptExitSink } from '../../src/core/vmx/ept-hooks';
import { VmcsField } from '../../src/core/vmx/fields';
import { CurrentVmcs } from '../../src/core/vmx/vmcs';
import type { EptUnit } from '../../src/core/vmx/ept/unit';
import { VmxMachine } from './support';

/** An identity-capable EPT leaf: WB (6) memory type and R/W/X. */
export const RWX = 7, R = 1, W = 2, X = 4, WB = 6 << 3, LEAF = WB | RWX, PS = 1 << 7, A = 1 << 8, D = 1 << 9;
/** EPTP: WB, 4-level walk; `| AD` enables accessed/dirty flags. */
export const EPTP_WB4 = 6 | (3 << 3), EPTP_AD = 1 << 6;

/** Builds EPT paging structures in `mem` from `base` upward (one 4 KB page per table). */
export class EptBuilder {
  readonly pml4: number;
  private next: number;

  constructor(readonly mem: PhysicalMemory, base = 0x800000) {
    this.next = base;
    this.pml4 = this.alloc();
  }

  alloc(): number {
    const p = this.next;
    this.next += 0x1000;
    for (let i = 0; i < 0x1000; i += 4) this.mem.write32(p + i, 0);
    return p;
  }

  /** Address of the entry at `level` (4 = PML4E .. 1 = PTE) for `gpa`, creating the tables
   *  above it (RWX table references) when `create`. */
  entry(gpa: number, level: number, create = true): number {
    let table = this.pml4;
    for (let l = 4; l > level; l--) {
      const idx = l === 4 ? 0 : (gpa >>> (12 + 9 * (l - 1))) & 0x1ff;
      const a = table + idx * 8;
      let lo = this.mem.read32(a);
      if ((lo & 7) === 0 || (lo & PS) !== 0) {
        if (!create) throw new Error(`no EPT table at level ${l} for 0x${gpa.toString(16)}`);
        const t = this.alloc();
        lo = t | RWX;
        this.mem.write32(a, lo); this.mem.write32(a + 4, 0);
      }
      table = lo & ~0xfff;
    }
    const idx = level === 4 ? 0 : (gpa >>> (12 + 9 * (level - 1))) & 0x1ff;
    return table + idx * 8;
  }

  set(gpa: number, level: number, lo: number, hi = 0): void {
    const a = this.entry(gpa, level);
    this.mem.write32(a, lo); this.mem.write32(a + 4, hi);
  }
  get(gpa: number, level: number): number { return this.mem.read32(this.entry(gpa, level, false)) >>> 0; }

  map4k(gpa: number, hpa: number, flags = LEAF): void { this.set(gpa, 1, (hpa & ~0xfff) | flags); }
  map2m(gpa: number, hpa: number, flags = LEAF): void { this.set(gpa, 2, (hpa & ~0x1fffff) | flags | PS); }
  map1g(gpa: number, hpa: number, flags = LEAF): void { this.set(gpa, 3, (hpa & ~0x3fffffff) | flags | PS); }
  /** Identity map [0, size) with 2 MB pages. */
  identity2m(size: number): void { for (let g = 0; g < size; g += 0x200000) this.map2m(g, g); }
  /** Replaces the 2 MB page at `gpa` by a page table of identity 4 KB pages. */
  split(gpa: number): void {
    const base = gpa & ~0x1fffff;
    const pt = this.alloc();
    for (let i = 0; i < 512; i++) this.mem.write32(pt + i * 8, (base + i * 0x1000) | LEAF);
    this.set(base, 2, pt | RWX);
  }
  eptp(extra = 0): number { return this.pml4 | EPTP_WB4 | extra; }
}

/** An exit the sink recorded (thrown to unwind the instruction). */
export class EptExit extends Error {
  constructor(readonly reason: 48 | 49, readonly qualification: number, readonly gla: number, readonly gpa: number) {
    super(`EPT exit ${reason} q=0x${qualification.toString(16)} gla=0x${gla.toString(16)} gpa=0x${gpa.toString(16)}`);
  }
}

export class RecordingSink implements EptExitSink {
  readonly exits: EptExit[] = [];
  nmiUnblocked = false;
  eptViolation(q: number, gla: GuestLinear, gpa: GuestPhysical): never {
    const e = new EptExit(48, q, gla, gpa);
    this.exits.push(e);
    throw e;
  }
  eptMisconfiguration(gpa: GuestPhysical): never {
    const e = new EptExit(49, 0, 0, gpa);
    this.exits.push(e);
    throw e;
  }
  nmiUnblockedByIret(): boolean { return this.nmiUnblocked; }
}

export interface GuestSetup {
  /** "enable EPT" with this EPTP (null: EPT off). */
  eptp: number | null;
  /** "enable VPID" with this VPID (0: VPID off). */
  vpid?: number;
  /** Guest-state PDPTE fields (8 dwords: lo0, hi0, ...). */
  pdptes?: number[];
}

/** What running guest code ended with. */
export type Outcome = { kind: 'done' } | { kind: 'fault'; vector: number; errorCode: number } | { kind: 'exit'; exit: EptExit };

/** A VmxMachine whose CPU plays a guest under EPT: `enter` does what VM entry does for EPT and
 *  VPID (the CPU's CR0/CR3/CR4 are the guest's, set by the test), `exit` what VM exit does. */
export class EptHarness {
  readonly m: VmxMachine;
  readonly sink = new RecordingSink();
  readonly vmcs = new CurrentVmcs();
  readonly ept: EptBuilder;

  constructor(gen = 'haswell') {
    this.m = new VmxMachine(gen);
    this.unit.sink = this.sink;
    this.ept = new EptBuilder(this.m.mem);
  }

  get unit(): EptUnit { return this.m.unit.ept; }

  enter(s: GuestSetup): void {
    const v = this.vmcs;
    let proc2 = 0;
    if (s.eptp !== null) { proc2 |= ProcBasedCtls2.EnableEpt; v.setLo(VmcsField.EptPointer, s.eptp); v.setHi(VmcsField.EptPointer, 0); }
    if ((s.vpid ?? 0) !== 0) { proc2 |= ProcBasedCtls2.EnableVpid; v.setLo(VmcsField.VirtualProcessorId, s.vpid ?? 0); }
    v.setLo(VmcsField.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls);
    v.setLo(VmcsField.ProcBasedControls2, proc2);
    const p = s.pdptes ?? [0, 0, 0, 0, 0, 0, 0, 0];
    const f = [VmcsField.GuestPdpte0, VmcsField.GuestPdpte1, VmcsField.GuestPdpte2, VmcsField.GuestPdpte3];
    for (let i = 0; i < 4; i++) { v.setLo(f[i], p[i * 2]); v.setHi(f[i], p[i * 2 + 1]); }
    this.unit.onEntry(v);
  }

  exit(): void { this.unit.onExit(this.vmcs); }

  /** Runs 32-bit code at CODE; an EPT exit or a fault ends it. */
  run(src: string): Outcome {
    try {
      const v = this.m.exec(src);
      if (v === null) return { kind: 'done' };
      return { kind: 'fault', vector: v, errorCode: FAULT.errorCode };
    } catch (e) {
      if (e instanceof EptExit) return { kind: 'exit', exit: e };
      throw e;
    }
  }

  /** Expects `src` to end in an EPT exit and returns it. */
  runToExit(src: string): EptExit {
    const o = this.run(src);
    if (o.kind !== 'exit') throw new Error(`expected an EPT exit, got ${JSON.stringify(o)}`);
    return o.exit;
  }

  /** Guest paging: 32-bit (the machine's PSE identity page directory) unless changed. */
  setPaging(cr0pg: boolean, cr4extra = 0): void {
    const c = this.m.c;
    c.cr0 = cr0pg ? c.cr0 | Cr0.PG : c.cr0 & ~Cr0.PG;
    c.cr4 = (c.cr4 & ~(Cr4.PAE | Cr4.PGE)) | cr4extra;
    c.tlb.flushAll();
  }
}

/** A small deterministic PRNG (mulberry32) for the fuzz tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
