// "NMI exiting" and blocking by NMI (SDM Vol. 3C §27.7.1 "Interruptibility State", §26.6.1 before
// 2023): with "virtual NMIs" = 0, bit 3 of the guest interruptibility state blocks NMIs after VM
// entry, and with "NMI exiting" = 1 that blocking lasts as long as the guest runs, so a pending
// NMI does not exit; with "virtual NMIs" = 1 the bit is virtual-NMI blocking and NMIs are not
// blocked: the NMI exits at once.
import { describe, expect, it } from 'vitest';
import { ControlField, PinBasedCtls } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const PIN = ControlField.PinBased;

describe('NMI exiting under blocking by NMI', () => {
  it('"virtual NMIs" = 0: blocked, no exit; the NMI stays pending and the blocking is saved', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting);
    g.w(V.GuestInterruptibilityState, 8);
    g.code('nop\nnop\ncpuid');
    g.c.nmiPending = true;
    expectExit(g.exit(), ExitReason.Cpuid, GUEST_CODE + 2);
    expect(g.c.nmiPending).toBe(true);
    expect(g.rd(V.GuestInterruptibilityState) & 8).toBe(8);
    // Without blocking the same NMI exits before the first instruction.
    g.w(V.GuestInterruptibilityState, 0);
    g.w(V.GuestRip, GUEST_CODE);
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(0x80000202);
  });

  it('"virtual NMIs" = 1: bit 3 is virtual-NMI blocking, the NMI is not blocked and exits', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting | PinBasedCtls.VirtualNmis);
    g.w(V.GuestInterruptibilityState, 8);
    g.code('nop\ncpuid');
    g.c.nmiPending = true;
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(0x80000202);
    expect(g.rd(V.GuestInterruptibilityState) & 8, 'virtual-NMI blocking kept').toBe(8);
  });

  it('a halted guest with a blocked NMI pending is not woken by it', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting);
    g.w(V.GuestInterruptibilityState, 8);
    g.code('hlt');
    g.c.nmiPending = true;
    expect(g.enter()).toEqual({ kind: 'running', halted: true });
    expect(g.unit.eventReady()).toBe(false);
    expect(g.unit.canWake()).toBe(false);
  });
});
