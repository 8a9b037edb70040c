// #DB VM exits (SDM Vol. 3C §28.1, §28.2.1 Table 28-1): the exit qualification holds the DR6
// bits of this debug exception only (B3-B0, BD, BS), and a #DB that causes a VM exit updates
// neither DR6 nor DR7 (DR7.GD stays set after a general-detect #DB).
import { describe, expect, it } from 'vitest';
import { ControlField, ExitCtls } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { Vector } from '../../src/core/cpu/regs';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const DB_EXIT = (0x80000300 | Vector.DB) >>> 0;

describe('#DB exits: qualification and DR6/DR7', () => {
  it('single step: qualification BS only, not the sticky B1 DR6 already held; DR6 unchanged', () => {
    const g = new Guest();
    g.w(V.ExceptionBitmap, 1 << Vector.DB);
    // DR6 with B1 set from an earlier #DB, then TF: the trap after the NOP exits.
    g.code('mov eax, 0xffff0ff2\nmov dr6, eax\npushfd\nor dword [esp], 0x100\npopfd\nnop\nnop');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi);
    expect(x.interruptionInfo >>> 0).toBe(DB_EXIT);
    expect(x.qualification).toBe(0x4000);
    expect(g.c.dr[6] >>> 0, 'DR6 as the guest left it').toBe(0xffff0ff2);
  });

  it('general detect: qualification BD, DR7.GD still set in the saved guest DR7, DR6 unchanged', () => {
    const g = new Guest();
    g.ctl(ControlField.Exit, ExitCtls.SaveDebugControls);
    g.w(V.ExceptionBitmap, 1 << Vector.DB);
    g.code('mov eax, 0x2400\nmov dr7, eax\nmov eax, dr0');
    const dr6 = g.c.dr[6] >>> 0;
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 8);
    expect(x.interruptionInfo >>> 0).toBe(DB_EXIT);
    expect(x.qualification).toBe(0x2000);
    expect(g.rd(V.GuestDr7) & 0x2000, 'GD not cleared').toBe(0x2000);
    expect(g.c.dr[6] >>> 0).toBe(dr6);
  });

  it('a #DB the guest handles itself updates DR6 and clears GD as outside VMX', () => {
    const g = new Guest();
    g.code('mov eax, 0x2400\nmov dr7, eax\nmov eax, dr0');
    const x = g.exit(); // the guest IDT stub: mov eax, 1; vmcall
    expectExit(x, ExitReason.Vmcall);
    expect(x.guestEax).toBe(Vector.DB);
    expect(g.c.dr[6] & 0x2000).toBe(0x2000);
    expect(g.c.dr[7] & 0x2000).toBe(0);
  });
});
