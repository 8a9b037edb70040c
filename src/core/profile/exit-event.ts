// The one event the profiler sees: a VM exit, as the VMX layer records it in the VMCS's
// VM-exit information fields (SDM Vol. 3C §28.2 "Recording VM-Exit Information and Updating
// VM-Entry Control Fields"; §27.2 in older editions), plus what the VMM
// did about it. One ExitEvent is reused for every exit: the VMX layer overwrites the exit
// fields, the VMM fills the handler fields once it has handled the exit, and one call
// (`recorder.record(ev)`) hands it to the profiler before VM entry. Nothing is allocated per
// exit; the recorder copies what it keeps.
//
// Which fields hold something for which basic exit reason (§28.2.1-§28.2.5; a field that does
// not apply is left as the VMX layer last wrote it and the profiler does not read it):
//
// | field                  | valid for                                                        |
// |------------------------|------------------------------------------------------------------|
// | qualification          | ExceptionOrNmi (#DB: debug bits, #PF: linear address), StartupIpi |
// |                        | (SIPI vector), IoSmi, TaskSwitch, Invlpg (linear address),        |
// |                        | CrAccess, MovDr, IoInstruction, ApicAccess, EptViolation,         |
// |                        | ApicWrite (offset), VirtualizedEoi (vector), the VMX instructions,|
// |                        | LGDT/LIDT/... and INVEPT/INVPCID/INVVPID (operand displacement),  |
// |                        | Mwait (monitor armed), PageModificationLogFull (NMI unblocking);  |
// |                        | 0 for every other reason                                          |
// | guestLinear            | IoInstruction for INS/OUTS, CrAccess for LMSW with a memory       |
// |                        | operand, EptViolation when qualification bit 7 is set             |
// | guestPhysical          | EptViolation, EptMisconfiguration (the faulting GPA)              |
// | exitInterruptionInfo   | ExceptionOrNmi; ExternalInterrupt when the exit control           |
// | (and its error code)   | "acknowledge interrupt on exit" is 1 (bit 31 says valid; error    |
// |                        | code valid when bit 11 is set)                                    |
// | idtVectoringInfo       | any exit that happened while delivering an event (bit 31 valid)   |
// | instructionLength      | exits caused by executing an instruction, by INT3/INTO/INT n and  |
// |                        | by task switches through CALL/IRET/JMP                            |
// | instructionInfo        | INS/OUTS (when IA32_VMX_BASIC[54]), LGDT/LIDT/SGDT/SIDT,          |
// |                        | LLDT/LTR/SLDT/STR, INVEPT/INVPCID/INVVPID, the VMX instructions,  |
// |                        | RDRAND/RDSEED, XSAVES/XRSTORS, UMWAIT/TPAUSE, LOADIWKEY           |
// | ecx                    | guest ECX, read by the VMM: the MSR number for Rdmsr/Wrmsr (no    |
// |                        | exit field carries it; §26.1.3 decides the exit from ECX and the  |
// |                        | MSR bitmaps), the XCR for Xsetbv,                                 |
// |                        | the sub-leaf for Cpuid                                            |
// | eax                    | guest EAX, read by the VMM: the leaf for Cpuid                    |
// | guestRip               | every exit: CS base + the guest-state RIP (the instruction that   |
// |                        | exited, or the next one after a trap-like exit)                   |
//
// Entry failures (basic reasons 33, 34, 41 with exit-reason bit 31 set, §27.8) carry only the
// reason and, for 34, the qualification (the failing MSR-load entry).
import { ExitReason } from '../vmx/exit-reasons';

export class ExitEvent {
  // ---- written by the VMX layer at the VM exit
  /** Index of the virtual CPU that exited. */
  vcpu = 0;
  /** Virtual time of the exit, ns (src/core/platform/clock.ts: from retired instructions). */
  timeNs = 0;
  /** Basic exit reason: exit-reason bits 15:0 (ExitReason). Reason 0 is real. */
  reason: ExitReason = ExitReason.ExceptionOrNmi;
  /** Exit-reason bit 31: a VM-entry failure (reasons 33, 34, 41). */
  entryFailure = false;
  /** Exit qualification (natural width; a plain number, exact to 2^53). */
  qualification = 0;
  /** Guest RIP as a linear address (CS base + RIP), so code in different segments stays apart. */
  guestRip = 0;
  /** VM-exit instruction length. */
  instructionLength = 0;
  /** VM-exit instruction information. */
  instructionInfo = 0;
  /** Guest-physical address (EPT violations and misconfigurations). */
  guestPhysical = 0;
  /** Guest-linear address. */
  guestLinear = 0;
  /** VM-exit interruption information (bit 31 valid). */
  exitInterruptionInfo = 0;
  /** VM-exit interruption error code (valid when interruption information bit 11 is set). */
  exitInterruptionErrorCode = 0;
  /** IDT-vectoring information (bit 31 valid). */
  idtVectoringInfo = 0;
  /** IDT-vectoring error code. */
  idtVectoringErrorCode = 0;
  /** Guest ECX at the exit (see the table above). */
  ecx = 0;
  /** Guest EAX at the exit (see the table above). */
  eax = 0;

  // ---- written by the VMM once it has handled the exit
  /** Name of the device model that handled the exit (a port or MMIO access), or null. */
  device: string | null = null;
  /** Guest instructions the VMM emulated for this exit (0 when it only advanced RIP). */
  instructionsEmulated = 0;
  /** Interrupts or exceptions the VMM injected on the VM entry that follows. */
  interruptsInjected = 0;

  /** Clears every field to its initial value (the VMX layer may also overwrite fields one by one). */
  reset(): void {
    this.vcpu = 0; this.timeNs = 0; this.reason = ExitReason.ExceptionOrNmi; this.entryFailure = false;
    this.qualification = 0; this.guestRip = 0; this.instructionLength = 0; this.instructionInfo = 0;
    this.guestPhysical = 0; this.guestLinear = 0; this.exitInterruptionInfo = 0; this.exitInterruptionErrorCode = 0;
    this.idtVectoringInfo = 0; this.idtVectoringErrorCode = 0; this.ecx = 0; this.eax = 0;
    this.device = null; this.instructionsEmulated = 0; this.interruptsInjected = 0;
  }
}
