// Child-process runner for the long-mode guests (as test/diff/guest-runner.ts, with a CPU model
// that has Intel 64): node long-runner.cjs <image> <maxInstructions> <generation>
// Prints the testbed's RunUntilResult as one JSON line.
import { readFileSync } from 'node:fs';
import { Testbed } from '../../../src/core/platform/testbed';
import { createCpu } from '../../../src/core/cpu';
import { cpuModelForName } from '../../../src/core/vmx/cpu-model';

const [imagePath, max, gen] = process.argv.slice(2);
const model = cpuModelForName(gen || 'skylake', { longMode: true });
const tb = new Testbed({ createCpu: (mem, io) => createCpu(mem, io, model) });
tb.loadBootSector(new Uint8Array(readFileSync(imagePath)));
const r = tb.runUntil({ maxInstructions: Number(max) });
process.stdout.write(JSON.stringify(r) + '\n');
