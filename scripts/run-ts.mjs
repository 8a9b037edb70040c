#!/usr/bin/env node
// Usage: node scripts/run-ts.mjs <entry.ts> [args...]
// Bundles the TypeScript entry with esbuild (platform node, CommonJS) into
// node_modules/.cache/run-ts/ and runs it with the remaining arguments.
// npm packages stay external (loaded from node_modules); project sources are bundled.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { nodeBuildOptions, root } from './esbuild-node.mjs';

const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const entry = resolve(process.cwd(), entryArg);
if (!existsSync(entry)) {
  console.error(`run-ts: no such file: ${entryArg}`);
  process.exit(2);
}

const outDir = resolve(root, 'node_modules/.cache/run-ts');
mkdirSync(outDir, { recursive: true });
const tag = createHash('sha1').update(entry).digest('hex').slice(0, 8);
const outfile = resolve(outDir, `${basename(entry, extname(entry))}-${tag}.cjs`);

try {
  await build({ ...nodeBuildOptions(), entryPoints: [entry], outfile, packages: 'external' });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}

const child = spawn(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) {
    console.error(`run-ts: ${basename(entry)} killed by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
