import type { CliCommand } from '../command.js';
import { runServerProcess } from '../server-process.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: "apply the journal's pending migrations, then exit",
  help: `Usage: shardline migrate [server options]

Applies the journal's pending schema migrations (node dist/server/main.js migrate) and exits:
0 when the journal is up to date. Takes the server's journal options, such as
--journal mysql://user:pass@host:3306/db or --data-dir ./data. The server's options follow.
`,
  run: async (argv, context) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      context.stdout.write(migrateCommand.help + '\n');
      return runServerProcess(['migrate', '--help'], context);
    }
    return runServerProcess(['migrate', ...argv], context);
  },
};
