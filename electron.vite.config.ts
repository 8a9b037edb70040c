import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

// main and preload are emitted as CommonJS (package.json has no "type": "module").
// The preload is sandboxed, so it is bundled into one file with no externals but 'electron'.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      lib: { entry: resolve(__dirname, 'src/main/index.ts'), formats: ['cjs'] },
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
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rolldownOptions: {
        input: resolve(__dirname, 'src/renderer/index.html'),
      },
    },
  },
});
