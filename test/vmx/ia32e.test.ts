// IA-32e mode in VMX (issue 4): the capability MSRs with long mode, the host-state checks of
// §27.2.2-27.2.4 and the guest-state checks of §27.3.1 for IA-32e guests and 64-bit hosts,
// loading guest state (§27.3.2), saving it and loading a 64-bit host (§28.3, §28.5), "save
// IA32_EFER.LMA" (§28.2, IA32_VMX_MISC[5]), and the VMX instructions in 64-bit mode (§31.3:
// 64-bit operands; §28.2.1 qualification and §28.2.5 instruction information with address size
// 2 and REX register numbers).
import { describe, expect, it } from 'vitest';
import { StopReason } from '../../src/core/cpu/cpu';
import { Cr4, Efer, Seg } from '../../src/core/cpu/regs';
import { getGpr64, getRip } from '../../src/core/cpu/long/long-mode';
import { Desc, loadCache, tryFetchDesc } from '../../src/core/cpu/descriptor';
import { VmxMsr } from '../../src/core/vmx/capabilities';
import { ControlField, EntryCtls, ExitCtls, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { asm, CODE, CODE0, DATA, FAIL_VALID_FLAGS, HIGH_BASE, SUCCEED_FLAGS, VMCS_PA, VmxMachine } from './support';
import { expectExit, Guest, GUEST_CODE, HOST_RIP, HOST_STACK } from './guest-support';
import { EptBuilder } from './ept-support';

const FAIL_33 = (0x80000000 | ExitReason.EntryFailureGuestState) >>> 0;
const lo = (g: Guest, f: V): number => g.unit.vmcs.lo(f);
/** A 64-bit guest under a 64-bit host, both on the IA-32e paging structures of the machine. */
function guest64(gen = 'skylake'): Guest {
  const g = new Guest(gen, undefined, { start64: true });
  g.host64();
  g.guest64();
  return g;
}

describe('capability MSRs with long mode (Appendix A)', () => {
  it('IA32_VMX_BASIC[48] is 0, MISC[5] is 1, CR8-load/store exiting and the address-space controls are allowed-1', () => {
    const with64 = new VmxMachine('skylake', { longMode: true }).unit.caps;
    const without = new VmxMachine('skylake').unit.caps;
    expect((with64.msrs.get(VmxMsr.Basic)![1] >>> 16) & 1).toBe(0);
    expect((without.msrs.get(VmxMsr.Basic)![1] >>> 16) & 1).toBe(1);
    expect((with64.msrs.get(VmxMsr.Misc)![0] >>> 5) & 1).toBe(1);
    expect((without.msrs.get(VmxMsr.Misc)![0] >>> 5) & 1).toBe(0);
    const cr8 = ProcBasedCtls.Cr8LoadExiting | ProcBasedCtls.Cr8StoreExiting;
    expect(with64.proc.mayBe1 & cr8).toBe(cr8);
    expect(without.proc.mayBe1 & cr8).toBe(0);
    expect(with64.pointerWidth).toBe(36);
    expect(with64.exit.mayBe1 & ExitCtls.HostAddressSpaceSize).not.toBe(0);
    expect(with64.entry.mayBe1 & EntryCtls.Ia32eModeGuest).not.toBe(0);
  });
});

describe('checks on host state with IA-32e mode (§27.2.2-27.2.4, VMfailValid 8)', () => {
  const cases: [string, (g: Guest) => void, RegExp][] = [
    ['"host address-space size" 0 in IA-32e mode', (g) => g.w(V.VmExitControls, g.rd(V.VmExitControls) & ~ExitCtls.HostAddressSpaceSize),
      /"host address-space size" is 0 in IA-32e mode/],
    ['host CR4.PAE 0 with a 64-bit host', (g) => g.w(V.HostCr4, Cr4.PSE | Cr4.VMXE), /host CR4.PAE is 0 with "host address-space size" 1/],
    ['non-canonical host RIP', (g) => g.r.vmwriteLong(V.HostRip, 0x0000800000000000n), /host RIP 0x00008000_00000000 is not canonical/],
    ['non-canonical host FS base', (g) => g.r.vmwriteLong(V.HostFsBase, 0x1234000000000000n), /host FS base 0x12340000_00000000 is not canonical/],
    ['non-canonical host GDTR base', (g) => g.r.vmwriteLong(V.HostGdtrBase, 0x0001000000000000n), /host GDTR base .* is not canonical/],
    ['non-canonical host TR base', (g) => g.r.vmwriteLong(V.HostTrBase, 0x8000000000000000n), /host TR base .* is not canonical/],
    ['non-canonical host GS base', (g) => g.r.vmwriteLong(V.HostGsBase, 0x0000800000000000n), /host GS base .* is not canonical/],
    ['non-canonical host IDTR base', (g) => g.r.vmwriteLong(V.HostIdtrBase, 0xfff0000000000000n), /host IDTR base .* is not canonical/],
    ['non-canonical host IA32_SYSENTER_ESP', (g) => g.r.vmwriteLong(V.HostIa32SysenterEsp, 0x0000800000000000n), /host IA32_SYSENTER_ESP .* is not canonical/],
    ['non-canonical host IA32_SYSENTER_EIP', (g) => g.r.vmwriteLong(V.HostIa32SysenterEip, 0x0000900000000000n), /host IA32_SYSENTER_EIP .* is not canonical/],
    ['host CR3 beyond the 36-bit physical-address width', (g) => g.r.vmwriteLong(V.HostCr3, 0x0000001000005000n),
      /host CR3 0x00000010_00005000 sets bits beyond the 36-bit/],
    ['host IA32_EFER.LMA 0 with "load IA32_EFER" and a 64-bit host', (g) => {
      g.ctl(ControlField.Exit, g.rd(V.VmExitControls) | ExitCtls.LoadEfer); g.w(V.HostIa32Efer, Efer.LME);
    }, /host IA32_EFER.LMA differs from "host address-space size"/],
  ];
  for (const [name, edit, why] of cases) {
    it(name, () => {
      const g = guest64();
      g.code64('vmcall');
      edit(g);
      const res = g.enter();
      expect(res.kind).toBe('failValid');
      expect(g.unit.lastEntryFailure).toMatch(why);
      expect(g.rd(V.VmInstructionError)).toBe(8);
    });
  }

  it('a 64-bit host with everything right enters (the control case)', () => {
    const g = guest64();
    g.code64('vmcall');
    expectExit(g.exit(), ExitReason.Vmcall, GUEST_CODE);
  });

  it('outside IA-32e mode: "IA-32e mode guest" and "host address-space size" are refused, host RIP bits 63:32 must be 0', () => {
    const g = new Guest('skylake', undefined, { longMode: true });
    g.code('vmcall');
    g.ctl(ControlField.Entry, g.rd(V.VmEntryControls) | EntryCtls.Ia32eModeGuest);
    expect(g.enter().kind).toBe('failValid');
    expect(g.unit.lastEntryFailure).toMatch(/"IA-32e mode guest" is 1 outside IA-32e mode/);
    g.w(V.VmEntryControls, g.rd(V.VmEntryControls) & ~EntryCtls.Ia32eModeGuest);
    g.ctl(ControlField.Exit, g.rd(V.VmExitControls) | ExitCtls.HostAddressSpaceSize);
    expect(g.enter().kind).toBe('failValid');
    expect(g.unit.lastEntryFailure).toMatch(/"host address-space size" is 1 outside IA-32e mode/);
    g.w(V.VmExitControls, g.rd(V.VmExitControls) & ~ExitCtls.HostAddressSpaceSize);
    // A 32-bit VMWRITE clears bits 63:32 of a natural-width field; the VMCS could hold them from
    // 64-bit code run earlier: the processor's copy is set directly here.
    g.unit.vmcs.setHi(V.HostRip, 1);
    expect(g.enter().kind).toBe('failValid');
    expect(g.unit.lastEntryFailure).toMatch(/host RIP 0x00000001_00050000 sets bits 63:32 with "host address-space size" 0/);
    g.unit.vmcs.setHi(V.HostRip, 0);
    expectExit(g.exit(), ExitReason.Vmcall, GUEST_CODE);
  });
});

describe('checks on the guest state of an IA-32e mode guest (§27.3.1, exit 33)', () => {
  const cases: [string, (g: Guest) => void, RegExp][] = [
    ['CR4.PAE 0', (g) => g.w(V.GuestCr4, Cr4.PSE | Cr4.VMXE), /guest CR4 0x00002010: PAE is 0 with "IA-32e mode guest" 1/],
    ['CS with L and D/B both 1', (g) => g.w(V.GuestCsAccessRights, 0xe09b), /guest CS access rights 0x0000e09b: L and D\/B both 1/],
    ['TR type 3 (busy 16-bit TSS)', (g) => g.w(V.GuestTrAccessRights, 0x83), /guest TR type 3 is not 11 \(busy 64-bit TSS\)/],
    ['"load IA32_EFER" with LMA 0', (g) => {
      g.ctl(ControlField.Entry, g.rd(V.VmEntryControls) | EntryCtls.LoadEfer); g.w(V.GuestIa32Efer, Efer.LME);
    }, /guest IA32_EFER.LMA is 0 with "IA-32e mode guest" 1/],
    ['"load IA32_EFER" with LME 0 and CR0.PG 1', (g) => {
      g.ctl(ControlField.Entry, g.rd(V.VmEntryControls) | EntryCtls.LoadEfer); g.w(V.GuestIa32Efer, Efer.LMA);
    }, /guest IA32_EFER.LME is 0 with CR0.PG = 1/],
    ['non-canonical RIP in 64-bit mode', (g) => g.r.vmwriteLong(V.GuestRip, 0x0000800000000000n), /guest RIP 0x00008000_00000000 is not canonical/],
    ['RIP bits 63:32 with CS.L 0 (compatibility mode)', (g) => {
      g.w(V.GuestCsSelector, 0x08); g.w(V.GuestCsAccessRights, 0xc09b); g.r.vmwriteLong(V.GuestRip, 0x100030000n);
    }, /guest RIP 0x00000001_00030000 sets bits 63:32 outside 64-bit mode/],
    ['non-canonical FS base', (g) => g.r.vmwriteLong(V.GuestFsBase, 0x0000800000000000n), /guest FS base 0x00008000_00000000 is not canonical/],
    ['CS base bits 63:32', (g) => g.r.vmwriteLong(V.GuestCsBase, 0xffff800000000000n), /guest CS base 0xffff8000_00000000 sets bits 63:32/],
    ['non-canonical GDTR base', (g) => g.r.vmwriteLong(V.GuestGdtrBase, 0x00f0000000000000n), /guest GDTR base .* is not canonical/],
    ['RFLAGS bits 63:32', (g) => g.r.vmwriteLong(V.GuestRflags, 0x100000002n), /guest RFLAGS 0x00000001_00000002 sets reserved bits 63:32/],
    ['RFLAGS.VM', (g) => {
      // Segments as virtual-8086 mode needs them (§27.3.1.2 comes first), CS.L = 0.
      for (const [s, b, l, a] of [[V.GuestEsSelector, V.GuestEsBase, V.GuestEsLimit, V.GuestEsAccessRights], [V.GuestCsSelector, V.GuestCsBase, V.GuestCsLimit, V.GuestCsAccessRights],
        [V.GuestSsSelector, V.GuestSsBase, V.GuestSsLimit, V.GuestSsAccessRights], [V.GuestDsSelector, V.GuestDsBase, V.GuestDsLimit, V.GuestDsAccessRights],
        [V.GuestFsSelector, V.GuestFsBase, V.GuestFsLimit, V.GuestFsAccessRights], [V.GuestGsSelector, V.GuestGsBase, V.GuestGsLimit, V.GuestGsAccessRights]] as V[][]) {
        g.w(s, 0x1000); g.w(b, 0x10000); g.w(l, 0xffff); g.w(a, 0xf3);
      }
      g.w(V.GuestRflags, 0x20002);
    }, /guest RFLAGS.VM is 1 with "IA-32e mode guest" 1/],
    ['non-canonical IA32_SYSENTER_ESP', (g) => g.r.vmwriteLong(V.GuestIa32SysenterEsp, 0x0000800000000000n), /guest IA32_SYSENTER_ESP .* is not canonical/],
    ['CR3 beyond the physical-address width', (g) => g.r.vmwriteLong(V.GuestCr3, 0x0000100000005000n), /guest CR3 .* sets bits beyond the 36-bit/],
    ['DR7 bits 63:32 with "load debug controls"', (g) => {
      g.ctl(ControlField.Entry, g.rd(V.VmEntryControls) | EntryCtls.LoadDebugControls); g.r.vmwriteLong(V.GuestDr7, 0x100000400n);
    }, /guest DR7 0x00000001_00000400 sets bits 63:32/],
    ['pending debug exceptions bits 63:32', (g) => g.r.vmwriteLong(V.GuestPendingDebugExceptions, 0x100000000n), /guest pending debug exceptions .* set reserved bits/],
    ['non-canonical IDTR base', (g) => g.r.vmwriteLong(V.GuestIdtrBase, 0x0000800000000000n), /guest IDTR base .* is not canonical/],
    ['usable SS with base bits 63:32', (g) => g.r.vmwriteLong(V.GuestSsBase, 0x100000000n), /guest SS base 0x00000001_00000000 sets bits 63:32/],
    ['usable LDTR with a non-canonical base', (g) => {
      g.w(V.GuestLdtrSelector, 0x28); g.w(V.GuestLdtrAccessRights, 0x82); g.w(V.GuestLdtrLimit, 0xfff);
      g.r.vmwriteLong(V.GuestLdtrBase, 0x0000800000000000n);
    }, /guest LDTR base .* is not canonical/],
    ['CR0.PG 0 (an unrestricted guest) with "IA-32e mode guest" 1', (g) => {
      g.ctl(ControlField.ProcBased2, ProcBasedCtls2.EnableEpt | ProcBasedCtls2.UnrestrictedGuest);
      const b = new EptBuilder(g.m.mem, 0x800000); b.identity2m(16 << 20); g.w(V.EptPointer, b.eptp());
      g.w(V.GuestCr0, g.rd(V.GuestCr0) & ~0x80000000);
    }, /guest CR0 0x[0-9a-f]+: PG is 0 with "IA-32e mode guest" 1/],
    // (CR4.PCIDE with "IA-32e mode guest" 0 is checked too, but CR4_FIXED1 has no PCIDE here:
    // the interpreter has no PCIDs, so the fixed-bit check fails first.)
  ];
  for (const [name, edit, why] of cases) {
    it(name, () => {
      const g = guest64();
      g.code64('vmcall');
      edit(g);
      const x = g.exit();
      expect(x.exitReason >>> 0).toBe(FAIL_33);
      expect(g.unit.lastEntryFailure).toMatch(why);
      // A VM-entry failure loads the 64-bit host (§27.8).
      expect(g.c.mode64).toBe(true);
      expect(g.c.efer & Efer.LMA).toBe(Efer.LMA);
    });
  }
});

describe('loading and saving IA-32e state (§27.3.2, §28.2, §28.3, §28.5)', () => {
  it('a 64-bit guest at a high canonical RIP: RIP, RSP, bases and EFER saved whole; the 64-bit host loaded', () => {
    const g = guest64();
    // The guest runs at HIGH_BASE + GUEST_CODE (the same memory, PML4 entry 256).
    const code = g.code64('mov rsp, 0xffff800000081000\nmov rax, 0x1122334455667788\nvmcall');
    g.r.vmwriteLong(V.GuestRip, HIGH_BASE + BigInt(GUEST_CODE));
    g.r.vmwriteLong(V.GuestFsBase, 0xffff800012345000n);
    g.r.vmwriteLong(V.GuestGsBase, 0x00007fff00001000n);
    g.r.vmwriteLong(V.GuestIa32SysenterEip, 0xffff800000001234n);
    g.ctl(ControlField.Exit, g.rd(V.VmExitControls) | ExitCtls.SaveEfer);
    g.r.vmwriteLong(V.HostRip, HIGH_BASE + BigInt(HOST_RIP));
    g.r.vmwriteLong(V.HostGsBase, 0xffff8000abcd0000n);
    g.r.vmwriteLong(V.HostRsp, HIGH_BASE + BigInt(HOST_STACK));
    const x = g.exit();
    expectExit(x, ExitReason.Vmcall);
    expect(x.instructionLength).toBe(3);
    expect(g.r.vmreadLong(V.GuestRip).value).toBe(HIGH_BASE + BigInt(GUEST_CODE + code.length - 3));
    expect(g.r.vmreadLong(V.GuestRsp).value).toBe(0xffff800000081000n);
    expect(g.r.vmreadLong(V.GuestFsBase).value).toBe(0xffff800012345000n);
    expect(g.r.vmreadLong(V.GuestGsBase).value).toBe(0x00007fff00001000n);
    expect(g.r.vmreadLong(V.GuestIa32SysenterEip).value).toBe(0xffff800000001234n);
    expect(lo(g, V.GuestIa32Efer) & (Efer.LMA | Efer.LME)).toBe(Efer.LMA | Efer.LME);
    // "save IA32_EFER.LMA" (MISC[5]): LMA was 1, the entry control stays 1.
    expect(lo(g, V.VmEntryControls) & EntryCtls.Ia32eModeGuest).toBe(EntryCtls.Ia32eModeGuest);
    // The host: 64-bit mode (CS.L = 1, D = 0), RIP, RSP and GS base whole, LMA/LME set.
    const c = g.c;
    expect(c.mode64).toBe(true);
    expect((c.segAttr[Seg.CS] >>> 13) & 3).toBe(1);
    expect(getRip(c)).toBe(HIGH_BASE + BigInt(HOST_RIP));
    expect(getGpr64(c, 4)).toBe(HIGH_BASE + BigInt(HOST_STACK));
    expect((BigInt(c.segBaseHi[Seg.GS] >>> 0) << 32n) | BigInt(c.segBase[Seg.GS] >>> 0)).toBe(0xffff8000abcd0000n);
    expect(c.efer & (Efer.LMA | Efer.LME)).toBe(Efer.LMA | Efer.LME);
    // The guest's RAX survives (GPRs are not part of the VMCS).
    expect(getGpr64(c, 0)).toBe(0x1122334455667788n);
  });

  it('a 32-bit guest under a 64-bit host: EFER.LMA/LME 0 from "IA-32e mode guest" 0 (no "load IA32_EFER"), 64-bit host again at the exit', () => {
    const g = new Guest('skylake', undefined, { start64: true });
    g.host64();
    g.code('mov eax, 0\ncpuid');
    g.ctl(ControlField.Exit, g.rd(V.VmExitControls) | ExitCtls.SaveEfer);
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid, GUEST_CODE + 5);
    expect(lo(g, V.GuestIa32Efer) & (Efer.LMA | Efer.LME)).toBe(0);
    expect(lo(g, V.VmEntryControls) & EntryCtls.Ia32eModeGuest).toBe(0);
    expect(g.c.mode64).toBe(true);
    expect(g.c.efer & (Efer.LMA | Efer.LME)).toBe(Efer.LMA | Efer.LME);
    // CPUID in the 32-bit guest ran on the long-mode model: the exit left EAX = 0 (not executed).
    expect(g.c.r32[0]).toBe(0);
  });

  it('a 64-bit guest from a 64-bit host without "load IA32_EFER": the guest runs in 64-bit mode (a REX.W form)', () => {
    const g = guest64();
    // mov rax, imm64 decodes as such only in 64-bit mode; then I/O exits with RAX's low byte.
    g.code64('mov rax, 0x123456789a\nmov dx, 0x80\nout dx, al');
    g.ctl(ControlField.ProcBased, g.rd(V.ProcBasedControls) | ProcBasedCtls.UnconditionalIoExiting);
    const x = g.exit();
    expectExit(x, ExitReason.IoInstruction);
    expect(x.qualification >>> 16).toBe(0x80);
    expect(getGpr64(g.c, 0)).toBe(0x123456789an);
  });

  it('bare mode: VMLAUNCH by interpreted 64-bit host code, the guest exits to the 64-bit host RIP, VMREAD there', () => {
    const g = guest64();
    g.code64('mov rbx, 0xffff800000000000\nvmcall');
    const host = asm('vmlaunch\nhlt', CODE, 64);
    const atExit = asm('mov rcx, 0x681e\nvmread rax, rcx\nhlt', HOST_RIP, 64);
    g.m.mem.load(CODE, host);
    g.m.mem.load(HOST_RIP, atExit);
    g.r.vmwriteLong(V.HostRip, HIGH_BASE + BigInt(HOST_RIP));
    g.c.eip = CODE;
    g.c.invalidateFetch();
    expect(g.c.run(1000)).toBe(StopReason.Halted);
    expect(g.unit.record.reason).toBe(ExitReason.Vmcall);
    expect(g.c.mode64).toBe(true);
    expect(getRip(g.c)).toBe(HIGH_BASE + BigInt(HOST_RIP + atExit.length));
    // The guest's RIP (the VMCALL), read whole by the host's 64-bit VMREAD.
    expect(getGpr64(g.c, 0)).toBe(BigInt(GUEST_CODE + 10));
    expect(getGpr64(g.c, 3)).toBe(0xffff800000000000n);
  });
});

describe('VMX instructions in 64-bit mode (§31.3)', () => {
  function machine(): VmxMachine {
    const m = new VmxMachine('skylake', { start64: true });
    m.enterWithVmcs();
    return m;
  }

  it('VMWRITE/VMREAD with 64-bit registers: natural-width fields whole, 16-bit zero-extended, the high access type', () => {
    const m = machine(), c = m.c;
    expect(m.exec(`
      mov rax, 0x6c14
      mov rbx, 0x123456789abcdef0
      vmwrite rax, rbx
      mov rcx, 0
      vmread rcx, rax
      mov rdx, 0x0c00
      mov rbx, 0xffffffffffff0010
      vmwrite rdx, rbx
      mov rsi, -1
      vmread rsi, rdx
      mov r8, 0x2000
      mov r9, 0x1111222233334444
      vmwrite r8, r9
      mov r10, 0x2001
      mov r11, -1
      vmread r11, r10`, 64)).toBe(null);
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect(getGpr64(c, 1)).toBe(0x123456789abcdef0n);
    expect(m.unit.vmcs.hi(V.HostRsp)).toBe(0x12345678);
    expect(getGpr64(c, 6)).toBe(0x10n);
    expect(m.unit.vmcs.lo(V.IoBitmapA)).toBe(0x33334444);
    expect(getGpr64(c, 11)).toBe(0x11112222n);
  });

  it('memory operands with REX registers: VMWRITE/VMREAD m64, VMPTRST m64, VMPTRLD/VMCLEAR m64', () => {
    const m = machine();
    m.mem.write32(DATA + 28, 0xdeadbeef);
    m.mem.write32(DATA + 32, VMCS_PA); m.mem.write32(DATA + 36, 0);
    expect(m.exec(`
      mov r12, ${DATA}
      mov rax, 0x6c16
      mov r13, 0xffff800000050000
      mov [r12+8], r13
      vmwrite rax, [r12+8]
      vmread [r12+16], rax
      vmptrst [r12+24]
      vmclear [r12+32]
      vmptrld [r12+32]`, 64)).toBe(null);
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect(m.mem.read32(DATA + 16) >>> 0).toBe(0x00050000);
    expect(m.mem.read32(DATA + 20) >>> 0).toBe(0xffff8000);
    expect(m.mem.read32(DATA + 24) >>> 0).toBe(VMCS_PA);
    expect(m.mem.read32(DATA + 28)).toBe(0);
    expect(m.unit.vmcs.pa).toBe(VMCS_PA);
  });

  it('an encoding with bits 63:32 set corresponds to no field: VMfailValid(12)', () => {
    const m = machine();
    expect(m.exec('mov rax, 0x100006c14\nvmread rcx, rax', 64)).toBe(null);
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(m.unit.vmcs.lo(V.VmInstructionError)).toBe(12);
  });

  it('INVVPID individual-address in 64-bit mode: a canonical high address passes, a non-canonical one is VMfailValid(28)', () => {
    const m = machine();
    // Descriptor at DATA: VPID 1, linear address FFFF8000_00001000, then a non-canonical one.
    m.mem.write32(DATA, 1); m.mem.write32(DATA + 4, 0); m.mem.write32(DATA + 8, 0x1000); m.mem.write32(DATA + 12, 0xffff8000);
    expect(m.exec(`mov r8, ${DATA}\nxor eax, eax\ninvvpid rax, [r8]`, 64)).toBe(null);
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    m.mem.write32(DATA + 12, 0x00008000);
    expect(m.exec(`mov r8, ${DATA}\nxor eax, eax\ninvvpid rax, [r8]`, 64)).toBe(null);
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(m.unit.vmcs.lo(V.VmInstructionError)).toBe(28);
  });

  it('compatibility mode: #UD', () => {
    const m = machine(), c = m.c, d = new Desc();
    tryFetchDesc(c, CODE0, d); loadCache(c, Seg.CS, CODE0, d); c.modeChanged();
    expect(c.mode64).toBe(false);
    expect(m.exec('vmread eax, ebx')).toBe(6);
  });

  it('exits from a 64-bit guest: instruction information with address size 2, REX registers, RIP-relative qualification', () => {
    const g = guest64();
    const code = g.code64('vmread [r9+r10*4+0x10], r11\nvmwrite r12, r13\nvmptrld [rel data]\ndata: dq 0');
    let x = g.exit();
    expectExit(x, ExitReason.Vmread, GUEST_CODE);
    // [1:0] scale 2, [9:7] address size 2 (64-bit), [17:15] DS (3), [21:18] index 10, [26:23]
    // base 9, [31:28] reg2 11 (Table 28-14).
    expect(x.instructionInfo >>> 0).toBe((2 | (2 << 7) | (3 << 15) | (10 << 18) | (9 << 23) | (11 << 28)) >>> 0);
    expect(x.qualification).toBe(0x10);
    expect(x.instructionLength).toBe(6);
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Vmwrite, GUEST_CODE + 6);
    // [6:3] reg1 13, [10] register, [31:28] reg2 12 (bits 9:7 undefined for a register: 0).
    expect(x.instructionInfo >>> 0).toBe(((13 << 3) | (1 << 10) | (12 << 28)) >>> 0);
    expect(x.qualification).toBe(0);
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Vmptrld, GUEST_CODE + 10);
    // RIP-relative: base and index invalid; the qualification is the address (§28.2.1).
    expect(x.instructionInfo & ((1 << 22) | (1 << 27))).toBe((1 << 22) | (1 << 27));
    expect((x.instructionInfo >>> 7) & 7).toBe(2);
    expect(x.qualification).toBe(GUEST_CODE + code.length - 8);
    expect(x.instructionLength).toBe(7);
  });
});

describe('exits from 64-bit code (§26.1.3, §28.2.1, §30.3)', () => {
  const P = ControlField.ProcBased, P2 = ControlField.ProcBased2;

  it('MOV to CR3 (CR3-load exiting), MOV from/to CR8 (CR8-store/load exiting): REX register numbers in the qualification', () => {
    const g = guest64();
    g.code64('mov r9, 0x5000\nmov cr3, r9\nmov r10, cr8\nmov cr8, r11');
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr8StoreExiting | ProcBasedCtls.Cr8LoadExiting);
    let x = g.exit();
    // Offsets from ndisasm: mov r9d, 0x5000 (6 bytes), then the 4-byte MOV CRs (REX.B/REX.R).
    expectExit(x, ExitReason.CrAccess, GUEST_CODE + 6);
    // Table 28-3: [3:0] CR, [5:4] access type (0 to CR, 1 from CR), [11:8] GPR.
    expect(x.qualification).toBe(3 | (9 << 8));
    expect(x.instructionLength).toBe(4);
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.CrAccess, GUEST_CODE + 10);
    expect(x.qualification).toBe(8 | (1 << 4) | (10 << 8));
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.CrAccess, GUEST_CODE + 14);
    expect(x.qualification).toBe(8 | (11 << 8));
  });

  it('"use TPR shadow": MOV to CR8 writes VTPR, MOV from CR8 reads VTPR[7:4], a TPR below the threshold exits after the instruction', () => {
    const g = guest64();
    const VAPIC = 0x108000;
    g.m.mem.write32(VAPIC + 0x80, 0x50);
    g.code64('mov rax, 6\nmov cr8, rax\nmov rbx, cr8\nmov rax, 2\nmov cr8, rax\nnop');
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.UseTprShadow);
    g.w(V.VirtualApicAddress, VAPIC);
    g.w(V.TprThreshold, 4);
    const x = g.exit();
    // The second MOV to CR8 sets VTPR[7:4] = 2 below the threshold 4: exit 43, trap-like.
    expectExit(x, ExitReason.TprBelowThreshold, GUEST_CODE + 0x16); // after the second MOV to CR8 (ndisasm)
    expect(g.m.mem.read32(VAPIC + 0x80)).toBe(0x20);
    expect(getGpr64(g.c, 3)).toBe(6n);
    expect(g.c.cr8).toBe(0); // the real TPR untouched
  });

  it('MOV from DR7 (MOV-DR exiting), INVLPG of a high address (the whole address), LGDT (descriptor-table exiting)', () => {
    const g = guest64();
    g.code64('mov r12, dr7\nmov rbx, 0xffff800000201000\ninvlpg [rbx]\nmov r8, 0x3000\nlgdt [r8+0x20]');
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.MovDrExiting | ProcBasedCtls.InvlpgExiting);
    g.ctl(P2, ProcBasedCtls2.DescriptorTableExiting);
    let x = g.exit();
    expectExit(x, ExitReason.MovDr, GUEST_CODE);
    // Table 28-4: [2:0] DR, [4] direction (1 = from DR), [11:8] GPR.
    expect(x.qualification).toBe(7 | (1 << 4) | (12 << 8));
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Invlpg, GUEST_CODE + 0xe);
    expect(g.r.vmreadLong(V.ExitQualification).value).toBe(0xffff800000201000n);
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.GdtrIdtrAccess, GUEST_CODE + 0x17);
    expect(x.qualification).toBe(0x20);
    expect(x.instructionLength).toBe(5);
    // Table 28-10: [9:7] address size 2, [17:15] DS, [22] index invalid, [26:23] base 8,
    // [29:28] identity 2 (LGDT); bit 11 (operand size) left out.
    expect((x.instructionInfo & ~(1 << 11)) >>> 0).toBe(((2 << 7) | (3 << 15) | (1 << 22) | (8 << 23) | (2 << 28)) >>> 0);
  });
});

describe('EPT under an IA-32e mode guest: the 4-level walk through EPT (§29.3.2, §28.2.1)', () => {
  function eptGuest(): [Guest, EptBuilder] {
    const g = guest64();
    const b = new EptBuilder(g.m.mem, 0x800000);
    b.identity2m(16 << 20);
    b.split(0);
    b.split(0x200000);
    g.ctl(ControlField.ProcBased2, ProcBasedCtls2.EnableEpt);
    g.w(V.EptPointer, b.eptp());
    return [g, b];
  }

  it('a guest that runs and reads memory above 4 GB with every table access through EPT', () => {
    const [g] = eptGuest();
    g.m.mem.write32(0x201000, 0xcafe1234);
    g.code64('mov rbx, 0xffff800000201000\nmov eax, [rbx]\nvmcall');
    expectExit(g.exit(), ExitReason.Vmcall);
    expect(g.c.r32[0] >>> 0).toBe(0xcafe1234);
  });

  it('a guest PML4 entry not mapped by EPT: violation on a paging-structure access (bit 7 = 1, bit 8 = 0), GPA of the PML4E', () => {
    const [g, b] = eptGuest();
    b.map4k(0x5000, 0x5000, 0);
    g.code64('vmcall');
    const x = g.exit();
    expectExit(x, ExitReason.EptViolation, GUEST_CODE);
    expect(x.guestPhysical).toBe(0x5000);
    expect((x.qualification >>> 7) & 3).toBe(1);
    expect(x.guestLinear).toBe(GUEST_CODE);
  });

  it('the final access to a page not mapped by EPT at a high linear address: bit 8 = 1, the whole guest-linear address', () => {
    const [g, b] = eptGuest();
    b.map4k(0x201000, 0x201000, 0);
    g.code64('mov rbx, 0xffff800000201008\nmov eax, [rbx]\nvmcall');
    const x = g.exit();
    expectExit(x, ExitReason.EptViolation, GUEST_CODE + 10);
    expect(x.guestPhysical).toBe(0x201008);
    expect(x.qualification & 7).toBe(1); // a data read
    expect((x.qualification >>> 7) & 3).toBe(3);
    expect(g.r.vmreadLong(V.GuestLinearAddress).value).toBe(0xffff800000201008n);
  });
});
