// ESLint 9 flat config: @eslint/js + typescript-eslint + eslint-plugin-vue.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.map((m) => m.split('/')[0]))];

export default defineConfig(
  globalIgnores(['node_modules/', 'out/', 'dist/', 'release/', 'coverage/', 'test-results/', 'tmp/']),

  js.configs.recommended,
  tseslint.configs.recommended,
  pluginVue.configs['flat/recommended'],
  // Formatting is not a lint error.
  pluginVue.configs['no-layout-rules'],

  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },

  // Vue single-file components: TypeScript inside <script lang="ts">.
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },

  // Where code runs.
  {
    files: ['src/renderer/**', 'test/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/main/**', 'src/cli/**', 'scripts/**', 'test/**', 'bench/**', 'guests/**/*.mjs', '*.config.*', '.ci/**'],
    ignores: ['test/renderer/**'],
    languageOptions: { globals: { ...globals.node } },
  },

  // The emulator core runs in worker_threads and in Web Workers: no Node, no Electron, no DOM.
  // (test/project/layout.test.ts and tsconfig.core.json check the same.)
  {
    files: ['src/core/**'],
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'electron'].map((name) => ({
            name,
            message: 'src/core must run in Web Workers and worker_threads alike: no Node or Electron modules.',
          })),
          patterns: [
            { group: ['node:*'], message: 'src/core must not import Node built-ins.' },
            { group: [...nodeBuiltins.map((m) => `${m}/*`), 'electron/*'], message: 'src/core must not import Node or Electron modules.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'window', message: 'src/core must not touch the DOM.' },
        { name: 'document', message: 'src/core must not touch the DOM.' },
        { name: 'process', message: 'src/core must not depend on Node globals.' },
        { name: 'Buffer', message: 'src/core must not depend on Node globals: use Uint8Array.' },
        { name: 'require', message: 'src/core must use ES imports.' },
      ],
    },
  },
);
