// `vmxlab run <image>`: boots an image on the bare testbed machine (CPU + RAM + serial capture,
// no BIOS yet: the platform issue brings the PC) and prints what the guest wrote to COM1/0xE9.
import { readFileSync } from 'node:fs';
import { Testbed } from '../../core/platform/testbed';
import { createCpu } from '../../core/cpu/index';
import { UsageError, type Command } from '../types';

interface RunOpts { image: string; max: number; marker?: string; memMb: number; quiet: boolean }

function parse(args: readonly string[]): RunOpts {
  const o: RunOpts = { image: '', max: 2_000_000_000, memMb: 64, quiet: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--max-instructions' || a === '-n') {
      const n = Number(val().replace(/_/g, ''));
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${a}: expected a positive number`);
      o.max = n;
    } else if (a === '--marker') o.marker = val();
    else if (a === '--memory') {
      const n = Number(val());
      if (!Number.isInteger(n) || n < 1 || n > 2048) throw new UsageError('--memory: MB between 1 and 2048');
      o.memMb = n;
    } else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (o.image) throw new UsageError(`one image only (got ${o.image} and ${a})`);
    else o.image = a;
  }
  if (!o.image) throw new UsageError('missing <image>');
  return o;
}

export const run: Command = {
  name: 'run',
  summary: 'Boot an image on the emulated machine and print its serial output',
  usage: 'run [--max-instructions N] [--marker TEXT] [--memory MB] [--quiet] <image>',
  details:
    'Loads a boot-sector image (512-byte sector with 55 AA, further sectors following it) at\n' +
    '0000:7C00 on the bare testbed machine: CPU, RAM, COM1 transmit capture, debug port 0xE9 and\n' +
    'the isa-debug-exit port 0xF4. There is no BIOS yet, so only images that use port I/O run.\n' +
    'Stops at the exit port, HLT, a triple fault, the marker text, or the instruction budget.',
  run(args, ctx) {
    const o = parse(args);
    let image: Uint8Array;
    try { image = new Uint8Array(readFileSync(o.image)); } catch (e) {
      ctx.err(`vmxlab run: cannot read ${o.image}: ${(e as Error).message}\n`);
      return 1;
    }
    const tb = new Testbed({ memoryBytes: o.memMb << 20, createCpu });
    try { tb.loadBootSector(image); } catch (e) {
      ctx.err(`vmxlab run: ${o.image}: ${(e as Error).message}\n`);
      return 1;
    }
    const t0 = performance.now();
    let printed = 0;
    let res;
    let total = 0;
    // Run in slices so output streams while the guest runs.
    for (;;) {
      res = tb.runUntil({ maxInstructions: Math.min(50_000_000, o.max - total), marker: o.marker });
      total += res.instructions;
      if (res.output.length > printed) { ctx.out(res.output.slice(printed)); printed = res.output.length; }
      if (res.stopReason !== 'budget' || total >= o.max) break;
    }
    const secs = (performance.now() - t0) / 1000;
    const c = tb.cpu;
    if (!o.quiet) {
      let why: string = res.stopReason;
      if (res.stopReason === 'exit-port') why = `exit port, code ${res.exitCode}`;
      else if (res.stopReason === 'shutdown') why = `shutdown (${res.shutdownReason ?? 'triple fault'})`;
      else if (res.stopReason === 'halted') why = `HLT at ${c.segSel[1].toString(16).padStart(4, '0')}:${c.eip.toString(16)}${(c.flags & 0x200) === 0 ? ' with interrupts disabled' : ''}`;
      else if (res.stopReason === 'budget') why = `instruction budget of ${o.max} reached`;
      ctx.err(`\nvmxlab: ${total} instructions in ${secs.toFixed(2)} s (${(total / secs / 1e6).toFixed(1)} MIPS); stopped: ${why}\n`);
    }
    return res.stopReason === 'shutdown' ? 3 : res.stopReason === 'exit-port' ? (res.exitCode ?? 0) & 0xff : 0;
  },
};
