// What the CPU core knows of VMX: this interface, and nothing of src/core/vmx beyond the
// architectural vocabulary of the exit column (the basic exit reasons and the control fields,
// leaf enum modules). A CPU model with VMX carries a factory (`CpuModel.vmx`) that createCpu
// calls to install a VmxHooks on the CPU (`Cpu.vmx`); without one `Cpu.vmx` stays null and the
// VMX opcodes raise #UD. The decode rows (ops/*.ts), RDMSR, MOV CR0/CR4, event delivery and the
// run loop call these hooks; the VMX unit implements the SDM semantics behind them
// (src/core/vmx/unit.ts).
//
// VMX non-root operation. `Cpu.nonRoot` is the one flag the core tests, and only where an
// instruction or an event already does slow work (an I/O access, a privileged instruction,
// exception delivery, the between-instructions event check): the hot loop gains no test. A hook
// that decides on a VM exit performs the whole exit (exit information, guest state saved, host
// state loaded, SDM Vol. 3C §28) and throws VM_EXIT, which abandons the rest of the guest
// instruction or event delivery; the run loop catches it.
import type { Cpu, StopReason } from './cpu';
import type { ControlField } from '../vmx/controls';
import type { ExitReason } from '../vmx/exit-reasons';

/** Thrown (one instance, like FAULT) after a VM exit has been performed inside an instruction or
 *  an event delivery: the run loop catches it and goes on at the host's RIP. */
export class VmExitSignal { readonly what = 'VM exit'; }
export const VM_EXIT = new VmExitSignal();

/** How a guest touches the APIC-access page (vmx-hooks.ts apicAccess): by a linear address
 *  (read, write, fetch), or by a guest-physical address through EPT (a guest paging-structure
 *  access of a page walk or of a PDPTE load; never virtualized, SDM Vol. 3C §30.4.6.1). */
export enum ApicAccessKind { Read = 0, Write = 1, Fetch = 2, GuestPhysical = 3 }

/** The VM-execution control bit that makes an instruction exit: `bit` of control field `field`
 *  (SDM Vol. 3C §25.6, Tables 25-5 to 25-7). */
export interface RowExitControl { readonly field: ControlField; readonly bit: number }

/**
 * The exit column of a decode-table row (SDM Vol. 3C §26.1 "Instructions That Cause VM Exits"):
 * the basic exit reason an instruction of the row can cause in VMX non-root operation and the
 * control that decides it; no control: it exits unconditionally (§26.1.2). `detail` names what
 * else takes part (bitmaps, masks and shadows, CR3-target values). The row's handler passes the
 * same object to the VMX unit, which decides by `control`: the table is what runs.
 */
export interface RowExit {
  readonly reason: ExitReason;
  readonly control?: RowExitControl;
  readonly detail?: string;
}

export interface VmxHooks {
  /** In VMX operation, root or non-root (SDM Vol. 3C §24.8 "Restrictions on VMX Operation"):
   *  CR0/CR4 fixed bits apply, and INIT is blocked in VMX root operation. */
  readonly inVmxOperation: boolean;
  /** The last VM exit left its instruction unexecuted and to be restarted (an EPT violation or
   *  misconfiguration: a guest-physical access the VMM resolves, §28.2.1), so the run loop does
   *  not count it as retired; every other exit from inside an instruction does count (an
   *  intercepted instruction is emulated by the VMM, a fault counts as in bare mode). */
  readonly exitRestartsInstruction: boolean;

  // The instructions (SDM Vol. 3C §31.3). The row has decoded the instruction (ModRM, its
  // effective address in eaSeg/eaOff, prefixes) and ruled out register operands where the
  // instruction takes memory only; the hook does every other check.
  vmxon(): void;
  vmxoff(): void;
  vmclear(): void;
  vmptrld(): void;
  vmptrst(): void;
  vmread(): void;
  vmwrite(): void;
  vmlaunch(): void;
  vmresume(): void;
  vmcall(): void;
  invept(): void;
  invvpid(): void;

  /** RDMSR of a VMX capability MSR (0x480-0x4FF): its value into out[0] (low) and out[1]
   *  (high); false when this processor has no such MSR (#GP(0)). */
  readCapabilityMsr(index: number, out: Int32Array): boolean;
  /** MOV to CR0/CR4 in VMX operation: false when `value` breaks the bits VMX operation fixes
   *  (IA32_VMX_CR0/CR4_FIXED0/1; in non-root operation with "unrestricted guest", PE and PG are
   *  free), which is #GP(0). */
  crWriteAllowed(cr: 0 | 4, value: number): boolean;
  /** RESET: out of VMX operation, no current VMCS. */
  reset(): void;
  /** INIT (SDM Vol. 3C §24.8, §26.2): true when the CPU should take it as usual (outside VMX
   *  operation); false when VMX absorbed it: a VM exit in non-root operation, or blocked (VMX
   *  root operation, the guest's wait-for-SIPI state), which latches it in `Cpu.initPending`
   *  until VMXOFF (taken as an INIT) or VM entry (a VM exit). */
  initSignal(): boolean;
  /** A Startup IPI while the guest waits for one (§26.2: VM exit with reason 4); false when the
   *  SIPI is discarded (every other state of non-root operation). */
  startupIpi(vector: number): boolean;

  // ---- VMX non-root operation (SDM Vol. 3C ch. 26); called only while Cpu.nonRoot --------

  /** An instruction whose exit is decided by its row's exit column `x` alone (CPUID, HLT,
   *  INVD, INVLPG, RDPMC, RDTSC, WBINVD, ...); `qualification` per §28.2.1 (0 for most). */
  instructionExit(x: RowExit, qualification: number): void;
  // The hottest exits (CPUID, HLT, RDTSC, IN/OUT, RDMSR/WRMSR) without unwinding: the exit is
  // performed in place and true returned, and the row must return at once; the run loop sees
  // Cpu.exitTaken after the instruction. (A throw through the interpreter's frames costs V8 a
  // few microseconds, as much as the rest of a VM exit and entry together: BENCHMARKS.md.)
  /** instructionExit, returning true when the exit was taken. */
  tryInstructionExit(x: RowExit, qualification: number): boolean;
  /** io() for IN/OUT (not the string forms), returning true when the exit was taken. */
  tryIo(port: number, size: number, input: boolean, imm: boolean): boolean;
  /** msr(), returning true when the exit was taken. */
  tryMsr(write: boolean): boolean;
  /** Whether secondary processor-based control `bit` of the running guest is 1 (§25.6.2 Table
   *  25-7): an instruction that such a control enables ("enable RDTSCP", "enable INVPCID") is
   *  #UD in VMX non-root operation while it is 0 (§26.3). */
  secondaryControl(bit: number): boolean;
  /** An instruction with a register destination (RDRAND, RDSEED) whose exit `x` decides:
   *  instruction information with the register `reg` and the operand size (§28.2.5). */
  registerInstructionExit(x: RowExit, reg: number, os32: boolean): void;
  /** An instruction with a register and a memory operand (INVPCID) whose exit `x` decides:
   *  qualification = displacement, instruction information of the memory operand (§28.2.5). */
  memoryOperandExit(x: RowExit): void;
  /** A linear access of `size` bytes at `offset` in the APIC-access page ("virtualize APIC
   *  accesses", SDM Vol. 3C §30.4): virtualized through the
   *  virtual-APIC page (a read returns its bytes; a write may end in a trap-like TPR-below-
   *  threshold exit after the instruction), or an APIC-access VM exit (fault-like). */
  apicAccess(offset: number, size: number, kind: ApicAccessKind, value: number): number;
  /** MOV to CR0/CR3/CR4 from register `gpr` (§26.1.3 CR-access exiting with masks, shadows and
   *  CR3-target values; §26.3): exits, or returns the value to load, in which bits the host
   *  owns keep their current values. MOV to CR2 never exits. */
  movToCr(cr: number, gpr: number, value: number): number;
  /** MOV from CR0/CR3/CR4 to register `gpr`: exits (CR3-store exiting), or returns the value the
   *  guest reads (the read shadow in the bits the host owns, §26.3). */
  movFromCr(cr: number, gpr: number, value: number): number;
  /** MOV to CR8 in 64-bit mode from register `gpr` (bits 31:0 `value`): "CR8-load exiting"
   *  exits; with "use TPR shadow" the value goes to VTPR (§30.3) and true is returned (the real
   *  TPR is untouched); false: load the TPR. */
  cr8Write(gpr: number, value: number): boolean;
  /** MOV from CR8 in 64-bit mode to register `gpr`: "CR8-store exiting" exits; with "use TPR
   *  shadow" VTPR[7:4] is read (§30.3); otherwise `tpr`. */
  cr8Read(gpr: number, tpr: number): number;
  /** INVLPG in 64-bit mode: "INVLPG exiting" with the whole linear address (`lo`, `hi`) as the
   *  exit qualification (§28.2.1). */
  invlpg64(lo: number, hi: number): void;
  /** SMSW (never exits): CR0 as the guest reads it (read shadow for owned bits). */
  smsw(cr0: number): number;
  /** CLTS: exits, or returns whether it may clear CR0.TS (§26.1.3, §26.3). */
  clts(): boolean;
  /** LMSW with `source` (16 bits; `memory` operand at guest-linear `linear`): exits, or returns
   *  the CR0 to load (§26.1.3, §26.3). */
  lmsw(source: number, memory: boolean, linear: number, cr0: number): number;
  /** MOV to/from DR`dr` with register `gpr` ("MOV-DR exiting", after the #UD and #GP checks). */
  movDr(dr: number, gpr: number, toDr: boolean): void;
  /** IN/OUT/INS/OUTS (after the IOPL/I-O bitmap #GP check, §26.1.1): `size` in bytes, `imm` the
   *  port came from an immediate; string forms read the address size, segment and (E)SI/(E)DI
   *  from the CPU. */
  io(port: number, size: number, input: boolean, str: boolean, rep: boolean, imm: boolean): void;
  /** RDMSR/WRMSR of MSR ECX (after the CPL check). */
  msr(write: boolean): void;
  /** LGDT/LIDT/SGDT/SIDT (`identity` 0-3 for SGDT, SIDT, LGDT, LIDT, exit reason 46) or
   *  SLDT/STR/LLDT/LTR (0-3, reason 47) with "descriptor-table exiting" (Tables 28-10/11). */
  descriptorTable(x: RowExit, identity: number): void;
  /** PAUSE: "PAUSE exiting" or PAUSE-loop exiting (§26.1.3). */
  pause(): void;
  /** RDTSC/RDTSCP/RDMSR(IA32_TSC) without an exit: the TSC as the guest sees it (with "use TSC
   *  offsetting", TSC + offset, §26.3). */
  guestTsc(): number;

  /** Delivery of an event through the guest IDT starts (interrupts.ts): an exception (kinds 3,
   *  5, 6) whose exception-bitmap bit is set exits here (#PF by error-code mask/match); every
   *  event is then recorded as the one being delivered (IDT-vectoring information, §28.2.4). */
  eventDelivery(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void;
  /** Two exceptions formed a double fault (#DF, §6.15): bit 8 of the exception bitmap decides;
   *  such an exit is not "during event delivery". */
  doubleFault(): void;
  /** The event recorded by eventDelivery was delivered. */
  eventDelivered(): void;
  /** A triple fault: VM exit with reason 2 instead of shutdown. */
  tripleFault(): void;
  /** A task switch to TSS `selector` after the checks of §26.4.2 (source 0 CALL, 1 IRET,
   *  2 JMP, 3 task gate in the IDT): always a VM exit. */
  taskSwitch(selector: number, source: number): void;
  /** IRET begins: NMI unblocking as "NMI exiting" and "virtual NMIs" say (§26.3). */
  iret(): void;
  /** A halted guest (HLT or shutdown activity state): whether any event can still wake it,
   *  by leaving the state or by a VM exit (external-interrupt or NMI exiting, the preemption
   *  timer, MTF, a window, RFLAGS.IF; §26.2, §27.7). False: the platform may call it dead. */
  canWake(): boolean;
  /** A halted guest: whether serviceEvents would take an event now (the SMP schedule runs it). */
  eventReady(): boolean;
  /** A halted guest: virtual time (instruction units, the CPU's timeBase) at which it must run
   *  again whatever devices do (the preemption timer, §26.5.1); Infinity: none. */
  wakeDeadline(): number;
  /** Events between instructions (the run loop's event check): VM exits for INIT, MTF, the
   *  preemption timer, NMI/interrupt windows, NMIs and external interrupts, and delivery of
   *  the guest's own interrupts (§26.2, §27.7, SDM Vol. 3A §6.9 priorities). */
  serviceEvents(): StopReason;
}

/** Builds the VMX unit of a CPU (set on a CpuModel by src/core/vmx). */
export type VmxFactory = (cpu: Cpu) => VmxHooks;

/** A row's exit entry: exit `reason`, decided by bit `bit` of control field `field` (both absent:
 *  the instruction exits unconditionally). */
export function rowExit(reason: ExitReason, field?: ControlField, bit?: number, detail?: string): RowExit {
  const control = field !== undefined && bit !== undefined ? { field, bit } : undefined;
  return detail !== undefined ? { reason, control, detail } : { reason, control };
}
