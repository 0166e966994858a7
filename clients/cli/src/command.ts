/**
 * What every subcommand is made of: a name, a one-line summary, its `--help` text and a `run`
 * that returns the exit code. Options are parsed with `node:util` `parseArgs` (strict), and
 * the options every network command shares (`--url`, `--api-key`) are defined once here.
 */
import type { ParseArgsConfig } from 'node:util';
import { ShardlineError } from '../../typescript/index.js';

/** The process's streams and environment, passed in so that commands never reach for globals. */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface CliCommand {
  /** The word after `shardline`. */
  readonly name: string;
  /** One line for `shardline --help`. */
  readonly summary: string;
  /** The full text of `shardline <name> --help`. */
  readonly help: string;
  /** Runs the command with the arguments after its name; resolves with the exit code. */
  run(argv: readonly string[], context: CommandContext): Promise<number>;
}

/** Exit codes of every command. */
export const ExitCode = {
  ok: 0,
  /** The command ran, but something it did failed (an event was refused, a request failed). */
  failure: 1,
  /** Bad arguments: nothing was done. */
  usage: 2,
} as const;

/** Bad command-line arguments. Code `ERR_USAGE`; the CLI exits with 2. */
export class UsageError extends ShardlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

export const DEFAULT_URL = 'ws://127.0.0.1:8080';

/** `--url`, `--api-key` and `--help`, shared by every command that talks to a server. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string', default: DEFAULT_URL },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const CONNECTION_HELP = `  --url URL          server address, ws:// or http:// (default ${DEFAULT_URL})
  --api-key KEY      API key; default: the SHARDLINE_API_KEY environment variable
  -h, --help         this help`;

/**
 * Runs an argument parser (`node:util` `parseArgs`, strict) and turns its errors into a
 * UsageError: `parsing(() => parseArgs({ args: [...argv], options, strict: true }))`.
 */
export function parsing<T>(parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
}

/** The API key: `--api-key`, else SHARDLINE_API_KEY, else none. */
export function apiKeyOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const key = flag ?? env['SHARDLINE_API_KEY'];
  return key === undefined || key === '' ? undefined : key;
}

/** An integer option within [min, max]; throws a UsageError naming the option. */
export function integerOption(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!/^\d[\d_]*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}
