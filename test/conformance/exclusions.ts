// Every difference between the recorded 80286 and the P6-class CPU vmxlab models, in one
// place, each with its reason (see ../shared/testdata/singlestep-80286/README.md).
// An entry without `tests` skips a whole file; with `tests`, only those test idx values.

/**
 * FLAGS bits 12-15 are masked in every comparison: in real mode the 286 cannot set IOPL/NT
 * (bits 12-14 always read 0, bit 15 is 0), while a P6 keeps what POPF/IRET load. Applied to the
 * initial state, the final FLAGS and FLAGS images pushed by exceptions.
 */
export const FLAGS_ALWAYS_MASKED = 0xf000;

export interface Exclusion { stem: string; reason: string; tests?: number[] }

export const EXCLUSIONS: Exclusion[] = [
];
