// VM exits caused by events (SDM Vol. 3C §26.2, §26.5, §27.7): exceptions and the exception
// bitmap (#PF error-code mask/match), exits during event delivery with IDT-vectoring information
// (§28.2.4), double and triple faults, task gates, the interrupt and NMI windows, external
// interrupts and NMIs, the preemption timer, the monitor trap flag, INIT and SIPI.
import { describe, expect, it } from 'vitest';
import type { InterruptSource } from '../../src/core/cpu/cpu';
import { Flag } from '../../src/core/cpu/regs';
import { ControlField, ExitCtls, PinBasedCtls, ProcBasedCtls } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE, GUEST_IDT, GUEST_STACK, GUEST_STUBS, SEL_TSS2, STUB_SIZE } from './guest-support';

const PIN = ControlField.PinBased, P = ControlField.ProcBased, X = ControlField.Exit;

/** The guest IDT's handler for `vector` ran: a VMCALL exit at its stub with EAX = vector. */
function delivered(g: Guest, vector: number): void {
  const x = g.exit();
  expectExit(x, ExitReason.Vmcall, GUEST_STUBS + vector * STUB_SIZE + 5);
  expect(x.guestEax).toBe(vector);
}

/** An interrupt controller with one pending vector. */
class OneIrq implements InterruptSource {
  acked = 0;
  constructor(public vector: number | null) {}
  hasInterrupt(): boolean { return this.vector !== null; }
  acknowledge(): number { const v = this.vector ?? 0xff; this.vector = null; this.acked++; return v; }
}

describe('exceptions and the exception bitmap (exit reason 0)', () => {
  it('a fault exits with RIP on the instruction; INT3 and INT1 are software exceptions with a length', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, (1 << 6) | (1 << 3) | (1 << 1));
    g.code('nop\nud2\nint3\nint1\ncpuid');
    let x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 1);
    expect(x.interruptionInfo >>> 0).toBe(0x80000306);
    g.w(V.GuestRip, GUEST_CODE + 3);
    x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 3);
    expect(x.interruptionInfo >>> 0).toBe(0x80000603);
    expect(x.instructionLength).toBe(1);
    g.skip();
    x = g.exit();
    expect(x.interruptionInfo >>> 0).toBe(0x80000501); // INT1: privileged software exception
    expect(x.qualification).toBe(0);
    expect(x.instructionLength).toBe(1);
    expect(g.rd(V.VmEntryInterruptionInfo) >>> 0).toBe(0); // exits clear the entry valid bit
  });

  it('INT n never exits, whatever the bitmap; exceptions not in the bitmap go to the guest IDT', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 0xffffffff & ~(1 << 13));
    g.code('int 13');
    delivered(g, 13);
    expect(g.dword(GUEST_STACK - 12)).toBe(GUEST_CODE + 2); // EIP after INT 13
  });

  it('#PF: the exit qualification is the linear address and CR2 keeps the guest\'s value', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << 14);
    g.m.mem.write32(0x2000 + 12 * 4, 0); // unmap 48-52 MB (page directory entry 12)
    g.code('mov eax, 0x1234\nmov cr2, eax\nmov eax, [0x3000010]');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 8);
    expect(x.interruptionInfo >>> 0).toBe(0x80000b0e);
    expect(x.interruptionErrorCode).toBe(0);
    expect(x.qualification).toBe(0x3000010);
    expect(g.c.cr2).toBe(0x1234);
  });

  it('the #PF error-code mask and match: bit 14 set exits on a match, clear on a mismatch', () => {
    for (const [bit14, exits] of [[1, [false, true]], [0, [true, false]]] as [number, boolean[]][]) {
      const g = new Guest();
      g.w(V.ExceptionBitmap, bit14 << 14);
      g.w(V.PageFaultErrorCodeMask, 1); g.w(V.PageFaultErrorCodeMatch, 1); // P = 1
      g.m.mem.write32(0x2000 + 12 * 4, 0); // not present: error code 0
      g.m.mem.write32(0x2000 + 13 * 4, (13 << 22) | 0x81); // read-only 4 MB page: a write is error code 3
      g.w(V.GuestCr0, g.rd(V.GuestCr0) | (1 << 16)); // WP
      g.code('mov eax, [0x3000000]\nmov dword [0x3400000], 1');
      for (const [i, exit] of exits.entries()) {
        const x = g.exit();
        if (exit) { expectExit(x, ExitReason.ExceptionOrNmi); expect(x.interruptionErrorCode, `${bit14}/${i}`).toBe(i === 0 ? 0 : 3); }
        else expectExit(x, ExitReason.Vmcall, GUEST_STUBS + 14 * STUB_SIZE + 5);
        g.w(V.GuestRip, GUEST_CODE + (i === 0 ? 5 : 15));
        g.w(V.GuestRsp, GUEST_STACK);
      }
    }
  });

  it('a #DB single-step trap exits with BS in the qualification, RIP on the next instruction', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << 1);
    g.w(V.GuestRflags, 2 | Flag.TF);
    g.code('nop\nnop');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 1);
    expect(x.interruptionInfo >>> 0).toBe(0x80000301);
    expect(x.qualification).toBe(0x4000);
  });
});

describe('exits during event delivery: IDT-vectoring information (§28.2.4)', () => {
  it('INT n through a not-present gate: #NP exits with the INT as IDT-vectoring event and its length', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << 11);
    g.m.mem.write8(GUEST_IDT + 0x30 * 8 + 5, 0x0e); // gate 30H not present
    g.code('nop\nint 0x30');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 1);
    expect(x.interruptionInfo >>> 0).toBe(0x80000b0b);
    expect(x.interruptionErrorCode).toBe(0x30 * 8 + 2);
    expect(x.idtVectoringInfo >>> 0).toBe(0x80000430);
    expect(x.instructionLength).toBe(2);
  });

  it('an injected external interrupt through a not-present gate: #NP(EXT) with the interrupt recorded', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << 11);
    g.w(V.GuestRflags, 0x202);
    g.m.mem.write8(GUEST_IDT + 0x31 * 8 + 5, 0x0e);
    g.w(V.VmEntryInterruptionInfo, 0x80000031);
    g.code('nop');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionErrorCode).toBe(0x31 * 8 + 2 + 1);
    expect(x.idtVectoringInfo >>> 0).toBe(0x80000031);
  });

  it('a #PF while pushing the frame; a #DF from two contributory exceptions is not during delivery', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << 14);
    g.m.mem.write32(0x2000 + 12 * 4, 0);
    g.w(V.GuestRsp, 0x3000100);
    g.w(V.VmEntryInterruptionInfo, 0x80000b0d); g.w(V.VmEntryExceptionErrorCode, 0x1234);
    g.code('nop');
    let x = g.exit();
    expect(x.interruptionInfo >>> 0).toBe(0x80000b0e);
    expect(x.qualification).toBe(0x30000fc);
    expect(x.idtVectoringInfo >>> 0).toBe(0x80000b0d);
    expect(x.idtVectoringErrorCode).toBe(0x1234);
    const d = new Guest();
    d.w(V.ExceptionBitmap, 1 << 8);
    d.m.mem.write8(GUEST_IDT + 13 * 8 + 5, 0x0e);
    d.w(V.VmEntryInterruptionInfo, 0x80000b0d); d.w(V.VmEntryExceptionErrorCode, 0);
    d.code('nop');
    x = d.exit();
    expect(x.interruptionInfo >>> 0).toBe(0x80000b08);
    expect(x.interruptionErrorCode).toBe(0);
    expect(x.idtVectoringInfo & 0x80000000).toBe(0);
  });

  it('a triple fault is exit 2, not a shutdown', () => {
    const g = new Guest();
    g.w(V.GuestIdtrLimit, 0);
    g.code('nop\nud2');
    const x = g.exit();
    expectExit(x, ExitReason.TripleFault, GUEST_CODE + 1);
    expect(g.c.shutdown).toBe(false);
    expect(g.c.nonRoot).toBe(false);
  });

  it('an interrupt through a task gate: task-switch exit with source 3 during delivery', () => {
    const g = new Guest();
    g.m.mem.write32(GUEST_IDT + 0x40 * 8, SEL_TSS2 << 16);
    g.m.mem.write32(GUEST_IDT + 0x40 * 8 + 4, 0x8500); // present task gate
    g.code('int 0x40');
    const x = g.exit();
    expectExit(x, ExitReason.TaskSwitch, GUEST_CODE);
    expect(x.qualification >>> 0).toBe((0xc0000000 | SEL_TSS2) >>> 0);
    expect(x.idtVectoringInfo >>> 0).toBe(0x80000440);
    expect(x.instructionLength).toBe(2);
  });
});

describe('windows, external interrupts and NMIs', () => {
  it('interrupt window: at entry with IF = 1, and after STI only once its shadow is over', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.InterruptWindowExiting);
    g.w(V.GuestRflags, 0x202);
    g.code('nop');
    expectExit(g.exit(), ExitReason.InterruptWindow, GUEST_CODE);
    const s = new Guest();
    s.ctl(P, ProcBasedCtls.InterruptWindowExiting);
    s.code('nop\nsti\nnop\nnop');
    expectExit(s.exit(), ExitReason.InterruptWindow, GUEST_CODE + 3);
    expect(s.rd(V.GuestInterruptibilityState)).toBe(0);
  });

  it('NMI window with virtual NMIs: at entry without blocking, after IRET ends virtual-NMI blocking', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting | PinBasedCtls.VirtualNmis);
    g.ctl(P, ProcBasedCtls.NmiWindowExiting);
    g.w(V.GuestInterruptibilityState, 8);
    g.code('pushfd\npush cs\npush after\niretd\nafter: nop');
    const x = g.exit();
    expectExit(x, ExitReason.NmiWindow, GUEST_CODE + 8); // at `after`, once IRET completed
    const h = new Guest();
    h.ctl(PIN, PinBasedCtls.NmiExiting | PinBasedCtls.VirtualNmis);
    h.ctl(P, ProcBasedCtls.NmiWindowExiting);
    h.code('nop');
    expectExit(h.exit(), ExitReason.NmiWindow, GUEST_CODE);
  });

  it('external-interrupt exiting: exit 1 whatever IF says; acknowledge on exit records the vector', () => {
    const g = new Guest();
    const irq = new OneIrq(0x41);
    g.c.intr = irq;
    g.ctl(PIN, PinBasedCtls.ExternalInterruptExiting);
    g.code('nop');
    let x = g.exit();
    expectExit(x, ExitReason.ExternalInterrupt, GUEST_CODE);
    expect(x.interruptionInfo).toBe(0);
    expect(irq.acked).toBe(0);
    g.ctl(X, ExitCtls.AcknowledgeInterruptOnExit);
    x = g.exit();
    expect(x.interruptionInfo >>> 0).toBe(0x80000041);
    expect(irq.acked).toBe(1);
    expect(g.c.getFlags() & Flag.IF).toBe(0); // RFLAGS = 2 in the host
  });

  it('without exiting, the guest takes its interrupts when IF = 1 (a halted guest wakes)', () => {
    const g = new Guest();
    g.c.intr = new OneIrq(0x42);
    g.w(V.GuestRflags, 0x202);
    g.w(V.GuestActivityState, 1);
    g.code('nop');
    delivered(g, 0x42);
    expect(g.dword(GUEST_STACK - 12)).toBe(GUEST_CODE);
  });

  it('NMI exiting: exit 0 with NMI interruption information, NMIs blocked in the host; else the guest\'s NMI', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting);
    g.code('nop\nnop');
    g.c.nmiPending = true;
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(0x80000202);
    expect(g.c.nmiBlocked).toBe(true);
    const h = new Guest();
    h.code('nop');
    h.c.nmiPending = true;
    delivered(h, 2);
    expect(h.rd(V.GuestInterruptibilityState)).toBe(8); // blocking by NMI until IRET
  });
});

describe('preemption timer (52), monitor trap flag (37)', () => {
  it('value 0 exits before the first instruction; value N after N changes of TSC bit X (IA32_VMX_MISC[4:0])', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.ActivatePreemptionTimer);
    g.w(V.VmxPreemptionTimerValue, 0);
    g.code('spin: inc ecx\njmp spin');
    expectExit(g.exit(), ExitReason.PreemptionTimerExpired, GUEST_CODE);
    const rate = g.unit.preemptionTimerRate;
    expect(rate).toBe(7); // Skylake
    g.w(V.VmxPreemptionTimerValue, 3);
    const t0 = g.c.tsc();
    const x = g.exit();
    expectExit(x, ExitReason.PreemptionTimerExpired);
    expect(x.tsc).toBe((Math.floor(t0 / 128) + 3) * 128);
  });

  it('"save VMX-preemption timer value" stores what is left at an exit', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.ActivatePreemptionTimer);
    g.ctl(X, ExitCtls.SavePreemptionTimer);
    g.w(V.VmxPreemptionTimerValue, 100);
    g.code('cpuid');
    expectExit(g.exit(), ExitReason.Cpuid);
    expect(g.rd(V.VmxPreemptionTimerValue)).toBeGreaterThanOrEqual(99);
    expect(g.rd(V.VmxPreemptionTimerValue)).toBeLessThanOrEqual(100);
  });

  it('MTF: an exit after every instruction, also after HLT; and right after an injected event', () => {
    const g = new Guest('haswell');
    g.ctl(P, ProcBasedCtls.MonitorTrapFlag);
    g.code('nop\ninc eax\nmov ebx, 5\nhlt\nnop');
    for (const d of [1, 2, 7, 8]) expectExit(g.exit(), ExitReason.MonitorTrapFlag, GUEST_CODE + d);
    expect(g.rd(V.GuestActivityState)).toBe(1); // HLT
    const i = new Guest('haswell');
    i.ctl(P, ProcBasedCtls.MonitorTrapFlag);
    i.w(V.VmEntryInterruptionInfo, 0x80000b0d); i.w(V.VmEntryExceptionErrorCode, 0);
    i.code('nop');
    expectExit(i.exit(), ExitReason.MonitorTrapFlag, GUEST_STUBS + 13 * STUB_SIZE);
  });
});

describe('INIT (3) and SIPI (4)', () => {
  it('INIT in non-root operation is a VM exit; in root operation it is blocked', () => {
    const g = new Guest();
    g.code('spin: jmp spin');
    expect(g.enter(1000)).toEqual({ kind: 'running', halted: false });
    expect(g.c.init()).toBe(false);
    const res = g.r.runGuest(1000);
    expect(res.kind).toBe('exit');
    if (res.kind === 'exit') expectExit(res.exit, ExitReason.InitSignal, GUEST_CODE);
    expect(g.c.init()).toBe(false); // root: blocked
    expect(g.unit.initsBlocked).toBe(1);
    expect(g.c.eip).toBe(0x50000); // the CPU was not reset
  });

  it('wait-for-SIPI: INIT is blocked, a SIPI exits with its vector; other states discard SIPIs', () => {
    const g = new Guest();
    g.w(V.GuestActivityState, 3);
    g.code('nop');
    expect(g.enter()).toEqual({ kind: 'running', halted: true });
    expect(g.c.init()).toBe(false);
    expect(g.c.startup(0x9a)).toBe(true);
    const x = g.unit.record;
    expectExit(x, ExitReason.StartupIpi);
    expect(x.qualification).toBe(0x9a);
    expect(g.rd(V.GuestActivityState)).toBe(3);
    const a = new Guest();
    a.code('spin: jmp spin');
    a.enter(100);
    expect(a.c.startup(0x10)).toBe(false);
  });
});

describe('event injection (§27.6)', () => {
  const cases: [string, number, number, number, number, number | null][] = [
    // name, info, error code, length, handler vector, pushed EIP (null: no check)
    ['external interrupt', 0x80000030, 0, 0, 0x30, GUEST_CODE],
    ['NMI', 0x80000202, 0, 0, 2, GUEST_CODE],
    ['hardware exception with error code', 0x80000b0d, 0x1234, 0, 13, GUEST_CODE],
    ['software interrupt, length 2', 0x80000480, 0, 2, 0x80, GUEST_CODE + 2],
    ['privileged software exception, length 1', 0x80000501, 0, 1, 1, GUEST_CODE + 1],
    ['software exception #BP, length 1', 0x80000603, 0, 1, 3, GUEST_CODE + 1],
  ];
  for (const [name, info, err, len, vector, eip] of cases) {
    it(`${name}: delivered through the guest IDT as if it happened in the guest`, () => {
      const g = new Guest();
      g.w(V.GuestRflags, 0x202);
      g.w(V.VmEntryInterruptionInfo, info); g.w(V.VmEntryExceptionErrorCode, err); g.w(V.VmEntryInstructionLength, len);
      g.code('nop\nnop\nnop');
      delivered(g, vector);
      const hasErr = (info & 0x800) !== 0;
      if (hasErr) expect(g.dword(GUEST_STACK - 16)).toBe(err);
      if (eip !== null) expect(g.dword(GUEST_STACK - (hasErr ? 12 : 12))).toBe(hasErr ? GUEST_CODE : eip);
    });
  }

  it('an injected #PF does not write CR2; an injected exception ignores the exception bitmap', () => {
    const g = new Guest();
    g.c.cr2 = 0x5555;
    g.w(V.ExceptionBitmap, 1 << 14);
    g.w(V.VmEntryInterruptionInfo, 0x80000b0e); g.w(V.VmEntryExceptionErrorCode, 2);
    g.code('nop');
    delivered(g, 14);
    expect(g.c.cr2).toBe(0x5555);
  });

  it('an injected NMI sets blocking by NMI (virtual-NMI blocking with "virtual NMIs")', () => {
    const g = new Guest();
    g.ctl(PIN, PinBasedCtls.NmiExiting | PinBasedCtls.VirtualNmis);
    g.w(V.VmEntryInterruptionInfo, 0x80000202);
    g.code('nop');
    delivered(g, 2);
    expect(g.rd(V.GuestInterruptibilityState)).toBe(8);
  });

  it('injection into HLT wakes the guest; a pending MTF (type 7) exits at once', () => {
    const g = new Guest();
    g.w(V.GuestRflags, 0x202); g.w(V.GuestActivityState, 1);
    g.w(V.VmEntryInterruptionInfo, 0x80000030);
    g.code('nop');
    delivered(g, 0x30);
    expect(g.rd(V.GuestActivityState)).toBe(0);
    const m = new Guest('haswell');
    m.w(V.VmEntryInterruptionInfo, 0x80000700);
    m.code('nop');
    expectExit(m.exit(), ExitReason.MonitorTrapFlag, GUEST_CODE);
  });
});
