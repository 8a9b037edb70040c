// V8 settings the emulator is tuned for. The run loops (decode-cache.ts runCached, Cpu.run)
// are large functions whose speed depends on V8 inlining the small access and flag helpers
// into them; V8's default cumulative inlining budget (920 bytes of bytecode) runs out first.
// Hosts that can pass V8 flags do so before the core is compiled: the CLI with
// v8.setFlagsFromString, the Electron app with the js-flags switch. The browser build cannot
// and runs with V8's defaults. Measured effect on `npm run bench`: see BENCHMARKS.md.
export const V8_TUNING_FLAGS = ['--max-inlined-bytecode-size-cumulative=8000', '--max-inlined-bytecode-size=1000'] as const;
