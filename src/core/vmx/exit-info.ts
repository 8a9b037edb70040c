// The bit layouts of VM-exit information (SDM Vol. 3C §28.2 "Recording VM-Exit Information and
// Updating VM-Entry Control Fields"; tables numbered as in the 2023 edition, chapter 28 "VM
// Exits"), drawn next to the code that builds them. Bits the SDM calls undefined are written 0.
import type { Cpu } from '../cpu/cpu';
import { Seg } from '../cpu/regs';

// ---- Interruption information ---------------------------------------------------------------
// VM-entry interruption information (§25.8.3), VM-exit interruption information (§25.9.2) and
// IDT-vectoring information (§25.9.3) share one layout:
//   [7:0]   vector
//   [10:8]  interruption type: 0 external interrupt, 2 NMI, 3 hardware exception, 4 software
//           interrupt, 5 privileged software exception, 6 software exception, 7 other event
//   [11]    error code valid (deliver error code, for VM entry)
//   [12]    exit interruption information: NMI unblocking due to IRET; IDT-vectoring: undefined
//   [30:13] reserved (0)
//   [31]    valid
export enum IntrType {
  External = 0, Nmi = 2, HardwareException = 3, SoftwareInterrupt = 4, PrivilegedSoftwareException = 5,
  SoftwareException = 6, Other = 7,
}
export const INTR_ERROR_CODE = 1 << 11;
export const INTR_NMI_UNBLOCKING = 1 << 12;
export const INTR_VALID = (1 << 31) | 0;

export function interruptionInfo(vector: number, type: IntrType, errorCode: boolean): number {
  return (vector & 0xff) | (type << 8) | (errorCode ? INTR_ERROR_CODE : 0) | INTR_VALID;
}

// ---- Exit qualifications (§28.2.1) ----------------------------------------------------------

/** Table 28-2, task switch:
 *   [15:0]  selector of the task-state segment switched to
 *   [29:16] reserved (0)
 *   [31:30] source: 0 CALL, 1 IRET, 2 JMP, 3 task gate in the IDT */
export function taskSwitchQualification(selector: number, source: number): number {
  return ((selector & 0xffff) | ((source & 3) << 30)) >>> 0;
}

/** Table 28-3, control-register accesses:
 *   [3:0]   control register number (0 for CLTS and LMSW)
 *   [5:4]   access type: 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW
 *   [6]     LMSW operand type: 0 register, 1 memory
 *   [7]     reserved (0)
 *   [11:8]  MOV CR: the general-purpose register (0 EAX, 1 ECX, ... 7 EDI)
 *   [15:12] reserved (0)
 *   [31:16] LMSW source data */
export enum CrAccessType { MovToCr = 0, MovFromCr = 1, Clts = 2, Lmsw = 3 }
export function crAccessQualification(cr: number, type: CrAccessType, gpr: number, lmswMemory: boolean, lmswSource: number): number {
  return ((cr & 0xf) | (type << 4) | (lmswMemory ? 1 << 6 : 0) | ((gpr & 0xf) << 8) | ((lmswSource & 0xffff) << 16)) >>> 0;
}

/** Table 28-4, MOV DR:
 *   [2:0]   debug register number
 *   [3]     reserved (0)
 *   [4]     direction: 0 MOV to DR, 1 MOV from DR
 *   [7:5]   reserved (0)
 *   [11:8]  general-purpose register
 *   [31:12] reserved (0) */
export function movDrQualification(dr: number, toDr: boolean, gpr: number): number {
  return (dr & 7) | (toDr ? 0 : 1 << 4) | ((gpr & 0xf) << 8);
}

/** Table 28-5, I/O instructions:
 *   [2:0]   size of access: 0 1-byte, 1 2-byte, 3 4-byte
 *   [3]     direction: 0 OUT, 1 IN
 *   [4]     string instruction
 *   [5]     REP prefixed
 *   [6]     operand encoding: 0 DX, 1 immediate
 *   [15:7]  reserved (0)
 *   [31:16] port number */
export function ioQualification(port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): number {
  return ((size - 1) | (input ? 1 << 3 : 0) | (str ? 1 << 4 : 0) | (rep ? 1 << 5 : 0) | (imm ? 1 << 6 : 0) | ((port & 0xffff) << 16)) >>> 0;
}

/** Table 28-1, debug exceptions (#DB exits): B3-B0 in [3:0], BD in [13], BS in [14] (the DR6
 *  bits the exception would have set). */
export const DB_QUAL_MASK = 0x600f;

// ---- Instruction information (§28.2.5) ------------------------------------------------------
// The memory-operand formats of Tables 28-9 to 28-14 share these fields:
//   [1:0]   scaling: 0 none, 1 by 2, 2 by 4, 3 by 8 (undefined without an index register)
//   [9:7]   address size: 0 16-bit, 1 32-bit, 2 64-bit
//   [17:15] segment register: 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS
//   [21:18] index register (undefined when [22] is set)
//   [22]    index register invalid
//   [26:23] base register (undefined when [27] is set)
//   [27]    base register invalid
// and per table:
//   Table 28-8  INS/OUTS: only [9:7] and (OUTS) [17:15]; the rest undefined
//   Table 28-9  INVEPT/INVPCID/INVVPID: [10] = 0, [31:28] reg2 (the type register)
//   Table 28-10 LGDT/LIDT/SGDT/SIDT: [11] operand size (0 16-bit, 1 32-bit), [29:28] identity
//               (0 SGDT, 1 SIDT, 2 LGDT, 3 LIDT)
//   Table 28-11 LLDT/LTR/SLDT/STR: [6:3] reg1 (register form), [10] 0 memory / 1 register,
//               [29:28] identity (0 SLDT, 1 STR, 2 LLDT, 3 LTR)
//   Table 28-13 VMCLEAR/VMPTRLD/VMPTRST/VMXON: [10] = 0
//   Table 28-14 VMREAD/VMWRITE: [6:3] reg1 (register form), [10] memory / register,
//               [31:28] reg2 (the field-encoding register)
export const II_REGISTER = 1 << 10;
export const II_INDEX_INVALID = 1 << 22;
export const II_BASE_INVALID = 1 << 27;

/** A ModRM operand decoded again from the instruction's bytes (the interpreter keeps only the
 *  effective address; an exit needs its parts). */
export class OperandParts {
  /** ModRM.reg. */
  reg = 0;
  /** True for a memory operand; false: register `rm`. */
  memory = false;
  rm = 0;
  /** -1: none. */
  base = -1;
  index = -1;
  scale = 0;
  /** Displacement, sign-extended to 32 bits. */
  disp = 0;
  addr32 = true;
  /** 64-bit addressing (64-bit mode without 67H): address size 2 in bits 9:7 (§28.2.5). */
  addr64 = false;
  /** The segment of the effective address (override or default). */
  seg = Seg.DS;
}

const PREFIXES = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIXES[p] = 1;

// 16-bit addressing: base and index register of ModRM.rm 0-7 (BX+SI, BX+DI, BP+SI, BP+DI, SI,
// DI, BP, BX); register numbers as in the 32-bit encoding (3 EBX, 5 EBP, 6 ESI, 7 EDI).
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

/**
 * Decodes the ModRM operand of the current instruction (prefixes, then 0F [38|3A] xx or a
 * one-byte opcode, then ModRM/SIB/displacement) from its bytes at CS:instrStart, after the
 * interpreter fetched them (they are in the TLB). The segment is the one the interpreter chose
 * (`eaSeg`: override or default).
 */
export function decodeOperand(c: Cpu, o: OperandParts): void {
  const mask = c.code32 ? 0xffffffff : 0xffff, base = c.segBase[Seg.CS];
  let k = 0;
  const byte = (): number => c.readLin8((base + ((c.instrStart + k++) & mask)) | 0);
  let b = byte();
  while (PREFIXES[b] !== 0 && k < 15) b = byte();
  if (b === 0x0f) { b = byte(); if (b === 0x38 || b === 0x3a) byte(); }
  const m = byte();
  const mod = m >> 6, rm = m & 7;
  o.reg = (m >> 3) & 7; o.rm = rm;
  o.memory = mod !== 3; o.addr32 = c.as32; o.addr64 = false; o.seg = c.eaSeg;
  o.base = -1; o.index = -1; o.scale = 0; o.disp = 0;
  if (!o.memory) return;
  const d8 = (): number => (byte() << 24) >> 24;
  const d16 = (): number => { const lo = byte(); return ((lo | (byte() << 8)) << 16) >> 16; };
  const d32 = (): number => { const a = byte(), b2 = byte(), c2 = byte(); return a | (b2 << 8) | (c2 << 16) | (byte() << 24); };
  if (!c.as32) {
    if (mod === 0 && rm === 6) { o.disp = d16(); return; }
    o.base = BASE16[rm]; o.index = INDEX16[rm];
    o.disp = mod === 1 ? d8() : mod === 2 ? d16() : 0;
    return;
  }
  if (rm === 4) {
    const sib = byte();
    const sb = sib & 7, si = (sib >> 3) & 7;
    o.scale = sib >> 6;
    if (si !== 4) o.index = si;
    if (sb === 5 && mod === 0) o.disp = d32(); else o.base = sb;
  } else if (rm === 5 && mod === 0) {
    o.disp = d32();
    return;
  } else o.base = rm;
  if (mod === 1) o.disp = d8(); else if (mod === 2) o.disp = d32();
}

/** The memory-operand fields shared by Tables 28-9 to 28-14 (scaling, address size, segment,
 *  index and base registers with their invalid bits). */
export function memoryOperandInfo(o: OperandParts): number {
  let v = ((o.addr64 ? 2 : o.addr32 ? 1 : 0) << 7) | ((o.seg & 7) << 15);
  if (o.index >= 0) v |= (o.scale & 3) | ((o.index & 0xf) << 18); else v |= II_INDEX_INVALID;
  if (o.base >= 0) v |= (o.base & 0xf) << 23; else v |= II_BASE_INVALID;
  return v >>> 0;
}

/** Instruction information for the register-or-memory formats (Tables 28-11 and 28-14): reg1
 *  and bit 10 for a register operand, the memory fields otherwise. */
export function regOrMemInfo(o: OperandParts): number {
  return o.memory ? memoryOperandInfo(o) : (((o.rm & 0xf) << 3) | II_REGISTER) >>> 0;
}
