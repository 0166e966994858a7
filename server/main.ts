#!/usr/bin/env node
/**
 * `node dist/server/main.js [serve] [--flags]`: runs the Shardline server until SIGTERM or
 * SIGINT. `node dist/server/main.js migrate [--flags]`: applies the journal's migrations and
 * exits. `node dist/server/main.js keys create|list|revoke`: manages API keys.
 */
import { missingServerNodeFlags, SERVER_NODE_FLAGS } from './node-flags.js';
import { configHelp, loadConfig } from './src/config.js';
import { runMigrations } from './src/journal/migrate-command.js';
import { createLogger } from './src/logger.js';
import { runKeysCommand } from './src/security/keys-command.js';
import { startServer } from './src/server.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'keys') {
    process.exitCode = runKeysCommand(args.slice(1), process.env, (text) =>
      process.stdout.write(text),
    );
    return;
  }
  const command = args[0] === 'migrate' || args[0] === 'serve' ? args[0] : 'serve';
  const argv = args[0] === command ? args.slice(1) : args;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `Usage: shardline [serve] [options]\n       shardline migrate [options]\n` +
        `       shardline keys create|list|revoke (see shardline keys --help)\n\n` +
        `Options (flag, environment variable):\n${configHelp()}\n`,
    );
    return;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    process.stderr.write(`shardline: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(config.logLevel);
  if (command === 'migrate') {
    try {
      await runMigrations(config, log);
    } catch (error) {
      log.fatal({ err: error }, 'migration failed');
      process.exitCode = 1;
    }
    return;
  }
  const missingFlags = missingServerNodeFlags();
  if (missingFlags.length > 0) {
    log.warn(
      { missingFlags },
      `node was started without ${missingFlags.join(' ')}: the uWS thread may pause for a few ms ` +
        `when V8 gives memory back (npm start and shardline serve pass ${SERVER_NODE_FLAGS.join(' ')})`,
    );
  }
  let server;
  try {
    server = await startServer(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'start-up failed');
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string): void => {
    log.info({ signal }, 'signal received');
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

await main();
