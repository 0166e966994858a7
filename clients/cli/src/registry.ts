/**
 * The subcommands of `shardline`, one module each under commands/. To add one, write
 * commands/<name>.ts exporting a CliCommand and list it here.
 */
import type { CliCommand } from './command.js';
import { benchCommand } from './commands/bench.js';
import { keysCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { readCommand } from './commands/read.js';
import { sendCommand } from './commands/send.js';
import { serveCommand } from './commands/serve.js';

export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  migrateCommand,
  keysCommand,
  sendCommand,
  readCommand,
  benchCommand,
];

export function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** The text of `shardline --help`. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `Usage: shardline <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Run shardline <command> --help for the options of one command.
Network commands take --url (default ws://127.0.0.1:8080) and --api-key (or SHARDLINE_API_KEY).
`;
}
