// `vmxlab run --trace out.json`: the recent exits (the recorder's ring) in the Chrome Trace
// Event format (the JSON Object Format: {"traceEvents": [...]}), which Perfetto and
// chrome://tracing open. One process (the guest), one thread track per vCPU, named by
// metadata events ("M": process_name, thread_name, thread_sort_index). Each exit is a complete
// event ("X") with ts and dur in microseconds; interrupts injected on the following VM entry
// and VM-entry failures are thread-scoped instant events ("i").
//
// The timeline is modelled: an exit starts at its virtual time plus the modelled cost of all
// earlier recorded exits of its vCPU (the emulator does not stop virtual time for exits), and
// lasts its modelled cost. So exits of one vCPU never overlap and timestamps only grow along a
// track, as on a real machine where exits add to the run time.
import type { Profile, RecentEntry } from './profile-json';

export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 'M';
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly s?: 't';
  readonly args?: Record<string, unknown>;
}

export interface TraceFile {
  readonly traceEvents: TraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly otherData: Record<string, string | number>;
}

const PID = 1;
const hex = (n: number): string => `0x${n.toString(16)}`;

export function buildTrace(p: Profile): TraceFile {
  const usPerCycle = 1e6 / p.costModel.clockHz;
  const vcpus = [...new Set([...p.vcpus.map((v) => v.vcpu), ...p.recent.map((e) => e.vcpu)])].sort((a, b) => a - b);
  const meta: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: `vmxlab guest${p.run.image !== null ? ` ${p.run.image}` : ''}` } },
  ];
  for (const v of vcpus) {
    meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: v, args: { name: `vCPU ${v}` } });
    meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID, tid: v, args: { sort_index: v } });
  }
  const perTrack = new Map<number, TraceEvent[]>();
  for (const e of p.recent) {
    let list = perTrack.get(e.vcpu);
    if (list === undefined) { list = []; perTrack.set(e.vcpu, list); }
    list.push(...exitEvents(e, usPerCycle));
  }
  const events: TraceEvent[] = [...meta];
  for (const v of vcpus) {
    const list = perTrack.get(v) ?? [];
    // Stable sort by time: an instant at an exit's end never precedes that exit.
    events.push(...list.map((ev, i) => ({ ev, i })).sort((a, b) => a.ev.ts - b.ev.ts || a.i - b.i).map((x) => x.ev));
  }
  return {
    traceEvents: events,
    displayTimeUnit: 'ns',
    otherData: {
      generator: 'vmxlab',
      generation: p.costModel.generation,
      clockHz: p.costModel.clockHz,
      timeline: 'modelled: virtual time plus the modelled cost of earlier exits of the same vCPU',
      exitsInTrace: p.recent.length,
      exitsRecorded: p.totals.exits,
    },
  };
}

function exitEvents(e: RecentEntry, usPerCycle: number): TraceEvent[] {
  const ts = e.modelledNs / 1000;
  const dur = e.cycles * usPerCycle;
  const out: TraceEvent[] = [{
    name: e.name, cat: 'vmexit', ph: 'X', ts, dur, pid: PID, tid: e.vcpu,
    args: {
      reason: e.reason, label: e.label, rip: hex(e.guestRip), qualification: hex(e.qualification), cycles: e.cycles,
      device: e.device, instructionsEmulated: e.instructionsEmulated, interruptsInjected: e.interruptsInjected,
      virtualTimeNs: e.timeNs,
    },
  }];
  if (e.entryFailure) out.push({ name: 'VM-entry failure', cat: 'vmentry', ph: 'i', s: 't', ts, pid: PID, tid: e.vcpu, args: { reason: e.reason } });
  if (e.interruptsInjected > 0) {
    out.push({ name: 'inject', cat: 'vmentry', ph: 'i', s: 't', ts: ts + dur, pid: PID, tid: e.vcpu, args: { count: e.interruptsInjected } });
  }
  return out;
}

/** The trace as JSON text. */
export function traceToJson(t: TraceFile): string {
  return `${JSON.stringify(t)}\n`;
}
