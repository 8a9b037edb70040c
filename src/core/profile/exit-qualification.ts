// Bit layouts of the VM-exit information fields the profiler decodes, drawn from the SDM as
// Bochs does, next to the code that reads them. Section and table numbers are those of the
// current SDM Vol. 3C (VM exits in chapter 28); older editions number the same chapter 27 (so
// "Table 28-5" there is "Table 27-5"): the titles, quoted here, are the same.
// Every enum here is defined once; labels are derived from the enum names (enumLabel).

/** The name of `value` in a numeric TypeScript enum, or undefined. */
export function enumName(e: Record<string, string | number>, value: number): string | undefined {
  const n = e[value];
  return typeof n === 'string' ? n : undefined;
}

/** `Name` from the enum, or `fallback(value)` for values the enum does not name. */
export function enumLabel(e: Record<string, string | number>, value: number, fallback = (v: number) => `${v}`): string {
  return enumName(e, value) ?? fallback(value);
}

/** 'IoInstruction' -> 'IO_INSTRUCTION' (the style of KVM's and perf's exit names). */
export function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toUpperCase();
}

// ---- I/O instructions: Table 28-5 "Exit Qualification for I/O Instructions" (§28.2.1)
//   [2:0]   size of access - 1 (0 = 1 byte, 1 = 2 bytes, 3 = 4 bytes)
//   [3]     direction: 0 = OUT, 1 = IN
//   [4]     string instruction (INS/OUTS)
//   [5]     REP prefixed
//   [6]     operand encoding: 0 = DX, 1 = immediate
//   [15:7]  reserved (0)
//   [31:16] port number
export enum IoQual {
  SizeMask = 0x7,
  DirectionIn = 1 << 3,
  String = 1 << 4,
  Rep = 1 << 5,
  Immediate = 1 << 6,
}
export const IO_PORT_SHIFT = 16;
export enum IoDirection { Out = 0, In = 1 }

// ---- Control-register accesses: Table 28-3 "Exit Qualification for Control-Register Accesses"
//   [3:0]   control register number (0 for CLTS and LMSW)
//   [5:4]   access type (CrAccessType)
//   [6]     LMSW operand type: 0 = register, 1 = memory
//   [11:8]  general-purpose register for MOV CR (0 = EAX ... 7 = EDI)
//   [31:16] LMSW source data
export enum CrAccessType { MovToCr = 0, MovFromCr = 1, Clts = 2, Lmsw = 3 }
export const CR_NUMBER_MASK = 0xf;
export const CR_ACCESS_SHIFT = 4;

// ---- MOV DR: Table 28-4 "Exit Qualification for MOV DR"
//   [2:0]   debug register number
//   [4]     direction: 0 = MOV to DR, 1 = MOV from DR
//   [11:8]  general-purpose register
export enum DrAccessType { MovToDr = 0, MovFromDr = 1 }
export const DR_NUMBER_MASK = 0x7;
export const DR_DIRECTION_SHIFT = 4;

// ---- Task switch: Table 28-2 "Exit Qualification for Task Switch"
//   [15:0]  selector of the task-state segment
//   [31:30] source of the task switch (TaskSwitchSource)
export enum TaskSwitchSource { Call = 0, Iret = 1, Jmp = 2, TaskGateInIdt = 3 }

// ---- EPT violations: Table 28-7 "Exit Qualification for EPT Violations"
//   [0] data read  [1] data write  [2] instruction fetch
//   [3] readable   [4] writable    [5] executable (the EPT entry's permissions)
//   [7] guest-linear address field valid  [8] access to the final translation (not a paging walk)
export enum EptAccess { Read = 1 << 0, Write = 1 << 1, Fetch = 1 << 2 }
export const EPT_ACCESS_MASK = 0x7;
export const EPT_QUAL_LINEAR_VALID = 1 << 7;

// ---- APIC-access VM exits: Table 28-6 "Exit Qualification for APIC-Access VM Exits from
// Linear Accesses and Guest-Physical Accesses"
//   [11:0]  page offset (linear accesses)
//   [15:12] access type (ApicAccessType)
export enum ApicAccessType {
  LinearRead = 0, LinearWrite = 1, LinearFetch = 2, LinearEventDelivery = 3,
  GuestPhysicalEventDelivery = 10, GuestPhysicalFetch = 15,
}

// ---- VM-exit interruption information and IDT-vectoring information (Vol. 3C §25.9.2 and
// §25.9.3, tables "Format of the VM-Exit Interruption-Information Field" and "Format of the
// IDT-Vectoring Information Field"; the same layout):
//   [7:0] vector  [10:8] type (InterruptionType)  [11] error code valid  [12] NMI unblocking
//   due to IRET (interruption information only)  [31] valid
export enum InterruptionType {
  ExternalInterrupt = 0, Nmi = 2, HardwareException = 3, SoftwareInterrupt = 4,
  PrivilegedSoftwareException = 5, SoftwareException = 6, OtherEvent = 7,
}
export const INTR_VECTOR_MASK = 0xff;
export const INTR_TYPE_SHIFT = 8;
export const INTR_ERROR_CODE_VALID = 1 << 11;
export const INTR_VALID = (1 << 31) | 0;

// ---- Instruction information for LIDT/LGDT/SIDT/SGDT and LLDT/LTR/SLDT/STR (§28.2 "Information
// for VM Exits Due to Instruction Execution", tables
// "Format of the VM-Exit Instruction-Information Field as Used for LIDT, LGDT, SIDT, or SGDT"
// and "... for LLDT, LTR, SLDT, and STR"): [29:28] instruction identity.
export enum GdtrIdtrInstruction { Sgdt = 0, Sidt = 1, Lgdt = 2, Lidt = 3 }
export enum LdtrTrInstruction { Sldt = 0, Str = 1, Lldt = 2, Ltr = 3 }
export const DESC_INSTR_SHIFT = 28;
