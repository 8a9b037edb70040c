// Running the `vmxlab` CLI in process (its dispatcher with captured output) and assembling
// guest images with nasm into a scratch directory, for the CLI tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/types';

/** Runs `vmxlab argv...` and returns its exit code and what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ctx: CliContext = { out: (t) => void (out += t), err: (t) => void (err += t), version: 'test', commands };
  const code = await main(argv, ctx);
  return { code, out, err };
}

/** A scratch directory for this test file's images. */
export const scratchDir = mkdtempSync(join(tmpdir(), 'vmxlab-cli-'));

/** Assembles `src` (a flat binary) into scratchDir and returns the image path. */
export function nasm(src: string): string {
  const asm = join(scratchDir, `g${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(asm, src);
  const img = asm.replace(/\.asm$/, '.img');
  execFileSync('nasm', ['-f', 'bin', asm, '-o', img]);
  return img;
}
