// RDTSCP, RDRAND/RDSEED and INVPCID in VMX non-root operation (SDM Vol. 3C §26.1.3, §26.3):
// the controls that enable them ("enable RDTSCP", "enable INVPCID": #UD while 0), the exits
// (51 RDTSCP with "RDTSC exiting", 57/61 with "RDRAND/RDSEED exiting", 58 INVPCID with "INVLPG
// exiting") with their qualification, length and instruction information (§28.2), and what the
// instructions do in the guest without an exit.
import { describe, expect, it } from 'vitest';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { Vector } from '../../src/core/cpu/regs';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const P = ControlField.ProcBased, P2 = ControlField.ProcBased2;
const UD_EXIT = (0x80000300 | Vector.UD) >>> 0; // valid, hardware exception, vector 6

/** A guest whose #UD exits (exception bitmap bit 6). */
function guest(gen = 'skylake'): Guest {
  const g = new Guest(gen);
  g.w(V.ExceptionBitmap, 1 << Vector.UD);
  return g;
}

describe('RDTSCP (exit 51)', () => {
  it('#UD in the guest while "enable RDTSCP" is 0, even with RDTSC exiting', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.RdtscExiting);
    g.code('rdtscp');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });

  it('with "enable RDTSCP" and "RDTSC exiting": exit 51, length 3, qualification 0', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.RdtscExiting);
    g.ctl(P2, ProcBasedCtls2.EnableRdtscp);
    g.code('nop\nrdtscp');
    const x = g.exit();
    expectExit(x, ExitReason.Rdtscp, GUEST_CODE + 1);
    expect(x.instructionLength).toBe(3);
    expect(x.qualification).toBe(0);
  });

  it('enabled without RDTSC exiting: runs, TSC + offset in EDX:EAX, IA32_TSC_AUX in ECX', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.UseTscOffsetting);
    g.ctl(P2, ProcBasedCtls2.EnableRdtscp);
    g.w(V.TscOffset, 0); g.w(V.TscOffsetHigh, 0x100);
    g.c.msrs.set(0xc0000103, [0xabcd, 0]);
    g.code('rdtscp\ncpuid');
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid, GUEST_CODE + 3);
    expect(g.c.r32[1] >>> 0).toBe(0xabcd); // ECX: CPUID exits before it runs
    expect(g.c.r32[2] >>> 0, 'EDX carries the offset').toBeGreaterThanOrEqual(0x100);
  });

  it('the capability follows the generation: no "enable RDTSCP" before Nehalem', () => {
    expect(() => new Guest('penryn').ctl(P2, ProcBasedCtls2.EnableRdtscp)).toThrow(/not allowed/);
    expect(() => new Guest('nehalem').ctl(P2, ProcBasedCtls2.EnableRdtscp)).not.toThrow();
  });
});

describe('RDRAND (57) and RDSEED (61) exiting', () => {
  it('exit with instruction information: register in [6:3], operand size in [12:11]', () => {
    const g = guest();
    g.ctl(P2, ProcBasedCtls2.RdrandExiting | ProcBasedCtls2.RdseedExiting);
    g.code('rdrand ebx\nrdseed di\nrdrand eax');
    let x = g.exit();
    expectExit(x, ExitReason.Rdrand, GUEST_CODE);
    expect(x.instructionLength).toBe(3);
    expect(x.instructionInfo >>> 0).toBe((3 << 3) | (1 << 11));
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Rdseed, GUEST_CODE + 3);
    expect(x.instructionLength).toBe(4);
    expect(x.instructionInfo >>> 0, '16-bit DI').toBe(7 << 3);
    g.skip();
    expectExit(g.exit(), ExitReason.Rdrand, GUEST_CODE + 7);
  });

  it('without the controls they run in the guest (CF = 1); RDSEED exiting alone leaves RDRAND alone', () => {
    const g = guest();
    g.ctl(P2, ProcBasedCtls2.RdseedExiting);
    g.code('rdrand eax\nmov ecx, eax\nrdseed eax');
    const x = g.exit();
    expectExit(x, ExitReason.Rdseed, GUEST_CODE + 5);
    expect(g.rd(V.GuestRflags) & 1, 'CF from RDRAND').toBe(1);
  });

  it('#UD before the exit where CPUID lacks the instruction (RDSEED on Haswell)', () => {
    const g = guest('haswell');
    expect(() => g.ctl(P2, ProcBasedCtls2.RdseedExiting)).toThrow(/not allowed/);
    g.ctl(P2, ProcBasedCtls2.RdrandExiting);
    g.code('rdseed eax');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });
});

describe('INVPCID (58)', () => {
  const DESC = 0x60000;

  it('#UD in the guest while "enable INVPCID" is 0, even with INVLPG exiting', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.InvlpgExiting);
    g.code(`xor ecx, ecx\ninvpcid ecx, [${DESC}]`);
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });

  it('with "enable INVPCID" and "INVLPG exiting": qualification = displacement, Table 28-9 information', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.InvlpgExiting);
    g.ctl(P2, ProcBasedCtls2.EnableInvpcid);
    g.code(`mov ebx, ${DESC - 0x10}\nmov edx, 2\ninvpcid edx, [ebx + esi * 4 + 0x10]`);
    const x = g.exit();
    expectExit(x, ExitReason.Invpcid, GUEST_CODE + 10);
    expect(x.instructionLength).toBe(7); // 66 0F 38 82 /r SIB disp8
    expect(x.qualification).toBe(0x10);
    // scale 2 (x4), address size 32, segment DS (3), index ESI (6), base EBX (3), reg2 EDX (2).
    expect(x.instructionInfo >>> 0).toBe((2 | (1 << 7) | (3 << 15) | (6 << 18) | (3 << 23) | (2 << 28)) >>> 0);
  });

  it('enabled without INVLPG exiting it runs (and its #GP for a bad type reaches the guest)', () => {
    const g = guest();
    g.w(V.ExceptionBitmap, 1 << Vector.GP);
    g.ctl(P2, ProcBasedCtls2.EnableInvpcid);
    g.m.mem.write32(DESC, 0); g.m.mem.write32(DESC + 4, 0);
    g.code(`mov ecx, 2\ninvpcid ecx, [${DESC}]\nmov ecx, 7\ninvpcid ecx, [${DESC}]`);
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 19);
    expect(x.interruptionInfo & 0xff).toBe(Vector.GP);
  });

  it('no "enable INVPCID" before Haswell', () => {
    expect(() => new Guest('ivy-bridge').ctl(P2, ProcBasedCtls2.EnableInvpcid)).toThrow(/not allowed/);
  });
});

describe('MONITOR (39) and MWAIT (36) exiting', () => {
  const LINE = 0x60000;

  it('MONITOR exits before its own checks (ECX != 0 would be #GP); length 3', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.MonitorExiting);
    g.code(`mov eax, ${LINE}\nmov ecx, 1\nmonitor`);
    const x = g.exit();
    expectExit(x, ExitReason.Monitor, GUEST_CODE + 10);
    expect(x.instructionLength).toBe(3);
    expect(x.qualification).toBe(0);
  });

  it('MWAIT qualification bit 0: 1 after a MONITOR in the guest, 0 when VM entry cleared the monitor', () => {
    const g = guest();
    g.ctl(P, ProcBasedCtls.MwaitExiting);
    g.code(`mov eax, ${LINE}\nxor ecx, ecx\nxor edx, edx\nmonitor\nmwait\nmwait`);
    let x = g.exit();
    expectExit(x, ExitReason.Mwait, GUEST_CODE + 12);
    expect(x.qualification).toBe(1);
    expect(x.instructionLength).toBe(3);
    expect(g.c.monitorArmed, 'the VM exit cleared the monitor').toBe(false);
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Mwait, GUEST_CODE + 15);
    expect(x.qualification).toBe(0);
    // Armed in root operation: VM entry clears it.
    const h = guest();
    h.ctl(P, ProcBasedCtls.MwaitExiting);
    h.c.monitorArmed = true;
    h.code('xor ecx, ecx\nmwait');
    expect(h.exit().qualification).toBe(0);
  });

  it('without the controls: MONITOR arms, MWAIT returns at once', () => {
    const g = guest();
    g.code(`mov eax, ${LINE}\nxor ecx, ecx\nxor edx, edx\nmonitor\nmwait\ncpuid`);
    expectExit(g.exit(), ExitReason.Cpuid, GUEST_CODE + 15);
  });
});
