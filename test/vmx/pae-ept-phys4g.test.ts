// A PAE guest under EPT with guest-physical addresses above 4 GB (MAXPHYADDR 36, SDM Vol. 3A
// §4.1.4, §4.4): bits 35:32 of the guest's PDPTEs, PDEs and PTEs are guest-physical address bits
// that EPT translates (Vol. 3C §29.3.2); bits 63:36 stay reserved: #PF RSVD in a walk, #GP(0) for
// the PDPTE load of MOV to CR3 (§4.4.1), a failed VM entry for the PDPTE fields (§27.3.1.6).
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Vector } from '../../src/core/cpu/regs';
import { FAULT } from '../../src/core/cpu/fault';
import { VmcsField } from '../../src/core/vmx/fields';
import { EptHarness, LEAF, PS, RWX } from './ept-support';

const PDPT_G = 0x20f000, PDA = 0x210000, LOW = 0x400000, MARK = 0x12345678;

/** A PAE guest (PDPTE 0 -> PDA: 2 MB identity pages for 0-16 MB) under identity EPT (0-16 MB);
 *  `pdptes` go to the VMCS PDPTE fields, which VM entry loads. */
function paeGuest(pdptes: number[] = [PDA | 1, 0, 0, 0, 0, 0, 0, 0]): EptHarness {
  const h = new EptHarness('haswell');
  h.ept.identity2m(16 << 20);
  const m = h.m.mem, c = h.m.c;
  for (let i = 0; i < 512; i++) { m.write32(PDA + i * 8, i < 8 ? (i << 21) | 0xe7 : 0); m.write32(PDA + i * 8 + 4, 0); }
  for (let i = 0; i < 8; i++) m.write32(PDPT_G + i * 4, pdptes[i]);
  m.write32(LOW, MARK);
  c.cr3 = PDPT_G; c.cr4 = (c.cr4 | Cr4.PAE) & ~Cr4.PSE; c.tlb.flushAll();
  h.enter({ eptp: h.ept.eptp(), pdptes });
  return h;
}
/** EPT: guest-physical 1_0040_0000H-1_005F_FFFFH -> host-physical 400000H (a 2 MB page under
 *  EPT PDPTE 4, a new EPT page directory). */
function mapAbove4g(h: EptHarness): void {
  const pdpt = h.ept.entry(0, 3), pd = h.ept.alloc(), m = h.m.mem;
  m.write32(pdpt + 4 * 8, pd | RWX); m.write32(pdpt + 4 * 8 + 4, 0);
  m.write32(pd + 2 * 8, LOW | LEAF | PS); m.write32(pd + 2 * 8 + 4, 0);
}

describe('PAE guest under EPT: guest-physical addresses above 4 GB', () => {
  it('a guest 2 MB page at guest-physical 1_0040_0000H: EPT translates it (here to host 400000H)', () => {
    const h = paeGuest();
    mapAbove4g(h);
    h.m.mem.write32(PDA + 5 * 8, LOW | 0xe7); h.m.mem.write32(PDA + 5 * 8 + 4, 1); // linear A00000H
    expect(h.run('mov eax, [0xa00000]\nmov dword [0xa00004], 0x55')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0] >>> 0).toBe(MARK);
    expect(h.m.mem.read32(LOW + 4)).toBe(0x55);
  });

  it('a guest PTE at guest-physical 1_0040_0000H without an EPT mapping: EPT violation with the whole address', () => {
    const h = paeGuest(), m = h.m.mem;
    const PT = 0x211000;
    for (let i = 0; i < 1024; i++) m.write32(PT + i * 4, 0);
    m.write32(PDA + 4 * 8, PT | 0x27); // PDE 4 (linear 800000H) -> page table
    m.write32(PT + 5 * 8, LOW | 0x67); m.write32(PT + 5 * 8 + 4, 1);
    const x = h.runToExit('mov eax, [0x805010]');
    expect(x.reason).toBe(48);
    expect(x.gpa).toBe(0x100400010);
    expect(x.gla >>> 0).toBe(0x805010);
  });

  it('a PDPTE register with bit 32: the page directory is read at guest-physical 1_0021_0000H through EPT', () => {
    const h = paeGuest([PDA | 1, 0, PDA | 1, 1, 0, 0, 0, 0]);
    const x = h.runToExit('mov eax, [0x40000000]');
    expect(x.reason).toBe(48);
    expect(x.gpa).toBe(0x100210000);
    // EPT maps guest-physical 1_0020_0000H-1_003F_FFFFH onto host 200000H: the page directory
    // at 1_0021_0000H is then PDA, whose PDE 2 maps linear 4040_0000H to 400000H.
    mapAbove4g(h);
    const pd = h.m.mem.read32(h.ept.entry(0, 3) + 4 * 8) & ~0xfff;
    h.m.mem.write32(pd + 1 * 8, 0x200000 | LEAF | PS);
    expect(h.run('mov eax, [0x40400000]')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0] >>> 0).toBe(MARK);
  });

  it('PDPTE bits 36 and up stay reserved: #PF RSVD from the registers', () => {
    const h = paeGuest([PDA | 1, 0, PDA | 1, 0x10, 0, 0, 0, 0]);
    expect(h.run('mov eax, [0x40000000]')).toEqual({ kind: 'fault', vector: Vector.PF, errorCode: 0x9 });
  });

  it('MOV to CR3: a PDPTE with bit 32 loads into the registers, one with bit 40 is #GP(0) and loads nothing', () => {
    const h = paeGuest(), m = h.m.mem, c = h.m.c, NEW = 0x20e000;
    for (let i = 0; i < 8; i++) m.write32(NEW + i * 4, 0);
    m.write32(NEW, PDA | 1); m.write32(NEW + 3 * 8, PDA | 1); m.write32(NEW + 3 * 8 + 4, 1);
    expect(h.run(`mov eax, ${NEW}\nmov cr3, eax`)).toEqual({ kind: 'done' });
    expect(c.cr3).toBe(NEW);
    expect(Array.from(h.unit.pdpte)).toEqual([PDA | 1, 0, 0, 0, 0, 0, PDA | 1, 1]);
    m.write32(PDPT_G + 3 * 8, PDA | 1); m.write32(PDPT_G + 3 * 8 + 4, 0x100);
    expect(h.run(`mov eax, ${PDPT_G}\nmov cr3, eax`)).toEqual({ kind: 'fault', vector: Vector.GP, errorCode: 0 });
    expect(FAULT.errorCode).toBe(0);
    expect(c.cr3).toBe(NEW);
    expect(Array.from(h.unit.pdpte)).toEqual([PDA | 1, 0, 0, 0, 0, 0, PDA | 1, 1]);
  });

  it('VM entry check of the guest PDPTE fields (§27.3.1.6): bit 32 passes, bit 36 fails', () => {
    const h = paeGuest(), v = h.vmcs;
    v.setLo(VmcsField.GuestCr0, Cr0.PE | Cr0.PG); v.setLo(VmcsField.GuestCr4, Cr4.PAE); v.setLo(VmcsField.VmEntryControls, 0);
    v.setLo(VmcsField.GuestPdpte2, PDA | 1); v.setHi(VmcsField.GuestPdpte2, 1);
    expect(h.unit.guestPdpteProblem(v)).toBe(null);
    v.setHi(VmcsField.GuestPdpte2, 0x10);
    expect(h.unit.guestPdpteProblem(v)).toMatch(/guest PDPTE2 field 0x00000010_00210001 sets reserved bits/);
  });
});
