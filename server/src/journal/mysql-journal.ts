/**
 * The production journal: MySQL 8 or MariaDB 10.6+, through the `mariadb` driver.
 *
 * Connections: one writer connection, which carries every group commit, and a small pool for
 * reads. The journals of one thread's commit lanes share their writer connection
 * (`laneJournals`, `MysqlWriter`): each lane's transaction follows the previous lane's
 * COMMIT on the wire, with one COMMIT in flight per connection. Each operation runs under a
 * deadline; past it the connection is destroyed rather than waited on.
 *
 * Group commit: one transaction per group. The events go in as few INSERT statements as fit
 * below the server's `max_allowed_packet` (read at `open`), either as multi-row INSERTs
 * through prepared statements or as one `batch()` (MariaDB's bulk protocol) of rows this
 * journal encodes itself, chosen per server at `open`: see docs/decisions/0003 and 0011. The
 * commit resolves only after COMMIT returned. A group that is one INSERT and nothing else sends
 * its COMMIT right behind the INSERT, without waiting for its answer: a statement that fails
 * leaves nothing behind, so that COMMIT then commits nothing (decision 0010).
 *
 * A failing group: when a row breaks a unique key or a column rule, nothing of the group is
 * committed, and the rows are tried again by halves, each half under a savepoint, until every
 * bad row is found; then everything is rolled back and `JournalConflictError` lists them all.
 *
 * Outages: a circuit breaker opens after consecutive connection failures; while it is open,
 * `isAvailable()` is false and every method rejects at once with ERR_JOURNAL_UNAVAILABLE. It
 * probes with exponential backoff and closes by itself when the server answers (and is
 * writable) again. A connection that reports the server read-only (error 1290, as after an RDS
 * failover) is destroyed, never reused.
 *
 * Credentials never appear in messages or logs: the location prints as `mysql://user:***@…`.
 */
import type { Connection, ConnectionConfig, SqlError } from 'mariadb';
import {
  bufferView,
  EVENT_ROW_VALUES,
  eventRowValues,
  JournalConflictError,
  type CommitGroup,
  type DuplicateLookup,
  type EventPosition,
  type Journal,
  type JournalEvent,
  type SnapshotRecord,
  type StreamRecovery,
} from '../../../core/index.js';
import { ShardlineError } from '../../../protocol/index.js';
import { createLogger, type Logger } from '../logger.js';
import {
  BreakerState,
  CircuitBreaker,
  DEFAULT_BREAKER_OPTIONS,
  type CircuitBreakerOptions,
} from './circuit-breaker.js';
import { MysqlLocation } from './journal-url.js';
import {
  checkSchemaVersion,
  migrateSchema,
  readMeta,
  readSchemaVersion,
} from './mysql-migrations.js';
import { connect, MysqlConnectionPool, withDeadline } from './mysql-pool.js';
import { BulkRowEncoder, bulkRowsProblem, bulkValues } from './mysql-bulk-rows.js';
import { MysqlWriter } from './mysql-writer.js';

/** How a group's events are written. */
export const InsertStrategy = {
  /** `INSERT … VALUES (…), (…), …` through prepared statements (any server). */
  multiRow: 'multi-row',
  /** `batch()` of rows this journal encodes (`mysql-bulk-rows.ts`): MariaDB ≥ 10.2.7 only. */
  batch: 'batch',
} as const;
export type InsertStrategy = (typeof InsertStrategy)[keyof typeof InsertStrategy];

export interface MysqlTlsOptions {
  /** PEM text of the CA bundle to trust (for RDS, its global bundle); null for the system CAs. */
  ca: string | null;
}

/**
 * Everything the journal needs, as plain data (it can cross to a worker thread with
 * `workerData`). Build it with `mysqlJournalOptions`.
 */
export interface MysqlJournalOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Read connections (the writer connection comes on top). */
  poolSize: number;
  /** TLS with certificate verification, or null for a plain connection. */
  tls: MysqlTlsOptions | null;
  /** Apply pending migrations at `open` (else a schema behind this build refuses to start). */
  migrate: boolean;
  /**
   * The largest payload the server accepts (SHARDLINE_MAX_PAYLOAD_BYTES), checked at `open`
   * against `max_allowed_packet`; null skips the check.
   */
  maxPayloadBytes: number | null;
  /** `auto` picks per server at `open`; the others are for benchmarks and tests. */
  insertStrategy: InsertStrategy | 'auto';
  /** TCP connect plus handshake, in ms. */
  connectTimeoutMs: number;
  /** A whole group commit (all statements and COMMIT), in ms. */
  commitTimeoutMs: number;
  /** One read, in ms. */
  readTimeoutMs: number;
  breaker: Pick<CircuitBreakerOptions, 'failureThreshold' | 'backoffBaseMs' | 'backoffMaxMs'>;
  /** pino level of the journal's own logger when it builds one (in a worker thread). */
  logLevel: string;
}

export const MYSQL_DEFAULT_POOL_SIZE = 4;

export const DEFAULT_MYSQL_JOURNAL_OPTIONS = {
  poolSize: MYSQL_DEFAULT_POOL_SIZE,
  tls: null,
  migrate: true,
  maxPayloadBytes: null,
  insertStrategy: 'auto',
  connectTimeoutMs: 1_000,
  commitTimeoutMs: 10_000,
  readTimeoutMs: 5_000,
  breaker: DEFAULT_BREAKER_OPTIONS,
  logLevel: 'info',
} as const satisfies Omit<MysqlJournalOptions, keyof MysqlLocationFields>;

type MysqlLocationFields = Pick<
  MysqlJournalOptions,
  'host' | 'port' | 'user' | 'password' | 'database'
>;

/** Options for `location`, with defaults for everything not overridden. */
export function mysqlJournalOptions(
  location: MysqlLocation,
  overrides: Partial<Omit<MysqlJournalOptions, keyof MysqlLocationFields>> = {},
): MysqlJournalOptions {
  return {
    ...DEFAULT_MYSQL_JOURNAL_OPTIONS,
    host: location.host,
    port: location.port,
    user: location.user,
    password: location.password,
    database: location.database,
    ...overrides,
  };
}

/** Columns of `events`, in the order every INSERT binds them. */
const EVENT_COLUMNS =
  '(shard, `offset`, stream, seq, event_id, type, ts, correlation_id, content_type, payload)';
const EVENT_PLACEHOLDERS = '(?,?,?,?,?,?,?,?,?,?)';
const EVENT_ID_BYTES = 16;
/** Bytes a row costs in a statement beyond its variable-length values (numbers, prefixes). */
const ROW_OVERHEAD_BYTES = 128;
/** Kept free in every packet below `max_allowed_packet` (statement text, headers). */
const PACKET_HEADROOM_BYTES = 64 * 1024;
/**
 * A multi-row statement stops at this many bytes even when `max_allowed_packet` is larger:
 * past a few MiB a bigger statement gains nothing and costs server memory.
 */
const STATEMENT_TARGET_BYTES = 4 * 1024 * 1024;
/**
 * Rows per multi-row statement, at most. A power of two: statements are cut into power-of-two
 * row counts so that only log2(1024) + 1 distinct statements are ever prepared. 10 placeholders
 * a row keeps it far below the protocol's 65,535 placeholders a statement.
 */
const MULTI_ROW_MAX_ROWS = 1024;
/** Streams per recovery read (an OR list of index ranges, well inside the range optimizer's memory). */
const READ_CHUNK_KEYS = 500;
/** Rows per query while `shardOffsets` walks the primary key down. */
const OFFSET_SCAN_CHUNK_ROWS = 10_000;
/** Keys per duplicate lookup statement. */
const FIND_CHUNK_KEYS = 5000;
/**
 * Duplicate lookups: the keys travel as one JSON parameter, become a table (JSON_TABLE, MySQL 8
 * and MariaDB 10.6+), and each joins the unique key (stream, event_id) with one eq_ref lookup,
 * however many keys there are. Each row names the key it answers (`k`). Measured about 1.5-2x
 * an OR list of (stream = ? AND event_id = ?) or a UNION ALL table of placeholders (parsing
 * thousands of placeholders is what costs), and the plan does not depend on the range
 * optimizer's memory limit (past which an OR list becomes a full table scan).
 */
const FIND_EVENTS_SQL = `SELECT q.k, e.seq, e.shard, e.\`offset\`
  FROM JSON_TABLE(?, '$[*]' COLUMNS (
         k INT PATH '$[0]',
         s VARCHAR(200) CHARACTER SET utf8mb4 PATH '$[1]',
         i CHAR(32) CHARACTER SET ascii PATH '$[2]')) AS q
  JOIN events e ON e.stream = CAST(q.s AS BINARY) AND e.event_id = UNHEX(q.i)`;
/** TCP keep-alive on every connection, so that a silently dead peer is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;
/** Used to read `max_allowed_packet` itself; the server's value replaces it at `open`. */
const BOOTSTRAP_MAX_ALLOWED_PACKET_BYTES = 16 * 1024 * 1024;

/**
 * The server refuses writes: 1290 (ER_OPTION_PREVENTS_STATEMENT, `--read-only`, an RDS
 * instance after failover), 1836 (ER_READ_ONLY_MODE), 1792 (read-only transaction).
 */
const READ_ONLY_ERRNOS: ReadonlySet<number> = new Set([1290, 1836, 1792]);
/**
 * Errors caused by one row: duplicate key (1062, 1586), data too long (1406), NULL in a NOT NULL
 * column (1048), incorrect value (1366), out of range (1264), truncated (1292), check
 * constraint (3819 MySQL, 4025 MariaDB).
 */
const ROW_ERRNOS: ReadonlySet<number> = new Set([
  1062, 1586, 1406, 1048, 1366, 1264, 1292, 3819, 4025,
]);
/**
 * A deadlock (1213: InnoDB rolled the whole transaction back) or a lock wait timeout (1205):
 * nothing of the group stays, and the same group may well go through on a second try. Two
 * workers inserting neighbouring keys, while duplicate-key errors take next-key locks (as in a
 * storm of client retries), can deadlock each other.
 */
const TRANSIENT_ERRNOS: ReadonlySet<number> = new Set([1213, 1205]);
/** Tries of one group's transaction on a transient error, within the commit's deadline. */
const TRANSIENT_ATTEMPTS = 4;
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** An upper bound of the bytes a row takes in a statement (UTF-8 is at most 3 bytes a unit). */
function rowBytes(event: JournalEvent): number {
  return (
    ROW_OVERHEAD_BYTES +
    event.payload.byteLength +
    3 * (event.stream.length + event.type.length + (event.correlationId?.length ?? 0))
  );
}

/** A row that cannot be sent at all (bigger than a packet, or a malformed id). */
class BadRowError extends ShardlineError {
  readonly row: number;
  constructor(row: number, reason: string) {
    super('ERR_JOURNAL_ROW', `row ${row} ${reason}`);
    this.name = 'BadRowError';
    this.row = row;
  }
}

/**
 * Why a row cannot even be measured or bound, or null. Strict mode catches the rest (a value
 * too long, a NULL in a NOT NULL column) on the server.
 */
function malformation(event: JournalEvent): string | null {
  // BINARY(16) would silently pad a short id with zero bytes.
  if (!(event.id instanceof Uint8Array) || event.id.byteLength !== EVENT_ID_BYTES) {
    return 'has no 16-byte id';
  }
  if (typeof event.stream !== 'string' || typeof event.type !== 'string') {
    return 'has no stream or type';
  }
  if (!(event.payload instanceof Uint8Array)) return 'has no payload bytes';
  // Bound as they are, never rounded: a bulk row writes them as 64-bit integers.
  if (
    !Number.isSafeInteger(event.shard) ||
    !Number.isSafeInteger(event.offset) ||
    !Number.isSafeInteger(event.seq) ||
    !Number.isSafeInteger(event.timestamp) ||
    !Number.isSafeInteger(event.contentType)
  ) {
    return 'has a shard, offset, seq, timestamp or content type that is not a safe integer';
  }
  return null;
}

function isRowError(error: unknown): boolean {
  return error instanceof BadRowError || ROW_ERRNOS.has((error as SqlError).errno);
}

/**
 * The insert strategy for a server: the one asked for, or with `auto` the bulk command wherever
 * the server (MariaDB 10.2.7 or later) and this build's driver (`bulkRowsProblem`) allow it, else
 * multi-row INSERTs. Asking for `batch` where it cannot run is a configuration error.
 */
export function chooseInsertStrategy(
  requested: InsertStrategy | 'auto',
  bulkServer: boolean,
  driverProblem: string | null = bulkRowsProblem,
): InsertStrategy {
  const problem = bulkServer ? driverProblem : 'the server is not MariaDB 10.2.7 or later';
  if (requested === InsertStrategy.batch && problem !== null) {
    throw new ShardlineError('ERR_CONFIG', `the batch insert strategy cannot run: ${problem}`, {
      fatal: true,
    });
  }
  if (requested !== 'auto') return requested;
  return problem === null ? InsertStrategy.batch : InsertStrategy.multiRow;
}

/** An error after which nothing of the group stays, and the group may be tried again. */
function isRetryable(error: unknown): boolean {
  return isRowError(error) || TRANSIENT_ERRNOS.has((error as SqlError).errno);
}

function isReadOnlyError(error: unknown): boolean {
  return READ_ONLY_ERRNOS.has((error as SqlError).errno);
}

/**
 * Rolls back, or destroys the connection when that fails: a connection left inside a
 * half-written transaction must never be reused, since the next START TRANSACTION would
 * commit it implicitly.
 */
async function rollback(conn: Connection): Promise<void> {
  if (!conn.isValid()) return;
  try {
    await conn.rollback();
  } catch {
    conn.destroy();
  }
}

/** Short, credential-free text for an error of the driver or the network. */
function describe(error: unknown): string {
  const e = error as Partial<SqlError>;
  const text = e.sqlMessage ?? e.message ?? String(error);
  return e.code ? `${e.code}: ${text}` : text;
}

interface SnapshotRow {
  stream: Buffer;
  seq: number;
  state: Buffer;
}

interface RecoveryRow {
  stream: Buffer;
  seq: number;
  type: Buffer;
  ts: number;
  event_id: Buffer;
  shard: number;
  offset: number;
}

interface EventRow {
  shard: number;
  offset: number;
  stream: Buffer;
  seq: number;
  event_id: Buffer;
  type: Buffer;
  ts: number;
  correlation_id: Buffer | null;
  content_type: number;
  payload: Buffer;
}

/** What `open` learnt about the server. */
export interface MysqlServerInfo {
  version: string;
  mariadb: boolean;
  maxAllowedPacketBytes: number;
  insertStrategy: InsertStrategy;
}

/** Counters for metrics and tests. */
export interface MysqlJournalStats {
  connectionsOpened: number;
  /** Connections destroyed: lost, timed out or read-only. */
  connectionsDestroyed: number;
  /** Times the circuit breaker opened. */
  breakerOpened: number;
  /** Groups that went through the search for bad rows. */
  rowSearches: number;
  /** Group transactions tried again after a deadlock or a lock wait timeout. */
  transientRetries: number;
  /** Groups whose COMMIT followed their INSERT before its answer (see `#canPipeline`). */
  pipelinedGroups: number;
}

export class MysqlJournal implements Journal {
  readonly kind = 'mysql';
  /** The database, printable: `mysql://user:***@host:port/db`. */
  readonly location: string;
  readonly #options: MysqlJournalOptions;
  readonly #log: Logger;
  readonly #connection: ConnectionConfig;
  readonly #breaker: CircuitBreaker;
  readonly #writer: MysqlWriter;
  readonly #readers: MysqlConnectionPool;
  #server: MysqlServerInfo | null = null;
  /** Largest statement, in bytes, below `max_allowed_packet`. */
  #packetLimitBytes = BOOTSTRAP_MAX_ALLOWED_PACKET_BYTES - PACKET_HEADROOM_BYTES;
  #statementTargetBytes = STATEMENT_TARGET_BYTES;
  #committing = false;
  /** Where the group being committed splits into statements (reused, not reallocated). */
  readonly #statementEnds: number[] = [];
  #shards = 0;
  #closed = false;
  #rowSearches = 0;
  #transientRetries = 0;
  #pipelinedGroups = 0;
  readonly #multiRowSql = new Map<number, string>();
  readonly #bulkRows = new BulkRowEncoder();

  /**
   * `writer`: the writer connection of another journal of this thread to share (see
   * `laneJournals`), or none for a writer connection of its own.
   */
  constructor(
    options: MysqlJournalOptions,
    log: Logger = createLogger(options.logLevel),
    writer?: MysqlWriter,
  ) {
    this.#options = options;
    this.location = new MysqlLocation(
      options.host,
      options.port,
      options.user,
      options.password,
      options.database,
    ).toString();
    this.#log = log.child({ journal: 'mysql', location: this.location });
    this.#connection = {
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      database: options.database,
      connectTimeout: options.connectTimeoutMs,
      keepAliveDelay: KEEPALIVE_DELAY_MS,
      maxAllowedPacket: BOOTSTRAP_MAX_ALLOWED_PACKET_BYTES,
      charset: 'utf8mb4',
      // Plain numbers in the port: seqs and offsets stay far below 2^53, and checkNumberRange
      // turns a value that is not exact into an error instead of a silent rounding.
      bigIntAsNumber: true,
      insertIdAsNumber: true,
      decimalAsNumber: true,
      checkNumberRange: true,
      // A known session whatever the server's defaults: strict mode (a value too long is an
      // error, never silently truncated; no ANSI_QUOTES or NO_BACKSLASH_ESCAPES surprises), and
      // READ COMMITTED so that inserts of different workers take no gap locks on each other.
      initSql: [
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
        'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
      ],
      ...(options.tls === null
        ? // MySQL 8's caching_sha2_password needs the server's RSA key on a plain connection
          // once its cache is cold (after a restart). Over TLS it is never needed.
          { allowPublicKeyRetrieval: true }
        : {
            ssl:
              options.tls.ca === null
                ? { rejectUnauthorized: true }
                : { ca: options.tls.ca, rejectUnauthorized: true },
          }),
    };
    this.#writer = writer ?? new MysqlWriter(this.#connection);
    this.#writer.join();
    this.#readers = new MysqlConnectionPool(this.#connection, options.poolSize);
    this.#breaker = new CircuitBreaker({
      ...options.breaker,
      probe: () => this.#probe(),
      onStateChange: (state, cause) => this.#onBreakerChange(state, cause),
    });
  }

  /** The writer connection, for another lane's journal to share (`laneJournals`). */
  get writer(): MysqlWriter {
    return this.#writer;
  }

  /** What `open` learnt about the server, or null before it. */
  get server(): MysqlServerInfo | null {
    return this.#server;
  }

  /** Shared with the other lanes of this thread, as their writer connection is. */
  writerBusyMs(): number {
    return this.#writer.busyMs();
  }

  /** The writer connection's counts include those of the lanes sharing it. */
  get stats(): MysqlJournalStats {
    const writer = this.#writer.pool.stats;
    return {
      connectionsOpened: writer.opened + this.#readers.stats.opened,
      connectionsDestroyed: writer.destroyed + this.#readers.stats.destroyed,
      breakerOpened: this.#breaker.opened,
      rowSearches: this.#rowSearches,
      transientRetries: this.#transientRetries,
      pipelinedGroups: this.#pipelinedGroups,
    };
  }

  /**
   * Connects, reads the server's version and `max_allowed_packet`, applies or checks the
   * migrations, and records or checks the shard count.
   */
  async open(shards: number): Promise<void> {
    this.#shards = shards;
    const conn = await this.#connectOnce('open');
    try {
      await this.#inspectServer(conn);
      if (this.#options.migrate) {
        const { from, to } = await migrateSchema(conn, this.#options.database, this.location);
        if (from !== to) this.#log.info({ from, to }, 'journal schema migrated');
      } else {
        checkSchemaVersion(await readSchemaVersion(conn), this.location);
      }
      await conn.query(
        `INSERT INTO meta (name, value) VALUES ('shards', ?)
         ON DUPLICATE KEY UPDATE name = name`,
        [String(shards)],
      );
      const stored = await readMeta(conn, 'shards');
      if (Number(stored) !== shards) {
        throw new ShardlineError(
          'ERR_JOURNAL_SHARDS',
          `SHARDLINE_SHARDS is ${shards} but the journal at ${this.location} was created with ` +
            `${stored}; the shard count is fixed for the life of a journal`,
          { fatal: true },
        );
      }
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  /**
   * Applies pending migrations and returns the versions before and after (for
   * `shardline migrate`). Does not touch the shard count.
   */
  async migrate(): Promise<{ from: number; to: number }> {
    const conn = await this.#connectOnce('migrate');
    try {
      return await migrateSchema(conn, this.#options.database, this.location);
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  async #connectOnce(what: string): Promise<Connection> {
    try {
      return await connect(this.#connection);
    } catch (cause) {
      throw new ShardlineError(
        'ERR_JOURNAL_UNAVAILABLE',
        `${what}: cannot connect to ${this.location}: ${describe(cause)}`,
        { cause, fatal: true },
      );
    }
  }

  async #inspectServer(conn: Connection): Promise<void> {
    const info = conn.info!;
    const mariadbServer = info.isMariaDB();
    const [row] = await conn.query<{ packet: number }[]>('SELECT @@max_allowed_packet AS packet');
    const maxAllowedPacketBytes = Number(row!.packet);
    const bulk = mariadbServer && info.hasMinVersion(10, 2, 7);
    const insertStrategy = chooseInsertStrategy(this.#options.insertStrategy, bulk);
    if (bulk && bulkRowsProblem !== null) {
      this.#log.warn({ reason: bulkRowsProblem }, 'journal writes multi-row INSERTs, not bulk');
    }
    this.#server = {
      version: info.serverVersion.raw,
      mariadb: mariadbServer,
      maxAllowedPacketBytes,
      insertStrategy,
    };
    this.#packetLimitBytes = maxAllowedPacketBytes - PACKET_HEADROOM_BYTES;
    this.#statementTargetBytes = Math.min(STATEMENT_TARGET_BYTES, this.#packetLimitBytes);
    // The driver sizes bulk packets and accepts results by this; tell it the truth. (The
    // pools read this same object for every connection they open from now on.)
    this.#connection.maxAllowedPacket = maxAllowedPacketBytes;
    const maxPayload = this.#options.maxPayloadBytes;
    if (
      maxPayload !== null &&
      maxPayload + ROW_OVERHEAD_BYTES + 3 * 1455 > this.#packetLimitBytes
    ) {
      throw new ShardlineError(
        'ERR_CONFIG',
        `SHARDLINE_MAX_PAYLOAD_BYTES is ${maxPayload}, but ${this.location} has ` +
          `max_allowed_packet = ${maxAllowedPacketBytes}, too small for such an event; raise ` +
          'max_allowed_packet on the server or lower SHARDLINE_MAX_PAYLOAD_BYTES',
        { fatal: true },
      );
    }
    this.#log.info(
      { server: this.#server.version, maxAllowedPacketBytes, insertStrategy },
      'journal connected',
    );
  }

  isAvailable(): boolean {
    return !this.#closed && this.#breaker.isClosed();
  }

  /** Throws unless the journal may reach the server now. */
  #checkAvailable(what: string): void {
    if (this.#closed) throw new ShardlineError('ERR_JOURNAL_CLOSED', `${what}: journal is closed`);
    if (!this.#breaker.isClosed()) {
      throw new ShardlineError(
        'ERR_JOURNAL_UNAVAILABLE',
        `${what}: ${this.location} is unreachable (circuit breaker ${this.#breaker.state})`,
      );
    }
  }

  /**
   * Runs `work` on a connection of `pool` under a deadline, and sorts its failure: a lost or
   * timed-out connection is destroyed and counts against the breaker; a read-only server's
   * connection is destroyed too; any other error is an answer from a healthy server.
   */
  async #withConnection<T>(
    pool: MysqlConnectionPool,
    timeoutMs: number,
    what: string,
    work: (conn: Connection, handOver: () => void) => Promise<T>,
  ): Promise<T> {
    this.#checkAvailable(what);
    let conn: Connection;
    try {
      conn = await pool.acquire(timeoutMs);
    } catch (cause) {
      if (cause instanceof ShardlineError) throw cause;
      this.#breaker.recordFailure(cause);
      throw new ShardlineError(
        'ERR_JOURNAL_UNAVAILABLE',
        `${what}: cannot connect to ${this.location}: ${describe(cause)}`,
        { cause },
      );
    }
    // `work` may give the connection back to the pool before it settles (a COMMIT sent, its
    // answer awaited: see MysqlWriter), so that the next user's commands follow on the wire.
    // From then on the pool owns it, and a failure here discards it through the pool.
    let handedOver = false;
    const handOver = (): void => {
      if (handedOver) return;
      handedOver = true;
      pool.release(conn);
    };
    const drop = (): void => {
      if (handedOver) pool.discard(conn);
      else pool.destroy(conn);
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.destroy();
    }, timeoutMs);
    try {
      const result = await work(conn, handOver);
      this.#breaker.recordSuccess();
      handOver();
      return result;
    } catch (cause) {
      if (timedOut) {
        drop();
        this.#breaker.recordFailure(cause);
        throw new ShardlineError(
          'ERR_JOURNAL_TIMEOUT',
          `${what}: no answer from ${this.location} within ${timeoutMs} ms; connection dropped`,
          { cause },
        );
      }
      if (isReadOnlyError(cause)) {
        // After a failover the old primary's connections may stay read-only for ever: drop
        // this one, and let the breaker probe until the endpoint is writable again.
        drop();
        this.#log.warn(
          { errno: (cause as SqlError).errno },
          'server is read-only; connection dropped',
        );
        this.#breaker.recordFailure(cause);
        throw new ShardlineError(
          'ERR_JOURNAL_UNAVAILABLE',
          `${what}: ${this.location} is read-only (${describe(cause)}); connection dropped`,
          { cause },
        );
      }
      if (!conn.isValid() || NETWORK_ERROR_CODES.has((cause as SqlError).code ?? '')) {
        drop();
        this.#breaker.recordFailure(cause);
        throw new ShardlineError(
          'ERR_JOURNAL_UNAVAILABLE',
          `${what}: lost the connection to ${this.location}: ${describe(cause)}`,
          { cause },
        );
      }
      this.#breaker.recordSuccess();
      handOver();
      if (cause instanceof ShardlineError) throw cause;
      throw new ShardlineError('ERR_JOURNAL_QUERY', `${what} failed: ${describe(cause)}`, {
        cause,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #read<T>(what: string, work: (conn: Connection) => Promise<T>): Promise<T> {
    return this.#withConnection(this.#readers, this.#options.readTimeoutMs, what, work);
  }

  shardOffsets(): Promise<Map<number, number>> {
    return this.#read('shardOffsets', async (conn) => {
      // Walks the primary key (offset, shard) down from the end, a chunk at a time: the first
      // row seen for a shard holds its top offset. With every shard written that stops after
      // a few thousand rows; only a journal where some shard has no events reads it all.
      const tops = new Map<number, number>();
      let after: [number, number] | null = null;
      // (Before open() the shard count is unknown, 0: then the walk reads to the end.)
      while (this.#shards === 0 || tops.size < this.#shards) {
        const rows: { shard: number; offset: number }[] = await conn.query(
          'SELECT shard, `offset` FROM events' +
            (after === null ? '' : ' WHERE `offset` <= ? AND (`offset` < ? OR shard < ?)') +
            ' ORDER BY `offset` DESC, shard DESC LIMIT ' +
            String(OFFSET_SCAN_CHUNK_ROWS),
          after === null ? [] : [after[0], after[0], after[1]],
        );
        for (const row of rows) if (!tops.has(row.shard)) tops.set(row.shard, Number(row.offset));
        if (rows.length < OFFSET_SCAN_CHUNK_ROWS) break;
        const last = rows[rows.length - 1]!;
        after = [Number(last.offset), last.shard];
      }
      return tops;
    });
  }

  loadStreams(streams: readonly string[], recentIds: number): Promise<StreamRecovery[]> {
    return this.#read('loadStreams', async (conn) => {
      const out: StreamRecovery[] = [];
      for (let start = 0; start < streams.length; start += READ_CHUNK_KEYS) {
        const chunk = streams.slice(start, start + READ_CHUNK_KEYS);
        out.push(...(await this.#loadChunk(conn, chunk, recentIds)));
      }
      return out;
    });
  }

  async #loadChunk(
    conn: Connection,
    streams: readonly string[],
    recentIds: number,
  ): Promise<StreamRecovery[]> {
    const snapshots = new Map<string, SnapshotRecord>();
    const snapshotRows = await conn.query<SnapshotRow[]>(
      `SELECT stream, seq, state FROM snapshots WHERE stream IN (${streams.map(() => '?').join(',')})`,
      streams,
    );
    for (const r of snapshotRows) {
      const stream = r.stream.toString('utf8');
      snapshots.set(stream, { stream, seq: r.seq, state: r.state.toString('utf8') });
    }
    // One read per chunk serves both the replay (after the snapshot) and the recent ids (the
    // last `recentIds` events, which may precede the snapshot).
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    for (const stream of streams) {
      conditions.push('(stream = ? AND seq > ?)');
      params.push(stream, Math.max(0, (snapshots.get(stream)?.seq ?? 0) - recentIds));
    }
    const rows = await conn.query<RecoveryRow[]>(
      `SELECT stream, seq, type, ts, event_id, shard, \`offset\` FROM events
       WHERE ${conditions.join(' OR ')} ORDER BY stream, seq`,
      params,
    );
    const byStream = new Map<string, RecoveryRow[]>();
    for (const r of rows) {
      const stream = r.stream.toString('utf8');
      const list = byStream.get(stream);
      if (list === undefined) byStream.set(stream, [r]);
      else list.push(r);
    }
    return streams.map((stream) => {
      const snapshot = snapshots.get(stream) ?? null;
      const fromSeq = snapshot?.seq ?? 0;
      const list = byStream.get(stream) ?? [];
      const replay: StreamRecovery['replay'] = [];
      for (const r of list) {
        if (r.seq > fromSeq)
          replay.push({ seq: r.seq, type: r.type.toString('utf8'), timestamp: r.ts });
      }
      const recent = list
        .slice(Math.max(0, list.length - recentIds))
        .map((r) => ({ id: r.event_id, seq: r.seq, shard: r.shard, offset: r.offset }));
      return { stream, snapshot, replay, recent: recentIds === 0 ? [] : recent };
    });
  }

  findEvents(keys: readonly DuplicateLookup[]): Promise<(EventPosition | null)[]> {
    return this.#read('findEvents', async (conn) => {
      const out = new Array<EventPosition | null>(keys.length).fill(null);
      let start = 0;
      while (start < keys.length) {
        const parts: string[] = [];
        let bytes = 0;
        let end = start;
        while (
          end < keys.length &&
          end - start < FIND_CHUNK_KEYS &&
          bytes < this.#statementTargetBytes
        ) {
          const key = keys[end]!;
          const part = JSON.stringify([end, key.stream, bufferView(key.id).toString('hex')]);
          parts.push(part);
          // UTF-16 units to UTF-8 bytes: at most 3 each.
          bytes += 3 * part.length;
          end++;
        }
        const rows = await conn.query<(EventPosition & { k: number })[]>(FIND_EVENTS_SQL, [
          `[${parts.join(',')}]`,
        ]);
        for (const r of rows) out[r.k] = { seq: r.seq, shard: r.shard, offset: r.offset };
        start = end;
      }
      return out;
    });
  }

  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    return this.#read('readStream', async (conn) => {
      const rows = await conn.execute<EventRow[]>(
        `SELECT shard, \`offset\`, stream, seq, event_id, type, ts, correlation_id, content_type,
                payload
         FROM events WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?`,
        [stream, fromSeq, limit],
      );
      return rows.map((r) => ({
        shard: r.shard,
        offset: r.offset,
        stream: r.stream.toString('utf8'),
        seq: r.seq,
        id: r.event_id,
        type: r.type.toString('utf8'),
        timestamp: r.ts,
        correlationId: r.correlation_id === null ? null : r.correlation_id.toString('utf8'),
        contentType: r.content_type,
        payload: r.payload,
      }));
    });
  }

  async commit(group: CommitGroup): Promise<void> {
    if (group.events.length === 0 && group.snapshots.length === 0) return;
    if (this.#committing) {
      // The port promises one commit in flight; a second one is a bug in the caller.
      throw new ShardlineError('ERR_JOURNAL_BUSY', 'commit called while a commit is in flight');
    }
    this.#committing = true;
    try {
      for (let attempt = 1; ; attempt++) {
        const failed = await this.#withWriter((conn, handOver) =>
          this.#commitOn(conn, group, handOver),
        );
        if (failed === null) return;
        // Nothing of the group was committed.
        const errno = (failed as SqlError).errno;
        if (TRANSIENT_ERRNOS.has(errno) && attempt < TRANSIENT_ATTEMPTS) {
          this.#transientRetries++;
          this.#log.warn({ errno, attempt }, 'group commit hit a lock conflict; trying it again');
          continue;
        }
        if (!isRowError(failed)) {
          throw new ShardlineError('ERR_JOURNAL_QUERY', `commit failed: ${describe(failed)}`, {
            cause: failed,
          });
        }
        const bad = await this.#withWriter((conn) => this.#findBadRows(conn, group.events));
        if (bad.length === 0) {
          // Not an event: a snapshot row failed.
          throw new ShardlineError('ERR_JOURNAL_COMMIT', `commit failed: ${describe(failed)}`, {
            cause: failed,
          });
        }
        throw new JournalConflictError(bad, failed);
      }
    } finally {
      this.#committing = false;
    }
  }

  #withWriter<T>(work: (conn: Connection, handOver: () => void) => Promise<T>): Promise<T> {
    return this.#withConnection(this.#writer.pool, this.#options.commitTimeoutMs, 'commit', work);
  }

  /**
   * Whether the group's COMMIT may follow its INSERT before the INSERT answered. Only when that
   * INSERT is one statement on the server and nothing else is in the transaction: a statement
   * that fails is undone whole, so that COMMIT then commits nothing. Hence:
   * - one `batch()` and no snapshots (its rows' column types are fixed, so it is one bulk
   *   command);
   * - a connection whose driver already holds the statement prepared: it then sends it at once,
   *   ahead of the COMMIT, where a first use would wait for the prepare's answer.
   */
  #canPipeline(conn: Connection, group: CommitGroup, ends: readonly number[]): boolean {
    if (ends.length !== 1 || group.snapshots.length !== 0) return false;
    if (this.#server?.insertStrategy !== InsertStrategy.batch) return false;
    return this.#writer.isPrepared(conn);
  }

  /**
   * One try of the group's transaction. Resolves null once COMMIT answered, or with the error
   * of a statement that failed on a row or on a lock conflict, when nothing of the group was
   * committed; throws anything else (a lost connection, say).
   */
  async #commitOn(
    conn: Connection,
    group: CommitGroup,
    handOver: () => void,
  ): Promise<Error | null> {
    const { events, snapshots } = group;
    const ends = this.#statementEnds;
    try {
      this.#planStatements(events, 0, events.length, ends);
    } catch (error) {
      if (error instanceof BadRowError) return error;
      throw error;
    }
    const pipelined = this.#canPipeline(conn, group, ends);
    // BEGIN is not awaited on its own: the driver pipelines it with the first INSERT, saving a
    // round trip per group. The server runs them in order; a BEGIN that fails fails the INSERT.
    const inserted = Promise.all([
      this.#writer.track(conn.beginTransaction()),
      this.#sendStatements(conn, events, 0, ends),
    ]);
    if (pipelined) {
      this.#pipelinedGroups++;
      // Awaited below, after COMMIT is sent; until then a rejection must not count as unhandled.
      inserted.catch(() => undefined);
    } else {
      try {
        await inserted;
        this.#writer.statementPrepared(conn);
        await this.#upsertSnapshots(conn, snapshots);
      } catch (error) {
        await rollback(conn);
        if (isRetryable(error) && conn.isValid()) return error as Error;
        throw error;
      }
    }
    // One COMMIT in flight per connection: another lane's, sent before, must have answered.
    await this.#writer.previousCommit(conn);
    const committed = this.#writer.track(conn.commit());
    this.#writer.commitSent(conn, committed);
    // The next lane's BEGIN may now follow this COMMIT.
    handOver();
    if (!pipelined) {
      await committed;
      return null;
    }
    const [insert, commit] = await Promise.allSettled([inserted, committed]);
    if (commit.status === 'rejected') throw commit.reason;
    if (insert.status === 'fulfilled') return null;
    if (isRetryable(insert.reason)) return insert.reason as Error;
    throw insert.reason;
  }

  /**
   * Finds every row that cannot be inserted, by inserting halves under a savepoint: a half that
   * fails is rolled back to the savepoint and split; a half that succeeds stays, so that a later
   * row clashing with an earlier row of the same group is the one reported. Nothing is
   * committed: the transaction is rolled back at the end.
   */
  async #findBadRows(conn: Connection, events: readonly JournalEvent[]): Promise<number[]> {
    this.#rowSearches++;
    const bad: number[] = [];
    await conn.beginTransaction();
    try {
      const ranges: [number, number][] = [[0, events.length]];
      // Depth first, left half first: rows are tried in group order.
      while (ranges.length > 0) {
        const [lo, hi] = ranges.pop()!;
        await conn.query('SAVEPOINT shardline_rows');
        try {
          await this.#insertEvents(conn, events, lo, hi);
        } catch (error) {
          if (!isRowError(error)) throw error;
          await conn.query('ROLLBACK TO SAVEPOINT shardline_rows');
          if (hi - lo === 1) bad.push(lo);
          else {
            const mid = lo + Math.ceil((hi - lo) / 2);
            ranges.push([mid, hi], [lo, mid]);
          }
        }
      }
    } finally {
      await rollback(conn);
    }
    return bad;
  }

  /** Inserts `events[lo, hi)` in statements below the packet limit, one after another. */
  async #insertEvents(
    conn: Connection,
    events: readonly JournalEvent[],
    lo: number,
    hi: number,
  ): Promise<void> {
    const ends: number[] = [];
    this.#planStatements(events, lo, hi, ends);
    await this.#sendStatements(conn, events, lo, ends);
  }

  /**
   * Splits `events[lo, hi)` into statements below the packet limit: `ends` receives each
   * statement's end index. Throws BadRowError for a row that cannot be sent at all.
   */
  #planStatements(events: readonly JournalEvent[], lo: number, hi: number, ends: number[]): void {
    ends.length = 0;
    const multiRow = this.#server?.insertStrategy !== InsertStrategy.batch;
    const maxRows = multiRow ? MULTI_ROW_MAX_ROWS : Number.POSITIVE_INFINITY;
    let start = lo;
    while (start < hi) {
      let end = start;
      let bytes = 0;
      while (end < hi && end - start < maxRows) {
        const event = events[end]!;
        const problem = malformation(event);
        if (problem !== null) throw new BadRowError(end, problem);
        const size = rowBytes(event);
        if (size > this.#packetLimitBytes) {
          throw new BadRowError(
            end,
            `needs about ${size} bytes, more than max_allowed_packet allows (${this.#packetLimitBytes})`,
          );
        }
        if (end > start && bytes + size > this.#statementTargetBytes) break;
        bytes += size;
        end++;
      }
      // Power-of-two row counts: a handful of prepared statements serve every group size.
      if (multiRow) end = start + 2 ** Math.floor(Math.log2(end - start));
      ends.push(end);
      start = end;
    }
  }

  /**
   * Sends the statements `#planStatements` planned from `start`. The first is handed to the
   * driver before this returns its promise; each next one once the one before answered.
   */
  async #sendStatements(
    conn: Connection,
    events: readonly JournalEvent[],
    start: number,
    ends: readonly number[],
  ): Promise<void> {
    const multiRow = this.#server?.insertStrategy !== InsertStrategy.batch;
    const count = ends.length;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      if (multiRow) {
        await this.#writer.track(
          conn.execute(this.#multiRowStatement(end - start), this.#rowParams(events, start, end)),
        );
      } else {
        await this.#writer.track(
          conn.batch(
            `INSERT INTO events ${EVENT_COLUMNS} VALUES ${EVENT_PLACEHOLDERS}`,
            bulkValues(this.#bulkRows.encode(events, start, end)),
          ),
        );
      }
      start = end;
    }
  }

  #multiRowStatement(rows: number): string {
    let sql = this.#multiRowSql.get(rows);
    if (sql === undefined) {
      sql = `INSERT INTO events ${EVENT_COLUMNS} VALUES ${new Array<string>(rows).fill(EVENT_PLACEHOLDERS).join(',')}`;
      this.#multiRowSql.set(rows, sql);
    }
    return sql;
  }

  #rowParams(events: readonly JournalEvent[], start: number, end: number): unknown[] {
    const params = new Array<unknown>((end - start) * EVENT_ROW_VALUES);
    let p = 0;
    for (let i = start; i < end; i++, p += EVENT_ROW_VALUES) eventRowValues(events[i]!, params, p);
    return params;
  }

  async #upsertSnapshots(conn: Connection, snapshots: readonly SnapshotRecord[]): Promise<void> {
    if (snapshots.length === 0) return;
    const now = Date.now();
    let start = 0;
    while (start < snapshots.length) {
      let end = start;
      let bytes = 0;
      while (end < snapshots.length && end - start < MULTI_ROW_MAX_ROWS) {
        const size =
          ROW_OVERHEAD_BYTES + 3 * (snapshots[end]!.state.length + snapshots[end]!.stream.length);
        if (end > start && bytes + size > this.#statementTargetBytes) break;
        bytes += size;
        end++;
      }
      const params: unknown[] = [];
      for (let i = start; i < end; i++) {
        const s = snapshots[i]!;
        params.push(s.stream, s.seq, s.state, now);
      }
      // A snapshot only moves forward. The assignments run left to right and `seq` is
      // compared before it is overwritten, so it comes last. (VALUES() is deprecated on
      // MySQL 8.0.20+ but is the only form both servers accept.)
      await this.#writer.track(
        conn.query(
          `INSERT INTO snapshots (stream, seq, state, created_at)
           VALUES ${new Array<string>(end - start).fill('(?,?,?,?)').join(',')}
           ON DUPLICATE KEY UPDATE
             state = IF(VALUES(seq) > seq, VALUES(state), state),
             created_at = IF(VALUES(seq) > seq, VALUES(created_at), created_at),
             seq = GREATEST(seq, VALUES(seq))`,
          params,
        ),
      );
      start = end;
    }
  }

  /** Half-open probe: a fresh connection must answer and the server must take writes. */
  async #probe(): Promise<void> {
    const conn = await connect(this.#connection);
    try {
      const [row] = await withDeadline(
        conn,
        conn.query<{ readOnly: number }[]>('SELECT @@global.read_only AS readOnly'),
        this.#options.readTimeoutMs,
      );
      if (Number(row?.readOnly) !== 0) {
        throw new ShardlineError('ERR_JOURNAL_UNAVAILABLE', `${this.location} is read-only`);
      }
    } finally {
      conn.destroy();
    }
  }

  #onBreakerChange(state: BreakerState, cause: unknown): void {
    if (state === BreakerState.open && cause !== null) {
      this.#log.warn(
        { state, reason: describe(cause) },
        'journal unavailable: circuit breaker open',
      );
      // Every idle connection predates the outage; none is worth a round trip to find out.
      this.#writer.pool.destroyIdle();
      this.#readers.destroyIdle();
    } else if (state === BreakerState.closed) {
      this.#log.info({ state }, 'journal reachable again: circuit breaker closed');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#breaker.dispose();
    await Promise.all([this.#writer.leave(), this.#readers.end()]);
  }
}

/**
 * The journals of one thread's commit lanes: every call makes one, and all of them write through
 * the first one's connection (see `MysqlWriter`). A shard worker imports this by module path
 * (see core's `laneJournals`).
 */
export function laneJournals(
  options: MysqlJournalOptions,
  context: { log?: Logger } = {},
): () => MysqlJournal {
  let first: MysqlJournal | null = null;
  return () => {
    if (first === null) {
      first = new MysqlJournal(options, context.log);
      return first;
    }
    return new MysqlJournal(options, context.log, first.writer);
  };
}
