#!/usr/bin/env node
// Bundles the `vmxlab` CLI (src/cli/index.ts) into out/cli/vmxlab.cjs, self-contained
// (npm packages included), with a node shebang. `--quiet` prints nothing on success.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { nodeBuildOptions, root } from './esbuild-node.mjs';

const quiet = process.argv.includes('--quiet');

/** Entry points of the CLI bundle. Worker scripts (worker_threads) can be added here. */
const entries = [{ in: 'src/cli/index.ts', out: 'out/cli/vmxlab.cjs', executable: true }];

try {
  for (const e of entries) {
    const outfile = resolve(root, e.out);
    await build({
      ...nodeBuildOptions(),
      entryPoints: [resolve(root, e.in)],
      outfile,
      banner: e.executable ? { js: '#!/usr/bin/env node' } : undefined,
    });
    if (e.executable) chmodSync(outfile, 0o755);
    if (!quiet) console.log(`built ${relative(root, outfile)}`);
  }
} catch {
  process.exit(1);
}
