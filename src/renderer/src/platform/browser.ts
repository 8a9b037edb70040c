// The browser platform: the engine in a Web Worker of this page, exports as downloads, settings
// in localStorage, images from a file input (or dropped files, handled by the setup panel).
import type { EngineCommand, EngineEvent, EngineRequest } from '../../../core/engine/protocol';
import { checkSettings } from '../../../core/engine/settings';
import type { UiSettings } from '../../../main/ipc';
import type { Platform } from './types';

const SETTINGS_KEY = 'vmxlab.settings.v1';
const MIME: Readonly<Record<string, string>> = { csv: 'text/csv', profile: 'application/json', trace: 'application/json' };

/** The part of a Worker this platform uses (a real Web Worker, or a test double). */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: { data: unknown }) => void): void;
  addEventListener(type: 'error', fn: (e: { message?: string }) => void): void;
}

export function createEngineWorker(): WorkerPort {
  return new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'vmxlab-engine' });
}

export function browserPlatform(worker: WorkerPort = createEngineWorker()): Platform {
  const listeners = new Set<(ev: EngineEvent) => void>();
  const pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const emit = (ev: EngineEvent): void => { for (const l of listeners) l(ev); };
  worker.addEventListener('message', (e) => {
    const ev = e.data as EngineEvent;
    if (ev.type === 'response') {
      const p = pending.get(ev.id);
      if (p === undefined) return;
      pending.delete(ev.id);
      if (ev.ok) p.resolve(ev.result as never); else p.reject(new Error(ev.error));
      return;
    }
    emit(ev);
  });
  worker.addEventListener('error', (e) => {
    emit({ type: 'error', error: { code: 'internal', message: `the engine worker failed: ${e.message ?? 'unknown error'}` } });
  });
  const post = (cmd: EngineCommand, transfer: Transferable[] = []): void => worker.postMessage(cmd, transfer);

  return {
    kind: 'browser',
    version: async () => null,
    send: (cmd) => post(cmd),
    request: (req) => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: never) => void, reject });
      post({ type: 'request', id, request: req as EngineRequest });
    }),
    load: async (image, settings) => {
      if (image.kind !== 'bytes') throw new Error('the browser build loads images from bytes only');
      // A copy: the caller keeps its bytes (a built-in guest may be loaded again).
      const bytes = image.bytes.slice();
      post({ type: 'load', image: { name: image.name, bytes }, settings }, [bytes.buffer]);
    },
    onEvent: (cb) => { listeners.add(cb); return () => { listeners.delete(cb); }; },
    openImage: () => pickFile(),
    recent: async () => [],
    openRecent: async () => null,
    exportFile: async (kind, name, content) => {
      const url = URL.createObjectURL(new Blob([content], { type: MIME[kind] ?? 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      return `Downloaded ${name}`;
    },
    loadSettings: async () => {
      try {
        const raw = localStorage.getItem(SETTINGS_KEY);
        if (raw === null) return null;
        const v = JSON.parse(raw) as UiSettings;
        return { ...v, machine: checkSettings(v.machine) };
      } catch {
        return null;
      }
    },
    saveSettings: async (s) => { localStorage.setItem(SETTINGS_KEY, JSON.stringify(s)); },
    onMenu: () => () => undefined,
  };
}

/** A file input: resolves with the chosen file's bytes, or null. */
function pickFile(): Promise<{ kind: 'bytes'; name: string; bytes: Uint8Array } | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.addEventListener('change', () => {
      const f = input.files?.[0];
      if (f === undefined) { resolve(null); return; }
      void f.arrayBuffer().then((b) => resolve({ kind: 'bytes', name: f.name, bytes: new Uint8Array(b) }));
    });
    input.addEventListener('cancel', () => resolve(null));
    input.click();
  });
}
