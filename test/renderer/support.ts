// Test doubles for the renderer: a platform that records what the views send and lets the test
// push engine events, a fake xterm Terminal, and exit data built by the real core (an
// ExitRecorder fed with exits), so views are tested on what the engine really sends.
import type { EngineEvent, EngineRequest, ExitSnapshot, MachineSettings, StatsBatch } from '../../src/core/engine/protocol';
import { exitSnapshot } from '../../src/core/engine/exit-snapshot';
import { ExitRecorder } from '../../src/core/profile/recorder';
import { buildProfile, type Profile } from '../../src/core/profile/profile-json';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import type { ExportKind, MenuAction, UiEngineCommand, UiSettings } from '../../src/main/ipc';
import type { PickedImage, Platform } from '../../src/renderer/src/platform/types';

export class FakePlatform implements Platform {
  kind: 'electron' | 'browser' = 'browser';
  readonly sent: UiEngineCommand[] = [];
  readonly loads: { image: PickedImage; settings: MachineSettings }[] = [];
  readonly exports: { kind: ExportKind; name: string; content: string }[] = [];
  readonly requests: EngineRequest[] = [];
  saved: UiSettings | null = null;
  stored: UiSettings | null = null;
  answers: Partial<Record<EngineRequest['kind'], unknown>> = {};
  private listeners = new Set<(ev: EngineEvent) => void>();
  private menuListeners = new Set<(a: MenuAction) => void>();

  async version(): Promise<string | null> { return this.kind === 'electron' ? '1.2.3' : null; }
  send(cmd: UiEngineCommand): void { this.sent.push(cmd); }
  request<K extends EngineRequest['kind']>(req: Extract<EngineRequest, { kind: K }>): Promise<never> {
    this.requests.push(req);
    const a = this.answers[req.kind];
    return a instanceof Error ? Promise.reject(a) : Promise.resolve((a ?? null) as never);
  }
  async load(image: PickedImage, settings: MachineSettings): Promise<void> { this.loads.push({ image, settings }); }
  onEvent(cb: (ev: EngineEvent) => void): () => void { this.listeners.add(cb); return () => this.listeners.delete(cb); }
  async openImage(): Promise<PickedImage | null> { return { kind: 'bytes', name: 'mine.img', bytes: new Uint8Array([1, 2]) }; }
  async recent(): Promise<never[]> { return []; }
  async openRecent(): Promise<null> { return null; }
  async exportFile(kind: ExportKind, name: string, content: string): Promise<string> { this.exports.push({ kind, name, content }); return `Saved ${name}`; }
  async loadSettings(): Promise<UiSettings | null> { return this.stored; }
  async saveSettings(s: UiSettings): Promise<void> { this.saved = s; }
  onMenu(cb: (a: MenuAction) => void): () => void { this.menuListeners.add(cb); return () => this.menuListeners.delete(cb); }

  emit(ev: EngineEvent): void { for (const l of this.listeners) l(structuredClone(ev)); }
  menu(a: MenuAction): void { for (const l of this.menuListeners) l(a); }
}

/** A stand-in for @xterm/xterm's Terminal (happy-dom has no layout for the real one). */
export class FakeTerminal {
  static last: FakeTerminal | null = null;
  written = '';
  options: Record<string, unknown>;
  private dataListener: ((d: string) => void) | null = null;
  disposed = false;
  constructor(options: Record<string, unknown>) { this.options = options; FakeTerminal.last = this; }
  open(el: HTMLElement): void { el.dataset['term'] = 'open'; }
  write(s: string): void { this.written += s; }
  onData(fn: (d: string) => void): { dispose(): void } { this.dataListener = fn; return { dispose: () => undefined }; }
  type(d: string): void { this.dataListener?.(d); }
  dispose(): void { this.disposed = true; }
}

/** A recorder with I/O, CPUID and HLT exits on two vCPUs, as the engine's recorder would have. */
export function sampleRecorder(generation: 'haswell' | 'skylake' = 'haswell', hlt = 3): ExitRecorder {
  const rec = new ExitRecorder({ cost: { generation } });
  const ev = rec.event;
  const exit = (reason: ExitReason, t: number, over: (e: typeof ev) => void = () => undefined): void => {
    ev.reset(); ev.reason = reason; ev.timeNs = t; ev.guestRip = 0x7c00 + reason; over(ev); rec.record(ev);
  };
  for (let i = 0; i < 6; i++) exit(ExitReason.IoInstruction, i * 1e6, (e) => { e.qualification = (0x3f8 << 16); });
  for (let i = 0; i < 2; i++) exit(ExitReason.IoInstruction, i * 1e6, (e) => { e.qualification = (0x80 << 16) | 0x10; e.vcpu = 1; });
  exit(ExitReason.Cpuid, 2e6, (e) => { e.eax = 1; });
  for (let i = 0; i < hlt; i++) exit(ExitReason.Hlt, 3e6 + i);
  return rec;
}

export function sampleSnapshot(rec = sampleRecorder()): ExitSnapshot {
  return exitSnapshot(rec, 1_000_000, null)!;
}

export function sampleProfile(rec = sampleRecorder()): Profile {
  return buildProfile(rec, { guestInstructions: 1_000_000, image: 'vmx-exits.img', mode: 'bare', virtualTimeNs: 4e6, vcpus: 2 });
}

export function stats(exits: ExitSnapshot | null, over: Partial<StatsBatch> = {}): StatsBatch {
  return {
    seq: 1, state: 'running', virtualNs: 4_000_000, instructions: 1_000_000, perCpu: [600_000, 400_000], mips: 50, speed: 1,
    exitSource: exits === null ? 'none' : 'guest-hypervisor', exits, paging: null, ...over,
  };
}
