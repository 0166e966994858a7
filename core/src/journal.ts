/**
 * The journal port: everything the shard runtime needs from durable storage. Back ends (SQLite
 * here, MySQL/MariaDB in its own module) implement it; the runtime never sees SQL.
 *
 * All methods may be called from one thread only, and `commit` is never called again before the
 * previous call settled (one commit in flight).
 */

import { ShardlineError } from '../../protocol/index.js';

/**
 * Thrown by `commit` when some rows break a unique constraint (a position, a stream seq or a
 * stream event id that is already taken). Nothing of the group was committed; `rows` holds the
 * indices (into `group.events`) of every offending row, so that the runtime can fail only those
 * events and commit the rest in a new group.
 */
export class JournalConflictError extends ShardlineError {
  readonly rows: number[];

  constructor(rows: number[], cause?: unknown) {
    super('ERR_JOURNAL_CONFLICT', `${rows.length} event(s) conflict with committed events`, {
      cause,
    });
    this.name = 'JournalConflictError';
    this.rows = rows;
  }
}

/** Where an event lives: its stream seq and its position (shard, offset). */
export interface EventPosition {
  seq: number;
  shard: number;
  offset: number;
}

/** One row of the `events` table, ready to be written. */
export interface JournalEvent {
  shard: number;
  offset: number;
  stream: string;
  seq: number;
  /** 16 bytes. */
  id: Uint8Array;
  type: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  correlationId: string | null;
  contentType: number;
  payload: Uint8Array;
}

/** A Buffer over the same memory as `bytes` (database drivers bind Buffers as BLOBs). */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** How many values `eventRowValues` writes. */
export const EVENT_ROW_VALUES = 10;

/**
 * The values of one `events` row in schema column order: shard, offset, stream, seq, event_id,
 * type, ts, correlation_id, content_type, payload. Every back end binds rows through this.
 * They are written into `target` from index `at`, so that a back end can fill one array of
 * many rows, or reuse one array for every row, instead of allocating an array per event.
 */
export function eventRowValues(
  e: JournalEvent,
  // Sized up front: an empty array written to index by index grows a backing store of 17.
  target: unknown[] = new Array<unknown>(EVENT_ROW_VALUES),
  at = 0,
): unknown[] {
  target[at] = e.shard;
  target[at + 1] = e.offset;
  target[at + 2] = e.stream;
  target[at + 3] = e.seq;
  target[at + 4] = bufferView(e.id);
  target[at + 5] = e.type;
  target[at + 6] = e.timestamp;
  target[at + 7] = e.correlationId;
  target[at + 8] = e.contentType;
  target[at + 9] = bufferView(e.payload);
  return target;
}

export interface SnapshotRecord {
  stream: string;
  seq: number;
  /** The serialised actor state (JSON text). */
  state: string;
}

/** One group commit: every row is written in one transaction, or none is. */
export interface CommitGroup {
  events: JournalEvent[];
  snapshots: SnapshotRecord[];
}

/** What the runtime needs to rebuild a stream's actor. */
export interface StreamRecovery {
  stream: string;
  snapshot: SnapshotRecord | null;
  /** The events after the snapshot, in seq order (type and timestamp are all the fold needs). */
  replay: { seq: number; type: string; timestamp: number }[];
  /** The ids of the stream's last `recentIds` events, oldest first, with their positions. */
  recent: (EventPosition & { id: Uint8Array })[];
}

export interface DuplicateLookup {
  stream: string;
  id: Uint8Array;
}

export interface Journal {
  /** `sqlite` or `mysql`, for logs and metrics. */
  readonly kind: string;
  /**
   * Applies migrations when allowed, and checks the schema version and the shard count. Throws
   * ShardlineError `ERR_JOURNAL_SCHEMA` or `ERR_JOURNAL_SHARDS` when they do not match.
   */
  open(shards: number): Promise<void>;
  /**
   * False while the back end is known to be unreachable (for example an open circuit breaker).
   * The runtime then answers appends `unavailable` at once and readiness reports 503.
   */
  isAvailable(): boolean;
  /** The highest committed offset of every shard that has events. */
  shardOffsets(): Promise<Map<number, number>>;
  loadStreams(streams: readonly string[], recentIds: number): Promise<StreamRecovery[]>;
  /** For each key, the committed event with that id in that stream, or null. */
  findEvents(keys: readonly DuplicateLookup[]): Promise<(EventPosition | null)[]>;
  /**
   * Writes the group in one transaction. Rejects with JournalConflictError (nothing written)
   * when rows break a unique constraint, or with another ShardlineError when the back end failed.
   */
  commit(group: CommitGroup): Promise<void>;
  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]>;
  /**
   * Milliseconds, since the journal was made, during which the database had this thread's
   * writes to work on (MySQL: a statement in flight on the writer connection, which the
   * thread's commit lanes share). Absent where the journal writes inside the calling thread
   * (SQLite), so that the time is the thread's own.
   */
  writerBusyMs?(): number;
  close(): Promise<void>;
}
