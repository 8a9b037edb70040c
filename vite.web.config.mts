import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The same renderer as the desktop app, built as a static site into out/web
// (no preload there: window.vmxlab is absent and the app says it runs in the browser).
// .mts so Vite loads it as ESM, also under its native config loader.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./src/renderer'),
  base: './',
  plugins: [vue()],
  build: {
    outDir: here('./out/web'),
    emptyOutDir: true,
    target: 'es2022',
  },
});
