// Stand-in for the 'electron' module in tests (aliased in vitest.config.mts). The real
// package would try to download the Electron binary on first require. Tests that need
// Electron APIs must provide them with vi.mock('electron', () => ({ ... })).
export {};

throw new Error(
  "The real 'electron' module is not available in tests: mock it with vi.mock('electron', () => ({ ... }))",
);
