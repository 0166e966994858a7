/**
 * `shardline serve` and `shardline migrate` run the server's own entry point,
 * dist/server/main.js, found relative to this file (the CLI never imports server code). The
 * child inherits stdio; signals sent to the CLI are forwarded to it exactly once, and the CLI
 * exits with the child's exit code.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CommandContext } from './command.js';

/** dist/clients/cli/src/server-process.js → dist/server/main.js */
export const SERVER_ENTRY = fileURLToPath(new URL('../../../server/main.js', import.meta.url));

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The server's V8 flags, as in server/node-flags.ts, which says why. A copy: the CLI imports no
 * server code.
 */
const SERVER_NODE_FLAGS = ['--no-memory-reducer'];

/** Runs `node dist/server/main.js ...args` in the foreground; resolves with its exit code. */
export function runServerProcess(
  args: readonly string[],
  context: CommandContext,
): Promise<number> {
  if (!existsSync(SERVER_ENTRY)) {
    context.stderr.write(
      `shardline: the server is not built (${SERVER_ENTRY}); run npm run build\n`,
    );
    return Promise.resolve(1);
  }
  // Its own process group: a Ctrl-C on the terminal reaches only the CLI, which forwards it
  // once. In the shared group the server would receive SIGINT twice, and the second one would
  // cut its graceful shutdown short.
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, SERVER_ENTRY, ...args], {
    stdio: 'inherit',
    env: context.env,
    detached: true,
  });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  // A CLI that dies of an uncaught error must not leave an orphaned server behind.
  const reap = (): void => forward('SIGTERM');
  process.once('exit', reap);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      context.stderr.write(`shardline: cannot start the server: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const name of FORWARDED_SIGNALS) process.off(name, forward);
      process.off('exit', reap);
      // Shell convention: killed by signal n exits with 128 + n.
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
