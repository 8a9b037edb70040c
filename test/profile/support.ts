// Synthetic exit streams: each helper fills an ExitEvent as the VMX layer and the VMM would,
// with the exit information laid out as the SDM defines it for that reason.
import { ExitEvent } from '../../src/core/profile/exit-event';
import type { ExitRecorder } from '../../src/core/profile/recorder';
import { ExitReason } from '../../src/core/vmx/exit-reasons';

export interface Common { vcpu?: number; t?: number; rip?: number; device?: string | null; emulated?: number; injected?: number }

function base(ev: ExitEvent, reason: ExitReason, c: Common): ExitEvent {
  ev.reset();
  ev.reason = reason;
  ev.vcpu = c.vcpu ?? 0;
  ev.timeNs = c.t ?? 0;
  ev.guestRip = c.rip ?? 0x1000;
  ev.device = c.device ?? null;
  ev.instructionsEmulated = c.emulated ?? 0;
  ev.interruptsInjected = c.injected ?? 0;
  return ev;
}

/** IN/OUT: qualification [2:0] size-1, [3] 1 = IN, [4] string, [5] REP, [6] immediate, [31:16] port. */
export function io(ev: ExitEvent, port: number, dir: 'in' | 'out', size: 1 | 2 | 4, c: Common & { string?: boolean; rep?: boolean; imm?: boolean } = {}): ExitEvent {
  base(ev, ExitReason.IoInstruction, c);
  ev.qualification = ((port << 16) | ((c.imm ? 1 : 0) << 6) | ((c.rep ? 1 : 0) << 5) | ((c.string ? 1 : 0) << 4) | ((dir === 'in' ? 1 : 0) << 3) | (size - 1)) >>> 0;
  ev.instructionLength = c.imm ? 2 : 1;
  return ev;
}

export function msr(ev: ExitEvent, write: boolean, index: number, c: Common = {}): ExitEvent {
  base(ev, write ? ExitReason.Wrmsr : ExitReason.Rdmsr, c);
  ev.ecx = index | 0;
  ev.instructionLength = 2;
  return ev;
}

export function cpuid(ev: ExitEvent, leaf: number, c: Common = {}): ExitEvent {
  base(ev, ExitReason.Cpuid, c);
  ev.eax = leaf | 0;
  ev.instructionLength = 2;
  return ev;
}

export function hlt(ev: ExitEvent, c: Common = {}): ExitEvent {
  base(ev, ExitReason.Hlt, c);
  ev.instructionLength = 1;
  return ev;
}

/** MOV CR: [3:0] CR, [5:4] access type, [11:8] GPR. */
export function crAccess(ev: ExitEvent, cr: number, access: number, gpr: number, c: Common = {}): ExitEvent {
  base(ev, ExitReason.CrAccess, c);
  ev.qualification = (gpr << 8) | (access << 4) | cr;
  ev.instructionLength = 3;
  return ev;
}

/** Exception: interruption information [7:0] vector, [10:8] type, [11] error code valid, [31] valid. */
export function exception(ev: ExitEvent, vector: number, type: number, c: Common & { errorCode?: number; qual?: number } = {}): ExitEvent {
  base(ev, ExitReason.ExceptionOrNmi, c);
  ev.exitInterruptionInfo = ((1 << 31) | (c.errorCode !== undefined ? 1 << 11 : 0) | (type << 8) | vector) | 0;
  ev.exitInterruptionErrorCode = c.errorCode ?? 0;
  ev.qualification = c.qual ?? 0;
  return ev;
}

/** EPT violation: qualification [2:0] read/write/fetch, GPA. */
export function eptViolation(ev: ExitEvent, gpa: number, access: number, c: Common = {}): ExitEvent {
  base(ev, ExitReason.EptViolation, c);
  ev.qualification = access;
  ev.guestPhysical = gpa;
  return ev;
}

/** Records `n` copies of what `fill` writes, at times t0, t0 + step, ... */
export function recordMany(rec: ExitRecorder, n: number, fill: (ev: ExitEvent, i: number) => ExitEvent): void {
  for (let i = 0; i < n; i++) rec.record(fill(rec.event, i));
}
