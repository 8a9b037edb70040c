// What a VM exit (or a VM-entry failure) looked like, for software outside the guest that
// watches exits: the exit listeners of the VMX unit (the profiler, src/core/profile) and VmxRoot
// (a VMM in TypeScript). One record per VMX unit, overwritten at every exit and handed to the
// listeners after the exit completed (host state loaded): nothing is allocated per exit, and a
// listener copies what it keeps. The fields are those of the VMCS's VM-exit information area
// (SDM Vol. 3C §28.2, read back from the current VMCS) plus where the guest was.
import { EXIT_REASON_BASIC_MASK, EXIT_REASON_ENTRY_FAILURE, type ExitReason } from './exit-reasons';

export class VmExitRecord {
  /** The exit-reason field: basic reason in bits 15:0, bit 31 for VM-entry failures. */
  exitReason = 0;
  /** Exit qualification (natural width: 32 bits here). */
  qualification = 0;
  /** Guest-linear address field (defined for string I/O, LMSW with a memory operand, EPT
   *  violations with qualification bit 7; 0 otherwise). */
  guestLinear = 0;
  /** Guest-physical address field (EPT violations and misconfigurations; 0 otherwise): bits
   *  31:0, and bits 63:32 in guestPhysicalHi (35:32 with MAXPHYADDR 36). */
  guestPhysical = 0;
  guestPhysicalHi = 0;
  instructionLength = 0;
  instructionInfo = 0;
  /** VM-exit interruption information and error code (bit 31: valid). */
  interruptionInfo = 0;
  interruptionErrorCode = 0;
  /** IDT-vectoring information and error code (bit 31: the exit happened during delivery). */
  idtVectoringInfo = 0;
  idtVectoringErrorCode = 0;
  /** The guest's RIP as saved in the VMCS, its CS base, EAX and ECX at the exit (the MSR index
   *  of RDMSR/WRMSR, the CPUID leaf). */
  guestRip = 0;
  guestCsBase = 0;
  guestEax = 0;
  guestEcx = 0;
  /** Physical address of the VMCS the exit was recorded in. */
  vmcsPa = 0;
  /** Time of the exit: the CPU's retired-instruction count and its TSC (virtual time). */
  icount = 0;
  tsc = 0;
  /** Exits (entry failures included) this VMX unit has taken so far, this one included. */
  sequence = 0;

  /** Basic exit reason (bits 15:0). Reason 0 (exception or NMI) is real: compare, never test. */
  get reason(): ExitReason { return (this.exitReason & EXIT_REASON_BASIC_MASK) as ExitReason; }
  /** A VM-entry failure (exit reason bit 31, §27.8): basic reason 33, 34 or 41. */
  get entryFailure(): boolean { return (this.exitReason & EXIT_REASON_ENTRY_FAILURE) !== 0; }
}

/** Called after every VM exit and VM-entry failure with the unit's record (read it, do not keep
 *  it: it is reused). A listener must not run the CPU or change VMX state. */
export type VmExitListener = (record: VmExitRecord) => void;
