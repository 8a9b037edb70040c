import { describe, expect, it } from 'vitest';
import { CP437_TO_UNICODE } from '../../src/core/platform/devices/vga';
import type { PcMachine } from '../../src/core/platform/machine';
import type { Engine } from '../../src/core/engine/engine';
import { image, makeEngine, settings, tripleFaultSector } from './harness';

const HELLO = 'guests/realmode-hello/hello.img';
const PIT = 'guests/pit-idle/pit-idle.img';

function machineOf(engine: Engine): PcMachine {
  return (engine as unknown as { m: PcMachine }).m;
}

function screenText(s: { cols: number; rows: number; chars: Uint8Array }): string[] {
  const lines: string[] = [];
  for (let r = 0; r < s.rows; r++) lines.push(Array.from(s.chars.subarray(r * s.cols, (r + 1) * s.cols), (c) => CP437_TO_UNICODE[c]).join('').trimEnd());
  return lines;
}

describe('engine', () => {
  it('greets with its protocol version', () => {
    const { host } = makeEngine();
    expect(host.events[0]).toEqual({ type: 'hello', protocol: 1 });
  });

  it('boots a built-in guest: serial text, the VGA screen, stats, and the exit-port stop', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    const loaded = host.of('loaded')[0]!;
    expect(loaded.info.format).toBe('hdd');
    expect(loaded.info.notes.join(' ')).toContain('take effect in hosted mode');
    expect(host.lastState()?.state).toBe('ready');
    send({ type: 'run' });
    expect(host.lastState()?.state).toBe('running');
    host.drain();
    expect(host.serial()).toContain('REALMODE HELLO');
    expect(host.serial()).toContain('REALMODE DONE');
    const st = host.lastState()!;
    expect(st.state).toBe('stopped');
    expect(st.stop).toEqual({ kind: 'exit-port', message: 'the guest wrote 0 to the exit port' });
    const screen = host.of('screen').at(-1)!.screen;
    expect(screen.cols).toBe(80);
    expect(screen.rows).toBe(25);
    expect(screen.textMode).toBe(true);
    expect(screenText(screen).slice(0, 2)).toEqual(['vmxlab BIOS', 'REALMODE HELLO']);
    expect(screen.attrs[0]).toBe(0x07);
    expect(screen.palette[7]).toBe(0xaaaaaa);
    const stats = host.of('stats').at(-1)!.stats;
    expect(stats.instructions).toBeGreaterThan(100_000);
    expect(stats.virtualNs).toBeGreaterThan(0);
    expect(stats.exits).toBeNull();
    expect(stats.exitSource).toBe('none');
    expect(host.of('error')).toEqual([]);
  });

  it('gives the same serial transcript with realtime and max pacing (virtual time drives the guest)', () => {
    const run = (pacing: 'realtime' | 'max'): string => {
      const { host, send } = makeEngine();
      send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ pacing, mips: 20 }) });
      send({ type: 'run' });
      host.drain();
      expect(host.lastState()?.stop?.kind).toBe('exit-port');
      return host.serial();
    };
    const max = run('max');
    expect(max).toContain('PIT ticks 100, HLT wakeups 100');
    // Realtime pacing: ~1 s of virtual time takes ~1 s of wall time (at 20 MIPS the pit-idle
    // guest mostly idles, so the pacing, not the CPU, sets the speed).
    const t0 = performance.now();
    expect(run('realtime')).toBe(max);
    expect(performance.now() - t0).toBeGreaterThan(800);
  }, 20_000);

  it('stops at a serial marker', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings({ marker: 'base memory' }) });
    send({ type: 'run' });
    host.drain();
    expect(host.lastState()).toMatchObject({ state: 'paused', stop: { kind: 'marker', message: "saw 'base memory'" } });
    expect(host.serial()).not.toContain('REALMODE DONE');
    // The machine is intact: the run goes on to the end.
    send({ type: 'run' });
    host.drain();
    expect(host.serial()).toContain('REALMODE DONE');
    expect(host.lastState()?.stop?.kind).toBe('exit-port');
  });

  it('pauses, steps a small slice when there are no exits, resumes and resets', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'pit.img', bytes: image(PIT) }, settings: settings({ pacing: 'realtime' }) });
    const m0 = machineOf(engine);
    send({ type: 'step' });
    host.drain();
    expect(host.lastState()?.state).toBe('paused');
    const t1 = m0.clock.nowNs();
    expect(t1).toBeGreaterThanOrEqual(1_000_000);
    expect(t1).toBeLessThan(1_100_000);
    send({ type: 'step' });
    host.drain();
    expect(m0.clock.nowNs() - t1).toBeGreaterThanOrEqual(1_000_000);
    send({ type: 'run' });
    host.drain(3);
    expect(host.lastState()?.state).toBe('running');
    send({ type: 'pause' });
    expect(host.lastState()?.state).toBe('paused');
    expect(host.pending).toBe(0);
    send({ type: 'reset' });
    expect(host.lastState()?.state).toBe('ready');
    expect(machineOf(engine)).not.toBe(m0);
    expect(machineOf(engine).clock.nowNs()).toBe(0);
    send({ type: 'setPacing', pacing: 'max' });
    send({ type: 'run' });
    host.drain();
    expect(host.lastState()?.stop?.kind).toBe('exit-port');
  });

  it('reports a triple fault as an error and a stop, and keeps working', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'tf.img', bytes: tripleFaultSector() }, settings: settings() });
    send({ type: 'run' });
    host.drain();
    const st = host.lastState()!;
    expect(st.state).toBe('stopped');
    expect(st.stop?.kind).toBe('triple-fault');
    const err = host.of('error').at(-1)!.error;
    expect(err.code).toBe('triple-fault');
    expect(err.message).toMatch(/^tf\.img: triple fault: /);
    send({ type: 'run' });
    expect(host.of('error').at(-1)!.error.message).toContain('reset to start again');
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    send({ type: 'run' });
    host.drain();
    expect(host.lastState()?.stop?.kind).toBe('exit-port');
  });

  it('refuses bad images, bad settings and malformed commands with clear errors, never throwing', () => {
    const { host, engine, send } = makeEngine();
    const noise = new Uint8Array(1000).map((_, i) => (i * 37 + 11) & 0xff);
    send({ type: 'load', image: { name: 'noise.bin', bytes: noise }, settings: settings() });
    expect(host.of('error').at(-1)!.error.code).toBe('bad-image');
    expect(host.of('error').at(-1)!.error.message).toMatch(/^noise\.bin: /);
    expect(host.lastState()?.state).toBe('empty');
    send({ type: 'load', image: { name: 'e.img', bytes: new Uint8Array(0) }, settings: settings() });
    expect(host.of('error').at(-1)!.error).toEqual({ code: 'bad-image', message: 'e.img: e.img: the image is empty' });
    send({ type: 'load', image: { name: 'h.img', bytes: image(HELLO) }, settings: settings({ vcpus: 9 }) });
    expect(host.of('error').at(-1)!.error).toEqual({ code: 'bad-settings', message: 'settings.vcpus: 1 to 8 (got 9)' });
    send({ type: 'load', image: { name: 'h.img', bytes: image(HELLO) }, settings: settings({ mode: 'hosted', generation: 'prescott', vcpus: 2 }) });
    expect(host.of('error').at(-1)!.error.message).toContain('settings.mode: hosted mode is not available: Prescott has no VMX');
    send({ type: 'run' });
    expect(host.of('error').at(-1)!.error).toEqual({ code: 'not-loaded', message: 'run: no guest is loaded' });
    for (const bad of [null, 42, 'run', {}, { type: 'explode' }, { type: 'load' }, { type: 'load', image: { name: 1 } },
      { type: 'key', code: 5 }, { type: 'setPacing', pacing: 'warp' }, { type: 'request', id: 'x' },
      { type: 'statsScope', vcpu: 99 }, { type: 'setMarker', marker: '' }]) {
      const before = host.of('error').length;
      expect(() => engine.handle(bad)).not.toThrow();
      expect(host.of('error').length, JSON.stringify(bad)).toBe(before + 1);
    }
    expect(host.of('error').map((e) => e.error.code)).not.toContain('internal');
  });

  it('feeds keys to the PS/2 keyboard and serial input to COM1', () => {
    const { host, engine, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    const m = machineOf(engine);
    send({ type: 'key', code: 'KeyA', down: true });
    send({ type: 'key', code: 'KeyA', down: false });
    send({ type: 'key', code: 'NoSuchKey', down: true });
    // The 8042 holds the first byte in its output buffer, translated to set 1: A make = 1E.
    expect(m.kbc.readStatus() & 1).toBe(1);
    expect(m.kbc.readData()).toBe(0x1e);
    send({ type: 'serialInput', data: 'hi' });
    expect((m.com[0] as unknown as { hostQueue: number[] }).hostQueue.length).toBeGreaterThan(0);
    expect(host.of('error')).toEqual([]);
  });

  it('answers requests: status, vmcs (none without VMX operation), profile (none without exits), and errors', () => {
    const { host, send } = makeEngine();
    send({ type: 'request', id: 1, request: { kind: 'status' } });
    expect(host.of('response')[0]).toMatchObject({ id: 1, ok: true, result: { state: 'empty', loaded: null } });
    send({ type: 'request', id: 2, request: { kind: 'vmcs', vcpu: 0 } });
    expect(host.of('response')[1]).toEqual({ type: 'response', id: 2, ok: false, error: 'vmcs: no guest is loaded' });
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings() });
    send({ type: 'request', id: 3, request: { kind: 'vmcs', vcpu: 0 } });
    expect(host.of('response')[2]).toEqual({ type: 'response', id: 3, ok: true, result: null });
    send({ type: 'request', id: 4, request: { kind: 'vmcs', vcpu: 3 } });
    expect(host.of('response')[3]).toMatchObject({ id: 4, ok: false, error: 'vmcs: vCPU 3 does not exist (the machine has 1)' });
    send({ type: 'request', id: 5, request: { kind: 'profile' } });
    expect(host.of('response')[4]).toEqual({ type: 'response', id: 5, ok: true, result: null });
    send({ type: 'request', id: 6, request: { kind: 'nope' } as never });
    expect(host.of('response')[5]).toMatchObject({ id: 6, ok: false, error: "unknown request kind 'nope'" });
  });

  it('runs several vCPUs and reports per-CPU instruction counts', () => {
    const { host, send } = makeEngine();
    send({ type: 'load', image: { name: 'hello.img', bytes: image(HELLO) }, settings: settings({ vcpus: 2 }) });
    send({ type: 'run' });
    host.drain();
    expect(host.serial()).toContain('REALMODE DONE');
    expect(host.of('stats').at(-1)!.stats.perCpu).toHaveLength(2);
  });
});
