// VM exits caused by instructions (SDM Vol. 3C §26.1): each reason with its control, exit
// qualification, instruction length and instruction information (§28.2), and what the
// instruction does when the control lets it run (§26.3).
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Flag } from '../../src/core/cpu/regs';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { ALL_ROWS } from '../../src/core/cpu/decode-table';
import { expectExit, Guest, GUEST_CODE, IO_A, IO_B, MSR_BITMAP, SEL_TSS2 } from './guest-support';
import { GDT } from './support';

const P = ControlField.ProcBased, P2 = ControlField.ProcBased2;

describe('unconditional and single-control instruction exits', () => {
  it('CPUID exits unconditionally (reason 10, length 2, qualification 0)', () => {
    const g = new Guest();
    g.code('xor eax, eax\ncpuid\nnop');
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid, GUEST_CODE + 2);
    expect(x.instructionLength).toBe(2);
    expect(x.qualification).toBe(0);
    expect(g.rd(V.GuestRip)).toBe(GUEST_CODE + 2); // fault-like: RIP on the instruction
  });

  it('HLT exits with "HLT exiting" (12); without it the guest halts (activity HLT saved at the next exit)', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.HltExiting);
    g.code('nop\nhlt');
    const x = g.exit();
    expectExit(x, ExitReason.Hlt, GUEST_CODE + 1);
    expect(x.instructionLength).toBe(1);
    const h = new Guest();
    h.code('nop\nhlt\ncpuid');
    const res = h.enter();
    expect(res).toEqual({ kind: 'running', halted: true });
    expect(h.c.nonRoot).toBe(true);
    // An NMI with "NMI exiting" ... not set: use the preemption timer to leave HLT instead.
  });

  it('INVD always, WBINVD with "WBINVD exiting" (13, 54)', () => {
    const g = new Guest();
    g.code('invd\nwbinvd\ncpuid');
    expectExit(g.exit(), ExitReason.Invd, GUEST_CODE);
    g.skip();
    expectExit(g.exit(), ExitReason.Cpuid, GUEST_CODE + 4); // WBINVD ran
    const w = new Guest();
    w.ctl(P2, ProcBasedCtls2.WbinvdExiting);
    w.code('wbinvd');
    const x = w.exit();
    expectExit(x, ExitReason.Wbinvd, GUEST_CODE);
    expect(x.instructionLength).toBe(2);
  });

  it('INVLPG exits with the linear address as qualification (14)', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.InvlpgExiting);
    g.code('mov ebx, 0x1000\ninvlpg [ebx + 0x234]\ninvlpg [fs:0x5678]');
    g.w(V.GuestFsBase, 0x100000);
    let x = g.exit();
    expectExit(x, ExitReason.Invlpg, GUEST_CODE + 5);
    expect(x.qualification).toBe(0x1234);
    expect(x.instructionLength).toBe(7); // 0F 01 BB disp32
    g.skip();
    x = g.exit();
    expect(x.qualification).toBe(0x105678);
  });

  it('RDTSC (16) and RDPMC (15) exiting; RDPMC exits before its #GP for ECX', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.RdtscExiting | ProcBasedCtls.RdpmcExiting);
    g.code('rdtsc\nmov ecx, 99\nrdpmc');
    expectExit(g.exit(), ExitReason.Rdtsc, GUEST_CODE);
    g.skip();
    const x = g.exit();
    expectExit(x, ExitReason.Rdpmc, GUEST_CODE + 7);
    expect(x.instructionLength).toBe(2);
  });

  it('TSC offsetting: RDTSC and RDMSR(IA32_TSC) read TSC + offset without an exit', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.UseTscOffsetting | ProcBasedCtls.UseMsrBitmaps);
    g.w(V.MsrBitmap, MSR_BITMAP); // all zero: RDMSR does not exit
    g.w(V.TscOffset, 0); g.w(V.TscOffsetHigh, 0x100);
    g.code('rdtsc\nmov esi, eax\nmov edi, edx\nmov ecx, 0x10\nrdmsr\ncpuid');
    const before = g.c.tsc();
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid);
    const t1 = g.c.r32[7] * 2 ** 32 + (g.c.r32[6] >>> 0), t2 = g.c.r32[2] * 2 ** 32 + (g.c.r32[0] >>> 0);
    expect(t1 - 0x100 * 2 ** 32).toBeGreaterThanOrEqual(before);
    expect(t1 - 0x100 * 2 ** 32).toBeLessThan(g.c.tsc());
    expect(t2).toBeGreaterThan(t1);
    // Without the control the guest reads the plain TSC.
    const h = new Guest();
    h.w(V.TscOffsetHigh, 0x100);
    h.code('rdtsc\ncpuid');
    h.exit();
    expect(h.c.r32[2]).toBeLessThan(0x100);
  });

  it('PAUSE exiting (40); PAUSE-loop exiting by PLE_Gap and PLE_Window in TSC ticks', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.PauseExiting);
    g.code('nop\npause');
    const x = g.exit();
    expectExit(x, ExitReason.Pause, GUEST_CODE + 1);
    expect(x.instructionLength).toBe(2);
    // A tight loop of PAUSEs (4 instructions apart) exits once it has run longer than the window.
    const l = new Guest();
    l.ctl(P2, ProcBasedCtls2.PauseLoopExiting);
    l.w(V.PleGap, 10); l.w(V.PleWindow, 200);
    l.code('xor ecx, ecx\nspin: pause\ninc ecx\njmp spin');
    const y = l.exit();
    expectExit(y, ExitReason.Pause, GUEST_CODE + 2);
    // PAUSEs every 3 instructions: the exit comes at the first one more than 200 ticks after the first.
    expect(l.c.r32[1]).toBe(Math.floor(200 / 3) + 1);
    // A gap larger than PLE_Gap restarts the loop: no exit within the window's length.
    const n = new Guest();
    n.ctl(P2, ProcBasedCtls2.PauseLoopExiting);
    n.w(V.PleGap, 2); n.w(V.PleWindow, 10);
    n.code('spin: pause\nnop\nnop\nnop\njmp spin');
    expect(n.enter(2000)).toEqual({ kind: 'running', halted: false });
    n.r.runGuest(1); // still running; stop it by hand
  });
});

describe('control-register accesses (28): masks, read shadows, CR3 targets', () => {
  it('MOV to CR0 exits when an owned bit differs from its shadow; otherwise owned bits stay', () => {
    const g = new Guest();
    const cr0 = g.c.cr0 | 0;
    g.w(V.Cr0GuestHostMask, Cr0.TS | Cr0.MP);
    g.w(V.Cr0ReadShadow, cr0 | Cr0.TS); // the guest sees TS = 1, MP = 0
    g.code(`mov eax, cr0\nmov edx, eax\nsmsw ecx\nmov ebx, ${cr0 | Cr0.TS | Cr0.EM}\nmov cr0, ebx\nmov ebx, ${cr0}\nmov cr0, ebx\ncpuid`);
    const x = g.exit();
    expectExit(x, ExitReason.CrAccess);
    // MOV from CR0 and SMSW read the shadow for TS and MP; MOV to CR0 with TS = shadow, EM free: no exit.
    expect(g.c.r32[2] >>> 0).toBe((cr0 | Cr0.TS) >>> 0);
    expect(g.c.r32[1] >>> 0).toBe((cr0 | Cr0.TS) >>> 0);
    expect(x.qualification).toBe(0x300); // CR0, MOV to, EBX
    expect(x.instructionLength).toBe(3);
    expect(g.rd(V.GuestCr0) >>> 0).toBe((cr0 | Cr0.EM) >>> 0); // EM written, TS kept (real TS stays 0)
  });

  it('CLTS exits with TS owned and shadow 1, does nothing with shadow 0; LMSW exits by its source', () => {
    const g = new Guest();
    const cr0 = g.c.cr0 | 0;
    g.w(V.Cr0GuestHostMask, Cr0.TS);
    g.w(V.Cr0ReadShadow, cr0 | Cr0.TS);
    g.w(V.GuestCr0, cr0 | Cr0.TS);
    g.code('clts\nmov ax, 1\nlmsw ax\nlmsw [0x200000]\nmov ax, 9\nlmsw ax\ncpuid');
    let x = g.exit();
    expectExit(x, ExitReason.CrAccess, GUEST_CODE);
    expect(x.qualification).toBe(0x20); // CLTS
    g.skip();
    x = g.exit();
    expect(x.qualification).toBe(0x00010030); // LMSW, register operand, source 1: TS 0 against shadow 1
    g.skip();
    g.m.mem.write16(0x200000, 0);
    x = g.exit();
    expect(x.qualification).toBe(0x00000070); // LMSW, memory operand (bit 6), source 0
    expect(x.guestLinear).toBe(0x200000);
    expect(x.instructionLength).toBe(7);
    g.skip();
    x = g.exit(); // LMSW 9: TS = shadow, no exit; MP... PE already 1
    expectExit(x, ExitReason.Cpuid);
    expect(g.rd(V.GuestCr0) & Cr0.TS).toBe(Cr0.TS); // owned TS kept its value
    // With the shadow's TS 0, CLTS leaves TS alone without an exit.
    const h = new Guest();
    h.w(V.Cr0GuestHostMask, Cr0.TS);
    h.w(V.GuestCr0, (h.c.cr0 | Cr0.TS) >>> 0);
    h.code('clts\ncpuid');
    expectExit(h.exit(), ExitReason.Cpuid);
    expect(h.rd(V.GuestCr0) & Cr0.TS).toBe(Cr0.TS);
  });

  it('CR4 mask and shadow: MOV from CR4 reads the shadow, MOV to CR4 exits on an owned difference', () => {
    const g = new Guest();
    g.w(V.Cr4GuestHostMask, Cr4.VMXE);
    g.w(V.Cr4ReadShadow, Cr4.PSE); // the guest sees VMXE = 0
    g.code(`mov eax, cr4\nmov ebx, ${Cr4.PSE}\nmov cr4, ebx\nor ebx, ${Cr4.VMXE}\nmov cr4, ebx`);
    const x = g.exit();
    expect(g.c.r32[0]).toBe(Cr4.PSE);
    expectExit(x, ExitReason.CrAccess, GUEST_CODE + 17);
    expect(x.qualification).toBe(0x304); // CR4, MOV to, EBX
    expect(g.rd(V.GuestCr4)).toBe(Cr4.PSE | Cr4.VMXE); // the first MOV kept the owned VMXE
  });

  it('CR3-load exiting except for the CR3-target values; CR3-store exiting', () => {
    const g = new Guest();
    const cr3 = g.rd(V.GuestCr3);
    g.ctl(P, ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr3StoreExiting);
    g.w(V.Cr3TargetCount, 2); g.w(V.Cr3TargetValue0, 0x5000); g.w(V.Cr3TargetValue1, cr3);
    g.code(`mov ecx, ${cr3}\nmov cr3, ecx\nmov edx, 0x7000\nmov cr3, edx\nmov esi, cr3`);
    let x = g.exit();
    expectExit(x, ExitReason.CrAccess, GUEST_CODE + 13);
    expect(x.qualification).toBe(0x203); // CR3, MOV to, EDX: 7000H is no target
    g.skip();
    x = g.exit();
    expect(x.qualification).toBe(0x613); // CR3, MOV from, ESI
  });
});

describe('MOV DR (29), I/O (30), RDMSR/WRMSR (31, 32)', () => {
  it('MOV-DR exiting: direction, register and DR number in the qualification', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.MovDrExiting);
    g.code('mov eax, dr7\nmov dr2, esi');
    let x = g.exit();
    expectExit(x, ExitReason.MovDr, GUEST_CODE);
    expect(x.qualification).toBe(0x017);
    g.skip();
    x = g.exit();
    expect(x.qualification).toBe(0x602);
  });

  it('unconditional I/O exiting: size, direction, immediate, string, REP, port; INS/OUTS information and linear address', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.UnconditionalIoExiting);
    g.code('out 0x80, al\nmov dx, 0x3f8\nin ax, dx\nmov esi, 0x201000\nmov ecx, 3\nrep outsd\nmov edi, 0x202000\nes insb');
    const expected: [number, number, number, number][] = [
      [GUEST_CODE, 0x00800040, 2, 0], [GUEST_CODE + 6, 0x03f80009, 2, 0],
      [GUEST_CODE + 18, 0x03f80033, 2, 0x201000], [GUEST_CODE + 25, 0x03f80018, 2, 0x202000],
    ];
    for (const [rip, q, len, gla] of expected) {
      const x = g.exit();
      expectExit(x, ExitReason.IoInstruction, rip);
      expect(x.qualification >>> 0).toBe(q);
      expect(x.instructionLength).toBe(len);
      if (gla !== 0) {
        expect(x.guestLinear).toBe(gla);
        // Table 28-8: address size 32 (bit 7), segment DS (OUTS; 3 << 15).
        expect(x.instructionInfo & 0x3f80).toBe(0x80);
      }
      g.skip();
    }
    expect(g.c.r32[1]).toBe(3); // REP OUTS did not run an iteration
  });

  it('I/O bitmaps: the bits of every port accessed, bitmap B from 8000H, a wrap past FFFFH exits', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.UseIoBitmaps);
    g.w(V.IoBitmapA, IO_A); g.w(V.IoBitmapB, IO_B);
    g.m.mem.write8(IO_A + (0x81 >> 3), 1 << (0x81 & 7));
    g.m.mem.write8(IO_B, 1); // port 8000H
    g.code('out 0x80, al\nout 0x81, al\nmov dx, 0x7ffe\nout dx, ax\nmov dx, 0x7fff\nout dx, ax\nmov dx, 0xffff\nin al, dx\nin ax, dx');
    let x = g.exit();
    expectExit(x, ExitReason.IoInstruction, GUEST_CODE + 2);
    g.skip();
    x = g.exit();
    expect(x.qualification >>> 0).toBe(0x7fff0001);
    g.skip();
    x = g.exit();
    expect(x.qualification >>> 0).toBe(0xffff0009); // IN AL at FFFFH does not exit, IN AX there wraps
    expectExit(x, ExitReason.IoInstruction, GUEST_CODE + 21);
  });

  it('IOPL / I/O-bitmap #GP comes before the exit (ring 3)', () => {
    const g = new Guest();
    g.ctl(P, ProcBasedCtls.UnconditionalIoExiting);
    g.w(V.ExceptionBitmap, 1 << 13);
    // Ring 3 guest (IOPL 0): OUT faults with #GP before any I/O exit.
    g.w(V.GuestCsSelector, 0x1b); g.w(V.GuestCsAccessRights, 0xc0fb);
    for (const [s, a] of [[V.GuestSsSelector, V.GuestSsAccessRights], [V.GuestDsSelector, V.GuestDsAccessRights],
      [V.GuestEsSelector, V.GuestEsAccessRights]] as [V, V][]) { g.w(s, 0x23); g.w(a, 0xc0f3); }
    g.m.mem.write16(0x3000 + 0x66, 0x68); // the TSS has no I/O permission bitmap: ports need IOPL
    g.code('out 0x80, al');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(x.interruptionInfo >>> 0).toBe(0x80000b0d);
  });

  it('RDMSR/WRMSR exit without MSR bitmaps; with them by the bit of ECX, outside both ranges always', () => {
    const g = new Guest();
    g.code('mov ecx, 0x174\nrdmsr\nwrmsr');
    const x = g.exit();
    expectExit(x, ExitReason.Rdmsr, GUEST_CODE + 5);
    expect(x.guestEcx).toBe(0x174);
    g.skip();
    expectExit(g.exit(), ExitReason.Wrmsr, GUEST_CODE + 7);
    const b = new Guest();
    b.ctl(P, ProcBasedCtls.UseMsrBitmaps);
    b.w(V.MsrBitmap, MSR_BITMAP);
    const m = b.m.mem;
    m.write8(MSR_BITMAP + 0x800 + (0x174 >> 3), 1 << (0x174 & 7)); // write 174H
    m.write8(MSR_BITMAP + 0x400 + (0x80 >> 3), 1 << 0); // read C0000080H
    b.code('mov ecx, 0x174\nrdmsr\nwrmsr\nmov ecx, 0xc0000080\nrdmsr\nmov ecx, 0x40000000\nrdmsr');
    expectExit(b.exit(), ExitReason.Wrmsr, GUEST_CODE + 7);
    b.skip();
    expectExit(b.exit(), ExitReason.Rdmsr, GUEST_CODE + 14);
    b.skip();
    expectExit(b.exit(), ExitReason.Rdmsr, GUEST_CODE + 21);
  });
});

describe('descriptor-table exiting (46, 47) and VMX instructions (18-27, 50, 53)', () => {
  it('LGDT/SGDT/LIDT/SIDT and LLDT/LTR/SLDT/STR: qualification = displacement, instruction information', () => {
    const g = new Guest();
    g.ctl(P2, ProcBasedCtls2.DescriptorTableExiting);
    // (`o16 sgdt [bx]` is 66 67 0F 01 07: 16-bit operand and address sizes, base BX.)
    g.code('sgdt [ebx + esi*4 + 0x10]\nlidt [0x1234]\no16 sgdt [bx]\nsldt eax\nstr word [ebp - 8]\nltr cx');
    const exp: [number, number, number][] = [
      [ExitReason.GdtrIdtrAccess, 0x10, 0x01998882], [ExitReason.GdtrIdtrAccess, 0x1234, 0x38418880],
      [ExitReason.GdtrIdtrAccess, 0, 0x01c18000], [ExitReason.LdtrTrAccess, 0, 0x00000400],
      [ExitReason.LdtrTrAccess, 0xfffffff8, 0x12c10080], [ExitReason.LdtrTrAccess, 0, 0x30000408],
    ];
    for (const [reason, q, info] of exp) {
      const x = g.exit();
      expectExit(x, reason);
      expect(x.qualification >>> 0, `q ${reason}`).toBe(q >>> 0);
      expect(x.instructionInfo >>> 0, `info 0x${x.instructionInfo.toString(16)}`).toBe(info >>> 0);
      g.skip();
    }
  });

  it('every VMX instruction exits, with its operand in the qualification and instruction information', () => {
    const g = new Guest();
    g.code('vmcall\nvmclear [0x1000]\nvmptrld [eax + 8]\nvmread [ebx + 0x10], ecx\nvmwrite edx, esi\nvmlaunch\nvmresume\nvmxoff\n' +
      'vmxon [ecx + edx*2]\ninvept eax, [ebx]\ninvvpid edi, [esp + 4]\nvmptrst [0x2000]');
    const exp: [ExitReason, number, number][] = [
      [ExitReason.Vmcall, 0, 0], [ExitReason.Vmclear, 0x1000, 0x08418080], [ExitReason.Vmptrld, 8, 0x00418080],
      [ExitReason.Vmread, 0x10, 0x11c18080], [ExitReason.Vmwrite, 0, 0x20000430], [ExitReason.Vmlaunch, 0, 0],
      [ExitReason.Vmresume, 0, 0], [ExitReason.Vmxoff, 0, 0], [ExitReason.Vmxon, 0, 0x00898081],
      [ExitReason.Invept, 0, 0x01c18080], [ExitReason.Invvpid, 4, 0x72410080], [ExitReason.Vmptrst, 0x2000, 0x08418080],
    ];
    for (const [reason, q, info] of exp) {
      const x = g.exit();
      expectExit(x, reason);
      expect(x.qualification >>> 0, `q ${ExitReason[reason]}`).toBe(q);
      expect(x.instructionInfo >>> 0, `info ${ExitReason[reason]} 0x${x.instructionInfo.toString(16)}`).toBe(info >>> 0);
      g.skip();
    }
  });
});

describe('task switches (9) always exit', () => {
  it('JMP and CALL to a TSS: source 2 and 0 with the instruction length; IRET with NT: source 1', () => {
    const g = new Guest();
    g.code(`jmp ${SEL_TSS2}:0\ncall ${SEL_TSS2}:0\npushfd\nor dword [esp], ${Flag.NT}\npopfd\niretd`);
    let x = g.exit();
    expectExit(x, ExitReason.TaskSwitch, GUEST_CODE);
    expect(x.qualification >>> 0).toBe((0x80000000 | SEL_TSS2) >>> 0);
    expect(x.instructionLength).toBe(7);
    g.skip();
    x = g.exit();
    expect(x.qualification >>> 0).toBe(SEL_TSS2);
    g.skip();
    // IRET with NT: the back link of the current TSS (the guest TR's TSS at 0x3000) names the task.
    g.m.mem.write16(0x3000, 0x30);
    g.m.mem.write8(GDT + 6 * 8 + 5, 0x8b); // its descriptor busy
    x = g.exit();
    expectExit(x, ExitReason.TaskSwitch);
    expect(x.qualification >>> 0).toBe((0x40000000 | 0x30) >>> 0);
    expect(x.instructionLength).toBe(1);
  });
});

describe('the exit column of the decode table (decode-table.ts OpRow.exits)', () => {
  // One guest instruction per reason whose decision is a single control; the row says which.
  const samples: Partial<Record<ExitReason, string>> = {
    [ExitReason.Hlt]: 'hlt', [ExitReason.Invlpg]: 'invlpg [0]', [ExitReason.Rdtsc]: 'rdtsc', [ExitReason.Rdpmc]: 'xor ecx, ecx\nrdpmc',
    [ExitReason.Wbinvd]: 'wbinvd', [ExitReason.Cpuid]: 'cpuid', [ExitReason.Invd]: 'invd', [ExitReason.MovDr]: 'mov eax, dr7',
    [ExitReason.Pause]: 'pause', [ExitReason.IoInstruction]: 'in al, 0x80',
    [ExitReason.GdtrIdtrAccess]: 'sgdt [0x1000]', [ExitReason.LdtrTrAccess]: 'sldt eax',
    [ExitReason.Rdrand]: 'rdrand eax', [ExitReason.Rdseed]: 'rdseed eax',
  };
  const rows = ALL_ROWS.flatMap((r) => (r.exits ?? []).map((x) => ({ row: r.name, x })));

  it('lists every instruction exit reason of SDM §26.1 the interpreter can produce', () => {
    const reasons = new Set(rows.map((e) => e.x.reason));
    for (const r of [ExitReason.Cpuid, ExitReason.Hlt, ExitReason.Invd, ExitReason.Invlpg, ExitReason.Rdpmc, ExitReason.Rdtsc,
      ExitReason.Vmcall, ExitReason.Vmclear, ExitReason.Vmlaunch, ExitReason.Vmptrld, ExitReason.Vmptrst, ExitReason.Vmread,
      ExitReason.Vmresume, ExitReason.Vmwrite, ExitReason.Vmxoff, ExitReason.Vmxon, ExitReason.CrAccess, ExitReason.MovDr,
      ExitReason.IoInstruction, ExitReason.Rdmsr, ExitReason.Wrmsr, ExitReason.Pause, ExitReason.GdtrIdtrAccess,
      ExitReason.LdtrTrAccess, ExitReason.Invept, ExitReason.Invvpid, ExitReason.Wbinvd, ExitReason.TaskSwitch,
      ExitReason.Rdtscp, ExitReason.Rdrand, ExitReason.Rdseed, ExitReason.Invpcid, ExitReason.Monitor, ExitReason.Mwait]) {
      expect(reasons.has(r), ExitReason[r]).toBe(true);
    }
  });

  for (const { row, x } of rows) {
    const src = samples[x.reason];
    if (src === undefined || x.control === undefined) continue;
    it(`${row}: ${ExitReason[x.reason]} exactly when its control is set`, () => {
      const on = new Guest();
      on.ctl(x.control!.field, x.control!.bit);
      on.code(`${src}\ncpuid`);
      expectExit(on.exit(), x.reason, GUEST_CODE + (src.includes('\n') ? 2 : 0));
      const off = new Guest();
      off.code(`${src}\ncpuid`);
      const res = off.enter();
      if (x.reason === ExitReason.Hlt) expect(res).toEqual({ kind: 'running', halted: true });
      else if (res.kind === 'exit') expectExit(res.exit, ExitReason.Cpuid);
      else throw new Error(JSON.stringify(res));
    });
  }
});
