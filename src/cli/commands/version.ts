import { UsageError, type Command } from '../types';

export const version: Command = {
  name: 'version',
  summary: 'Print the vmxlab version',
  usage: 'version',
  run(args, ctx) {
    if (args.length > 0) throw new UsageError('version takes no arguments');
    ctx.out(`${ctx.version}\n`);
    return 0;
  },
};
