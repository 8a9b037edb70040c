// "Unrestricted guest" (secondary control bit 7, Westmere and later; VM entry requires "enable
// EPT" with it, §27.2.1.1): the guest may run with CR0.PE = 0 (real mode) or CR0.PG = 0
// (unpaged protected mode), its linear addresses then being guest-physical addresses translated
// by EPT (cpu/nested-paging.ts). These are the guest-state checks of VM entry that the control
// relaxes, for the guest-state checks to call (SDM Vol. 3C §27.3.1.1 "Checks on Guest Control
// Registers, Debug Registers, and MSRs", §27.3.1.2 "Checks on Guest Segment Registers",
// §27.3.1.4 "Checks on Guest RIP, RFLAGS, and SSP"). Each returns null when the check passes,
// else which check failed (a VM-entry failure with basic reason 33, qualification 0).
import { Cr0, Flag } from '../../cpu/regs';
import type { VmxCapabilities } from '../capabilities';
import { ProcBasedCtls2 } from '../controls';
import { VmcsField as V } from '../fields';
import type { VmcsReader } from '../vmcs';
import { secondaryControls } from './unit';

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** "unrestricted guest" as VM entry applies it (0 unless "activate secondary controls"). */
export function unrestrictedGuest(v: VmcsReader): boolean {
  return (secondaryControls(v) & ProcBasedCtls2.UnrestrictedGuest) !== 0;
}

/** The CR0 bits a guest's CR0 field must have set: IA32_VMX_CR0_FIXED0, except PE and PG for an
 *  unrestricted guest (§27.3.1.1: "PE and PG are not checked if unrestricted guest is 1"). */
export function guestCr0MustBe1(caps: VmxCapabilities, ug: boolean): number {
  return (ug ? caps.cr0Fixed0 & ~(Cr0.PE | Cr0.PG) : caps.cr0Fixed0) >>> 0;
}

/** §27.3.1.1 on the CR0 field: the fixed bits (relaxed as above), and PG = 1 only with PE = 1. */
export function guestCr0Problem(caps: VmxCapabilities, cr0: number, ug: boolean): string | null {
  const must = guestCr0MustBe1(caps, ug);
  if (((cr0 & must) >>> 0) !== must) return `guest CR0 ${hex(cr0)} clears bits IA32_VMX_CR0_FIXED0 requires (${hex(must & ~cr0)})`;
  if ((cr0 & ~caps.cr0Fixed1) !== 0) return `guest CR0 ${hex(cr0)} sets bits IA32_VMX_CR0_FIXED1 forbids`;
  if ((cr0 & Cr0.PG) !== 0 && (cr0 & Cr0.PE) === 0) return `guest CR0 ${hex(cr0)} sets PG without PE`;
  return null;
}

/** §27.3.1.4: RFLAGS.VM must be 0 when CR0.PE is 0 (an unrestricted real-mode guest). */
export function guestRflagsVmProblem(rflags: number, cr0: number): string | null {
  return (rflags & Flag.VM) !== 0 && (cr0 & Cr0.PE) === 0 ? `guest RFLAGS ${hex(rflags)} sets VM with CR0.PE = 0` : null;
}

const DATA_SEGS: readonly [V, V, string][] = [
  [V.GuestDsSelector, V.GuestDsAccessRights, 'DS'], [V.GuestEsSelector, V.GuestEsAccessRights, 'ES'],
  [V.GuestFsSelector, V.GuestFsAccessRights, 'FS'], [V.GuestGsSelector, V.GuestGsAccessRights, 'GS'],
];
const UNUSABLE = 1 << 16;
const dpl = (ar: number): number => (ar >>> 5) & 3;

/**
 * The §27.3.1.2 checks that depend on "unrestricted guest", for a guest that will not be
 * virtual-8086 (the virtual-8086 checks do not change): the SS selector's RPL, the CS type, and
 * the DPLs of CS, SS, DS, ES, FS and GS. The other segment checks (S, P, reserved bits, G
 * against the limit, TR and LDTR) apply to every guest alike.
 *  - SS selector: RPL = CS.RPL, unless unrestricted guest.
 *  - CS type: 9, 11, 13 or 15 (accessed code); 3 (read/write accessed data) too with
 *    unrestricted guest.
 *  - CS DPL: 0 for type 3; = SS.DPL for types 9 and 11; <= SS.DPL for types 13 and 15.
 *  - SS DPL: = SS.RPL unless unrestricted guest; 0 when CS type is 3 or CR0.PE is 0.
 *  - DS, ES, FS, GS usable with type 0-11: DPL >= RPL, unless unrestricted guest.
 */
export function guestSegmentDplProblem(v: VmcsReader, ug: boolean): string | null {
  const csSel = v.lo(V.GuestCsSelector) & 0xffff, ssSel = v.lo(V.GuestSsSelector) & 0xffff;
  const csAr = v.lo(V.GuestCsAccessRights), ssAr = v.lo(V.GuestSsAccessRights);
  const cr0 = v.lo(V.GuestCr0);
  if (!ug && (ssSel & 3) !== (csSel & 3)) return `guest SS selector RPL ${ssSel & 3} differs from CS RPL ${csSel & 3}`;
  const csType = csAr & 0xf;
  const csTypeOk = csType === 9 || csType === 11 || csType === 13 || csType === 15 || (ug && csType === 3);
  if (!csTypeOk) return `guest CS type ${csType} is not an accessed code segment${ug ? ' or 3' : ''}`;
  if (csType === 3 && dpl(csAr) !== 0) return `guest CS type 3 with DPL ${dpl(csAr)}, must be 0`;
  if ((csType === 9 || csType === 11) && dpl(csAr) !== dpl(ssAr)) return `guest CS DPL ${dpl(csAr)} differs from SS DPL ${dpl(ssAr)} (non-conforming code)`;
  if ((csType === 13 || csType === 15) && dpl(csAr) > dpl(ssAr)) return `guest CS DPL ${dpl(csAr)} is greater than SS DPL ${dpl(ssAr)} (conforming code)`;
  if (!ug && dpl(ssAr) !== (ssSel & 3)) return `guest SS DPL ${dpl(ssAr)} differs from its RPL ${ssSel & 3}`;
  if ((csType === 3 || (cr0 & Cr0.PE) === 0) && dpl(ssAr) !== 0) {
    return `guest SS DPL ${dpl(ssAr)} must be 0 ${csType === 3 ? 'with CS type 3' : 'with CR0.PE = 0'}`;
  }
  if (!ug) {
    for (const [selF, arF, name] of DATA_SEGS) {
      const ar = v.lo(arF), sel = v.lo(selF) & 0xffff;
      if ((ar & UNUSABLE) === 0 && (ar & 0xf) <= 11 && dpl(ar) < (sel & 3)) return `guest ${name} DPL ${dpl(ar)} is less than its RPL ${sel & 3}`;
    }
  }
  return null;
}
