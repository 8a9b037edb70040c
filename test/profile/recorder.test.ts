// The recorder's aggregates on synthetic exit streams, exact to the count and the cycle.
import { describe, expect, it } from 'vitest';
import { CrAccessType, InterruptionType } from '../../src/core/profile/exit-qualification';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { parseRipRange } from '../../src/core/profile/filters';
import { buildProfile } from '../../src/core/profile/profile-json';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { cpuid, crAccess, exception, hlt, io, msr, recordMany } from './support';

// Haswell: round trip 512 cycles (published). Default handler figures (handler-costs.ts):
// CPUID 200, I/O 500, HLT 200, RDMSR/WRMSR 250, MOV CR 300, exception 1500;
// 400 per emulated instruction, 150 per injected interrupt.
const T = 512;

/** 100 CPUID, 80 port I/O, 20 HLT, 15 MSR, 3 #PF, 4 MOV CR3: 222 exits at known RIPs. */
function workload(rec: ExitRecorder, vcpu = 0, t0 = 0): void {
  let t = t0;
  recordMany(rec, 100, (ev, i) => cpuid(ev, i < 60 ? 0 : 1, { rip: 0x1000, t: (t += 100), vcpu }));
  recordMany(rec, 50, (ev) => io(ev, 0x3f8, 'out', 1, { rip: 0x2000, t: (t += 100), vcpu, device: 'uart0' }));
  recordMany(rec, 30, (ev) => io(ev, 0x3fd, 'in', 1, { rip: 0x2010, t: (t += 100), vcpu, device: 'uart0' }));
  recordMany(rec, 20, (ev) => hlt(ev, { rip: 0x3000, t: (t += 100), vcpu, injected: 1 }));
  recordMany(rec, 10, (ev) => msr(ev, false, 0x1b, { rip: 0x4000, t: (t += 100), vcpu }));
  recordMany(rec, 5, (ev) => msr(ev, true, 0x1b, { rip: 0x4004, t: (t += 100), vcpu }));
  recordMany(rec, 3, (ev) => exception(ev, 14, InterruptionType.HardwareException, { errorCode: 2, rip: 0x5000, t: (t += 100), vcpu, emulated: 1 }));
  recordMany(rec, 4, (ev) => crAccess(ev, 3, CrAccessType.MovToCr, 0, { rip: 0x6000, t: (t += 100), vcpu }));
}

describe('ExitRecorder aggregates', () => {
  it('counts and costs per reason exactly', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell' } });
    workload(rec);
    expect(rec.exits).toBe(222);
    const count = (r: ExitReason) => rec.perReason.count[r];
    const sum = (r: ExitReason) => rec.perReason.sum[r];
    expect(count(ExitReason.Cpuid)).toBe(100);
    expect(sum(ExitReason.Cpuid)).toBe(100 * 200);
    expect(count(ExitReason.IoInstruction)).toBe(80);
    expect(sum(ExitReason.IoInstruction)).toBe(80 * 500);
    expect(count(ExitReason.Hlt)).toBe(20);
    expect(sum(ExitReason.Hlt)).toBe(20 * (200 + 150)); // one injection each
    expect(count(ExitReason.Rdmsr)).toBe(10);
    expect(count(ExitReason.Wrmsr)).toBe(5);
    expect(count(ExitReason.ExceptionOrNmi)).toBe(3); // reason 0 is counted like any other
    expect(sum(ExitReason.ExceptionOrNmi)).toBe(3 * (1500 + 400)); // one emulated instruction each
    expect(count(ExitReason.CrAccess)).toBe(4);
    expect(rec.handlerCycles).toBe(20000 + 40000 + 7000 + 15 * 250 + 5700 + 4 * 300);
    expect(rec.interruptsInjected).toBe(20);
    expect(rec.instructionsEmulated).toBe(3);
    expect(rec.reasonsWithExits()).toEqual([0, 10, 12, 28, 30, 31, 32]);
  });

  it('counts per sub-key and per RIP exactly, in the profile too', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell' } });
    workload(rec);
    const p = buildProfile(rec, { guestInstructions: 1_000_000 });
    const sub = (label: string) => p.subkeys.filter((s) => s.label === label);
    expect(sub('leaf 0x0')[0]!.count).toBe(60);
    expect(sub('leaf 0x1')[0]!.count).toBe(40);
    const out = sub('0x3f8:POUT');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'io', port: 0x3f8, direction: 'out', size: 1, count: 50, cycles: 50 * (500 + T) });
    expect(sub('0x3fd:PIN')[0]).toMatchObject({ port: 0x3fd, direction: 'in', count: 30 });
    expect(sub('0x1b:R')[0]).toMatchObject({ kind: 'msr', msr: 0x1b, access: 'read', count: 10 });
    expect(sub('0x1b:W')[0]).toMatchObject({ msr: 0x1b, access: 'write', count: 5 });
    expect(sub('CR3:MovToCr')[0]).toMatchObject({ kind: 'cr', cr: 3, access: 'MovToCr', count: 4 });
    expect(sub('#PF')[0]).toMatchObject({ kind: 'exception', vector: 14, count: 3 });
    const rip = (a: number) => p.rips.find((r) => r.rip === a)!;
    expect(rip(0x1000)).toMatchObject({ count: 100, cycles: 100 * (200 + T), minCycles: 200 + T, maxCycles: 200 + T });
    expect(rip(0x2000).count).toBe(50);
    expect(rip(0x2010).count).toBe(30);
    expect(rip(0x5000).reasons).toEqual([{ reason: 0, name: 'ExceptionOrNmi', count: 3, cycles: 3 * (1900 + T) }]);
    expect(p.rips.map((r) => r.rip)).toEqual([0x1000, 0x2000, 0x2010, 0x3000, 0x4000, 0x4004, 0x5000, 0x6000]);
    expect(p.devices).toEqual([expect.objectContaining({ device: 'uart0', count: 80 })]);
    expect(p.reasons.find((r) => r.reason === 30)).toMatchObject({ count: 80, handlerCycles: 40000, transitionCycles: 80 * T });
  });

  it('keeps min, max and the standard deviation of per-exit cost', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell' } });
    // I/O exits with 0, 1, 2, 3 emulated instructions: handler 500, 900, 1300, 1700.
    recordMany(rec, 4, (ev, i) => io(ev, 0x80, 'out', 1, { emulated: i }));
    const p = buildProfile(rec, { guestInstructions: 0 });
    const r = p.reasons[0]!;
    expect(r.minCycles).toBe(500 + T);
    expect(r.maxCycles).toBe(1700 + T);
    expect(r.avgCycles).toBe(1100 + T);
    // Sample stddev of 500, 900, 1300, 1700: sqrt(((600^2 + 200^2) * 2) / 3).
    expect(r.stddevCycles).toBeCloseTo(Math.sqrt((600 ** 2 * 2 + 200 ** 2 * 2) / 3), 9);
  });

  it('--rip-range restricts every aggregate to RIPs in [start, end)', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell' }, filter: { ripRange: parseRipRange('0x2000-0x3000') } });
    workload(rec);
    expect(rec.exits).toBe(80);
    expect(rec.filteredOut).toBe(142);
    expect(rec.reasonsWithExits()).toEqual([ExitReason.IoInstruction]);
    const p = buildProfile(rec, { guestInstructions: 0 });
    expect(p.rips.map((r) => r.rip)).toEqual([0x2000, 0x2010]);
    expect(p.subkeys.map((s) => s.label).sort()).toEqual(['0x3f8:POUT', '0x3fd:PIN']);
    expect(p.timeSeries.bins.reduce((a, b) => a + b.count, 0)).toBe(80);
    expect(p.recent.every((e) => e.guestRip >= 0x2000 && e.guestRip < 0x3000)).toBe(true);
    expect(p.run.filters.ripRange).toEqual({ start: 0x2000, end: 0x3000 });
    // The end is exclusive: a range ending at 0x2010 leaves the IN exits out.
    const rec2 = new ExitRecorder({ filter: { ripRange: parseRipRange('0x2000-0x2010') } });
    workload(rec2);
    expect(rec2.exits).toBe(50);
  });

  it('--vcpu restricts every aggregate to one vCPU', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell' }, filter: { vcpu: 1 } });
    workload(rec, 0);
    workload(rec, 1, 1_000_000);
    recordMany(rec, 7, (ev) => hlt(ev, { vcpu: 2 }));
    expect(rec.exits).toBe(222);
    expect(rec.filteredOut).toBe(222 + 7);
    const p = buildProfile(rec, { guestInstructions: 0 });
    expect(p.vcpus.map((v) => v.vcpu)).toEqual([1]);
    expect(p.recent.every((e) => e.vcpu === 1)).toBe(true);
    // Unfiltered: each vCPU's counts apart.
    const all = new ExitRecorder();
    workload(all, 0);
    workload(all, 1, 1_000_000);
    const pa = buildProfile(all, { guestInstructions: 0 });
    expect(pa.vcpus.map((v) => [v.vcpu, v.count])).toEqual([[0, 222], [1, 222]]);
  });

  it('refuses events with an out-of-range reason or vCPU, and counts them', () => {
    const rec = new ExitRecorder();
    const ev = rec.event;
    ev.reset(); ev.reason = 200 as ExitReason; rec.record(ev);
    ev.reset(); ev.reason = ExitReason.Hlt; ev.vcpu = -1; rec.record(ev);
    ev.reset(); ev.reason = ExitReason.Hlt; ev.vcpu = 1.5; rec.record(ev);
    expect(rec.rejected).toBe(3);
    expect(rec.exits).toBe(0);
  });

  it('aggregates stay bounded by distinct keys: a million exits on 3 keys hold 3 slots', () => {
    const rec = new ExitRecorder({ ringSize: 16 });
    recordMany(rec, 1_000_000, (ev, i) => io(ev, 0x70 + (i % 3), 'out', 1, { rip: 0x100 + (i % 3), t: i * 10 }));
    expect(rec.exits).toBe(1_000_000);
    expect(rec.subkeyStatsList()).toHaveLength(3);
    expect(rec.ripStatsList()).toHaveLength(3);
    expect(rec.recent()).toHaveLength(16);
    expect(rec.series.usedBins).toBeLessThanOrEqual(rec.series.binCount);
  });

  it('maxKeys caps a table; exits past it still count per reason', () => {
    const rec = new ExitRecorder({ maxKeys: 4 });
    recordMany(rec, 10, (ev, i) => msr(ev, false, i, { rip: i }));
    expect(rec.perReason.count[ExitReason.Rdmsr]).toBe(10);
    expect(rec.subkeyStatsList()).toHaveLength(4);
    expect(rec.droppedSubkeys).toBe(6);
    expect(rec.droppedRips).toBe(6);
  });
});

describe('ring of recent exits', () => {
  it('wraps around, keeping the newest exits oldest first', () => {
    const rec = new ExitRecorder({ ringSize: 5 });
    recordMany(rec, 12, (ev, i) => io(ev, 0x100 + i, i % 2 === 0 ? 'in' : 'out', 2, { t: i * 1000, rip: 0x7000 + i, device: i % 2 === 0 ? 'a' : 'b' }));
    const r = rec.recent();
    expect(r.map((e) => e.timeNs)).toEqual([7000, 8000, 9000, 10000, 11000]);
    expect(r.map((e) => e.guestRip)).toEqual([0x7007, 0x7008, 0x7009, 0x700a, 0x700b]);
    expect(r.map((e) => rec.deviceName(e.device))).toEqual(['b', 'a', 'b', 'a', 'b']);
    expect(r[0]!.qualification).toBe(((0x107 << 16) | 1) >>> 0);
    expect(r.every((e) => e.reason === ExitReason.IoInstruction)).toBe(true);
  });

  it('before it is full, holds what was pushed; size 0 holds nothing', () => {
    const rec = new ExitRecorder({ ringSize: 8 });
    recordMany(rec, 3, (ev, i) => hlt(ev, { t: i }));
    expect(rec.recent().map((e) => e.timeNs)).toEqual([0, 1, 2]);
    const none = new ExitRecorder({ ringSize: 0 });
    recordMany(none, 3, (ev) => hlt(ev));
    expect(none.recent()).toEqual([]);
    expect(none.exits).toBe(3);
  });

  it('places each exit on the modelled timeline of its vCPU after the cost of the earlier ones', () => {
    const rec = new ExitRecorder({ cost: { generation: 'haswell', clockHz: 1e9 } });
    rec.record(hlt(rec.event, { t: 0, vcpu: 0 }));     // 200 + 512 cycles = 712 ns at 1 GHz
    rec.record(hlt(rec.event, { t: 0, vcpu: 1 }));
    rec.record(hlt(rec.event, { t: 100, vcpu: 0 }));
    rec.record(hlt(rec.event, { t: 100, vcpu: 0 }));
    const r = rec.recent();
    expect(r.map((e) => [e.vcpu, e.modelledNs])).toEqual([[0, 0], [1, 0], [0, 812], [0, 1524]]);
  });
});
