import type { CliCommand } from '../command.js';
import { runServerProcess } from '../server-process.js';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run the Shardline server in the foreground',
  help: `Usage: shardline serve [server options]

Runs the Shardline server (node dist/server/main.js) in the foreground until SIGINT or SIGTERM,
which it forwards; exits with the server's exit code. Every option is passed to the server
unchanged; each also has a SHARDLINE_* environment variable. The server's options follow.
`,
  run: async (argv, context) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      context.stdout.write(serveCommand.help + '\n');
      return runServerProcess(['serve', '--help'], context);
    }
    return runServerProcess(['serve', ...argv], context);
  },
};
