// The engine's exit path. Simulated exits: the VMX unit's exit listeners (addExitListener,
// src/core/vmx/exit-record.ts) are captured as the engine installs them and called with records
// the test writes, at virtual times chosen by machine timers (between CPU slices, as a real exit
// happens inside a run). Real exits: a test hypervisor (test/vmx-guests/exits) run to its end,
// its printed exit lines counted against the recorder.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/core/engine/engine';
import type { ExitRecordView } from '../../src/core/engine/exit-tap';
import type { VmcsSnapshot } from '../../src/core/engine/protocol';
import { parseProfile, profileToJson } from '../../src/core/profile/profile-json';
import { Timer } from '../../src/core/platform/clock';
import type { PcMachine } from '../../src/core/platform/machine';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField } from '../../src/core/vmx/fields';
import { VmxUnit } from '../../src/core/vmx/unit';
import { image, makeEngine, settings } from './harness';

const HELLO = 'guests/realmode-hello/hello.img';

/** Listeners the engine installed, by unit. */
let listeners = new Map<unknown, ((r: ExitRecordView) => void)[]>();
beforeEach(() => {
  listeners = new Map();
  const real = VmxUnit.prototype.addExitListener;
  vi.spyOn(VmxUnit.prototype, 'addExitListener').mockImplementation(function (this: VmxUnit, l) {
    listeners.set(this, [...(listeners.get(this) ?? []), l as (r: ExitRecordView) => void]);
    real.call(this, l);
  });
});
afterEach(() => { vi.restoreAllMocks(); });

function machineOf(engine: Engine): PcMachine { return (engine as unknown as { m: PcMachine }).m; }

function record(over: Partial<ExitRecordView>): ExitRecordView {
  return {
    exitReason: ExitReason.IoInstruction, qualification: (0x3f8 << 16), guestLinear: 0, guestPhysical: 0, instructionLength: 1,
    instructionInfo: 0, interruptionInfo: 0, interruptionErrorCode: 0, idtVectoringInfo: 0, idtVectoringErrorCode: 0,
    guestRip: 0x123, guestCsBase: 0x10000, guestEax: 0, guestEcx: 0, ...over,
  };
}

/** Delivers `r` to the listeners of CPU `i`'s VMX unit. */
function fire(m: PcMachine, r: ExitRecordView, i = 0): void {
  const ls = listeners.get(m.cpus[i]!.vmx);
  if (ls === undefined) throw new Error('the engine installed no exit listener');
  for (const l of ls) l(r);
}

describe('engine exit path (simulated exits through the VMX unit listener)', () => {
  it('records exits into the stats batches: reasons, sub-keys, RIPs, series and costs on every generation', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings({ generation: 'haswell' }) });
    const m = machineOf(engine);
    expect(host.of('stats').at(-1)!.stats.exitSource).toBe('none'); // not a hypervisor (yet)
    for (let i = 0; i < 3; i++) fire(m, record({}));
    fire(m, record({ qualification: 0x80 << 16, guestRip: 0x200 }));
    fire(m, record({ exitReason: ExitReason.Cpuid, guestEax: 1 }));
    send({ type: 'statsScope', vcpu: null });
    const ex = host.of('stats').at(-1)!.stats.exits!;
    expect(ex.total).toBe(5);
    expect(ex.generation).toBe('haswell');
    expect(ex.roundTripCycles).toBe(512);
    expect(ex.roundTripEstimate).toBe(false);
    expect(ex.reasons.map((r) => [r.name, r.count])).toEqual([['Cpuid', 1], ['IoInstruction', 4]]);
    const io = ex.reasons.find((r) => r.reason === ExitReason.IoInstruction)!;
    expect(io.cycles).toBe(io.handlerCycles + 4 * 512);
    expect(ex.subkeys.filter((s) => s.reason === ExitReason.IoInstruction).map((s) => [s.label, s.count])).toEqual([['0x3f8:POUT', 3], ['0x80:POUT', 1]]);
    expect(ex.subkeys.find((s) => s.reason === ExitReason.Cpuid)?.label).toBe('leaf 0x1');
    expect(ex.rips.filter((r) => r.reason === ExitReason.IoInstruction).map((r) => [r.key, r.count])).toEqual([[0x10123, 3], [0x10200, 1]]);
    expect(ex.seriesReasons).toEqual([ExitReason.Cpuid, ExitReason.IoInstruction]);
    expect(ex.bins).toBe(1);
    expect(Array.from(ex.counts)).toEqual([1, 4]);
    expect(ex.generations.map((g) => g.generation)).toContain('prescott');
    expect(ex.generations.find((g) => g.generation === 'skylake')!.estimate).toBe(true);
    expect(ex.vcpus).toEqual([0]);
  });

  it('serves the whole profile (valid against the schema) and a VMCS with changed fields marked', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    const m = machineOf(engine);
    const u = m.cpus[0]!.vmx as unknown as VmxUnit;
    u.inVmxOperation = true;
    u.vmcs.pa = 0x10000;
    send({ type: 'trackVmcs', on: true });
    u.vmcs.setLo(VmcsField.ExitReason, 30); u.vmcs.setLo(VmcsField.GuestRip, 0x100); fire(m, record({ guestRip: 0x100 }));
    u.vmcs.setLo(VmcsField.GuestRip, 0x104); fire(m, record({ guestRip: 0x104 }));
    send({ type: 'request', id: 7, request: { kind: 'profile' } });
    const res = host.of('response').find((r) => r.id === 7)!;
    expect(res.ok).toBe(true);
    const profile = parseProfile(profileToJson((res as unknown as { result: never }).result), 'engine profile');
    expect(profile.totals.exits).toBe(2);
    expect(profile.run.image).toBe('hello.img');
    send({ type: 'request', id: 8, request: { kind: 'vmcs', vcpu: 0 } });
    const snap = (host.of('response').find((r) => r.id === 8) as unknown as { result: VmcsSnapshot }).result;
    expect(snap.address).toBe(0x10000);
    expect(snap.exitsTracked).toBe(2);
    const rip = snap.fields.find((f) => f.name === 'GuestRip')!;
    expect(rip).toMatchObject({ encoding: 0x681e, group: 'guest', width: 0, lo: 0x104, changed: true });
    expect(snap.fields.find((f) => f.name === 'ExitReason')).toMatchObject({ lo: 30, changed: false, group: 'exit-info' });
    expect(snap.fields.find((f) => f.name === 'EptPointer')).toMatchObject({ width: 64 });
    // Fields the generation lacks are left out (Skylake has no PML).
    expect(snap.fields.some((f) => f.name === 'PmlAddress')).toBe(false);
  });

  it('keeps one recorder per vCPU for the per-vCPU filter', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings({ vcpus: 2 }) });
    const m = machineOf(engine);
    fire(m, record({}), 0);
    fire(m, record({}), 1); fire(m, record({}), 1);
    send({ type: 'statsScope', vcpu: 1 });
    expect(host.of('stats').at(-1)!.stats.exits).toMatchObject({ scope: 1, total: 2, vcpus: [1] });
    send({ type: 'statsScope', vcpu: 0 });
    expect(host.of('stats').at(-1)!.stats.exits).toMatchObject({ scope: 0, total: 1 });
    send({ type: 'statsScope', vcpu: null });
    expect(host.of('stats').at(-1)!.stats.exits).toMatchObject({ scope: null, total: 3, vcpus: [0, 1] });
  });

  it('steps to the next VM exit when a CPU is in VMX operation', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    const m = machineOf(engine);
    (m.cpus[0]!.vmx as unknown as VmxUnit).inVmxOperation = true;
    // An exit 3 ms of virtual time from now, delivered between CPU slices.
    m.clock.arm(new Timer('simulated VM exit', () => fire(m, record({}))), m.clock.nowNs() + 3_000_000);
    send({ type: 'step' });
    host.drain();
    expect(host.lastState()?.state).toBe('paused');
    const t = m.clock.nowNs();
    expect(t).toBeGreaterThanOrEqual(3_000_000);
    expect(t).toBeLessThan(3_100_000);
    expect(host.of('stats').at(-1)!.stats.exits?.total).toBe(1);
  });
});
