import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/types';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    version: '1.2.3',
    commands,
  };
  const code = await main(argv, ctx);
  return { code, out, err };
}

describe('vmxlab CLI dispatcher', () => {
  it('help lists every command', async () => {
    const r = await run('help');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('Usage: vmxlab <command>');
    for (const c of commands) expect(r.out).toContain(`${c.name}`);
  });

  it('no arguments, -h and --help show the same help', async () => {
    const expected = (await run('help')).out;
    for (const argv of [[], ['-h'], ['--help']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(expected);
    }
  });

  it('help <command> and <command> --help describe one command', async () => {
    const a = await run('help', 'version');
    const b = await run('version', '--help');
    expect(a.code).toBe(0);
    expect(a.out).toContain('Usage: vmxlab version');
    expect(b.out).toBe(a.out);
  });

  it('version and --version print the version', async () => {
    expect(await run('version')).toEqual({ code: 0, out: '1.2.3\n', err: '' });
    expect(await run('--version')).toEqual({ code: 0, out: '1.2.3\n', err: '' });
  });

  it('an unknown command is an error with exit code 2', async () => {
    const r = await run('frobnicate');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain("unknown command 'frobnicate'");
    expect(r.err).toContain("vmxlab help");
  });

  it('suggests a close command name', async () => {
    const r = await run('verison');
    expect(r.code).toBe(2);
    expect(r.err).toContain("did you mean 'version'");
  });

  it('bad arguments to a command are a usage error (exit code 2)', async () => {
    const r = await run('version', 'extra');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: vmxlab version');
    expect((await run('help', 'nope')).code).toBe(2);
  });

  it('command names are unique', () => {
    const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
  });
});
