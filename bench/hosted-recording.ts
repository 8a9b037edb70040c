// Child process of bench/run.mjs: what the exit profiler costs a real hosted-mode run. Runs one
// guest under the VMM (src/core/vmm, Haswell, KVM's exit controls) to its exit port, alternately
// with no recorder and with an ExitRecorder (what `vmxlab run --report/--profile` attaches),
// ROUNDS times each after one warm-up run of each, and prints one JSON line: the median wall
// time of each, their ratio (recording on / off) and the run's exits and instructions, which
// must be the same both ways (recording never changes what the guest does).
//   node <bundle> <disk image> [rounds]
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { V8_TUNING_FLAGS } from '../src/core/engine-tuning';
import { BlockDevice } from '../src/core/platform/block';
import { PcMachine } from '../src/core/platform/machine';
import { ExitRecorder } from '../src/core/profile/recorder';
import { cpuModelFor } from '../src/core/vmx/cpu-model';
import { generation } from '../src/core/vmx/generations';
import { HostedVm, hostReservedBytes } from '../src/core/vmm/index';

for (const f of V8_TUNING_FLAGS) setFlagsFromString(f);
const [imagePath, roundsArg] = process.argv.slice(2);
if (imagePath === undefined) throw new Error('hosted-recording: usage: <disk image> [rounds]');
const rounds = Number(roundsArg ?? 3);
if (!Number.isInteger(rounds) || rounds <= 0) throw new Error(`hosted-recording: rounds must be a positive whole number, got ${roundsArg}`);
const raw = new Uint8Array(readFileSync(imagePath));
const disk = new Uint8Array(Math.ceil(raw.length / 512) * 512);
disk.set(raw);
const MEM = 64 << 20, GEN = 'haswell';

interface Run { seconds: number; exits: number; instructions: number; serial: string; recorded: number }

function once(record: boolean): Run {
  const m = new PcMachine({
    cpuModel: cpuModelFor(generation(GEN)), memoryBytes: MEM, disks: [new BlockDevice('hd0', disk.slice())], bootOrder: ['hdd'],
    biosSerialConsole: false, hostReservedBytes: hostReservedBytes(MEM),
  });
  let serial = '';
  m.onSerial = (_p, b) => { serial += String.fromCharCode(b); };
  const recorder = record ? new ExitRecorder({ cost: { generation: GEN } }) : null;
  const vm = new HostedVm(m, { generation: GEN, recorder });
  const t0 = performance.now();
  let stop = vm.run(100_000_000);
  for (let i = 0; stop === 'budget' && i < 600; i++) stop = vm.run(100_000_000);
  const seconds = (performance.now() - t0) / 1000;
  if (stop !== 'stopped' || m.exitPort.code !== 0) throw new Error(`hosted-recording: the guest did not reach its exit port (${stop}): ${serial}`);
  let exits = 0;
  for (const n of vm.exitCounts.values()) exits += n;
  return { seconds, exits, instructions: m.instructions(), serial, recorded: recorder?.exits ?? 0 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
once(false);
once(true);
const off: Run[] = [], on: Run[] = [];
for (let i = 0; i < rounds; i++) { off.push(once(false)); on.push(once(true)); }
const a = off[0]!, b = on[0]!;
for (const r of [...off, ...on]) {
  if (r.exits !== a.exits || r.instructions !== a.instructions || r.serial !== a.serial) {
    throw new Error(`hosted-recording: runs differ (exits ${r.exits} vs ${a.exits}, instructions ${r.instructions} vs ${a.instructions})`);
  }
}
if (b.recorded !== b.exits) throw new Error(`hosted-recording: the recorder saw ${b.recorded} of ${b.exits} exits`);
const offS = median(off.map((r) => r.seconds)), onS = median(on.map((r) => r.seconds));
process.stdout.write(JSON.stringify({
  image: imagePath, generation: GEN, exits: a.exits, instructions: a.instructions, rounds,
  offSeconds: offS, onSeconds: onS, ratio: onS / offS,
  offRuns: off.map((r) => r.seconds), onRuns: on.map((r) => r.seconds),
}) + '\n');
