// The CPU under EPT (SDM Vol. 3C §29.3): guest paging-structure accesses and final addresses
// translated through EPT, combined TLB entries with the rights of both levels, EPT violations
// with their exit qualification, guest-linear and guest-physical addresses, misconfigurations,
// EPT accessed/dirty flags, PAE PDPTE registers, paging-off guests, and a guest that rewrites
// its page tables without any exit. The guest is the test machine's CPU with EptUnit.onEntry
// applied as VM entry applies it (ept-support.ts).
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Vector } from '../../src/core/cpu/regs';
import { TlbBit } from '../../src/core/cpu/paging';
import { VmcsField } from '../../src/core/vmx/fields';
import { A, D, EPTP_AD, EptHarness, R, RWX, W, WB, X } from './ept-support';
import { PD } from './support';

const GPT = 0x300000; // guest page table for linear 4-8 MB (guest-physical, 4 KB EPT pages there)

/** Haswell harness: EPT identity for 0-16 MB (2 MB pages, 4 KB pages for 2-4 MB), guest 32-bit
 *  paging with the machine's identity 4 MB pages and a 4 KB page table for linear 4-8 MB. */
function harness(gen = 'haswell', eptpExtra = 0): EptHarness {
  const h = new EptHarness(gen);
  h.ept.identity2m(16 << 20);
  h.ept.split(0x200000);
  const m = h.m.mem;
  for (let i = 0; i < 1024; i++) m.write32(GPT + i * 4, (0x400000 + i * 0x1000) | 7);
  m.write32(PD + 4, GPT | 7);
  h.m.c.tlb.flushAll();
  h.enter({ eptp: h.ept.eptp(eptpExtra) });
  return h;
}

describe('combined translation', () => {
  it('reads and writes reach the host page EPT names; the TLB caches the host-physical page', () => {
    const h = harness();
    h.ept.map4k(0x201000, 0x205000);
    h.m.mem.write32(0x205010, 0x600df00d);
    expect(h.run('mov eax, [0x201010]\nmov dword [0x201020], 0x12345678')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0] >>> 0).toBe(0x600df00d);
    expect(h.m.mem.read32(0x205020)).toBe(0x12345678);
    expect(h.m.mem.read32(0x201020)).toBe(0);
    expect(h.m.c.tlbE[0x201] >>> 12).toBe(0x205);
  });

  it('1 GB EPT page: GPA 40000000 maps to HPA 0 (guest 4 MB page at linear 40000000)', () => {
    const h = harness();
    h.ept.map1g(0x40000000, 0);
    h.m.mem.write32(PD + (0x40000000 >>> 22) * 4, 0x40000000 | 0x87);
    h.m.mem.write32(0x307000, 0x600df00d);
    expect(h.run('mov eax, [0x40307000]\nmov dword [0x40307004], 0x12345678')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0] >>> 0).toBe(0x600df00d);
    expect(h.m.mem.read32(0x307004)).toBe(0x12345678);
  });

  it('a read that fills the TLB from a read-only EPT page does not let a later write through', () => {
    const h = harness();
    h.ept.map4k(0x201000, 0x201000, WB | R);
    expect(h.run('mov eax, [0x201010]')).toEqual({ kind: 'done' });
    const e = h.m.c.tlbE[0x201];
    expect(e & TlbBit.WriteSup).toBe(0);
    const x = h.runToExit('mov dword [0x201010], 1');
    expect(x.reason).toBe(48);
    expect(x.qualification).toBe(0x18a); // write, readable, linear address valid, translation
    expect(x.gla).toBe(0x201010);
    expect(x.gpa).toBe(0x201010);
  });
});

describe('EPT violations: exit qualification (§28.2.1), guest-linear and guest-physical address', () => {
  it('read of a not-present page: 0x181', () => {
    const h = harness();
    h.ept.map4k(0x202000, 0x202000, 0);
    const x = h.runToExit('mov eax, [0x202010]');
    expect([x.reason, x.qualification, x.gla, x.gpa]).toEqual([48, 0x181, 0x202010, 0x202010]);
  });

  it('write to an R-X page: 0x1aa (bits 3 and 5 give the page\'s rights)', () => {
    const h = harness();
    h.ept.map4k(0x202000, 0x202000, WB | R | X);
    const x = h.runToExit('mov byte [0x202fff], 1');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x1aa, 0x202fff, 0x202fff]);
  });

  it('instruction fetch from an RW- page: 0x19c, at the first byte fetched there', () => {
    const h = harness();
    h.m.mem.load(0x203000, new Uint8Array([0xb8, 0x34, 0x12, 0, 0, 0xc3])); // mov eax, 0x1234 / ret
    h.ept.map4k(0x203000, 0x203000, WB | R | W);
    const x = h.runToExit('mov ecx, 0x203000\ncall ecx');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x19c, 0x203000, 0x203000]);
  });

  it('a page the TLB holds from a read is still not executable when EPT denies execute', () => {
    const h = harness();
    h.m.mem.load(0x203000, new Uint8Array([0xc3])); // ret
    h.ept.map4k(0x203000, 0x203000, WB | R | W);
    expect(h.run('mov eax, [0x203000]\nmov [0x203100], eax')).toEqual({ kind: 'done' });
    expect(h.m.c.tlbE[0x203] & TlbBit.NoExec).toBe(TlbBit.NoExec);
    const x = h.runToExit('mov ecx, 0x203000\ncall ecx');
    expect([x.qualification, x.gpa]).toEqual([0x19c, 0x203000]);
  });

  it('execute-only page: code runs, a data read of it exits with 0x1a1', () => {
    const h = harness();
    h.m.mem.load(0x204000, new Uint8Array([0xb8, 0x34, 0x12, 0, 0, 0xc3]));
    h.ept.map4k(0x204000, 0x204000, WB | X);
    expect(h.run('mov ecx, 0x204000\ncall ecx')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x1234);
    const x = h.runToExit('mov eax, [0x204000]');
    expect([x.qualification, x.gpa]).toEqual([0x1a1, 0x204000]);
  });

  it('guest paging-structure read: bit 8 clear, guest-physical address of the PTE, linear address of the access', () => {
    const h = harness();
    h.ept.map4k(GPT, GPT, 0);
    const x = h.runToExit('mov eax, [0x400010]');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x81, 0x400010, GPT]);
    const y = h.runToExit('mov eax, [0x401010]');
    expect(y.gpa).toBe(GPT + 4);
  });

  it('guest accessed-flag update to a read-only page table: a write (0x8a)', () => {
    const h = harness();
    h.ept.map4k(GPT, GPT, WB | R);
    const x = h.runToExit('mov eax, [0x402000]');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x8a, 0x402000, GPT + 8]);
    // With the accessed flag already set the walk only reads: no exit.
    h.m.mem.write32(GPT + 8, h.m.mem.read32(GPT + 8) | 0x20);
    expect(h.run('mov eax, [0x402000]')).toEqual({ kind: 'done' });
    // A write needs the dirty flag set: a write to the page table again.
    const y = h.runToExit('mov dword [0x402000], 1');
    expect([y.qualification, y.gpa]).toEqual([0x8a, GPT + 8]);
  });

  it('a guest #PF comes before the final EPT translation (the guest walk is complete first)', () => {
    const h = harness();
    h.m.mem.write32(GPT + 12, 0); // linear 403000 not present in the guest
    h.ept.map4k(0x403000, 0x403000, 0);
    const o = h.run('mov eax, [0x403000]');
    expect(o).toEqual({ kind: 'fault', vector: Vector.PF, errorCode: 0 });
    expect(h.m.c.cr2).toBe(0x403000);
  });

  it('bit 12 when the access belongs to an IRET that unblocked NMIs', () => {
    const h = harness();
    h.ept.map4k(0x202000, 0x202000, 0);
    h.sink.nmiUnblocked = true;
    expect(h.runToExit('mov eax, [0x202000]').qualification).toBe(0x1181);
  });

  it('EPT misconfiguration: reason 49 with the guest-physical address (also for a guest page table)', () => {
    const h = harness();
    h.ept.map4k(0x202000, 0x202000, (7 << 3) | RWX);
    const x = h.runToExit('mov eax, [0x202abc]');
    expect([x.reason, x.gpa]).toEqual([49, 0x202abc]);
    h.ept.map4k(GPT, GPT, WB | W);
    const y = h.runToExit('mov eax, [0x400000]');
    expect([y.reason, y.gpa]).toEqual([49, GPT]);
  });

  it('beyond the mapped guest-physical space: not present at the PDPTE', () => {
    const h = harness();
    h.m.mem.write32(PD + (0x80000000 >>> 22) * 4, 0x80000000 | 0x87);
    const x = h.runToExit('mov eax, [0x80000000]');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x181, 0x80000000, 0x80000000]);
  });
});

describe('EPT accessed and dirty flags through the CPU (§29.3.5)', () => {
  it('guest paging-structure accesses count as writes: the page table\'s EPT leaf gets A and D', () => {
    const h = harness('haswell', EPTP_AD);
    expect(h.run('mov eax, [0x405000]\nmov dword [0x606000], eax')).toEqual({ kind: 'done' });
    expect(h.ept.get(0x405000, 2) & (A | D)).toBe(A); // 2 MB leaf of the data read
    expect(h.ept.get(0x606000, 2) & (A | D)).toBe(A | D); // 2 MB leaf of the data written
    expect(h.ept.get(0x800000, 2) & (A | D)).toBe(0); // not touched
    expect(h.ept.get(GPT, 1) & (A | D)).toBe(A | D); // the guest page table: "writes"
    expect(h.ept.get(0x400000, 3) & (A | D)).toBe(A);
    expect(h.ept.get(0x400000, 4) & (A | D)).toBe(A);
  });

  it('the first write after a read sets the EPT dirty flag (the TLB did not cache the page as writable)', () => {
    const h = harness('haswell', EPTP_AD);
    h.ept.map4k(0x201000, 0x201000);
    expect(h.run('mov eax, [0x201000]')).toEqual({ kind: 'done' });
    expect(h.ept.get(0x201000, 1) & (A | D)).toBe(A);
    expect(h.run('mov dword [0x201000], 5')).toEqual({ kind: 'done' });
    expect(h.ept.get(0x201000, 1) & (A | D)).toBe(A | D);
  });

  it('with A/D flags a read-only guest page table exits on a read: bits 0 and 1 (0x8b)', () => {
    const h = harness('haswell', EPTP_AD);
    h.ept.map4k(GPT, GPT, WB | R);
    const x = h.runToExit('mov eax, [0x400000]');
    expect([x.qualification, x.gpa]).toEqual([0x8b, GPT]);
  });
});

describe('guests that change their page tables, PAE, paging off', () => {
  it('a guest remaps its own page table: no exit, INVLPG takes effect', () => {
    const h = harness();
    h.m.mem.write32(0x400000, 0x0badf00d);
    h.m.mem.write32(0x307000, 0x600df00d);
    const o = h.run(`mov eax, [0x400000]\nmov ebx, eax\nmov dword [${GPT}], 0x307003\ninvlpg [0x400000]\nmov eax, [0x400000]`);
    expect(o).toEqual({ kind: 'done' });
    expect([h.m.c.r32[3] >>> 0, h.m.c.r32[0] >>> 0]).toEqual([0x0badf00d, 0x600df00d]);
    expect(h.sink.exits).toHaveLength(0);
  });

  it('paging off (unrestricted guest): the linear address is the guest-physical address', () => {
    const h = harness();
    h.ept.map4k(0x201000, 0x206000);
    h.m.mem.write32(0x206010, 0x1234);
    h.setPaging(false);
    expect(h.run('mov eax, [0x201010]')).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x1234);
    h.ept.map4k(0x202000, 0x202000, WB | R);
    const x = h.runToExit('mov [0x202004], eax');
    expect([x.qualification, x.gla, x.gpa]).toEqual([0x18a, 0x202004, 0x202004]);
  });

  it('PAE: the PDPTEs come from the VMCS at entry, not from memory; MOV CR3 loads them through EPT', () => {
    const h = new EptHarness('haswell');
    h.ept.identity2m(16 << 20);
    h.ept.split(0x200000);
    const m = h.m.mem, c = h.m.c;
    // PAE tables: PDPT at 0x210000 (bogus in memory), PD at 0x211000 with 2 MB identity pages.
    const PDPT = 0x210000, PDA = 0x211000;
    for (let i = 0; i < 512; i++) { m.write32(PDA + i * 8, (i << 21) | 0x87); m.write32(PDA + i * 8 + 4, 0); }
    for (let i = 0; i < 4; i++) { m.write32(PDPT + i * 8, 0); m.write32(PDPT + i * 8 + 4, 0); }
    c.cr3 = PDPT; c.cr4 = (c.cr4 | Cr4.PAE) & ~Cr4.PSE; c.tlb.flushAll();
    h.enter({ eptp: h.ept.eptp(), pdptes: [PDA | 1, 0, 0, 0, 0, 0, 0, 0] });
    m.write32(0x205000, 0x77);
    expect(h.run('mov eax, [0x205000]')).toEqual({ kind: 'done' });
    expect(c.r32[0]).toBe(0x77);
    // VM exit saves the PDPTE registers.
    h.exit();
    expect(h.vmcs.lo(VmcsField.GuestPdpte0)).toBe(PDA | 1);
    h.enter({ eptp: h.ept.eptp(), pdptes: [PDA | 1, 0, 0, 0, 0, 0, 0, 0] });
    // MOV CR3 reloads from guest-physical memory: now PDPT[0] in memory is used.
    m.write32(PDPT, PDA | 1);
    expect(h.run(`mov eax, ${PDPT}\nmov cr3, eax\nmov eax, [0x205000]`)).toEqual({ kind: 'done' });
    expect(Array.from(h.unit.pdpte.slice(0, 2))).toEqual([PDA | 1, 0]);
    // A PDPT page EPT does not map: the PDPTE load exits with bit 7 clear; CR3 is unchanged.
    h.ept.map4k(0x212000, 0x212000, 0);
    const x = h.runToExit('mov eax, 0x212000\nmov cr3, eax');
    expect([x.reason, x.qualification, x.gpa]).toEqual([48, 0x01, 0x212000]);
    expect(c.cr3).toBe(PDPT);
  });

  it('guestPdpteProblem: reserved bits in a present PDPTE of the VMCS fail, not-present ones are ignored', () => {
    const h = new EptHarness('haswell');
    const v = h.vmcs;
    v.setLo(VmcsField.ProcBasedControls, 1 << 31); v.setLo(VmcsField.ProcBasedControls2, 2);
    v.setLo(VmcsField.GuestCr0, Cr0.PE | Cr0.PG | Cr0.NE); v.setLo(VmcsField.GuestCr4, Cr4.PAE | Cr4.VMXE);
    v.setLo(VmcsField.GuestPdpte1, 0x5000 | 1);
    expect(h.unit.guestPdpteProblem(v)).toBeNull();
    v.setLo(VmcsField.GuestPdpte2, 0x6000 | 4); // U/S is reserved in a PDPTE, but not present
    expect(h.unit.guestPdpteProblem(v)).toBeNull();
    v.setLo(VmcsField.GuestPdpte2, 0x6000 | 5);
    expect(h.unit.guestPdpteProblem(v)).toMatch(/guest PDPTE2 field .* sets reserved bits/);
    // Bits 35:32 are address bits (MAXPHYADDR 36, Vol. 3A §4.4.1 Table 4-8); bit 36 is reserved.
    v.setLo(VmcsField.GuestPdpte2, 0); v.setHi(VmcsField.GuestPdpte3, 1); v.setLo(VmcsField.GuestPdpte3, 1);
    expect(h.unit.guestPdpteProblem(v)).toBeNull();
    v.setHi(VmcsField.GuestPdpte3, 0x10);
    expect(h.unit.guestPdpteProblem(v)).toMatch(/PDPTE3/);
    // Without EPT they come from guest CR3 in memory.
    v.setLo(VmcsField.ProcBasedControls2, 0);
    v.setLo(VmcsField.GuestCr3, 0x7000);
    h.m.mem.write32(0x7000 + 8, 0x8000 | 1 | 2);
    expect(h.unit.guestPdpteProblem(v)).toMatch(/PDPTE 1 at guest CR3 0x7000/);
    v.setLo(VmcsField.GuestCr4, Cr4.VMXE); // no PAE: nothing checked
    expect(h.unit.guestPdpteProblem(v)).toBeNull();
  });
});
