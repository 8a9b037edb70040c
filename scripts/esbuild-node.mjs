// Shared esbuild settings for code that runs in plain Node (the CLI, conformance, tools).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

/** @returns {import('esbuild').BuildOptions} */
export function nodeBuildOptions() {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    define: { __VMXLAB_VERSION__: JSON.stringify(pkg.version) },
  };
}
