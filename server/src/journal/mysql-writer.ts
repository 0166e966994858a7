/**
 * The writer connection of one thread, shared by the journals of that thread's commit lanes.
 *
 * Lanes own disjoint shards, so their transactions never touch the same rows, but on separate
 * connections they run at the same time inside the server and cost it 40–50% more CPU per
 * row (docs/decisions/0010-lanes-share-one-writer-connection.md). On one connection the server
 * runs them one after another. For the server never to wait on this thread, a lane's
 * transaction follows the previous lane's COMMIT on the wire, before that COMMIT answered:
 *
 * ```
 *   wire:   BEGIN INSERT(A) COMMIT(A) BEGIN INSERT(B) COMMIT(B) BEGIN INSERT(A') …
 *   lane A: ├──── holds the writer ───┤ answers A once COMMIT(A) answered
 *   lane B:                           ├──── holds the writer ───┤
 * ```
 *
 * A lane holds the connection (the pool's only one) from its BEGIN until its COMMIT is sent,
 * so no statement of another lane ever lands inside its transaction. It sends that COMMIT only
 * once the COMMIT before it answered: one commit in flight per connection.
 *
 * The writer also times how long the database had work from this thread: a statement sent
 * and not yet answered (`busyMs`). Under load, its share of wall time says who sets the pace:
 * near 1, the database; lower, the server was late with its next statement.
 */
import type { Connection, ConnectionConfig } from 'mariadb';
import { MysqlConnectionPool } from './mysql-pool.js';

const settledAlready: Promise<void> = Promise.resolve();

export class MysqlWriter {
  readonly pool: MysqlConnectionPool;
  /** Settles once the COMMIT last sent on each connection answered, however it answered. */
  readonly #lastCommit = new WeakMap<Connection, Promise<void>>();
  /** Connections whose driver holds the bulk INSERT prepared (see `MysqlJournal`). */
  readonly #prepared = new WeakSet<Connection>();
  /** Journals writing through this connection; the last to close ends it. */
  #users = 0;
  /** Statements sent through `track` and not settled yet. */
  #inFlight = 0;
  /** When `#inFlight` last rose from 0 (performance.now()). */
  #busySince = 0;
  /** Milliseconds with a statement in flight, up to `#busySince` while one is. */
  #busyMs = 0;

  constructor(config: ConnectionConfig) {
    this.pool = new MysqlConnectionPool(config, 1);
  }

  /** A journal starts writing through this connection. */
  join(): void {
    this.#users++;
  }

  /** A journal stopped; the connection closes with the last one. */
  async leave(): Promise<void> {
    if (--this.#users === 0) await this.pool.end();
  }

  /** The bulk INSERT went through `conn` once: its driver keeps it prepared from now on. */
  statementPrepared(conn: Connection): void {
    this.#prepared.add(conn);
  }

  isPrepared(conn: Connection): boolean {
    return this.#prepared.has(conn);
  }

  /** Counts `statement`, just handed to the driver, as in flight until it settles. */
  track<T>(statement: Promise<T>): Promise<T> {
    if (this.#inFlight++ === 0) this.#busySince = performance.now();
    statement.then(this.#settled, this.#settled);
    return statement;
  }

  readonly #settled = (): void => {
    if (--this.#inFlight === 0) this.#busyMs += performance.now() - this.#busySince;
  };

  /** Milliseconds, since this writer was made, during which a statement was in flight. */
  busyMs(): number {
    return this.#inFlight === 0 ? this.#busyMs : this.#busyMs + performance.now() - this.#busySince;
  }

  /** Resolves once the COMMIT last sent on `conn` answered (at once if there was none). */
  previousCommit(conn: Connection): Promise<void> {
    return this.#lastCommit.get(conn) ?? settledAlready;
  }

  /** Records the COMMIT just sent on `conn`; the caller still awaits `committed` itself. */
  commitSent(conn: Connection, committed: Promise<void>): void {
    this.#lastCommit.set(
      conn,
      committed.then(
        () => undefined,
        () => undefined,
      ),
    );
  }
}
