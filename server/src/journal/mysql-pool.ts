/**
 * A small connection pool over `mariadb.createConnection`.
 *
 * Why not the driver's own pool: while the server is down, its `getConnection()` keeps retrying
 * in the background and only rejects after `acquireTimeout` (10 s by default), so every request
 * would hang for that long. Here a connect that fails rejects at once, which is what lets the
 * circuit breaker open within milliseconds; the breaker, not the pool, does the retrying.
 */
import mariadb, { type Connection, type ConnectionConfig } from 'mariadb';
import { ShardlineError } from '../../../protocol/index.js';

/** An idle connection older than this is pinged before use (the server may have dropped it). */
const IDLE_VALIDATE_MS = 5_000;
/** How long that ping may take before the connection is replaced. */
const PING_TIMEOUT_MS = 1_000;
/** How long a graceful `end()` of a connection may take before it is destroyed. */
const END_TIMEOUT_MS = 1_000;

/**
 * Settles like `operation`, but destroys `conn` once `timeoutMs` have passed without an answer
 * (which makes `operation` reject): nothing waits on a dead peer for longer than that.
 */
export async function withDeadline<T>(
  conn: Connection,
  operation: Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const timer = setTimeout(() => conn.destroy(), timeoutMs);
  try {
    return await operation;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `mariadb.createConnection`, plus a listener for the errors a connection emits between
 * commands (the server closing an idle connection): without one they would crash the process.
 * Such a connection turns invalid and is replaced at its next use.
 */
export async function connect(config: ConnectionConfig): Promise<Connection> {
  const conn = await mariadb.createConnection(config);
  conn.on('error', () => undefined);
  return conn;
}

interface IdleConnection {
  conn: Connection;
  sinceMs: number;
}

interface Waiter {
  wake: () => void;
}

/** Counters for metrics and tests. */
export interface PoolStats {
  /** Connections opened since the pool was created. */
  opened: number;
  /** Connections destroyed because they failed or were unusable (read-only, timed out). */
  destroyed: number;
}

export class MysqlConnectionPool {
  readonly #config: ConnectionConfig;
  readonly #size: number;
  readonly #idle: IdleConnection[] = [];
  readonly #waiters: Waiter[] = [];
  /** Connections that exist: idle, checked out, or being opened. */
  #open = 0;
  #closed = false;
  readonly stats: PoolStats = { opened: 0, destroyed: 0 };

  /** `size` is the most connections this pool opens at once. */
  constructor(config: ConnectionConfig, size: number) {
    this.#config = config;
    this.#size = size;
  }

  /** Connections currently open (idle or in use). */
  get openConnections(): number {
    return this.#open;
  }

  /**
   * A connection for the caller's exclusive use until `release` or `destroy`. Rejects at once
   * when a new connection cannot be made; waits at most `waitMs` for one to be released when
   * all `size` are in use.
   */
  async acquire(waitMs: number): Promise<Connection> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.#closed) throw new ShardlineError('ERR_JOURNAL_CLOSED', 'the journal is closed');
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        if (!idle.conn.isValid()) {
          this.destroy(idle.conn);
          continue;
        }
        if (Date.now() - idle.sinceMs > IDLE_VALIDATE_MS) {
          try {
            await withDeadline(idle.conn, idle.conn.ping(), PING_TIMEOUT_MS);
          } catch {
            this.destroy(idle.conn);
            continue;
          }
        }
        return idle.conn;
      }
      if (this.#open < this.#size) {
        this.#open++;
        try {
          const conn = await connect(this.#config);
          this.stats.opened++;
          if (this.#closed) {
            conn.destroy();
            this.#open--;
            continue;
          }
          return conn;
        } catch (error) {
          this.#open--;
          this.#wakeOne();
          throw error;
        }
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        throw new ShardlineError(
          'ERR_JOURNAL_BUSY',
          `all ${this.#size} journal connections stayed busy for ${waitMs} ms`,
        );
      }
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          wake: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index !== -1) this.#waiters.splice(index, 1);
          resolve();
        }, remainingMs);
        this.#waiters.push(waiter);
      });
    }
  }

  /** Returns a healthy connection for reuse. */
  release(conn: Connection): void {
    if (this.#closed || !conn.isValid()) {
      this.destroy(conn);
      return;
    }
    this.#idle.push({ conn, sinceMs: Date.now() });
    this.#wakeOne();
  }

  /**
   * Closes a connection that must not be reused (lost, timed out, read-only after a failover)
   * and frees its slot.
   */
  destroy(conn: Connection): void {
    this.#open--;
    this.stats.destroyed++;
    conn.destroy();
    this.#wakeOne();
  }

  /**
   * Destroys a connection already given back with `release` (a writer hands its connection
   * over before its last answer). Idle, it goes at once; in use again, it fails its new user,
   * who frees its slot.
   */
  discard(conn: Connection): void {
    const index = this.#idle.findIndex((idle) => idle.conn === conn);
    if (index === -1) {
      conn.destroy();
      return;
    }
    this.#idle.splice(index, 1);
    this.destroy(conn);
  }

  /** Destroys every idle connection (after an outage they are all suspect). */
  destroyIdle(): void {
    for (const idle of this.#idle.splice(0)) this.destroy(idle.conn);
  }

  #wakeOne(): void {
    this.#waiters.shift()?.wake();
  }

  /** Closes idle connections gracefully; connections in use are destroyed when released. */
  async end(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.wake();
    const idle = this.#idle.splice(0);
    await Promise.all(
      idle.map(async ({ conn }) => {
        this.#open--;
        const timer = setTimeout(() => conn.destroy(), END_TIMEOUT_MS);
        try {
          await conn.end();
        } catch {
          conn.destroy();
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
