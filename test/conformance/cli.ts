// `npm run conformance -- <dir or file> [--verbose]`: runs SingleStepTests files against the
// CPU core, prints failures per opcode, closes with "N passed, N failed".
import { resolve } from 'node:path';
import { listTestFiles, loadMetadata, metadataDirFor, runFile, SingleStepMachine } from './singlestep';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const target = resolve(args.find((a) => !a.startsWith('--')) ?? resolve(process.cwd(), '../shared/testdata/singlestep-80286'));
const meta = loadMetadata(metadataDirFor(target));
const machine = new SingleStepMachine();
let passed = 0, failed = 0, excluded = 0, skippedFiles = 0;
const t0 = Date.now();
for (const f of listTestFiles(target)) {
  const r = runFile(f, meta, machine);
  passed += r.passed; failed += r.failed; excluded += r.excluded;
  if (r.skippedReason) { skippedFiles++; if (verbose) console.log(`${r.stem}: skipped (${r.skippedReason})`); continue; }
  if (r.failed > 0) {
    console.log(`${r.stem}: ${r.failed} failed, ${r.passed} passed`);
    for (const fl of r.failures.slice(0, verbose ? 1000 : 3)) console.log(`  #${fl.idx} ${fl.name}: ${fl.diffs.join('; ')}`);
  } else if (verbose) console.log(`${r.stem}: ${r.passed} passed`);
}
console.log(`files skipped by metadata/exclusions: ${skippedFiles}; tests excluded: ${excluded}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
