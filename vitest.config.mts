import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';
import { guestImages } from './vite.guests.mjs';

// Two projects: everything under test/ runs in Node, test/renderer/** runs in happy-dom.
// 'electron' resolves to a stub that throws, so a test can only see Electron through
// vi.mock('electron', ...) and never loads (or downloads) the real binary.
const electronStub = fileURLToPath(new URL('./test/support/electron-stub.ts', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^electron$/, replacement: electronStub }],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/renderer/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        plugins: [vue(), guestImages()],
        test: {
          name: 'renderer',
          environment: 'happy-dom',
          include: ['test/renderer/**/*.test.ts'],
        },
      },
    ],
  },
});
