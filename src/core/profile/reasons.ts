// Exit reasons as the profiler indexes them: per-reason aggregates live in typed arrays indexed
// by the basic exit reason (SDM Vol. 3D Appendix C, Table C-1), never looked up by truthiness
// (reason 0, exception or NMI, is real). Names come from the ExitReason enum.
import { EXIT_REASON_NAMES, ExitReason } from '../vmx/exit-reasons';
import { upperSnake } from './exit-qualification';

const MAX_REASON = Math.max(...[...EXIT_REASON_NAMES.keys()]);

/** Slots in every per-reason array: a power of two above the highest basic reason the SDM
 *  defines (77 today). A basic reason at or above it is counted as unknown. */
export const REASON_SLOTS = 128;
if (MAX_REASON >= REASON_SLOTS) throw new Error(`profile: ExitReason ${MAX_REASON} does not fit REASON_SLOTS ${REASON_SLOTS}`);

/** Every basic reason the SDM names, ascending. */
export const ALL_REASONS: readonly ExitReason[] = [...EXIT_REASON_NAMES.keys()].sort((a, b) => a - b);

/** 'IoInstruction', or 'reason 99' for a number the enum does not name. */
export function reasonName(reason: number): string {
  return EXIT_REASON_NAMES.get(reason) ?? `reason ${reason}`;
}

/** 'IO_INSTRUCTION': the style of KVM's exit names in `perf kvm stat`. */
export function perfReasonName(reason: number): string {
  const n = EXIT_REASON_NAMES.get(reason);
  return n === undefined ? `REASON_${reason}` : upperSnake(n);
}

/** Whether `reason` is a whole number that indexes a per-reason slot. */
export function isReasonSlot(reason: number): boolean {
  return reason >= 0 && reason < REASON_SLOTS && Math.floor(reason) === reason;
}
