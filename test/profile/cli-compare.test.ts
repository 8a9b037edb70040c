// `vmxlab compare a.json b.json` through the CLI dispatcher, with real files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/types';
import { buildProfile, profileToJson } from '../../src/core/profile/profile-json';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { cpuid, io, recordMany } from './support';

async function vmxlab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ctx: CliContext = { out: (t) => void (out += t), err: (t) => void (err += t), version: '0.0.0', commands };
  const code = await main(argv, ctx);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'vmxlab-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, cpuids: number, ios: number): string {
  const rec = new ExitRecorder({ cost: { generation: 'haswell' } });
  recordMany(rec, cpuids, (ev) => cpuid(ev, 0));
  recordMany(rec, ios, (ev) => io(ev, 0x70, 'out', 1));
  const path = join(dir, name);
  writeFileSync(path, profileToJson(buildProfile(rec, { guestInstructions: 10_000, image: name })));
  return path;
}

describe('vmxlab compare', () => {
  const a = write('a.json', 100, 10);
  const b = write('b.json', 100, 500);

  it('prints the two runs side by side, largest change first', async () => {
    const r = await vmxlab('compare', a, b);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`A: ${a} (a.json on haswell, 110 exits)`);
    const reasons = r.out.split('By exit reason')[1]!.split('\n').slice(2, 4);
    expect(reasons[0]).toMatch(/^IoInstruction +10 +500 +\+490 /);
    expect(reasons[1]).toMatch(/^Cpuid +100 +100 +0 /);
  });

  it('--by count and --top are accepted; help lists the command', async () => {
    const r = await vmxlab('compare', '--by', 'count', '--top', '1', a, b);
    expect(r.code).toBe(0);
    expect(r.out).toContain('(1 more rows; --top N shows more)');
    expect((await vmxlab('help')).out).toContain('compare');
    expect((await vmxlab('help', 'compare')).out).toContain('vmxlab run --profile FILE');
  });

  it('bad arguments exit 2, unreadable or invalid files exit 1 with the reason', async () => {
    expect((await vmxlab('compare', a)).code).toBe(2);
    expect((await vmxlab('compare', '--by', 'size', a, b)).err).toMatch(/--by: cycles or count/);
    const missing = await vmxlab('compare', a, join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.json: cannot read \(ENOENT\)/);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"schemaVersion": 1, "generator": "vmxlab"}');
    const bad = await vmxlab('compare', junk, b);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/junk\.json: not a valid vmxlab profile: \/: missing property 'run'/);
    expect(bad.err).not.toMatch(/at \w+ \(/); // no stack trace
  });
});
