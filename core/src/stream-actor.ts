/**
 * The entity actor of one stream: the single writer of that stream's seq, and the fold of its
 * events into a small state (seq, counts by type, first and last timestamp).
 *
 * An actor knows nothing of threads or storage. The shard runtime asks it for duplicates among
 * its recent ids, has it accept the events of the group being decided (pending until their
 * commit), feeds it the committed ones (`apply`) or drops the pending ones, and snapshots it.
 */
import type { EventPosition, StreamRecovery } from './journal.js';
import { RecentIds } from './recent-ids.js';

/** Distinct event types counted individually in the state; further types count as `(other)`. */
export const MAX_COUNTED_TYPES = 256;
const OTHER_TYPES = '(other)';

/** The actor state as returned by `GET /v1/streams/{stream}` and stored in snapshots. */
export interface StreamState {
  seq: number;
  eventCounts: Record<string, number>;
  /** Milliseconds since the epoch; 0 while the stream is empty. */
  firstTimestamp: number;
  lastTimestamp: number;
}

export class StreamActor {
  readonly stream: string;
  /** Last committed seq; 0 for an empty stream. */
  seq: number;
  firstTimestamp: number;
  lastTimestamp: number;
  /** The seq of the latest snapshot written (or queued) for this actor. */
  snapshotSeq: number;
  /** When a group last touched this actor (ms since the epoch), for idle passivation. */
  lastUsedMs: number;
  /** When the runtime last moved this actor to the end of its least-recently-used order. */
  lruMovedMs = 0;
  /**
   * Scratch of the runtime's decision pass: this stream's events in the batch being decided are
   * the first `batchCount` entries of `batchIndices`. A count rather than `length = 0`, because
   * V8 drops an array's backing store when its length is set to 0, and every batch would
   * allocate it again.
   */
  batchMark = 0;
  batchCount = 0;
  readonly batchIndices: number[] = [];
  readonly #eventCounts: Map<string, number>;
  /** The last committed ids, and the ids accepted in the group being decided. */
  readonly #recent: RecentIds;

  constructor(stream: string, recentCapacity: number) {
    this.stream = stream;
    this.seq = 0;
    this.firstTimestamp = 0;
    this.lastTimestamp = 0;
    this.snapshotSeq = 0;
    this.lastUsedMs = 0;
    this.#eventCounts = new Map();
    this.#recent = new RecentIds(recentCapacity);
  }

  /** Rebuilds an actor from its latest snapshot plus a replay of the events after it. */
  static recover(recovery: StreamRecovery, recentCapacity: number): StreamActor {
    const actor = new StreamActor(recovery.stream, recentCapacity);
    if (recovery.snapshot !== null) {
      const state = JSON.parse(recovery.snapshot.state) as StreamState;
      actor.seq = state.seq;
      actor.firstTimestamp = state.firstTimestamp;
      actor.lastTimestamp = state.lastTimestamp;
      actor.snapshotSeq = state.seq;
      for (const [type, count] of Object.entries(state.eventCounts)) {
        actor.#eventCounts.set(type, count);
      }
    }
    for (const event of recovery.replay) actor.#fold(event.seq, event.type, event.timestamp);
    for (const event of recovery.recent) actor.#recent.remember(event.id, event);
    return actor;
  }

  /**
   * True when every id this stream ever committed is in the recent window, so a miss there is
   * proof of a new id and the journal need not be asked.
   */
  knowsAllIds(): boolean {
    return this.seq <= this.#recent.capacity;
  }

  /** The seq the stream reaches with the events accepted in the group being decided. */
  get decidedSeq(): number {
    return this.seq + this.#recent.pending;
  }

  /** Events accepted in the group being decided, not committed yet. */
  get pending(): number {
    return this.#recent.pending;
  }

  /**
   * The entry of a recent committed event, or of an event accepted in the group being decided,
   * with this id; -1 if none. Read it with `positionOf`.
   */
  findRecent(id: Uint8Array): number {
    return this.#recent.find(id);
  }

  /** The position of an entry; its offset is 0 while an accepted event has none assigned. */
  positionOf(entry: number): EventPosition {
    return this.#recent.positionOf(entry);
  }

  offsetOf(entry: number): number {
    return this.#recent.offsetOf(entry);
  }

  /** Accepts an event in the group being decided, at the next seq; returns its entry. */
  accept(id: Uint8Array): number {
    return this.#recent.addPending(id, this.decidedSeq + 1);
  }

  assignPosition(entry: number, shard: number, offset: number): void {
    this.#recent.setPosition(entry, shard, offset);
  }

  /** Drops the newest accepted events until `keep` remain (a group or a batch undone). */
  dropPending(keep = 0): void {
    this.#recent.dropPending(keep);
  }

  /** Folds the oldest accepted event into the state once its group committed. */
  apply(position: EventPosition, type: string, timestamp: number): void {
    this.#fold(position.seq, type, timestamp);
    this.#recent.commitOldestPending();
  }

  #fold(seq: number, type: string, timestamp: number): void {
    this.seq = seq;
    if (this.firstTimestamp === 0) this.firstTimestamp = timestamp;
    this.lastTimestamp = timestamp;
    const counted = this.#eventCounts.has(type) || this.#eventCounts.size < MAX_COUNTED_TYPES;
    const key = counted ? type : OTHER_TYPES;
    this.#eventCounts.set(key, (this.#eventCounts.get(key) ?? 0) + 1);
  }

  state(): StreamState {
    return {
      seq: this.seq,
      eventCounts: Object.fromEntries(this.#eventCounts),
      firstTimestamp: this.firstTimestamp,
      lastTimestamp: this.lastTimestamp,
    };
  }
}
