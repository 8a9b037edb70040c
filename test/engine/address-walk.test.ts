// The VMCS inspector's address walk (engine request 'addressWalk'): a guest-physical address
// through the VMM's EPT (hosted pit-idle: identity map in 4 KB pages, ROM read/execute only, VGA
// memory and holes without entries), a guest-linear one through page tables the test writes, and
// the promise that a walk changes nothing: no entry written (A/D flags), no TLB or walker touched.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/core/engine/engine';
import type { AddressWalk, EngineRequest } from '../../src/core/engine/protocol';
import type { PcMachine } from '../../src/core/platform/machine';
import { EptEntry, Eptp } from '../../src/core/vmx/ept/format';
import { VmcsField } from '../../src/core/vmx/fields';
import type { VmxUnit } from '../../src/core/vmx/unit';
import { installEptFixture } from './ept-fixture';
import { image, makeEngine, settings, type TestHost } from './harness';

const PIT = 'guests/pit-idle/pit-idle.img';

function hostedAfterSteps(steps: number): { host: TestHost; engine: Engine; send: ReturnType<typeof makeEngine>['send']; m: PcMachine; unit: VmxUnit } {
  const e = makeEngine();
  e.send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ mode: 'hosted', generation: 'skylake' }) });
  const err = e.host.of('error')[0];
  if (err !== undefined) throw new Error(`hosted load failed: ${err.error.message}`);
  for (let i = 0; i < steps; i++) { e.send({ type: 'step' }); e.host.drain(); }
  const m = (e.engine as unknown as { m: PcMachine }).m;
  return { ...e, m, unit: m.cpus[0]!.vmx as VmxUnit };
}

/** A bare pit-idle machine on Skylake with the hand-built EPT of ept-fixture.ts on vCPU 0. */
function bareWithFixture(accessedDirty = false): ReturnType<typeof hostedAfterSteps> {
  const e = makeEngine();
  e.send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ mode: 'bare', generation: 'skylake' }) });
  const m = (e.engine as unknown as { m: PcMachine }).m;
  return { ...e, m, unit: installEptFixture(m, accessedDirty) };
}

let nextId = 100;
function walk(h: { host: TestHost; send: ReturnType<typeof makeEngine>['send'] }, req: Omit<Extract<EngineRequest, { kind: 'addressWalk' }>, 'kind'>): AddressWalk | null | string {
  const id = nextId++;
  h.send({ type: 'request', id, request: { kind: 'addressWalk', ...req } });
  const r = h.host.of('response').find((x) => x.id === id)!;
  return r.ok ? r.result as AddressWalk | null : r.error;
}

describe('address walk', () => {
  it('walks guest-physical addresses through the VMM\'s EPT: RAM, ROM, VGA memory, beyond RAM', () => {
    const h = hostedAfterSteps(3);
    const eptp = h.unit.vmcs.lo(VmcsField.EptPointer);
    const ram = walk(h, { vcpu: 0, address: 0x7c12, space: 'guest-physical' }) as AddressWalk;
    expect(ram.guest).toBeNull();
    const e = ram.ept!;
    expect(e.enabled).toBe(true);
    expect(e.eptp).toBe(eptp >>> 0);
    expect(e.pml4).toBe((eptp & Eptp.AddressMask) >>> 0);
    expect(e.walkLength).toBe(4);
    expect(e.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(e.levels.map((l) => l.index)).toEqual([0, 0, 0, 7]);
    const pte = e.levels[3]!;
    expect(pte).toMatchObject({ read: true, write: true, execute: true, leaf: true, memoryType: 6, largePage: false });
    expect(pte.lo & ~0xfff).toBe(0x7000); // identity map
    expect(h.m.mem.read32(pte.address)).toBe(pte.lo | 0);
    expect(e.hpa).toBe(0x7c12);
    expect(e.pageSize).toBe(4096);
    expect(e.outcomes.map((o) => o.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(e.message).toContain('0x00007C12');

    // The BIOS ROM: read and fetch map, a write is an EPT violation with the qualification the
    // CPU would report (write, R-X, linear address valid, translation).
    const rom = (walk(h, { vcpu: 0, address: 0xffff0, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(rom.outcomes.map((o) => o.outcome)).toEqual(['ok', 'violation', 'ok']);
    expect(rom.outcomes[1]!.qualification).toBe(0x2 | (0x5 << 3) | 0x80 | 0x100);
    expect(rom.outcomes[1]!.detail).toContain('write of a page that is R-X');

    // VGA text memory has no EPT entry (the VMM handles it as MMIO): a violation at the PTE.
    const vga = (walk(h, { vcpu: 0, address: 0xb8000, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(vga.levels.at(-1)!.name).toBe('PTE');
    expect(vga.levels.at(-1)!.lo & 7).toBe(0);
    expect(vga.outcomes.every((o) => o.outcome === 'violation')).toBe(true);
    expect(vga.hpa).toBeNull();
    expect(vga.message).toMatch(/EPT violation at the PTE: read of a page that is ---/);

    // Far beyond the 16 MiB of RAM: no page table at all, the walk ends at the PDE.
    const far = (walk(h, { vcpu: 0, address: 0x40000000, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(far.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE']);
    expect(far.levels.map((l) => l.index)).toEqual([0, 1, 0]);
    expect(far.outcomes[0]!.detail).toContain('at the PDE');
    expect(h.host.of('error')).toEqual([]);
  });

  it('changes nothing: no A/D flag set with EPTP A/D on, no TLB or walker state touched', () => {
    const h = bareWithFixture(true);
    const before = h.m.mem.u8.slice();
    const tlb = h.m.cpus[0]!.tlb as unknown as { walks: number };
    const walksBefore = tlb.walks, eptWalksBefore = h.unit.ept.walker.walks;
    const w = (walk(h, { vcpu: 0, address: 0x7c12, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(w.accessedDirty).toBe(true);
    expect(w.outcomes.map((o) => o.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(w.levels.every((l) => !l.accessed)).toBe(true);
    walk(h, { vcpu: 0, address: 0x12345, space: 'guest-linear' });
    walk(h, { vcpu: 0, address: 0x250000, space: 'guest-physical' });
    expect(Buffer.compare(Buffer.from(h.m.mem.u8), Buffer.from(before))).toBe(0);
    expect(tlb.walks).toBe(walksBefore);
    expect(h.unit.ept.walker.walks).toBe(eptWalksBefore);
  });

  it('shows a 2 MB page, a misconfiguration, and what each access kind would cause', () => {
    const h = bareWithFixture();
    const big = (walk(h, { vcpu: 0, address: 0x212345, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(big.levels.map((l) => [l.name, l.index])).toEqual([['PML4E', 0], ['PDPTE', 0], ['PDE', 1]]);
    expect(big.levels.at(-1)).toMatchObject({ largePage: true, leaf: true, memoryType: 0, dirty: true, accessed: true, read: true, write: false, execute: false });
    expect(big.pageSize).toBe(0x200000);
    expect(big.hpa).toBe(0x612345);
    expect(big.outcomes.map((o) => o.outcome)).toEqual(['ok', 'violation', 'violation']);
    expect(big.outcomes[2]!.qualification).toBe(0x4 | (0x1 << 3) | 0x180);
    expect(big.message).toContain('for read;');
    const rom = (walk(h, { vcpu: 0, address: 0xffff0, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(rom.outcomes.map((o) => o.outcome)).toEqual(['ok', 'violation', 'ok']);
    const far = (walk(h, { vcpu: 0, address: 0x400000, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(far.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE']);
    expect(far.message).toContain('EPT violation at the PDE');
    // Writable but not readable: a misconfiguration at the PDE (§29.3.3.1); the PTE past it is
    // not part of the walk.
    const pde = 0x202000;
    h.m.mem.write32(pde, (h.m.mem.read32(pde) & ~7) | EptEntry.Write);
    const bad = (walk(h, { vcpu: 0, address: 0x7c12, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(bad.outcomes.map((o) => o.outcome)).toEqual(['misconfiguration', 'misconfiguration', 'misconfiguration']);
    expect(bad.message).toContain('EPT misconfiguration at the PDE: the entry is writable but not readable');
    expect(bad.levels.at(-1)!.name).toBe('PDE');
    // EPT off in the VMCS: guest-physical is host-physical.
    h.unit.vmcs.setLo(VmcsField.ProcBasedControls2, 0);
    const off = (walk(h, { vcpu: 0, address: 0x7c12, space: 'guest-physical' }) as AddressWalk).ept!;
    expect(off).toMatchObject({ enabled: false, hpa: 0x7c12, levels: [] });
    expect(off.message).toContain('EPT is off');
  });

  it('walks a guest-linear address through the guest\'s 32-bit and PAE page tables, each entry through EPT', () => {
    const h = bareWithFixture();
    const v = h.unit.vmcs;
    // Paging off: the linear address is the guest-physical one.
    const off = walk(h, { vcpu: 0, address: 0x7c00, space: 'guest-linear' }) as AddressWalk;
    expect(off.guest).toMatchObject({ mode: 'off', gpa: 0x7c00 });
    expect(off.ept!.hpa).toBe(0x7c00);
    // 32-bit paging: a page directory at 0x30000, a page table at 0x31000; linear 0x00401234 ->
    // 0x00067234; linear 0x00800000 through a 4 MB page (CR4.PSE) -> 0x00C00000 (no EPT entry).
    const mem = h.m.mem;
    mem.write32(0x30000 + 1 * 4, 0x31000 | 0x27); // P RW US A
    mem.write32(0x31000 + 1 * 4, 0x67000 | 0x63); // P RW A D
    mem.write32(0x30000 + 2 * 4, 0xc00000 | 0x83); // P RW PS
    v.setLo(VmcsField.GuestCr0, 0x80000011); v.setLo(VmcsField.GuestCr3, 0x30000); v.setLo(VmcsField.GuestCr4, 0x10);
    const w = walk(h, { vcpu: 0, address: 0x00401234, space: 'guest-linear' }) as AddressWalk;
    expect(w.guest!.mode).toBe('32-bit');
    expect(w.guest!.source).toContain('VMCS');
    expect(w.guest!.levels.map((l) => [l.name, l.gpa, l.hpa])).toEqual([['PDE', 0x30004, 0x30004], ['PTE', 0x31004, 0x31004]]);
    expect(w.guest!.levels[0]).toMatchObject({ present: true, write: true, user: true, accessed: true, dirty: false });
    expect(w.guest!.levels[1]).toMatchObject({ present: true, write: true, user: false, accessed: true, dirty: true });
    expect(w.guest!.gpa).toBe(0x67234);
    expect(w.ept!.gpa).toBe(0x67234);
    expect(w.ept!.hpa).toBe(0x67234);
    const big = walk(h, { vcpu: 0, address: 0x00812345, space: 'guest-linear' }) as AddressWalk;
    expect(big.guest!.gpa).toBe(0xc12345);
    expect(big.guest!.message).toContain('4 MB page');
    expect(big.ept!.message).toContain('EPT violation at the PDE');
    const none = walk(h, { vcpu: 0, address: 0x00c00000, space: 'guest-linear' }) as AddressWalk;
    expect(none.guest!.gpa).toBeNull();
    expect(none.guest!.message).toContain('PDE is not present');
    expect(none.ept).toBeNull();
    // A page directory whose guest-physical page has no EPT entry (VGA memory): the guest walk
    // stops at the EPT violation it would cause.
    v.setLo(VmcsField.GuestCr3, 0xa0000);
    const lost = walk(h, { vcpu: 0, address: 0x1000, space: 'guest-linear' }) as AddressWalk;
    expect(lost.guest!.gpa).toBeNull();
    expect(lost.guest!.message).toMatch(/the PDE at guest-physical 0x000A0000: EPT violation at the PTE/);
    // PAE: PDPTE 0 at CR3 0x32000 -> page directory 0x33000; PDE 0 -> 2 MB page at 0x00000000.
    mem.write32(0x32000, 0x33000 | 1); mem.write32(0x32004, 0);
    mem.write32(0x33000, 0x00000000 | 0x83); mem.write32(0x33004, 0x80000000);
    v.setLo(VmcsField.GuestCr3, 0x32000); v.setLo(VmcsField.GuestCr4, 0x20);
    const pae = walk(h, { vcpu: 0, address: 0x00012345, space: 'guest-linear' }) as AddressWalk;
    expect(pae.guest!.mode).toBe('pae');
    expect(pae.guest!.levels.map((l) => l.name)).toEqual(['PDPTE', 'PDE']);
    expect(pae.guest!.levels[1]).toMatchObject({ largePage: true, noExecute: true });
    expect(pae.guest!.gpa).toBe(0x12345);
  });

  it('answers bad requests with an error and a machine without a VMCS with null', () => {
    const h = bareWithFixture();
    expect(walk(h, { vcpu: 5, address: 0, space: 'guest-physical' })).toMatch(/vCPU 5 does not exist/);
    expect(walk(h, { vcpu: 0, address: -1, space: 'guest-physical' })).toMatch(/address must be 0 to 0xFFFFFFFF/);
    expect(walk(h, { vcpu: 0, address: 0, space: 'host' as 'guest-physical' })).toMatch(/space must be one of/);
    const bare = makeEngine();
    bare.send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ mode: 'bare' }) });
    expect(walk(bare, { vcpu: 0, address: 0x7c00, space: 'guest-physical' })).toBeNull();
    expect(walk(makeEngine(), { vcpu: 0, address: 0, space: 'guest-physical' })).toMatch(/no guest is loaded/);
  });
});
