// Several vCPUs (issue 5): one VMXON region and VMCS per logical CPU, the APs launched in
// wait-for-SIPI, the guest's INIT-SIPI-SIPI reaching them as VM exits (reasons 3 and 4, SDM
// Vol. 3C §26.2), the VMM's round-robin schedule with the VMX-preemption timer as its tick.
// The guest (guests/smp-cpuid.asm) prints the same lines as on the bare machine, every CPU
// retires exactly the instructions it retires there, and the exits per vCPU follow from the
// guest: CPUID LOOPS + 1 times each, and for each AP the INIT/SIPI sequence below.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMP_QUANTUM } from '../../src/core/platform/smp';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { generation } from '../../src/core/vmx/generations';
import { kvmDefaults, parseExits } from '../../src/core/vmm/index';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { asm } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const SRC = readFileSync(join(__dirname, 'guests/smp-cpuid.asm'), 'utf8');
const LOOPS = 100;

function image(cpus: number, defines = ''): Uint8Array {
  return asm(`%define NAP ${cpus - 1}\n${defines}\n${SRC}`);
}

function transcript(cpus: number): string {
  return `${Array.from({ length: cpus }, (_, i) => `cpu ${i}: apic ${i}\n`).join('')}SMP DONE\n`;
}


describe('hosted mode with several vCPUs', () => {
  for (const gen of ['westmere', 'haswell']) {
    it(`starts 3 APs with INIT-SIPI-SIPI through VM exits; transcript and retired instructions as bare (${gen})`, () => {
      const img = image(4);
      const b = bare(img, 4, gen);
      expect(b.serial).toBe(transcript(4));
      const pc = new HostedPc(img, gen, {}, 4);
      expect(pc.vm.vcpus.map((v) => v.index)).toEqual([0, 1, 2, 3]);
      expect(pc.run(1)).toBe('halted');
      expect(pc.serial).toBe(b.serial);
      expect(pc.m.cpus.map((c) => c.icount)).toEqual(b.icounts);
      for (let i = 0; i < 4; i++) expect(pc.countOn(i, ExitReason.Cpuid)).toBe(LOOPS + 1);
      // vCPU 0 sends; it receives neither INIT nor SIPI.
      expect(pc.countOn(0, ExitReason.InitSignal) + pc.countOn(0, ExitReason.StartupIpi)).toBe(0);
      for (let i = 1; i < 4; i++) {
        // INIT arrives in wait-for-SIPI, where it is blocked (held pending); the first SIPI exits
        // (qualification = vector) and the VMM starts the AP at 0800:0000, where the held INIT
        // exits at once; the VMM puts the AP back in wait-for-SIPI and the second SIPI starts it.
        expect(pc.countOn(i, ExitReason.StartupIpi, 0xfffffff0)).toBe(2);
        expect(pc.countOn(i, ExitReason.InitSignal, 0x8000)).toBe(1);
        // The AP ends in CLI; HLT: the VMM holds it idle (one HLT exit).
        expect(pc.countOn(i, ExitReason.Hlt)).toBe(1);
      }
      // MMIO to the local APIC: the BSP's three ICR writes and one ID read, one ID read per AP,
      // each an EPT violation and the monitor-trap-flag exit that ends its single step.
      expect(pc.countOn(0, ExitReason.EptViolation)).toBe(4);
      expect(pc.countOn(0, ExitReason.MonitorTrapFlag)).toBe(4);
      for (let i = 1; i < 4; i++) expect(pc.countOn(i, ExitReason.EptViolation)).toBe(1);
      // The BSP's wait loop PAUSEs, which hands the turn over: no turn ran out its tick.
      for (let i = 0; i < 4; i++) expect(pc.countOn(i, ExitReason.PreemptionTimerExpired)).toBe(0);
    });
  }

  it('ends a turn that never yields with the VMX-preemption timer (the schedule\'s tick)', () => {
    const img = image(4, '%define NOPAUSE\n%define SPIN 30000');
    const pc = new HostedPc(img, 'haswell', {}, 4);
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(transcript(4));
    // Every CPU loops for longer than a turn (at most SMP_QUANTUM instructions) and the BSP then
    // spins without PAUSE: only the timer ends those turns.
    for (let i = 0; i < 4; i++) expect(pc.countOn(i, ExitReason.PreemptionTimerExpired), `vCPU ${i}`).toBeGreaterThanOrEqual(30_000 / SMP_QUANTUM); // LOOP is one instruction
    // The APs retire what they retire bare; the BSP's spin lasts as long as its schedule makes
    // it wait, which differs between the bare machine's scheduler and the VMM's.
    const b = bare(img, 4, 'haswell');
    expect(pc.m.cpus.slice(1).map((c) => c.icount)).toEqual(b.icounts.slice(1));
    for (let i = 1; i < 4; i++) expect(pc.countOn(i, ExitReason.Cpuid)).toBe(LOOPS + 1);
  });

  it('is deterministic: the same exits at the same guest addresses on every run', () => {
    const img = image(3);
    const a = new HostedPc(img, 'haswell', {}, 3), b = new HostedPc(img, 'haswell', {}, 3);
    a.run(1); b.run(1);
    expect([...a.vcpuExits].sort()).toEqual([...b.vcpuExits].sort());
    expect(a.m.clock.ticks()).toBe(b.m.clock.ticks());
  });

  it('brings up 8 vCPUs, the most the xAPIC flat model addresses', () => {
    const img = image(8);
    const pc = new HostedPc(img, 'skylake', {}, 8);
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(transcript(8));
    for (let i = 1; i < 8; i++) expect(pc.countOn(i, ExitReason.StartupIpi)).toBe(2);
  });

  it('keeps the transcript with HLT exiting off and with a fixed preemption-timer tick', () => {
    const img = image(4);
    const base = capabilitiesFor(generation('haswell'), cpuModelFor(generation('haswell')));
    for (const spec of ['hlt=off', 'preemption-timer=500']) {
      const pc = new HostedPc(img, 'haswell', { exits: parseExits(spec, kvmDefaults(base)) }, 4);
      // Without HLT exiting the final CLI; HLT halts in the guest, where an external interrupt
      // would still exit (external-interrupt exiting): the VM never counts as dead, and runs out
      // its time ('budget') instead of stopping 'halted'.
      expect(pc.run(0.2), spec).toBe(spec === 'hlt=off' ? 'budget' : 'halted');
      expect(pc.serial, spec).toBe(transcript(4));
      if (spec === 'hlt=off') for (let i = 0; i < 4; i++) expect(pc.countOn(i, ExitReason.Hlt)).toBe(0);
    }
  }, 60_000);
});

/** The same image on the bare machine, which must end halted: its transcript and each CPU's
 *  retired instructions. */
function bare(img: Uint8Array, cpus: number, gen: string): { serial: string; icounts: number[] } {
  const r = bareRun(img, gen, cpus);
  expect(r.stop).toBe('halted');
  return r;
}
