// Recording in bare mode (issue 7: "in bare mode the exits are those that the guest's own
// hypervisor receives"): `vmxlab run --report/--profile` on a root-mode test hypervisor
// (test/vmx-guests/exits) records every exit its guest causes. The hypervisor prints each exit
// it handles ("exit N NAME rip=..."), so the profile must hold exactly those, per reason and per
// guest RIP, plus the guest's hypercalls (VMCALL), which it handles without printing them.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { lazy, parsePerfTable, readProfile, readTrace, ROOT, scratch, scratchFile, vmxlab } from './cli-child';
import { ExitReason } from '../../src/core/vmx/exit-reasons';

vi.setConfig({ testTimeout: 120_000 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const IMAGE = join(ROOT, 'test/vmx-guests/exits/vmx-exits.img');

describe('bare mode: the exits a hypervisor guest receives', () => {
  const pj = scratchFile('vmx-exits.json'), tj = scratchFile('vmx-exits.trace.json');
  const run = lazy(() => vmxlab(['run', '--mode', 'bare', IMAGE, '--gen', 'haswell', '--no-bios-serial', '--quiet', '--report', 'perf', '--profile', pj, '--trace', tj]));

  it('every exit the hypervisor prints is in the profile at its reason and guest RIP; only VMCALLs come on top', () => {
    expect(run().code, run().err).toBe(0);
    const printed = new Map<string, number>();
    let lines = 0;
    for (const m of run().out.matchAll(/^ {2}exit (\d+) \S+ rip=([0-9a-f]{8})/gm)) {
      const k = `${m[1]}@${parseInt(m[2]!, 16)}`;
      printed.set(k, (printed.get(k) ?? 0) + 1);
      lines++;
    }
    expect(lines).toBeGreaterThan(80); // 94 on haswell: the transcript of test/vmx-guests
    const p = readProfile(pj);
    const recorded = new Map<string, number>();
    for (const r of p.rips) for (const x of r.reasons) recorded.set(`${x.reason}@${r.rip}`, x.count);
    for (const [k, n] of printed) expect(recorded.get(k), k).toBe(n);
    const extra = [...recorded].filter(([k]) => !printed.has(k)).map(([k]) => Number(k.split('@')[0]));
    expect(new Set(extra)).toEqual(new Set([ExitReason.Vmcall]));
    expect(p.run.mode).toBe('bare');
    expect(p.totals.instructionsEmulated).toBe(0); // bare mode cannot know what the hypervisor did
    expect(parsePerfTable(run().out).total).toBe(p.totals.exits);
  });

  it('the trace has the vCPU 0 track with the exits in time order', () => {
    run();
    const ev = readTrace(tj).traceEvents;
    expect(ev.filter((e) => e.name === 'thread_name').map((e) => e.args!.name)).toEqual(['vCPU 0']);
    const x = ev.filter((e) => e.ph === 'X');
    expect(x.length).toBe(readProfile(pj).totals.exits);
    for (let i = 1; i < x.length; i++) expect(x[i]!.ts).toBeGreaterThanOrEqual(x[i - 1]!.ts);
  });

  it('a generation without VMX records nothing and says why; the testbed machine refuses the flags', () => {
    const r = vmxlab(['run', '--mode', 'bare', IMAGE, '--gen', 'prescott', '--no-bios-serial', '--max-seconds', '1', '--report', 'perf']);
    expect(r.err).toContain('--gen prescott has no VMX: bare mode has no VM exits to record');
    expect(parsePerfTable(r.out).total).toBe(0);
    const t = vmxlab(['run', '--machine', 'testbed', IMAGE, '--report', 'perf']);
    expect(t.code).toBe(2);
    expect(t.err).toContain('the testbed machine records no VM exits');
  });
});
