// Every report format parsed back: the perf-style table, the CSV, the profile JSON (validated
// against profile.schema.json), the Chrome trace, and the compare ordering.
import { describe, expect, it } from 'vitest';
import { compareProfiles, formatCompare } from '../../src/core/profile/compare';
import { CrAccessType, InterruptionType } from '../../src/core/profile/exit-qualification';
import { eventRows } from '../../src/core/profile/event-rows';
import { validateJson } from '../../src/core/profile/json-schema';
import { PROFILE_SCHEMA, buildProfile, parseProfile, profileToJson, type Profile } from '../../src/core/profile/profile-json';
import { ExitRecorder, type RecorderOptions } from '../../src/core/profile/recorder';
import { CSV_COLUMNS, formatCsvReport } from '../../src/core/profile/report-csv';
import { formatPerfReport } from '../../src/core/profile/report-perf';
import { buildReports } from '../../src/core/profile/reports';
import { buildTrace } from '../../src/core/profile/trace';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { cpuid, crAccess, eptViolation, exception, hlt, io, msr, recordMany } from './support';

const T = 512; // Haswell round trip

/** A run touching every kind of report row, on two vCPUs. */
function richRecorder(options: RecorderOptions = {}, scale = 1): ExitRecorder {
  const rec = new ExitRecorder({ cost: { generation: 'haswell', clockHz: 2e9 }, ...options });
  let t = 0;
  for (const vcpu of [0, 1]) {
    recordMany(rec, 40 * scale, (ev, i) => cpuid(ev, i % 2, { vcpu, t: (t += 50), rip: 0x1000 }));
    recordMany(rec, 30, (ev, i) => io(ev, 0x3f8, 'out', 1, { vcpu, t: (t += 50), rip: 0x2000, device: 'uart0', emulated: i % 3 }));
    recordMany(rec, 10, (ev) => io(ev, 0x1f0, 'in', 2, { vcpu, t: (t += 50), rip: 0x2100, string: true, rep: true, device: 'ide0' }));
    recordMany(rec, 8, (ev) => msr(ev, true, 0x6e0, { vcpu, t: (t += 50), rip: 0x3000 }));
    recordMany(rec, 2, (ev) => msr(ev, false, 0xc0000080, { vcpu, t: (t += 50), rip: 0x3010 }));
    recordMany(rec, 5, (ev) => crAccess(ev, 0, CrAccessType.Clts, 0, { vcpu, t: (t += 50), rip: 0x4000 }));
    recordMany(rec, 4, (ev) => exception(ev, 14, InterruptionType.HardwareException, { vcpu, t: (t += 50), rip: 0x5000, errorCode: 6 }));
    recordMany(rec, 3, (ev) => exception(ev, 3, InterruptionType.SoftwareException, { vcpu, t: (t += 50), rip: 0x5100 }));
    recordMany(rec, 6, (ev, i) => eptViolation(ev, 0xfee000b0, 2, { vcpu, t: (t += 50), rip: 0x6000, device: 'lapic', injected: i % 2 }));
    recordMany(rec, 6, (ev, i) => eptViolation(ev, 0x200000 + i * 4096, 1, { vcpu, t: (t += 50), rip: 0x6100 }));
    recordMany(rec, 2, (ev) => hlt(ev, { vcpu, t: (t += 50), rip: 0x7000, injected: 1 }));
    const ev = rec.event;
    ev.reset(); ev.reason = ExitReason.ExternalInterrupt; ev.vcpu = vcpu; ev.timeNs = (t += 50);
    ev.exitInterruptionInfo = ((1 << 31) | 0x20) | 0; rec.record(ev);
    ev.reset(); ev.reason = ExitReason.EntryFailureGuestState; ev.entryFailure = true; ev.vcpu = vcpu; ev.timeNs = (t += 50); rec.record(ev);
  }
  return rec;
}

const profileOf = (rec: ExitRecorder): Profile => buildProfile(rec, { guestInstructions: 2_000_000, image: 'synthetic.img', mode: 'hosted', vcpus: 2, virtualTimeNs: 20_000 });

const ROW = /^\s*(\S+)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)us\s+([\d.]+)us\s+([\d.]+)us \( \+-\s*([\d.]+)% \)$/;
const TOTAL = /^Total Samples:(\d+), Total events handled time:([\d.]+)us\.$/;

function parsePerf(text: string) {
  const lines = text.split('\n');
  const rows = lines.filter((l) => ROW.test(l)).map((l) => {
    const m = ROW.exec(l)!;
    return { label: m[1]!, samples: Number(m[2]), samplesPct: Number(m[3]), timePct: Number(m[4]), min: Number(m[5]), max: Number(m[6]), avg: Number(m[7]) };
  });
  const total = lines.map((l) => TOTAL.exec(l)).find((m) => m !== null)!;
  return { lines, rows, totalSamples: Number(total[1]), totalUs: Number(total[2]) };
}

describe('perf kvm stat report layout', () => {
  const p = profileOf(richRecorder());

  it('has perf\'s header, column widths and total line', () => {
    const text = formatPerfReport(p, { details: false });
    const lines = text.split('\n');
    expect(lines[2]).toBe('Analyze events for all VMs, all VCPUs:');
    expect(lines[4]).toBe('             VM-EXIT    Samples  Samples%     Time%    Min Time    Max Time         Avg time ');
    const parsed = parsePerf(text);
    expect(parsed.rows.length).toBe(p.reasons.length);
    expect(parsed.totalSamples).toBe(p.totals.exits);
    // Sorted by samples (--key sample), CPUID first with 80.
    expect(parsed.rows[0]).toMatchObject({ label: 'CPUID', samples: 80 });
    for (let i = 1; i < parsed.rows.length; i++) expect(parsed.rows[i - 1]!.samples).toBeGreaterThanOrEqual(parsed.rows[i]!.samples);
    // CPUID: 200 + 512 cycles at 2 GHz = 0.356 us each.
    expect(parsed.rows[0]).toMatchObject({ min: 0.36, max: 0.36, avg: 0.36 });
    const cpuidLine = parsed.lines.find((l) => l.includes('CPUID'))!;
    expect(cpuidLine.indexOf('CPUID') + 'CPUID'.length).toBe(20); // %20s
    expect(cpuidLine).toMatch(/^ {15}CPUID {9}80 /); // %10llu
    expect(parsed.rows.reduce((a, r) => a + r.samples, 0)).toBe(parsed.totalSamples);
    expect(parsed.totalUs).toBeCloseTo(p.totals.exitCycles / 2000, 1);
    expect(parsed.rows.reduce((a, r) => a + r.samplesPct, 0)).toBeCloseTo(100, 0);
  });

  it('--event ioport merges sizes by port and direction; --key time sorts by average', () => {
    const r = parsePerf(formatPerfReport(p, { event: 'ioport', details: false }));
    expect(r.lines[4]).toMatch(/^ {6}IO Port Access {4}Samples/);
    expect(r.rows.map((x) => [x.label, x.samples])).toEqual([['0x3f8:POUT', 60], ['0x1f0:PIN', 20]]);
    const byTime = parsePerf(formatPerfReport(p, { event: 'ioport', key: 'time', details: false }));
    // 0x3f8 averages 500 + 400 x (0+1+2)/3 = 900 handler cycles, 0x1f0 500: 0x3f8 first.
    expect(byTime.rows.map((x) => x.label)).toEqual(['0x3f8:POUT', '0x1f0:PIN']);
    expect(byTime.rows[0]!.avg).toBeCloseTo((900 + T) / 2000, 2);
  });

  it('--event msr, cr, exception and mmio list their keys', () => {
    const labels = (e: 'msr' | 'cr' | 'exception' | 'mmio') => parsePerf(formatPerfReport(p, { event: e, details: false })).rows.map((x) => [x.label, x.samples]);
    expect(labels('msr')).toEqual([['0x6e0:W', 16], ['0xc0000080:R', 4]]);
    expect(labels('cr')).toEqual([['CR0:Clts', 10]]);
    expect(labels('exception')).toEqual([['#PF', 8], ['#BP:SoftwareException', 6]]);
    // Only the EPT violations a device handled count as MMIO.
    expect(labels('mmio')).toEqual([['0xfee00000:W', 12]]);
  });

  it('--vcpu shows in the header; the details list the per-generation costs', () => {
    const one = profileOf(richRecorder({ filter: { vcpu: 1 } }));
    const text = formatPerfReport(one);
    expect(text.split('\n')[2]).toBe('Analyze events for all VMs, VCPU 1:');
    expect(parsePerf(text).totalSamples).toBe(one.totals.exits);
    expect(text).toMatch(/Counted: vCPU 1; \d+ exits filtered out\./);
    expect(text).toMatch(/^skylake +531\* /m); // estimate marked
    expect(text).toMatch(/^haswell +512 {2}/m);
    expect(text).toMatch(/! penryn: Penryn lacks Ept/);
  });
});

/** RFC 4180 parser (quoted fields with doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); out.push(row); row = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length > 0) { row.push(field); out.push(row); }
  return out;
}

describe('CSV report', () => {
  it('has the documented columns and one record per perf row, numbers matching the profile', () => {
    const p = profileOf(richRecorder());
    const csv = parseCsv(formatCsvReport(p));
    expect(csv[0]).toEqual([...CSV_COLUMNS]);
    const rows = csv.slice(1);
    const expected = eventRows(p, 'vmexit');
    expect(rows.length).toBe(expected.length);
    for (const r of rows) expect(r.length).toBe(CSV_COLUMNS.length);
    const cpuidRow = rows.find((r) => r[0] === 'CPUID')!;
    expect(Number(cpuidRow[1])).toBe(80);
    expect(Number(cpuidRow[8])).toBe(80 * (200 + T));
    expect(Number(cpuidRow[6])).toBeCloseTo((200 + T) / 2000, 4);
    expect(rows.reduce((a, r) => a + Number(r[2]), 0)).toBeCloseTo(100, 2);
  });

  it('quotes labels that need it', () => {
    const p = profileOf(richRecorder());
    const twisted: Profile = { ...p, subkeys: p.subkeys.map((s) => (s.kind === 'io' ? { ...s, label: 'port "a", b' } : s)) };
    const csv = parseCsv(formatCsvReport(twisted, { event: 'ioport' }));
    expect(csv[1]![0]).toBe('port "a", b');
    expect(csv[1]!.length).toBe(CSV_COLUMNS.length);
  });
});

describe('profile JSON', () => {
  it('validates against profile.schema.json, with every sub-key kind the run produced', () => {
    const p = profileOf(richRecorder());
    expect(validateJson(PROFILE_SCHEMA, JSON.parse(profileToJson(p)))).toEqual([]);
    expect(new Set(p.subkeys.map((s) => s.kind))).toEqual(new Set(['io', 'msr', 'cr', 'exception', 'ept', 'cpuid', 'interrupt']));
    expect(p.schemaVersion).toBe(1);
    expect(p.reasons.every((r) => typeof r.reason === 'number' && typeof r.name === 'string')).toBe(true);
    const io = p.subkeys.find((s) => s.kind === 'io' && s.port === 0x1f0)!;
    expect(io).toMatchObject({ port: 0x1f0, direction: 'in', size: 2, string: true, rep: true, count: 20 });
    expect(p.totals.entryFailures).toBe(2);
    expect(p.generations).toHaveLength(11);
    expect(p.costModel.roundTrip).toMatchObject({ cycles: 512, estimate: false });
  });

  it('round-trips through parseProfile, which refuses broken files with clear messages', () => {
    const text = profileToJson(profileOf(richRecorder()));
    expect(parseProfile(text, 'a.json').totals.exits).toBe(JSON.parse(text).totals.exits);
    expect(() => parseProfile('{', 'x.json')).toThrow(/^x\.json: not JSON/);
    expect(() => parseProfile('[]', 'x.json')).toThrow(/not a vmxlab profile/);
    expect(() => parseProfile('{"a":1}', 'x.json')).toThrow(/no schemaVersion/);
    expect(() => parseProfile('{"schemaVersion":2}', 'x.json')).toThrow(/schema version 2, this vmxlab reads version 1/);
    const bad = JSON.parse(text);
    bad.subkeys.find((s: { kind: string }) => s.kind === 'io').direction = 'sideways';
    expect(() => parseProfile(JSON.stringify(bad), 'b.json')).toThrow(/^b\.json: not a valid vmxlab profile: \/subkeys\/\d+: matches none of oneOf/);
    const bad2 = JSON.parse(text);
    bad2.reasons[0].reason = 'CPUID';
    expect(() => parseProfile(JSON.stringify(bad2), 'c.json')).toThrow(/\/reasons\/0\/reason: expected integer, got string/);
    const bad3 = JSON.parse(text);
    delete bad3.totals.exitCycles;
    expect(() => parseProfile(JSON.stringify(bad3), 'd.json')).toThrow(/\/totals: missing property 'exitCycles'/);
  });
});

describe('Chrome trace', () => {
  it('has the required keys, a named track per vCPU, and monotonic, non-overlapping exits per track', () => {
    const p = profileOf(richRecorder({ ringSize: 4096 }));
    const t = JSON.parse(JSON.stringify(buildTrace(p))) as { traceEvents: Record<string, unknown>[]; displayTimeUnit: string };
    expect(t.displayTimeUnit).toBe('ns');
    for (const e of t.traceEvents) {
      for (const k of ['name', 'ph', 'ts', 'pid', 'tid']) expect(e, JSON.stringify(e)).toHaveProperty(k);
      expect(['X', 'i', 'M']).toContain(e.ph);
      expect(typeof e.ts).toBe('number');
      if (e.ph === 'X') expect(e.dur as number).toBeGreaterThan(0);
      if (e.ph === 'i') expect(e.s).toBe('t');
    }
    const threads = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(threads.map((e) => [e.tid, (e.args as { name: string }).name])).toEqual([[0, 'vCPU 0'], [1, 'vCPU 1']]);
    expect(t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name')).toHaveLength(1);
    for (const tid of [0, 1]) {
      const track = t.traceEvents.filter((e) => e.tid === tid && e.ph !== 'M');
      for (let i = 1; i < track.length; i++) expect(track[i]!.ts as number).toBeGreaterThanOrEqual(track[i - 1]!.ts as number);
      const xs = track.filter((e) => e.ph === 'X');
      expect(xs.length).toBe(p.vcpus.find((v) => v.vcpu === tid)!.count);
      for (let i = 1; i < xs.length; i++) expect(xs[i]!.ts as number).toBeGreaterThanOrEqual((xs[i - 1]!.ts as number) + (xs[i - 1]!.dur as number) - 1e-9);
    }
    // Injections and entry failures as instants.
    expect(t.traceEvents.filter((e) => e.name === 'inject').length).toBe(2 * (3 + 2));
    expect(t.traceEvents.filter((e) => e.name === 'VM-entry failure').length).toBe(2);
  });
});

describe('compare', () => {
  it('sorts by the largest change in cycles (or count), both directions, new keys included', () => {
    const a = profileOf(richRecorder());
    const b = profileOf(richRecorder({}, 3)); // 3x the CPUID exits
    const c = compareProfiles(a, b);
    expect(c.reasons[0]).toMatchObject({ label: 'Cpuid', countA: 80, countB: 240, deltaCount: 160, deltaCycles: 160 * (200 + T) });
    for (let i = 1; i < c.reasons.length; i++) expect(Math.abs(c.reasons[i - 1]!.deltaCycles)).toBeGreaterThanOrEqual(Math.abs(c.reasons[i]!.deltaCycles));
    expect(c.reasons.slice(1).every((r) => r.deltaCycles === 0)).toBe(true);
    // Reverse: a decrease sorts by magnitude too.
    const back = compareProfiles(b, a);
    expect(back.reasons[0]).toMatchObject({ label: 'Cpuid', deltaCount: -160 });
    // A key only B has.
    const recB = richRecorder();
    recordMany(recB, 1000, (ev) => io(ev, 0x80, 'out', 1));
    const d = compareProfiles(a, profileOf(recB), 'count');
    expect(d.subkeys[0]).toMatchObject({ label: 'IoInstruction 0x80:POUT', countA: 0, countB: 1000, deltaPercent: null });
    expect(c.notes).toEqual([]);
  });

  it('prints both runs side by side, largest change first, and notes different settings', () => {
    const a = profileOf(richRecorder());
    const b = profileOf(new ExitRecorder({ cost: { generation: 'penryn', clockHz: 2e9 } }));
    const text = formatCompare(a, b, { names: ['a.json', 'b.json'] });
    expect(text).toMatch(/^A: a\.json \(synthetic\.img on haswell, 236 exits\)$/m);
    expect(text).toMatch(/^B: b\.json \(synthetic\.img on penryn, 0 exits\)$/m);
    const reasonLines = text.split('By exit reason')[1]!.split('By sub-key')[0]!.split('\n').slice(2).filter((l) => l.trim() !== '');
    // Against an empty run every delta is A's cycles: I/O (60 x (900 + 512) + 20 x (500 + 512)) leads.
    expect(reasonLines[0]).toMatch(/^IoInstruction /);
    const deltas = reasonLines.map((l) => Math.abs(Number(l.trim().split(/\s+/)[6]!.replace(/[+,]/g, ''))));
    expect(deltas[0]).toBe(60 * (900 + T) + 20 * (500 + T));
    for (let i = 1; i < deltas.length; i++) expect(deltas[i - 1]!).toBeGreaterThanOrEqual(deltas[i]!);
    expect(reasonLines).toHaveLength(a.reasons.length);
    expect(text).toMatch(/note: costed on different generations \(A haswell, B penryn\)/);
  });
});

describe('buildReports', () => {
  it('makes what was asked from one recorder', () => {
    const rec = richRecorder();
    const r = buildReports(rec, { report: 'csv', event: 'msr', profile: true, trace: true, run: { guestInstructions: 1000 } });
    expect(r.text!.split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    expect(validateJson(PROFILE_SCHEMA, JSON.parse(r.profileJson!))).toEqual([]);
    expect(JSON.parse(r.traceJson!).traceEvents.length).toBeGreaterThan(0);
    const none = buildReports(rec, { run: { guestInstructions: 1000 } });
    expect([none.text, none.profileJson, none.traceJson]).toEqual([null, null, null]);
    expect(buildReports(rec, { report: 'perf', run: { guestInstructions: 1000 } }).text).toMatch(/Total Samples:236,/);
  });
});
