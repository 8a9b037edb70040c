// The engine's worker_threads entry (desktop app): commands arrive on the parent port, events
// leave through it. The engine itself is pure core code (src/core/engine); this file only
// gives it Node's timers and clock.
import { parentPort } from 'node:worker_threads';
import { Engine } from '../core/engine/engine';

const port = parentPort;
if (port === null) throw new Error('engine-worker.ts runs as a worker thread (new Worker(...)), not as a script');

const engine = new Engine({
  post: (ev) => port.postMessage(ev),
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
});
port.on('message', (m: unknown) => engine.handle(m));
