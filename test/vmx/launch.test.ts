// VMLAUNCH and VMRESUME up to guest entry (SDM Vol. 3C §31.3 VMLAUNCH/VMRESUME; §27.2 "Checks
// on VMX Controls and Host-State Area"): #UD/#GP, VMfailInvalid, errors 26, 4, 5, then each
// control-field check (error 7) and host-state check (error 8) with its message, and that VM
// entry goes on to the guest-state checks once everything passes (guest-state.test.ts and the
// other tests of this directory follow the guest in).
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Vector } from '../../src/core/cpu/regs';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { EntryCtls, ExitCtls, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import type { VmxRoot, VmxResult } from '../../src/core/vmx/root';
import { LAUNCHED_MARK, VMCS_LAUNCH_STATE_OFFSET } from '../../src/core/vmx/vmcs';
import { DATA, FAIL_INVALID_FLAGS, FAIL_VALID_FLAGS, VMCS_PA, VmxMachine } from './support';

/** A VMCS whose controls and host state pass every check of §27.2 on `m`'s generation. */
function validVmcs(m: VmxMachine): VmxRoot {
  const r = m.enterWithVmcs();
  const k = m.unit.caps;
  const w = (f: V, v: number): void => { expect(r.vmwrite(f, v).kind, `vmwrite ${V[f]}`).toBe('succeed'); };
  w(V.PinBasedControls, k.pin.mustBe1);
  w(V.ProcBasedControls, k.proc.mustBe1);
  w(V.VmExitControls, k.exit.mustBe1);
  w(V.VmEntryControls, k.entry.mustBe1);
  w(V.HostCr0, Cr0.PE | Cr0.NE | Cr0.PG | Cr0.ET);
  w(V.HostCr4, Cr4.VMXE | Cr4.PSE);
  w(V.HostCsSelector, 0x08);
  for (const f of [V.HostSsSelector, V.HostDsSelector, V.HostEsSelector, V.HostFsSelector, V.HostGsSelector]) w(f, 0x10);
  w(V.HostTrSelector, 0x30);
  return r;
}

/** Sets control bits on top of what `validVmcs` wrote. */
function orField(r: VmxRoot, f: V, bits: number): void {
  const v = r.vmread(f).value;
  expect(r.vmwrite(f, v | bits).kind).toBe('succeed');
}

function failValid(res: VmxResult): { error: number; detail: string } {
  if (res.kind !== 'failValid') throw new Error(`expected failValid, got ${JSON.stringify(res)}`);
  return { error: res.error, detail: res.detail };
}

describe('VMLAUNCH/VMRESUME before the checks', () => {
  it('#UD outside VMX operation, #GP(0) at CPL 3, VMfailInvalid without a current VMCS', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec('vmlaunch')).toBe(Vector.UD);
    expect(m.exec('vmresume')).toBe(Vector.UD);
    m.root().vmxon(0x100000);
    expect(m.exec('vmlaunch')).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    expect(m.exec('vmresume')).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    m.ring(3);
    expect(m.exec('vmlaunch')).toBe(Vector.GP);
  });

  it('error 26 right after MOV SS or POP SS (not after STI)', () => {
    const m = new VmxMachine('skylake');
    validVmcs(m);
    expect(m.exec('mov ax, ss\nmov ss, ax\nvmlaunch')).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(m.root().vmread(V.VmInstructionError).value).toBe(26);
    expect(m.exec('push ss\npop ss\nvmresume')).toBeNull();
    expect(m.root().vmread(V.VmInstructionError).value).toBe(26);
    // One instruction later the shadow is gone: VMRESUME of a clear VMCS is error 5.
    expect(m.exec('mov ax, ss\nmov ss, ax\nnop\nvmresume')).toBeNull();
    expect(m.root().vmread(V.VmInstructionError).value).toBe(5);
    expect(m.exec('sti\nvmresume\ncli')).toBeNull();
    expect(m.root().vmread(V.VmInstructionError).value).toBe(5);
  });

  it('error 4 for VMLAUNCH of a launched VMCS, error 5 for VMRESUME of a clear one', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    expect(failValid(r.vmresume()).error).toBe(5);
    // A VMCS whose region says "launched" (vmxlab's layout), made current again.
    r.vmclear(VMCS_PA);
    m.mem.write32(VMCS_PA + VMCS_LAUNCH_STATE_OFFSET, LAUNCHED_MARK);
    r.vmptrld(VMCS_PA);
    expect(failValid(r.vmlaunch()).error).toBe(4);
    expect(m.exec('vmlaunch')).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(r.vmread(V.VmInstructionError).value).toBe(4);
  });
});

/** The checks on controls and host state passed: with validVmcs' empty guest-state area VM entry
 *  then fails on guest state (exit reason 33 with bit 31, §27.8), launch state still clear. */
function passedChecks(m: VmxMachine, res: VmxResult, what = ''): void {
  expect(res.kind, `${what} ${JSON.stringify(res)}`).toBe('exit');
  if (res.kind === 'exit') expect(res.exit.exitReason, what).toBe((0x80000000 | 33) >>> 0);
  expect(m.unit.vmcs.launched).toBe(false);
}

describe('after the checks pass', () => {
  for (const gen of ['merom', 'penryn', 'nehalem', 'westmere', 'sandy-bridge', 'ivy-bridge', 'haswell', 'broadwell', 'skylake', 'ice-lake']) {
    it(`${gen}: VM entry goes on to the guest-state checks`, () => {
      const m = new VmxMachine(gen);
      const r = validVmcs(m);
      passedChecks(m, r.vmlaunch());
      expect(m.unit.lastEntryFailure).toMatch(/^VM-entry failure \(exit reason 33, qualification 0\): guest CR0 /);
    });
  }

  it('the instruction: a VM-entry failure loads the host state (RIP, RFLAGS = 2)', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    r.vmwrite(V.HostRip, 0x10000 + 5); // after 'vmlaunch; nop; nop' at CODE (support.ts)
    r.vmwrite(V.HostRsp, 0x8000);
    expect(m.exec('vmlaunch\nnop\nnop')).toBeNull();
    expect(m.c.eip).toBe(0x10005);
    expect(m.c.r32[4]).toBe(0x8000);
    expect(m.c.getFlags()).toBe(2);
    expect(r.vmread(V.ExitReason).value).toBe((0x80000000 | 33) >>> 0);
    expect(m.c.shutdown).toBe(false);
  });
});

/** Runs VMLAUNCH through the instruction and through VmxRoot; both must fail alike. */
function launchFails(m: VmxMachine, r: VmxRoot): { error: number; detail: string } {
  expect(m.exec('vmlaunch')).toBeNull();
  expect(m.arith()).toBe(FAIL_VALID_FLAGS);
  const viaInsn = r.vmread(V.VmInstructionError).value;
  const f = failValid(r.vmlaunch());
  expect(f.error).toBe(viaInsn);
  return f;
}

describe('checks on VMX controls (error 7, §27.2.1)', () => {
  it('names a secondary control the generation lacks', () => {
    const m = new VmxMachine('penryn');
    const r = validVmcs(m);
    orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls);
    expect(r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt).kind).toBe('succeed');
    expect(launchFails(m, r).detail).toBe(
      'VMLAUNCH failed: VM-instruction error 7 (VM entry with invalid control field(s)): secondary control bit 1 (EnableEpt) not allowed on penryn');
  });

  it('merom has no secondary controls at all; nehalem has no unrestricted guest', () => {
    const m = new VmxMachine('merom');
    const r = validVmcs(m);
    orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls);
    expect(launchFails(m, r).detail).toMatch(/primary processor-based control bit 31 \(ActivateSecondaryControls\) not allowed on merom$/);
    const n = new VmxMachine('nehalem');
    const rn = validVmcs(n);
    orField(rn, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls);
    rn.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.UnrestrictedGuest);
    expect(launchFails(n, rn).detail).toMatch(/secondary control bit 7 \(UnrestrictedGuest\) not allowed on nehalem$/);
  });

  it('secondary controls are ignored while "activate secondary controls" is 0', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    r.vmwrite(V.ProcBasedControls2, 0xffffffff);
    passedChecks(m, r.vmlaunch());
  });

  it('default1 bits: must be 1 in pin-based controls; CR3-load exiting may be 0 with TRUE controls (nehalem) but not without (penryn)', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    r.vmwrite(V.PinBasedControls, 0);
    expect(launchFails(m, r).detail).toMatch(/pin-based control bit 1 \(reserved\) must be 1$/);
    const n = new VmxMachine('nehalem');
    const rn = validVmcs(n);
    expect(n.unit.caps.proc.mustBe1 & ProcBasedCtls.Cr3LoadExiting).toBe(0);
    passedChecks(n, rn.vmlaunch());
    const p = new VmxMachine('penryn');
    const rp = validVmcs(p);
    rp.vmwrite(V.ProcBasedControls, p.unit.caps.proc.mustBe1 & ~ProcBasedCtls.Cr3LoadExiting);
    expect(launchFails(p, rp).detail).toMatch(/primary processor-based control bit 15 \(Cr3LoadExiting\) must be 1$/);
  });

  // Each case: a change to a valid VMCS on `gen` and the end of the failure message.
  const cases: [string, string, (r: VmxRoot, m: VmxMachine) => void, RegExp][] = [
    ['skylake', 'CR3-target count above 4', (r) => r.vmwrite(V.Cr3TargetCount, 5), /CR3-target count 5 is greater than 4$/],
    ['skylake', 'I/O bitmap A misaligned', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.UseIoBitmaps); r.vmwrite(V.IoBitmapA, 0x3010); },
      /I\/O bitmap A address 0x00000000_00003010 is not 4 KB aligned$/],
    ['skylake', 'I/O bitmap B beyond 32 bits', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.UseIoBitmaps); r.vmwrite64(V.IoBitmapB, 0x100003000n); },
      /I\/O bitmap B address 0x00000001_00003000 sets bits beyond the 32-bit physical-address width$/],
    ['skylake', 'MSR bitmap misaligned', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.UseMsrBitmaps); r.vmwrite(V.MsrBitmap, 0x4004); },
      /MSR-bitmap address .* is not 4 KB aligned$/],
    ['skylake', 'TPR threshold bits 31:4', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.UseTprShadow); r.vmwrite(V.VirtualApicAddress, 0x5000); r.vmwrite(V.TprThreshold, 0x10); },
      /TPR threshold 0x00000010: bits 31:4 must be 0$/],
    ['skylake', 'TPR threshold above VTPR', (r, m) => {
      orField(r, V.ProcBasedControls, ProcBasedCtls.UseTprShadow); r.vmwrite(V.VirtualApicAddress, 0x5000); r.vmwrite(V.TprThreshold, 5);
      m.mem.write8(0x5080, 0x40);
    }, /TPR threshold 5 is greater than VTPR\[7:4\] 4 \(virtual-APIC page byte 80H\)$/],
    ['skylake', 'virtual NMIs without NMI exiting', (r) => orField(r, V.PinBasedControls, PinBasedCtls.VirtualNmis),
      /"virtual NMIs" is 1 but "NMI exiting" is 0$/],
    ['skylake', 'NMI-window exiting without virtual NMIs', (r) => orField(r, V.ProcBasedControls, ProcBasedCtls.NmiWindowExiting),
      /"NMI-window exiting" is 1 but "virtual NMIs" is 0$/],
    ['skylake', 'APIC-register virtualization (not modelled)', (r) => {
      orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls | ProcBasedCtls.UseTprShadow); r.vmwrite(V.VirtualApicAddress, 0x5000);
      r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.ApicRegisterVirtualization);
    }, /secondary control bit 8 \(ApicRegisterVirtualization\) not allowed on skylake$/],
    ['skylake', 'APIC-access address alignment', (r) => {
      orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.VirtualizeApicAccesses);
      r.vmwrite(V.ApicAccessAddress, 0x5001);
    }, /APIC-access address .* is not 4 KB aligned$/],
    ['skylake', 'VPID 0', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableVpid); },
      /"enable VPID" is 1 and the VPID is 0000H$/],
    ['skylake', 'EPTP memory type', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt); r.vmwrite(V.EptPointer, 0x6000 | 0x18 | 1); },
      /EPTP memory type 1 is not supported \(UC or WB\)$/],
    ['skylake', 'EPTP page-walk length', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt); r.vmwrite(V.EptPointer, 0x6000 | 0x10 | 6); },
      /EPTP page-walk length 3 is not 4$/],
    ['nehalem', 'EPTP accessed/dirty without support', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt); r.vmwrite(V.EptPointer, 0x6000 | 0x40 | 0x18 | 6); },
      /EPTP enables accessed\/dirty flags, not supported on nehalem$/],
    ['skylake', 'EPTP reserved bits', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt); r.vmwrite(V.EptPointer, 0x6000 | 0x100 | 0x18 | 6); },
      /EPTP reserved bits 11:7 are not 0/],
    ['skylake', 'EPTP beyond 32 bits', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.EnableEpt); r.vmwrite64(V.EptPointer, 0x100006000n | 0x1en); },
      /EPTP 0x00000001_0000601e sets bits beyond the 32-bit physical-address width$/],
    ['skylake', 'unrestricted guest without EPT', (r) => { orField(r, V.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls); r.vmwrite(V.ProcBasedControls2, ProcBasedCtls2.UnrestrictedGuest); },
      /"unrestricted guest" is 1 but "enable EPT" is 0$/],
    ['skylake', 'save preemption timer without the timer', (r) => orField(r, V.VmExitControls, ExitCtls.SavePreemptionTimer),
      /"save VMX-preemption timer value" is 1 but "activate VMX-preemption timer" is 0$/],
    ['skylake', 'VM-exit MSR-store list misaligned', (r) => { r.vmwrite(V.VmExitMsrStoreCount, 1); r.vmwrite(V.VmExitMsrStoreAddress, 0x7008); },
      /VM-exit MSR-store address .* is not 16-byte aligned$/],
    ['skylake', 'VM-exit MSR-load list beyond 32 bits', (r) => { r.vmwrite(V.VmExitMsrLoadCount, 2); r.vmwrite(V.VmExitMsrLoadAddress, 0xfffffff0); },
      /VM-exit MSR-load list of 2 entries at 0x00000000_fffffff0 ends beyond the 32-bit physical-address width$/],
    ['skylake', 'entry to SMM', (r) => orField(r, V.VmEntryControls, EntryCtls.EntryToSmm),
      /VM-entry control bit 10 \(EntryToSmm\) not allowed on skylake$/],
    ['skylake', 'injection type 1', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x80000100), /interruption type 1 is reserved/],
    ['skylake', 'injected NMI vector', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x80000203), /NMI with vector 3, not 2$/],
    ['skylake', 'injected exception vector', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x80000320), /hardware exception with vector 32 above 31$/],
    ['skylake', '#GP injected without error code', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x8000030d), /deliver-error-code is 0 for type 3 vector 13, must be 1$/],
    ['skylake', '#UD injected with error code', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x80000b06), /deliver-error-code is 1 for type 3 vector 6, must be 0$/],
    ['skylake', 'injection reserved bits', (r) => r.vmwrite(V.VmEntryInterruptionInfo, 0x80010006 | 0x300), /reserved bits 30:12 set/],
    ['skylake', 'error code bits 31:16', (r) => { r.vmwrite(V.VmEntryInterruptionInfo, 0x80000b0e); r.vmwrite(V.VmEntryExceptionErrorCode, 0x10000); },
      /error code 0x00010000 sets bits 31:16$/],
    ['skylake', 'software interrupt length 16', (r) => { r.vmwrite(V.VmEntryInterruptionInfo, 0x80000480); r.vmwrite(V.VmEntryInstructionLength, 16); },
      /instruction length 16 outside 0-15 for type 4$/],
    ['haswell', 'software interrupt length 0 without MISC[30]', (r) => { r.vmwrite(V.VmEntryInterruptionInfo, 0x80000480); r.vmwrite(V.VmEntryInstructionLength, 0); },
      /instruction length 0 outside 1-15 for type 4$/],
    ['skylake', 'VM-entry MSR-load list misaligned', (r) => { r.vmwrite(V.VmEntryMsrLoadCount, 1); r.vmwrite(V.VmEntryMsrLoadAddress, 0x7004); },
      /VM-entry MSR-load address .* is not 16-byte aligned$/],
  ];
  for (const [gen, what, change, message] of cases) {
    it(`${gen}: ${what}`, () => {
      const m = new VmxMachine(gen);
      const r = validVmcs(m);
      change(r, m);
      const f = launchFails(m, r);
      expect(f.error).toBe(7);
      expect(f.detail).toMatch(/^VMLAUNCH failed: VM-instruction error 7 \(VM entry with invalid control field\(s\)\): /);
      expect(f.detail).toMatch(message);
      expect(m.unit.lastEntryFailure).toBe(f.detail);
    });
  }

  it('valid injections pass: #PF with error code, NMI, software interrupt with length 0 on skylake', () => {
    for (const [info, len] of [[0x80000b0e, 0], [0x80000202, 0], [0x80000480, 0], [0x80000480, 2]]) {
      const m = new VmxMachine('skylake');
      const r = validVmcs(m);
      r.vmwrite(V.VmEntryInterruptionInfo, info);
      r.vmwrite(V.VmEntryInstructionLength, len);
      passedChecks(m, r.vmlaunch(), info.toString(16));
    }
  });
});

describe('checks on the host-state area (error 8, §27.2.2-27.2.4)', () => {
  const cases: [string, (r: VmxRoot) => void, RegExp][] = [
    ['CR0.PG clear', (r) => r.vmwrite(V.HostCr0, Cr0.PE | Cr0.NE | Cr0.ET), /host CR0 0x00000031: bit 31 must be 1 in VMX operation/],
    ['CR0.NE clear', (r) => r.vmwrite(V.HostCr0, (Cr0.PE | Cr0.PG | Cr0.ET) >>> 0), /host CR0 0x80000011: bit 5 must be 1/],
    ['CR4.VMXE clear', (r) => r.vmwrite(V.HostCr4, Cr4.PSE), /host CR4 0x00000010: bit 13 must be 1/],
    ['CR4 bit the CPU lacks (SMEP)', (r) => r.vmwrite(V.HostCr4, Cr4.VMXE | Cr4.SMEP), /host CR4 0x00102000: bit 20 must be 0/],
    ['IA32_PAT with type 2', (r) => { orField(r, V.VmExitControls, ExitCtls.LoadPat); r.vmwrite64(V.HostIa32Pat, 0x0007040600070402n); },
      /host IA32_PAT 0x00070406_00070402: PA0 memory type 2 is invalid$/],
    ['IA32_EFER reserved bit', (r) => { orField(r, V.VmExitControls, ExitCtls.LoadEfer); r.vmwrite64(V.HostIa32Efer, 0x1n); },
      /host IA32_EFER 0x00000000_00000001 sets reserved bits$/],
    ['IA32_EFER.LMA without long mode', (r) => { orField(r, V.VmExitControls, ExitCtls.LoadEfer); r.vmwrite64(V.HostIa32Efer, 0x400n); },
      /host IA32_EFER 0x00000000_00000400 sets reserved bits$/],
    ['selector with RPL', (r) => r.vmwrite(V.HostDsSelector, 0x13), /host DS selector 0x0013 has RPL or TI set$/],
    ['selector with TI', (r) => r.vmwrite(V.HostTrSelector, 0x34), /host TR selector 0x0034 has RPL or TI set$/],
    ['CS 0', (r) => r.vmwrite(V.HostCsSelector, 0), /host CS selector is 0000H$/],
    ['TR 0', (r) => r.vmwrite(V.HostTrSelector, 0), /host TR selector is 0000H$/],
    ['SS 0 with a 32-bit host', (r) => r.vmwrite(V.HostSsSelector, 0), /host SS selector is 0000H with "host address-space size" 0$/],
    // §27.2.4: outside IA-32e mode (always, without long mode) both 64-bit controls are host-state errors.
    ['host address-space size outside IA-32e mode', (r) => orField(r, V.VmExitControls, ExitCtls.HostAddressSpaceSize),
      /"host address-space size" is 1 outside IA-32e mode$/],
    ['IA-32e mode guest outside IA-32e mode', (r) => orField(r, V.VmEntryControls, EntryCtls.Ia32eModeGuest),
      /"IA-32e mode guest" is 1 outside IA-32e mode$/],
  ];
  for (const [what, change, message] of cases) {
    it(what, () => {
      const m = new VmxMachine('skylake');
      const r = validVmcs(m);
      change(r);
      const f = launchFails(m, r);
      expect(f.error).toBe(8);
      expect(f.detail).toMatch(/^VMLAUNCH failed: VM-instruction error 8 \(VM entry with invalid host-state field\(s\)\): /);
      expect(f.detail).toMatch(message);
    });
  }

  it('valid PAT and EFER load pass', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    orField(r, V.VmExitControls, ExitCtls.LoadPat | ExitCtls.LoadEfer);
    r.vmwrite64(V.HostIa32Pat, 0x0007040600070406n);
    r.vmwrite64(V.HostIa32Efer, 0x800n); // NXE
    passedChecks(m, r.vmlaunch());
  });

  it('controls are checked before host state', () => {
    const m = new VmxMachine('skylake');
    const r = validVmcs(m);
    r.vmwrite(V.HostCsSelector, 0);
    r.vmwrite(V.Cr3TargetCount, 9);
    expect(failValid(r.vmlaunch()).error).toBe(7);
    void DATA;
  });
});
