// The command table. To add a command: write src/cli/commands/<name>.ts exporting a
// `Command`, import it here and add it to the list (the order is the order in `vmxlab help`).
import type { Command } from '../types';
import { compare } from './compare';
import { help } from './help';
import { run } from './run';
import { version } from './version';

export const commands: readonly Command[] = [run, compare, help, version];
