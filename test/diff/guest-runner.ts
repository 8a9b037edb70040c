// Child-process runner for long guest runs in tests: bundled by esbuild (support.ts) and run
// with plain Node, so the core runs as it does in the CLI and the benchmark (vitest's module
// transform slows hot loops that read imported bindings by an order of magnitude).
//   node guest-runner.cjs <image> <maxInstructions> [marker]
// Prints the testbed's RunUntilResult as one JSON line.
import { readFileSync } from 'node:fs';
import { Testbed } from '../../src/core/platform/testbed';

const [imagePath, max, marker] = process.argv.slice(2);
const tb = new Testbed();
tb.loadBootSector(new Uint8Array(readFileSync(imagePath)));
const r = tb.runUntil({ maxInstructions: Number(max), marker: marker || undefined });
process.stdout.write(JSON.stringify(r) + '\n');
