// The XSAVE feature set (SDM Vol. 1 ch. 13; Vol. 2C XGETBV, XSETBV, XSAVE, XRSTOR; CPUID leaf
// 0DH) outside VMX non-root operation: which generations report it, CPUID leaf 0DH and OSXSAVE,
// CR4.OSXSAVE, each #UD/#GP rule, the XSAVE image (x87 only: XCR0 supports bit 0) and XRSTOR's
// round trip, initialization and header checks, XCR0 at RESET and INIT.
import { describe, expect, it } from 'vitest';
import { cpuidLeaf } from '../../src/core/cpu/model';
import { Cr0, Cr4, Vector } from '../../src/core/cpu/regs';
import { GENERATION_NAMES } from '../../src/core/vmx/generations';
import { cpuModelForName } from '../../src/core/vmx/cpu-model';
import { guestSetXcr } from '../../src/core/vmm/xcr';
import { DATA, VmxMachine } from '../vmx/support';

const WITH_XSAVE = new Set(['penryn', 'sandy-bridge', 'ivy-bridge', 'haswell', 'broadwell', 'skylake', 'ice-lake']);
const AREA = 576;

/** A machine of `gen` with CR4.OSXSAVE set. */
function osxsave(gen = 'haswell'): VmxMachine {
  const m = new VmxMachine(gen);
  expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.OSXSAVE}\nmov cr4, eax`)).toBeNull();
  return m;
}

describe('CPUID: XSAVE per generation, leaf 0DH, OSXSAVE', () => {
  for (const gen of GENERATION_NAMES) {
    it(gen, () => {
      const m = cpuModelForName(gen), o = new Int32Array(4), has = WITH_XSAVE.has(gen);
      cpuidLeaf(m, 1, 0, o);
      expect((o[2] >>> 26) & 1, 'CPUID.1:ECX.XSAVE').toBe(has ? 1 : 0);
      expect((o[2] >>> 27) & 1, 'OSXSAVE (CR4 at CPUID time, not the model)').toBe(0);
      cpuidLeaf(m, 0, 0, o);
      const max = o[0];
      expect(max >= 0xd, 'maximum basic leaf covers 0DH').toBe(has);
      if (!has) return;
      expect(max).toBe(0xd);
      cpuidLeaf(m, 0xd, 0, o);
      expect([...o], 'sub-leaf 0: XCR0 x87 only, 576 bytes').toEqual([1, AREA, AREA, 0]);
      cpuidLeaf(m, 0xd, 1, o);
      expect([...o], 'sub-leaf 1: no XSAVEOPT/XSAVEC/XGETBV1/XSAVES').toEqual([0, 0, 0, 0]);
      for (const sub of [2, 3, 63]) {
        cpuidLeaf(m, 0xd, sub, o);
        expect([...o], `sub-leaf ${sub}`).toEqual([0, 0, 0, 0]);
      }
      const top = new Int32Array(4);
      cpuidLeaf(m, 0xe, 0, o); cpuidLeaf(m, 0xd, 0, top);
      expect([...o], 'above the maximum: the highest basic leaf').toEqual([...top]);
      for (const leaf of [8, 9, 0xa, 0xb, 0xc]) {
        cpuidLeaf(m, leaf, 0, o);
        expect([...o], `leaf ${leaf.toString(16)}H within the maximum`).toEqual([0, 0, 0, 0]);
      }
    });
  }

  it('the CPUID instruction reports OSXSAVE as CR4 has it, and leaf 0DH EBX for the current XCR0', () => {
    const m = new VmxMachine('penryn'), c = m.c;
    expect(m.exec('mov eax, 1\ncpuid')).toBeNull();
    expect((c.r32[1] >>> 27) & 1).toBe(0);
    expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.OSXSAVE}\nmov cr4, eax\nmov eax, 1\ncpuid`)).toBeNull();
    expect((c.r32[1] >>> 27) & 1).toBe(1);
    expect((c.r32[1] >>> 26) & 1).toBe(1);
    expect(m.exec('mov eax, 0xd\nxor ecx, ecx\ncpuid')).toBeNull();
    expect([c.r32[0], c.r32[3], c.r32[1], c.r32[2]]).toEqual([1, AREA, AREA, 0]);
  });
});

describe('CR4.OSXSAVE', () => {
  it('#GP(0) on a generation without XSAVE (Merom, Nehalem); settable with it', () => {
    for (const gen of ['merom', 'nehalem', 'westmere']) {
      const m = new VmxMachine(gen);
      expect(m.exec(`mov eax, cr4\nor eax, ${Cr4.OSXSAVE}\nmov cr4, eax`), gen).toBe(Vector.GP);
      expect(m.c.cr4 & Cr4.OSXSAVE, gen).toBe(0);
    }
    expect(osxsave('penryn').c.cr4 & Cr4.OSXSAVE).toBe(Cr4.OSXSAVE);
  });
});

describe('XGETBV (0F 01 D0) and XSETBV (0F 01 D1)', () => {
  it('#UD without XSAVE, with CR4.OSXSAVE = 0, with LOCK', () => {
    const merom = new VmxMachine('merom');
    expect(merom.exec('xor ecx, ecx\nxgetbv')).toBe(Vector.UD);
    expect(merom.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv')).toBe(Vector.UD);
    const m = new VmxMachine('haswell');
    expect(m.exec('xor ecx, ecx\nxgetbv'), 'CR4.OSXSAVE = 0').toBe(Vector.UD);
    expect(m.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv'), 'CR4.OSXSAVE = 0').toBe(Vector.UD);
    const o = osxsave();
    expect(o.exec('xor ecx, ecx\ndb 0xf0, 0x0f, 0x01, 0xd0'), 'LOCK XGETBV').toBe(Vector.UD);
    expect(o.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\ndb 0xf0, 0x0f, 0x01, 0xd1'), 'LOCK XSETBV').toBe(Vector.UD);
  });

  it('XGETBV: EDX:EAX = XCR0 (1 after RESET) at any CPL; #GP(0) for ECX = 1 (no XGETBV1) and beyond', () => {
    const m = osxsave(), c = m.c;
    expect(m.exec('mov eax, -1\nmov edx, -1\nxor ecx, ecx\nxgetbv')).toBeNull();
    expect([c.r32[0], c.r32[2]]).toEqual([1, 0]);
    m.ring(3);
    expect(m.exec('mov eax, -1\nxor ecx, ecx\nxgetbv'), 'CPL 3').toBeNull();
    expect(c.r32[0]).toBe(1);
    m.ring(0);
    expect(m.exec('mov ecx, 1\nxgetbv')).toBe(Vector.GP);
    expect(m.exec('mov ecx, 2\nxgetbv')).toBe(Vector.GP);
  });

  it('XSETBV: XCR0 = 1 is accepted; #GP(0) at CPL 3, for ECX != 0, EDX != 0, bit 0 clear, unsupported bits, AVX without SSE', () => {
    const m = osxsave(), c = m.c;
    expect(m.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv')).toBeNull();
    expect(c.xcr0).toBe(1);
    const bad: [string, string][] = [
      ['ECX = 1', 'mov ecx, 1\nmov eax, 1\nxor edx, edx'],
      ['EDX != 0', 'xor ecx, ecx\nmov eax, 1\nmov edx, 1'],
      ['x87 clear', 'xor ecx, ecx\nxor eax, eax\nxor edx, edx'],
      ['SSE (not supported)', 'xor ecx, ecx\nmov eax, 3\nxor edx, edx'],
      ['AVX without SSE', 'xor ecx, ecx\nmov eax, 5\nxor edx, edx'],
      ['AVX with SSE (not supported)', 'xor ecx, ecx\nmov eax, 7\nxor edx, edx'],
    ];
    for (const [what, setup] of bad) {
      expect(m.exec(`${setup}\nxsetbv`), what).toBe(Vector.GP);
      expect(c.xcr0, what).toBe(1);
    }
    m.ring(3);
    expect(m.exec('xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv'), 'CPL 3').toBe(Vector.GP);
  });

  it('the hosted VMM\'s check (KVM\'s __kvm_set_xcr) refuses the same values and CPL > 0', () => {
    const m = osxsave(), c = m.c;
    expect(guestSetXcr(c, 0, 1, 0, 0)).toBe(true);
    expect(guestSetXcr(c, 0, 1, 0, 3), 'CPL 3').toBe(false);
    expect(guestSetXcr(c, 1, 1, 0, 0), 'XCR1').toBe(false);
    for (const v of [0, 2, 3, 5, 7]) expect(guestSetXcr(c, 0, v, 0, 0), `XCR0 = ${v}`).toBe(false);
    expect(guestSetXcr(c, 0, 1, 1, 0), 'EDX != 0').toBe(false);
    expect(c.xcr0).toBe(1);
  });
});

describe('XCR0 at RESET and INIT (SDM Vol. 3A Table 9-1)', () => {
  it('RESET sets 1; INIT leaves it', () => {
    const m = new VmxMachine('haswell'), c = m.c;
    expect(c.xcr0).toBe(1);
    c.xcr0 = 0; // not a value software can load: shows that RESET writes it
    c.reset();
    expect(c.xcr0).toBe(1);
    const i = new VmxMachine('haswell', { vmxe: false });
    i.c.xcr0 = 0x80; // likewise, to show INIT does not touch it
    expect(i.c.init()).toBe(true);
    expect(i.c.xcr0).toBe(0x80);
  });
});

describe('XSAVE (0F AE /4) and XRSTOR (0F AE /5), standard format', () => {
  /** Fills the 576-byte area at DATA with 0xA5 bytes. */
  function fill(m: VmxMachine, at = DATA): void { for (let i = 0; i < AREA; i += 4) m.mem.write32(at + i, 0xa5a5a5a5 | 0); }

  it('saves the x87 state where FXSAVE puts it, leaves MXCSR and bytes 160-511 alone, sets XSTATE_BV[0] only', () => {
    const m = osxsave(), c = m.c, f = c.fpu!;
    f.reset(); f.push(1.0); f.push(-2.5);
    fill(m);
    m.mem.write32(DATA + 512, 0xa5a5a5a4 | 0); // XSTATE_BV[0] = 0 before
    expect(m.exec(`mov eax, -1\nmov edx, -1\nxsave [${DATA}]`)).toBeNull();
    expect(m.mem.read16(DATA)).toBe(0x037f); // FCW
    expect((m.mem.read16(DATA + 2) >> 11) & 7).toBe(6); // TOP
    expect(m.mem.read8(DATA + 4)).toBe(0b11000000); // abridged tags
    expect(m.mem.read16(DATA + 32 + 8)).toBe(0xc000); // ST0 = -2.5
    expect(m.mem.read32(DATA + 32 + 4) >>> 0).toBe(0xa0000000);
    expect(m.mem.read16(DATA + 48 + 8)).toBe(0x3fff); // ST1 = 1.0
    expect(m.mem.read32(DATA + 24) >>> 0, 'MXCSR: component 1').toBe(0xa5a5a5a5);
    expect(m.mem.read32(DATA + 28) >>> 0, 'MXCSR_MASK').toBe(0xa5a5a5a5);
    for (let o = 160; o < 512; o += 4) expect(m.mem.read32(DATA + o) >>> 0, `byte ${o}`).toBe(0xa5a5a5a5);
    expect(m.mem.read32(DATA + 512) >>> 0, 'XSTATE_BV: bit 0 set, others kept').toBe(0xa5a5a5a5);
    expect(m.mem.read32(DATA + 516) >>> 0).toBe(0xa5a5a5a5);
    expect(m.mem.read32(DATA + 520) >>> 0, 'XCOMP_BV untouched').toBe(0xa5a5a5a5);
    // The x87 bytes equal FXSAVE's.
    expect(m.exec(`fxsave [${DATA + 0x1000}]`)).toBeNull();
    for (let o = 0; o < 160; o += 4) {
      if (o === 24 || o === 28) continue;
      expect(m.mem.read32(DATA + o), `byte ${o}`).toBe(m.mem.read32(DATA + 0x1000 + o));
    }
  });

  it('with EDX:EAX & XCR0 = 0 nothing is saved or restored', () => {
    const m = osxsave(), f = m.c.fpu!;
    f.reset(); f.push(3);
    fill(m);
    expect(m.exec(`xor eax, eax\nmov edx, -1\nxsave [${DATA}]`)).toBeNull();
    for (let o = 0; o < AREA; o += 4) expect(m.mem.read32(DATA + o) >>> 0, `byte ${o}`).toBe(0xa5a5a5a5);
    for (let o = 512; o < AREA; o += 4) m.mem.write32(DATA + o, 0);
    expect(m.exec(`xor eax, eax\nxor edx, edx\nxrstor [${DATA}]`)).toBeNull();
    expect(f.getST(0)).toBe(3);
  });

  it('round trip: XRSTOR loads what XSAVE stored', () => {
    const m = osxsave(), f = m.c.fpu!;
    for (let o = 0; o < AREA; o += 4) m.mem.write32(DATA + o, 0);
    f.reset(); f.push(1.5); f.push(-7); f.push(Math.PI);
    const tw = f.tagWord, sw = f.statusWord;
    expect(m.exec(`mov eax, 1\nxor edx, edx\nxsave [${DATA}]\nfninit\nfld1`)).toBeNull();
    expect(f.getST(0)).toBe(1);
    expect(m.exec(`mov eax, 1\nxor edx, edx\nxrstor [${DATA}]`)).toBeNull();
    expect([f.getST(0), f.getST(1), f.getST(2)]).toEqual([Math.PI, -7, 1.5]);
    expect(f.tagWord).toBe(tw);
    expect(f.statusWord).toBe(sw);
    expect(f.controlWord).toBe(0x037f);
  });

  it('XRSTOR with XSTATE_BV[0] = 0 puts x87 in its initial configuration (FCW 037FH, all empty, registers +0)', () => {
    const m = osxsave(), f = m.c.fpu!;
    for (let o = 0; o < AREA; o += 4) m.mem.write32(DATA + o, 0x11111111);
    for (let o = 512; o < AREA; o += 4) m.mem.write32(DATA + o, 0);
    expect(m.exec('fninit\nfld1\nfldpi\nmov ax, 0x027f\npush eax\nfldcw [esp]\npop eax')).toBeNull();
    expect(m.exec(`mov eax, 1\nxor edx, edx\nxrstor [${DATA}]`)).toBeNull();
    expect(f.controlWord).toBe(0x037f);
    expect(f.statusWord).toBe(0);
    expect(f.tagWord).toBe(0xffff);
    for (let p = 0; p < 8; p++) expect(f.getPhys80(p), `R${p}`).toEqual([0, 0, 0]);
  });

  it('XRSTOR: #GP(0) for XSTATE_BV bits XCR0 lacks and for nonzero header bytes 23:8; bytes 63:24 are not checked', () => {
    const m = osxsave(), f = m.c.fpu!;
    const header = (dwords: number[]): void => {
      for (let o = 512; o < AREA; o += 4) m.mem.write32(DATA + o, 0);
      dwords.forEach((v, i) => m.mem.write32(DATA + 512 + 4 * i, v | 0));
    };
    for (let o = 0; o < 512; o += 4) m.mem.write32(DATA + o, 0);
    f.reset(); f.push(2);
    const cases: [string, number[]][] = [
      ['XSTATE_BV[1] (SSE)', [3]],
      ['XSTATE_BV[32]', [1, 1]],
      ['XCOMP_BV[63] (compacted form, no XSAVEC)', [1, 0, 0, 0x80000000]],
      ['XCOMP_BV[0]', [1, 0, 1]],
      ['header bytes 23:16', [1, 0, 0, 0, 0, 0x100]],
    ];
    for (const [what, h] of cases) {
      header(h);
      expect(m.exec(`mov eax, -1\nmov edx, -1\nxrstor [${DATA}]`), what).toBe(Vector.GP);
      expect(f.getST(0), `${what}: nothing loaded`).toBe(2);
    }
    header([1, 0, 0, 0, 0, 0, 0xff, 0xff]);
    expect(m.exec(`mov eax, -1\nmov edx, -1\nxrstor [${DATA}]`), 'bytes 24-31').toBeNull();
  });

  it('#UD without OSXSAVE or with LOCK, #NM with CR0.TS, #GP(0) unless 64-byte aligned', () => {
    const m = new VmxMachine('haswell');
    expect(m.exec(`xsave [${DATA}]`)).toBe(Vector.UD);
    expect(m.exec(`xrstor [${DATA}]`)).toBe(Vector.UD);
    const o = osxsave();
    for (let i = 512; i < AREA; i += 4) o.mem.write32(DATA + i, 0);
    expect(o.exec(`db 0xf0\nxsave [${DATA}]`), 'LOCK').toBe(Vector.UD);
    expect(o.exec(`db 0x0f, 0xae, 0xe0`), '0F AE /4 with a register operand').toBe(Vector.UD);
    o.c.cr0 |= Cr0.TS;
    expect(o.exec(`xsave [${DATA}]`)).toBe(Vector.NM);
    expect(o.exec(`xrstor [${DATA}]`)).toBe(Vector.NM);
    o.c.cr0 &= ~Cr0.TS;
    expect(o.exec(`xsave [${DATA + 16}]`), '16-byte aligned only').toBe(Vector.GP);
    expect(o.exec(`xrstor [${DATA + 32}]`)).toBe(Vector.GP);
    expect(o.exec(`xsave [${DATA + 64}]`)).toBeNull();
  });

  it('#PF before any state changes when the area is not mapped', () => {
    const o = osxsave(), f = o.c.fpu!;
    f.reset(); f.push(5);
    expect(o.exec('mov eax, -1\nxsave [0x1000000]'), '16 MB: beyond the identity map').toBe(Vector.PF);
    expect(o.exec('mov eax, -1\nxrstor [0x1000000]')).toBe(Vector.PF);
    expect(f.getST(0)).toBe(5);
  });
});
