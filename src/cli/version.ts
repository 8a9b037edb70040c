// Replaced at bundle time by scripts/build-cli.mjs and scripts/run-ts.mjs (esbuild `define`).
declare const __VMXLAB_VERSION__: string | undefined;

export const VERSION: string = typeof __VMXLAB_VERSION__ === 'string' ? __VMXLAB_VERSION__ : '0.0.0-dev';
