// hostdiff64: 64-bit mode instruction forms (hostdiff64.asm) run natively by the host CPU (an
// x86-64 Linux program) and by vmxlab in IA-32e mode; every "<form> <hash>" line must be equal.
// The hashes cover results and the flags the SDM defines, over random and edge operands.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, assembleLong, runLongOnVmxlab } from './support';

function hostCannotRun(): string | null {
  if (process.platform !== 'linux') return `host is ${process.platform}, not Linux`;
  if (process.arch !== 'x64') return `host CPU is ${process.arch}, not x86-64`;
  return null;
}

describe('hostdiff64 against the host CPU', () => {
  it('every 64-bit form hashes the same on vmxlab as on the host', (ctx) => {
    const why = hostCannotRun();
    if (why !== null) ctx.skip(why);
    const elf = assembleLong('hostdiff64.asm', ['-DHOST']);
    const img = assembleLong('hostdiff64.asm');
    // In the repository's cache rather than the temp directory, which may be mounted noexec.
    const dir = join(ROOT, 'node_modules/.cache/vmxlab-tests');
    mkdirSync(dir, { recursive: true });
    const exe = join(dir, `hostdiff64-${process.pid}`);
    let host: string;
    try {
      writeFileSync(exe, elf);
      chmodSync(exe, 0o755);
      const r = spawnSync(exe, [], { encoding: 'latin1', timeout: 60_000 });
      if (r.error) throw r.error;
      expect(r.status, `host build exited with ${r.status ?? r.signal}: ${r.stderr}`).toBe(0);
      host = r.stdout;
    } finally {
      rmSync(exe, { force: true });
    }
    const v = runLongOnVmxlab(img, 'skylake', 100_000_000);
    expect(v.stopReason, v.output).toBe('exit-port');
    const h = host.split('\n'), g = v.output.split('\n');
    expect(h[0]).toBe('HOSTDIFF64 START');
    expect(h).toContain('HOSTDIFF64 DONE');
    expect(h.length).toBeGreaterThan(70); // every form ran
    const differing = h.filter((line, i) => line !== g[i]);
    expect(differing, `forms whose hash differs (host line shown):\n${differing.join('\n')}`).toEqual([]);
    expect(g.length).toBe(h.length);
  }, 120_000);
});
