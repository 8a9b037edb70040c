// Child process of bench/run.mjs: the exit profiler's recording cost. Fills an ExitEvent with a
// synthetic mix of exits (port I/O on a few ports, CPUID leaves, MSRs, HLT, EPT violations on
// a spread of pages, 256 guest RIPs) N times with recording off (the same loop, no record
// call) and on (ExitRecorder.record), and prints one JSON line: ns per exit for each, the
// difference (what recording adds per exit) and how many garbage collections ran during each
// timed loop (0 while recording means it allocated nothing worth collecting).
//   node <bundle> [exits]
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { V8_TUNING_FLAGS } from '../src/core/engine-tuning';
import { ExitEvent } from '../src/core/profile/exit-event';
import { ExitRecorder } from '../src/core/profile/recorder';
import { ExitReason } from '../src/core/vmx/exit-reasons';

for (const f of V8_TUNING_FLAGS) setFlagsFromString(f);
const N = Number(process.argv[2] ?? 5_000_000);
if (!Number.isInteger(N) || N <= 0) throw new Error(`profile-bench: exits must be a positive whole number, got ${process.argv[2]}`);

// A table of 64 exit shapes; exit i uses shape i % 64 and RIP slot i % 256.
const SHAPES = 64;
const reason = new Int32Array(SHAPES), qual = new Float64Array(SHAPES), ecx = new Int32Array(SHAPES);
const eax = new Int32Array(SHAPES), gpa = new Float64Array(SHAPES), device = new Array<string | null>(SHAPES).fill(null);
for (let s = 0; s < SHAPES; s++) {
  switch (s % 8) {
    case 0: case 1: case 2: reason[s] = ExitReason.IoInstruction; qual[s] = ((0x3f8 + (s % 5)) << 16) | ((s & 1) << 3); device[s] = 'uart0'; break;
    case 3: reason[s] = ExitReason.Cpuid; eax[s] = s % 4; break;
    case 4: reason[s] = ExitReason.Rdmsr; ecx[s] = 0x1b; break;
    case 5: reason[s] = ExitReason.Wrmsr; ecx[s] = 0x6e0; break;
    case 6: reason[s] = ExitReason.Hlt; break;
    default: reason[s] = ExitReason.EptViolation; qual[s] = 2; gpa[s] = 0x100000 + s * 4096; break;
  }
}

function fill(ev: ExitEvent, i: number): void {
  const s = i & (SHAPES - 1);
  ev.vcpu = i & 1;
  ev.timeNs = i * 50;
  ev.reason = reason[s]!;
  ev.qualification = qual[s]!;
  ev.guestRip = 0xc1000000 + (i & 255) * 16;
  ev.ecx = ecx[s]!;
  ev.eax = eax[s]!;
  ev.guestPhysical = gpa[s]!;
  ev.device = device[s]!;
  ev.instructionsEmulated = s === 7 ? 1 : 0;
  ev.interruptsInjected = s === 6 ? 1 : 0;
}

let gcs = 0;
new PerformanceObserver((list) => { gcs += list.getEntries().length; }).observe({ entryTypes: ['gc'] });
const flushObserver = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

const ev = new ExitEvent();
let sink = 0;
function off(n: number): void {
  for (let i = 0; i < n; i++) { fill(ev, i); sink += ev.reason; }
}
const rec = new ExitRecorder({ cost: { generation: 'skylake' } });
function on(n: number): void {
  for (let i = 0; i < n; i++) { fill(ev, i); rec.record(ev); }
}

async function timed(fn: (n: number) => void): Promise<{ ns: number; gcs: number }> {
  await flushObserver();
  const g0 = gcs;
  const t0 = performance.now();
  fn(N);
  const t1 = performance.now();
  await flushObserver();
  return { ns: ((t1 - t0) * 1e6) / N, gcs: gcs - g0 };
}

async function main(): Promise<void> {
  // Warm up both loops (the recorder's tables reach their final size here).
  off(200_000);
  on(200_000);
  const runs = [];
  for (let k = 0; k < 3; k++) runs.push({ off: await timed(off), on: await timed(on) });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
  const offNs = median(runs.map((r) => r.off.ns)), onNs = median(runs.map((r) => r.on.ns));
  process.stdout.write(JSON.stringify({
    exits: N,
    offNsPerExit: offNs,
    onNsPerExit: onNs,
    recordNsPerExit: onNs - offNs,
    gcWhileRecording: Math.max(...runs.map((r) => r.on.gcs)),
    gcWithoutRecording: Math.max(...runs.map((r) => r.off.gcs)),
    recorded: rec.exits,
    sink: sink % 7,
  }) + '\n');
}
void main();
