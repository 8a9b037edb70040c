// The hosted VMM's host is 32-bit ("host address-space size" = 0), so VM entry would refuse an
// IA-32e guest (SDM Vol. 3C §27.2.4) and the VMM shows its guests a CPU without Intel 64, as
// KVM built for i386 does (src/core/vmm/host-width.ts). The guest (guests/no-long-mode.asm)
// prints CPUID's LM/1 GB pages/SYSCALL bits and whether IA32_EFER.LME/SCE and the IA-32e MSRs
// raise #GP(0): bare it sees the generation's Intel 64, hosted it sees what a bare CPU without
// Intel 64 (--no-long-mode) shows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { asm } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const IMG = asm(readFileSync(join(__dirname, 'guests/no-long-mode.asm'), 'utf8'), join(__dirname, 'guests'));

describe('a guest of the 32-bit host sees no Intel 64', () => {
  it('bare: LM, 1 GB pages (Haswell) and SYSCALL; EFER.LME/SCE and LSTAR/KERNEL_GS_BASE exist', () => {
    const b = bareRun(IMG, 'haswell');
    expect(b.stop).toBe('halted');
    expect(b.serial).toBe('LPS......\n');
    expect(bareRun(IMG, 'westmere').serial).toBe('LpS......\n');
  });
  it('bare without Intel 64: none of them, #GP(0) for LME, SCE and the IA-32e MSRs', () => {
    expect(bareRun(IMG, 'haswell', 1, 100_000_000, { longMode: false }).serial).toBe('lpsG.GGG.\n');
  });
  for (const gen of ['haswell', 'merom']) {
    it(`hosted on ${gen}: what the bare CPU without Intel 64 shows, through CPUID and MSR exits`, () => {
      const pc = new HostedPc(IMG, gen);
      expect(pc.run(1)).toBe('halted');
      expect(pc.serial).toBe(bareRun(IMG, gen, 1, 100_000_000, { longMode: false }).serial);
      expect(pc.serial).toBe('lpsG.GGG.\n');
      expect(pc.count(ExitReason.Cpuid)).toBe(1);
      expect(pc.count(ExitReason.Wrmsr) + pc.count(ExitReason.Rdmsr)).toBe(6);
    });
  }
});
