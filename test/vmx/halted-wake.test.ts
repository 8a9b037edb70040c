// A halted guest on a PcMachine, driven by the machine's own run loop (one CPU) and by the SMP
// schedule (several CPUs) in bare mode: what wakes a guest in HLT is what VMX says, not only
// RFLAGS.IF. With "external-interrupt exiting" an interrupt exits whatever RFLAGS.IF is (SDM
// Vol. 3C §26.2), so such a guest is not dead, and the VMX-preemption timer counts down in HLT
// (§26.5.1): the idle skip stops at its deadline and the exit happens at that virtual time.
import { describe, expect, it } from 'vitest';
import type { InterruptSource } from '../../src/core/cpu/cpu';
import { Timer } from '../../src/core/platform/clock';
import { PcMachine } from '../../src/core/platform/machine';
import { ControlField, PinBasedCtls } from '../../src/core/vmx/controls';
import { cpuModelForName } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const PIN = ControlField.PinBased;
/** Nanoseconds to instruction units at the machine's default 100 MIPS. */
const TICKS_PER_MS = 100_000;

/** An interrupt controller with at most one pending vector. */
class OneIrq implements InterruptSource {
  constructor(public vector: number | null) {}
  hasInterrupt(): boolean { return this.vector !== null; }
  acknowledge(): number { const v = this.vector ?? 0xff; this.vector = null; return v; }
}

/** A Skylake PcMachine without firmware (A20 on) and a Guest set up on its CPU 0; after the
 *  exit the host runs `hlt` with IF = 0 (guest-support.ts): the run ends 'halted'. */
function machineGuest(cpus: number): { m: PcMachine; g: Guest } {
  const m = new PcMachine({ memoryBytes: 16 << 20, cpuModel: cpuModelForName('skylake'), firmware: 'none', cpus });
  m.io.write(0x92, 1, 2); // fast A20: the VMXON region and VMCS are above 1 MB
  const g = new Guest('skylake', { mem: m.mem, io: m.io, cpu: m.cpu });
  return { m, g };
}

describe('a halted guest with RFLAGS.IF = 0 in the machine loop and the SMP schedule', () => {
  for (const cpus of [1, 2]) {
    it(`external-interrupt exiting: an interrupt after 10 ms of idle time still exits (${cpus} CPU${cpus > 1 ? 's' : ''})`, () => {
      const { m, g } = machineGuest(cpus);
      g.ctl(PIN, PinBasedCtls.ExternalInterruptExiting);
      g.code('cli\nhlt\nnop');
      const irq = new OneIrq(null);
      m.cpu.intr = irq;
      expect(g.enter(100)).toEqual({ kind: 'running', halted: true });
      // A device timer at 20 ms that raises nothing, then the interrupt at 50 ms.
      m.clock.arm(new Timer('idle device', () => {}), 20_000_000);
      m.clock.arm(new Timer('irq', () => { irq.vector = 0x30; m.cpu.notifyInterrupt(); }), 50_000_000);
      const before = g.unit.exitCount;
      expect(m.run(100 * TICKS_PER_MS)).toBe('halted'); // the host's own HLT with IF = 0 afterwards
      expect(g.unit.exitCount).toBe(before + 1);
      const x = g.unit.record;
      expectExit(x, ExitReason.ExternalInterrupt, GUEST_CODE + 2);
      expect(x.tsc).toBe(50 * TICKS_PER_MS); // at the interrupt's virtual time
      expect(x.interruptionInfo).toBe(0); // not acknowledged on exit
      expect(irq.vector).toBe(0x30);
      expect(g.rd(V.GuestActivityState)).toBe(1); // HLT
    });
  }

  it('such a guest is idle, not halted, when nothing is armed; without the control it is dead', () => {
    for (const exiting of [true, false]) {
      const { m, g } = machineGuest(1);
      if (exiting) g.ctl(PIN, PinBasedCtls.ExternalInterruptExiting);
      g.code('cli\nhlt');
      expect(g.enter(100)).toEqual({ kind: 'running', halted: true });
      expect(m.clock.nextDeadlineNs()).toBe(Infinity);
      expect(m.run(1000)).toBe(exiting ? 'idle' : 'halted');
      expect(m.cpu.nonRoot).toBe(true);
    }
  });

  for (const cpus of [1, 2]) {
    it(`the VMX-preemption timer expires in HLT at its virtual time, not at the next device timer (${cpus} CPU${cpus > 1 ? 's' : ''})`, () => {
      const { m, g } = machineGuest(cpus);
      g.ctl(PIN, PinBasedCtls.ActivatePreemptionTimer);
      const rate = g.unit.preemptionTimerRate; // 7 on Skylake: one count per 128 TSC ticks
      g.w(V.VmxPreemptionTimerValue, 30_000); // 30000 * 128 = 3.84 M ticks = 38.4 ms
      g.code('cli\nhlt\nnop');
      const t0 = m.cpu.tsc();
      expect(g.enter(100)).toEqual({ kind: 'running', halted: true });
      m.clock.arm(new Timer('late device', () => {}), 100_000_000); // 100 ms
      m.clock.arm(new Timer('early device', () => {}), 5_000_000); // 5 ms
      m.run(200 * TICKS_PER_MS);
      const x = g.unit.record;
      expectExit(x, ExitReason.PreemptionTimerExpired, GUEST_CODE + 2);
      const unit = 2 ** rate;
      expect(x.tsc).toBe((Math.floor(t0 / unit) + 30_000) * unit);
      expect(g.rd(V.GuestActivityState)).toBe(1);
    });
  }
});
