import type { CliCommand } from '../command.js';
import { runServerProcess } from '../server-process.js';

export const keysCommand: CliCommand = {
  name: 'keys',
  summary: 'create, list or revoke API keys (the clear key is shown once)',
  help: `Usage: shardline keys create --role <producer|reader|admin> [--role ...] [--prefix <stream prefix> ...] [--name <name>]
       shardline keys list
       shardline keys revoke <key id>

Manages the server's API keys file (node dist/server/main.js keys): --keys-file <path>, or
SHARDLINE_KEYS_FILE, or <--data-dir>/keys.json. The file keeps only SHA-256 hashes; running
servers pick up a change within a second.
`,
  run: (argv, context) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      context.stdout.write(keysCommand.help + '\n');
      return Promise.resolve(0);
    }
    return runServerProcess(['keys', ...argv], context);
  },
};
