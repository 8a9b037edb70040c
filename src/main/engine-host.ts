// The engine in a worker thread, seen from the main process: commands go in with postMessage,
// events come out and are pushed to the renderer; requests get an id here and their promise
// resolves on the matching response (responses are not forwarded). If the worker dies (it
// should not: the engine catches every error), a new one is started and the renderer is told.
import type { EngineCommand, EngineEvent, EngineRequest } from '../core/engine/protocol';
import type { WorkerLike } from './deps';

/** Requests that get no answer within this time fail (ms). */
export const REQUEST_TIMEOUT_MS = 10_000;

export class EngineHost {
  private worker: WorkerLike;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  private closed = false;

  constructor(private readonly createWorker: () => WorkerLike, private readonly onEvent: (ev: EngineEvent) => void) {
    this.worker = this.start();
  }

  private start(): WorkerLike {
    const w = this.createWorker();
    w.on('message', (m) => this.onMessage(m as EngineEvent));
    w.on('error', (e) => this.onCrash(`the engine worker failed: ${e.message}`));
    w.on('exit', (code) => { if (!this.closed) this.onCrash(`the engine worker exited (code ${code})`); });
    return w;
  }

  private onMessage(ev: EngineEvent): void {
    if (ev?.type === 'response') {
      const p = this.pending.get(ev.id);
      if (p === undefined) return;
      this.pending.delete(ev.id);
      clearTimeout(p.timer);
      if (ev.ok) p.resolve(ev.result); else p.reject(new Error(ev.error));
      return;
    }
    this.onEvent(ev);
  }

  private onCrash(message: string): void {
    if (this.closed) return;
    for (const [id, p] of this.pending) { clearTimeout(p.timer); p.reject(new Error(message)); this.pending.delete(id); }
    void this.worker.terminate().catch(() => undefined);
    this.worker = this.start();
    this.onEvent({ type: 'error', error: { code: 'internal', message: `${message}; a new engine was started: load the guest again` } });
    this.onEvent({ type: 'state', state: 'empty', stop: null });
  }

  /** Posts a command; a load's image bytes are transferred, not copied. */
  send(cmd: EngineCommand): void {
    const transfer: ArrayBuffer[] = [];
    if (cmd.type === 'load') {
      const b = cmd.image.bytes.buffer;
      if (b instanceof ArrayBuffer && b.byteLength === cmd.image.bytes.byteLength) transfer.push(b);
    }
    this.worker.postMessage(cmd, transfer);
  }

  request(request: EngineRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`engine request '${request.kind}' got no answer in ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ type: 'request', id, request } satisfies EngineCommand);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('the engine was closed')); }
    this.pending.clear();
    await this.worker.terminate();
  }
}
