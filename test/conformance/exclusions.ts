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

/** Instructions a P6 accepts LOCK on, when the destination is memory (SDM Vol. 2B, LOCK). */
const LOCKABLE = /^lock (add|adc|and|btc|btr|bts|cmpxchg|cmpxchg8b|dec|inc|neg|not|or|sbb|sub|xor|xadd|xchg) (byte |word |dword )?\[/;

/**
 * Tests excluded by rule rather than by number. LOCK: the 80286 ignores a LOCK prefix on any
 * instruction, while a P6 raises #UD for LOCK on an instruction that cannot be locked or on a
 * register destination (SDM Vol. 2B, LOCK: "#UD if the LOCK prefix is used with an
 * instruction not listed"). A test whose disassembly starts with `lock` and is not a lockable
 * read-modify-write of memory is therefore a documented 286/P6 difference.
 */
export function excludedByRule(name: string): string | undefined {
  if (name.startsWith('lock ') && !LOCKABLE.test(name)) return 'LOCK on a non-lockable form: #UD on P6, ignored by the 286';
  // 8C/8E with ModRM reg 4/5 name FS/GS, which the 286 does not have (#UD there; P6 defines them).
  if (/^mov .*\b[fg]s\b/.test(name)) return 'MOV to/from FS/GS: no such registers on the 286';
  return undefined;
}

const STACK_GP = 'stack-segment overrun: the 286 raises #GP(13) in real mode, a P6 raises #SS(12) (SDM Vol. 2, real-address-mode exceptions: "#SS if a memory operand effective address is outside the SS segment limit")';
const STRING_ADVANCE = 'word string access at offset 0xFFFF: the 286 advances SI/DI before raising #GP(13); a P6 faults with SI/DI unchanged (fault semantics, SDM Vol. 3A §6.5)';
const RC_OF = 'RCL/RCR with a count that is a multiple of 9 (17 for words) but not 0: the 286 still rewrites OF; on a P6 OF is undefined for counts other than 1 and Bochs leaves flags untouched when the rotate count reduces to 0 (SDM RCL/RCR: tempCOUNT = (COUNT AND 1FH) MOD 9)';

export const EXCLUSIONS: Exclusion[] = [
  // Stack-segment overruns (BP/SP-based word access at offset 0xFFFF).
  { stem: '1F', tests: [1420], reason: STACK_GP },
  { stem: '85', tests: [1843], reason: STACK_GP },
  { stem: 'C9', tests: [1983, 3138, 4742, 3135], reason: STACK_GP },
  { stem: 'CB', tests: [194], reason: STACK_GP },
  { stem: 'AD', tests: [4546], reason: `${STACK_GP}; ${STRING_ADVANCE}` },
  // String instructions at offset 0xFFFF.
  { stem: '6D', tests: [240, 851, 53], reason: STRING_ADVANCE },
  { stem: '6F', tests: [1236], reason: STRING_ADVANCE },
  { stem: 'A5', tests: [4476, 600, 3586, 2279, 3476, 4023, 1420, 1764], reason: STRING_ADVANCE },
  { stem: 'A7', tests: [3476, 4039, 1420], reason: STRING_ADVANCE },
  { stem: 'AB', tests: [4039, 2290, 921, 2661], reason: STRING_ADVANCE },
  { stem: 'AD', tests: [2244, 2369, 60, 3135], reason: STRING_ADVANCE },
  { stem: 'AF', tests: [2279], reason: STRING_ADVANCE },
  // Instruction length: 12 bytes with five prefixes.
  { stem: '81.7', tests: [3996], reason: 'instruction longer than 10 bytes: #GP(13) on the 286; a P6 allows 15 bytes (SDM Vol. 2A §2.3.11)' },
  // Undefined flags.
  { stem: 'C0.2', tests: [2117, 4664], reason: RC_OF },
  { stem: 'C0.3', tests: [4875, 60, 1350], reason: RC_OF },
];
