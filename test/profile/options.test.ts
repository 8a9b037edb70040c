// The `vmxlab run` profiling flags as run.ts will take them (one call per argument).
import { describe, expect, it } from 'vitest';
import {
  defaultProfileOptions, profilingRequested, recorderFor, takeProfileFlag,
} from '../../src/core/profile/profile-options';
import { buildReports } from '../../src/core/profile/reports';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { cpuid, recordMany } from './support';

function parse(args: string[]) {
  const o = defaultProfileOptions();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!takeProfileFlag(o, a, () => { const v = args[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; })) rest.push(a);
  }
  return { o, rest };
}

describe('profiling flags', () => {
  it('takes its own flags and leaves the others', () => {
    const { o, rest } = parse(['--report', 'perf', '--event', 'ioport', '--key', 'time', '--vcpu', '1', '--rip-range', '0x1000-0x2000',
      '--profile', 'p.json', '--trace', 't.json', '--ring-size', '64', '--handler-cost', 'Cpuid=900', '--clock-ghz', '2.5', '--cpi', '1.5',
      '--mem', '64M', 'image.img']);
    expect(rest).toEqual(['--mem', '64M', 'image.img']);
    expect(o).toMatchObject({ report: 'perf', event: 'ioport', key: 'time', vcpu: 1, ripRange: { start: 0x1000, end: 0x2000 },
      profileFile: 'p.json', traceFile: 't.json', ringSize: 64, clockHz: 2.5e9, cpi: 1.5 });
    expect(profilingRequested(o)).toBe(true);
    expect(profilingRequested(defaultProfileOptions())).toBe(false);
    const rec = recorderFor(o, 'westmere');
    expect(rec.cost.generation).toBe('westmere');
    expect(rec.cost.handlerBase[ExitReason.Cpuid]).toBe(900);
    expect(rec.cost.clockHz).toBe(2.5e9);
    expect(rec.ring.capacity).toBe(64);
    expect(rec.filter).toEqual({ vcpu: 1, ripRange: { start: 0x1000, end: 0x2000 } });
  });

  it('names the flag in every error', () => {
    expect(() => parse(['--report', 'xml'])).toThrow(/--report: one of perf, csv/);
    expect(() => parse(['--event', 'disk'])).toThrow(/--event: one of vmexit, ioport, mmio, msr, cr, exception/);
    expect(() => parse(['--key', 'max'])).toThrow(/--key: one of sample, time/);
    expect(() => parse(['--ring-size', '-3'])).toThrow(/--ring-size/);
    expect(() => parse(['--clock-ghz', '0'])).toThrow(/--clock-ghz/);
    expect(() => parse(['--rip-range', '5-1'])).toThrow(/--rip-range/);
  });

  it('the recorder built from flags feeds buildReports', () => {
    const { o } = parse(['--report', 'perf', '--rip-range', '0x1000-0x1001']);
    const rec = recorderFor(o, 'haswell');
    recordMany(rec, 5, (ev) => cpuid(ev, 0, { rip: 0x1000 }));
    recordMany(rec, 5, (ev) => cpuid(ev, 0, { rip: 0x1001 }));
    const r = buildReports(rec, { report: o.report, event: o.event, key: o.key, run: { guestInstructions: 100 } });
    expect(r.text).toMatch(/Total Samples:5,/);
    expect(r.text).toMatch(/RIP in 0x1000-0x1001 \(end exclusive\); 5 exits filtered out/);
  });
});
