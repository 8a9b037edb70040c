// The exit qualification of an EPT violation (SDM Vol. 3C §28.2.1 "Basic VM-Exit Information",
// Table "Exit Qualification for EPT Violations"). vmxlab reports neither mode-based execute
// control nor advanced VM-exit information for EPT violations (IA32_VMX_EPT_VPID_CAP[22]), so
// bit 6 and bits 9-11 are 0, and no shadow-stack or guest-paging-verification bits (13-16).
//
//   [0]  data read            [1] data write           [2] instruction fetch
//   [3]  readable: bit 0 of the EPT entries used, ANDed   [4] writable: bit 1 ANDed
//   [5]  executable: bit 2 ANDed                          [6] user-mode executable (MBEC: 0)
//   [7]  guest-linear-address field valid (clear for the PDPTE loads of MOV to CR0/CR3/CR4)
//   [8]  with bit 7: the access is to the translation of the linear address (1) rather than to
//        a guest paging-structure entry during a walk or an accessed/dirty update (0)
//   [12] NMI unblocking due to IRET
// With EPT accessed/dirty flags enabled, accesses to guest paging structures are treated as
// writes and set both bits 0 and 1 (§28.2.1 note; §29.3.3.2).

export enum EptViolationQual {
  Read = 1 << 0,
  Write = 1 << 1,
  Fetch = 1 << 2,
  Readable = 1 << 3,
  Writable = 1 << 4,
  Executable = 1 << 5,
  UserExecutable = 1 << 6,
  GuestLinearValid = 1 << 7,
  Translation = 1 << 8,
  NmiUnblocking = 1 << 12,
}

/** Builds the qualification: `access` in bits 2:0, the ANDed permission bits 2:0 of the EPT
 *  entries in bits 5:3, then the linear-address and NMI bits. */
export function eptViolationQualification(access: number, perm: number, glaValid: boolean, translation: boolean, nmiUnblocking: boolean): number {
  return (access & 7) | ((perm & 7) << 3) |
    (glaValid ? EptViolationQual.GuestLinearValid | (translation ? EptViolationQual.Translation : 0) : 0) |
    (nmiUnblocking ? EptViolationQual.NmiUnblocking : 0);
}

const NAMES: readonly [EptViolationQual, string][] = [
  [EptViolationQual.Read, 'read'], [EptViolationQual.Write, 'write'], [EptViolationQual.Fetch, 'fetch'],
];

/** 'write to a page that is R-X (linear address valid, translation)' style text for reports. */
export function describeEptViolation(q: number): string {
  const what = NAMES.filter(([b]) => (q & b) !== 0).map(([, n]) => n).join('+') || 'access';
  const perm = ((q & EptViolationQual.Readable) !== 0 ? 'R' : '-') + ((q & EptViolationQual.Writable) !== 0 ? 'W' : '-') +
    ((q & EptViolationQual.Executable) !== 0 ? 'X' : '-');
  const where = (q & EptViolationQual.GuestLinearValid) === 0 ? 'no linear address' :
    (q & EptViolationQual.Translation) !== 0 ? 'translation of the linear address' : 'guest paging-structure entry';
  return `${what} of a page that is ${perm} (${where}${(q & EptViolationQual.NmiUnblocking) !== 0 ? ', NMI unblocked by IRET' : ''})`;
}
