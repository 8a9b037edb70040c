// "Virtualize APIC accesses" and "use TPR shadow" for 32-bit guests (SDM Vol. 3C ch. 30, §27.7.7,
// §28.2.1 Table 28-6): VTPR reads and writes through the APIC-access page land in the
// virtual-APIC page, a write that drops VTPR[7:4] below the TPR threshold is a trap-like TPR-
// below-threshold exit (43), every other access an APIC-access exit (44) with offset and access
// type, and a threshold above VTPR right after VM entry exits before the first instruction.
import { describe, expect, it } from 'vitest';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const P = ControlField.ProcBased, P2 = ControlField.ProcBased2;
const VAPIC = 0x110000, APAGE = 0x111000;

/** A guest with the APIC-access page at APAGE, the virtual-APIC page at VAPIC (VTPR = `vtpr`),
 *  TPR threshold `threshold`; `tprShadow` false: "virtualize APIC accesses" alone. */
function guest(vtpr: number, threshold: number, tprShadow = true): Guest {
  const g = new Guest();
  g.m.mem.write32(VAPIC + 0x80, vtpr);
  g.m.mem.write32(APAGE + 0x80, 0x12345678); // the real page: never read or written by the guest
  if (tprShadow) g.ctl(P, ProcBasedCtls.UseTprShadow);
  g.ctl(P2, ProcBasedCtls2.VirtualizeApicAccesses);
  g.w(V.VirtualApicAddress, VAPIC); g.w(V.ApicAccessAddress, APAGE); g.w(V.TprThreshold, threshold);
  return g;
}

describe('VTPR through the APIC-access page', () => {
  it('reads return the virtual-APIC page bytes, no exit', () => {
    const g = guest(0x50, 0);
    g.code(`mov eax, [${APAGE + 0x80}]\nmov bl, [${APAGE + 0x80}]\nmovzx ecx, word [${APAGE + 0x82}]\ncpuid`);
    const x = g.exit();
    expectExit(x, ExitReason.Cpuid);
    expect(x.guestEax).toBe(0x50);
    expect(g.c.r32[3] & 0xff).toBe(0x50);
    expect(x.guestEcx).toBe(0);
  });

  it('a write below the threshold: exit 43 after the instruction; VTPR written with bytes 3:1 cleared', () => {
    const g = guest(0x40, 3);
    g.m.mem.write32(VAPIC + 0x80, 0xaabbcc40);
    g.code(`mov byte [${APAGE + 0x80}], 0x20\nnop`);
    const x = g.exit();
    expectExit(x, ExitReason.TprBelowThreshold, GUEST_CODE + 7); // trap-like: the next instruction
    expect(g.m.mem.read32(VAPIC + 0x80) >>> 0).toBe(0x20);
    expect(g.m.mem.read32(APAGE + 0x80) >>> 0).toBe(0x12345678);
  });

  it('a write at or above the threshold: no exit', () => {
    const g = guest(0x40, 3);
    g.code(`mov dword [${APAGE + 0x80}], 0x35\ncpuid`);
    expectExit(g.exit(), ExitReason.Cpuid, GUEST_CODE + 10);
    expect(g.m.mem.read32(VAPIC + 0x80) >>> 0).toBe(0x35);
  });

  it('right after VM entry: threshold above VTPR[7:4] exits before the first instruction', () => {
    const g = guest(0x20, 5);
    g.code('nop\ncpuid');
    const x = g.exit();
    expectExit(x, ExitReason.TprBelowThreshold, GUEST_CODE);
    expect(x.qualification).toBe(0);
  });
});

describe('APIC-access exits (44): qualification = offset | access type << 12, fault-like', () => {
  it('linear read (0) and write (1) of other registers, a VTPR access that is too wide, a fetch (2)', () => {
    const g = guest(0x40, 0);
    g.code(`mov eax, [${APAGE + 0x300}]\nmov dword [${APAGE + 0xb0}], 0\nmov eax, [${APAGE + 0x7e}]\njmp ${APAGE + 0x10}`);
    const cases: [number, number][] = [[0x0300, GUEST_CODE], [0x10b0, GUEST_CODE + 5], [0x007e, GUEST_CODE + 15], [0x2010, APAGE + 0x10]];
    for (const [q, rip] of cases) {
      const x = g.exit();
      expectExit(x, ExitReason.ApicAccess, rip);
      expect(x.qualification, `q for rip ${rip.toString(16)}`).toBe(q);
      // Skip the faulting instruction as a VMM would after emulating it (APIC-access exits
      // report no instruction length).
      if (rip !== APAGE + 0x10) g.w(V.GuestRip, rip + (rip === GUEST_CODE + 5 ? 10 : 5));
    }
  });

  it('without "use TPR shadow" even VTPR accesses exit', () => {
    const g = guest(0x40, 0, false);
    g.code(`mov eax, [${APAGE + 0x80}]`);
    const x = g.exit();
    expectExit(x, ExitReason.ApicAccess, GUEST_CODE);
    expect(x.qualification).toBe(0x80);
  });

  it('during event delivery: type 3, with IDT-vectoring information', () => {
    const g = guest(0x40, 0);
    g.code(`mov esp, ${APAGE + 0x100}\nint 0x30`);
    const x = g.exit();
    expectExit(x, ExitReason.ApicAccess, GUEST_CODE + 5);
    expect(x.qualification).toBe(0x30fc); // the EFLAGS push at ESP - 4
    expect(x.idtVectoringInfo >>> 0).toBe(0x80000430);
  });

  it('root operation after the exit reaches the real page', () => {
    const g = guest(0x40, 0);
    g.code(`mov eax, [${APAGE + 0x300}]`);
    g.exit();
    expect(g.c.apicAccessPage).toBe(-1);
    expect(g.m.exec(`mov eax, [${APAGE + 0x80}]`)).toBeNull();
    expect(g.c.r32[0] >>> 0).toBe(0x12345678);
  });
});
