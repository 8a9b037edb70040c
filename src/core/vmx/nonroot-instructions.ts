// Instructions in VMX non-root operation (SDM Vol. 3C §26.1 "Instructions That Cause VM Exits",
// §26.3 "Changes to Instruction Behavior in VMX Non-Root Operation"): whether each exits, with
// the exit qualification, instruction length and instruction information of §28.2, and what the
// instruction does instead when it does not exit (read shadows, owned CR bits, the TSC offset).
// The CPU core calls these through the VMX unit's hooks only while `Cpu.nonRoot`, after the
// checks that have priority over the exit (§26.1.1: #UD, CPL, the I/O permission #GP).
import type { Cpu } from '../cpu/cpu';
import { Cr0, Seg } from '../cpu/regs';
import type { RowExit } from '../cpu/vmx-hooks';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from './controls';
import { ExitReason } from './exit-reasons';
import {
  CrAccessType, OperandParts, crAccessQualification, decodeOperand, ioQualification, memoryOperandInfo,
  movDrQualification, regOrMemInfo, taskSwitchQualification,
} from './exit-info';
import { VmxFeature } from './features';
import { tprVirtualization, VTPR } from './apic-virtualization';
import { operandPartsLong } from './operands64';
import { D64 } from '../cpu/long/decode64';
import { numberHi, numberLo } from '../cpu/long/long-mode';
import type { VmxUnit } from './unit';

const operand = new OperandParts();

/** The current instruction's length (§28.2.5: for exits due to instruction execution). */
export function instructionLength(c: Cpu): number {
  return ((c.eip - c.instrStart) & (c.code32 ? 0xffffffff : 0xffff)) >>> 0;
}

/** A fault-like exit caused by the current instruction: RIP stays on it (§28.1). `qualHi`: bits
 *  63:32 of the qualification (64-bit mode). */
function exitOnCurrent(u: VmxUnit, reason: ExitReason, qualification: number, info = 0, linear = 0, qualHi = 0): never {
  fillExitInfo(u, qualification, info, linear);
  u.exitInfo.qualificationHi = qualHi;
  return u.exitAndUnwind(reason, u.cpu.instrStart);
}

/** The operand of the current VMX instruction (`operand`): re-decoded from its bytes, or in
 *  64-bit mode from the 64-bit decoder's state. The qualification of a memory operand is its
 *  displacement sign-extended to 64 bits; with RIP-relative addressing the displacement plus
 *  the next instruction's RIP (§28.2.1). */
function operandOf(c: Cpu): void {
  if (!c.mode64) { decodeOperand(c, operand); return; }
  operandPartsLong(operand);
  if (D64.ripRel && operand.memory) {
    const q = D64.disp + c.eip;
    operand.disp = numberLo(q); ripRelHi = numberHi(q);
  } else ripRelHi = operand.disp < 0 ? -1 : 0;
}
let ripRelHi = 0;
/** Bits 63:32 of the qualification operandOf computed: the sign extension on Intel 64 parts, 0 on
 *  the others (32-bit natural width). */
function dispHi(u: VmxUnit): number {
  if (u.cpu.mode64) return ripRelHi;
  return u.caps.isa.longMode && operand.disp < 0 ? -1 : 0;
}

/** exitOnCurrent without unwinding (VmxHooks.tryInstructionExit and friends): the row returns. */
function exitInPlace(u: VmxUnit, reason: ExitReason, qualification: number, info = 0, linear = 0): true {
  fillExitInfo(u, qualification, info, linear);
  u.exitInPlace(reason, u.cpu.instrStart);
  return true;
}

function fillExitInfo(u: VmxUnit, qualification: number, info: number, linear: number): void {
  const c = u.cpu, x = u.exitInfo;
  x.clear();
  x.qualification = qualification >>> 0;
  x.instructionLength = instructionLength(c);
  x.instructionInfo = info >>> 0;
  x.guestLinear = linear >>> 0;
}

/** The control word a row's exit column names. */
function controlWord(u: VmxUnit, f: ControlField): number {
  const k = u.ctl;
  switch (f) {
    case ControlField.PinBased: return k.pin;
    case ControlField.ProcBased: return k.proc;
    case ControlField.ProcBased2: return k.proc2;
    case ControlField.Exit: return k.exit;
    default: return k.entry;
  }
}

/** An instruction decided by its row's exit column alone: no control means unconditional. */
export function instructionExit(u: VmxUnit, x: RowExit, qualification: number): void {
  if (controlSet(u, x)) exitOnCurrent(u, x.reason, qualification);
}

/** instructionExit without unwinding: true when the exit was taken. */
export function tryInstructionExit(u: VmxUnit, x: RowExit, qualification: number): boolean {
  return controlSet(u, x) && exitInPlace(u, x.reason, qualification);
}

/** Whether the row's control (if any) is 1 in the running guest. */
function controlSet(u: VmxUnit, x: RowExit): boolean {
  const ctl = x.control;
  return ctl === undefined || (controlWord(u, ctl.field) & ctl.bit) !== 0;
}

/** RDRAND/RDSEED (§26.1.3 "RDRAND exiting", "RDSEED exiting"): instruction information as Table
 *  28-12 (RDRAND, RDSEED, TPAUSE, UMWAIT) draws it; the qualification is undefined (0):
 *    [2:0]   undefined (0)
 *    [6:3]   operand register (0 EAX ... 7 EDI)
 *    [10:7]  undefined (0)
 *    [12:11] operand size: 0 16-bit, 1 32-bit, 2 64-bit
 *    [31:13] undefined (0) */
export function registerInstructionExit(u: VmxUnit, x: RowExit, reg: number, os32: boolean): void {
  if (!controlSet(u, x)) return;
  // In 64-bit mode REX.W makes the operand 64-bit (size 2) and `reg` carries REX.B (0-15).
  const size = u.cpu.mode64 && D64.w ? 2 : os32 ? 1 : 0;
  exitOnCurrent(u, x.reason, 0, ((reg & 0xf) << 3) | (size << 11));
}

/** INVPCID (§26.1.3: "INVLPG exiting" with "enable INVPCID"): exit qualification = the memory
 *  operand's displacement, instruction information as Table 28-9 (INVEPT, INVPCID, INVVPID):
 *  the memory operand's fields and [31:28] reg2, the register holding the type. */
export function memoryOperandExit(u: VmxUnit, x: RowExit): void {
  if (!controlSet(u, x)) return;
  operandOf(u.cpu); // in 64-bit mode: address size 2, REX registers, the 64-bit displacement
  exitOnCurrent(u, x.reason, operand.disp, memoryOperandInfo(operand) | ((operand.reg & 0xf) << 28), 0, dispHi(u));
}

// ---- control registers (§26.1.3 "MOV to CR0/CR3/CR4", "MOV from CR3", CLTS, LMSW; §26.3) ----

function crExit(u: VmxUnit, cr: number, type: CrAccessType, gpr: number): never {
  return exitOnCurrent(u, ExitReason.CrAccess, crAccessQualification(cr, type, gpr, false, 0));
}

export function movToCr(u: VmxUnit, cr: number, gpr: number, value: number): number {
  const c = u.cpu, k = u.ctl;
  switch (cr) {
    case 0: case 4: {
      // A bit the guest/host mask owns that differs from its read shadow exits; otherwise
      // owned bits keep their values.
      const mask = cr === 0 ? k.cr0Mask : k.cr4Mask, shadow = cr === 0 ? k.cr0Shadow : k.cr4Shadow;
      if (((value ^ shadow) & mask) !== 0) crExit(u, cr, CrAccessType.MovToCr, gpr);
      return ((value & ~mask) | ((cr === 0 ? c.cr0 : c.cr4) & mask)) | 0;
    }
    case 3:
      if ((k.proc & ProcBasedCtls.Cr3LoadExiting) !== 0) {
        const v = value >>> 0;
        let target = false;
        for (let i = 0; i < k.cr3TargetCount && i < 4; i++) if (k.cr3Targets[i] === v) target = true;
        if (!target) crExit(u, 3, CrAccessType.MovToCr, gpr);
      }
      return value;
    default: // CR2: never exits
      u.guestCr2 = value >>> 0;
      return value;
  }
}

/** MOV to CR8 (64-bit mode, §26.1.3 "CR8-load exiting"; §30.3 with "use TPR shadow": VTPR[7:4]
 *  = bits 3:0 of the source, VTPR[3:0] and bytes 3:1 cleared, then TPR virtualization). True
 *  when the TPR shadow took the write. */
export function cr8Write(u: VmxUnit, gpr: number, value: number): boolean {
  const c = u.cpu, k = u.ctl;
  if ((k.proc & ProcBasedCtls.Cr8LoadExiting) !== 0) crExit(u, 8, CrAccessType.MovToCr, gpr);
  if ((k.proc & ProcBasedCtls.UseTprShadow) === 0) return false;
  c.mem.write32((k.virtualApicPage + VTPR) >>> 0, (value & 0xf) << 4);
  if ((k.proc2 & ProcBasedCtls2.VirtualInterruptDelivery) === 0) tprVirtualization(u);
  return true;
}

/** MOV from CR8 (64-bit mode, "CR8-store exiting"; §30.3: VTPR[7:4] with "use TPR shadow"). */
export function cr8Read(u: VmxUnit, gpr: number, tpr: number): number {
  const c = u.cpu, k = u.ctl;
  if ((k.proc & ProcBasedCtls.Cr8StoreExiting) !== 0) crExit(u, 8, CrAccessType.MovFromCr, gpr);
  if ((k.proc & ProcBasedCtls.UseTprShadow) === 0) return tpr;
  return (c.mem.read8((k.virtualApicPage + VTPR) >>> 0) >>> 4) & 0xf;
}

/** INVLPG in 64-bit mode: the qualification is the whole linear address (§28.2.1). */
export function invlpg64(u: VmxUnit, lo: number, hi: number): void {
  if ((u.ctl.proc & ProcBasedCtls.InvlpgExiting) !== 0) exitOnCurrent(u, ExitReason.Invlpg, lo, 0, 0, hi);
}

/** CR0 or CR4 as the guest reads it: the read shadow in the bits the host owns. */
export function readShadowed(u: VmxUnit, cr: 0 | 4, value: number): number {
  const k = u.ctl;
  return cr === 0 ? ((value & ~k.cr0Mask) | (k.cr0Shadow & k.cr0Mask)) | 0 : ((value & ~k.cr4Mask) | (k.cr4Shadow & k.cr4Mask)) | 0;
}

export function movFromCr(u: VmxUnit, cr: number, gpr: number, value: number): number {
  if (cr === 3) {
    if ((u.ctl.proc & ProcBasedCtls.Cr3StoreExiting) !== 0) crExit(u, 3, CrAccessType.MovFromCr, gpr);
    return value;
  }
  return cr === 0 || cr === 4 ? readShadowed(u, cr, value) : value;
}

/** CLTS: exits when the host owns TS and its shadow is 1; with the shadow 0 it leaves TS alone. */
export function clts(u: VmxUnit): boolean {
  const k = u.ctl;
  if ((k.cr0Mask & Cr0.TS) === 0) return true;
  if ((k.cr0Shadow & Cr0.TS) !== 0) crExit(u, 0, CrAccessType.Clts, 0);
  return false;
}

/** LMSW: exits when it would set an owned PE whose shadow is 0, or change an owned MP, EM or TS
 *  against its shadow; the exit qualification carries the source (§28.2.1 Table 28-3). */
export function lmsw(u: VmxUnit, source: number, memory: boolean, linear: number, cr0: number): number {
  const c = u.cpu, k = u.ctl;
  const mask = k.cr0Mask & 0xf, shadow = k.cr0Shadow;
  if (((mask & 1) !== 0 && (shadow & 1) === 0 && (source & 1) !== 0) || ((mask & 0xe) & (source ^ shadow)) !== 0) {
    exitOnCurrent(u, ExitReason.CrAccess, crAccessQualification(0, CrAccessType.Lmsw, 0, memory, source), 0, memory ? linear : 0);
  }
  return ((cr0 & ~mask) | (c.cr0 & mask)) | 0;
}

export function movDr(u: VmxUnit, dr: number, gpr: number, toDr: boolean): void {
  if ((u.ctl.proc & ProcBasedCtls.MovDrExiting) !== 0) exitOnCurrent(u, ExitReason.MovDr, movDrQualification(dr, toDr, gpr));
}

// ---- I/O (§26.1.3 I/O instructions; §28.2.1 Table 28-5, §28.2.5 Table 28-8) -----------------

export function io(u: VmxUnit, port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): void {
  if (ioExits(u, port, size)) ioExit(u, port, size, input, str, rep, imm);
}

/** Whether an access to `size` ports from `port` exits (I/O bitmaps or unconditional I/O exiting). */
function ioExits(u: VmxUnit, port: number, size: number): boolean {
  const c = u.cpu, k = u.ctl;
  let exits: boolean;
  if ((k.proc & ProcBasedCtls.UseIoBitmaps) !== 0) {
    // Bitmap A covers ports 0000-7FFFH, B 8000-FFFFH; an access that wraps past FFFFH exits.
    const last = port + size - 1;
    exits = last > 0xffff;
    for (let p = port; !exits && p <= last; p++) {
      const b = c.mem.read8(((p < 0x8000 ? k.ioBitmapA : k.ioBitmapB) + ((p & 0x7fff) >>> 3)) >>> 0);
      exits = ((b >>> (p & 7)) & 1) !== 0;
    }
  } else exits = (k.proc & ProcBasedCtls.UnconditionalIoExiting) !== 0;
  return exits;
}

/** IN/OUT without unwinding: true when the exit was taken. */
export function tryIo(u: VmxUnit, port: number, size: number, input: boolean, imm: boolean): boolean {
  return ioExits(u, port, size) && exitInPlace(u, ExitReason.IoInstruction, ioQualification(port, size, input, false, false, imm));
}

function ioExit(u: VmxUnit, port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): never {
  const c = u.cpu;
  let info = 0, linear = 0;
  if (str) {
    // INS writes ES:(E)DI, OUTS reads seg:(E)SI (DS unless overridden): the guest-linear address
    // of the first access; instruction information when IA32_VMX_BASIC[54] says so.
    const seg = input ? Seg.ES : c.segOvr >= 0 ? c.segOvr : Seg.DS;
    const off = c.as32 ? c.r32[input ? 7 : 6] >>> 0 : c.r16[input ? 14 : 12];
    linear = (c.segBase[seg] + off) >>> 0;
    if (u.caps.features.has(VmxFeature.InsOutsInfo)) info = ((c.as32 ? 1 : 0) << 7) | (seg << 15);
  }
  exitOnCurrent(u, ExitReason.IoInstruction, ioQualification(port, size, input, str, rep, imm), info, linear);
}

// ---- RDMSR / WRMSR (§26.1.3; MSR bitmaps §25.6.9) --------------------------------------------

export function msr(u: VmxUnit, write: boolean): void {
  if (msrExits(u, write)) exitOnCurrent(u, write ? ExitReason.Wrmsr : ExitReason.Rdmsr, 0);
}

/** RDMSR/WRMSR without unwinding: true when the exit was taken. */
export function tryMsr(u: VmxUnit, write: boolean): boolean {
  return msrExits(u, write) && exitInPlace(u, write ? ExitReason.Wrmsr : ExitReason.Rdmsr, 0);
}

/** Whether RDMSR/WRMSR of MSR ECX exits (MSR bitmaps, or every MSR without them). */
function msrExits(u: VmxUnit, write: boolean): boolean {
  const c = u.cpu, k = u.ctl;
  const ecx = c.r32[1] >>> 0;
  if ((k.proc & ProcBasedCtls.UseMsrBitmaps) !== 0) {
    // Read low 0-3FFH, read high 400-7FFH, write low 800-BFFH, write high C00-FFFH (bytes).
    const off = ecx <= 0x1fff ? (write ? 0x800 : 0) : ecx >= 0xc0000000 && ecx <= 0xc0001fff ? (write ? 0xc00 : 0x400) : -1;
    if (off >= 0) {
      const n = ecx & 0x1fff;
      if (((c.mem.read8((k.msrBitmap + off + (n >>> 3)) >>> 0) >>> (n & 7)) & 1) === 0) return false;
    }
  }
  return true;
}

// ---- descriptor-table exiting (§26.1.3; Tables 28-10, 28-11) ---------------------------------

export function descriptorTable(u: VmxUnit, x: RowExit, identity: number): void {
  if ((u.ctl.proc2 & ProcBasedCtls2.DescriptorTableExiting) === 0) return;
  const c = u.cpu;
  operandOf(c);
  const info = x.reason === ExitReason.GdtrIdtrAccess
    ? memoryOperandInfo(operand) | (c.os32 ? 1 << 11 : 0) | (identity << 28)
    : regOrMemInfo(operand) | (identity << 28);
  // Exit qualification: the memory operand's displacement (0 for a register operand).
  exitOnCurrent(u, x.reason, operand.memory ? operand.disp : 0, info, 0, operand.memory ? dispHi(u) : 0);
}

// ---- VMX instructions (§26.1.2; Tables 28-9, 28-13, 28-14) ------------------------------------

export function vmxInstructionExit(u: VmxUnit, reason: ExitReason): never {
  const c = u.cpu;
  switch (reason) {
    case ExitReason.Vmclear: case ExitReason.Vmptrld: case ExitReason.Vmptrst: case ExitReason.Vmxon:
      operandOf(c);
      return exitOnCurrent(u, reason, operand.disp, memoryOperandInfo(operand), 0, dispHi(u));
    case ExitReason.Vmread: case ExitReason.Vmwrite:
      operandOf(c);
      return exitOnCurrent(u, reason, operand.memory ? operand.disp : 0, regOrMemInfo(operand) | (operand.reg << 28), 0, operand.memory ? dispHi(u) : 0);
    case ExitReason.Invept: case ExitReason.Invvpid:
      operandOf(c);
      return exitOnCurrent(u, reason, operand.disp, memoryOperandInfo(operand) | (operand.reg << 28), 0, dispHi(u));
    default: // VMCALL, VMLAUNCH, VMRESUME, VMXOFF
      return exitOnCurrent(u, reason, 0);
  }
}

// ---- PAUSE (§26.1.3: "PAUSE exiting", PAUSE-loop exiting) -------------------------------------

export function pause(u: VmxUnit): void {
  const c = u.cpu, k = u.ctl;
  if ((k.proc & ProcBasedCtls.PauseExiting) !== 0) exitOnCurrent(u, ExitReason.Pause, 0);
  if ((k.proc2 & ProcBasedCtls2.PauseLoopExiting) === 0 || c.cpl !== 0) return;
  // A PAUSE more than PLE_Gap TSC ticks after the previous one (or the first after VM entry)
  // starts a loop; one more than PLE_Window ticks after the loop's first exits.
  const t = c.tsc();
  if (u.pleLast < 0 || t - u.pleLast > k.pleGap) u.pleFirst = t;
  u.pleLast = t;
  if (t - u.pleFirst > k.pleWindow) exitOnCurrent(u, ExitReason.Pause, 0);
}

/** RDTSC, RDMSR(IA32_TSC) without an exit: with "use TSC offsetting", TSC + offset (§26.3). */
export function guestTsc(u: VmxUnit): number {
  const t = u.cpu.tsc();
  return (u.ctl.proc & ProcBasedCtls.UseTscOffsetting) !== 0 ? t + u.ctl.tscOffset : t;
}

// ---- task switches (§26.4.2; Table 28-2) -----------------------------------------------------

export function taskSwitch(u: VmxUnit, selector: number, source: number): void {
  const c = u.cpu, x = u.exitInfo;
  x.clear();
  x.qualification = taskSwitchQualification(selector, source);
  // Through a task gate in the IDT: during the delivery of that event (vm-exit.ts then records
  // the software event's instruction length); CALL, IRET, JMP: their own length.
  if (source === 3) x.duringDelivery = true; else x.instructionLength = instructionLength(c);
  u.exitAndUnwind(ExitReason.TaskSwitch, c.instrStart);
}
