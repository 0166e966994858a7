/**
 * The embedded journal: one SQLite file in the data directory, through better-sqlite3.
 *
 * Durability: a commit that returned has been fsynced and survives a power cut as well as a
 * crash. WAL mode with `synchronous = FULL`, or, for shard workers sharing the file, `NORMAL`
 * with the worker fsyncing the WAL itself after the write lock (wal-sync.ts, decision 0007).
 * better-sqlite3 is synchronous; the runtime still sees the async port so that the same
 * group-commit loop drives the MySQL back end.
 */
import { closeSync, fdatasyncSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ShardlineError } from '../../protocol/index.js';
import { SharedMutex } from './shared-mutex.js';
import { WalSync } from './wal-sync.js';
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
  type StreamRecovery,
} from './journal.js';
import { traceHandoff } from './handoff-trace.js';

/**
 * Every run holding a seq divisible by ANCHOR_SEQS is an anchor, in the index of migration 5; a
 * read walks back from the first anchor after what it wants, at most about twice this many
 * seqs of runs it does not want. Fixed by that migration: never change it.
 */
const ANCHOR_SEQS = 64;
/** The partial index's condition, written the same way in every query that must use it. */
const IS_ANCHOR = `run_events > 0 AND (seq - 1) / ${ANCHOR_SEQS} < (seq + run_events - 1) / ${ANCHOR_SEQS}`;

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
  // Stream heads and anchored runs instead of an index entry per run, which still cost one
  // dirty page per stream in a group, or more with the page splits of a growing index: 129 of a
  // 100-event group's 153 WAL pages (docs/decisions/0006). Each run's first row links to the
  // stream's previous run; one small row per stream holds its last seq and last run; and only
  // the runs that hold a seq divisible by ANCHOR_SEQS are indexed, so a read can start near
  // any seq. Existing runs are linked and the heads filled from the old index.
  `ALTER TABLE events ADD COLUMN prev_run INTEGER NOT NULL DEFAULT 0;
   UPDATE events SET prev_run = linked.prev_run
     FROM (SELECT rowid AS run, LAG(rowid, 1, 0) OVER (PARTITION BY stream ORDER BY seq) AS prev_run
           FROM events WHERE run_events > 0) AS linked
     WHERE events.rowid = linked.run AND linked.prev_run != 0;
   CREATE TABLE stream_heads (
     stream   TEXT    NOT NULL PRIMARY KEY,
     seq      INTEGER NOT NULL,
     last_run INTEGER NOT NULL
   ) WITHOUT ROWID;
   INSERT INTO stream_heads (stream, seq, last_run)
     SELECT stream, seq + run_events - 1, run FROM (
       SELECT stream, seq, run_events, rowid AS run,
              ROW_NUMBER() OVER (PARTITION BY stream ORDER BY seq DESC) AS newest
       FROM events WHERE run_events > 0)
     WHERE newest = 1;
   CREATE UNIQUE INDEX events_stream_anchors ON events (stream, seq) WHERE ${IS_ANCHOR};
   DROP INDEX events_stream_runs;`,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;
const WAL_FALLBACK_CHECKPOINT_PAGES = 262_144;
const CHECKPOINT_INTERVAL_MS = 200;
/** WAL frames past which the checkpointer starts the WAL over (sqlite-checkpointer.ts). */
const WAL_RESTART_FRAMES = 16_384;
/** A WAL of WAL_RESTART_FRAMES frames: its header, then 24 bytes and a 4 KiB page per frame. */
const WAL_PRESIZED_BYTES = 32 + WAL_RESTART_FRAMES * (24 + 4096);
/**
 * Streams whose head (last seq and last run) a journal keeps in memory (about 100 bytes each).
 * Beyond this, the streams least recently committed are forgotten and read again when met.
 */
export const HEAD_CACHE_STREAMS = 65_536;
export const SQLITE_FILE_NAME = 'shardline.sqlite';
const LOCK_FILE_NAME = 'shardline.lock';

/** A run: its first rowid, its stream, first seq and event count, and the previous run's rowid. */
interface Run {
  first: number;
  stream: string;
  seq: number;
  events: number;
  /** The first rowid of the stream's previous run; 0 for its first run. */
  previous: number;
}

/** A stream's last committed seq, and the first rowid of its last run (0 for neither). */
interface StreamHead {
  seq: number;
  lastRun: number;
}

const NO_HEAD: StreamHead = { seq: 0, lastRun: 0 };

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
  /**
   * The values `#insertEvent` binds, reused for every row: an array per event was most of what
   * a commit allocated. It holds on to the last row's id and payload until the next commit.
   */
  readonly #rowValues = new Array<unknown>(EVENT_ROW_VALUES + 2);
  #upsertSnapshot: Database.Statement;
  #findEvent: Database.Statement;
  #loadSnapshot: Database.Statement;
  #runAt: Database.Statement;
  #anchorAfter: Database.Statement;
  #headOf: Database.Statement;
  #insertHeadIfNew: Database.Statement;
  #advanceHead: Database.Statement;
  #rowsBetween: Database.Statement;
  /** `#rowsBetween` without payloads, for recovery. */
  #recoveryBetween: Database.Statement;
  #positionsDescending: Database.Statement;
  #readTx: <T>(read: () => T) => T;
  #shards = 0;
  #commitTx: Database.Transaction<(group: CommitGroup) => Map<string, StreamHead>>;
  /**
   * Each stream's head as this journal committed it, so that a commit costs no query to check
   * that a stream's seqs rise and to link its new run, for a stream committed recently (a
   * lookup was a fifth of a 100-event commit). Exact because each stream has one writer: its
   * shard belongs to one worker, whose journal this is, and the data directory lock keeps
   * other processes out. A worker that restarts builds a new journal, with an empty cache.
   * Reads never use it: they may run on another journal of the same file. Least recently
   * committed first, bounded by HEAD_CACHE_STREAMS.
   */
  readonly #heads = new Map<string, StreamHead>();
  readonly #writeLock: SharedMutex | null;
  /** Set for journals of a file that shard workers share (see wal-sync.ts). */
  readonly #walSync: WalSync | null;
  /** A writer that fsyncs the WAL itself, after releasing the write lock. */
  readonly #syncsWalItself: boolean;
  /** Set when an fsync of the WAL failed: what was committed since may not be durable. */
  #walSyncFailure: Error | null = null;
  #checkpointer: Worker | null = null;
  readonly #dataDirLock: Database.Database | null;

  /**
   * Opens (creating if needed) `<dataDir>/shardline.sqlite`. Call `open()` before use.
   * `cacheMiB` is SQLite's page cache for this connection. `writeLock` serialises the write
   * transactions of several worker threads that share the file. `owner` makes this journal
   * the file's owner in this process: it locks the data directory against other processes and
   * runs the checkpointer thread. Give it to exactly one journal per file. `walSync` (from
   * `WalSync.create()`, shared by the workers and the reader of one file): with a write lock,
   * this journal commits without an fsync in SQLite and fsyncs the WAL after releasing the lock;
   * without one, its reads wait until what they saw is fsynced.
   */
  constructor(
    dataDir: string,
    cacheMiB = 256,
    writeLock: SharedMutex | null = null,
    owner = false,
    walSync: BigInt64Array | null = null,
  ) {
    this.#writeLock = writeLock;
    this.#syncsWalItself = writeLock !== null && walSync !== null;
    mkdirSync(dataDir, { recursive: true });
    this.#dataDirLock = owner ? lockDataDir(dataDir) : null;
    let opened: Database.Database | null = null;
    try {
      this.path = join(dataDir, SQLITE_FILE_NAME);
      this.#walSync = walSync === null ? null : new WalSync(walSync, `${this.path}-wal`);
      this.#db = opened = new Database(this.path);
      this.#db.pragma('journal_mode = WAL');
      // NORMAL still fsyncs the WAL before each checkpoint and when it starts over.
      this.#db.pragma(this.#syncsWalItself ? 'synchronous = NORMAL' : 'synchronous = FULL');
      this.#db.pragma('busy_timeout = 5000');
      // Index pages are touched all over the file by every group; keeping them cached avoids
      // re-reading them. Checkpoints run in a background thread (sqlite-checkpointer.ts); the
      // connection's own threshold, 1 GiB of WAL, only bounds the WAL should that thread stop.
      this.#db.pragma(`cache_size = -${cacheMiB * 1024}`);
      this.#db.pragma(`wal_autocheckpoint = ${WAL_FALLBACK_CHECKPOINT_PAGES}`);
      this.#db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
      this.#migrate();
      if (owner) presizeWal(`${this.path}-wal`);
      this.#insertEvent = this.#db.prepare(
        `INSERT INTO events (shard, "offset", stream, seq, event_id, type, ts, correlation_id,
                             content_type, payload, run_events, prev_run)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      // Runs (migrations 4 and 5): a run's first row holds its length and its link.
      const runColumns = `SELECT rowid AS first, stream, seq, run_events AS events,
                                 prev_run AS previous FROM events`;
      this.#runAt = this.#db.prepare(`${runColumns} WHERE rowid = ? AND run_events > 0`);
      this.#anchorAfter = this.#db.prepare(
        `${runColumns} WHERE stream = ? AND ${IS_ANCHOR} AND seq > ? ORDER BY seq LIMIT 1`,
      );
      this.#headOf = this.#db.prepare(
        `SELECT seq, last_run AS lastRun FROM stream_heads WHERE stream = ?`,
      );
      this.#insertHeadIfNew = this.#db.prepare(
        `INSERT INTO stream_heads (stream, seq, last_run) VALUES (?, ?, ?)
         ON CONFLICT (stream) DO NOTHING`,
      );
      // Compare and set: the head must still be the one the commit built on.
      this.#advanceHead = this.#db.prepare(
        `UPDATE stream_heads SET seq = ?, last_run = ? WHERE stream = ? AND seq = ? AND last_run = ?`,
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
          workerData: {
            path: this.path,
            intervalMs: CHECKPOINT_INTERVAL_MS,
            restartFrames: WAL_RESTART_FRAMES,
          },
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
        const heads = new Map<string, StreamHead>();
        for (const rows of rowsByStream(group.events)) {
          const stream = group.events[rows[0]!]!.stream;
          const head = this.#heads.get(stream) ?? this.#storedHead(stream);
          // Every stream is written, even after a conflict, so that all conflicts are found.
          const written = this.#insertStream(group.events, rows, head, conflicts);
          if (written instanceof Error) firstCause ??= written;
          else heads.set(stream, written);
        }
        if (conflicts.length > 0) throw new JournalConflictError(conflicts, firstCause);
        for (const s of group.snapshots) upsertSnapshot.run(s.stream, s.seq, s.state, now);
        return heads;
      });
    } catch (error) {
      // Release the file and the lock at once: this process may try again.
      opened?.close();
      this.#dataDirLock?.close();
      throw error;
    }
  }

  /**
   * Writes one stream's rows of a group on top of its `head`, in seq order, as runs:
   * consecutive rowids with consecutive seqs, the first row of each carrying its count and the
   * first rowid of the stream's previous run (a gap in the seqs starts a new run). The seqs
   * must rise strictly and begin after `head.seq`, which keeps them unique without an index
   * entry per event. Then stores and returns the new head. Rows that break this, or a unique
   * index, go to `conflicts`, and the first such error is returned instead.
   */
  #insertStream(
    events: readonly JournalEvent[],
    rows: readonly number[],
    head: StreamHead,
    conflicts: number[],
  ): StreamHead | Error {
    const stream = events[rows[0]!]!.stream;
    let previousSeq = head.seq;
    for (const i of rows) {
      const seq = events[i]!.seq;
      if (seq <= previousSeq) {
        conflicts.push(...rows);
        return new Error(`stream ${stream}: seq ${seq} does not follow seq ${previousSeq}`);
      }
      previousSeq = seq;
    }
    let cause: Error | null = null;
    let lastRun = head.lastRun;
    for (let start = 0; start < rows.length; ) {
      let end = start + 1;
      while (end < rows.length && events[rows[end]!]!.seq === events[rows[end - 1]!]!.seq + 1) {
        end++;
      }
      const inserted = this.#insertRun(events, rows, start, end, lastRun, conflicts);
      if (typeof inserted === 'number') lastRun = inserted;
      else cause ??= inserted;
      start = end;
    }
    if (cause !== null) return cause;
    const written = { seq: previousSeq, lastRun };
    // Compare and set: the stored head must still be the one these rows were written on. It
    // is, unless a second writer broke the one-writer rule behind this journal's memory.
    const stored =
      head.lastRun === 0
        ? this.#insertHeadIfNew.run(stream, written.seq, written.lastRun)
        : this.#advanceHead.run(written.seq, written.lastRun, stream, head.seq, head.lastRun);
    if (stored.changes === 1) return written;
    conflicts.push(...rows);
    return new Error(`stream ${stream}: its head moved from seq ${head.seq} under this commit`);
  }

  /**
   * Inserts one run (the rows `rows[start, end)`, of one stream with consecutive seqs) linked to
   * the run starting at rowid `previousRun`; returns its first rowid, or the first conflict.
   */
  #insertRun(
    events: readonly JournalEvent[],
    rows: readonly number[],
    start: number,
    end: number,
    previousRun: number,
    conflicts: number[],
  ): number | Error {
    let cause: Error | null = null;
    let previousRowid = -1;
    const values = this.#rowValues;
    for (let k = start; k < end; k++) {
      eventRowValues(events[rows[k]!]!, values);
      values[EVENT_ROW_VALUES] = k === start ? end - start : 0;
      values[EVENT_ROW_VALUES + 1] = k === start ? previousRun : 0;
      let rowid: number;
      try {
        rowid = Number(this.#insertEvent.run(...values).lastInsertRowid);
      } catch (error) {
        if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') !== true)
          throw error;
        conflicts.push(rows[k]!);
        cause ??= error as Error;
        continue;
      }
      // SQLite gives each new row the highest rowid + 1, so a run written in one transaction
      // is consecutive; reads depend on it, so it is checked rather than assumed.
      if (previousRowid !== -1 && rowid !== previousRowid + 1) {
        throw new Error(`rowid ${rowid} does not follow ${previousRowid} within a run`);
      }
      previousRowid = rowid;
    }
    return cause ?? previousRowid - (end - start) + 1;
  }

  /** The stream's head as stored. */
  #storedHead(stream: string): StreamHead {
    return (this.#headOf.get(stream) as StreamHead | undefined) ?? NO_HEAD;
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
    this.#walSync?.syncLeftovers();
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
    return this.#db.open && this.#walSyncFailure === null;
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
    return this.#settled(tops);
  }

  loadStreams(streams: readonly string[], recentIds: number): Promise<StreamRecovery[]> {
    return this.#settled(
      this.#readTx(() => streams.map((stream) => this.#recover(stream, recentIds))),
    );
  }

  #recover(stream: string, recentIds: number): StreamRecovery {
    const snap = this.#loadSnapshot.get(stream) as { seq: number; state: string } | undefined;
    const head = this.#storedHead(stream);
    // One walk for both: the events after the snapshot, and the last `recentIds` ids.
    const replayFrom = (snap?.seq ?? 0) + 1;
    const recentFrom = head.seq - recentIds + 1;
    const rows = this.#rowsIn(
      this.#recoveryBetween,
      stream,
      this.#rangesFrom(stream, head, Math.min(replayFrom, recentFrom), Number.MAX_SAFE_INTEGER),
    );
    return {
      stream,
      snapshot: snap === undefined ? null : { stream, seq: snap.seq, state: snap.state },
      replay: rows
        .filter((r) => r.seq >= replayFrom)
        .map((r) => ({ seq: r.seq, type: r.type, timestamp: r.ts })),
      recent: rows
        .filter((r) => r.seq >= recentFrom)
        .map((r) => ({ id: r.event_id, seq: r.seq, shard: r.shard, offset: r.offset })),
    };
  }

  /**
   * The rowid ranges of `stream`'s events from `fromSeq` on, at most `limit` events, in seq
   * order. Walks the runs back from the first anchor after the last seq wanted, or from the
   * head, to the run holding `fromSeq`. Call inside a read transaction.
   */
  #rangesFrom(
    stream: string,
    head: StreamHead,
    fromSeq: number,
    limit: number,
  ): [number, number][] {
    const first = Math.max(fromSeq, 1);
    const last = Math.min(head.seq, first + Math.max(limit, 0) - 1);
    if (last < first) return [];
    let run =
      (this.#anchorAfter.get(stream, last) as Run | undefined) ?? this.#run(stream, head.lastRun);
    const ranges: [number, number][] = [];
    while (run !== undefined && run.seq + run.events - 1 >= first) {
      const low = Math.max(run.seq, first);
      const high = Math.min(run.seq + run.events - 1, last);
      if (low <= high) ranges.push([run.first + low - run.seq, run.first + high - run.seq]);
      if (run.seq <= first || run.previous === 0) break;
      run = this.#run(stream, run.previous, run.first);
    }
    return ranges.reverse();
  }

  /**
   * The run starting at `rowid`, which must belong to `stream` and, when `before` is given,
   * lie before it (links only point back, so a walk always ends).
   */
  #run(stream: string, rowid: number, before = Number.MAX_SAFE_INTEGER): Run | undefined {
    if (rowid === 0) return undefined;
    const run = this.#runAt.get(rowid) as Run | undefined;
    if (run === undefined || run.stream !== stream || rowid >= before) {
      throw new ShardlineError(
        'ERR_JOURNAL_CORRUPT',
        `${this.path}: the run link of stream ${stream} to rowid ${rowid} is broken`,
      );
    }
    return run;
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
    return this.#settled(out);
  }

  /**
   * Resolves to a read's result once everything it may have seen is durable: at once, unless
   * this journal reads a file that shard workers write and fsync themselves (wal-sync.ts).
   * A writer's own reads see only its own streams, whose commits were fsynced before they
   * returned.
   */
  #settled<T>(result: T): Promise<T> {
    if (this.#walSync === null || this.#syncsWalItself) return Promise.resolve(result);
    return this.#walSync.settleRead().then(() => result);
  }

  commit(group: CommitGroup): Promise<void> {
    if (this.#walSyncFailure !== null) {
      return Promise.reject(
        new ShardlineError(
          'ERR_JOURNAL_COMMIT',
          `an fsync of the WAL failed earlier (${this.#walSyncFailure.message}); restart the server`,
        ),
      );
    }
    let heads: Map<string, StreamHead>;
    let ticket = 0n;
    traceHandoff('commit');
    this.#writeLock?.lock();
    traceHandoff('locked');
    try {
      if (this.#syncsWalItself) ticket = this.#walSync!.takeTicket();
      // IMMEDIATE: the write lock is taken at BEGIN, where SQLite waits for it (busy_timeout).
      // A deferred transaction reads first, and SQLite refuses at once, without waiting, to
      // turn a reader into the writer while the checkpointer's RESTART holds the write lock.
      heads = this.#commitTx.immediate(group);
    } catch (cause) {
      // Nothing was written: forget the group's heads, so that a head a second writer moved
      // is read again rather than conflict forever.
      for (const event of group.events) this.#heads.delete(event.stream);
      if (cause instanceof JournalConflictError) return Promise.reject(cause);
      return Promise.reject(
        new ShardlineError('ERR_JOURNAL_COMMIT', `SQLite commit failed: ${String(cause)}`, {
          cause,
        }),
      );
    } finally {
      traceHandoff('written');
      if (ticket !== 0n) this.#walSync!.written(ticket);
      this.#writeLock?.unlock();
    }
    if (ticket !== 0n) {
      try {
        this.#walSync!.syncThrough(ticket);
      } catch (cause) {
        // The commit is visible but maybe not durable, and the kernel may have dropped the
        // pages it failed to write: stop committing (readiness goes 503) until a restart,
        // which fsyncs the WAL again before anything is read or answered.
        this.#walSyncFailure = cause as Error;
        return Promise.reject(
          new ShardlineError('ERR_JOURNAL_COMMIT', `fsync of the WAL failed: ${String(cause)}`, {
            cause,
          }),
        );
      }
    }
    traceHandoff('synced');
    this.#rememberHeads(heads);
    return Promise.resolve();
  }

  /** Records a committed group's stream heads, dropping the least recently committed. */
  #rememberHeads(committed: Map<string, StreamHead>): void {
    for (const [stream, head] of committed) {
      this.#heads.delete(stream);
      this.#heads.set(stream, head);
    }
    for (const stream of this.#heads.keys()) {
      if (this.#heads.size <= HEAD_CACHE_STREAMS) break;
      this.#heads.delete(stream);
    }
  }

  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    const rows = this.#readTx(() =>
      this.#rowsIn(
        this.#rowsBetween,
        stream,
        this.#rangesFrom(stream, this.#storedHead(stream), fromSeq, limit),
      ),
    );
    return this.#settled(
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
    this.#walSync?.close();
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
 * Writes zeros past the end of the WAL, up to the size it keeps under steady writes, before any
 * writer starts. A commit that grows the file makes its fdatasync write the file's new size and
 * blocks through ext4's journal as well; one that overwrites blocks already written does not
 * (0.35 against 0.22 ms at p50 on the development VM's disk). SQLite starts the WAL over from
 * its beginning and never reads past the last valid frame, so the zeros are never taken for
 * frames, and a WAL left by a crash keeps its frames. PostgreSQL zero-fills its WAL segments for
 * the same reason. Real zeros, not fallocate: writing into an allocated but unwritten extent is
 * a metadata change too. It costs 35–40 ms at start-up here.
 */
function presizeWal(walPath: string): void {
  const fd = openSync(walPath, 'r+');
  try {
    let size = fstatSync(fd).size;
    if (size >= WAL_PRESIZED_BYTES) return;
    const zeros = Buffer.alloc(1 << 20);
    while (size < WAL_PRESIZED_BYTES) {
      size += writeSync(fd, zeros, 0, Math.min(zeros.length, WAL_PRESIZED_BYTES - size), size);
    }
    fdatasyncSync(fd);
  } catch {
    // An optimisation only (a full disk, say): the zeros written so far are harmless, and
    // commits grow the WAL as they would have; a disk that is really full fails them clearly.
  } finally {
    closeSync(fd);
  }
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

/** Options of the SQLite journal when a shard worker builds it (see `laneJournals`). */
export interface SqliteJournalOptions {
  dataDir: string;
  cacheMiB: number;
  /** From `SharedMutex.create()`: shared by every worker writing the file. */
  writeLock: Int32Array;
  /** From `WalSync.create()`: shared by every worker writing the file and its reader. */
  walSync: BigInt64Array;
}

/**
 * The journals of a shard worker's commit lanes (one: SQLite writers take turns on one file
 * anyway), which the worker imports by module path.
 */
export function laneJournals(
  options: SqliteJournalOptions,
  context: { workerIndex: number },
): () => SqliteJournal {
  return () =>
    new SqliteJournal(
      options.dataDir,
      options.cacheMiB,
      new SharedMutex(options.writeLock, context.workerIndex + 1),
      false,
      options.walSync,
    );
}
