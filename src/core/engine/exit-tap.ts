// How the engine sees VM exits in bare mode: the exits a guest's own hypervisor receives (the
// test hypervisors of test/vmx-guests, or any hypervisor guest). The VMX unit of each CPU
// performs the exit (SDM Vol. 3C §28: exit information and guest state saved to the current
// VMCS, host state loaded), then calls its exit listeners with one reused record of the VM-exit
// information fields (src/core/vmx/exit-record.ts). The tap turns that record into one reused
// ExitEvent (src/core/profile/exit-event.ts) for the recorders. Nothing is allocated per exit.
//
// The unit is reached by shape (`addExitListener`), so a CPU model without VMX, or a VMX unit
// without listeners, simply gives no exit source and the engine says so ('none').
import type { Cpu } from '../cpu/cpu';
import type { ExitEvent } from '../profile/exit-event';
import { EXIT_REASON_BASIC_MASK, EXIT_REASON_ENTRY_FAILURE } from '../vmx/exit-reasons';

/** The fields of the VMX unit's exit record the tap reads (VmExitRecord has them all). */
export interface ExitRecordView {
  /** The exit-reason field: basic reason in bits 15:0, bit 31 for VM-entry failures. */
  readonly exitReason: number;
  readonly qualification: number;
  readonly guestLinear: number;
  readonly guestPhysical: number;
  readonly instructionLength: number;
  readonly instructionInfo: number;
  readonly interruptionInfo: number;
  readonly interruptionErrorCode: number;
  readonly idtVectoringInfo: number;
  readonly idtVectoringErrorCode: number;
  readonly guestRip: number;
  readonly guestCsBase: number;
  readonly guestEax: number;
  readonly guestEcx: number;
}

/** The part of a VMX unit that offers exit listeners. */
export interface ExitListenerHost {
  addExitListener(l: (record: ExitRecordView) => void): void;
}

/** The CPU's VMX unit as an exit-listener host, or null (no VMX, or no listeners offered). */
export function exitListenerHost(cpu: Cpu): ExitListenerHost | null {
  const unit = cpu.vmx as unknown as Partial<ExitListenerHost> | null;
  return unit !== null && typeof unit === 'object' && typeof unit.addExitListener === 'function' ? unit as ExitListenerHost : null;
}

/**
 * Fills `ev` from an exit record (SDM Vol. 3C §28.2.1-§28.2.5) for vCPU `vcpu` at virtual time
 * `timeNs`. The handler fields are zero: in bare mode the guest's hypervisor handles the exit
 * and the engine cannot know what it did.
 */
export function fillExitEvent(ev: ExitEvent, r: ExitRecordView, vcpu: number, timeNs: number): void {
  const field = r.exitReason;
  ev.vcpu = vcpu;
  ev.timeNs = timeNs;
  ev.reason = field & EXIT_REASON_BASIC_MASK;
  ev.entryFailure = (field & EXIT_REASON_ENTRY_FAILURE) !== 0;
  ev.qualification = r.qualification >>> 0;
  // A linear address: CS base + RIP, wrapped to 32 bits (no long mode in vmxlab's CPU).
  ev.guestRip = (r.guestCsBase + r.guestRip) >>> 0;
  ev.instructionLength = r.instructionLength;
  ev.instructionInfo = r.instructionInfo >>> 0;
  ev.guestPhysical = r.guestPhysical >>> 0;
  ev.guestLinear = r.guestLinear >>> 0;
  ev.exitInterruptionInfo = r.interruptionInfo >>> 0;
  ev.exitInterruptionErrorCode = r.interruptionErrorCode >>> 0;
  ev.idtVectoringInfo = r.idtVectoringInfo >>> 0;
  ev.idtVectoringErrorCode = r.idtVectoringErrorCode >>> 0;
  ev.ecx = r.guestEcx >>> 0;
  ev.eax = r.guestEax >>> 0;
  ev.device = null;
  ev.instructionsEmulated = 0;
  ev.interruptsInjected = 0;
}
