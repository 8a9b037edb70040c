#!/usr/bin/env node
// `npm run bench`: the CPU benchmark. Runs guests/bench-cpu/bench.img (protected mode, paging,
// ~1.9e8 instructions of integer work) on
//   - vmxlab: the testbed machine (src/core/platform/testbed.ts), bundled with esbuild;
//   - v86 (npm devDependency `v86`, SeaBIOS from Debian) with its JIT, and with `disable_jit`;
// each in its own Node process, timing the guest from its "BENCH START" line to "BENCH DONE"
// (BIOS boot and guest setup excluded), and checks that all report the same checksum.
// Prints vmxlab's instructions per second and the wall-time ratios vmxlab/v86.
//
// Then the exit profiler's recording cost: ns per synthetic VM exit with recording on and off
// and the garbage collections during recording (bench/profile-bench.ts), and the wall-time
// ratio of a real hosted-mode run (guests/paging-stress, ~286,000 exits) with the recorder on
// and off (bench/hosted-recording.ts).
//
//   node bench/run.mjs [--iter N] [--runs N] [--no-v86] [--json] [--no-profile | --profile-only]
//     --iter N   rounds of the guest's work loop (default: the image's 400, ~4.7e5 instr each)
//     --runs N   run each engine N times and report the median time (default 1)
//     --no-v86   vmxlab only
//     --no-profile    skip the profiler micro-benchmark; --profile-only: run only that
//     --exits N  synthetic exits per profiler timing (default 5,000,000)
//     --hosted-rounds N  runs each way of the hosted recording-cost run (default 3, median)
// Environment: VMXLAB_SEABIOS, VMXLAB_VGABIOS (BIOS images for v86; default Debian's
// /usr/share/seabios/bios.bin and vgabios-stdvga.bin).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeBuildOptions, root } from '../scripts/esbuild-node.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) { console.error(`bench: ${name} needs a positive integer`); process.exit(2); }
  return v;
};
const runs = opt('--runs', 1);
const noV86 = args.includes('--no-v86');
const asJson = args.includes('--json');
const noProfile = args.includes('--no-profile');
const profileOnly = args.includes('--profile-only');
const exits = opt('--exits', 5_000_000);
const hostedRounds = opt('--hosted-rounds', 3);

// ---- the profiler's cost (recording on vs off), in child processes: the micro-benchmark (ns
// per synthetic exit) and a real hosted-mode run of an exit-heavy guest (wall-time ratio)
async function bundleOf(name) {
  const outDir = resolve(root, 'node_modules/.cache/bench');
  mkdirSync(outDir, { recursive: true });
  const bundle = join(outDir, `${name}.cjs`);
  await build({ ...nodeBuildOptions(), sourcemap: false, entryPoints: [join(root, `bench/${name}.ts`)], outfile: bundle, packages: 'external' });
  return bundle;
}
function jsonChild(label, argv) {
  if (!asJson) process.stderr.write(`  running ${label}...\n`);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) { console.error(`bench: ${label} failed (exit ${r.status ?? r.signal})\n${r.stderr}${r.stdout}`); process.exit(1); }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
async function profileBench() {
  const micro = jsonChild('the profiler micro-benchmark', [await bundleOf('profile-bench'), String(exits)]);
  // guests/paging-stress under KVM's exit controls: ~286,000 exits (its COM1 polling) in ~880,000
  // guest instructions, the exit-heaviest built-in guest that finishes in seconds.
  const image = join(root, 'guests/paging-stress/paging-stress.img');
  const hosted = jsonChild('a hosted run with recording off and on', [await bundleOf('hosted-recording'), image, String(hostedRounds)]);
  return { ...micro, hosted };
}
function printProfile(p) {
  console.log(`profiler: ${p.exits.toLocaleString('en-US')} synthetic exits per timing, median of 3: ` +
    `${p.onNsPerExit.toFixed(1)} ns/exit recording, ${p.offNsPerExit.toFixed(1)} ns/exit not recording ` +
    `(recording adds ${p.recordNsPerExit.toFixed(1)} ns/exit); GCs while recording: ${p.gcWhileRecording}`);
  const h = p.hosted;
  console.log(`profiler in a hosted run (${h.image.split('/').slice(-2).join('/')}, ${h.generation}, ${h.exits.toLocaleString('en-US')} exits, ` +
    `${h.instructions.toLocaleString('en-US')} instructions), median of ${h.rounds}: recording off ${h.offSeconds.toFixed(3)} s, ` +
    `on ${h.onSeconds.toFixed(3)} s, ratio on/off ${h.ratio.toFixed(3)}`);
}
if (profileOnly) {
  const p = await profileBench();
  if (asJson) console.log(JSON.stringify({ profiler: p, node: process.version }, null, 2)); else printProfile(p);
  process.exit(0);
}

// ---- the image, with the round count patched in its configuration block
const imagePath = join(root, 'guests/bench-cpu/bench.img');
let image = readFileSync(imagePath);
const cfgAt = image.indexOf(Buffer.from('BNCFG!!!', 'latin1'));
if (cfgAt < 0) { console.error('bench: no BNCFG!!! block in bench.img'); process.exit(1); }
const iter = opt('--iter', image.readUInt32LE(cfgAt + 8));
image = Buffer.from(image);
image.writeUInt32LE(iter, cfgAt + 8);
const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-bench-'));
const patched = join(tmp, 'bench.img');
writeFileSync(patched, image);

// ---- vmxlab bundle
const outDir = resolve(root, 'node_modules/.cache/bench');
mkdirSync(outDir, { recursive: true });
const bundle = join(outDir, 'vmxlab-bench.cjs');
await build({ ...nodeBuildOptions(), sourcemap: false, entryPoints: [join(root, 'bench/vmxlab-bench.ts')], outfile: bundle, packages: 'external' });

function child(label, argv) {
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) {
    console.error(`bench: ${label} failed (exit ${r.status ?? r.signal})\n${r.stderr}${r.stdout}`);
    process.exit(1);
  }
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
function measure(label, argv) {
  const all = [];
  for (let i = 0; i < runs; i++) {
    if (!asJson) process.stderr.write(`  running ${label}${runs > 1 ? ` (${i + 1}/${runs})` : ''}...\n`);
    all.push(child(label, argv));
  }
  const m = median(all.map((r) => r.seconds));
  return { ...all.find((r) => r.seconds === m), seconds: m, runs: all.map((r) => r.seconds) };
}

const results = [];
const vm = measure('vmxlab', [bundle, patched, String(iter)]);
results.push({ engine: 'vmxlab (CLI/desktop V8 tuning)', ...vm });
// The browser build cannot pass V8 flags (src/core/engine-tuning.ts): measure that too.
results.push({ engine: 'vmxlab (V8 defaults, as in a browser)', ...measure('vmxlab (V8 defaults)', [bundle, patched, String(iter), '--v8-defaults']) });

let v86Version = null;
if (!noV86) {
  const require = createRequire(import.meta.url);
  let ok = true;
  try { v86Version = JSON.parse(readFileSync(require.resolve('v86/package.json'), 'utf8')).version; } catch { ok = false; }
  const bios = process.env.VMXLAB_SEABIOS ?? '/usr/share/seabios/bios.bin';
  if (!ok) console.error('bench: v86 is not installed (npm i -D v86@0.5.462); measuring vmxlab only');
  else if (!existsSync(bios)) console.error(`bench: no SeaBIOS at ${bios} (apt-get install seabios); measuring vmxlab only`);
  else {
    const script = join(root, 'bench/v86-bench.mjs');
    results.push({ engine: `v86 ${v86Version} with JIT`, ...measure('v86 (JIT)', [script, patched, String(iter), 'jit']) });
    results.push({ engine: `v86 ${v86Version} without JIT (disable_jit)`, ...measure('v86 (no JIT)', [script, patched, String(iter), 'nojit']) });
  }
}
rmSync(tmp, { recursive: true, force: true });
const profiler = noProfile ? null : await profileBench();

const instr = vm.instructions;
const sums = new Set(results.map((r) => r.checksum));
if (asJson) {
  console.log(JSON.stringify({ iter, instructions: instr, results, profiler, node: process.version, cpus: cpus().length }, null, 2));
} else {
  console.log(`bench-cpu: ${iter} rounds, ${(instr / 1e6).toFixed(1)} M guest instructions between the markers` +
    ` (counted by vmxlab), ${runs} run${runs > 1 ? 's, median' : ''}`);
  console.log(`${'engine'.padEnd(48)} ${'checksum'.padEnd(9)} ${'time'.padStart(8)} ${'MIPS*'.padStart(7)}  vmxlab/engine time`);
  for (const r of results) {
    const mips = instr / r.seconds / 1e6;
    console.log(`${r.engine.padEnd(48)} ${String(r.checksum).padEnd(9)} ${r.seconds.toFixed(3).padStart(7)}s ${mips.toFixed(1).padStart(7)}  ${(vm.seconds / r.seconds).toFixed(2)}`);
  }
  console.log('* MIPS: vmxlab\'s instruction count divided by each engine\'s time (same guest, same work).');
  if (profiler !== null) printProfile(profiler);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`);
}
if (sums.size !== 1) {
  console.error(`bench: CHECKSUMS DIFFER: ${results.map((r) => `${r.engine}=${r.checksum}`).join(', ')}`);
  process.exit(1);
}
