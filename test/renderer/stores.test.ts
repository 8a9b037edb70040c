import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { CONTROLS } from '../../src/core/engine/controls-catalog';
import { parseProfile } from '../../src/core/profile/profile-json';
import { CSV_COLUMNS } from '../../src/core/profile/report-csv';
import { setPlatform } from '../../src/renderer/src/platform';
import { chartFeed, coalesce } from '../../src/renderer/src/charts/feed';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useCompareStore } from '../../src/renderer/src/stores/compare';
import { useExitStore } from '../../src/renderer/src/stores/exits';
import { onSerialText, useMachineStore } from '../../src/renderer/src/stores/machine';
import { FakePlatform, sampleProfile, sampleRecorder, sampleSnapshot, stats } from './support';

let p: FakePlatform;
beforeEach(() => {
  setActivePinia(createPinia());
  p = new FakePlatform();
  setPlatform(p);
});

describe('machine store', () => {
  it('loads the selected built-in guest with the settings, its marker and the exit controls', async () => {
    const m = useMachineStore();
    await m.init();
    m.selectGuest('pit-idle');
    m.settings.memoryMiB = 64;
    expect(m.settings.mode).toBe('hosted'); // the default where the generation has unrestricted guest
    m.setMode('bare');
    m.settings.vcpus = 2;
    await m.load();
    expect(p.loads).toHaveLength(1);
    const { image, settings } = p.loads[0]!;
    expect(image).toMatchObject({ kind: 'bytes', name: 'pit-idle.img' });
    expect((image as { bytes: Uint8Array }).bytes.length).toBe(512);
    expect(settings).toMatchObject({ memoryMiB: 64, vcpus: 2, marker: 'PIT IDLE DONE', mode: 'bare', generation: 'skylake' });
    expect(settings.exitControls.preset).toBe('kvm');
    expect(p.saved?.guest).toBe('pit-idle');
  });

  it('defaults to hosted mode where the generation can run it, forces bare (with the reason) where not', async () => {
    const m = useMachineStore();
    await m.init();
    expect(m.settings.mode).toBe('hosted');
    expect(m.hostedReason).toBeNull();
    m.setMode('bare');
    m.settings.vcpus = 4;
    m.setMode('hosted');
    expect(m.settings.vcpus).toBe(4); // the VMM runs several vCPUs (it refuses what it cannot run)
    // Nehalem runs hosted with shadow paging, with 4 vCPUs as with 1 (as the CLI: one shadow MMU
    // shared by the vCPUs).
    m.setGeneration('nehalem');
    expect(m.settings.mode).toBe('hosted');
    expect(m.hostedReason).toBeNull();
    m.settings.vcpus = 1;
    expect(m.settings.mode).toBe('hosted');
    m.settings.vcpus = 2;
    expect(m.settings.mode).toBe('hosted');
    m.setGeneration('westmere');
    expect(m.settings.mode).toBe('hosted');
    // Prescott has no VMX: bare, with the reason; leaving it for a VMX generation goes back.
    m.setGeneration('prescott');
    expect(m.settings.mode).toBe('bare');
    expect(m.hostedReason).toBe('Prescott has no VMX');
    m.setMode('hosted');
    expect(m.settings.mode).toBe('bare');
    m.setGeneration('merom');
    expect(m.settings.mode).toBe('hosted'); // 2 vCPUs
    m.settings.vcpus = 1;
    expect(m.settings.mode).toBe('hosted');
    m.setGeneration('westmere');
    m.setMode('bare');
    m.setGeneration('skylake');
    expect(m.settings.mode).toBe('bare'); // a bare choice stays
  });

  it('follows engine events: state, stop, screen, serial (log and listeners), stats, errors as toasts', async () => {
    const m = useMachineStore(), app = useAppStore(), x = useExitStore();
    await m.init();
    const heard: string[] = [];
    onSerialText((t) => heard.push(t));
    p.emit({ type: 'state', state: 'running', stop: null });
    expect(m.running).toBe(true);
    p.emit({ type: 'serial', port: 'com1', text: 'hello ' });
    p.emit({ type: 'serial', port: 'e9', text: 'world' });
    p.emit({ type: 'serial', port: 'com2', text: 'ignored' });
    expect(m.serialLog).toBe('hello world');
    expect(heard).toEqual(['hello ', 'world']);
    p.emit({ type: 'stats', stats: stats(sampleSnapshot()) });
    expect(x.snapshot?.total).toBe(12);
    expect(chartFeed.costs).toHaveLength(11);
    p.emit({ type: 'error', error: { code: 'triple-fault', message: 'x.img: triple fault: #GP in #DF' } });
    expect(app.toasts.map((t) => t.message)).toEqual(['x.img: triple fault: #GP in #DF']);
    p.emit({ type: 'state', state: 'stopped', stop: { kind: 'triple-fault', message: 'triple fault: #GP in #DF' } });
    expect(m.stop?.kind).toBe('triple-fault');
    // Run after the end loads a fresh machine first.
    await m.run();
    expect(p.loads).toHaveLength(1);
    expect(p.sent.at(-1)).toEqual({ type: 'run' });
  });

  it('sends run control, marker, keyboard and serial commands', async () => {
    const m = useMachineStore();
    await m.init();
    m.key('KeyA', true); // nothing loaded: dropped
    expect(p.sent).toEqual([]);
    p.emit({ type: 'state', state: 'ready', stop: null });
    m.pause(); m.key('Enter', true); m.key('Enter', false); m.serialInput('ls\r'); m.setMarker(true, 'DONE'); m.setMarker(false, 'DONE');
    await m.step();
    expect(p.sent).toEqual([
      { type: 'pause' }, { type: 'key', code: 'Enter', down: true }, { type: 'key', code: 'Enter', down: false },
      { type: 'serialInput', data: 'ls\r' }, { type: 'setMarker', marker: 'DONE' }, { type: 'setMarker', marker: null }, { type: 'step' },
    ]);
  });

  it('applies presets, toggles controls (custom) and re-derives controls for a new generation', async () => {
    const m = useMachineStore();
    m.applyPreset('trap-all');
    expect(m.settings.exitControls.preset).toBe('trap-all');
    expect(m.settings.exitControls.proc & ProcBasedCtls.RdtscExiting).not.toBe(0);
    const hlt = CONTROLS.find((c) => c.name === 'HltExiting')!;
    m.toggleControl(hlt, false);
    expect(m.settings.exitControls.preset).toBe('custom');
    expect(m.settings.exitControls.proc & ProcBasedCtls.HltExiting).toBe(0);
    m.applyPreset('kvm');
    m.setGeneration('penryn');
    expect(m.settings.generation).toBe('penryn');
    expect(m.settings.exitControls.proc2 & ProcBasedCtls2.EnableEpt).toBe(0);
    expect(m.settings.exitControls.proc & ProcBasedCtls.InvlpgExiting).not.toBe(0);
  });

  it('opens an image through the platform and loads it; menu actions drive the store', async () => {
    const m = useMachineStore(), app = useAppStore();
    await m.init();
    await m.openImage();
    expect(m.picked?.name).toBe('mine.img');
    expect(p.loads.at(-1)!.image).toMatchObject({ kind: 'bytes', name: 'mine.img' });
    expect(p.loads.at(-1)!.settings.marker).toBeNull();
    p.menu({ action: 'view', view: 'vmcs' });
    expect(app.view).toBe('vmcs');
    p.emit({ type: 'state', state: 'running', stop: null });
    p.menu({ action: 'pause' });
    expect(p.sent.at(-1)).toEqual({ type: 'pause' });
  });
});

describe('exit store', () => {
  it('turns a snapshot into table rows: percent, rate per virtual second, sorting, filtering by sub-key', () => {
    const x = useExitStore();
    x.ingest(stats(sampleSnapshot(), { virtualNs: 2e9 }));
    expect(x.rows.map((r) => [r.name, r.count])).toEqual([['IoInstruction', 8], ['Hlt', 3], ['Cpuid', 1]]);
    const io = x.rows[0]!;
    expect(io.percent).toBeCloseTo((8 / 12) * 100, 6);
    expect(io.rate).toBe(4);
    x.sort('name');
    expect(x.rows.map((r) => r.name)).toEqual(['Cpuid', 'Hlt', 'IoInstruction']);
    x.sort('name');
    expect(x.rows.map((r) => r.name)).toEqual(['IoInstruction', 'Hlt', 'Cpuid']);
    x.filter = '0x80:pout';
    expect(x.rows.map((r) => r.name)).toEqual(['IoInstruction']);
    x.filter = 'hlt';
    expect(x.rows.map((r) => r.name)).toEqual(['Hlt']);
    expect(x.subkeysOf(30).map((k) => [k.label, k.detail, k.count])).toEqual([['0x3f8:POUT', '1 byte', 6], ['0x80:POUT', '1 byte, string', 2]]);
    expect(x.ripsOf(30).map((k) => k.key)).toEqual([0x7c00 + 30]);
  });

  it('per-vCPU filter asks the engine for that scope; the empty state says why there are no exits', () => {
    const x = useExitStore();
    x.ingest(stats(null));
    expect(x.emptyText).toContain('No VM exits: this guest runs in bare mode');
    x.ingest(stats(null, { exitSource: 'guest-hypervisor' }));
    expect(x.emptyText).toContain('has not entered a VM');
    x.setVcpu(1);
    x.setVcpu(null);
    expect(p.sent).toEqual([{ type: 'statsScope', vcpu: 1 }, { type: 'statsScope', vcpu: null }]);
    expect(x.vcpuCount).toBe(2);
    expect(x.vcpuList).toEqual([0, 1]);
    // Any vCPU number that exits arrive with is offered, even beyond the CPUs the batch counts.
    x.ingest(stats({ ...sampleSnapshot(), vcpus: [0, 1, 5] }));
    expect(x.vcpuList).toEqual([0, 1, 5]);
    x.ingest(stats(sampleSnapshot(), { perCpu: [1, 2, 3] }));
    expect(x.vcpuList).toEqual([0, 1, 2]);
  });

  it('exports CSV, the JSON profile and a trace from the engine profile, and refuses with no exits', async () => {
    const x = useExitStore();
    await expect(x.exportAs('csv', 'hello.img')).rejects.toThrow('no VM exits were recorded');
    p.answers.profile = sampleProfile();
    expect(await x.exportAs('csv', 'vmx-exits.img')).toBe('Saved vmx-exits-exits.csv');
    expect(p.exports[0]!.content.split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    await x.exportAs('profile', 'vmx-exits.img');
    expect(parseProfile(p.exports[1]!.content, 'export').totals.exits).toBe(12);
    await x.exportAs('trace', 'vmx-exits.img');
    const trace = JSON.parse(p.exports[2]!.content) as { traceEvents: { ph: string }[] };
    expect(trace.traceEvents.filter((e) => e.ph === 'X')).toHaveLength(12);
    expect(p.exports.map((e) => e.kind)).toEqual(['csv', 'profile', 'trace']);
  });
});

describe('compare store', () => {
  it('pins a run, takes the current one and compares: the HLT exits gone', async () => {
    const c = useCompareStore();
    p.answers.profile = null;
    await c.pin();
    expect(c.error).toContain('no VM exits');
    p.answers.profile = sampleProfile(sampleRecorder('haswell', 3));
    await c.pin();
    p.answers.profile = sampleProfile(sampleRecorder('haswell', 0));
    await c.refresh();
    const hlt = c.comparison!.reasons.find((r) => r.label === 'Hlt')!;
    expect([hlt.countA, hlt.countB, hlt.deltaCount]).toEqual([3, 0, -3]);
    expect(c.comparison!.summary[0]).toMatchObject({ countA: 12, countB: 9 });
  });
});

describe('chart feed', () => {
  it('keeps chart data in plain arrays: rates per reason per bin, costs per generation, overhead points', () => {
    const snap = sampleSnapshot();
    chartFeed.update(snap, 4e6);
    expect(chartFeed.rate.datasets.map((d) => d.reason)).toEqual(snap.seriesReasons);
    const io = chartFeed.rate.datasets.find((d) => d.reason === 30)!;
    expect(io.data).toBeInstanceOf(Float64Array);
    // 2 I/O exits in the first 1 ms bin (vCPU 0 and 1 at t=0): 2000 exits per second.
    expect(io.data[0]).toBe(2000);
    expect(chartFeed.costs.find((g) => g.generation === 'skylake')!.estimate).toBe(true);
    expect(chartFeed.overheadX.at(-1)).toBe(4);
    const v = chartFeed.version;
    chartFeed.update(null, 5e6);
    expect(chartFeed.costs).toEqual([]);
    expect(chartFeed.version).toBe(v + 1);
  });

  it('coalesces redraws: many schedules, one call', async () => {
    let n = 0;
    const c = coalesce(() => { n++; }, 5);
    for (let i = 0; i < 50; i++) c.schedule();
    await new Promise((r) => setTimeout(r, 20));
    expect(n).toBe(1);
  });
});
