// Cost arithmetic against the tables, by hand-computed cases.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CostModel, costOnEveryGeneration, costRun, parseCostOverrides } from '../../src/core/profile/cost-model';
import { DEFAULT_HANDLER_COSTS } from '../../src/core/profile/handler-costs';
import { featureWarnings } from '../../src/core/profile/feature-use';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { TRANSITION_COSTS } from '../../src/core/profile/transition-costs';
import { buildProfile } from '../../src/core/profile/profile-json';
import { formatCsvReport } from '../../src/core/profile/report-csv';
import { formatPerfReport } from '../../src/core/profile/report-perf';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmxFeature } from '../../src/core/vmx/features';
import { GENERATION_NAMES } from '../../src/core/vmx/generations';
import { cpuid, eptViolation, hlt, io, recordMany } from './support';

/** 1000 CPUID (200 cycles), 10 I/O (500 + 400 for one emulated instruction), 5 HLT (200 + 150 for one injection). */
function run(rec: ExitRecorder): void {
  recordMany(rec, 1000, (ev) => cpuid(ev, 1));
  recordMany(rec, 10, (ev) => io(ev, 0x70, 'out', 1, { emulated: 1 }));
  recordMany(rec, 5, (ev) => hlt(ev, { injected: 1 }));
}
const HANDLER = 1000 * 200 + 10 * 900 + 5 * 350; // 210,750

describe('cost model arithmetic', () => {
  it('costs a run on Haswell (published 512-cycle round trip) as computed by hand', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell', clockHz: 3e9, cpi: 1 } });
    run(rec);
    expect(rec.handlerCycles).toBe(HANDLER);
    const c = costRun(rec.cost, rec.runTotals(1_000_000));
    expect(c.roundTrip).toEqual({ cycles: 512, estimate: false, source: TRANSITION_COSTS.haswell.source });
    expect(c.transitionCycles).toBe(1015 * 512); // 519,680
    expect(c.handlerCycles).toBe(210_750);
    expect(c.exitCycles).toBe(730_430);
    expect(c.guestCycles).toBe(1_000_000);
    expect(c.totalCycles).toBe(1_730_430);
    expect(c.overheadPercent).toBeCloseTo(73.043, 9);
    expect(c.exitSharePercent).toBeCloseTo((730_430 / 1_730_430) * 100, 9);
    expect(c.timeNs).toBeCloseTo(1_730_430 / 3, 6); // 3 GHz: 3 cycles per ns
    expect(c.warnings).toEqual([]);
  });

  it('re-costs the same run on every generation: only count x round trip changes', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell', cpi: 2 } });
    run(rec);
    const all = costOnEveryGeneration(rec.cost, rec.runTotals(500_000));
    expect(all.map((c) => c.generation)).toEqual([...GENERATION_NAMES]);
    const prescott = all.find((c) => c.generation === 'prescott')!;
    expect(prescott.transitionCycles).toBe(1015 * 1926);
    expect(prescott.exitCycles).toBe(1015 * 1926 + HANDLER);
    expect(prescott.guestCycles).toBe(1_000_000); // 500k instructions x CPI 2
    expect(prescott.warnings[0]).toMatch(/has no VMX/);
    const westmere = all.find((c) => c.generation === 'westmere')!;
    expect(westmere.exitCycles).toBe(1015 * 569 + HANDLER);
    for (const c of all) {
      expect(c.handlerCycles).toBe(HANDLER);
      expect(c.roundTrip).toBe(TRANSITION_COSTS[c.generation]);
    }
    // The estimates stay marked.
    expect(all.find((c) => c.generation === 'nehalem')!.roundTrip.estimate).toBe(true);
    expect(all.find((c) => c.generation === 'skylake')!.roundTrip.estimate).toBe(true);
    expect(all.find((c) => c.generation === 'penryn')!.roundTrip.estimate).toBe(false);
  });

  it('warns on generations lacking a feature the run used (EPT violations before Nehalem)', () => {
    const rec = new ExitRecorder({ cost: { generation: 'skylake' } });
    recordMany(rec, 3, (ev, i) => eptViolation(ev, 0x100000 + i * 4096, 2));
    const p = buildProfile(rec, { guestInstructions: 100 });
    expect(p.run.featuresUsed).toEqual(['Ept']);
    const warned = p.generations.filter((g) => g.warnings.length > 0).map((g) => g.generation);
    expect(warned).toEqual(['prescott', 'merom', 'penryn']);
    expect(p.generations.find((g) => g.generation === 'penryn')!.warnings[0]).toMatch(/Penryn lacks Ept/);
    // Features the VMM reports (no exit shows unrestricted guest) are checked too: Nehalem lacks it.
    expect(featureWarnings('nehalem', new Set([VmxFeature.UnrestrictedGuest]))[0]).toMatch(/lacks UnrestrictedGuest/);
    expect(featureWarnings('westmere', new Set([VmxFeature.UnrestrictedGuest]))).toEqual([]);
  });

  it('applies user overrides and labels them, keeping the defaults elsewhere', () => {
    const o = parseCostOverrides('Cpuid=1000, IO_INSTRUCTION=800,31=300,emulated=10,injected=5');
    expect([...o.handlerCycles!]).toEqual([[ExitReason.Cpuid, 1000], [ExitReason.IoInstruction, 800], [ExitReason.Rdmsr, 300]]);
    expect(o.perEmulatedInstruction).toBe(10);
    expect(o.perInjectedInterrupt).toBe(5);
    const rec = new ExitRecorder({ cost: { generation: 'haswell', ...o } });
    run(rec);
    expect(rec.handlerCycles).toBe(1000 * 1000 + 10 * (800 + 10) + 5 * (200 + 5));
    const m = rec.cost;
    expect(m.handlerEntry(ExitReason.Cpuid)).toMatchObject({ cycles: 1000, basis: 'user' });
    expect(m.handlerEntry(ExitReason.Hlt)).toMatchObject({ cycles: 200, basis: 'estimate' });
    expect(m.handlerEntry(ExitReason.Rdtsc)).toMatchObject({ cycles: 104, basis: 'derived' });
    expect(m.workCosts().perEmulatedInstruction).toMatchObject({ cycles: 10, basis: 'user' });
    expect(() => parseCostOverrides('Nonsense=5')).toThrow(/unknown exit reason 'Nonsense'/);
    expect(() => parseCostOverrides('Cpuid')).toThrow(/REASON=CYCLES/);
  });

  it('the RDTSC figure is derived from the cited numbers: 2030 - 1926', () => {
    expect(DEFAULT_HANDLER_COSTS.get(ExitReason.Rdtsc)!.cycles).toBe(2030 - TRANSITION_COSTS.prescott.cycles);
  });

  it('every named reason has a handler figure with a source', () => {
    const table = new CostModel().handlerTable();
    expect(table.length).toBeGreaterThan(60);
    for (const h of table) {
      expect(h.cycles).toBeGreaterThanOrEqual(0);
      expect(h.source.length).toBeGreaterThan(5);
    }
  });

  it('refuses bad settings with a message that names them', () => {
    expect(() => new CostModel({ clockHz: 0 })).toThrow(/clock/);
    expect(() => new CostModel({ cpi: -1 })).toThrow(/CPI/);
    expect(() => new CostModel({ generation: 'pentium' as never })).toThrow(/unknown generation 'pentium'/);
    expect(() => new CostModel({ handlerCycles: new Map([[ExitReason.Cpuid, -5]]) })).toThrow(/Cpuid/);
    expect(() => new CostModel({ handlerCycles: new Map([[500, 5]]) })).toThrow(/not a basic exit reason/);
  });
});

// The transition table against its document, row by row, and the arithmetic of per-exit
// statistics, time and the reports, by hand.
const COSTS_DOC = join(__dirname, '../../../shared/docs/vmexit-costs.md');

describe('transition costs follow ../shared/docs/vmexit-costs.md', () => {
  it.skipIf(!existsSync(COSTS_DOC))('every published row of the round-trip table is the figure used; the rows without one are estimates', () => {
    const doc = readFileSync(COSTS_DOC, 'utf8');
    const section = doc.split('## VM exit + VM entry round trip')[1]!.split('\n## ')[0]!;
    const rows = section.split('\n').filter((l) => /^\| [A-Z]/.test(l) && !l.startsWith('| generation')).map((l) => l.split('|').map((c) => c.trim()));
    const byDocName: Record<string, readonly string[]> = {
      Prescott: ['prescott'], Merom: ['merom'], Penryn: ['penryn'], Nehalem: ['nehalem'], Westmere: ['westmere'],
      'Sandy Bridge': ['sandy-bridge'], 'Ivy Bridge': ['ivy-bridge'], Haswell: ['haswell'], Broadwell: ['broadwell'],
      'Skylake and later': ['skylake', 'ice-lake'],
    };
    expect(rows.map((r) => r[1])).toEqual(Object.keys(byDocName));
    let published = 0;
    for (const r of rows) {
      const cycles = /^\d+$/.test(r[3]!) ? Number(r[3]) : null;
      for (const g of byDocName[r[1]!]!) {
        const t = TRANSITION_COSTS[g as keyof typeof TRANSITION_COSTS];
        if (cycles !== null) { expect(t, g).toMatchObject({ cycles, estimate: false }); published++; } else expect(t.estimate, g).toBe(true);
      }
    }
    expect(published).toBe(8); // Prescott 1926 ... Broadwell 531
    expect(Object.keys(TRANSITION_COSTS).sort()).toEqual([...GENERATION_NAMES].sort());
  });
});

describe('per-exit and per-run arithmetic, by hand', () => {
  it('min/max/avg/stddev of one reason whose exits did different work (HLT: 200 + 150 per injection)', () => {
    const rec = new ExitRecorder({ cost: { generation: 'westmere', clockHz: 2e9, cpi: 1.5 } });
    // 3 HLTs without an injection, 1 with one, 1 with two: handler 200, 200, 200, 350, 500.
    recordMany(rec, 3, (ev) => hlt(ev));
    recordMany(rec, 1, (ev) => hlt(ev, { injected: 1 }));
    recordMany(rec, 1, (ev) => hlt(ev, { injected: 2 }));
    const p = buildProfile(rec, { guestInstructions: 10_000 });
    const h = p.reasons.find((r) => r.reason === ExitReason.Hlt)!;
    const per = [769, 769, 769, 919, 1069]; // + Westmere's 569
    const mean = per.reduce((a, b) => a + b, 0) / 5; // 859
    const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / 4); // sample stddev
    expect(h).toMatchObject({ count: 5, cycles: 4295, handlerCycles: 1450, transitionCycles: 2845, minCycles: 769, maxCycles: 1069, avgCycles: 859, interruptsInjected: 3 });
    expect(h.stddevCycles).toBeCloseTo(sd, 9); // 134.16...
    // Guest 10,000 instructions x CPI 1.5 = 15,000 cycles; overhead 4295 / 15000; time at 2 GHz.
    expect(p.totals).toMatchObject({ guestCycles: 15_000, exitCycles: 4295, totalCycles: 19_295 });
    expect(p.totals.overheadPercent).toBeCloseTo(28.633333333, 6);
    expect(p.totals.exitSharePercent).toBeCloseTo((4295 / 19_295) * 100, 9);
    expect(p.totals.timeNs).toBeCloseTo(9647.5, 6); // 19,295 cycles / 2 cycles per ns
  });

  it('the perf table and the CSV turn cycles into microseconds at the model clock', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell', clockHz: 3e9 } });
    recordMany(rec, 4, (ev) => cpuid(ev, 0)); // 512 + 200 = 712 cycles = 0.237333 us each
    recordMany(rec, 1, (ev) => io(ev, 0x3f8, 'out', 1, { emulated: 1 })); // 512 + 500 + 400 = 1412 = 0.470667 us
    const p = buildProfile(rec, { guestInstructions: 1000 });
    const csv = formatCsvReport(p).split('\r\n');
    // Time%: 2848 / 4260 cycles and 1412 / 4260.
    expect(csv[1]).toBe('CPUID,4,80.0000,66.8545,0.2373,0.2373,0.2373,0.0000,2848');
    expect(csv[2]).toBe('IO_INSTRUCTION,1,20.0000,33.1455,0.4707,0.4707,0.4707,0.0000,1412');
    const perf = formatPerfReport(p, { details: false });
    expect(perf).toContain('               CPUID          4    80.00%    66.85%      0.24us      0.24us      0.24us ( +-   0.00% )');
    expect(perf).toContain('Total Samples:5, Total events handled time:1.42us.'); // 4260 cycles / 3000 per us
  });

  it('an estimated round trip is marked in the JSON and with * in the perf table (Skylake: Broadwell\'s 531 carried forward)', () => {
    const rec = new ExitRecorder({ cost: { generation: 'skylake' } });
    recordMany(rec, 2, (ev) => cpuid(ev, 0));
    const p = buildProfile(rec, { guestInstructions: 100 });
    expect(p.costModel.roundTrip).toMatchObject({ cycles: 531, estimate: true });
    expect(p.totals.transitionCycles).toBe(2 * 531);
    const text = formatPerfReport(p);
    expect(text).toContain('skylake round trip 531 cycles (ESTIMATE)');
    expect(text).toMatch(/^nehalem +714\* /m);
    expect(text).toMatch(/^haswell +512 /m);
  });
});
