// Exits on two vCPUs (hosted mode, --cpus 2): test/profile/guests/smp-loops.asm starts CPU 1
// with INIT-SIPI-SIPI, then NB CPUIDs run on the BSP and NA on the AP. `--vcpu N` keeps exactly
// one vCPU's exits, `--rip-range` the loop's, in the JSON, the perf table and the CSV; the
// trace has one track per vCPU, each in time order.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  assembleWithMap, lazy, parseCsv, parsePerfTable, range, readProfile, readTrace, reasonCounts, ROOT, scratch, scratchFile, sym, transcript, vmxlab,
} from './cli-child';

vi.setConfig({ testTimeout: 120_000 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const NB = 300, NA = 200;
const guest = assembleWithMap(join(ROOT, 'test/profile/guests'), 'smp-loops.asm', 'smp', [`-DNB=${NB}`, `-DNA=${NA}`, `-i${join(ROOT, 'guests/common')}/`]);
// COM1 passes through (its polling would fill the ring of recent exits with the BSP's I/O).
const HOSTED = ['--cpus', '2', '--mode', 'hosted', '--gen', 'haswell', '--exits', 'io=bitmap:0xf4', '--no-bios-serial', '--max-seconds', '5', '--quiet'];
const AP = range(guest.syms, 'ap_loop', 'ap_loop_end'), BSP = range(guest.syms, 'bsp_loop', 'bsp_loop_end');

describe('two vCPUs: per-vCPU counts and tracks', () => {
  const pj = scratchFile('smp.json'), tj = scratchFile('smp.trace.json');
  const all = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--profile', pj, '--trace', tj]));

  it('bare and hosted print the same; both CPUs ran their loops', () => {
    const bare = vmxlab(['run', '--mode', 'bare', guest.path, '--cpus', '2', '--no-bios-serial', '--max-seconds', '5', '--quiet']);
    expect(bare.code).toBe(0);
    expect(bare.out).toBe('SMP DONE\n');
    expect(all().code, all().err).toBe(0);
    expect(transcript(all().out)).toBe('SMP DONE\n');
  });

  it('the profile splits the exits by vCPU; each loop\'s CPUIDs sit at its own RIP', () => {
    all();
    const p = readProfile(pj);
    expect(p.run.vcpus).toBe(2);
    expect(p.vcpus.map((v) => v.vcpu)).toEqual([0, 1]);
    expect(p.vcpus[1]!.count).toBe(NA + 4); // INIT, 2 SIPIs, NA CPUIDs, the final HLT
    const cpuidAt = (from: string, to: string): number => p.rips.filter((r) => r.rip >= sym(guest.syms, from) && r.rip < sym(guest.syms, to))
      .reduce((a, r) => a + r.reasons.filter((x) => x.name === 'Cpuid').reduce((b, x) => b + x.count, 0), 0);
    expect(cpuidAt('ap_loop', 'ap_loop_end')).toBe(NA);
    expect(cpuidAt('bsp_loop', 'bsp_loop_end')).toBe(NB);
  });

  it('the trace has a named track per vCPU; every exit of the run is on its vCPU\'s track, in time order', () => {
    all();
    const ev = readTrace(tj).traceEvents;
    expect(ev.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args!.name])).toEqual([[0, 'vCPU 0'], [1, 'vCPU 1']]);
    const p = readProfile(pj);
    expect(p.totals.exits).toBeLessThanOrEqual(1024); // the whole run fits the ring
    for (const v of [0, 1]) {
      const x = ev.filter((e) => e.ph === 'X' && e.tid === v);
      expect(x.length).toBe(p.vcpus[v]!.count);
      for (let i = 1; i < x.length; i++) expect(x[i]!.ts).toBeGreaterThanOrEqual(x[i - 1]!.ts + x[i - 1]!.dur! - 1e-6);
    }
    const ap = ev.filter((e) => e.ph === 'X' && e.tid === 1);
    expect(ap.filter((e) => e.name === 'Cpuid').length).toBe(NA);
    expect(ap.map((e) => e.name).filter((n) => n !== 'Cpuid')).toEqual(['StartupIpi', 'InitSignal', 'StartupIpi', 'Hlt']);
  });

  it('--vcpu 1: exactly the AP\'s exits, in the JSON, the perf table and the CSV', () => {
    const p1 = scratchFile('smp-v1.json');
    const r = vmxlab(['run', guest.path, ...HOSTED, '--vcpu', '1', '--report', 'perf', '--profile', p1]);
    expect(r.code).toBe(0);
    const want = { InitSignal: 1, StartupIpi: 2, Cpuid: NA, Hlt: 1 };
    expect(reasonCounts(readProfile(p1))).toEqual(want);
    const t = parsePerfTable(r.out);
    expect(t.vcpuLine).toBe('Analyze events for all VMs, VCPU 1:');
    expect(Object.fromEntries(t.rows)).toEqual({ INIT_SIGNAL: 1, STARTUP_IPI: 2, CPUID: NA, HLT: 1 });
    const c = vmxlab(['run', guest.path, ...HOSTED, '--vcpu', '1', '--report', 'csv']);
    expect(Object.fromEntries(parseCsv(c.out).map((x) => [x.event, Number(x.samples)]))).toEqual({ INIT_SIGNAL: 1, STARTUP_IPI: 2, CPUID: NA, HLT: 1 });
  });

  it('--vcpu with --rip-range: the AP\'s loop on vCPU 1 only, the BSP\'s on vCPU 0 only', () => {
    const cases: [string, string, Record<string, number>][] = [['1', AP, { Cpuid: NA }], ['0', AP, {}], ['0', BSP, { Cpuid: NB }], ['1', BSP, {}]];
    for (const [v, rr, want] of cases) {
      const f = scratchFile(`smp-${v}-${rr}.json`);
      const r = vmxlab(['run', guest.path, ...HOSTED, '--vcpu', v, '--rip-range', rr, '--profile', f]);
      expect(r.code).toBe(0);
      expect(reasonCounts(readProfile(f)), `--vcpu ${v} --rip-range ${rr}`).toEqual(want);
    }
  });
});
