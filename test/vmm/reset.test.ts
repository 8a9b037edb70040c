// A guest-requested reset in hosted mode (issue 5): the 8042's reset pulse drives INIT#, which
// VMX turns into a VM exit on a CPU in non-root operation (and holds in root operation until the
// next entry, SDM Vol. 3C §24.8, §26.2); the VMM restarts the boot vCPU at the firmware's reset
// vector and puts APs back in wait-for-SIPI. The guest counts its resets in CMOS (which keeps
// its contents across a reset), prints a letter per boot and resets twice.
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { bootSector } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const GUEST = bootSector(`
  cli
  mov al, 0x34
  out 0x70, al
  in al, 0x71
  mov bl, al
  add al, 'a'
  out 0xe9, al
  cmp bl, 2
  jae .done
  inc bl
  mov al, 0x34
  out 0x70, al
  mov al, bl
  out 0x71, al
  mov al, 0xfe
  out 0x64, al
.spin: jmp .spin
.done:
  mov al, 10
  out 0xe9, al
  hlt
`);

function bare(cpus: number): { out: string; icount: number } {
  const r = bareRun(GUEST, 'haswell', cpus, 50_000_000);
  expect(r.stop).toBe('halted');
  return { out: r.serial, icount: r.icounts[0] };
}

describe('hosted mode: a guest-requested reset', () => {
  for (const cpus of [1, 2]) {
    it(`restarts the guest through INIT exits, as the bare machine restarts (${cpus} vCPU${cpus > 1 ? 's' : ''})`, () => {
      const b = bare(cpus);
      expect(b.out).toBe('abc\n');
      const pc = new HostedPc(GUEST, 'haswell', {}, cpus);
      expect(pc.run(0.5)).toBe('halted');
      expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
      expect(pc.serial).toBe(b.out);
      expect(pc.m.cpu.icount).toBe(b.icount);
      // Each reset: the OUT to port 64h exits, the INIT# it causes is held in VMX root
      // operation and exits right after the next VM entry (at the guest's next instruction).
      expect(pc.countOn(0, ExitReason.InitSignal)).toBe(2);
    });
  }
});
