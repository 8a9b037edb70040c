// Register, segment and flag names, defined once (SDM Vol. 1 §3.4, Vol. 3A §2.5).
// GPRs are laid out as 16 slots (RAX..R15) so that x86-64 can extend them without
// a rewrite: slot i holds the low 32 bits in `Cpu.r32[i]`, the high halves live in
// `Cpu.r32hi[i]` (unused until long mode).

export enum Reg { EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7 }
export const REG_NAMES32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export const REG_NAMES16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
export const REG_NAMES8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'] as const;

/** Segment register slots; LDTR and TR share the descriptor-cache arrays. */
export enum Seg { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7 }
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

/** EFLAGS bits (SDM Vol. 1 §3.4.3). */
export enum Flag {
  CF = 1 << 0, Reserved1 = 1 << 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7,
  TF = 1 << 8, IF = 1 << 9, DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14,
  RF = 1 << 16, VM = 1 << 17, AC = 1 << 18, VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21,
}
export const ARITH_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/** CR0 bits (SDM Vol. 3A §2.5). */
export enum Cr0 {
  PE = 1 << 0, MP = 1 << 1, EM = 1 << 2, TS = 1 << 3, ET = 1 << 4, NE = 1 << 5,
  WP = 1 << 16, AM = 1 << 18, NW = 1 << 29, CD = 1 << 30, PG = 1 << 31,
}
/** CR4 bits (SDM Vol. 3A §2.5). */
export enum Cr4 {
  VME = 1 << 0, PVI = 1 << 1, TSD = 1 << 2, DE = 1 << 3, PSE = 1 << 4, PAE = 1 << 5,
  MCE = 1 << 6, PGE = 1 << 7, PCE = 1 << 8, OSFXSR = 1 << 9, OSXMMEXCPT = 1 << 10,
  UMIP = 1 << 11, VMXE = 1 << 13, SMXE = 1 << 14, FSGSBASE = 1 << 16, PCIDE = 1 << 17,
  OSXSAVE = 1 << 18, SMEP = 1 << 20, SMAP = 1 << 21,
}
/** IA32_EFER bits (SDM Vol. 3A §2.2.1). */
export enum Efer { SCE = 1 << 0, LME = 1 << 8, LMA = 1 << 10, NXE = 1 << 11 }

/** Exception vectors (SDM Vol. 3A §6.3.1, Table 6-1). */
export enum Vector {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
  CSO = 9, TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19,
  VE = 20,
}
export const VECTOR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Vector).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, `#${k}`]),
);

/** Descriptor-cache attribute bits as stored in `Cpu.segAttr` (the descriptor's byte 5 and
 * the upper nibble of byte 6, i.e. the VMX access-rights layout, SDM Vol. 3C §24.4.1). */
export enum SegAttr {
  TypeMask = 0xf, Accessed = 1, S = 1 << 4, DplShift = 5, DplMask = 3 << 5, P = 1 << 7,
  AVL = 1 << 12, L = 1 << 13, DB = 1 << 14, G = 1 << 15, Unusable = 1 << 16,
}
