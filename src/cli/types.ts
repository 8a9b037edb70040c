/** What a command gets besides its arguments. Tests pass their own to capture output. */
export interface CliContext {
  /** Write to standard output (no newline added). */
  out(text: string): void;
  /** Write to standard error (no newline added). */
  err(text: string): void;
  /** The vmxlab version. */
  readonly version: string;
  /** The command table (used by `help`). */
  readonly commands: readonly Command[];
}

/** One `vmxlab <name>` subcommand. Add a file in src/cli/commands/ and list it in commands/index.ts. */
export interface Command {
  readonly name: string;
  /** Other names accepted on the command line. */
  readonly aliases?: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** Usage line(s) after `vmxlab `, e.g. `run [options] <guest>`. */
  readonly usage: string;
  /** Longer help text shown by `vmxlab help <name>` (optional). */
  readonly details?: string;
  /** Returns the process exit code. Throw {@link UsageError} for bad arguments (exit code 2). */
  run(args: readonly string[], ctx: CliContext): number | Promise<number>;
}

/** Bad command line: reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
