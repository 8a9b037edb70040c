// Entry of the `vmxlab` command (bundled to out/cli/vmxlab.cjs by scripts/build-cli.mjs).
import { setFlagsFromString } from 'node:v8';
import { V8_TUNING_FLAGS } from '../core/engine-tuning';
import { commands } from './commands';
import { main } from './main';
import type { CliContext } from './types';
import { VERSION } from './version';

process.setSourceMapsEnabled(true);
// Before any guest code runs (and so before V8 optimizes the run loops).
for (const f of V8_TUNING_FLAGS) setFlagsFromString(f);

const ctx: CliContext = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  version: VERSION,
  commands,
};

main(process.argv.slice(2), ctx).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`vmxlab: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
