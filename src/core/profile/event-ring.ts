// The most recent raw exits, in a ring of fixed capacity (struct of typed arrays: recording
// copies numbers, allocates nothing). Once full, each new exit overwrites the oldest.
import type { ExitEvent } from './exit-event';

/** One exit read back from the ring (report time). */
export interface RecentExit {
  readonly vcpu: number;
  readonly timeNs: number;
  /** Start of the exit on the modelled timeline of its vCPU: virtual time plus the modelled
   *  cost of every earlier recorded exit of that vCPU (trace.ts). */
  readonly modelledNs: number;
  readonly reason: number;
  readonly entryFailure: boolean;
  readonly qualification: number;
  readonly guestRip: number;
  readonly instructionLength: number;
  readonly instructionInfo: number;
  readonly guestPhysical: number;
  readonly guestLinear: number;
  readonly exitInterruptionInfo: number;
  readonly exitInterruptionErrorCode: number;
  readonly idtVectoringInfo: number;
  readonly idtVectoringErrorCode: number;
  readonly ecx: number;
  readonly eax: number;
  /** Device id (ExitRecorder.deviceName), or -1. */
  readonly device: number;
  readonly instructionsEmulated: number;
  readonly interruptsInjected: number;
  readonly handlerCycles: number;
  /** Sub-key (subkey.ts), or -1. */
  readonly subkey: number;
}

export class EventRing {
  private readonly vcpu: Int32Array;
  private readonly timeNs: Float64Array;
  private readonly modelledNs: Float64Array;
  private readonly reason: Int32Array;
  private readonly entryFailure: Uint8Array;
  private readonly qualification: Float64Array;
  private readonly rip: Float64Array;
  private readonly instrLen: Int32Array;
  private readonly instrInfo: Int32Array;
  private readonly gpa: Float64Array;
  private readonly gla: Float64Array;
  private readonly intInfo: Int32Array;
  private readonly intErr: Int32Array;
  private readonly idtInfo: Int32Array;
  private readonly idtErr: Int32Array;
  private readonly ecx: Int32Array;
  private readonly eax: Int32Array;
  private readonly device: Int32Array;
  private readonly emulated: Float64Array;
  private readonly injected: Float64Array;
  private readonly handler: Float64Array;
  private readonly subkey: Float64Array;
  /** Next slot to write. */
  private head = 0;
  /** Exits ever pushed. */
  pushed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`profile: ring size must be a whole number >= 0, got ${capacity}`);
    const n = capacity;
    this.vcpu = new Int32Array(n); this.timeNs = new Float64Array(n); this.modelledNs = new Float64Array(n);
    this.reason = new Int32Array(n); this.entryFailure = new Uint8Array(n); this.qualification = new Float64Array(n);
    this.rip = new Float64Array(n); this.instrLen = new Int32Array(n); this.instrInfo = new Int32Array(n);
    this.gpa = new Float64Array(n); this.gla = new Float64Array(n); this.intInfo = new Int32Array(n);
    this.intErr = new Int32Array(n); this.idtInfo = new Int32Array(n); this.idtErr = new Int32Array(n);
    this.ecx = new Int32Array(n); this.eax = new Int32Array(n); this.device = new Int32Array(n);
    this.emulated = new Float64Array(n); this.injected = new Float64Array(n); this.handler = new Float64Array(n);
    this.subkey = new Float64Array(n);
  }

  /** Exits held (at most capacity). */
  get length(): number { return Math.min(this.pushed, this.capacity); }

  /** Copies `ev`; `values` holds [sub-key or -1, handler cycles, modelled ns] (a typed array,
   *  so no double is boxed on the way in). */
  push(ev: ExitEvent, device: number, values: Float64Array): void {
    if (this.capacity === 0) { this.pushed++; return; }
    const i = this.head;
    this.vcpu[i] = ev.vcpu; this.timeNs[i] = ev.timeNs; this.modelledNs[i] = values[2]!;
    this.reason[i] = ev.reason; this.entryFailure[i] = ev.entryFailure ? 1 : 0;
    this.qualification[i] = ev.qualification; this.rip[i] = ev.guestRip;
    this.instrLen[i] = ev.instructionLength; this.instrInfo[i] = ev.instructionInfo;
    this.gpa[i] = ev.guestPhysical; this.gla[i] = ev.guestLinear;
    this.intInfo[i] = ev.exitInterruptionInfo; this.intErr[i] = ev.exitInterruptionErrorCode;
    this.idtInfo[i] = ev.idtVectoringInfo; this.idtErr[i] = ev.idtVectoringErrorCode;
    this.ecx[i] = ev.ecx; this.eax[i] = ev.eax; this.device[i] = device;
    this.emulated[i] = ev.instructionsEmulated; this.injected[i] = ev.interruptsInjected;
    this.handler[i] = values[1]!; this.subkey[i] = values[0]!;
    this.head = i + 1 === this.capacity ? 0 : i + 1;
    this.pushed++;
  }

  /** The exits held, oldest first. 32-bit fields read back unsigned. */
  toArray(): RecentExit[] {
    const n = this.length;
    const out: RecentExit[] = [];
    let i = this.pushed > this.capacity ? this.head : 0;
    for (let k = 0; k < n; k++) {
      out.push({
        vcpu: this.vcpu[i]!, timeNs: this.timeNs[i]!, modelledNs: this.modelledNs[i]!, reason: this.reason[i]!,
        entryFailure: this.entryFailure[i] === 1, qualification: this.qualification[i]!, guestRip: this.rip[i]!,
        instructionLength: this.instrLen[i]!, instructionInfo: this.instrInfo[i]! >>> 0,
        guestPhysical: this.gpa[i]!, guestLinear: this.gla[i]!,
        exitInterruptionInfo: this.intInfo[i]! >>> 0, exitInterruptionErrorCode: this.intErr[i]! >>> 0,
        idtVectoringInfo: this.idtInfo[i]! >>> 0, idtVectoringErrorCode: this.idtErr[i]! >>> 0,
        ecx: this.ecx[i]! >>> 0, eax: this.eax[i]! >>> 0, device: this.device[i]!,
        instructionsEmulated: this.emulated[i]!, interruptsInjected: this.injected[i]!,
        handlerCycles: this.handler[i]!, subkey: this.subkey[i]!,
      });
      i = i + 1 === this.capacity ? 0 : i + 1;
    }
    return out;
  }
}
