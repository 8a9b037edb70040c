import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { guestImages } from './vite.guests.mjs';

// The same renderer as the desktop app, built as a static site into out/web: no preload
// there, so the renderer's platform adapter runs the engine in a Web Worker (module worker,
// src/renderer/src/platform/engine.worker.ts) and exports download.
// .mts so Vite loads it as ESM, also under its native config loader.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./src/renderer'),
  base: './',
  plugins: [vue(), guestImages()],
  worker: { format: 'es' },
  build: {
    outDir: here('./out/web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
  },
});
