// The generation table and the capability MSRs it yields (SDM Vol. 3D Appendix A): which MSRs
// exist per generation, allowed-0/allowed-1 consistency, TRUE controls, the features each
// generation may not have, the long-mode-dependent bits, and the values against the hardware
// dumps kept in Bochs' cpudb (Penryn T9600, Skylake-X i7-7800X) minus what vmxlab does not
// model, each difference named.
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Vector } from '../../src/core/cpu/regs';
import { cpuSignature, P6_MODEL } from '../../src/core/cpu/model';
import {
  VmxMsr, computeCapabilities, hostCpuOf, vmxAllows, type VmxCapabilities,
} from '../../src/core/vmx/capabilities';
import {
  ENTRY_DEFAULT1, EXIT_DEFAULT1, EntryCtls, ExitCtls, PIN_DEFAULT1, PROC_DEFAULT1, ProcBasedCtls, ProcBasedCtls2,
} from '../../src/core/vmx/controls';
import { ALL_FIELDS, fieldIndex } from '../../src/core/vmx/fields';
import { DEFAULT_GENERATION, GENERATIONS, GENERATION_NAMES, generation } from '../../src/core/vmx/generations';
import { VmxFeature } from '../../src/core/vmx/features';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { VmxMachine } from './support';

const vmxGens = GENERATIONS.filter((g) => g.vmx !== null).map((g) => g.name);
const order = (n: string): number => (GENERATION_NAMES as readonly string[]).indexOf(n);
const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

describe('the generation table', () => {
  it('has the eleven generations by their lower-case names; the default has every feature issue 4 lists', () => {
    expect(GENERATIONS.map((g) => g.name)).toEqual([
      'prescott', 'merom', 'penryn', 'nehalem', 'westmere', 'sandy-bridge', 'ivy-bridge', 'haswell', 'broadwell', 'skylake', 'ice-lake',
    ]);
    const f = generation(DEFAULT_GENERATION).vmx!.features;
    for (const x of [VmxFeature.Ept, VmxFeature.EptAccessedDirty, VmxFeature.Ept1GbPages, VmxFeature.Vpid, VmxFeature.UnrestrictedGuest,
      VmxFeature.PreemptionTimer, VmxFeature.VirtualNmis, VmxFeature.PauseLoopExiting, VmxFeature.RdrandExiting, VmxFeature.RdseedExiting,
      VmxFeature.Invpcid, VmxFeature.DescriptorTableExiting, VmxFeature.Rdtscp, VmxFeature.WbinvdExiting, VmxFeature.SaveLoadPat,
      VmxFeature.SaveLoadEfer, VmxFeature.MonitorTrapFlag, VmxFeature.TprShadow, VmxFeature.VirtualizeApicAccesses]) {
      expect(f.has(x), VmxFeature[x]).toBe(true);
    }
    expect(() => generation('pentium-m')).toThrow(/unknown CPU generation 'pentium-m' \(one of prescott, merom, .*ice-lake\)/);
  });

  it('reports each generation\'s CPUID identity; CPUID.1:ECX.VMX only with VMX; feature bits are the interpreter\'s', () => {
    const sig: Record<string, number> = {
      prescott: 0xf41, merom: 0x6f6, penryn: 0x1067a, nehalem: 0x106e5, westmere: 0x20652, 'sandy-bridge': 0x206a7,
      'ivy-bridge': 0x306a9, haswell: 0x306c3, broadwell: 0x306d4, skylake: 0x50654, 'ice-lake': 0x706e5,
    };
    for (const g of GENERATIONS) {
      const m = new VmxMachine(g.name);
      m.c.r32[0] = 1;
      expect(m.exec('cpuid')).toBeNull();
      expect(m.c.r32[0] >>> 0, g.name).toBe(sig[g.name]);
      expect((m.c.r32[1] >>> 5) & 1, g.name).toBe(g.vmx !== null ? 1 : 0);
      expect(m.c.r32[2] >>> 0, g.name).toBe(P6_MODEL.leaf1Edx >>> 0);
      expect(cpuSignature(m.model)).toBe(sig[g.name]);
      let brand = '';
      for (let leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
        m.c.r32[0] = leaf;
        m.exec('cpuid');
        for (const r of [0, 3, 1, 2]) for (let k = 0; k < 4; k++) brand += String.fromCharCode((m.c.r32[r] >>> (8 * k)) & 0xff);
      }
      expect(brand.replace(/\0+$/, ''), g.name).toBe(g.brand);
      m.c.reset();
      expect(m.c.r32[2] >>> 0, `${g.name} EDX after RESET`).toBe(sig[g.name]);
    }
  });
});

/** The MSRs a generation has, read with RDMSR (null: #GP). */
function readAll(gen: string): Map<number, [number, number] | null> {
  const m = new VmxMachine(gen);
  const out = new Map<number, [number, number] | null>();
  for (let n = 0x480; n <= 0x492; n++) out.set(n, m.rdmsr(n));
  return out;
}

describe('which capability MSRs exist (RDMSR, #GP otherwise)', () => {
  it('none without VMX (prescott)', () => {
    for (const [n, v] of readAll('prescott')) expect(v, hex(n)).toBeNull();
  });

  it('0x480-0x48A always; 0x48B with secondary controls; 0x48C with EPT or VPID; TRUE MSRs with BASIC[55]; never 0x491/0x492', () => {
    for (const gen of vmxGens) {
      const msrs = readAll(gen);
      const secondary = order(gen) >= order('penryn'), ept = order(gen) >= order('nehalem');
      for (let n = 0x480; n <= 0x48a; n++) expect(msrs.get(n), `${gen} ${hex(n)}`).not.toBeNull();
      expect(msrs.get(0x48b) !== null, `${gen} 0x48B`).toBe(secondary);
      expect(msrs.get(0x48c) !== null, `${gen} 0x48C`).toBe(ept);
      const trueCtls = ((msrs.get(0x480)![1] >>> 23) & 1) === 1;
      expect(trueCtls, `${gen} BASIC[55]`).toBe(ept);
      for (let n = 0x48d; n <= 0x490; n++) expect(msrs.get(n) !== null, `${gen} ${hex(n)}`).toBe(trueCtls);
      expect(msrs.get(0x491), `${gen} 0x491 (VM functions not modelled)`).toBeNull();
      expect(msrs.get(0x492)).toBeNull();
    }
  });

  it('are read-only: WRMSR raises #GP(0)', () => {
    const m = new VmxMachine('skylake');
    for (const n of [0x480, 0x482, 0x48b, 0x48c, 0x48e]) {
      m.c.r32[1] = n; m.c.r32[0] = 0; m.c.r32[2] = 0;
      expect(m.exec('wrmsr'), hex(n)).toBe(Vector.GP);
    }
  });
});

describe('IA32_FEATURE_CONTROL', () => {
  it('takes writes until locked, then raises #GP(0); RESET clears it', () => {
    const m = new VmxMachine('skylake', { featureControl: 0 });
    m.c.r32[1] = 0x3a; m.c.r32[0] = 4; m.c.r32[2] = 0;
    expect(m.exec('wrmsr')).toBeNull();
    expect(m.rdmsr(0x3a)).toEqual([4, 0]);
    m.c.r32[1] = 0x3a; m.c.r32[0] = 5;
    expect(m.exec('wrmsr')).toBeNull();
    m.c.r32[1] = 0x3a; m.c.r32[0] = 0;
    expect(m.exec('wrmsr')).toBe(Vector.GP);
    expect(m.rdmsr(0x3a)).toEqual([5, 0]);
  });
});

describe('capability MSR consistency on every generation', () => {
  for (const gen of vmxGens) {
    it(gen, () => {
      const m = new VmxMachine(gen);
      const k = m.unit.caps;
      const get = (n: number): [number, number] => k.msrs.get(n) as [number, number];
      // Every must-be-1 bit is also allowed to be 1 (Appendix A.3-A.5).
      for (const n of [0x481, 0x482, 0x483, 0x484, 0x48b, 0x48d, 0x48e, 0x48f, 0x490]) {
        const v = k.msrs.get(n);
        if (v === undefined) continue;
        expect((v[0] & ~v[1]) >>> 0, `${gen} ${hex(n)}`).toBe(0);
      }
      // Non-TRUE MSRs report exactly the default1 bits as must-be-1.
      expect(get(0x481)[0]).toBe(PIN_DEFAULT1);
      expect(get(0x482)[0]).toBe(PROC_DEFAULT1);
      expect(get(0x483)[0]).toBe(EXIT_DEFAULT1);
      expect(get(0x484)[0]).toBe(ENTRY_DEFAULT1);
      // TRUE MSRs relax only default1 bits and allow the same 1-settings.
      for (const [t, n, d1] of [[0x48d, 0x481, PIN_DEFAULT1], [0x48e, 0x482, PROC_DEFAULT1], [0x48f, 0x483, EXIT_DEFAULT1], [0x490, 0x484, ENTRY_DEFAULT1]]) {
        const tv = k.msrs.get(t);
        if (tv === undefined) continue;
        expect((tv[0] & ~get(n)[0]) >>> 0, `${gen} ${hex(t)} must-be-1 within ${hex(n)}'s`).toBe(0);
        expect(((get(n)[0] & ~tv[0]) & ~d1) >>> 0, `${gen} ${hex(t)} relaxes only default1 bits`).toBe(0);
        expect(tv[1], `${gen} ${hex(t)} allowed-1`).toBe(get(n)[1]);
      }
      // What entry checks use is the TRUE pair when BASIC[55] is set.
      const trueCtls = k.msrs.has(0x48e);
      expect(k.proc.mustBe1).toBe(get(trueCtls ? 0x48e : 0x482)[0]);
      // Long mode: the interpreter has none. "Host address-space size" and "IA-32e mode guest"
      // are reported as on the Intel 64 parts, and VM entry refuses them with error 8 (§27.2.4).
      expect(get(0x483)[1] & ExitCtls.HostAddressSpaceSize).toBe(ExitCtls.HostAddressSpaceSize);
      expect(get(0x484)[1] & EntryCtls.Ia32eModeGuest).toBe(EntryCtls.Ia32eModeGuest);
      expect(get(0x482)[1] & (ProcBasedCtls.Cr8LoadExiting | ProcBasedCtls.Cr8StoreExiting)).toBe(0);
      expect((get(0x480)[1] >>> 16) & 1, 'BASIC[48]: 32-bit VMX addresses').toBe(1);
      expect((get(0x485)[0] >>> 5) & 1, 'MISC[5]').toBe(0);
      // No EPT/VPID before Nehalem, no unrestricted guest before Westmere, PAUSE-loop from Westmere.
      const p2 = k.msrs.get(0x48b)?.[1] ?? 0;
      expect((p2 & ProcBasedCtls2.EnableEpt) !== 0, `${gen} EPT`).toBe(order(gen) >= order('nehalem'));
      expect((p2 & ProcBasedCtls2.EnableVpid) !== 0, `${gen} VPID`).toBe(order(gen) >= order('nehalem'));
      expect((p2 & ProcBasedCtls2.UnrestrictedGuest) !== 0, `${gen} UG`).toBe(order(gen) >= order('westmere'));
      expect((p2 & ProcBasedCtls2.PauseLoopExiting) !== 0, `${gen} PLE`).toBe(order(gen) >= order('westmere'));
      expect((get(0x481)[1] & 0x40) !== 0, `${gen} preemption timer`).toBe(order(gen) >= order('nehalem'));
      expect((get(0x485)[0] & 0x1f) === 0).toBe(order(gen) < order('nehalem'));
      // Instruction controls follow the generation's instructions (generations.ts IsaFeature):
      // RDTSCP from Nehalem, RDRAND from Ivy Bridge, INVPCID from Haswell, RDSEED from Broadwell;
      // APIC-access virtualization from Penryn (apic-virtualization.ts).
      expect((p2 & ProcBasedCtls2.EnableRdtscp) !== 0, `${gen} RDTSCP`).toBe(order(gen) >= order('nehalem'));
      expect((p2 & ProcBasedCtls2.RdrandExiting) !== 0, `${gen} RDRAND`).toBe(order(gen) >= order('ivy-bridge'));
      expect((p2 & ProcBasedCtls2.EnableInvpcid) !== 0, `${gen} INVPCID`).toBe(order(gen) >= order('haswell'));
      expect((p2 & ProcBasedCtls2.RdseedExiting) !== 0, `${gen} RDSEED`).toBe(order(gen) >= order('broadwell'));
      expect((p2 & ProcBasedCtls2.VirtualizeApicAccesses) !== 0, `${gen} APIC accesses`).toBe(order(gen) >= order('penryn'));
      // Every activity state (MISC[8:6]).
      expect((get(0x485)[0] >>> 6) & 7, `${gen} activity states`).toBe(7);
      // VMCS_ENUM: the highest index of any supported field encoding.
      let max = 0;
      for (const f of ALL_FIELDS) if (k.fieldExists[f] === 1) max = Math.max(max, fieldIndex(f));
      expect(get(0x48a)[0]).toBe(max << 1);
      // EPT capabilities: 1 GB pages and A/D flags from Haswell.
      if (k.msrs.has(0x48c)) {
        expect((get(0x48c)[0] >>> 17) & 1, `${gen} 1 GB`).toBe(order(gen) >= order('haswell') ? 1 : 0);
        expect((get(0x48c)[0] >>> 21) & 1, `${gen} A/D`).toBe(order(gen) >= order('haswell') ? 1 : 0);
      }
    });
  }

  it('CR4_FIXED1 is exactly what MOV CR4 accepts', () => {
    const m = new VmxMachine('haswell', { vmxe: false });
    const fixed1 = m.unit.caps.cr4Fixed1;
    for (let b = 0; b < 32; b++) {
      m.c.cr4 = Cr4.PSE;
      // Setting CR4.PAE with paging on loads the PDPTEs from CR3 (SDM Vol. 3A §4.4.1), here a
      // 32-bit page directory whose entries are no valid PDPTEs (#GP): that bit is tried with
      // paging off.
      if ((1 << b) === Cr4.PAE) m.c.cr0 &= ~Cr0.PG; else m.c.cr0 |= Cr0.PG;
      const fault = m.exec(`mov eax, ${(Cr4.PSE | (1 << b)) >>> 0}\nmov cr4, eax`);
      expect(fault === null, `CR4 bit ${b}`).toBe(((fixed1 >>> b) & 1) === 1);
    }
  });

  it('long-mode bits appear when the host ISA has long mode (BASIC[48] clears, exit/entry bit 9, CR8 exiting, MISC[5])', () => {
    const base = hostCpuOf(cpuModelFor(generation('skylake')));
    const k = computeCapabilities(generation('skylake'), { ...base, isa: { ...base.isa, longMode: true } });
    expect(k.exit.mayBe1 & ExitCtls.HostAddressSpaceSize).toBe(ExitCtls.HostAddressSpaceSize);
    expect(k.entry.mayBe1 & EntryCtls.Ia32eModeGuest).toBe(EntryCtls.Ia32eModeGuest);
    expect(k.proc.mayBe1 & ProcBasedCtls.Cr8LoadExiting).toBe(ProcBasedCtls.Cr8LoadExiting);
    expect((k.msrs.get(0x480)![1] >>> 16) & 1).toBe(0);
    expect((k.msrs.get(0x485)![0] >>> 5) & 1).toBe(1);
  });
});

/** MSR value as [low, high] of a 64-bit hex dump value `hhhhhhhh_llllllll`. */
const dump = (hi: number, lo: number): [number, number] => [lo >>> 0, hi >>> 0];

describe('against hardware dumps (Bochs cpudb comments), minus what vmxlab does not model', () => {
  it('Penryn (core2_penryn_t9600.cc)', () => {
    const k: VmxCapabilities = new VmxMachine('penryn').unit.caps;
    const real: Record<number, [number, number]> = {
      0x480: dump(0x005a0800, 0x0000000d), 0x481: dump(0x0000003f, 0x00000016), 0x482: dump(0xf7f9fffe, 0x0401e172),
      0x483: dump(0x0003ffff, 0x00036dff), 0x484: dump(0x00003fff, 0x000011ff), 0x485: dump(0, 0x000403c0),
      0x486: dump(0, 0x80000021), 0x487: dump(0, 0xffffffff), 0x488: dump(0, 0x2000), 0x48b: dump(0x00000041, 0),
    };
    const ours = (n: number): [number, number] => k.msrs.get(n) as [number, number];
    // BASIC: region size 4096 (vmxlab's layout), bit 48 (no Intel 64), bit 49 (no dual-monitor SMM).
    expect(ours(0x480)).toEqual([real[0x480][0], (((real[0x480][1] & ~0x1fff & ~(1 << 17)) | 0x1000 | (1 << 16)) >>> 0)]);
    expect(ours(0x481)).toEqual(real[0x481]);
    expect(ours(0x482)).toEqual([real[0x482][0], (real[0x482][1] & ~(ProcBasedCtls.Cr8LoadExiting | ProcBasedCtls.Cr8StoreExiting)) >>> 0]);
    expect(ours(0x483)).toEqual([real[0x483][0], real[0x483][1] & ~ExitCtls.LoadPerfGlobalCtrl]);
    expect(ours(0x484)).toEqual([real[0x484][0], real[0x484][1] & ~(EntryCtls.EntryToSmm |
      EntryCtls.DeactivateDualMonitor | EntryCtls.LoadPerfGlobalCtrl)]);
    // MISC: the three activity states; bit 9 not reported.
    expect(ours(0x485)).toEqual([real[0x485][0] & ~0x200, 0]);
    for (const n of [0x486, 0x487, 0x488]) expect(ours(n), hex(n)).toEqual(real[n]);
    // Secondary: APIC-access virtualization and WBINVD exiting, as the real part.
    expect(ours(0x48b)).toEqual(real[0x48b]);
    // CR4_FIXED1: the real part's (MCE, OSXMMEXCPT, SMXE, OSXSAVE included) minus what the interpreter lacks.
    expect((ours(0x489)[0] & ~0x467ff) >>> 0).toBe(0);
  });

  it('Skylake-X (corei7_skylake-x.cc)', () => {
    const k: VmxCapabilities = new VmxMachine('skylake').unit.caps;
    const ours = (n: number): [number, number] => k.msrs.get(n) as [number, number];
    expect(ours(0x480)).toEqual(dump((((0x00da0400 & ~0x1fff & ~(1 << 17)) | 0x1000 | (1 << 16)) >>> 0), 4));
    // Posted interrupts (pin bit 7) are not modelled.
    expect(ours(0x481)).toEqual(dump(0x000000ff & ~0x80, 0x16));
    expect(ours(0x482)).toEqual(dump((0xfff9fffe & ~(ProcBasedCtls.Cr8LoadExiting | ProcBasedCtls.Cr8StoreExiting)) >>> 0, 0x0401e172));
    // Exit: no PERF_GLOBAL_CTRL, BNDCFGS, PT (bits 12, 23, 24).
    expect(ours(0x483)).toEqual(dump(0x01ffffff & ~((1 << 12) | (1 << 23) | (1 << 24)), 0x00036dff));
    // Entry: no SMM, PERF_GLOBAL_CTRL, BNDCFGS, PT (bits 10, 11, 13, 16, 17).
    expect(ours(0x484)).toEqual(dump(0x0003ffff & ~((1 << 10) | (1 << 11) | (1 << 13) | (1 << 16) | (1 << 17)), 0x000011ff));
    // MISC: no LMA store (5), PT (14), SMBASE (15), SMM (28).
    expect(ours(0x485)).toEqual(dump(0, (0x7004c1e7 & ~((1 << 5) | (1 << 14) | (1 << 15) | (1 << 28))) >>> 0));
    // Secondary: no x2APIC, APIC-register, virtual-interrupt delivery, VM functions, #VE, PT, XSAVES,
    // mode-based execute, TSC scaling (bits 4, 8, 9, 13, 18, 19, 20, 22, 25).
    const removed2 = [4, 8, 9, 13, 18, 19, 20, 22, 25].reduce((a, b) => a | (1 << b), 0);
    expect(ours(0x48b)).toEqual(dump((0x025d3fff & ~removed2) >>> 0, 0));
    // EPT/VPID: no advanced EPT-violation information (bit 22).
    expect(ours(0x48c)).toEqual(dump(0x00000f01, 0x06734141 & ~(1 << 22)));
    expect(ours(0x48d)).toEqual(dump(0x7f, 0x16));
    expect(ours(0x48e)).toEqual(dump(ours(0x482)[1], 0x04006172));
    expect(ours(0x48f)).toEqual(dump(ours(0x483)[1], 0x00036dfb));
    expect(ours(0x490)).toEqual(dump(ours(0x484)[1], 0x000011fb));
    for (const [n, v] of [[0x486, 0x80000021], [0x487, 0xffffffff], [0x488, 0x2000]]) expect(ours(n)[0], hex(n)).toBe(v);
    expect((ours(0x489)[0] & ~0x003727ff) >>> 0).toBe(0);
  });
});

describe('vmxAllows (allowed-0 / allowed-1 semantics)', () => {
  it('needs every must-be-1 bit and no bit beyond the allowed-1 ones', () => {
    const k = new VmxMachine('nehalem').unit.caps;
    expect(vmxAllows(k, VmxMsr.PinBasedCtls, 0x16)).toBe(true);
    expect(vmxAllows(k, VmxMsr.PinBasedCtls, 0x16 | 1 | 8 | 0x20 | 0x40)).toBe(true);
    expect(vmxAllows(k, VmxMsr.PinBasedCtls, 0x14)).toBe(false);
    expect(vmxAllows(k, VmxMsr.PinBasedCtls, 0x16 | 0x80)).toBe(false);
    expect(vmxAllows(k, VmxMsr.TrueProcBasedCtls, PROC_DEFAULT1 & ~ProcBasedCtls.Cr3LoadExiting)).toBe(true);
    expect(vmxAllows(k, VmxMsr.ProcBasedCtls, PROC_DEFAULT1 & ~ProcBasedCtls.Cr3LoadExiting)).toBe(false);
    expect(vmxAllows(k, VmxMsr.VmFunc, 0)).toBe(false); // no such MSR
    expect(vmxAllows(k, VmxMsr.ProcBasedCtls2, ProcBasedCtls2.EnableEpt | ProcBasedCtls2.EnableVpid)).toBe(true);
    expect(vmxAllows(k, VmxMsr.ProcBasedCtls2, ProcBasedCtls2.UnrestrictedGuest)).toBe(false);
  });
});
