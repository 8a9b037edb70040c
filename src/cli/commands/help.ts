import { UsageError, type CliContext, type Command } from '../types';
import { findCommand } from '../main';

export function generalHelp(ctx: CliContext): string {
  const width = Math.max(...ctx.commands.map((c) => c.name.length));
  const lines = [
    `vmxlab ${ctx.version} - Intel VT-x modelled on an x86 interpreter`,
    '',
    'Usage: vmxlab <command> [arguments]',
    '',
    'Commands:',
    ...ctx.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'vmxlab help <command>' for more about a command.",
  ];
  return lines.join('\n') + '\n';
}

export function commandHelp(cmd: Command): string {
  const lines = [`Usage: vmxlab ${cmd.usage}`, '', cmd.summary];
  if (cmd.aliases?.length) lines.push('', `Aliases: ${cmd.aliases.join(', ')}`);
  if (cmd.details) lines.push('', cmd.details.trimEnd());
  return lines.join('\n') + '\n';
}

export const help: Command = {
  name: 'help',
  summary: 'Show the list of commands, or help for one command',
  usage: 'help [command]',
  run(args, ctx) {
    if (args.length > 1) throw new UsageError('help takes at most one command name');
    const [name] = args;
    if (name === undefined) {
      ctx.out(generalHelp(ctx));
      return 0;
    }
    const cmd = findCommand(ctx.commands, name);
    if (!cmd) throw new UsageError(`unknown command '${name}'`);
    ctx.out(commandHelp(cmd));
    return 0;
  },
};
