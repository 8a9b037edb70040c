// RDTSCP, RDRAND/RDSEED and INVPCID in VMX root / outside VMX (SDM Vol. 2 instruction pages):
// present exactly on the generations that have them (CPUID), their results, flags and faults.
import { describe, expect, it } from 'vitest';
import { cpuidLeaf } from '../../src/core/cpu/model';
import { ARITH_FLAGS, Cr4, Flag, Vector } from '../../src/core/cpu/regs';
import { GENERATION_NAMES } from '../../src/core/vmx/generations';
import { cpuModelForName } from '../../src/core/vmx/cpu-model';
import { DATA, PD, VmxMachine } from '../vmx/support';

const order = (n: string): number => (GENERATION_NAMES as readonly string[]).indexOf(n);
const TSC_AUX = 0xc0000103;

describe('CPUID reports the instructions each generation has', () => {
  for (const gen of GENERATION_NAMES) {
    it(gen, () => {
      const m = cpuModelForName(gen), o = new Int32Array(4);
      cpuidLeaf(m, 0x80000001, 0, o);
      expect((o[3] >>> 27) & 1, 'RDTSCP').toBe(order(gen) >= order('nehalem') ? 1 : 0);
      cpuidLeaf(m, 1, 0, o);
      expect((o[2] >>> 30) & 1, 'RDRAND').toBe(order(gen) >= order('ivy-bridge') ? 1 : 0);
      cpuidLeaf(m, 0, 0, o);
      const max = o[0];
      // 0DH with XSAVE (Penryn, Sandy Bridge on: test/cpu/xsave.test.ts), else 7 with leaf-7 features.
      const xsave = gen === 'penryn' || order(gen) >= order('sandy-bridge');
      expect(max, 'maximum basic leaf').toBe(xsave ? 0xd : order(gen) >= order('haswell') ? 7 : 1);
      cpuidLeaf(m, 7, 0, o);
      const ebx = max >= 7 ? o[1] : 0;
      expect((ebx >>> 10) & 1, 'INVPCID').toBe(order(gen) >= order('haswell') ? 1 : 0);
      expect((ebx >>> 18) & 1, 'RDSEED').toBe(order(gen) >= order('broadwell') ? 1 : 0);
      if (max >= 7) {
        cpuidLeaf(m, 7, 1, o);
        expect([...o], 'leaf 7 sub-leaf 1').toEqual([0, 0, 0, 0]);
        cpuidLeaf(m, 4, 0, o);
        expect(o[0] & 0x1f, 'leaf 4: no cache levels enumerated').toBe(0);
        cpuidLeaf(m, max + 1, 0, o);
        const top = new Int32Array(4);
        cpuidLeaf(m, max, 0, top);
        expect([...o], 'above the maximum: the highest basic leaf').toEqual([...top]);
      }
    });
  }
});

describe('RDTSCP (0F 01 F9) and IA32_TSC_AUX', () => {
  it('EDX:EAX = TSC, ECX = IA32_TSC_AUX; the MSR keeps 32 bits and refuses the high half', () => {
    const m = new VmxMachine('haswell'), c = m.c;
    expect(m.exec(`mov ecx, ${TSC_AUX}\nmov eax, 0x12345678\nxor edx, edx\nwrmsr`)).toBeNull();
    expect(m.rdmsr(TSC_AUX)).toEqual([0x12345678, 0]);
    expect(m.exec(`mov ecx, ${TSC_AUX}\nmov edx, 1\nwrmsr`)).toBe(Vector.GP);
    const before = c.tsc();
    expect(m.exec('rdtscp')).toBeNull();
    const t = (c.r32[2] >>> 0) * 2 ** 32 + (c.r32[0] >>> 0);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(c.tsc());
    expect(c.r32[1] >>> 0).toBe(0x12345678);
  });

  it('#UD before Nehalem (and IA32_TSC_AUX does not exist); CR4.TSD: #GP(0) at CPL 3', () => {
    const p = new VmxMachine('penryn');
    expect(p.exec('rdtscp')).toBe(Vector.UD);
    expect(p.rdmsr(TSC_AUX)).toBeNull();
    const m = new VmxMachine('nehalem');
    expect(m.exec('db 0xf0\nrdtscp'), 'LOCK').toBe(Vector.UD);
    m.c.cr4 |= Cr4.TSD;
    m.ring(3);
    expect(m.exec('rdtscp')).toBe(Vector.GP);
    m.ring(0);
    expect(m.exec('rdtscp')).toBeNull();
  });
});

describe('RDRAND / RDSEED (0F C7 /6, /7 register forms)', () => {
  it('CF = 1 and the other arithmetic flags cleared; 32- and 16-bit destinations', () => {
    const m = new VmxMachine('broadwell'), c = m.c;
    c.r32[3] = 0x11112222;
    expect(m.exec('push dword 0x8d4\npopfd\nrdrand ebx')).toBeNull(); // OF SF ZF AF PF set, CF clear
    expect(m.arith()).toBe(Flag.CF);
    c.r32[2] = 0x7777_0000;
    expect(m.exec('rdseed dx')).toBeNull();
    expect(m.arith()).toBe(Flag.CF);
    expect(c.r32[2] >>> 16, 'a 16-bit destination keeps the high half').toBe(0x7777);
    expect(m.exec('rdrand ax\nrdrand ecx\nrdseed edi')).toBeNull();
    expect(c.getFlags() & ARITH_FLAGS).toBe(Flag.CF);
  });

  it('is deterministic: the same sequence on two machines, a different one per APIC ID, reset restarts it', () => {
    const seq = (apicId: number): number[] => {
      const m = new VmxMachine('skylake'), c = m.c;
      c.apicId = apicId;
      const out: number[] = [];
      for (let i = 0; i < 4; i++) { expect(m.exec('rdrand eax\nrdseed ebx')).toBeNull(); out.push(c.r32[0] >>> 0, c.r32[3] >>> 0); }
      return out;
    };
    const a = seq(0);
    expect(seq(0)).toEqual(a);
    expect(new Set(a).size, 'no repeats in 8 values').toBe(8);
    expect(seq(1)).not.toEqual(a);
  });

  it('#UD where CPUID lacks them (RDRAND before Ivy Bridge, RDSEED before Broadwell), with LOCK or F2/F3', () => {
    expect(new VmxMachine('sandy-bridge').exec('rdrand eax')).toBe(Vector.UD);
    const h = new VmxMachine('haswell');
    expect(h.exec('rdrand eax')).toBeNull();
    expect(h.exec('rdseed eax')).toBe(Vector.UD);
    const s = new VmxMachine('skylake');
    expect(s.exec('db 0xf0\nrdrand eax'), 'LOCK').toBe(Vector.UD);
    expect(s.exec('db 0xf3\nrdrand eax'), 'F3').toBe(Vector.UD);
    expect(s.exec('db 0xf2\nrdseed eax'), 'F2').toBe(Vector.UD);
  });
});

describe('INVPCID (66 0F 38 82)', () => {
  /** The TLB entry of linear page `lin` (nonzero: cached). */
  const cached = (m: VmxMachine, lin: number): boolean => m.c.tlb.entry[lin >>> 12] !== 0;
  const desc = (m: VmxMachine, pcid: number, hi: number, linear: number): void => {
    m.mem.write32(DATA, pcid); m.mem.write32(DATA + 4, hi); m.mem.write32(DATA + 8, linear); m.mem.write32(DATA + 12, 0);
  };

  it('type 0 drops the address, 1 and 3 the non-global translations, 2 global ones too', () => {
    const m = new VmxMachine('haswell'), c = m.c;
    // 4-8 MB global (PDE G = 1, CR4.PGE), 8-12 MB not.
    m.mem.write32(PD + 4, (1 << 22) | 0x187);
    c.cr4 |= Cr4.PGE;
    c.tlb.flushAll();
    const touch = 'mov eax, [0x400000]\nmov eax, [0x800000]\n';
    desc(m, 0, 0, 0x800123);
    expect(m.exec(`${touch}mov ecx, 0\ninvpcid ecx, [${DATA}]`)).toBeNull();
    expect(cached(m, 0x800000)).toBe(false);
    expect(cached(m, 0x400000)).toBe(true);
    for (const type of [1, 3]) {
      expect(m.exec(`${touch}mov ecx, ${type}\ninvpcid ecx, [${DATA}]`)).toBeNull();
      expect(cached(m, 0x800000), `type ${type}`).toBe(false);
      expect(cached(m, 0x400000), `type ${type} keeps the global page`).toBe(true);
    }
    expect(m.exec(`${touch}mov ecx, 2\ninvpcid ecx, [${DATA}]`)).toBeNull();
    expect(cached(m, 0x400000)).toBe(false);
    expect(cached(m, 0x800000)).toBe(false);
  });

  it('#GP(0) for a type above 3, reserved descriptor bits, a nonzero PCID with type 0/1 (CR4.PCIDE = 0), CPL 3', () => {
    const m = new VmxMachine('haswell');
    desc(m, 0, 0, 0);
    expect(m.exec(`mov ecx, 4\ninvpcid ecx, [${DATA}]`)).toBe(Vector.GP);
    desc(m, 0x1000, 0, 0);
    expect(m.exec(`mov ecx, 2\ninvpcid ecx, [${DATA}]`), 'PCID bits 63:12').toBe(Vector.GP);
    desc(m, 5, 0, 0);
    expect(m.exec(`mov ecx, 0\ninvpcid ecx, [${DATA}]`)).toBe(Vector.GP);
    expect(m.exec(`mov ecx, 1\ninvpcid ecx, [${DATA}]`)).toBe(Vector.GP);
    expect(m.exec(`mov ecx, 3\ninvpcid ecx, [${DATA}]`), 'types 2 and 3 ignore the PCID').toBeNull();
    desc(m, 0, 0, 0);
    m.ring(3);
    expect(m.exec(`mov ecx, 2\ninvpcid ecx, [${DATA}]`)).toBe(Vector.GP);
  });

  it('#UD before Haswell, with a register operand, with LOCK', () => {
    expect(new VmxMachine('ivy-bridge').exec(`invpcid ecx, [${DATA}]`)).toBe(Vector.UD);
    const m = new VmxMachine('skylake');
    expect(m.exec('db 0x66, 0x0f, 0x38, 0x82, 0xc1')).toBe(Vector.UD);
    expect(m.exec(`db 0xf0\ninvpcid ecx, [${DATA}]`)).toBe(Vector.UD);
  });
});

describe('MONITOR / MWAIT (0F 01 C8 / C9)', () => {
  it('reported on every generation; CPUID leaf 5 gives 64-byte lines, extensions enumerated (none), no C-states', () => {
    for (const gen of GENERATION_NAMES) {
      const o = new Int32Array(4);
      cpuidLeaf(cpuModelForName(gen), 1, 0, o);
      expect((o[2] >>> 3) & 1, gen).toBe(1);
    }
    const o = new Int32Array(4);
    cpuidLeaf(cpuModelForName('haswell'), 5, 0, o);
    expect([...o]).toEqual([64, 64, 1, 0]);
  });

  it('MONITOR arms, MWAIT disarms and returns at once (a false wake-up); an unarmed MWAIT is a NOP', () => {
    const m = new VmxMachine('merom'), c = m.c;
    expect(m.exec(`mov eax, ${DATA}\nxor ecx, ecx\nxor edx, edx\nmonitor`)).toBeNull();
    expect(c.monitorArmed).toBe(true);
    expect(m.exec('xor eax, eax\nxor ecx, ecx\nmwait')).toBeNull();
    expect(c.monitorArmed).toBe(false);
    expect(m.exec('mwait\nmwait')).toBeNull();
  });

  it('#UD at CPL 3 and with LOCK; #GP(0) for ECX != 0 or an address beyond the segment limit; #PF when unmapped', () => {
    const m = new VmxMachine('skylake'), c = m.c;
    m.ring(3);
    expect(m.exec(`mov eax, ${DATA}\nxor ecx, ecx\nmonitor`)).toBe(Vector.UD);
    expect(m.exec('xor ecx, ecx\nmwait')).toBe(Vector.UD);
    m.ring(0);
    expect(m.exec(`db 0xf0\nmonitor`), 'LOCK').toBe(Vector.UD);
    expect(m.exec(`mov eax, ${DATA}\nmov ecx, 1\nmonitor`)).toBe(Vector.GP);
    expect(m.exec('mov ecx, 1\nmwait')).toBe(Vector.GP);
    expect(m.exec('mov eax, 0x10000000\nxor ecx, ecx\nmonitor'), '256 MB: beyond the 16 MB identity map').toBe(Vector.PF);
    expect(c.monitorArmed).toBe(false);
  });
});

describe('GETSEC, XGETBV, XSETBV on a part without SMX and XSAVE (Merom; SMX is opt-in everywhere)', () => {
  it('CPUID reports neither; CR4.SMXE and CR4.OSXSAVE are refused (#GP); the instructions are #UD', () => {
    const m = new VmxMachine('merom'), o = new Int32Array(4);
    cpuidLeaf(m.model, 1, 0, o);
    expect((o[2] >>> 6) & 1, 'SMX').toBe(0);
    expect((o[2] >>> 26) & 1, 'XSAVE').toBe(0);
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.SMXE}\nmov cr4, eax`)).toBe(Vector.GP);
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.OSXSAVE}\nmov cr4, eax`)).toBe(Vector.GP);
    expect(m.exec('xor eax, eax\ngetsec')).toBe(Vector.UD);
    expect(m.exec('xor ecx, ecx\nxgetbv')).toBe(Vector.UD);
    expect(m.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv')).toBe(Vector.UD);
  });
});
