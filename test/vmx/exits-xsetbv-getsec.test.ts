// XSETBV (exit 55) and GETSEC (exit 11) in VMX non-root operation: both exit unconditionally
// (SDM Vol. 3C §26.1.2) once their #UD checks pass (CR4.OSXSAVE, CR4.SMXE); XGETBV never exits.
// With those CR4 bits clear the instructions are #UD in the guest too. IA32_VMX_CR4_FIXED1 lets
// a guest have OSXSAVE exactly when the model has XSAVE and SMXE exactly with SMX (Vol. 3D A.8).
import { describe, expect, it } from 'vitest';
import { Cr4, Vector } from '../../src/core/cpu/regs';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { ExitEvent } from '../../src/core/profile/exit-event';
import { SUBKEY_DECODERS, subkeyOf } from '../../src/core/profile/subkey';
import type { VmExitRecord } from '../../src/core/vmx/exit-record';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

/** The profiler's sub-key label of an XSETBV exit: the XCR number from the guest's ECX. */
function xsetbvLabel(x: VmExitRecord): string {
  const ev = new ExitEvent();
  ev.reason = x.reason; ev.ecx = x.guestEcx;
  return SUBKEY_DECODERS.get(ExitReason.Xsetbv)!.label(subkeyOf(ev), ExitReason.Xsetbv);
}

const UD_EXIT = (0x80000300 | Vector.UD) >>> 0;
const CR4_FIXED1 = 0x489;

/** A guest whose #UD exits, with `cr4` added to its CR4 (and read shadow). */
function guest(gen: string, cr4: number, smx = false): Guest {
  const g = new Guest(gen, undefined, { smx });
  g.w(V.ExceptionBitmap, 1 << Vector.UD);
  const v = (Cr4.PSE | Cr4.VMXE | cr4) >>> 0;
  g.w(V.GuestCr4, v); g.w(V.Cr4ReadShadow, v);
  return g;
}

describe('IA32_VMX_CR4_FIXED1: OSXSAVE with XSAVE, SMXE with SMX', () => {
  it('follows the model', () => {
    for (const [gen, osx] of [['merom', 0], ['penryn', 1], ['nehalem', 0], ['haswell', 1]] as [string, number][]) {
      const fixed1 = new Guest(gen).m.rdmsr(CR4_FIXED1)![0];
      expect((fixed1 & Cr4.OSXSAVE) !== 0, `${gen} OSXSAVE`).toBe(osx === 1);
      expect(fixed1 & Cr4.SMXE, `${gen} SMXE without the smx option`).toBe(0);
    }
    expect(new Guest('haswell', undefined, { smx: true }).m.rdmsr(CR4_FIXED1)![0] & Cr4.SMXE).toBe(Cr4.SMXE);
  });
});

describe('XSETBV (exit 55) and XGETBV', () => {
  it('guest CR4.OSXSAVE = 1: XGETBV runs (EAX = XCR0 = 1), XSETBV exits with length 3 and qualification 0', () => {
    const g = guest('haswell', Cr4.OSXSAVE);
    g.code('xor ecx, ecx\nmov eax, -1\nxgetbv\nmov ebx, eax\nmov eax, 1\nxsetbv');
    const x = g.exit();
    expectExit(x, ExitReason.Xsetbv, GUEST_CODE + 2 + 5 + 3 + 2 + 5);
    expect(x.instructionLength).toBe(3);
    expect(x.qualification).toBe(0);
    expect(g.c.r32[3], 'EBX: XGETBV read XCR0 in the guest without an exit').toBe(1);
    expect(xsetbvLabel(x)).toBe('XCR0');
  });

  it('the exit comes before XSETBV\'s #GP checks: ECX = 1 and XCR0 = 0 exit too', () => {
    const g = guest('penryn', Cr4.OSXSAVE);
    g.code('mov ecx, 1\nxor eax, eax\nxor edx, edx\nxsetbv');
    const x = g.exit();
    expectExit(x, ExitReason.Xsetbv, GUEST_CODE + 5 + 2 + 2);
    expect(g.c.xcr0, 'XCR0 unchanged: the VMM decides').toBe(1);
    expect(xsetbvLabel(x)).toBe('XCR1');
  });

  it('guest CR4.OSXSAVE = 0: XSETBV and XGETBV are #UD (exception exit), not exit 55', () => {
    const g = guest('haswell', 0);
    g.code('xor ecx, ecx\nmov eax, 1\nxsetbv');
    let x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2 + 5);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
    g.code('xor ecx, ecx\nxgetbv');
    x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });

  it('a guest CR4 with OSXSAVE fails VM entry on Merom (not in CR4_FIXED1)', () => {
    const g = guest('merom', Cr4.OSXSAVE);
    g.code('nop');
    const res = g.enter();
    if (res.kind !== 'exit') throw new Error(`expected a failed VM entry, got ${res.kind}`);
    expect(res.exit.entryFailure).toBe(true);
    expect(res.exit.reason).toBe(ExitReason.EntryFailureGuestState);
  });
});

describe('GETSEC (exit 11)', () => {
  it('with the smx option and guest CR4.SMXE = 1: exit 11, length 2, whatever the leaf', () => {
    for (const leaf of [0, 4, 0x55]) {
      const g = guest('haswell', Cr4.SMXE, true);
      g.code(`mov eax, ${leaf}\ngetsec`);
      const x = g.exit();
      expectExit(x, ExitReason.Getsec, GUEST_CODE + 5);
      expect(x.instructionLength, `leaf ${leaf}`).toBe(2);
      expect(x.qualification).toBe(0);
    }
  });

  it('guest CR4.SMXE = 0: #UD, not the exit', () => {
    const g = guest('haswell', 0, true);
    g.code('xor eax, eax\ngetsec');
    const x = g.exit();
    expectExit(x, ExitReason.ExceptionOrNmi, GUEST_CODE + 2);
    expect(x.interruptionInfo >>> 0).toBe(UD_EXIT);
  });
});
