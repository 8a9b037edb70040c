// Cost arithmetic against the tables, by hand-computed cases.
import { describe, expect, it } from 'vitest';
import { CostModel, costOnEveryGeneration, costRun, parseCostOverrides } from '../../src/core/profile/cost-model';
import { DEFAULT_HANDLER_COSTS } from '../../src/core/profile/handler-costs';
import { featureWarnings } from '../../src/core/profile/feature-use';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { TRANSITION_COSTS } from '../../src/core/profile/transition-costs';
import { buildProfile } from '../../src/core/profile/profile-json';
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
