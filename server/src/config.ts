/**
 * Server configuration: every option is a `SHARDLINE_*` environment variable and a `--flag`
 * (flags win). Everything is validated at start-up; a bad value throws ERR_CONFIG naming the
 * option, the rule and the value received.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { accessSync, constants as fsConstants } from 'node:fs';
import { isValidShardCount, MAX_SHARDS } from '../../core/index.js';
import { ShardlineError } from '../../protocol/index.js';
import { parseMysqlUrl, type MysqlLocation } from './journal/journal-url.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite`, or where the MySQL/MariaDB journal lives (prints without its password). */
  journal: 'sqlite' | MysqlLocation;
  /** MySQL journal: read connections per journal (the writer connection comes on top). */
  mysqlPoolSize: number;
  /**
   * MySQL journal: commit lanes per runtime (per shard worker, or on the uWS thread), each with
   * its own writer connection and one commit in flight (core/src/commit-lanes.ts). null: the
   * measured best, `commitLanes(config)`.
   */
  mysqlCommitLanes: number | null;
  /** MySQL journal: TLS with server certificate verification. */
  mysqlTls: boolean;
  /** MySQL journal: a PEM CA bundle to trust instead of the system CAs (RDS); '' for none. */
  mysqlCa: string;
  /** Apply pending journal migrations at start-up (`off`: run `shardline migrate` first). */
  migrate: boolean;
  shards: number;
  logLevel: string;
  /** Largest WebSocket frame or HTTP body accepted, in bytes. */
  maxFrameBytes: number;
  maxEventsPerBatch: number;
  maxPayloadBytes: number;
  maxStreamBytes: number;
  maxTypeBytes: number;
  /** AppendBatch frames a WebSocket client may have unacknowledged. */
  creditWindow: number;
  snapshotEvery: number;
  maxLiveActors: number;
  /** Shard worker threads; 0 runs the single-threaded runtime on the uWS thread. */
  workers: number;
  pin: boolean;
  /** Run each runtime's hot path on a scratch journal before serving (core/src/warm-up.ts). */
  warmUp: boolean;
  passivateIdleS: number;
  /** Bytes of each worker's inbound ring (a power of two). */
  ringBytes: number;
  workerHeapMiB: number;
  /** Test-only fault injection (crashing workers and actors on special event types). */
  faultInjection: boolean;
  /** WebSocket idle timeout; the server pings at half of it. Keep the ALB's idle timeout above. */
  wsIdleTimeoutS: number;
  /** Authentication and authorisation; off only for local development. */
  auth: boolean;
  /** API keys file (hashes only); '' means `<dataDir>/keys.json`. */
  keysFile: string;
  /** HS256 secret for JWTs; '' when JWTs are verified otherwise or not accepted. */
  jwtSecret: string;
  /** PEM public key (SPKI) for RS256/ES256 JWTs; '' for none. */
  jwtPublicKeyFile: string;
  jwtAlgorithm: 'RS256' | 'ES256';
  /** JWKS URL for JWTs; '' for none. */
  jwksUrl: string;
  jwtIssuer: string;
  jwtAudience: string;
  /** Per-principal rate limits; 0 disables one. */
  rateEventsPerS: number;
  rateBatchesPerS: number;
  maxConnectionsPerPrincipal: number;
  /** Refuse events whose timestamp is further than this from the server clock; 0: no check. */
  maxTimestampSkewS: number;
  /** TLS certificate and key (PEM paths); both '' for plain HTTP/WS. */
  tlsCert: string;
  tlsKey: string;
}

interface OptionSpec {
  key: keyof ServerConfig;
  env: string;
  flag: string;
  help: string;
  parse: (raw: string, name: string) => ServerConfig[keyof ServerConfig];
}

function fail(name: string, rule: string, raw: string): never {
  throw new ShardlineError('ERR_CONFIG', `${name} must be ${rule}, got ${JSON.stringify(raw)}`, {
    fatal: true,
  });
}

function integer(min: number, max: number) {
  return (raw: string, name: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      fail(name, `an integer between ${min} and ${max}`, raw);
    }
    return value;
  };
}

function onOff(raw: string, name: string): boolean {
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  return fail(name, '"on" or "off"', raw);
}

function powerOfTwo(min: number, max: number) {
  return (raw: string, name: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max || (value & (value - 1)) !== 0) {
      fail(name, `a power of two between ${min} and ${max}`, raw);
    }
    return value;
  };
}

function readableFile(raw: string, name: string): string {
  try {
    accessSync(raw, fsConstants.R_OK);
  } catch {
    fail(name, 'a readable file', raw);
  }
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'host',
    env: 'SHARDLINE_HOST',
    flag: '--host',
    help: 'listen address',
    parse: (raw, name) => (raw.length > 0 ? raw : fail(name, 'an address', raw)),
  },
  {
    key: 'port',
    env: 'SHARDLINE_PORT',
    flag: '--port',
    help: 'listen port (0 picks a free one)',
    parse: integer(0, 65535),
  },
  {
    key: 'dataDir',
    env: 'SHARDLINE_DATA_DIR',
    flag: '--data-dir',
    help: "the embedded journal's directory",
    parse: (raw, name) => (raw.length > 0 ? raw : fail(name, 'a directory', raw)),
  },
  {
    key: 'journal',
    env: 'SHARDLINE_JOURNAL',
    flag: '--journal',
    help: 'journal back end: sqlite or mysql://user:pass@host:3306/db',
    parse: (raw, name) => {
      if (raw === 'sqlite') return 'sqlite';
      if (raw.startsWith('mysql://')) return parseMysqlUrl(raw, name);
      // The value may be a mistyped URL with a password in it: never echo it.
      throw new ShardlineError(
        'ERR_CONFIG',
        `${name} must be "sqlite" or mysql://user:pass@host:3306/db`,
        { fatal: true },
      );
    },
  },
  {
    key: 'mysqlPoolSize',
    env: 'SHARDLINE_MYSQL_POOL_SIZE',
    flag: '--mysql-pool-size',
    help: 'MySQL read connections per journal (plus one writer)',
    parse: integer(1, 256),
  },
  {
    key: 'mysqlCommitLanes',
    env: 'SHARDLINE_MYSQL_COMMIT_LANES',
    flag: '--mysql-commit-lanes',
    help: 'MySQL commits in flight per shard worker or, with --workers 0, on the uWS thread, one writer connection each; auto: 1 per worker, 2 on the uWS thread',
    parse: integer(1, 16),
  },
  {
    key: 'mysqlTls',
    env: 'SHARDLINE_MYSQL_TLS',
    flag: '--mysql-tls',
    help: 'MySQL over TLS, verifying the server certificate: on or off',
    parse: onOff,
  },
  {
    key: 'mysqlCa',
    env: 'SHARDLINE_MYSQL_CA',
    flag: '--mysql-ca',
    help: 'PEM CA bundle for MySQL TLS (such as the RDS bundle)',
    parse: readableFile,
  },
  {
    key: 'migrate',
    env: 'SHARDLINE_MIGRATE',
    flag: '--migrate',
    help: 'apply journal migrations at start-up: on or off',
    parse: onOff,
  },
  {
    key: 'shards',
    env: 'SHARDLINE_SHARDS',
    flag: '--shards',
    help: 'shard count, fixed for the life of a journal',
    parse: (raw, name) => {
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || !isValidShardCount(value)) {
        fail(name, `a power of two between 1 and ${MAX_SHARDS}`, raw);
      }
      return value;
    },
  },
  {
    key: 'logLevel',
    env: 'SHARDLINE_LOG_LEVEL',
    flag: '--log-level',
    help: 'pino level',
    parse: (raw, name) =>
      LOG_LEVELS.includes(raw) ? raw : fail(name, `one of ${LOG_LEVELS.join(', ')}`, raw),
  },
  {
    key: 'maxFrameBytes',
    env: 'SHARDLINE_MAX_FRAME_BYTES',
    flag: '--max-frame-bytes',
    help: 'largest frame or HTTP body',
    parse: integer(1024, 64 * 1024 * 1024),
  },
  {
    key: 'maxEventsPerBatch',
    env: 'SHARDLINE_MAX_EVENTS_PER_BATCH',
    flag: '--max-events-per-batch',
    help: 'events per batch',
    parse: integer(1, 100_000),
  },
  {
    key: 'maxPayloadBytes',
    env: 'SHARDLINE_MAX_PAYLOAD_BYTES',
    flag: '--max-payload-bytes',
    help: 'payload bytes per event',
    parse: integer(0, 16 * 1024 * 1024),
  },
  {
    key: 'maxStreamBytes',
    env: 'SHARDLINE_MAX_STREAM_BYTES',
    flag: '--max-stream-bytes',
    help: 'stream id bytes',
    parse: integer(1, 200),
  },
  {
    key: 'maxTypeBytes',
    env: 'SHARDLINE_MAX_TYPE_BYTES',
    flag: '--max-type-bytes',
    help: 'event type bytes',
    parse: integer(1, 1000),
  },
  {
    key: 'creditWindow',
    env: 'SHARDLINE_CREDITS',
    flag: '--credits',
    help: 'unacknowledged batches per WebSocket',
    parse: integer(1, 1024),
  },
  {
    key: 'snapshotEvery',
    env: 'SHARDLINE_SNAPSHOT_EVERY',
    flag: '--snapshot-every',
    help: 'events between actor snapshots',
    parse: integer(1, 1_000_000_000),
  },
  {
    key: 'maxLiveActors',
    env: 'SHARDLINE_MAX_LIVE_ACTORS',
    flag: '--max-live-actors',
    help: 'live actors per worker before LRU passivation',
    parse: integer(1, 10_000_000),
  },
  {
    key: 'workers',
    env: 'SHARDLINE_WORKERS',
    flag: '--workers',
    help: 'shard worker threads (0: single-threaded runtime on the uWS thread)',
    parse: integer(0, 256),
  },
  {
    key: 'pin',
    env: 'SHARDLINE_PIN',
    flag: '--pin',
    help: 'pin each shard worker to its own core: on or off',
    parse: onOff,
  },
  {
    key: 'warmUp',
    env: 'SHARDLINE_WARM_UP',
    flag: '--warm-up',
    help: 'before serving, run synthetic batches through each runtime on a scratch journal: on or off',
    parse: onOff,
  },
  {
    key: 'passivateIdleS',
    env: 'SHARDLINE_PASSIVATE_IDLE_S',
    flag: '--passivate-idle-s',
    help: 'passivate an actor idle this long',
    parse: integer(1, 86_400),
  },
  {
    key: 'ringBytes',
    env: 'SHARDLINE_RING_BYTES',
    flag: '--ring-bytes',
    help: "bytes of each worker's inbound ring",
    parse: powerOfTwo(64 * 1024, 1024 * 1024 * 1024),
  },
  {
    key: 'workerHeapMiB',
    env: 'SHARDLINE_WORKER_HEAP_MIB',
    flag: '--worker-heap-mib',
    help: 'heap limit of each shard worker',
    parse: integer(64, 65_536),
  },
  {
    key: 'faultInjection',
    env: 'SHARDLINE_FAULT_INJECTION',
    flag: '--fault-injection',
    help: 'TESTS ONLY: crash workers/actors on shardline.fault.* event types',
    parse: onOff,
  },
  {
    key: 'auth',
    env: 'SHARDLINE_AUTH',
    flag: '--auth',
    help: 'authentication: on, or off for local development only',
    parse: onOff,
  },
  {
    key: 'keysFile',
    env: 'SHARDLINE_KEYS_FILE',
    flag: '--keys-file',
    help: 'API keys file (default: <data dir>/keys.json)',
    parse: (raw) => raw,
  },
  {
    key: 'jwtSecret',
    env: 'SHARDLINE_JWT_SECRET',
    flag: '--jwt-secret',
    help: 'HS256 secret for JWTs',
    parse: (raw, name) =>
      raw.length >= 32 ? raw : fail(name, 'at least 32 characters', '<hidden>'),
  },
  {
    key: 'jwtPublicKeyFile',
    env: 'SHARDLINE_JWT_PUBLIC_KEY_FILE',
    flag: '--jwt-public-key-file',
    help: 'PEM public key for RS256/ES256 JWTs',
    parse: readableFile,
  },
  {
    key: 'jwtAlgorithm',
    env: 'SHARDLINE_JWT_ALGORITHM',
    flag: '--jwt-algorithm',
    help: 'RS256 or ES256 (with the public key file)',
    parse: (raw, name) =>
      raw === 'RS256' || raw === 'ES256' ? raw : fail(name, 'RS256 or ES256', raw),
  },
  {
    key: 'jwksUrl',
    env: 'SHARDLINE_JWKS_URL',
    flag: '--jwks-url',
    help: 'JWKS URL for JWTs',
    parse: (raw, name) => (/^https?:\/\//.test(raw) ? raw : fail(name, 'an http(s) URL', raw)),
  },
  {
    key: 'jwtIssuer',
    env: 'SHARDLINE_JWT_ISSUER',
    flag: '--jwt-issuer',
    help: 'required JWT iss',
    parse: (raw) => raw,
  },
  {
    key: 'jwtAudience',
    env: 'SHARDLINE_JWT_AUDIENCE',
    flag: '--jwt-audience',
    help: 'required JWT aud',
    parse: (raw) => raw,
  },
  {
    key: 'rateEventsPerS',
    env: 'SHARDLINE_RATE_EVENTS_PER_S',
    flag: '--rate-events-per-s',
    help: 'events/s per principal (0: unlimited)',
    parse: integer(0, 100_000_000),
  },
  {
    key: 'rateBatchesPerS',
    env: 'SHARDLINE_RATE_BATCHES_PER_S',
    flag: '--rate-batches-per-s',
    help: 'batches/s per principal (0: unlimited)',
    parse: integer(0, 10_000_000),
  },
  {
    key: 'maxConnectionsPerPrincipal',
    env: 'SHARDLINE_MAX_CONNECTIONS_PER_PRINCIPAL',
    flag: '--max-connections-per-principal',
    help: 'open WebSockets per principal (0: unlimited)',
    parse: integer(0, 1_000_000),
  },
  {
    key: 'maxTimestampSkewS',
    env: 'SHARDLINE_MAX_TIMESTAMP_SKEW_S',
    flag: '--max-timestamp-skew-s',
    help: 'largest distance of an event timestamp from the server clock (0: no check)',
    parse: integer(0, 100 * 365 * 86_400),
  },
  {
    key: 'tlsCert',
    env: 'SHARDLINE_TLS_CERT',
    flag: '--tls-cert',
    help: 'TLS certificate (PEM); with --tls-key serves https/wss',
    parse: readableFile,
  },
  {
    key: 'tlsKey',
    env: 'SHARDLINE_TLS_KEY',
    flag: '--tls-key',
    help: 'TLS private key (PEM)',
    parse: readableFile,
  },
  {
    key: 'wsIdleTimeoutS',
    env: 'SHARDLINE_WS_IDLE_TIMEOUT_S',
    flag: '--ws-idle-timeout-s',
    help: 'WebSocket idle timeout (pings at half)',
    parse: integer(8, 960),
  },
];

export const DEFAULT_CONFIG: ServerConfig = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './data',
  journal: 'sqlite',
  mysqlPoolSize: 4,
  mysqlCommitLanes: null,
  mysqlTls: false,
  mysqlCa: '',
  migrate: true,
  shards: 1024,
  logLevel: 'info',
  maxFrameBytes: 4 * 1024 * 1024,
  maxEventsPerBatch: 10_000,
  maxPayloadBytes: 1024 * 1024,
  maxStreamBytes: 200,
  maxTypeBytes: 100,
  creditWindow: 64,
  snapshotEvery: 1000,
  maxLiveActors: 100_000,
  workers: availableParallelism(),
  pin: true,
  warmUp: true,
  passivateIdleS: 300,
  ringBytes: 8 * 1024 * 1024,
  workerHeapMiB: 4096,
  faultInjection: false,
  wsIdleTimeoutS: 120,
  auth: true,
  keysFile: '',
  jwtSecret: '',
  jwtPublicKeyFile: '',
  jwtAlgorithm: 'RS256',
  jwksUrl: '',
  jwtIssuer: '',
  jwtAudience: '',
  rateEventsPerS: 250_000,
  rateBatchesPerS: 10_000,
  maxConnectionsPerPrincipal: 256,
  maxTimestampSkewS: 0,
  tlsCert: '',
  tlsKey: '',
};

/**
 * The MySQL commit lanes of each runtime: as configured, else 2 on the uWS thread (where they
 * raised throughput by a fifth) and 1 per shard worker (where the cores are already busy with
 * the other workers, and a second lane cost throughput and database CPU; decision 0008).
 */
export function commitLanes(config: Pick<ServerConfig, 'mysqlCommitLanes' | 'workers'>): number {
  return config.mysqlCommitLanes ?? (config.workers === 0 ? 2 : 1);
}

/** One line per option, for `--help`. */
export function configHelp(): string {
  return OPTIONS.map(
    (o) =>
      `  ${o.flag.padEnd(24)} ${o.env.padEnd(32)} ${o.help} (default ${String(DEFAULT_CONFIG[o.key] ?? 'auto') || 'none'})`,
  ).join('\n');
}

/** Builds the configuration from defaults, then the environment, then `--flag value` pairs. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const option of OPTIONS) {
    const raw = env[option.env];
    if (raw !== undefined && raw !== '') config[option.key] = option.parse(raw, option.env);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const option = OPTIONS.find((o) => o.flag === flag);
    if (option === undefined) {
      throw new ShardlineError('ERR_CONFIG', `unknown option ${arg}; see --help`, { fatal: true });
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) fail(option.flag, 'followed by a value', '');
    config[option.key] = option.parse(raw, option.flag);
  }
  if (config.mysqlCa !== '' && config.mysqlTls !== true) {
    throw new ShardlineError(
      'ERR_CONFIG',
      'SHARDLINE_MYSQL_CA (--mysql-ca) needs SHARDLINE_MYSQL_TLS=on (--mysql-tls on)',
      { fatal: true },
    );
  }
  if ((config['tlsCert'] === '') !== (config['tlsKey'] === '')) {
    throw new ShardlineError(
      'ERR_CONFIG',
      'SHARDLINE_TLS_CERT and SHARDLINE_TLS_KEY must be set together',
      { fatal: true },
    );
  }
  const jwtSources = [config['jwtSecret'], config['jwtPublicKeyFile'], config['jwksUrl']].filter(
    (v) => v !== '',
  );
  if (jwtSources.length > 1) {
    throw new ShardlineError(
      'ERR_CONFIG',
      'set only one of SHARDLINE_JWT_SECRET, SHARDLINE_JWT_PUBLIC_KEY_FILE and SHARDLINE_JWKS_URL',
      { fatal: true },
    );
  }
  if (config['keysFile'] === '') config['keysFile'] = join(String(config['dataDir']), 'keys.json');
  return config as unknown as ServerConfig;
}
