// XSETBV (exit 55) and GETSEC (exit 11) from a 64-bit guest: both exit unconditionally in VMX
// non-root operation once their #UD checks pass (SDM Vol. 3C §26.1.2), in 64-bit code as in
// 32-bit code (cpu/long/xstate64.ts); XGETBV, XSAVE/XRSTOR, FXSAVE and the x87 instructions run
// in the guest without exits.
import { describe, expect, it } from 'vitest';
import { Cr4, Vector } from '../../src/core/cpu/regs';
import { getGpr64 } from '../../src/core/cpu/long/long-mode';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { DATA, HIGH_BASE } from './support';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const UD_EXIT = (0x80000300 | Vector.UD) >>> 0;

/** A 64-bit guest (and host) whose #UD and #GP exit, with `cr4` added to its CR4. */
function guest64(cr4: number, smx = false): Guest {
  const g = new Guest('skylake', undefined, { start64: true, smx });
  g.host64();
  g.guest64();
  const v = (Cr4.PSE | Cr4.PAE | Cr4.VMXE | cr4) >>> 0;
  g.w(V.GuestCr4, v); g.w(V.Cr4ReadShadow, v);
  g.w(V.ExceptionBitmap, (1 << Vector.UD) | (1 << Vector.GP));
  return g;
}

describe('XSETBV and XGETBV in a 64-bit guest', () => {
  it('XGETBV runs in the guest (RAX = 1, bits 63:32 cleared); XSETBV exits with reason 55, length 3', () => {
    const g = guest64(Cr4.OSXSAVE);
    const pre = 'mov rax, -1\nmov rcx, 0x100000000\nxgetbv\nmov rbx, rax\nmov eax, 1\nxor edx, edx';
    const n = g.code64(`${pre}\nxsetbv`).length - 3;
    const x = g.exit();
    expectExit(x, ExitReason.Xsetbv, GUEST_CODE + n);
    expect(x.instructionLength).toBe(3);
    expect(x.qualification).toBe(0);
    expect(getGpr64(g.c, 3), 'RBX: XGETBV in the guest, no exit').toBe(1n);
  });

  it('the exit comes before the #GP checks (ECX = 1); CR4.OSXSAVE = 0: #UD, not exit 55', () => {
    let g = guest64(Cr4.OSXSAVE);
    g.code64('mov ecx, 1\nxor eax, eax\nxor edx, edx\nxsetbv');
    expectExit(g.exit(), ExitReason.Xsetbv, GUEST_CODE + 5 + 2 + 2);
    g = guest64(0);
    g.code64('xor ecx, ecx\nmov eax, 1\nxsetbv');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2 + 5);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });

  it('XSAVE64, FXSAVE64 and x87 arithmetic at a high canonical address run without exits', () => {
    const g = guest64(Cr4.OSXSAVE);
    const hi = `0x${(HIGH_BASE + BigInt(DATA)).toString(16)}`;
    g.code64([
      'fninit', `mov r8, ${hi}`, 'fld1', 'fadd st0, st0', 'fstp qword [r8 + 0x1000]',
      'mov eax, 1', 'xor edx, edx', 'xsave64 [r8]', 'fxsave64 [r8 + 0x400]',
      'xor ecx, ecx', 'mov eax, 1', 'xsetbv',
    ].join('\n'));
    const x = g.exit();
    expect(x.reason).toBe(ExitReason.Xsetbv);
    expect(g.m.mem.read32(DATA + 0x1004) >>> 0, '2.0 as a double').toBe(0x40000000);
    expect(g.m.mem.read32(DATA + 512), 'XSTATE_BV').toBe(1);
    // FXSAVE64 bytes 23:16 hold the 64-bit FDP of the FSTP: the high address.
    expect(g.m.mem.read32(DATA + 0x400 + 20) >>> 0).toBe(0xffff8000);
    expect(g.m.mem.read32(DATA + 0x400 + 16) >>> 0).toBe(DATA + 0x1000);
  });
});

describe('GETSEC in a 64-bit guest', () => {
  it('CR4.SMXE = 1: exit 11, length 2, whatever the leaf', () => {
    for (const leaf of [0, 4, 0x55]) {
      const g = guest64(Cr4.SMXE, true);
      g.code64(`mov eax, ${leaf}\ngetsec`);
      const x = g.exit();
      expectExit(x, ExitReason.Getsec, GUEST_CODE + 5);
      expect(x.instructionLength, `leaf ${leaf}`).toBe(2);
      expect(x.qualification).toBe(0);
    }
  });

  it('CR4.SMXE = 0: #UD, not the exit', () => {
    const g = guest64(0, true);
    g.code64('xor eax, eax\ngetsec');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });
});
