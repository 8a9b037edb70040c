// The engine's worker_threads entry (src/main/engine-worker.ts) bundled with esbuild, so tests
// run guests in a real worker at full speed (vitest's transform makes the core several times
// slower in-process).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { EngineCommand, EngineEvent } from '../../src/core/engine/protocol';

let built: Promise<string> | null = null;

export function engineWorkerFile(): Promise<string> {
  built ??= (async () => {
    const dir = fileURLToPath(new URL('../../node_modules/.cache/vmxlab-test/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const out = `${dir}engine-worker-${process.pid}.cjs`;
    await build({
      entryPoints: [fileURLToPath(new URL('../../src/main/engine-worker.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'silent',
    });
    return out;
  })();
  return built;
}

/** Sends `commands` to a fresh engine worker and collects its events until `done` says so. */
export async function runInWorker(commands: EngineCommand[], done: (ev: EngineEvent) => boolean, timeoutMs = 60_000): Promise<EngineEvent[]> {
  const w = new Worker(await engineWorkerFile());
  const events: EngineEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`engine worker: no end in ${timeoutMs} ms (${events.length} events)`)), timeoutMs);
      w.on('message', (ev: EngineEvent) => { events.push(ev); if (done(ev)) { clearTimeout(timer); resolve(); } });
      w.on('error', (e) => { clearTimeout(timer); reject(e); });
      for (const c of commands) w.postMessage(c);
    });
  } finally {
    await w.terminate();
  }
  return events;
}
