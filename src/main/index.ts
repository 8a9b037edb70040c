// Electron main process entry: the real Electron and Node modules handed to startMain (app.ts),
// which the tests drive with a recorded stand-in instead.
import * as electron from 'electron';
import { readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startMain } from './app';
import type { ElectronDeps, FsLike, WorkerLike } from './deps';

const fs: FsLike = {
  readFile: async (p) => { const b = await readFile(p); return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); },
  readText: async (p) => readFile(p, 'utf8').catch(() => null),
  writeText: async (p, text) => { const tmp = `${p}.tmp`; await writeFile(tmp, text, 'utf8'); await rename(tmp, p); },
  size: async (p) => (await stat(p)).size,
};

void startMain({
  electron: electron as unknown as ElectronDeps,
  createWorker: () => new Worker(join(__dirname, 'engine-worker.js')) as unknown as WorkerLike,
  fs,
  preloadPath: join(__dirname, '../preload/preload.js'),
  rendererIndex: join(__dirname, '../renderer/index.html'),
  devServerUrl: process.env['ELECTRON_RENDERER_URL'],
  platform: process.platform,
});
