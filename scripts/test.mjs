#!/usr/bin/env node
// `npm test`: runs `vitest run` with the default reporter on the console and the JSON
// reporter into a temp file, then prints as the very last line `N passed, N failed`
// (failed includes test files that errored before running any test, and unhandled errors).
// Extra arguments go to vitest, e.g. `npm test -- test/project`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { root } from './esbuild-node.mjs';

const require = createRequire(import.meta.url);
const vitestBin = resolve(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');

const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-test-'));
const jsonFile = join(tmp, 'vitest.json');

const args = [
  vitestBin,
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${jsonFile}`,
  ...process.argv.slice(2),
];

const code = await new Promise((resolveExit) => {
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (c, signal) => resolveExit(signal ? 1 : (c ?? 1)));
  child.on('error', (e) => {
    console.error(`test: cannot start vitest: ${e.message}`);
    resolveExit(1);
  });
});

let passed = 0;
let failed = 0;
let skipped = 0;
const notes = [];

if (existsSync(jsonFile)) {
  try {
    const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
    for (const file of report.testResults ?? []) {
      let fileFailed = 0;
      for (const t of file.assertionResults ?? []) {
        if (t.status === 'passed') passed++;
        else if (t.status === 'failed') {
          failed++;
          fileFailed++;
        } else skipped++; // skipped, pending, todo, disabled
      }
      // A file that failed without a failing test (syntax error, failing import, hook error).
      if (file.status === 'failed' && fileFailed === 0) {
        failed++;
        notes.push(`suite error: ${file.name}`);
      }
    }
  } catch (e) {
    notes.push(`cannot read the vitest JSON report: ${e.message}`);
    failed++;
  }
} else {
  notes.push('vitest wrote no JSON report');
  failed++;
}

// vitest failed for a reason the report does not show (unhandled error, no test files…).
if (code !== 0 && failed === 0) {
  notes.push(`vitest exited with code ${code}`);
  failed++;
}

rmSync(tmp, { recursive: true, force: true });

for (const n of notes) console.log(n);
if (skipped > 0) console.log(`(${skipped} skipped or todo)`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || code !== 0 ? 1 : 0;
