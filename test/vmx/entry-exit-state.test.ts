// VM entry from the guest-state checks on (SDM Vol. 3C §27.3-27.8) and VM exit (§28): the
// checks with their exit qualifications, the MSR lists, guest state loaded and saved, host state
// loaded, the VMX abort, the launch state, the exit record and its listeners, and VMLAUNCH run by
// the interpreter (bare mode) with the guest's exit returning to the host's code.
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Flag, Seg } from '../../src/core/cpu/regs';
import { StopReason } from '../../src/core/cpu/cpu';
import { ControlField, EntryCtls, ExitCtls } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import type { VmExitRecord } from '../../src/core/vmx/exit-record';
import { asm, VMCS_PA } from './support';
import { expectExit, Guest, GUEST_CODE, HOST_RIP, HOST_STACK, MSR_AREA, SEL_CODE, SEL_DATA, SEL_TSS, TSS1 } from './guest-support';

const X = ControlField.Exit, EN = ControlField.Entry;
const FAIL_33 = (0x80000000 | ExitReason.EntryFailureGuestState) >>> 0;

describe('checks on the guest-state area (exit 33 with bit 31, §27.3.1, §27.8)', () => {
  const cases: [string, (g: Guest) => void, number, RegExp][] = [
    ['CR0.PG clear', (g) => g.w(V.GuestCr0, g.rd(V.GuestCr0) & ~Cr0.PG), 0, /guest CR0 .* clears bits IA32_VMX_CR0_FIXED0 requires/],
    ['CR4.VMXE clear', (g) => g.w(V.GuestCr4, Cr4.PSE), 0, /guest CR4 .* clears bits IA32_VMX_CR4_FIXED0 requires/],
    ['RFLAGS bit 1 clear', (g) => g.w(V.GuestRflags, 0), 0, /guest RFLAGS 0x00000000: reserved bits set or bit 1 clear/],
    ['RFLAGS reserved bit 15', (g) => g.w(V.GuestRflags, 0x8002), 0, /reserved bits set/],
    ['CS type 3 without unrestricted guest', (g) => g.w(V.GuestCsAccessRights, 0xc093), 0, /guest CS type 3 is not an accessed code segment$/],
    ['CS.RPL differs from SS.RPL', (g) => g.w(V.GuestCsSelector, SEL_CODE | 1), 0, /guest SS selector RPL 0 differs from CS RPL 1/],
    ['SS type 5', (g) => g.w(V.GuestSsAccessRights, 0xc095), 0, /guest SS type 5 is not 3 or 7/],
    ['DS not accessed', (g) => g.w(V.GuestDsAccessRights, 0xc092), 0, /guest DS type 2 is not accessed/],
    ['DS not present', (g) => g.w(V.GuestDsAccessRights, 0xc013), 0, /guest DS access rights .*: P must be 1/],
    ['ES G bit against limit', (g) => g.w(V.GuestEsLimit, 0xfff00), 0, /guest ES limit 0x000fff00 has bits 11:0 not all 1 but G = 1/],
    ['GS reserved access-rights bit', (g) => g.w(V.GuestGsAccessRights, 0xc193), 0, /reserved bits 11:8 or 31:17 set/],
    ['TR unusable', (g) => g.w(V.GuestTrAccessRights, 0x10000), 0, /guest TR is unusable/],
    ['TR an available TSS', (g) => g.w(V.GuestTrAccessRights, 0x89), 0, /guest TR type 9 is not a busy TSS/],
    ['TR selector with TI', (g) => g.w(V.GuestTrSelector, SEL_TSS | 4), 0, /guest TR selector 0x0034 has TI set/],
    ['LDTR usable with type 3', (g) => g.w(V.GuestLdtrAccessRights, 0x83), 0, /guest LDTR type 3 is not 2/],
    ['GDTR limit above 0FFFFH', (g) => g.w(V.GuestGdtrLimit, 0x10000), 0, /guest GDTR limit 0x00010000 sets bits 31:16/],
    ['activity state 4', (g) => g.w(V.GuestActivityState, 4), 0, /guest activity state 4 is not supported/],
    ['HLT with SS.DPL 3', (g) => { g.w(V.GuestActivityState, 1); g.w(V.GuestSsAccessRights, 0xc0f3); g.w(V.GuestSsSelector, 0x23); g.w(V.GuestCsSelector, 0x1b); g.w(V.GuestCsAccessRights, 0xc0fb); },
      0, /guest activity state HLT with SS.DPL 3, must be 0/],
    ['HLT with blocking by STI', (g) => { g.w(V.GuestActivityState, 1); g.w(V.GuestRflags, 0x202); g.w(V.GuestInterruptibilityState, 1); }, 0, /must be active/],
    ['STI blocking with IF = 0', (g) => g.w(V.GuestInterruptibilityState, 1), 0, /guest blocking by STI with RFLAGS.IF = 0/],
    ['blocking by STI and MOV SS', (g) => { g.w(V.GuestRflags, 0x202); g.w(V.GuestInterruptibilityState, 3); }, 0, /both STI and MOV SS/],
    ['interruptibility reserved bit 4', (g) => g.w(V.GuestInterruptibilityState, 0x10), 0, /sets reserved bits 31:4/],
    ['blocking by SMI outside SMM', (g) => g.w(V.GuestInterruptibilityState, 4), 0, /blocking by SMI outside SMM/],
    ['external interrupt injected with IF = 0', (g) => g.w(V.VmEntryInterruptionInfo, 0x80000030), 0, /RFLAGS.IF = 0/],
    ['#GP injected into HLT', (g) => { g.w(V.GuestActivityState, 1); g.w(V.VmEntryInterruptionInfo, 0x80000b0d); }, 0,
      /injecting interruption type 3 vector 13 into activity state 1/],
    ['anything injected into wait-for-SIPI', (g) => { g.w(V.GuestActivityState, 3); g.w(V.VmEntryInterruptionInfo, 0x80000202); }, 0,
      /injecting interruption type 2 vector 2 into activity state 3/],
    ['pending debug exception reserved bit', (g) => g.w(V.GuestPendingDebugExceptions, 0x10), 0, /pending debug exceptions 0x00000010 set reserved bits/],
    ['BS not matching TF in the STI shadow', (g) => { g.w(V.GuestRflags, 0x302); g.w(V.GuestInterruptibilityState, 1); }, 0,
      /pending debug exception BS = 0 with RFLAGS.TF = 1/],
    ['IA32_EFER.LME with "load IA32_EFER"', (g) => { g.ctl(EN, EntryCtls.LoadEfer); g.w(V.GuestIa32Efer, 0x100); }, 0, /guest IA32_EFER .* sets reserved bits/],
    ['IA32_PAT memory type 3 with "load IA32_PAT"', (g) => { g.ctl(EN, EntryCtls.LoadPat); g.w(V.GuestIa32Pat, 0x03); }, 0, /PA0 memory type 3 is invalid/],
    ['virtual-8086 guest with a segment base not selector * 16', (g) => {
      g.w(V.GuestRflags, 0x20002);
      for (const [s, b, l, a] of [[V.GuestEsSelector, V.GuestEsBase, V.GuestEsLimit, V.GuestEsAccessRights], [V.GuestCsSelector, V.GuestCsBase, V.GuestCsLimit, V.GuestCsAccessRights],
        [V.GuestSsSelector, V.GuestSsBase, V.GuestSsLimit, V.GuestSsAccessRights], [V.GuestDsSelector, V.GuestDsBase, V.GuestDsLimit, V.GuestDsAccessRights],
        [V.GuestFsSelector, V.GuestFsBase, V.GuestFsLimit, V.GuestFsAccessRights], [V.GuestGsSelector, V.GuestGsBase, V.GuestGsLimit, V.GuestGsAccessRights]] as V[][]) {
        g.w(s, 0x1000); g.w(b, 0x10000); g.w(l, 0xffff); g.w(a, 0xf3);
      }
      g.w(V.GuestGsBase, 0x10010);
    }, 0, /guest GS base 0x00010010 is not selector 0x1000 << 4/],
    ['NMI injected in the STI shadow', (g) => { g.w(V.GuestRflags, 0x202); g.w(V.GuestInterruptibilityState, 1); g.w(V.VmEntryInterruptionInfo, 0x80000202); },
      3, /injecting an NMI with blocking by STI/],
    ['VMCS link pointer to a region with another revision', (g) => { g.w(V.VmcsLinkPointer, 0x6000); g.w(V.VmcsLinkPointerHigh, 0); }, 4,
      /VMCS link pointer 0x00000000_00006000 names a region with revision/],
    ['PAE guest with a reserved PDPTE bit', (g) => {
      g.m.mem.write32(0x7000, 0x8001 | 0x2); g.w(V.GuestCr3, 0x7000); g.w(V.GuestCr4, Cr4.PAE | Cr4.VMXE);
    }, 2, /PDPTE 0 at guest CR3 0x7000 .* sets reserved bits/],
  ];
  for (const [what, change, qual, message] of cases) {
    it(`${what}: qualification ${qual}`, () => {
      const g = new Guest();
      g.code('cpuid');
      change(g);
      const x = g.exit();
      expect(x.exitReason, g.unit.lastEntryFailure ?? '').toBe(FAIL_33);
      expect(x.entryFailure).toBe(true);
      expect(x.qualification).toBe(qual);
      expect(g.unit.lastEntryFailure).toMatch(message);
      expect(g.unit.vmcs.launched).toBe(false);
      expect(g.c.nonRoot).toBe(false);
      expect(g.c.eip).toBe(HOST_RIP);
      // A VMCS link pointer to a VMCS region of this revision is fine.
    });
  }

  it('a VMCS link pointer naming a VMCS of this revision passes', () => {
    const g = new Guest();
    g.m.mem.write32(0x6000, g.unit.caps.revisionId);
    g.w(V.VmcsLinkPointer, 0x6000); g.w(V.VmcsLinkPointerHigh, 0);
    g.code('cpuid');
    expectExit(g.exit(), ExitReason.Cpuid);
  });
});

describe('MSR lists (§27.4, §28.4, §28.6) and the VMX abort (§28.7)', () => {
  it('VM-entry MSR-load failure: exit 34 with the 1-based index; earlier entries stay loaded', () => {
    const g = new Guest();
    const m = g.m.mem;
    m.write32(MSR_AREA, 0x174); m.write32(MSR_AREA + 8, 0x77);
    m.write32(MSR_AREA + 16, 0x480); // IA32_VMX_BASIC: read-only
    g.w(V.VmEntryMsrLoadAddress, MSR_AREA); g.w(V.VmEntryMsrLoadCount, 2);
    g.code('cpuid');
    const x = g.exit();
    expect(x.exitReason).toBe((0x80000000 | 34) >>> 0);
    expect(x.qualification).toBe(2);
    expect(g.c.sysenterCs).toBe(0); // host SYSENTER_CS loaded by the failure's host-state load
  });

  it('entries with reserved bits 63:32, FS/GS base or x2APIC MSRs fail', () => {
    for (const [index, reserved] of [[0x174, 1], [0xc0000100, 0], [0x808, 0], [0x12345, 0]]) {
      const g = new Guest();
      g.m.mem.write32(MSR_AREA, index); g.m.mem.write32(MSR_AREA + 4, reserved);
      g.w(V.VmEntryMsrLoadAddress, MSR_AREA); g.w(V.VmEntryMsrLoadCount, 1);
      g.code('cpuid');
      const x = g.exit();
      expect(x.exitReason, index.toString(16)).toBe((0x80000000 | 34) >>> 0);
      expect(x.qualification).toBe(1);
    }
  });

  it('VM exits store the guest\'s MSRs and load the host\'s', () => {
    const g = new Guest();
    const m = g.m.mem;
    m.write32(MSR_AREA, 0x174); // store: guest SYSENTER_CS
    m.write32(MSR_AREA + 0x100, 0x175); m.write32(MSR_AREA + 0x108, 0xabcd0000); // load: host SYSENTER_ESP
    g.w(V.VmExitMsrStoreAddress, MSR_AREA); g.w(V.VmExitMsrStoreCount, 1);
    g.w(V.VmExitMsrLoadAddress, MSR_AREA + 0x100); g.w(V.VmExitMsrLoadCount, 1);
    g.w(V.GuestIa32SysenterCs, 0x60);
    g.code('cpuid');
    expectExit(g.exit(), ExitReason.Cpuid);
    expect(m.read32(MSR_AREA + 8)).toBe(0x60);
    expect(g.c.sysenterEsp >>> 0).toBe(0xabcd0000);
  });

  it('a VM-exit MSR-load failure is a VMX abort: indicator 4 in the VMCS region, shutdown', () => {
    const g = new Guest();
    g.m.mem.write32(MSR_AREA, 0x480);
    g.w(V.VmExitMsrLoadAddress, MSR_AREA); g.w(V.VmExitMsrLoadCount, 1);
    g.code('cpuid');
    const res = g.enter();
    expect(res.kind).toBe('shutdown');
    expect(g.c.shutdown).toBe(true);
    expect(g.c.shutdownReason).toMatch(/^VMX abort 4 \(LoadingHostMsrs\): VM-exit MSR-load entry 1 failed/);
    expect(g.m.mem.read32(VMCS_PA + 4)).toBe(4);
  });
});

describe('guest state loaded (§27.3.2) and saved (§28.3); host state loaded (§28.5)', () => {
  it('segments with their hidden parts, CPL from SS.DPL, GDTR/IDTR, RSP/RIP/RFLAGS, SYSENTER MSRs', () => {
    const g = new Guest();
    g.w(V.GuestCsBase, 0x100); g.w(V.GuestRip, GUEST_CODE - 0x100);
    g.w(V.GuestDsBase, 0x200000); g.w(V.GuestDsLimit, 0xfff); g.w(V.GuestDsAccessRights, 0x4093);
    g.w(V.GuestFsAccessRights, 0x10000); g.w(V.GuestFsBase, 0x1234);
    g.w(V.GuestIa32SysenterCs, 0x44); g.w(V.GuestIa32SysenterEsp, 0x55); g.w(V.GuestIa32SysenterEip, 0x66);
    g.w(V.GuestRsp, 0x7000); g.w(V.GuestRflags, 0x2 | Flag.DF);
    g.m.mem.load(GUEST_CODE, asm('mov eax, [0x10]\ncpuid', GUEST_CODE));
    g.m.mem.write32(0x200010, 0xfeed);
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid, GUEST_CODE - 0x100 + 5);
    expect(x.guestCsBase).toBe(0x100);
    expect(g.c.r32[0]).toBe(0xfeed);
    // Saved: the guest's segments, RSP, RFLAGS, the unusable FS with its base, SYSENTER MSRs.
    expect(g.rd(V.GuestDsLimit)).toBe(0xfff);
    expect(g.rd(V.GuestDsAccessRights)).toBe(0x4093);
    expect(g.rd(V.GuestFsAccessRights) & 0x10000).toBe(0x10000);
    expect(g.rd(V.GuestRsp)).toBe(0x7000);
    expect(g.rd(V.GuestRflags)).toBe(0x402);
    expect([g.rd(V.GuestIa32SysenterCs), g.rd(V.GuestIa32SysenterEsp), g.rd(V.GuestIa32SysenterEip)]).toEqual([0x44, 0x55, 0x66]);
  });

  it('host state after the exit: fixed segment parts, TR, GDTR/IDTR limits, RFLAGS = 2, DR7 = 400H', () => {
    const g = new Guest();
    g.w(V.GuestDr7, 0x4ff);
    g.w(V.HostFsBase, 0x9000); g.w(V.HostGsSelector, 0); g.w(V.HostGsBase, 0xa000);
    g.w(V.HostIa32SysenterCs, 0x18); g.w(V.HostIa32SysenterEip, 0x1111);
    g.code('cpuid');
    g.exit();
    const c = g.c;
    expect(c.nonRoot).toBe(false);
    expect([c.eip, c.r32[4] >>> 0, c.getFlags(), c.cpl]).toEqual([HOST_RIP, HOST_STACK, 2, 0]);
    expect([c.segSel[Seg.CS], c.segBase[Seg.CS], c.segLimit[Seg.CS], c.segAttr[Seg.CS]]).toEqual([SEL_CODE, 0, 0xffffffff, 0xc09b]);
    expect([c.segSel[Seg.SS], c.segLimit[Seg.SS], c.segAttr[Seg.SS]]).toEqual([SEL_DATA, 0xffffffff, 0xc093]);
    expect(c.segBase[Seg.FS]).toBe(0x9000);
    expect([c.segAttr[Seg.GS], c.segBase[Seg.GS]]).toEqual([0x10000, 0xa000]);
    expect([c.segSel[Seg.TR], c.segBase[Seg.TR], c.segLimit[Seg.TR], c.segAttr[Seg.TR]]).toEqual([SEL_TSS, TSS1, 0x67, 0x8b]);
    expect(c.segAttr[Seg.LDTR]).toBe(0x10000);
    expect([c.gdtrLimit, c.idtrLimit]).toEqual([0xffff, 0xffff]);
    expect(c.dr[7]).toBe(0x400);
    expect([c.sysenterCs, c.sysenterEip]).toEqual([0x18, 0x1111]);
    expect(g.rd(V.GuestDr7)).toBe(0x4ff); // saved ("save debug controls")
  });

  it('PAT and EFER: loaded on entry and exit, saved on exit, by their controls', () => {
    const g = new Guest();
    g.ctl(EN, EntryCtls.LoadPat | EntryCtls.LoadEfer);
    g.ctl(X, ExitCtls.SavePat | ExitCtls.SaveEfer | ExitCtls.LoadPat | ExitCtls.LoadEfer);
    g.w(V.GuestIa32Pat, 0x06060606); g.w(V.GuestIa32PatHigh, 0x06060606); g.w(V.GuestIa32Efer, 0x800);
    g.w(V.HostIa32Pat, 0x00000000); g.w(V.HostIa32PatHigh, 0x01010101); g.w(V.HostIa32Efer, 0);
    g.code('mov ecx, 0x277\nrdmsr\nmov esi, eax\nmov ecx, 0xc0000080\nrdmsr\nmov edi, eax\ncpuid');
    g.ctl(ControlField.ProcBased, 1 << 28); // MSR bitmaps (all zero: no MSR exits)
    g.w(V.MsrBitmap, 0x106000);
    expectExit(g.exit(), ExitReason.Cpuid);
    expect([g.c.r32[6], g.c.r32[7]]).toEqual([0x06060606, 0x800]);
    expect([g.rd(V.GuestIa32Pat), g.rd(V.GuestIa32Efer)]).toEqual([0x06060606, 0x800]);
    expect(g.c.msrs.get(0x277)).toEqual([0, 0x01010101]);
    expect(g.c.efer).toBe(0);
  });

  it('CR0 on entry keeps ET, CD and NW; interruptibility saved in the STI shadow', () => {
    const g = new Guest();
    g.w(V.GuestCr0, (Cr0.PE | Cr0.NE | Cr0.PG) >>> 0); // ET clear in the field
    g.w(V.GuestRflags, 2);
    g.code('sti\ncpuid');
    expectExit(g.exit(), ExitReason.Cpuid, GUEST_CODE + 1);
    expect(g.rd(V.GuestCr0) & Cr0.ET).toBe(Cr0.ET);
    expect(g.rd(V.GuestInterruptibilityState)).toBe(1); // CPUID in the STI shadow
  });
});

describe('launch state, the exit record and its listeners, budgets', () => {
  it('VMLAUNCH sets "launched"; VMRESUME resumes; VMLAUNCH of a launched VMCS is error 4', () => {
    const g = new Guest();
    g.code('cpuid\ncpuid');
    const first = g.r.vmlaunch();
    expect(first.kind === 'exit' && first.exit.reason).toBe(ExitReason.Cpuid);
    expect(g.unit.vmcs.launched).toBe(true);
    const again = g.r.vmlaunch();
    expect(again.kind === 'failValid' && again.error).toBe(4);
    g.skip();
    const res = g.r.vmresume();
    expect(res.kind === 'exit' && res.exit.guestRip).toBe(GUEST_CODE + 2);
  });

  it('listeners see every exit and entry failure through one reused record', () => {
    const g = new Guest();
    const seen: [VmExitRecord, number, number][] = [];
    const l = (r: VmExitRecord): void => { seen.push([r, r.exitReason, r.sequence]); };
    g.unit.addExitListener(l);
    g.code('cpuid\nhlt');
    g.exit();
    g.skip();
    g.ctl(ControlField.ProcBased, 1 << 7);
    g.exit();
    g.w(V.GuestRflags, 0);
    g.exit();
    g.unit.removeExitListener(l);
    g.w(V.GuestRflags, 2);
    g.exit();
    expect(seen.map(([, r, s]) => [r, s])).toEqual([[10, 1], [12, 2], [FAIL_33, 3]]);
    expect(seen[0][0]).toBe(seen[2][0]);
    expect(g.unit.exitCount).toBe(4);
  });

  it('a budget that runs out leaves the guest running; runGuest goes on; VMX calls meanwhile are refused', () => {
    const g = new Guest();
    g.code('mov ecx, 1000\nspin: loop spin\ncpuid');
    expect(g.enter(100)).toEqual({ kind: 'running', halted: false });
    expect(g.c.nonRoot).toBe(true);
    expect(() => g.r.vmread(V.GuestRip)).toThrow(/still in VMX non-root operation/);
    const res = g.r.runGuest(10_000);
    expect(res.kind === 'exit' && res.exit.reason).toBe(ExitReason.Cpuid);
    expect(g.c.r32[1]).toBe(0);
  });
});

describe('RESET', () => {
  it('leaves VMX non-root operation and VMX operation', () => {
    const g = new Guest();
    g.code('spin: jmp spin');
    expect(g.enter(100)).toEqual({ kind: 'running', halted: false });
    g.c.reset();
    expect([g.c.nonRoot, g.unit.inVmxOperation, g.c.eventAt, g.c.eip]).toEqual([false, false, Infinity, 0xfff0]);
  });
});

describe('bare mode: VMLAUNCH run by the interpreter', () => {
  it('the guest runs, its exit lands at the host RIP with the host state, and the host code goes on', () => {
    const g = new Guest();
    g.code('mov eax, 7\ncpuid');
    // Host code: VMLAUNCH, then (at HOST_RIP) read the exit reason and stop.
    const host = asm('vmlaunch\nhlt', 0x10000);
    const atExit = asm('mov ecx, 0x4402\nvmread eax, ecx\nhlt', HOST_RIP);
    g.m.mem.load(0x10000, host);
    g.m.mem.load(HOST_RIP, atExit);
    g.c.eip = 0x10000;
    g.c.invalidateFetch();
    expect(g.c.run(1000)).toBe(StopReason.Halted);
    expect(g.c.eip).toBe(HOST_RIP + atExit.length);
    expect(g.c.r32[0]).toBe(ExitReason.Cpuid);
    expect(g.unit.vmcs.launched).toBe(true);
    expect(g.rd(V.GuestRip)).toBe(GUEST_CODE + 5);
  });
});
