// EPT under IA-32e mode guests, beyond ia32e.test.ts: physical addresses at or above 4 GB
// (MAXPHYADDR 36: guest entries' bits 35:32 give guest-physical addresses EPT translates, EPT
// entries' bits 35:32 host-physical ones where no memory is), the EPT accessed/dirty flags of a
// 4-level guest walk and of a PAE walk (SDM Vol. 3C §29.3.5), and guest-physical accesses of a
// page walk to the APIC-access page (§30.4.6.1: APIC-access exits with access type 15 or 10).
import { describe, expect, it } from 'vitest';
import { Cr4, Vector } from '../../src/core/cpu/regs';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { PD2M, PDPT, PML4 } from './support';
import { expectExit, Guest, GUEST_CODE, GUEST_IDT } from './guest-support';
import { A, D, EPTP_AD, EptBuilder, EptHarness, LEAF, PS, RWX } from './ept-support';

const MARK = 0x12345678, LOW = 0x400000;

function eptGuest(eptpExtra = 0): [Guest, EptBuilder] {
  const g = new Guest('skylake', undefined, { start64: true });
  g.host64();
  g.guest64();
  const b = new EptBuilder(g.m.mem, 0x800000);
  b.identity2m(16 << 20);
  b.split(0);
  b.split(0x200000);
  g.ctl(ControlField.ProcBased2, ProcBasedCtls2.EnableEpt);
  g.w(V.EptPointer, b.eptp(eptpExtra));
  g.m.mem.write32(LOW, MARK);
  return [g, b];
}
/** The EPT PDPT's address (the table under PML4E 0). */
const eptPdpt = (b: EptBuilder): number => b.entry(0, 3);

describe('physical addresses above 4 GB under EPT', () => {
  it('a guest 2 MB page at guest-physical 1_0040_0000H: EPT translates it (here to host 400000H)', () => {
    const [g, b] = eptGuest();
    const pd = b.alloc();
    g.m.mem.write32(eptPdpt(b) + 4 * 8, pd | RWX); // EPT PDPTE 4: GPA 1_0000_0000H-1_3FFF_FFFFH
    g.m.mem.write32(pd + 2 * 8, LOW | LEAF | PS); // GPA 1_0040_0000H -> HPA 400000H
    g.m.mem.write32(PD2M + 5 * 8, LOW | 0x87); g.m.mem.write32(PD2M + 5 * 8 + 4, 1); // linear A00000H
    g.code64('mov eax, [0xa00000]\nvmcall');
    expectExit(g.exit(), ExitReason.Vmcall);
    expect(g.c.r32[0] >>> 0).toBe(MARK);
  });

  it('the same page without an EPT mapping: EPT violation with the whole guest-physical address', () => {
    const [g] = eptGuest();
    g.m.mem.write32(PD2M + 5 * 8, LOW | 0x87); g.m.mem.write32(PD2M + 5 * 8 + 4, 1);
    g.code64('mov eax, [0xa00010]\nvmcall');
    const x = g.exit();
    expectExit(x, ExitReason.EptViolation, GUEST_CODE);
    expect(g.r.vmreadLong(V.GuestPhysicalAddress).value).toBe(0x100400010n);
    expect(x.qualification & 0x187).toBe(0x181); // read, linear address valid, final translation
  });

  it('an EPT leaf at host-physical 1_0040_0000H: reads give all ones, writes leave 400000H alone', () => {
    const [g, b] = eptGuest();
    b.set(0x201000, 1, LOW | LEAF, 1);
    g.code64('mov eax, [0x201000]\nmov dword [0x201000], 0\nmov ebx, [0x201000]\nvmcall');
    expectExit(g.exit(), ExitReason.Vmcall);
    expect(g.c.r32[0] >>> 0).toBe(0xffffffff);
    expect(g.c.r32[3] >>> 0).toBe(0xffffffff);
    expect(g.m.mem.read32(LOW) >>> 0).toBe(MARK);
  });

  it('an EPT page table above 4 GB reads as all ones: reserved bits, an EPT misconfiguration', () => {
    const [g, b] = eptGuest();
    const pde = b.entry(0x200000, 2);
    g.m.mem.write32(pde + 4, 1); // the split PDE's page table now at 1_xxxx_x000H
    g.code64('mov eax, [0x201000]\nvmcall');
    const x = g.exit();
    expectExit(x, ExitReason.EptMisconfiguration, GUEST_CODE);
    expect(x.guestPhysical).toBe(0x201000);
  });

  it('CR3 bits 35:32 of a 64-bit guest: its PML4 at guest-physical 1_0000_5000H through EPT; saved whole', () => {
    const [g, b] = eptGuest();
    const pd = b.alloc();
    g.m.mem.write32(eptPdpt(b) + 4 * 8, pd | RWX);
    g.m.mem.write32(pd, 0 | LEAF | PS); // GPA 1_0000_0000H-1_001F_FFFFH -> HPA 0-1FFFFFH
    g.r.vmwriteLong(V.GuestCr3, 0x100000000n + BigInt(PML4));
    g.code64('mov rax, cr3\nvmcall');
    expectExit(g.exit(), ExitReason.Vmcall);
    expect(g.c.r32[0] >>> 0).toBe(PML4);
    expect(g.r.vmreadLong(V.GuestCr3).value).toBe(0x100000000n + BigInt(PML4));
    // Without that EPT mapping the first walk exits at the PML4E's guest-physical address.
    const [h] = eptGuest();
    h.r.vmwriteLong(V.GuestCr3, 0x100000000n + BigInt(PML4));
    h.code64('vmcall');
    const x = h.exit();
    expectExit(x, ExitReason.EptViolation, GUEST_CODE);
    expect(h.r.vmreadLong(V.GuestPhysicalAddress).value).toBe(0x100005000n);
  });
});

describe('EPT accessed and dirty flags with guest paging (§29.3.5)', () => {
  it('4-level guest walk: every paging-structure access counts as a write (A and D), the data pages A, D on writes', () => {
    const [g, b] = eptGuest(EPTP_AD);
    const m = g.m.mem;
    // The guest's own entries already have A (and D for the 2 MB pages), so the walk writes
    // none of them: the EPT D flags of the table pages come from the rule alone.
    m.write32(PML4, m.read32(PML4) | 0x20);
    m.write32(PDPT, m.read32(PDPT) | 0x20);
    for (const i of [0, 1]) m.write32(PD2M + i * 8, m.read32(PD2M + i * 8) | 0x60);
    const before = [m.read32(PML4), m.read32(PDPT), m.read32(PD2M), m.read32(PD2M + 8)];
    g.code64('mov eax, [0x201000]\nmov dword [0x202000], 1\nvmcall');
    expectExit(g.exit(), ExitReason.Vmcall);
    expect([m.read32(PML4), m.read32(PDPT), m.read32(PD2M), m.read32(PD2M + 8)], 'no guest A/D write').toEqual(before);
    for (const table of [PML4, PDPT, PD2M]) expect(b.get(table, 1) & (A | D), `EPT leaf of guest table ${table.toString(16)}`).toBe(A | D);
    expect(b.get(0x201000, 1) & (A | D), 'read page').toBe(A);
    expect(b.get(0x202000, 1) & (A | D), 'written page').toBe(A | D);
    expect(b.get(0x203000, 1) & (A | D), 'untouched page').toBe(0);
    expect(b.get(GUEST_CODE, 1) & (A | D), 'code page').toBe(A);
    // The EPT table entries used get A only.
    expect(b.get(0x200000, 2) & (A | D)).toBe(A);
    expect(b.get(0, 3) & (A | D)).toBe(A);
    expect(b.get(0, 4) & (A | D)).toBe(A);
  });

  it('PAE guest walk: the PDE and PTE pages through EPT count as writes', () => {
    const h = new EptHarness('haswell');
    h.ept.identity2m(16 << 20);
    h.ept.split(0x200000);
    const m = h.m.mem, c = h.m.c;
    const PDA = 0x210000, PTA = 0x211000;
    for (let i = 0; i < 512; i++) { m.write32(PDA + i * 8, (i << 21) | 0xe7); m.write32(PDA + i * 8 + 4, 0); }
    m.write32(PDA + 2 * 8, PTA | 0x27); // PDE 2 (linear 400000H) -> page table, A set
    for (let i = 0; i < 512; i++) { m.write32(PTA + i * 8, (0x200000 + i * 0x1000) | 0x67); m.write32(PTA + i * 8 + 4, 0); }
    c.cr3 = 0x20f000; c.cr4 = (c.cr4 | Cr4.PAE) & ~Cr4.PSE; c.tlb.flushAll();
    h.enter({ eptp: h.ept.eptp(EPTP_AD), pdptes: [PDA | 1, 0, 0, 0, 0, 0, 0, 0] });
    expect(h.run('mov eax, [0x405000]')).toEqual({ kind: 'done' });
    expect(h.ept.get(PDA, 1) & (A | D), 'PD page').toBe(A | D);
    expect(h.ept.get(PTA, 1) & (A | D), 'page table').toBe(A | D);
    expect(h.ept.get(0x205000, 1) & (A | D), 'data page, read').toBe(A);
    expect(h.ept.get(0x20f000, 1) & (A | D), 'the PDPT: PDPTEs come from the VMCS').toBe(0);
  });
});

describe('guest-physical accesses to the APIC-access page (§30.4.6.1)', () => {
  const APAGE = 0x10a000, VAPIC = 0x108000;
  function apicGuest(): [Guest, EptBuilder] {
    const [g, b] = eptGuest();
    g.ctl(ControlField.ProcBased, g.rd(V.ProcBasedControls) | ProcBasedCtls.UseTprShadow);
    g.ctl(ControlField.ProcBased2, ProcBasedCtls2.EnableEpt | ProcBasedCtls2.VirtualizeApicAccesses);
    g.w(V.ApicAccessAddress, APAGE); g.w(V.VirtualApicAddress, VAPIC);
    // The guest's PDPT (guest-physical 6000H) lives, for EPT, on the APIC-access page.
    b.map4k(PDPT, APAGE);
    for (let i = 0; i < 8; i++) g.m.mem.write32(APAGE + i * 4, g.m.mem.read32(PDPT + i * 4));
    return [g, b];
  }

  it('the page walk of the first instruction fetch: APIC-access exit, access type 15, offset of the PDPTE', () => {
    const [g] = apicGuest();
    g.code64('vmcall');
    const x = g.exit();
    expectExit(x, ExitReason.ApicAccess, GUEST_CODE);
    expect((x.qualification >>> 12) & 0xf).toBe(15);
    expect(x.qualification & 0xfff).toBe(0); // PDPTE 0
    expect(x.idtVectoringInfo >>> 31).toBe(0);
  });

  it('a data access whose walk reaches it: type 15 too (not a linear read, type 0)', () => {
    const [g, b] = apicGuest();
    b.map4k(PDPT, PDPT); // the fetch walks through the real PDPT ...
    g.code64('mov rbx, 0xffff800000201000\nmov eax, [rbx]\nvmcall');
    // ... and the high mapping's PDPT entry (PML4E 256 -> the same PDPT) is the same page:
    // point PML4E 256 at a PDPT copy at guest-physical 9000H that EPT puts on the APIC page.
    const m = g.m.mem;
    for (let i = 0; i < 1024; i++) m.write32(0x9000 + i * 4, m.read32(PDPT + i * 4));
    m.write32(PML4 + 256 * 8, 0x9000 | 7);
    b.map4k(0x9000, APAGE);
    const x = g.exit();
    expectExit(x, ExitReason.ApicAccess, GUEST_CODE + 10);
    expect((x.qualification >>> 12) & 0xf).toBe(15);
  });

  it('during event delivery (an injected #UD whose IDT read walks into it): type 10, IDT-vectoring information valid', () => {
    const [g, b] = apicGuest();
    b.map4k(PDPT, PDPT);
    // The IDT's linear page goes through the copied PDPT on the APIC-access page.
    const m = g.m.mem;
    for (let i = 0; i < 1024; i++) m.write32(0x9000 + i * 4, m.read32(PDPT + i * 4));
    m.write32(PML4 + 256 * 8, 0x9000 | 7);
    b.map4k(0x9000, APAGE);
    g.r.vmwriteLong(V.GuestIdtrBase, 0xffff800000000000n + BigInt(GUEST_IDT));
    g.w(V.GuestIdtrLimit, 0xfff);
    g.w(V.VmEntryInterruptionInfo, 0x80000300 | Vector.UD);
    g.code64('vmcall');
    const x = g.exit();
    expectExit(x, ExitReason.ApicAccess, GUEST_CODE);
    expect((x.qualification >>> 12) & 0xf).toBe(10);
    expect(x.idtVectoringInfo >>> 0).toBe((0x80000300 | Vector.UD) >>> 0);
  });
});
