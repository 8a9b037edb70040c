// The EPT walk on its own (SDM Vol. 3C §29.3.2-§29.3.5): each page size, each permission, each
// misconfiguration, the accessed/dirty flags, and the EPTP checks.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { asGuestPhysical } from '../../src/core/platform/address';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';
import { eptpProblem } from '../../src/core/vmx/ept/eptp';
import { EptAccess, EptOutcome, EptWalker, Misconfig, eptFeaturesOf } from '../../src/core/vmx/ept/walk';
import { A, D, EPTP_AD, EptBuilder, LEAF, R, RWX, W, WB, X } from './ept-support';

const caps = (gen: string, o: { longMode?: boolean } = {}) => capabilitiesFor(generation(gen), cpuModelFor(generation(gen), o));

function setup(gen = 'haswell') {
  const mem = new PhysicalMemory(16 << 20);
  const b = new EptBuilder(mem);
  const w = new EptWalker(mem, eptFeaturesOf(caps(gen).eptCap));
  return { mem, b, w };
}

const gpa = asGuestPhysical;

describe('EPT walk: page sizes', () => {
  it('4 KB pages: host address, ANDed permissions, level 1', () => {
    const { b, w } = setup();
    b.map4k(0x5000, 0x123000, WB | R | X);
    w.setEptp(b.eptp());
    expect(w.translate(gpa(0x5abc), EptAccess.Read)).toBe(0x123abc);
    expect(w.outcome).toBe(EptOutcome.Ok);
    expect(w.perm).toBe(R | X);
    expect(w.level).toBe(1);
  });

  it('2 MB pages map bits 20:0 of the guest-physical address', () => {
    const { b, w } = setup();
    b.map2m(0x00600000, 0x00a00000);
    w.setEptp(b.eptp());
    expect(w.translate(gpa(0x006f1234), EptAccess.Write)).toBe(0x00af1234);
    expect(w.level).toBe(2);
    expect(w.perm).toBe(RWX);
  });

  it('1 GB pages map bits 29:0 (Haswell); a misconfiguration where 1 GB pages are not supported (Nehalem)', () => {
    for (const [gen, ok] of [['haswell', true], ['nehalem', false]] as const) {
      const { b, w } = setup(gen);
      b.map1g(0x40000000, 0);
      w.setEptp(b.eptp());
      const h = w.translate(gpa(0x40307004), EptAccess.Read);
      if (ok) { expect(h).toBe(0x307004); expect(w.level).toBe(3); } else {
        expect(w.outcome).toBe(EptOutcome.Misconfiguration);
        expect(w.misconfig).toBe(Misconfig.LargePageUnsupported);
      }
    }
  });

  it('2 MB pages are a misconfiguration when the capability is absent', () => {
    const mem = new PhysicalMemory(16 << 20);
    const b = new EptBuilder(mem);
    const w = new EptWalker(mem, { executeOnly: true, pages2m: false, pages1g: false });
    b.map2m(0, 0);
    w.setEptp(b.eptp());
    w.translate(gpa(0x1000), EptAccess.Read);
    expect(w.outcome).toBe(EptOutcome.Misconfiguration);
    expect(w.misconfig).toBe(Misconfig.LargePageUnsupported);
  });
});

describe('EPT walk: violations (§29.3.3.2)', () => {
  it('an entry that is not present at any level: violation, permissions 0, the level that stopped', () => {
    for (const level of [4, 3, 2, 1]) {
      const { b, w } = setup();
      b.map4k(0x3000, 0x3000);
      b.set(0x3000, level, 0); // not present (creating the tables above it)
      w.setEptp(b.eptp());
      w.translate(gpa(0x3000), EptAccess.Read);
      expect(w.outcome, `level ${level}`).toBe(EptOutcome.Violation);
      expect(w.perm).toBe(0);
      expect(w.level).toBe(level);
    }
  });

  it('each access needs its permission in every entry (read R, write W, fetch X)', () => {
    const cases: [number, EptAccess, boolean][] = [
      [R, EptAccess.Read, true], [R, EptAccess.Write, false], [R, EptAccess.Fetch, false],
      [R | W, EptAccess.Write, true], [R | W, EptAccess.Fetch, false], [R | X, EptAccess.Fetch, true],
      [R | X, EptAccess.Write, false], [X, EptAccess.Fetch, true], [X, EptAccess.Read, false],
      [R | W, EptAccess.Read | EptAccess.Write, true], [R | X, EptAccess.Read | EptAccess.Write, false],
    ];
    for (const [perm, access, ok] of cases) {
      const { b, w } = setup();
      b.map4k(0x8000, 0x8000, WB | perm);
      w.setEptp(b.eptp());
      w.translate(gpa(0x8000), access);
      expect(w.outcome, `perm ${perm} access ${access}`).toBe(ok ? EptOutcome.Ok : EptOutcome.Violation);
      expect(w.perm).toBe(perm);
    }
  });

  it('permissions are ANDed over the levels: a read-only PDE makes the 4 KB page read-only', () => {
    const { b, w, mem } = setup();
    b.map4k(0x8000, 0x8000);
    const pde = b.entry(0x8000, 2);
    mem.write32(pde, (mem.read32(pde) & ~7) | R | X);
    w.setEptp(b.eptp());
    w.translate(gpa(0x8000), EptAccess.Write);
    expect(w.outcome).toBe(EptOutcome.Violation);
    expect(w.perm).toBe(R | X);
  });
});

describe('EPT walk: misconfigurations (§29.3.3.1)', () => {
  const cases: [string, (b: EptBuilder) => void, Misconfig][] = [
    ['write without read in a leaf', (b) => b.map4k(0x8000, 0x8000, WB | W), Misconfig.WriteWithoutRead],
    ['write/execute without read', (b) => b.map4k(0x8000, 0x8000, WB | W | X), Misconfig.WriteWithoutRead],
    ['write without read in a PML4E', (b) => { b.map4k(0x8000, 0x8000); b.set(0, 4, b.get(0, 4) & ~7 | W); }, Misconfig.WriteWithoutRead],
    ['memory type 2', (b) => b.map4k(0x8000, 0x8000, (2 << 3) | RWX), Misconfig.MemoryType],
    ['memory type 3', (b) => b.map4k(0x8000, 0x8000, (3 << 3) | RWX), Misconfig.MemoryType],
    ['memory type 7', (b) => b.map4k(0x8000, 0x8000, (7 << 3) | RWX), Misconfig.MemoryType],
    ['memory type 7 in a 2 MB leaf', (b) => b.map2m(0, 0, (7 << 3) | RWX), Misconfig.MemoryType],
    ['PML4E bits 7:3', (b) => { b.map4k(0x8000, 0x8000); b.set(0, 4, b.get(0, 4) | (1 << 7)); }, Misconfig.ReservedBit],
    ['memory type bits in a table reference (PDE bits 6:3)', (b) => { b.map4k(0x8000, 0x8000); b.set(0, 2, b.get(0, 2) | WB); }, Misconfig.ReservedBit],
    ['2 MB page bits 20:12', (b) => b.map2m(0, 0, LEAF | (1 << 12)), Misconfig.ReservedBit],
    ['1 GB page bits 29:12', (b) => b.map1g(0, 0, LEAF | (1 << 20)), Misconfig.ReservedBit],
    ['address bits 51:32 (beyond the 32-bit width)', (b) => b.set(0x8000, 1, 0x8000 | LEAF, 1), Misconfig.AddressBeyondWidth],
    ['address bits 51:32 in a table reference', (b) => { b.map4k(0x8000, 0x8000); b.set(0, 3, b.get(0, 3), 0x80); }, Misconfig.AddressBeyondWidth],
  ];
  for (const [name, build, why] of cases) {
    it(name, () => {
      const { b, w } = setup();
      build(b);
      w.setEptp(b.eptp());
      // A misconfiguration whatever the access: it is found before permissions are looked at.
      for (const a of [EptAccess.Read, EptAccess.Write, EptAccess.Fetch]) {
        w.translate(gpa(0x8000), a);
        expect(w.outcome).toBe(EptOutcome.Misconfiguration);
        expect(w.misconfig).toBe(why);
      }
    });
  }

  it('execute-only is a misconfiguration only without the capability (EPT_VPID_CAP bit 0)', () => {
    const mem = new PhysicalMemory(16 << 20);
    const b = new EptBuilder(mem);
    b.map4k(0x8000, 0x8000, WB | X);
    const without = new EptWalker(mem, { executeOnly: false, pages2m: true, pages1g: true });
    without.setEptp(b.eptp());
    without.translate(gpa(0x8000), EptAccess.Fetch);
    expect(without.misconfig).toBe(Misconfig.ExecuteOnlyUnsupported);
    const w = new EptWalker(mem, { executeOnly: true, pages2m: true, pages1g: true });
    w.setEptp(b.eptp());
    expect(w.translate(gpa(0x8000), EptAccess.Fetch)).toBe(0x8000);
  });

  it('ignored bits do not misconfigure: PTE bit 7, bits 11 and 63:52, ignore-PAT in a leaf', () => {
    const { b, w } = setup();
    b.set(0x8000, 1, 0x8000 | LEAF | (1 << 7) | (1 << 11) | (1 << 6), 0xfff00000 | 0);
    w.setEptp(b.eptp());
    expect(w.translate(gpa(0x8000), EptAccess.Read)).toBe(0x8000);
  });

  it('a not-present entry below a misconfigured one is never reached; a misconfiguration below a present one is found', () => {
    const { b, w } = setup();
    b.map4k(0x8000, 0x8000, (7 << 3) | R);
    w.setEptp(b.eptp());
    w.translate(gpa(0x8000), EptAccess.Write); // write to a read-only leaf, but memory type 7
    expect(w.outcome).toBe(EptOutcome.Misconfiguration);
  });
});

describe('EPT accessed and dirty flags (§29.3.5)', () => {
  it('with EPTP[6]: A on every entry used, D on the leaf for writes only', () => {
    const { b, w, mem } = setup();
    b.map4k(0x5000, 0x5000); b.map4k(0x6000, 0x6000); b.map4k(0x7000, 0x7000);
    w.setEptp(b.eptp(EPTP_AD));
    w.translate(gpa(0x5000), EptAccess.Read);
    expect(w.dirtyOk).toBe(false);
    w.translate(gpa(0x6000), EptAccess.Write);
    expect(w.dirtyOk).toBe(true);
    for (const l of [4, 3, 2]) expect(b.get(0x5000, l) & (A | D), `level ${l}`).toBe(A);
    expect(b.get(0x5000, 1) & (A | D)).toBe(A);
    expect(b.get(0x6000, 1) & (A | D)).toBe(A | D);
    expect(b.get(0x7000, 1) & (A | D)).toBe(0);
    // A 2 MB leaf takes D too.
    b.map2m(0x00400000, 0x00400000);
    w.translate(gpa(0x00400010), EptAccess.Write);
    expect(b.get(0x00400000, 2) & (A | D)).toBe(A | D);
    void mem;
  });

  it('without EPTP[6] nothing is written, and writes never need the dirty flag', () => {
    const { b, w } = setup();
    b.map4k(0x6000, 0x6000);
    w.setEptp(b.eptp());
    w.translate(gpa(0x6000), EptAccess.Write);
    expect(b.get(0x6000, 1) & (A | D)).toBe(0);
    expect(w.dirtyOk).toBe(true);
  });

  it('a walk that ends in a violation or misconfiguration sets no flag', () => {
    const { b, w } = setup();
    b.map4k(0x6000, 0x6000, WB | R);
    b.map4k(0x7000, 0x7000, (2 << 3) | RWX);
    w.setEptp(b.eptp(EPTP_AD));
    w.translate(gpa(0x6000), EptAccess.Write);
    w.translate(gpa(0x7000), EptAccess.Read);
    expect(b.get(0x6000, 1) & (A | D)).toBe(0);
    expect(b.get(0x7000, 1) & (A | D)).toBe(0);
    expect(b.get(0x6000, 4) & A).toBe(0);
  });
});

describe('EPTP checks (§27.2.1.1)', () => {
  const hw = caps('haswell'), nh = caps('nehalem');
  it('accepts WB and UC with a 4-level walk; A/D only where supported', () => {
    expect(eptpProblem(hw, 0x5000 | 0x1e, 0)).toBeNull();
    expect(eptpProblem(hw, 0x5000 | 0x18, 0)).toBeNull();
    expect(eptpProblem(hw, 0x5000 | 0x5e, 0)).toBeNull();
    expect(eptpProblem(nh, 0x5000 | 0x5e, 0)).toMatch(/accessed\/dirty flags, not supported on nehalem/);
  });
  it('refuses other memory types, other walk lengths, reserved bits 11:7 and bits beyond the width', () => {
    for (const t of [1, 2, 3, 4, 5, 7]) expect(eptpProblem(hw, 0x5000 | 0x18 | t, 0)).toMatch(/memory type/);
    for (const l of [0, 1, 2, 4, 7]) expect(eptpProblem(hw, 0x5000 | (l << 3) | 6, 0)).toMatch(/page-walk length/);
    for (const bit of [7, 8, 9, 10, 11]) expect(eptpProblem(hw, 0x5000 | 0x1e | (1 << bit), 0)).toMatch(/reserved bits 11:7/);
    // Haswell has Intel 64: MAXPHYADDR 36 (CPUID.80000008H), so bits 35:32 are address bits.
    expect(eptpProblem(hw, 0x5000 | 0x1e, 1)).toBeNull();
    expect(eptpProblem(hw, 0x5000 | 0x1e, 1 << 4)).toMatch(/beyond the 36-bit/);
    expect(eptpProblem(caps('haswell', { longMode: false }), 0x5000 | 0x1e, 1)).toMatch(/beyond the 32-bit/);
  });
});
