// The contract between VM entry / VM exit (the VMX unit: unit.ts and the entry/exit code) and
// EPT, VPID and unrestricted guest (src/core/vmx/ept/). The VMX unit owns one `EptUnit`
// (ept/unit.ts, implementing EptHooks) and gives it an EptExitSink; the EPT unit installs itself
// into the CPU's TLB as its second-level translation (src/core/cpu/nested-paging.ts) while a
// guest with "enable EPT" runs.
//
// Call order the EPT unit relies on:
//   VM entry:  checks on controls (EPTP: eptpProblem, ept/eptp.ts) -> guest-state checks, with
//              the unrestricted-guest relaxations of ept/unrestricted.ts (guestCr0Problem for the
//              CR0 field, guestSegmentDplProblem for the SS RPL / CS type / DPL items of §27.3.1.2,
//              guestRflagsVmProblem) and EptHooks.guestPdpteProblem (§27.3.1.6, qualification 2)
//              -> guest state loaded into the CPU (CR0, CR3, CR4, segments, ...)
//              -> onEntry(vmcs)            <- before any guest memory access, event injection too
//   VM exit:   exit information and guest state saved to the VMCS
//              -> onExit(vmcs)             <- before host state is loaded (reads the guest's CR0/CR4)
//              -> host state loaded
//   Neither VM entry nor VM exit should flush the TLB itself (Tlb.flushAll drops the spaces of
//   every VPID: correct, but it defeats VPID); onEntry/onExit flush what §29.1 requires. Loading
//   guest or host CR0/CR3/CR4 by assignment (not through MOV CR) keeps it that way.
//   INVEPT / INVVPID after their operand checks: invept(type, eptp), invvpid(type, vpid, linear).
//   VMXOFF and RESET: reset().
// In VMX non-root operation with unrestricted guest, MOV to CR0 does not #GP for clearing PE or
// PG (SDM Vol. 3C §26.6 "Unrestricted Guests"): guestCr0MustBe1 gives the fixed bits that apply.
import type { GuestLinear, GuestPhysical } from '../platform/address';
import type { CurrentVmcs, VmcsReader } from './vmcs';

/**
 * How the EPT unit leaves the guest: implemented by the VM-exit code. Both exits never return
 * (they unwind the current instruction as a fault does: RIP stays at the instruction, SDM Vol. 3C
 * §28.1 "Architectural State before a VM Exit": EPT violations and misconfigurations are
 * fault-like). An access during event delivery records IDT-vectoring information as any exit
 * does.
 */
export interface EptExitSink {
  /**
   * VM exit with basic reason 48, EPT violation (SDM Vol. 3C §29.3.3.2; exit qualification as in
   * §28.2.1 Table "Exit Qualification for EPT Violations", bits 0-12 filled in by the EPT unit,
   * bit 12 from `nmiUnblockedByIret`). `gla` goes to the guest-linear-address field when
   * qualification bit 7 is set (else the field is undefined: write 0); `gpa` to the
   * guest-physical-address field (high dword 0: vmxlab's physical addresses are 32 bits).
   */
  eptViolation(qualification: number, gla: GuestLinear, gpa: GuestPhysical): never;
  /** VM exit with basic reason 49, EPT misconfiguration (§29.3.3.1): qualification 0 (undefined
   *  in the SDM), guest-physical-address field = `gpa`. */
  eptMisconfiguration(gpa: GuestPhysical): never;
  /** True while the current instruction is an IRET that unblocked NMIs (virtual-NMI blocking
   *  when "virtual NMIs" is 1): EPT-violation qualification bit 12 (§28.2.3 "Information for VM
   *  Exits Due to Vectored Events": NMI unblocking due to IRET). */
  nmiUnblockedByIret(): boolean;
}

/** What VM entry, VM exit and the VMX instructions call on the EPT unit (ept/unit.ts). */
export interface EptHooks {
  /**
   * §27.3.1.6 "Checks on Guest Page-Directory-Pointer-Table Entries": with guest CR0.PG = 1,
   * CR4.PAE = 1 and "IA-32e mode guest" = 0, the four PDPTEs (from the VMCS fields with "enable
   * EPT", else read from guest CR3 in physical memory) must have no reserved bit set where P = 1.
   * null when fine; a failure is a VM-entry failure with basic reason 33 and exit qualification 2
   * (§27.8 "VM-Entry Failures During or After Loading Guest State").
   */
  guestPdpteProblem(v: VmcsReader): string | null;
  /** VM entry has loaded guest state: select the TLB context (VPID, EPTP), flush it when VPID is
   *  off (§29.1 "Virtual Processor Identifiers"), load the guest PDPTEs (§27.3.2.4) and install
   *  EPT translation when "enable EPT" is 1. */
  onEntry(v: VmcsReader): void;
  /** VM exit, guest state saved: with EPT and guest PAE paging the PDPTEs go to the VMCS
   *  (§28.3.4 "Saving Non-Register State"... §28.3.1 PDPTE fields); EPT translation off; back to
   *  the host's TLB context (flushed when VPID was off). */
  onExit(v: CurrentVmcs): void;
  /** INVEPT type 1 (single-context, EPTP `eptpLo`/`eptpHi`) or 2 (all-context), operands
   *  already checked (§31.3 INVEPT). */
  invept(type: number, eptpLo: number, eptpHi: number): void;
  /** INVVPID type 0 individual-address, 1 single-context, 2 all-context, 3 single-context
   *  retaining globals, operands already checked (§31.3 INVVPID). */
  invvpid(type: number, vpid: number, linear: number): void;
  /** VMXOFF or RESET: no guest translation, every cached translation dropped. */
  reset(): void;
}
