// What the VMM spends handling one exit of each reason, in cycles, on top of the hardware
// transition (transition-costs.ts): reading the exit information, dispatching, emulating,
// advancing RIP, plus per-exit work the VMM reports (instructions emulated, interrupts
// injected). Every figure says where it comes from, with its basis:
//   'published' - a figure from a cited measurement;
//   'derived'   - computed from published figures, the computation given;
//   'estimate'  - vmxlab's choice where no published figure was found, with how it was chosen.
// Users replace any figure with their own measurements (cost-model.ts, CostSettings).
//
// Published per-exit handling costs of a VMM are scarce. What was found
// (../shared/docs/vmexit-costs.md):
//  - Adams & Agesen, "A Comparison of Software and Hardware Techniques for x86 Virtualization"
//    (ASPLOS 2006): RDTSC trap-and-emulate on a Pentium 4 costs 2030 cycles in all, of which
//    the Prescott round trip (1926 cycles, transition-costs.ts) is the transition.
//  - SplitX (Landau, Ben-Yehuda & Gordon, 2011): about 2,000 cycles direct cost per exit on a
//    Xeon X5570 (Nehalem) under KVM; its synchronous (handling) costs per exit type were not
//    available here to cite.
//  - LKML, December 2020 (SVM): a whole KVM_RUN ioctl costs 2,528-2,576 cycles against
//    1,344-1,376 for the VMRUN round trip: about 1,200 cycles of software around an exit that
//    returns to the user-space VMM. vmxlab's VMM handles exits in one place (no kernel/user
//    split), so this bounds what a heavy software path adds, it is not used directly.
// The estimates below follow one rule: a handler that only reads exit fields, looks a value up
// and advances RIP costs about 200 cycles (a few VMREADs/VMWRITEs at tens of cycles each, a
// dispatch, a table lookup); one that runs a device model about 500; one that walks or edits
// guest memory structures (task switch, EPT fault-in, nested VMX) several thousand.
import { ExitReason } from '../vmx/exit-reasons';

export type CostBasis = 'published' | 'derived' | 'estimate';

export interface HandlerCost {
  readonly cycles: number;
  readonly basis: CostBasis;
  readonly source: string;
}

const SIMPLE = 'estimate: read exit information, look up or compute a value, advance RIP (~200 cycles)';
const est = (cycles: number, source: string): HandlerCost => ({ cycles, basis: 'estimate', source });
const simple = est(200, SIMPLE);

/** Any reason the table does not name. */
export const DEFAULT_HANDLER_COST: HandlerCost = est(500, 'estimate: no specific figure for this reason; a mid-range handler');

/** Each emulated guest instruction (fetch, decode and execute in the VMM's emulator). */
export const PER_EMULATED_INSTRUCTION: HandlerCost = est(400,
  'estimate: a software decode and execute of one x86 instruction, with guest-memory accesses through the guest page tables');

/** Each interrupt or exception injected on the next VM entry. */
export const PER_INJECTED_INTERRUPT: HandlerCost = est(150,
  'estimate: pick the vector from the virtual interrupt controller and VMWRITE the VM-entry interruption information');

export const DEFAULT_HANDLER_COSTS: ReadonlyMap<ExitReason, HandlerCost> = new Map<ExitReason, HandlerCost>([
  [ExitReason.ExceptionOrNmi, est(1500, 'estimate: decode the exception, then reflect it to the guest or fix up shadow state')],
  [ExitReason.ExternalInterrupt, est(300, 'estimate: acknowledge and dispatch the host interrupt; the host handler itself not counted')],
  [ExitReason.TripleFault, est(1000, 'estimate: record the shutdown and stop the vCPU')],
  [ExitReason.InitSignal, est(2000, 'estimate: reset the vCPU state (INIT)')],
  [ExitReason.StartupIpi, est(2000, 'estimate: load the SIPI start state into the guest-state area')],
  [ExitReason.IoSmi, est(2000, 'estimate: SMI handling in the VMM')],
  [ExitReason.OtherSmi, est(2000, 'estimate: SMI handling in the VMM')],
  [ExitReason.InterruptWindow, est(200, 'estimate: clear the window control, inject the pending interrupt (injection counted apart)')],
  [ExitReason.NmiWindow, est(200, 'estimate: clear the window control, inject the pending NMI (injection counted apart)')],
  [ExitReason.TaskSwitch, est(5000, 'estimate: emulate a hardware task switch (read and write two TSSs, descriptor checks)')],
  [ExitReason.Cpuid, est(200, `${SIMPLE}: a CPUID table lookup`)],
  [ExitReason.Getsec, simple],
  [ExitReason.Hlt, est(200, 'estimate: mark the vCPU halted; the idle time itself is guest time, not handler time')],
  [ExitReason.Invd, simple],
  [ExitReason.Invlpg, est(300, 'estimate: invalidate one shadow or VPID-tagged mapping')],
  [ExitReason.Rdpmc, simple],
  [ExitReason.Rdtsc, {
    cycles: 104, basis: 'derived',
    source: 'derived: Adams & Agesen (ASPLOS 2006) RDTSC trap-and-emulate 2030 cycles on a Pentium 4 minus the Prescott round trip 1926 (transition-costs.ts)',
  }],
  [ExitReason.Rsm, est(2000, 'estimate: restore state from SMRAM')],
  [ExitReason.Vmcall, est(300, 'estimate: dispatch a hypercall by number')],
  [ExitReason.Vmclear, est(1000, 'estimate: nested VMX, flush a virtual VMCS to guest memory')],
  [ExitReason.Vmlaunch, est(5000, 'estimate: nested VMX, check and merge a virtual VMCS before entering the nested guest')],
  [ExitReason.Vmptrld, est(1000, 'estimate: nested VMX, load a virtual VMCS')],
  [ExitReason.Vmptrst, est(300, 'estimate: nested VMX, store the current-VMCS pointer')],
  [ExitReason.Vmread, est(300, 'estimate: nested VMX, read one virtual VMCS field')],
  [ExitReason.Vmresume, est(5000, 'estimate: nested VMX, check and merge a virtual VMCS before entering the nested guest')],
  [ExitReason.Vmwrite, est(300, 'estimate: nested VMX, write one virtual VMCS field')],
  [ExitReason.Vmxoff, est(1000, 'estimate: nested VMX, leave virtual VMX operation')],
  [ExitReason.Vmxon, est(1000, 'estimate: nested VMX, enter virtual VMX operation (checks on the VMXON region)')],
  [ExitReason.CrAccess, est(300, 'estimate: apply a guest/host-masked CR write or read the shadow; more when shadow paging switches tables')],
  [ExitReason.MovDr, simple],
  [ExitReason.IoInstruction, est(500, 'estimate: dispatch through the port table to a device model and complete the access')],
  [ExitReason.Rdmsr, est(250, `${SIMPLE}: an MSR table lookup`)],
  [ExitReason.Wrmsr, est(250, `${SIMPLE}: an MSR table update`)],
  [ExitReason.EntryFailureGuestState, est(1000, 'estimate: report the failed VM entry')],
  [ExitReason.EntryFailureMsrLoading, est(1000, 'estimate: report the failed VM entry')],
  [ExitReason.Mwait, simple],
  [ExitReason.MonitorTrapFlag, simple],
  [ExitReason.Monitor, simple],
  [ExitReason.Pause, est(200, 'estimate: note the spin; a directed yield or reschedule not counted')],
  [ExitReason.EntryFailureMachineCheck, est(1000, 'estimate: report the failed VM entry')],
  [ExitReason.TprBelowThreshold, est(300, 'estimate: re-evaluate pending interrupts against the new TPR')],
  [ExitReason.ApicAccess, est(1500, 'estimate: decode the instruction that touched the APIC page and emulate the register access')],
  [ExitReason.VirtualizedEoi, est(300, 'estimate: end-of-interrupt bookkeeping in the virtual APIC')],
  [ExitReason.GdtrIdtrAccess, est(500, 'estimate: emulate LGDT/LIDT/SGDT/SIDT from the instruction information')],
  [ExitReason.LdtrTrAccess, est(500, 'estimate: emulate LLDT/LTR/SLDT/STR from the instruction information')],
  [ExitReason.EptViolation, est(2500, 'estimate: look up the guest-physical page, allocate or map it, edit the EPT entries')],
  [ExitReason.EptMisconfiguration, est(1000, 'estimate: a fast MMIO path keyed by the misconfigured entry (as KVM does), then emulate')],
  [ExitReason.Invept, est(500, 'estimate: nested VMX, drop shadow EPT mappings')],
  [ExitReason.Rdtscp, est(150, 'estimate: as RDTSC, plus IA32_TSC_AUX')],
  [ExitReason.PreemptionTimerExpired, est(300, 'estimate: run the VMM timer callback, re-arm the timer')],
  [ExitReason.Invvpid, est(500, 'estimate: nested VMX, drop VPID-tagged mappings')],
  [ExitReason.Wbinvd, simple],
  [ExitReason.Xsetbv, est(300, 'estimate: check and load XCR0')],
  [ExitReason.ApicWrite, est(300, 'estimate: act on a trapped virtual-APIC register write')],
  [ExitReason.Rdrand, simple],
  [ExitReason.Invpcid, est(300, 'estimate: invalidate PCID-tagged mappings')],
  [ExitReason.Vmfunc, est(300, 'estimate: emulate a VM function')],
  [ExitReason.Encls, est(2000, 'estimate: SGX leaf emulation')],
  [ExitReason.Rdseed, simple],
  [ExitReason.PageModificationLogFull, est(2000, 'estimate: drain 512 logged guest-physical addresses into a dirty bitmap')],
  [ExitReason.Xsaves, est(300, 'estimate: emulate XSAVES for intercepted components')],
  [ExitReason.Xrstors, est(300, 'estimate: emulate XRSTORS for intercepted components')],
]);
