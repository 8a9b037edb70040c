import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { guestImages } from './vite.guests.mjs';

// main and preload are emitted as CommonJS (package.json has no "type": "module").
// main has two entries: the main process (index) and the engine's worker thread
// (engine-worker, started by index with new Worker(join(__dirname, 'engine-worker.js'))).
// The preload is sandboxed, so it is bundled into one file with no externals but 'electron'.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      lib: {
        entry: { index: resolve(__dirname, 'src/main/index.ts'), 'engine-worker': resolve(__dirname, 'src/main/engine-worker.ts') },
        formats: ['cjs'],
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      lib: { entry: resolve(__dirname, 'src/main/preload.ts'), formats: ['cjs'] },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    plugins: [vue(), guestImages()],
    worker: { format: 'es' },
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      chunkSizeWarningLimit: 2000,
      rolldownOptions: {
        input: resolve(__dirname, 'src/renderer/index.html'),
      },
    },
  },
});
