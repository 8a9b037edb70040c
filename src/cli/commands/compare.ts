// `vmxlab compare a.json b.json`: two saved profiles (`vmxlab run --profile`) side by side,
// with the change from A to B, the largest change first (src/core/profile/compare.ts).
import { readFileSync } from 'node:fs';
import { formatCompare, parseProfile, type CompareBy, type Profile } from '../../core/profile';
import { EXIT_FAILURE, UsageError, type Command } from '../types';

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
  usage: 'compare [--by cycles|count] [--top N] <a.json> <b.json>',
  details:
    'Reads two profiles written by `vmxlab run --profile FILE` and prints their totals, then the\n' +
    'exits by reason and by sub-key (port, MSR, CR, vector, page, ...) with counts and modelled\n' +
    'cycles for A and B and the change, sorted by the largest change in cycles (--by count: in\n' +
    'exit counts). --top N rows per table (default 20). Notes say when the runs were costed or\n' +
    'filtered differently. Exit code 1 when a file cannot be read or is not a valid profile.',
  run(args, ctx) {
    let by: CompareBy = 'cycles';
    let top = 20;
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
      } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
      else files.push(a);
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
