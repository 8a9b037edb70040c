// Pending debug exceptions (guest field 0x6822) under blocking by MOV SS: MOV SS/POP SS hold the
// single-step trap over the next instruction (SDM Vol. 3A §6.8.3); a VM exit other than by #DB
// in that shadow saves it (BS) with the MOV SS blocking (Vol. 3C §28.3.4), and VM entry with
// MOV SS blocking holds what the field says over the first guest instruction (§27.7.3).
import { describe, expect, it } from 'vitest';
import { ControlField, ProcBasedCtls } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE, GUEST_STACK, GUEST_STUBS, SEL_DATA, STUB_SIZE } from './guest-support';

const BS = 0x4000, MOV_SS = 2, TF = 0x100;
/** Sets TF (its single steps start after the instruction after POPFD), then MOV SS. */
const SET_TF_MOV_SS = `mov ax, ${SEL_DATA}\npushfd\nor dword [esp], ${TF}\npopfd\nmov ss, ax`;
/** Bytes of SET_TF_MOV_SS: the instruction after MOV SS starts here. */
const AFTER_MOV_SS = GUEST_CODE + 4 + 1 + 7 + 1 + 2;

/** The guest's #DB handler ran: a VMCALL exit from its stub. */
function debugHandlerRan(g: Guest): void {
  const x = g.exit();
  expectExit(x, ExitReason.Vmcall, GUEST_STUBS + 1 * STUB_SIZE + 5);
  expect(x.guestEax).toBe(1);
}

describe('pending debug exceptions under blocking by MOV SS', () => {
  it('a CPUID exit in the shadow of MOV SS with TF = 1 saves BS; VMRESUME holds it over one instruction', () => {
    const g = new Guest();
    g.code(`${SET_TF_MOV_SS}\ncpuid\nnop\nnop`);
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid, AFTER_MOV_SS);
    expect(g.rd(V.GuestInterruptibilityState)).toBe(MOV_SS);
    expect(g.rd(V.GuestPendingDebugExceptions)).toBe(BS);
    expect(g.rd(V.GuestRflags) & TF).toBe(TF);
    // A VMM emulates CPUID and keeps the rest: the entry checks accept BS with TF under MOV SS
    // blocking, the first NOP runs in the shadow, then the single step is delivered.
    g.skip();
    g.c.dr[6] = 0xffff0ff0 | 0;
    debugHandlerRan(g);
    expect(g.dword(GUEST_STACK - 12)).toBe(AFTER_MOV_SS + 2 + 1); // EIP after the first NOP
    expect(g.c.dr[6] & BS).toBe(BS);
  });

  it('an MTF exit right after MOV SS with TF = 1 saves BS and the blocking (the trap was not delivered)', () => {
    const g = new Guest('haswell');
    g.ctl(ControlField.ProcBased, ProcBasedCtls.MonitorTrapFlag);
    g.code(`${SET_TF_MOV_SS}\nnop`);
    for (const at of [GUEST_CODE + 4, GUEST_CODE + 5, GUEST_CODE + 12, GUEST_CODE + 13]) {
      expectExit(g.exit(), ExitReason.MonitorTrapFlag, at);
      expect(g.rd(V.GuestPendingDebugExceptions)).toBe(0);
    }
    expectExit(g.exit(), ExitReason.MonitorTrapFlag, AFTER_MOV_SS);
    expect(g.rd(V.GuestInterruptibilityState)).toBe(MOV_SS);
    expect(g.rd(V.GuestPendingDebugExceptions)).toBe(BS);
  });

  it('VM entry with MOV SS blocking holds a pending B0 over the first instruction; without, #DB comes first', () => {
    for (const blocking of [MOV_SS, 0]) {
      const g = new Guest();
      g.code('nop\nnop\nnop');
      g.w(V.GuestInterruptibilityState, blocking);
      g.w(V.GuestPendingDebugExceptions, 1); // B0, TF = 0
      g.c.dr[6] = 0xffff0ff0 | 0;
      debugHandlerRan(g);
      expect(g.dword(GUEST_STACK - 12)).toBe(blocking !== 0 ? GUEST_CODE + 1 : GUEST_CODE);
      expect(g.c.dr[6] & 0x400f).toBe(1); // B0, not BS
    }
  });
});
