// INIT while it is blocked (SDM Vol. 3C §24.8 "Restrictions on VMX Operation": INIT signals are
// blocked whenever a logical processor is in VMX root operation; §26.2: and in a guest's
// wait-for-SIPI state): it stays pending, and is taken once the CPU leaves VMX operation
// (VMXOFF: an INIT, the platform's reset or wait-for-SIPI) or enters a guest that can take it
// (a VM exit with reason 3).
import { describe, expect, it } from 'vitest';
import { Cr0 } from '../../src/core/cpu/regs';
import { DeliveryMode } from '../../src/core/platform/devices/apic-bus';
import { PcMachine } from '../../src/core/platform/machine';
import { cpuModelForName } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE, HOST_RIP } from './guest-support';

describe('INIT blocked in VMX root operation stays pending', () => {
  it('VMXOFF unblocks it: the CPU takes the INIT (real mode, CR4 = 0, out of VMX operation)', () => {
    const g = new Guest();
    g.code('cpuid');
    expectExit(g.exit(), ExitReason.Cpuid);
    expect(g.c.init()).toBe(false); // root: blocked
    expect(g.c.initPending).toBe(true);
    g.c.run(10); // host code runs on (HLT at HOST_RIP), no INIT
    expect(g.c.eip).toBe(HOST_RIP + 1);
    expect(g.c.cr0 & Cr0.PE).toBe(Cr0.PE);
    expect(g.r.vmclear(0x101000).kind).toBe('succeed');
    expect(g.r.vmxoff().kind).toBe('succeed');
    expect(g.c.initPending).toBe(true);
    g.c.run(1);
    expect(g.c.initPending).toBe(false);
    expect(g.unit.inVmxOperation).toBe(false);
    expect(g.c.cr0 & (Cr0.PE | Cr0.PG)).toBe(0);
    expect(g.c.cr4).toBe(0);
  });

  it('VM entry with a pending INIT: exit 3 before the first guest instruction, with the entered activity state', () => {
    for (const activity of [0, 1]) {
      const g = new Guest();
      g.code('cpuid');
      expectExit(g.exit(), ExitReason.Cpuid);
      g.c.init();
      g.c.init(); // one latch: a second INIT while blocked adds nothing
      g.w(V.GuestRip, GUEST_CODE);
      g.w(V.GuestActivityState, activity);
      const x = g.exit();
      expectExit(x, ExitReason.InitSignal, GUEST_CODE);
      expect(g.rd(V.GuestActivityState)).toBe(activity);
      expect(g.c.initPending).toBe(false);
      g.w(V.GuestActivityState, 0);
      expectExit(g.exit(), ExitReason.Cpuid); // taken once
    }
  });

  it('the guest\'s wait-for-SIPI state blocks INIT too; it exits once the guest is active again', () => {
    const g = new Guest();
    g.w(V.GuestActivityState, 3);
    g.code('cpuid');
    expect(g.enter()).toEqual({ kind: 'running', halted: true });
    expect(g.c.init()).toBe(false);
    expect(g.c.startup(0x12)).toBe(true);
    expectExit(g.unit.record, ExitReason.StartupIpi);
    expect(g.c.initPending).toBe(true);
    g.w(V.GuestActivityState, 0);
    const res = g.r.vmresume(); // launched by the entry the SIPI exit left
    expect(res.kind).toBe('exit');
    expectExit(g.unit.record, ExitReason.InitSignal, GUEST_CODE);
  });

  it('on a PcMachine, an INIT IPI to an AP in VMX root operation parks it in wait-for-SIPI after VMXOFF', () => {
    const m = new PcMachine({ memoryBytes: 16 << 20, cpuModel: cpuModelForName('skylake'), firmware: 'none', cpus: 2 });
    m.io.write(0x92, 1, 2); // fast A20
    const ap = m.cpus[1];
    ap.waitForSipi = false;
    const g = new Guest('skylake', { mem: m.mem, io: m.io, cpu: ap });
    g.code('cpuid');
    expectExit(g.exit(), ExitReason.Cpuid);
    expect(m.lapics[1].accept(DeliveryMode.Init, 0, true, false)).toBe(true);
    expect(ap.waitForSipi).toBe(false); // blocked
    expect(ap.initPending).toBe(true);
    expect(g.r.vmxoff().kind).toBe('succeed');
    ap.run(1);
    expect(ap.waitForSipi).toBe(true);
    expect(ap.initPending).toBe(false);
    expect(g.unit.inVmxOperation).toBe(false);
  });
});
