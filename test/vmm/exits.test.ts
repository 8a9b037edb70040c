// Exact exit counts from guests written to produce them (issue 5): CPUID 1000 times gives 1000
// CPUID exits at that RIP; with HLT exiting off an HLT loop gives no HLT exit (the timer's
// interrupts still come in as external-interrupt exits and injections); with it on, one per HLT.
import { describe, expect, it } from 'vitest';
import { bootSector } from '../firmware/support';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField } from '../../src/core/vmx/fields';
import { HostedVm } from '../../src/core/vmm/index';
import { HostedPc } from './support';

/** Byte offset of the first `0F A2` (CPUID) in `code`. */
function cpuidOffset(code: Uint8Array): number {
  for (let i = 0; i + 1 < code.length; i++) if (code[i] === 0x0f && code[i + 1] === 0xa2) return i;
  throw new Error('no CPUID in the test guest');
}

// Port 0xE9 prints; the final CLI; HLT ends the run (no interrupt can wake it).
const CPUID_LOOP = bootSector(`
  mov si, 1000
.l: xor eax, eax
  cpuid
  dec si
  jnz .l
  mov eax, 1
  cpuid
  mov al, 'O'
  bt ecx, 31
  jc .hv
  mov al, 'X'
.hv: out 0xe9, al
  mov al, 'V'
  bt ecx, 5
  jnc .novmx
  mov al, 'X'
.novmx: out 0xe9, al
  cli
  hlt`);

const HLT_LOOP = bootSector(`
  sti
.l: hlt
  jmp .l`);

describe('hosted mode: exact exit counts', () => {
  for (const gen of ['westmere', 'haswell']) {
    it(`${gen}: 1000 CPUID instructions give 1000 CPUID exits at that RIP; the guest sees the hypervisor bit and no VMX`, () => {
      const pc = new HostedPc(CPUID_LOOP, gen);
      const stop = pc.run(1);
      expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
      expect(stop).toBe('halted');
      const rip = 0x7c00 + cpuidOffset(CPUID_LOOP);
      expect(pc.count(ExitReason.Cpuid, rip)).toBe(1000);
      expect(pc.count(ExitReason.Cpuid)).toBe(1001); // + the leaf-1 check after the loop
      expect(pc.serial).toBe('OV');
    }, 60_000);
  }

  it('HLT exiting off: an HLT loop woken by the PIT produces no HLT exit', () => {
    const pc = new HostedPc(HLT_LOOP, 'haswell', { hltExiting: false });
    expect(pc.run(0.5)).toBe('budget');
    expect(pc.vm.fault).toBeNull();
    expect(pc.count(ExitReason.Hlt)).toBe(0);
    // The BIOS's PIT runs at 18.2 Hz: about 9 interrupts in 0.5 s come in as exits and are injected.
    expect(pc.count(ExitReason.ExternalInterrupt)).toBeGreaterThanOrEqual(8);
  }, 60_000);

  it('HLT exiting on: the same loop exits once per HLT (one per timer wake-up)', () => {
    const pc = new HostedPc(HLT_LOOP, 'haswell', { hltExiting: true });
    expect(pc.run(0.5)).toBe('budget');
    expect(pc.vm.fault).toBeNull();
    const hlts = pc.count(ExitReason.Hlt);
    expect(hlts).toBeGreaterThanOrEqual(8);
    expect(hlts).toBeLessThanOrEqual(12);
  }, 60_000);

  it('a guest that triple-faults stops the VM with the exit reason and VMCS fields; the process goes on', () => {
    // IDT limit 0: the #UD cannot be delivered (#GP, then #DF, then shutdown).
    const pc = new HostedPc(bootSector(`
  lidt [cs:idt]
  ud2
idt: dw 0
  dd 0`), 'haswell');
    expect(pc.run(1)).toBe('guest-fault');
    const f = pc.vm.fault!;
    expect(f.exitReason).toBe(ExitReason.TripleFault);
    expect(f.summary).toMatch(/triple/);
    expect(f.fields.GuestRip).toBeDefined();
    expect(pc.run(1)).toBe('guest-fault'); // stays stopped
  }, 60_000);

  it('a VM-entry failure (invalid guest TR) stops the VM with exit reason 33 | bit 31 and the VMCS fields', () => {
    const pc = new HostedPc(HLT_LOOP, 'haswell');
    expect(pc.vm.root.vmwrite(VmcsField.GuestTrAccessRights, 0x10000).kind).toBe('succeed'); // TR unusable: §27.3.1.2
    expect(pc.run(1)).toBe('guest-fault');
    const f = pc.vm.fault!;
    expect(f.exitReason >>> 0).toBe((0x80000000 | ExitReason.EntryFailureGuestState) >>> 0);
    const text = HostedVm.describe(f);
    expect(text).toMatch(/VM-entry failure/);
    expect(text).toMatch(/GuestRip = 0xfff0/);
  }, 60_000);

  it('a generation without unrestricted guest runs with shadow paging (issue 6); one without VMX is refused by name', () => {
    for (const gen of ['nehalem', 'penryn', 'merom']) {
      const pc = new HostedPc(HLT_LOOP, gen);
      expect(pc.vm.shadow, gen).not.toBeNull();
      expect(pc.vm.exits.ept).toBe(false);
    }
    expect(new HostedPc(HLT_LOOP, 'haswell').vm.shadow).toBeNull();
    expect(() => new HostedPc(HLT_LOOP, 'prescott')).toThrow(/needs VMX; generation 'prescott' has none/);
  });
});
