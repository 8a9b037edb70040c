// Real VM exits: the exits test hypervisor (test/vmx-guests/exits) runs in bare mode in an engine
// worker; every exit its hypervisor handles it prints as '  exit <reason> <NAME> ...', and the
// engine's recorder must count exactly as many per reason (VMCALL hypercalls print no line).
import { describe, expect, it } from 'vitest';
import type { EngineEvent, StatsBatch } from '../../src/core/engine/protocol';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { image, settings } from './harness';
import { runInWorker } from './worker-bundle';

describe('bare-mode exits of a guest hypervisor', () => {
  it('counts the exits the test hypervisor receives, as many as it prints per reason', async () => {
    const events = await runInWorker([
      { type: 'load', image: { name: 'vmx-exits.img', bytes: image('test/vmx-guests/exits/vmx-exits.img') }, settings: settings({ generation: 'haswell' }) },
      { type: 'run' },
    ], (ev) => ev.type === 'state' && ev.state === 'stopped');
    const serial = events.filter((e): e is Extract<EngineEvent, { type: 'serial' }> => e.type === 'serial' && e.port === 'com1').map((e) => e.text).join('');
    expect(serial).toContain('END VMX-EXITS');
    expect(events.at(-1)).toMatchObject({ type: 'state', stop: { kind: 'exit-port' } });
    const printed = new Map<number, number>();
    for (const m of serial.matchAll(/^ {2}exit (\d+) /gm)) printed.set(Number(m[1]), (printed.get(Number(m[1])) ?? 0) + 1);
    expect(printed.size).toBeGreaterThan(20);
    const stats = events.filter((e): e is { type: 'stats'; stats: StatsBatch } => e.type === 'stats').at(-1)!.stats;
    expect(stats.exitSource).toBe('guest-hypervisor');
    const ex = stats.exits!;
    const recorded = new Map(ex.reasons.map((r) => [r.reason, r.count]));
    for (const [reason, n] of printed) {
      if (reason === ExitReason.Vmcall) expect(recorded.get(reason)!).toBeGreaterThanOrEqual(n);
      else expect(recorded.get(reason), `reason ${reason}`).toBe(n);
    }
    for (const reason of recorded.keys()) expect(printed.has(reason) || reason === ExitReason.Vmcall, `recorded ${reason} never printed`).toBe(true);
    expect(ex.total).toBe([...recorded.values()].reduce((a, b) => a + b, 0));
    expect(ex.generation).toBe('haswell');
    expect(ex.subkeys.filter((k) => k.reason === ExitReason.IoInstruction).length).toBeGreaterThan(1);
    expect(ex.bins).toBeGreaterThan(0);
  }, 90_000);
});
