// The engine's Web Worker entry (browser build): commands arrive as messages, events leave as
// messages. The engine is pure core code; this file gives it the worker's timers and clock.
import { Engine } from '../../../core/engine/engine';
import type { EngineEvent } from '../../../core/engine/protocol';

interface WorkerScope {
  postMessage(message: EngineEvent): void;
  addEventListener(type: 'message', fn: (e: MessageEvent) => void): void;
}
const scope = self as unknown as WorkerScope;

const engine = new Engine({
  post: (ev) => scope.postMessage(ev),
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as number),
});
scope.addEventListener('message', (e) => engine.handle(e.data));
