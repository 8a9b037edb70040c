// The dispatcher: `vmxlab <command> [args...]`. Global flags are handled here; every
// other argument goes to the command untouched.
import { EXIT_FAILURE, EXIT_USAGE, UsageError, type CliContext, type Command } from './types';

export function findCommand(commands: readonly Command[], name: string): Command | undefined {
  return commands.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

/** Closest command name (edit distance ≤ 2), for "did you mean". */
function suggest(commands: readonly Command[], name: string): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of commands) {
    for (const n of [c.name, ...(c.aliases ?? [])]) {
      const d = editDistance(n, name);
      if (d < bestDist) {
        bestDist = d;
        best = n;
      }
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Runs the CLI with `argv` (without `node` and the script path) and returns the exit code. */
export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  let [first, ...rest] = argv;

  if (first === undefined || first === '-h' || first === '--help') {
    first = 'help';
    rest = [];
  } else if (first === '-V' || first === '--version') {
    first = 'version';
    rest = [];
  }
  // `vmxlab <cmd> --help` is `vmxlab help <cmd>`.
  if (first !== 'help' && (rest.includes('--help') || rest.includes('-h'))) {
    rest = [first];
    first = 'help';
  }

  const cmd = findCommand(ctx.commands, first);
  if (!cmd) {
    const hint = suggest(ctx.commands, first);
    ctx.err(
      `vmxlab: unknown command '${first}'` +
        (hint ? ` (did you mean '${hint}'?)` : '') +
        "\nRun 'vmxlab help' for the list of commands.\n",
    );
    return EXIT_USAGE;
  }

  try {
    return await cmd.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.err(`vmxlab ${cmd.name}: ${e.message}\nUsage: vmxlab ${cmd.usage}\n`);
      return EXIT_USAGE;
    }
    ctx.err(`vmxlab ${cmd.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
