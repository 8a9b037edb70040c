// Hosted mode through the engine: the VMM's exits feed the engine's recorder, and a run gives
// exactly the exit counts of `vmxlab run --mode hosted --profile` on the same guest and settings
// (virtual time is deterministic, so the counts are exact).
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generationCaps, presetControls } from '../../src/core/engine/controls-catalog';
import { controlHonoured, defaultModeFor, hostedExitControls, hostedUnavailableReason, pagingModeFor } from '../../src/core/engine/hosted-mode';
import { describeExits, kvmDefaults, parseExits } from '../../src/core/vmm/index';
import { CONTROL_PRESETS, type ExitControlSettings } from '../../src/core/engine/protocol';
import { GENERATION_NAMES } from '../../src/core/vmx/generations';
import { checkSettings, defaultSettings } from '../../src/core/engine/settings';
import type { Profile as ProfileJson } from '../../src/core/profile/profile-json';
import { pagingFigures } from '../../src/core/profile/paging';
import type { StatsBatch } from '../../src/core/engine/protocol';
import { shadowPagingCounts } from '../profile/paging-model';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { image, makeEngine, settings } from './harness';
import { asm } from '../firmware/support';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'out/cli/vmxlab.cjs');
const PIT = 'guests/pit-idle/pit-idle.img';
const HELLO = 'guests/realmode-hello/hello.img';

type Counts = Record<string, number>;
const pick = <T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> => Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
const countsOf = (p: ProfileJson): Counts => Object.fromEntries(p.reasons.map((r) => [r.name, r.count]));

function cliProfile(img: string, extra: string[]): ProfileJson {
  const dir = mkdtempSync(join(tmpdir(), 'vmxlab-hosted-'));
  const out = join(dir, 'p.json');
  const p = spawnSync(process.execPath, [CLI, 'run', '--mode', 'hosted', '--memory', '16', '--mips', '100', '--gen', 'skylake', '--profile', out, ...extra, resolve(ROOT, img)], { encoding: 'utf8', timeout: 120_000 });
  expect(p.status, p.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as ProfileJson;
}

function engineProfile(img: string, controls: ExitControlSettings): { profile: ProfileJson; serial: string; stop: string | undefined } {
  const { host, send } = makeEngine();
  send({ type: 'load', image: { name: img, bytes: image(img) }, settings: settings({ mode: 'hosted', exitControls: controls }) });
  expect(host.of('error')).toEqual([]);
  send({ type: 'run' });
  host.drain();
  send({ type: 'request', id: 1, request: { kind: 'profile' } });
  const r = host.of('response')[0]!;
  if (!r.ok) throw new Error(r.error);
  return { profile: r.result as ProfileJson, serial: host.serial(), stop: host.lastState()?.stop?.kind };
}

describe('hosted mode in the engine', () => {
  beforeAll(() => { execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), '--quiet'], { cwd: ROOT }); }, 120_000);

  it('is the default wherever the VMM runs: EPT from Westmere, shadow paging before (any vCPUs); refused with the reason elsewhere', () => {
    expect(defaultSettings('skylake').mode).toBe('hosted');
    expect(defaultSettings('westmere').mode).toBe('hosted');
    expect(defaultSettings('nehalem').mode).toBe('hosted');
    expect(defaultModeFor('penryn')).toBe('hosted');
    expect(defaultModeFor('merom')).toBe('hosted');
    expect(defaultModeFor('prescott')).toBe('bare');
    expect(hostedUnavailableReason('skylake')).toBeNull();
    expect(hostedUnavailableReason('merom')).toBeNull();
    expect(hostedUnavailableReason('nehalem')).toBeNull();
    expect(hostedUnavailableReason('prescott')).toBe('Prescott has no VMX');
    expect(pagingModeFor('merom')).toBe('shadow');
    expect(pagingModeFor('nehalem')).toBe('shadow');
    expect(pagingModeFor('westmere')).toBe('ept');
    expect(pagingModeFor('prescott')).toBeNull();
    // As the CLI (run.ts hostedUnavailable): shadow paging runs several vCPUs (one shared MMU).
    expect(() => checkSettings({ ...defaultSettings('nehalem'), mode: 'hosted', vcpus: 2 })).not.toThrow();
    const s = { ...defaultSettings('prescott'), mode: 'hosted' };
    expect(() => checkSettings(s)).toThrow(/settings\.mode: hosted mode is not available: Prescott has no VMX/);
    expect(() => checkSettings({ ...defaultSettings('skylake'), vcpus: 2 })).not.toThrow(); // the VMM decides how many it runs
    // Every preset on every generation that runs hosted mode maps onto controls the VMM accepts.
    for (const g of GENERATION_NAMES.filter((n) => hostedUnavailableReason(n) === null)) {
      for (const p of CONTROL_PRESETS) expect(() => checkSettings({ ...defaultSettings(g), exitControls: presetControls(p, g) }), `${p} on ${g}`).not.toThrow();
    }
    expect(GENERATION_NAMES.filter((n) => hostedUnavailableReason(n) === null)).toEqual(GENERATION_NAMES.filter((n) => n !== 'prescott'));
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ mode: 'hosted', generation: 'prescott', exitControls: presetControls('kvm', 'prescott') }) });
    expect(host.of('error')[0]).toMatchObject({ error: { code: 'bad-settings' } });
    expect(host.of('error')[0]!.error.message).toContain('Prescott has no VMX');
  });

  it('without EPT the panel\'s controls become shadow paging\'s: KVM\'s enable_ept=0 set on merom, penryn, nehalem; EPT off in the panel is --exits ept=off', () => {
    for (const g of ['merom', 'penryn', 'nehalem'] as const) {
      const e = hostedExitControls(presetControls('kvm', g), g);
      expect(e, g).toEqual(kvmDefaults(generationCaps(g)!));
      expect(e).toMatchObject({ ept: false, cr3Load: true, cr3Store: true, invlpg: true, vpid: false });
      expect(e.exceptionBitmap & (1 << 14)).not.toBe(0);
      // The panel shows what the VMM applies: CR3-load and INVLPG exiting on, #PF in the bitmap.
      const kvm = presetControls('kvm', g);
      expect(kvm.proc & ProcBasedCtls.Cr3LoadExiting).not.toBe(0);
      expect(kvm.proc & ProcBasedCtls.InvlpgExiting).not.toBe(0);
      expect(kvm.exceptionBitmap & (1 << 14)).not.toBe(0);
      // Minimal and trap-all too: shadow paging adds what it needs.
      for (const p of ['minimal', 'trap-all'] as const) expect(hostedExitControls(presetControls(p, g), g)).toMatchObject({ ept: false, cr3Load: true, invlpg: true });
    }
    // EPT generations: the presets keep EPT (ept absent: the VMM's default, on).
    expect(hostedExitControls(presetControls('kvm', 'haswell'), 'haswell').ept).toBeUndefined();
    const noEpt = presetControls('kvm', 'haswell');
    const off = hostedExitControls({ ...noEpt, preset: 'custom', proc2: noEpt.proc2 & ~ProcBasedCtls2.EnableEpt }, 'haswell');
    expect(off).toEqual(parseExits('ept=off', kvmDefaults(generationCaps('haswell')!)));
    expect(controlHonoured(ControlField.ProcBased2, ProcBasedCtls2.EnableEpt)).toBe(true);
  });

  it('pit-idle: the engine records the exits a CLI --mode hosted --profile run counts, HLT exiting on and off', () => {
    const kvm = presetControls('kvm', 'skylake');
    expect(kvm.proc & ProcBasedCtls.HltExiting).not.toBe(0);
    const on = engineProfile(PIT, kvm);
    expect(on.serial).toContain('PIT IDLE DONE');
    expect(on.stop).toBe('exit-port');
    const cliOn = cliProfile(PIT, []);
    expect(countsOf(on.profile)).toEqual(countsOf(cliOn));
    expect(on.profile.run.guestInstructions).toBe(cliOn.run.guestInstructions);
    expect(on.profile.run.mode).toBe('hosted');
    const hltOn = on.profile.reasons.find((r) => r.reason === ExitReason.Hlt)?.count ?? 0;
    expect(hltOn).toBeGreaterThanOrEqual(100); // 100 PIT wake-ups, each after a HLT
    expect(on.profile.reasons.find((r) => r.reason === ExitReason.IoInstruction)?.count ?? 0).toBeGreaterThan(0);

    const off = engineProfile(PIT, { ...kvm, preset: 'custom', proc: kvm.proc & ~ProcBasedCtls.HltExiting });
    expect(off.serial).toContain('PIT IDLE DONE');
    const cliOff = cliProfile(PIT, ['--no-hlt-exiting']);
    expect(countsOf(off.profile)).toEqual(countsOf(cliOff));
    expect(off.profile.reasons.find((r) => r.reason === ExitReason.Hlt)).toBeUndefined();

    // The 'trap everything' preset maps onto the VMM's ExitControls; the CLI gets the same set
    // through --exits (describeExits prints the --exits syntax).
    const all = presetControls('trap-all', 'skylake');
    const exits = hostedExitControls(all);
    expect(exits).toMatchObject({ hlt: true, rdtsc: true, io: { kind: 'unconditional' }, msr: { kind: 'all' }, invlpg: true, pause: true });
    const trap = engineProfile(PIT, all);
    expect(countsOf(trap.profile)).toEqual(countsOf(cliProfile(PIT, ['--exits', describeExits(exits)])));
  }, 180_000);

  it('pit-idle: a port list chosen in the panel changes the exit counts exactly as --exits io=bitmap:... does', () => {
    const kvm = presetControls('kvm', 'skylake');
    const p = ProcBasedCtls;
    // What the panel's list does (stores/machine.ts setIoPorts): I/O bitmaps on, unconditional off.
    const com1: ExitControlSettings = {
      ...kvm, preset: 'custom', proc: ((kvm.proc | p.UseIoBitmaps) & ~p.UnconditionalIoExiting) >>> 0, ioPorts: [{ first: 0x3f8, last: 0x3ff }],
    };
    const r = engineProfile(PIT, com1);
    expect(r.serial).toContain('PIT IDLE DONE');
    const cli = cliProfile(PIT, ['--exits', 'io=bitmap:0x3f8-0x3ff']);
    expect(countsOf(r.profile)).toEqual(countsOf(cli));
    expect(r.profile.run.guestInstructions).toBe(cli.run.guestInstructions);
    // Fewer I/O exits than with every port exiting (the PIT and PIC ports no longer exit), and
    // only COM1's ports and the VMM's own 0xE0 among them.
    const all = engineProfile(PIT, kvm);
    const io = (c: Counts): number => c['IoInstruction'] ?? 0;
    expect(io(countsOf(r.profile))).toBeGreaterThan(0);
    expect(io(countsOf(r.profile))).toBeLessThan(io(countsOf(all.profile)));
    const ports = new Set(r.profile.subkeys.filter((k) => k.reason === ExitReason.IoInstruction).map((k) => (k as { port?: number }).port ?? -1));
    expect(ports.size).toBeGreaterThan(0);
    for (const port of ports) expect(port === 0xe0 || (port >= 0x3f8 && port <= 0x3ff), `port 0x${port.toString(16)}`).toBe(true);
    // No port listed: only the VMM's own port exits; the CLI's io=bitmap: (empty) agrees.
    const none = engineProfile(PIT, { ...com1, ioPorts: [] });
    expect(countsOf(none.profile)).toEqual(countsOf(cliProfile(PIT, ['--exits', 'io=bitmap:'])));
  }, 240_000);

  it('maps the KVM preset onto the VMM\'s KVM defaults and marks which panel controls the VMM honours', () => {
    for (const g of ['westmere', 'skylake'] as const) expect(hostedExitControls(presetControls('kvm', g))).toEqual(kvmDefaults(generationCaps(g)!));
    expect(controlHonoured(ControlField.ProcBased, ProcBasedCtls.HltExiting)).toBe(true);
    expect(controlHonoured(ControlField.ProcBased, ProcBasedCtls.MovDrExiting)).toBe(false);
    const minimal = hostedExitControls(presetControls('minimal', 'skylake'));
    expect(minimal.hlt).toBe(false);
    expect(minimal.io).toEqual({ kind: 'bitmap', ports: [] });
  });

  it('realmode-hello: the same exit counts as the CLI (I/O, HLT, external interrupt)', () => {
    const r = engineProfile(HELLO, presetControls('kvm', 'skylake'));
    expect(r.serial).toContain('REALMODE DONE');
    const c = countsOf(r.profile);
    expect(c['IoInstruction']).toBeGreaterThan(1000);
    expect(c).toEqual(countsOf(cliProfile(HELLO, [])));
  }, 180_000);

  it('runs a 2-vCPU guest hosted: the AP started by INIT-SIPI-SIPI exits, per-vCPU totals in the profile', () => {
    const src = readFileSync(join(ROOT, 'test/vmm/guests/smp-cpuid.asm'), 'utf8');
    const bytes = asm(`%define NAP 1\n${src}`);
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'smp.img', bytes }, settings: settings({ mode: 'hosted', vcpus: 2 }) });
    expect(host.of('error')).toEqual([]);
    send({ type: 'run' });
    host.drain();
    expect(host.lastState()?.stop?.kind).toBe('halted');
    send({ type: 'request', id: 1, request: { kind: 'profile' } });
    const r = host.of('response')[0]!;
    if (!r.ok) throw new Error(r.error);
    const p = r.result as ProfileJson & { vcpus: { vcpu: number; count: number }[] };
    expect(p.vcpus.map((v) => v.vcpu)).toEqual([0, 1]);
    // vCPU 1: at least 2 SIPI + 1 INIT + 101 CPUID + 1 HLT + its APIC ID read (EPT violation +
    // MTF), and exactly what the CLI counts for the same guest and settings.
    expect(p.vcpus[1]!.count).toBeGreaterThanOrEqual(2 + 1 + 101 + 1 + 2);
    const f = join(mkdtempSync(join(tmpdir(), 'vmxlab-smp-')), 'smp.img');
    writeFileSync(f, bytes);
    const cli = cliProfile(f, ['--cpus', '2']) as ProfileJson & { vcpus: { vcpu: number; count: number }[] };
    expect(p.vcpus.map((v) => v.count)).toEqual(cli.vcpus.map((v) => v.count));
  }, 180_000);

  it('paging-stress on merom (shadow paging) and haswell (EPT): the same counts and paging figures as the CLI', () => {
    const ps = 'guests/paging-stress/paging-stress.img';
    const run = (gen: 'merom' | 'haswell'): { engine: ProfileJson; stats: StatsBatch; cli: ProfileJson } => {
      const kvm = presetControls('kvm', gen);
      // COM1 passed through, as --exits io=bitmap:0xf4 (the exit port F4h exits).
      const controls: ExitControlSettings = {
        ...kvm, preset: 'custom', proc: ((kvm.proc | ProcBasedCtls.UseIoBitmaps) & ~ProcBasedCtls.UnconditionalIoExiting) >>> 0, ioPorts: [{ first: 0xf4, last: 0xf4 }],
      };
      const { host, send } = makeEngine();
      send({ type: 'load', image: { name: 'paging-stress.img', bytes: image(ps) }, settings: settings({ mode: 'hosted', generation: gen, exitControls: controls }) });
      expect(host.of('error')).toEqual([]);
      send({ type: 'run' });
      host.drain();
      expect(host.serial()).toContain('PAGING-STRESS DONE');
      send({ type: 'request', id: 1, request: { kind: 'profile' } });
      const r = host.of('response')[0]!;
      if (!r.ok) throw new Error(r.error);
      return { engine: r.result as ProfileJson, stats: host.of('stats').at(-1)!.stats, cli: cliProfile(ps, ['--gen', gen, '--exits', 'io=bitmap:0xf4']) };
    };
    const merom = run('merom'), haswell = run('haswell');
    for (const x of [merom, haswell]) {
      expect(countsOf(x.engine)).toEqual(countsOf(x.cli));
      expect(x.engine.subkeys.map((k) => [k.label, k.count])).toEqual(x.cli.subkeys.map((k) => [k.label, k.count]));
      expect(x.engine.totals.instructionsEmulated).toBe(x.cli.totals.instructionsEmulated);
      expect(x.engine.paging).toEqual(x.cli.paging);
      expect(pagingFigures(x.engine)).toEqual(pagingFigures(x.cli));
      expect(x.stats.paging).toEqual(x.engine.paging); // the last stats batch carries them too
    }
    // N = 256, K = 64: 1 + K CR3 loads and J = 64 INVLPGs (paging-model.ts; test/profile/paging-compare.test.ts
    // checks the #PF and emulation counts against N and K).
    const f = pagingFigures(merom.engine);
    expect(f).toMatchObject({ mode: 'shadow', ...pick(shadowPagingCounts(256, 64, { pageFaults: 0, emulated: 0 }), 'cr3LoadExits', 'invlpgExits') });
    expect(f.shadowPages).toBeGreaterThan(0);
    expect(f.pageFaultExits).toBeGreaterThan(2 * 256);
    expect(f.faultsFixed! + f.faultsInjected! + merom.engine.paging!.shadow!.mmioFaults).toBe(f.pageFaultExits);
    expect(merom.engine.paging!.emulation).not.toBeNull();
    expect(pagingFigures(haswell.engine)).toMatchObject({ mode: 'ept', cr3LoadExits: 0, pageFaultExits: 0, invlpgExits: 0, shadowPages: null });
    expect(haswell.engine.paging).toEqual({ mode: 'ept', shadow: null, emulation: null });
  }, 240_000);

  it('streams the VMM exits in the stats batches and steps from exit to exit', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ mode: 'hosted' }) });
    expect(host.of('loaded')[0]!.info.notes.join(' ')).toContain('exit controls (kvm): hlt=on,');
    send({ type: 'step' });
    host.drain();
    const s1 = host.of('stats').at(-1)!.stats;
    expect(s1.exitSource).toBe('hosted');
    expect(s1.exits?.total).toBe(1);
    send({ type: 'step' });
    host.drain();
    expect(host.of('stats').at(-1)!.stats.exits?.total).toBe(2);
    send({ type: 'request', id: 1, request: { kind: 'vmcs', vcpu: 0 } });
    const vmcs = host.of('response')[0]!;
    expect(vmcs.ok).toBe(true);
    expect((vmcs as { result: unknown }).result).not.toBeNull(); // the VMM's VMCS
    // A marker pauses the run and a later run goes on (the VMM forgets the handled stop).
    send({ type: 'setMarker', marker: 'PIT ticks' });
    send({ type: 'run' });
    host.drain();
    expect(host.lastState()?.stop?.kind).toBe('marker');
    send({ type: 'run' });
    host.drain();
    expect(host.serial()).toContain('PIT IDLE DONE');
    expect(host.lastState()?.stop?.kind).toBe('exit-port');
    send({ type: 'reset' });
    host.drain();
    expect(host.of('stats').at(-1)!.stats.exits?.total ?? 0).toBe(0);
    expect(host.of('error')).toEqual([]);
  });
});
