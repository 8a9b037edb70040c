// Several vCPUs without EPT (issue 6): one ShadowMmu shared by the vCPUs (a context each), the
// APs' real-mode start run by the VMM, turns ended by the VMX-preemption timer where the
// generation has it (nehalem, haswell with ept=off) and by the VMM's budget where it does not
// (merom: IA32_VMX_PINBASED_CTLS allows no preemption timer). An IPI the VMM's emulation of an
// instruction sends (the ICR write, emulated under shadow paging) hands the turn over, as the
// CPU's own run does: else the BSP's second SIPI reaches an AP still in VMX root operation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { generation } from '../../src/core/vmx/generations';
import { kvmDefaults, parseExits } from '../../src/core/vmm/index';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { asm } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const SRC = readFileSync(join(__dirname, 'guests/smp-cpuid.asm'), 'utf8');
const LOOPS = 100;

function transcript(cpus: number): string {
  return `${Array.from({ length: cpus }, (_, i) => `cpu ${i}: apic ${i}\n`).join('')}SMP DONE\n`;
}

describe('hosted mode with several vCPUs and shadow paging', () => {
  for (const [gen, spec] of [['merom', ''], ['nehalem', ''], ['haswell', 'ept=off']] as const) {
    it(`starts 3 APs through INIT-SIPI-SIPI exits; transcript and retired instructions as bare (${gen}${spec !== '' ? ` ${spec}` : ''})`, () => {
      const img = asm(`%define NAP 3\n${SRC}`);
      const b = bareRun(img, gen, 4);
      expect(b.stop).toBe('halted');
      expect(b.serial).toBe(transcript(4));
      const base = kvmDefaults(capabilitiesFor(generation(gen), cpuModelFor(generation(gen))));
      const pc = new HostedPc(img, gen, { exits: spec === '' ? base : parseExits(spec, base) }, 4);
      expect(pc.vm.shadowStats).not.toBeNull();
      expect(pc.run(1)).toBe('halted');
      expect(pc.serial).toBe(b.serial);
      // Each AP retires what it retires bare. The BSP's count includes its spin-wait for the
      // APs, whose length follows the interleaving: its real-mode boot sector runs as a V86 task
      // whose exiting port I/O reaches the devices an instruction later than bare (v86.ts), which
      // moves the schedule by a few instructions (3 here).
      expect(pc.m.cpus.slice(1).map((c) => c.icount)).toEqual(b.icounts.slice(1));
      expect(Math.abs(pc.m.cpus[0].icount - b.icounts[0])).toBeLessThan(10);
      for (let i = 0; i < 4; i++) expect(pc.countOn(i, ExitReason.Cpuid)).toBe(LOOPS + 1);
      for (let i = 1; i < 4; i++) {
        // The INIT held in wait-for-SIPI would exit at the entry after the first SIPI; here the
        // VMM runs the AP's real-mode start itself and takes that INIT without an entry.
        expect(pc.countOn(i, ExitReason.StartupIpi)).toBe(2);
        expect(pc.countOn(i, ExitReason.InitSignal)).toBe(0);
      }
    }, 60_000);
  }
});
