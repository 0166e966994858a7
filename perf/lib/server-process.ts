/**
 * The Shardline server as a child process for the perf suites: `node dist/server/main.js` on a
 * free port of 127.0.0.1, optionally wrapped by another command (clinic). Resolves once the
 * server logs "shardline listening"; its output is drained for its whole life (a full pipe
 * would block the server's logger) and the last lines are kept for error messages.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../server/node-flags.js';
import { findDescendant } from './proc-stats.js';

/** The compiled server entry point (this file runs from dist/perf/lib/). */
export const SERVER_MAIN = fileURLToPath(new URL('../../server/main.js', import.meta.url));

export interface ServerProcessOptions {
  /** `sqlite` (default) or a mysql:// URL. */
  journal?: string;
  /** Shard workers; absent: the server's default (one per core). */
  workers?: number;
  /** More server flags, such as `['--credits', '64']`. */
  args?: readonly string[];
  /** A command that runs the server, such as `[clinic, 'flame', '--']`; `node` follows it. */
  wrapper?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Gives up when the server has not logged that it listens within this time. */
  startTimeoutMs?: number;
  /** Echo the server's output to this process's stderr. */
  verbose?: boolean;
  /**
   * `key` (default): authentication on, as in production, with a producer+reader API key made
   * for the run (`keys create` in the data directory); `off`: `--auth off`.
   */
  auth?: 'key' | 'off';
}

export interface ServerProcess {
  /** The spawned child: the server itself, or the wrapper. */
  child: ChildProcess;
  /** The server's own process id (inside the wrapper, if any). */
  pid: number;
  port: number;
  wsUrl: string;
  httpUrl: string;
  dataDir: string;
  /** The run's API key (absent with `auth: 'off'`). */
  apiKey?: string;
  /** Resolves with the exit code, or the signal name, of the child. */
  exited: Promise<number | string>;
  /** The last lines of output, for error messages. */
  tail(): string;
  /** Signals the server (not the wrapper), waits for the child to exit, removes the data dir. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

const TAIL_LINES = 30;

export async function spawnServer(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shardline-perf-'));
  const apiKey = options.auth === 'off' ? undefined : createApiKey(dataDir);
  const serverArgs = [
    SERVER_MAIN,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--journal',
    options.journal ?? 'sqlite',
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
    ...(options.auth === 'off' ? ['--auth', 'off'] : []),
    ...(options.args ?? []),
  ];
  const wrapper = options.wrapper ?? [];
  // node's own flags as production passes them (server/node-flags.ts).
  const [command, ...args] =
    wrapper.length === 0
      ? [process.execPath, ...SERVER_NODE_FLAGS, ...serverArgs]
      : [...wrapper, 'node', ...SERVER_NODE_FLAGS, ...serverArgs];
  const child = spawn(command!, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    if (options.verbose === true) process.stderr.write(`[server] ${line}\n`);
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const tail = (): string => lines.join('\n');
  const cleanUp = (): void => rmSync(dataDir, { recursive: true, force: true });

  let timer: NodeJS.Timeout | undefined;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        keep(line);
        let record: { msg?: unknown; port?: unknown };
        try {
          record = JSON.parse(line) as { msg?: unknown; port?: unknown };
        } catch {
          return; // a line of the wrapper's own
        }
        if (record.msg === 'shardline listening' && typeof record.port === 'number') {
          resolve(record.port);
        }
      });
      void exited.then((code) =>
        reject(new Error(`the server exited (${code}) before listening:\n${tail()}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`the server did not listen within the time limit:\n${tail()}`)),
        options.startTimeoutMs ?? 60_000,
      );
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    cleanUp();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  const pid =
    wrapper.length === 0 ? child.pid! : (findDescendant(child.pid!, SERVER_MAIN) ?? child.pid!);
  let stopping: Promise<number | string> | null = null;
  const stop = (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000) => {
    stopping ??= (async () => {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(killer);
      cleanUp();
      return code;
    })();
    return stopping;
  };
  return {
    child,
    pid,
    port,
    wsUrl: `ws://127.0.0.1:${port}/v1/stream`,
    httpUrl: `http://127.0.0.1:${port}`,
    dataDir,
    ...(apiKey === undefined ? {} : { apiKey }),
    exited,
    tail,
    stop,
  };
}

/**
 * Makes a producer+reader+admin API key in the data directory's key file (admin: the benchmarks
 * read `/metrics`); returns the key.
 */
export function createApiKey(dataDir: string): string {
  const output = execFileSync(
    process.execPath,
    [
      SERVER_MAIN,
      'keys',
      'create',
      '--role',
      'producer',
      '--role',
      'reader',
      '--role',
      'admin',
      '--data-dir',
      dataDir,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const record = JSON.parse(output.split('\n')[0]!) as { key?: unknown };
  if (typeof record.key !== 'string') throw new Error(`keys create printed no key: ${output}`);
  return record.key;
}
