// MMIO under EPT: VGA memory is not in the VMM's identity map, so a guest store to it exits
// with an EPT violation; the VMM maps the page for that one instruction with the monitor trap
// flag set and unmaps it at the MTF exit, so the device model (the VGA) sees the store and the
// profile sees two exits per access.
import { describe, expect, it } from 'vitest';
import { bootSector } from '../firmware/support';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { asGuestPhysical } from '../../src/core/platform/address';
import { HostedPc } from './support';

const VGA_STORES = bootSector(`
  mov ax, 0xb800
  mov es, ax
  mov word [es:0], 0x0748        ; 'H'
  mov word [es:2], 0x0749        ; 'I'
  mov al, [es:0]
  out 0xe9, al
  cli
  hlt`);

describe('hosted mode: MMIO through EPT violations and the monitor trap flag', () => {
  it('two VGA stores and one load: 3 EPT violations, 3 MTF exits, the screen and the guest see the bytes', () => {
    const pc = new HostedPc(VGA_STORES, 'haswell');
    expect(pc.run(1)).toBe('halted');
    expect(pc.vm.fault).toBeNull();
    expect(pc.count(ExitReason.EptViolation)).toBe(3);
    expect(pc.count(ExitReason.MonitorTrapFlag)).toBe(3);
    expect(pc.m.vga.textScreen()[0].startsWith('HI')).toBe(true);
    expect(pc.serial).toBe('H');
    // After the MTF exit the page is unmapped again.
    expect(pc.vm.ept.perms(asGuestPhysical(0xb8000))).toBe(0);
  }, 60_000);
});

describe('hosted mode: ROM is mapped read/execute only', () => {
  it('a store to the BIOS ROM exits once, reaches the memory (which ignores it) and the guest reads the ROM byte back', () => {
    const pc = new HostedPc(bootSector(`
  mov ax, 0xf000
  mov es, ax
  mov al, [es:0x10]
  out 0xe9, al
  not al
  mov [es:0x10], al
  mov al, [es:0x10]
  out 0xe9, al
  cli
  hlt`), 'haswell');
    expect(pc.run(1)).toBe('halted');
    expect(pc.vm.fault).toBeNull();
    expect(pc.serial.length).toBe(2);
    expect(pc.serial[1]).toBe(pc.serial[0]);
    expect(pc.count(ExitReason.EptViolation)).toBe(1);
    expect(pc.count(ExitReason.MonitorTrapFlag)).toBe(1);
  }, 60_000);
});
