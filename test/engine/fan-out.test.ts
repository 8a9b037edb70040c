// The hosted run's all-vCPU recorder hands each exit to its vCPU's recorder: the per-vCPU filter
// of the live table shows each vCPU's own aggregates, for any vCPU numbers the VMM reports, and
// the all-vCPU totals are the sums.
import { describe, expect, it } from 'vitest';
import { FanOutRecorder } from '../../src/core/engine/fan-out-recorder';
import { exitSnapshot } from '../../src/core/engine/exit-snapshot';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { image, makeEngine, settings } from './harness';

describe('per-vCPU exit aggregates', () => {
  it('FanOutRecorder: each exit counts once in the total and once in its vCPU\'s recorder', () => {
    const cost = { generation: 'haswell' as const };
    const per = [0, 1, 2, 3].map((v) => new ExitRecorder({ cost, filter: { vcpu: v } }));
    const all = new FanOutRecorder({ cost }, per);
    const ev = all.event;
    const exits: [number, ExitReason][] = [[0, ExitReason.Hlt], [1, ExitReason.Cpuid], [1, ExitReason.Cpuid], [3, ExitReason.IoInstruction], [0, ExitReason.Hlt], [7, ExitReason.Hlt]];
    for (const [v, reason] of exits) { ev.reset(); ev.vcpu = v; ev.reason = reason; ev.timeNs = 1000; all.record(ev); }
    expect(all.exits).toBe(6);
    expect(per.map((r) => r.exits)).toEqual([2, 2, 0, 1]); // vCPU 7 has no recorder: counted in the total only
    const s1 = exitSnapshot(per[1]!, 1000, 1)!;
    expect(s1.reasons.map((r) => [r.name, r.count])).toEqual([['Cpuid', 2]]);
    expect(exitSnapshot(all, 1000, null)!.vcpus).toEqual([0, 1, 3, 7]);
  });

  it('the engine\'s statsScope in hosted mode gives vCPU 0\'s own recorder (all of the exits with one vCPU)', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'pit.img', bytes: image('guests/pit-idle/pit-idle.img') }, settings: settings({ mode: 'hosted' }) });
    for (let i = 0; i < 5; i++) { send({ type: 'step' }); host.drain(); }
    const all = host.of('stats').at(-1)!.stats.exits!;
    expect(all.total).toBe(5);
    send({ type: 'statsScope', vcpu: 0 });
    const v0 = host.of('stats').at(-1)!.stats.exits!;
    expect(v0.scope).toBe(0);
    expect(v0.total).toBe(5);
    expect(v0.reasons).toEqual(all.reasons);
    expect(host.of('error')).toEqual([]);
  });
});
