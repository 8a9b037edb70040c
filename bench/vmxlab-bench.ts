// Child process of bench/run.mjs: runs the bench-cpu guest on vmxlab's testbed and prints one
// JSON line: the checksum, instructions and wall time between the guest's start and end markers
// (boot and setup excluded), and the same for the whole run.
//   node <bundle> <image> <rounds>
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { V8_TUNING_FLAGS } from '../src/core/engine-tuning';
import { Testbed } from '../src/core/platform/testbed';

// As the CLI and the desktop app do (src/core/engine-tuning.ts); `--v8-defaults` measures without.
if (!process.argv.includes('--v8-defaults')) for (const f of V8_TUNING_FLAGS) setFlagsFromString(f);
const [imagePath, roundsArg] = process.argv.slice(2).filter((a) => a !== '--v8-defaults');
const image = new Uint8Array(readFileSync(imagePath));
const rounds = Number(roundsArg);
const start = `BENCH START iter=${rounds}\n`;

const tb = new Testbed({ memoryBytes: 64 << 20 });
tb.loadBootSector(image);
const t0 = performance.now();
const a = tb.runUntil({ maxInstructions: 100_000_000, marker: start });
if (a.stopReason !== 'marker') throw new Error(`no start marker (${a.stopReason}): ${a.output}`);
const t1 = performance.now();
const b = tb.runUntil({ maxInstructions: 1e12 });
const t2 = performance.now();
const m = /BENCH checksum=([0-9a-f]{8})\nBENCH DONE\n/.exec(b.output);
if (b.stopReason !== 'exit-port' || !m) throw new Error(`guest did not finish (${b.stopReason}): ${b.output}`);
process.stdout.write(JSON.stringify({
  checksum: m[1],
  instructions: b.instructions,
  seconds: (t2 - t1) / 1000,
  setupInstructions: a.instructions,
  totalSeconds: (t2 - t0) / 1000,
}) + '\n');
