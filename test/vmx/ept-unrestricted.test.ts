// The guest-state checks "unrestricted guest" relaxes (SDM Vol. 3C §27.3.1.1, §27.3.1.2,
// §27.3.1.4): CR0.PE/PG, the SS selector RPL, CS type 3, the DPL rules, RFLAGS.VM.
import { describe, expect, it } from 'vitest';
import { Cr0, Flag } from '../../src/core/cpu/regs';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { CurrentVmcs } from '../../src/core/vmx/vmcs';
import {
  guestCr0MustBe1, guestCr0Problem, guestRflagsVmProblem, guestSegmentDplProblem, unrestrictedGuest,
} from '../../src/core/vmx/ept/unrestricted';

const caps = capabilitiesFor(generation('westmere'), cpuModelFor(generation('westmere')));

/** A VMCS with a real-mode guest's segments (selectors 0, 16-bit data/code access rights). */
function realMode(): CurrentVmcs {
  const v = new CurrentVmcs();
  v.setLo(V.GuestCr0, Cr0.NE | Cr0.ET);
  for (const [sel, ar] of [[V.GuestEsSelector, V.GuestEsAccessRights], [V.GuestSsSelector, V.GuestSsAccessRights], [V.GuestDsSelector, V.GuestDsAccessRights],
    [V.GuestFsSelector, V.GuestFsAccessRights], [V.GuestGsSelector, V.GuestGsAccessRights]] as const) {
    v.setLo(sel, 0); v.setLo(ar, 0x93);
  }
  v.setLo(V.GuestCsSelector, 0); v.setLo(V.GuestCsAccessRights, 0x9b);
  return v;
}

describe('unrestricted guest: guest-state relaxations', () => {
  it('is the secondary control bit 7, and only with "activate secondary controls"', () => {
    const v = new CurrentVmcs();
    v.setLo(V.ProcBasedControls2, 1 << 7);
    expect(unrestrictedGuest(v)).toBe(false);
    v.setLo(V.ProcBasedControls, 1 << 31);
    expect(unrestrictedGuest(v)).toBe(true);
  });

  it('CR0: PE and PG are not checked against IA32_VMX_CR0_FIXED0, NE still is, and PG needs PE', () => {
    expect((guestCr0MustBe1(caps, false) & (Cr0.PE | Cr0.PG)) >>> 0).toBe((Cr0.PE | Cr0.PG) >>> 0);
    expect(guestCr0MustBe1(caps, true)).toBe(Cr0.NE);
    expect(guestCr0Problem(caps, Cr0.NE | Cr0.ET, true)).toBeNull();
    expect(guestCr0Problem(caps, Cr0.NE | Cr0.ET, false)).toMatch(/clears bits IA32_VMX_CR0_FIXED0 requires \(0x80000001\)/);
    expect(guestCr0Problem(caps, Cr0.ET | Cr0.PE, true)).toMatch(/0x00000020/);
    expect(guestCr0Problem(caps, (Cr0.NE | Cr0.PG) >>> 0, true)).toMatch(/PG without PE/);
    expect(guestCr0Problem(caps, (Cr0.NE | Cr0.PE | Cr0.PG) >>> 0, false)).toBeNull();
  });

  it('a real-mode guest passes the segment checks with the control and fails without it (CS type 11 needed)', () => {
    const v = realMode();
    expect(guestSegmentDplProblem(v, true)).toBeNull();
    v.setLo(V.GuestCsAccessRights, 0x93); // CS as read/write data: type 3
    expect(guestSegmentDplProblem(v, true)).toBeNull();
    expect(guestSegmentDplProblem(v, false)).toMatch(/CS type 3 is not an accessed code segment/);
  });

  it('SS.RPL may differ from CS.RPL, and data DPL may be below RPL, only with the control', () => {
    const v = realMode();
    v.setLo(V.GuestCr0, Cr0.PE | Cr0.NE);
    v.setLo(V.GuestSsSelector, 0x13); v.setLo(V.GuestSsAccessRights, 0x93);
    expect(guestSegmentDplProblem(v, false)).toMatch(/SS selector RPL 3 differs from CS RPL 0/);
    expect(guestSegmentDplProblem(v, true)).toBeNull();
    const w = realMode();
    w.setLo(V.GuestCr0, Cr0.PE | Cr0.NE);
    w.setLo(V.GuestDsSelector, 0x23); // RPL 3, DPL 0
    expect(guestSegmentDplProblem(w, false)).toMatch(/DS DPL 0 is less than its RPL 3/);
    expect(guestSegmentDplProblem(w, true)).toBeNull();
    w.setLo(V.GuestDsAccessRights, 0x10000 | 0x93); // unusable: not checked
    expect(guestSegmentDplProblem(w, false)).toBeNull();
  });

  it('CS DPL rules: 0 for type 3, = SS.DPL for non-conforming code, <= SS.DPL for conforming', () => {
    const v = realMode();
    v.setLo(V.GuestCsAccessRights, 0x93 | (3 << 5));
    expect(guestSegmentDplProblem(v, true)).toMatch(/CS type 3 with DPL 3/);
    v.setLo(V.GuestCr0, Cr0.PE | Cr0.NE);
    v.setLo(V.GuestCsAccessRights, 0x9b | (3 << 5)); v.setLo(V.GuestCsSelector, 3);
    v.setLo(V.GuestSsAccessRights, 0x93); v.setLo(V.GuestSsSelector, 3);
    expect(guestSegmentDplProblem(v, true)).toMatch(/CS DPL 3 differs from SS DPL 0/);
    v.setLo(V.GuestCsAccessRights, 0x9f | (3 << 5)); // conforming, DPL 3 > SS.DPL 0
    expect(guestSegmentDplProblem(v, true)).toMatch(/greater than SS DPL 0/);
    v.setLo(V.GuestCsAccessRights, 0x9f); // conforming DPL 0 <= 0
    expect(guestSegmentDplProblem(v, true)).toBeNull();
  });

  it('SS DPL: = RPL without the control; 0 with CR0.PE = 0 or CS type 3', () => {
    const v = realMode();
    v.setLo(V.GuestSsAccessRights, 0x93 | (3 << 5)); v.setLo(V.GuestCsAccessRights, 0x9f);
    expect(guestSegmentDplProblem(v, true)).toMatch(/SS DPL 3 must be 0 with CR0.PE = 0/);
    v.setLo(V.GuestCr0, Cr0.PE | Cr0.NE);
    expect(guestSegmentDplProblem(v, true)).toBeNull();
    expect(guestSegmentDplProblem(v, false)).toMatch(/SS DPL 3 differs from its RPL 0/);
  });

  it('RFLAGS.VM with CR0.PE = 0 fails', () => {
    expect(guestRflagsVmProblem(Flag.VM | 2, Cr0.NE)).toMatch(/sets VM with CR0.PE = 0/);
    expect(guestRflagsVmProblem(Flag.VM | 2, Cr0.NE | Cr0.PE)).toBeNull();
    expect(guestRflagsVmProblem(2, Cr0.NE)).toBeNull();
  });
});
