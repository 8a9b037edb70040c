// A host for the engine in tests: timers queued and run by the test (no real waiting), events
// recorded after a structured-clone round trip (what postMessage would do), so a message that
// is not clone-safe fails here.
import { readFileSync } from 'node:fs';
import { Engine, type EngineHost } from '../../src/core/engine/engine';
import type { EngineCommand, EngineEvent, MachineSettings } from '../../src/core/engine/protocol';
import { defaultSettings } from '../../src/core/engine/settings';

export class TestHost implements EngineHost {
  readonly events: EngineEvent[] = [];
  private timers: { fn: () => void; id: number; due: number }[] = [];
  private nextId = 1;
  post(ev: EngineEvent): void { this.events.push(structuredClone(ev)); }
  now(): number { return performance.now(); }
  setTimer(fn: () => void, ms: number): unknown { const id = this.nextId++; this.timers.push({ fn, id, due: this.now() + ms }); return id; }
  clearTimer(h: unknown): void { this.timers = this.timers.filter((t) => t.id !== h); }
  /** Runs queued timers, each once its delay has passed (waiting synchronously), until none is
   *  left or `limit` ran. */
  drain(limit = 100_000): number {
    let n = 0;
    while (this.timers.length > 0 && n < limit) {
      const t = this.timers.shift()!;
      while (this.now() < t.due) { /* wait */ }
      t.fn(); n++;
    }
    return n;
  }
  get pending(): number { return this.timers.length; }
  of<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
  }
  serial(port = 'com1'): string { return this.of('serial').filter((e) => e.port === port).map((e) => e.text).join(''); }
  lastState(): Extract<EngineEvent, { type: 'state' }> | undefined { return this.of('state').at(-1); }
}

export function makeEngine(): { host: TestHost; engine: Engine; send(cmd: EngineCommand): void } {
  const host = new TestHost();
  const engine = new Engine(host);
  // Commands cross a structured clone as well.
  return { host, engine, send: (cmd) => engine.handle(structuredClone(cmd)) };
}

export function image(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../${path}`, import.meta.url)));
}

/** Test settings: bare mode unless `over` says otherwise (the app's default is hosted where the
 *  generation has unrestricted guest; hosted.test.ts covers it). */
export function settings(over: Partial<MachineSettings> = {}): MachineSettings {
  return { ...defaultSettings(), mode: 'bare', pacing: 'max', memoryMiB: 16, ...over };
}

/** A boot sector that triple-faults: LIDT with limit 0, then INT3 (#GP, #DF, shutdown). */
export function tripleFaultSector(): Uint8Array {
  const b = new Uint8Array(512);
  // cli; lidt [0x7c10]; int3; hlt
  b.set([0xfa, 0x0f, 0x01, 0x1e, 0x10, 0x7c, 0xcc, 0xf4], 0);
  // IDTR at 0x7c10: limit 0, base 0
  b[510] = 0x55; b[511] = 0xaa;
  return b;
}
