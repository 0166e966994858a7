/**
 * The embedded journal: one SQLite file in the data directory, through better-sqlite3.
 *
 * Durability: WAL mode with `synchronous = FULL`, so a commit that returned has been fsynced
 * and survives a power cut as well as a crash (`NORMAL` would only survive a process crash).
 * better-sqlite3 is synchronous; the runtime still sees the async port so that the same
 * group-commit loop drives the MySQL back end.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ShardlineError } from '../../protocol/index.js';
import { SharedMutex } from './shared-mutex.js';
import {
  bufferView,
  eventRowValues,
  JournalConflictError,
  type CommitGroup,
  type DuplicateLookup,
  type EventPosition,
  type Journal,
  type JournalEvent,
  type StreamRecovery,
} from './journal.js';

/** Each entry upgrades the schema from version `index` to `index + 1`. Append only. */
const MIGRATIONS: readonly string[] = [
  // A rowid table: rows are appended in commit order, so the table itself is written
  // sequentially and only the three small indexes take scattered page writes. (A table
  // clustered on (shard, offset) measured 2x slower: every commit dirtied a leaf page per shard.)
  `CREATE TABLE events (
     shard          INTEGER NOT NULL,
     "offset"       INTEGER NOT NULL,
     stream         TEXT    NOT NULL,
     seq            INTEGER NOT NULL,
     event_id       BLOB    NOT NULL,
     type           TEXT    NOT NULL,
     ts             INTEGER NOT NULL,
     correlation_id TEXT,
     content_type   INTEGER NOT NULL,
     payload        BLOB    NOT NULL
   );
   CREATE UNIQUE INDEX events_position ON events (shard, "offset");
   CREATE UNIQUE INDEX events_stream_seq ON events (stream, seq);
   CREATE UNIQUE INDEX events_stream_event_id ON events (stream, event_id);
   CREATE TABLE snapshots (
     stream     TEXT    NOT NULL PRIMARY KEY,
     seq        INTEGER NOT NULL,
     state      TEXT    NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // The position index keyed offset first: shards advance together, so a group's new entries
  // land on the last few pages instead of one page per shard touched (up to SHARDS = 1024 of
  // them). The constraint is the same. Measured: +38% journal rate for 100-event groups.
  `DROP INDEX events_position;
   CREATE UNIQUE INDEX events_position ON events ("offset", shard);`,
  // The id index keyed id first, for the same reason: UUIDv7 ids (what the SDK makes, and what
  // PROTOCOL.md advises) grow with time, so a group's entries land on the last pages instead of
  // one page per stream. Random ids cost about what they did. Measured end to end: +38%.
  `DROP INDEX events_stream_event_id;
   CREATE UNIQUE INDEX events_stream_event_id ON events (event_id, stream);`,
  // Runs instead of a (stream, seq) entry per event, which cost half of each commit: one B-tree
  // entry per event and one dirty page per stream (docs/decisions/0005). A group writes each
  // stream's events as consecutive rowids with consecutive seqs, a run, and only the run's first
  // row is indexed, carrying the run's length; the other rows hold 0. An existing row becomes a
  // run of one, so the column's default needs no rewrite of the table.
  `ALTER TABLE events ADD COLUMN run_events INTEGER NOT NULL DEFAULT 1;
   CREATE UNIQUE INDEX events_stream_runs ON events (stream, seq) WHERE run_events > 0;
   DROP INDEX events_stream_seq;`,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;
const WAL_FALLBACK_CHECKPOINT_PAGES = 262_144;
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * Streams whose last committed seq a journal keeps in memory (about 100 bytes each). Beyond
 * this, the streams least recently committed are forgotten and looked up again when met.
 */
export const LAST_SEQ_CACHE_STREAMS = 65_536;
export const SQLITE_FILE_NAME = 'shardline.sqlite';
const LOCK_FILE_NAME = 'shardline.lock';

/** A run's index entry: its first rowid, its first seq and its event count. */
interface Run {
  first: number;
  seq: number;
  events: number;
}

interface EventRow {
  shard: number;
  offset: number;
  stream: string;
  seq: number;
  event_id: Buffer;
  type: string;
  ts: number;
  correlation_id: string | null;
  content_type: number;
  payload: Buffer;
}

export class SqliteJournal implements Journal {
  readonly kind = 'sqlite';
  readonly path: string;
  #db: Database.Database;
  #insertEvent: Database.Statement;
  #upsertSnapshot: Database.Statement;
  #findEvent: Database.Statement;
  #loadSnapshot: Database.Statement;
  #runAt: Database.Statement;
  #runsAfter: Database.Statement;
  #lastRuns: Database.Statement;
  #rowsBetween: Database.Statement;
  /** `#rowsBetween` without payloads, for recovery. */
  #recoveryBetween: Database.Statement;
  #positionsDescending: Database.Statement;
  #readTx: <T>(read: () => T) => T;
  #shards = 0;
  #commitTx: Database.Transaction<(group: CommitGroup) => Map<string, number>>;
  /**
   * Each stream's last seq as this journal committed it, so that the commit's check that seqs
   * rise costs no query for a stream committed recently (a lookup was a fifth of a 100-event
   * commit). Exact because each stream has one writer: its shard belongs to one worker,
   * whose journal this is, and the data directory lock keeps other processes out. A worker
   * that restarts builds a new journal, with an empty cache. Least recently committed first,
   * bounded by LAST_SEQ_CACHE_STREAMS.
   */
  readonly #lastSeqs = new Map<string, number>();
  readonly #writeLock: SharedMutex | null;
  #checkpointer: Worker | null = null;
  readonly #dataDirLock: Database.Database | null;

  /**
   * Opens (creating if needed) `<dataDir>/shardline.sqlite`. Call `open()` before use.
   * `cacheMiB` is SQLite's page cache for this connection. `writeLock` serialises the write
   * transactions of several worker threads that share the file. `owner` makes this journal
   * the file's owner in this process: it locks the data directory against other processes and
   * runs the checkpointer thread. Give it to exactly one journal per file.
   */
  constructor(
    dataDir: string,
    cacheMiB = 256,
    writeLock: SharedMutex | null = null,
    owner = false,
  ) {
    this.#writeLock = writeLock;
    mkdirSync(dataDir, { recursive: true });
    this.#dataDirLock = owner ? lockDataDir(dataDir) : null;
    let opened: Database.Database | null = null;
    try {
      this.path = join(dataDir, SQLITE_FILE_NAME);
      this.#db = opened = new Database(this.path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('busy_timeout = 5000');
      // Index pages are touched all over the file by every group; keeping them cached avoids
      // re-reading them. Checkpoints run in a background thread (sqlite-checkpointer.ts); the
      // connection's own threshold, 1 GiB of WAL, only bounds the WAL should that thread stop.
      this.#db.pragma(`cache_size = -${cacheMiB * 1024}`);
      this.#db.pragma(`wal_autocheckpoint = ${WAL_FALLBACK_CHECKPOINT_PAGES}`);
      this.#db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
      this.#migrate();
      this.#insertEvent = this.#db.prepare(
        `INSERT INTO events (shard, "offset", stream, seq, event_id, type, ts, correlation_id,
                             content_type, payload, run_events)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.#upsertSnapshot = this.#db.prepare(
        `INSERT INTO snapshots (stream, seq, state, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, state = excluded.state,
           created_at = excluded.created_at WHERE excluded.seq > snapshots.seq`,
      );
      this.#findEvent = this.#db.prepare(
        `SELECT seq, shard, "offset" FROM events WHERE stream = ? AND event_id = ?`,
      );
      this.#positionsDescending = this.#db.prepare(
        `SELECT shard, "offset" AS offset FROM events INDEXED BY events_position
         ORDER BY "offset" DESC, shard DESC`,
      );
      this.#loadSnapshot = this.#db.prepare(`SELECT seq, state FROM snapshots WHERE stream = ?`);
      // Runs (see migration 4): `run_events > 0` selects the partial index of run starts.
      const runColumns = `SELECT rowid AS first, seq, run_events AS events FROM events`;
      this.#runAt = this.#db.prepare(
        `${runColumns} WHERE stream = ? AND run_events > 0 AND seq <= ? ORDER BY seq DESC LIMIT 1`,
      );
      this.#runsAfter = this.#db.prepare(
        `${runColumns} WHERE stream = ? AND run_events > 0 AND seq > ? ORDER BY seq LIMIT ?`,
      );
      this.#lastRuns = this.#db.prepare(
        `${runColumns} WHERE stream = ? AND run_events > 0 ORDER BY seq DESC LIMIT ?`,
      );
      this.#rowsBetween = this.#db.prepare(
        `SELECT shard, "offset" AS offset, stream, seq, event_id, type, ts, correlation_id,
                content_type, payload
         FROM events WHERE rowid BETWEEN ? AND ? ORDER BY rowid`,
      );
      this.#recoveryBetween = this.#db.prepare(
        `SELECT shard, "offset" AS offset, stream, seq, event_id, type, ts
         FROM events WHERE rowid BETWEEN ? AND ? ORDER BY rowid`,
      );
      // Reads of several statements see one snapshot of the file (workers may be committing).
      const readTx = this.#db.transaction((read: () => unknown) => read());
      this.#readTx = readTx as <T>(read: () => T) => T;
      if (owner) {
        this.#checkpointer = new Worker(new URL('./sqlite-checkpointer.js', import.meta.url), {
          workerData: { path: this.path, intervalMs: CHECKPOINT_INTERVAL_MS },
        });
        this.#checkpointer.unref();
      }
      const upsertSnapshot = this.#upsertSnapshot;
      this.#commitTx = this.#db.transaction((group: CommitGroup) => {
        const now = Date.now();
        // A failing INSERT aborts only its own statement, so every conflicting row is found in
        // one pass; then the throw rolls the whole transaction back.
        const conflicts: number[] = [];
        let firstCause: unknown = null;
        const lastSeqs = new Map<string, number>();
        for (const rows of rowsByStream(group.events)) {
          const cause = this.#insertStream(group.events, rows, conflicts);
          firstCause ??= cause;
          const last = group.events[rows[rows.length - 1]!]!;
          lastSeqs.set(last.stream, last.seq);
        }
        if (conflicts.length > 0) throw new JournalConflictError(conflicts, firstCause);
        for (const s of group.snapshots) upsertSnapshot.run(s.stream, s.seq, s.state, now);
        return lastSeqs;
      });
    } catch (error) {
      // Release the file and the lock at once: this process may try again.
      opened?.close();
      this.#dataDirLock?.close();
      throw error;
    }
  }

  /**
   * Writes one stream's rows of a group, in seq order, as runs: consecutive rowids with
   * consecutive seqs, the first row of each carrying its count (a gap in the seqs starts a new
   * run). The seqs must rise strictly and begin after the stream's last committed seq, which
   * keeps them unique without an index entry per event. Rows that break this, or a unique
   * index, go to `conflicts`; returns the first such error.
   */
  #insertStream(
    events: readonly JournalEvent[],
    rows: readonly number[],
    conflicts: number[],
  ): unknown {
    const stream = events[rows[0]!]!.stream;
    let previousSeq = this.#lastSeqs.get(stream);
    if (previousSeq === undefined) {
      // `#runAt` with no upper bound rather than `#lastRuns` with a limit of 1: a bound
      // LIMIT parameter made this lookup twice as slow.
      const last = this.#runAt.get(stream, Number.MAX_SAFE_INTEGER) as Run | undefined;
      previousSeq = last === undefined ? 0 : last.seq + last.events - 1;
    }
    for (const i of rows) {
      const seq = events[i]!.seq;
      if (seq <= previousSeq) {
        conflicts.push(...rows);
        return new Error(`stream ${stream}: seq ${seq} does not follow seq ${previousSeq}`);
      }
      previousSeq = seq;
    }
    let cause: unknown = null;
    for (let start = 0; start < rows.length; ) {
      let end = start + 1;
      while (end < rows.length && events[rows[end]!]!.seq === events[rows[end - 1]!]!.seq + 1) {
        end++;
      }
      cause ??= this.#insertRun(events, rows.slice(start, end), conflicts);
      start = end;
    }
    return cause;
  }

  /** Inserts one run (rows of one stream with consecutive seqs); returns the first conflict. */
  #insertRun(
    events: readonly JournalEvent[],
    run: readonly number[],
    conflicts: number[],
  ): unknown {
    let cause: unknown = null;
    let previousRowid = -1;
    for (let k = 0; k < run.length; k++) {
      const values = eventRowValues(events[run[k]!]!);
      values.push(k === 0 ? run.length : 0);
      let rowid: number;
      try {
        rowid = Number(this.#insertEvent.run(...values).lastInsertRowid);
      } catch (error) {
        if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') !== true)
          throw error;
        conflicts.push(run[k]!);
        cause ??= error;
        continue;
      }
      // SQLite gives each new row the highest rowid + 1, so a run written in one transaction
      // is consecutive; reads depend on it, so it is checked rather than assumed.
      if (previousRowid !== -1 && rowid !== previousRowid + 1) {
        throw new Error(`rowid ${rowid} does not follow ${previousRowid} within a run`);
      }
      previousRowid = rowid;
    }
    return cause;
  }

  #meta(name: string): string | undefined {
    const row = this.#db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  #setMeta(name: string, value: string): void {
    this.#db
      .prepare(
        'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value);
  }

  #migrate(): void {
    const current = Number(this.#meta('schema_version') ?? '0');
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new ShardlineError(
        'ERR_JOURNAL_SCHEMA',
        `${this.path} has schema version ${current}, newer than this build knows ` +
          `(${SQLITE_SCHEMA_VERSION}); run a newer Shardline`,
        { fatal: true },
      );
    }
    for (let version = current; version < SQLITE_SCHEMA_VERSION; version++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[version]!);
        this.#setMeta('schema_version', String(version + 1));
      })();
    }
  }

  open(shards: number): Promise<void> {
    this.#shards = shards;
    const stored = this.#meta('shards');
    if (stored === undefined) {
      this.#setMeta('shards', String(shards));
    } else if (Number(stored) !== shards) {
      return Promise.reject(
        new ShardlineError(
          'ERR_JOURNAL_SHARDS',
          `SHARDLINE_SHARDS is ${shards} but the journal at ${this.path} was created with ` +
            `${stored}; the shard count is fixed for the life of a journal`,
          { fatal: true },
        ),
      );
    }
    return Promise.resolve();
  }

  isAvailable(): boolean {
    return this.#db.open;
  }

  shardOffsets(): Promise<Map<number, number>> {
    // Walks the position index from the highest offset down: the first row seen for a shard
    // holds its top offset. With every shard written, that stops after a few thousand rows;
    // only a journal where some shard has no events yet (or one not opened, whose shard count
    // is unknown) reads the whole index.
    const tops = new Map<number, number>();
    for (const row of this.#positionsDescending.iterate() as Iterable<{
      shard: number;
      offset: number;
    }>) {
      if (!tops.has(row.shard)) tops.set(row.shard, row.offset);
      if (tops.size === this.#shards) break;
    }
    return Promise.resolve(tops);
  }

  loadStreams(streams: readonly string[], recentIds: number): Promise<StreamRecovery[]> {
    return Promise.resolve(
      this.#readTx(() => streams.map((stream) => this.#recover(stream, recentIds))),
    );
  }

  #recover(stream: string, recentIds: number): StreamRecovery {
    const snap = this.#loadSnapshot.get(stream) as { seq: number; state: string } | undefined;
    const recent = this.#rowsIn(
      this.#recoveryBetween,
      stream,
      this.#lastRanges(stream, recentIds),
    ).map((r) => ({ id: r.event_id, seq: r.seq, shard: r.shard, offset: r.offset }));
    // A new stream (no snapshot, no recent event) has nothing to replay: one query fewer
    // for each stream a group meets for the first time.
    const isNew = snap === undefined && recentIds > 0 && recent.length === 0;
    const replay = isNew
      ? []
      : this.#rowsIn(
          this.#recoveryBetween,
          stream,
          this.#rangesFrom(stream, (snap?.seq ?? 0) + 1, Number.MAX_SAFE_INTEGER),
        ).map((r) => ({ seq: r.seq, type: r.type, timestamp: r.ts }));
    return {
      stream,
      snapshot: snap === undefined ? null : { stream, seq: snap.seq, state: snap.state },
      replay,
      recent,
    };
  }

  /**
   * The rowid ranges of `stream`'s events from `fromSeq` on, at most `limit` events, in seq
   * order: the run holding `fromSeq`, then the runs after it. Call inside a read transaction.
   */
  #rangesFrom(stream: string, fromSeq: number, limit: number): [number, number][] {
    const ranges: [number, number][] = [];
    let wanted = limit;
    const take = (run: Run, skip: number): void => {
      const count = Math.min(run.events - skip, wanted);
      if (count <= 0) return;
      ranges.push([run.first + skip, run.first + skip + count - 1]);
      wanted -= count;
    };
    const holding = this.#runAt.get(stream, fromSeq) as Run | undefined;
    if (holding !== undefined) take(holding, fromSeq - holding.seq);
    if (wanted > 0) {
      for (const run of this.#runsAfter.all(stream, fromSeq, wanted) as Run[]) take(run, 0);
    }
    return ranges;
  }

  /** The rowid ranges of `stream`'s last `count` events, in seq order. */
  #lastRanges(stream: string, count: number): [number, number][] {
    const ranges: [number, number][] = [];
    if (count <= 0) return ranges;
    let wanted = count;
    for (const run of this.#lastRuns.all(stream, count) as Run[]) {
      const take = Math.min(run.events, wanted);
      ranges.push([run.first + run.events - take, run.first + run.events - 1]);
      wanted -= take;
      if (wanted === 0) break;
    }
    return ranges.reverse();
  }

  /** The rows in `ranges`, checked to belong to `stream` (a run never crosses streams). */
  #rowsIn(statement: Database.Statement, stream: string, ranges: [number, number][]): EventRow[] {
    const rows: EventRow[] = [];
    for (const [first, last] of ranges) {
      for (const row of statement.all(first, last) as EventRow[]) {
        if (row.stream !== stream) {
          throw new ShardlineError(
            'ERR_JOURNAL_CORRUPT',
            `${this.path}: the run of stream ${stream} at rowid ${first} holds a row of ${row.stream}`,
          );
        }
        rows.push(row);
      }
    }
    return rows;
  }

  findEvents(keys: readonly DuplicateLookup[]): Promise<(EventPosition | null)[]> {
    const out = new Array<EventPosition | null>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      out[i] =
        (this.#findEvent.get(key.stream, bufferView(key.id)) as EventPosition | undefined) ?? null;
    }
    return Promise.resolve(out);
  }

  commit(group: CommitGroup): Promise<void> {
    this.#writeLock?.lock();
    try {
      // IMMEDIATE: the write lock is taken at BEGIN, where SQLite waits for it (busy_timeout).
      // A deferred transaction reads first, and SQLite refuses at once, without waiting, to
      // turn a reader into the writer while the checkpointer's RESTART holds the write lock.
      this.#rememberLastSeqs(this.#commitTx.immediate(group));
      return Promise.resolve();
    } catch (cause) {
      if (cause instanceof JournalConflictError) return Promise.reject(cause);
      return Promise.reject(
        new ShardlineError('ERR_JOURNAL_COMMIT', `SQLite commit failed: ${String(cause)}`, {
          cause,
        }),
      );
    } finally {
      this.#writeLock?.unlock();
    }
  }

  /** Records a committed group's last seq per stream, dropping the least recently committed. */
  #rememberLastSeqs(committed: Map<string, number>): void {
    for (const [stream, seq] of committed) {
      this.#lastSeqs.delete(stream);
      this.#lastSeqs.set(stream, seq);
    }
    for (const stream of this.#lastSeqs.keys()) {
      if (this.#lastSeqs.size <= LAST_SEQ_CACHE_STREAMS) break;
      this.#lastSeqs.delete(stream);
    }
  }

  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    const rows = this.#readTx(() =>
      this.#rowsIn(this.#rowsBetween, stream, this.#rangesFrom(stream, fromSeq, limit)),
    );
    return Promise.resolve(
      rows.map((r) => ({
        shard: r.shard,
        offset: r.offset,
        stream: r.stream,
        seq: r.seq,
        id: r.event_id,
        type: r.type,
        timestamp: r.ts,
        correlationId: r.correlation_id,
        contentType: r.content_type,
        payload: r.payload,
      })),
    );
  }

  async close(): Promise<void> {
    if (this.#checkpointer !== null) {
      const checkpointer = this.#checkpointer;
      this.#checkpointer = null;
      const exited = new Promise((resolve) => checkpointer.once('exit', resolve));
      // It was unref'd so that it never holds the process open; while we wait for it, it must.
      checkpointer.ref();
      checkpointer.postMessage('stop');
      await exited;
    }
    if (this.#db.open) this.#db.close();
    if (this.#dataDirLock?.open === true) this.#dataDirLock.close();
  }
}

/** A group's row indices per stream, each in the group's order. */
function rowsByStream(events: readonly JournalEvent[]): IterableIterator<number[]> {
  const byStream = new Map<string, number[]>();
  for (let i = 0; i < events.length; i++) {
    const stream = events[i]!.stream;
    const rows = byStream.get(stream);
    if (rows === undefined) byStream.set(stream, [i]);
    else rows.push(i);
  }
  return byStream.values();
}

/**
 * Keeps a second Shardline process out of a data directory: two processes appending to one
 * journal would each assign seqs and offsets from their own view. The lock is an exclusive
 * transaction on a small SQLite file of its own, held for the life of the journal: an fcntl
 * lock, which the kernel releases when the process dies, so a crash leaves nothing to clean up.
 */
function lockDataDir(dataDir: string): Database.Database {
  const lock = new Database(join(dataDir, LOCK_FILE_NAME), { timeout: 0 });
  try {
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (cause) {
    lock.close();
    if ((cause as { code?: string }).code !== 'SQLITE_BUSY') throw cause;
    throw new ShardlineError(
      'ERR_DATA_DIR_LOCKED',
      `the data directory ${dataDir} is in use by another Shardline process`,
      { fatal: true, cause },
    );
  }
}

/** Options of the SQLite journal when a shard worker builds it (see `createJournal`). */
export interface SqliteJournalOptions {
  dataDir: string;
  cacheMiB: number;
  /** From `SharedMutex.create()`: shared by every worker writing the file. */
  writeLock: Int32Array;
}

/** The journal factory a shard worker imports by module path. */
export function createJournal(
  options: SqliteJournalOptions,
  context: { workerIndex: number },
): SqliteJournal {
  return new SqliteJournal(
    options.dataDir,
    options.cacheMiB,
    new SharedMutex(options.writeLock, context.workerIndex + 1),
  );
}
