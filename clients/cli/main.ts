#!/usr/bin/env node
/**
 * `shardline`: the command-line tool of Shardline (`npx shardline <command>`). Each subcommand
 * is one module under src/commands/, listed in src/registry.ts.
 */
import type { ShardlineError } from '../typescript/index.js';
import { ExitCode, type CommandContext } from './src/command.js';
import { findCommand, generalHelp } from './src/registry.js';

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const out = name === undefined ? process.stderr : process.stdout;
    out.write(generalHelp());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = findCommand(name);
  if (command === undefined) {
    process.stderr.write(`shardline: unknown command "${name}"\n\n${generalHelp()}`);
    return ExitCode.usage;
  }
  const context: CommandContext = {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  try {
    return await command.run(rest, context);
  } catch (error) {
    const { code, message } = error as ShardlineError;
    process.stderr.write(
      `shardline ${name}: ${message}${code === undefined ? '' : ` (${code})`}\n`,
    );
    return code === 'ERR_USAGE' ? ExitCode.usage : ExitCode.failure;
  }
}

// A reader that goes away (`shardline read s | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(ExitCode.ok);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
