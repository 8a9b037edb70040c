// `vmxlab compare a.json b.json`: two saved profiles (`vmxlab run --profile`) side by side,
// with the change from A to B, the largest change first (src/core/profile/compare.ts), and the
// paging section (CR3-load, #PF and INVLPG exits, VMM-emulated instructions, shadow memory:
// what shadow paging costs and EPT removes, issue 6). `vmxlab compare --gens A,B <run options>
// <image>` makes the two profiles itself: the same guest run on two generations.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCompare, parseProfile, type CompareBy, type Profile } from '../../core/profile';
import { findGeneration, GENERATION_NAMES } from '../../core/vmx/generations';
import { EXIT_FAILURE, UsageError, type CliContext, type Command } from '../types';
import { run } from './run';

/** `run` options that the one-shot form sets itself. */
const OWN_RUN_FLAGS = new Set(['--gen', '--profile', '--serial', '--report', '--trace']);

/** Runs `runArgs` once per generation with `--profile`, quietly; the profiles, or the exit code
 *  and message of the run that failed. */
async function runOn(gens: readonly string[], runArgs: readonly string[], ctx: CliContext): Promise<Profile[] | number> {
  const dir = mkdtempSync(join(tmpdir(), 'vmxlab-compare-'));
  try {
    const out: Profile[] = [];
    for (const g of gens) {
      const file = join(dir, `${g}.json`);
      let err = '';
      const quiet: CliContext = { ...ctx, out: () => undefined, err: (t) => { err += t; } };
      const code = await run.run([...runArgs, '--gen', g, '--quiet', '--profile', file], quiet);
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch {
        ctx.err(`vmxlab compare: the run on ${g} wrote no profile (exit code ${code})${err === '' ? '' : `: ${err.trim()}`}\n`);
        return code === 0 ? EXIT_FAILURE : code;
      }
      if (err !== '') ctx.err(`vmxlab compare: ${g}: ${err.trim()}\n`);
      out.push(parseProfile(text, `${g} run`));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readProfile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read (${code ?? (e as Error).message})`);
  }
  return parseProfile(text, path);
}

export const compare: Command = {
  name: 'compare',
  summary: 'Compare two exit profiles side by side, largest change first',
  usage: 'compare [--by cycles|count] [--top N] <a.json> <b.json>\n' +
    '       vmxlab compare [--by cycles|count] [--top N] --gens GEN_A,GEN_B [run options] <image>',
  details:
    'Reads two profiles written by `vmxlab run --profile FILE` and prints their totals, the paging\n' +
    'figures (EPT or shadow paging; CR3-load, #PF and INVLPG exits, VMM-emulated instructions,\n' +
    'shadow pages in use at the end and at the peak, shadow faults fixed and injected: what shadow\n' +
    'paging costs and EPT removes; \'-\' where a profile does not record it), then the exits by\n' +
    'reason and by sub-key (port, MSR, CR, vector, page, ...) with counts and modelled cycles for A\n' +
    'and B and the change, sorted by the largest change in cycles (--by count: in exit counts).\n' +
    '--top N rows per table (default 20). Notes say when the runs were costed or filtered\n' +
    'differently. Exit code 1 when a file cannot be read or is not a valid profile.\n' +
    '--gens A,B runs <image> hosted on generation A, then on B, with the other options as `vmxlab run`\n' +
    'takes them (not --gen, --profile, --serial, --report, --trace), and compares the two profiles,\n' +
    'e.g. `vmxlab compare --gens haswell,merom --exits io=bitmap:0xf4 guests/paging-stress/paging-stress.img`.',
  async run(args, ctx) {
    let by: CompareBy = 'cycles';
    let top = 20;
    let gens: string[] | null = null;
    const files: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const val = (): string => {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        return v;
      };
      if (a === '--by') {
        const v = val();
        if (v !== 'cycles' && v !== 'count') throw new UsageError(`--by: cycles or count, got '${v}'`);
        by = v;
      } else if (a === '--top') {
        const v = val(), n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--top: a whole number from 1, got '${v}'`);
        top = n;
      } else if (a === '--gens') {
        const v = val().split(',').map((g) => g.trim());
        if (v.length !== 2) throw new UsageError(`--gens: two generations separated by a comma, got '${args[i]}'`);
        for (const g of v) if (findGeneration(g) === undefined) throw new UsageError(`--gens: unknown CPU generation '${g}'; one of ${GENERATION_NAMES.join(', ')}`);
        gens = v;
      } else if (gens === null && a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
      else files.push(a);
    }
    if (gens !== null) {
      // The one-shot form: every other argument is the run's (options and the image).
      const own = files.find((f) => OWN_RUN_FLAGS.has(f));
      if (own !== undefined) throw new UsageError(`--gens: ${own} is set by compare itself`);
      if (files.length === 0) throw new UsageError('--gens: missing <image>');
      const runs = await runOn(gens, files, ctx);
      if (typeof runs === 'number') return runs;
      ctx.out(formatCompare(runs[0]!, runs[1]!, { names: [gens[0]!, gens[1]!], by, top }));
      return 0;
    }
    if (files.length !== 2) throw new UsageError(`expected two profile files, got ${files.length}`);
    let pa: Profile, pb: Profile;
    try {
      pa = readProfile(files[0]!);
      pb = readProfile(files[1]!);
    } catch (e) {
      ctx.err(`vmxlab compare: ${(e as Error).message}\n`);
      return EXIT_FAILURE;
    }
    ctx.out(formatCompare(pa, pb, { names: [files[0]!, files[1]!], by, top }));
    return 0;
  },
};
