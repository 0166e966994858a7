import type { DecodedEvent, EventResults } from '../../protocol/index.js';
import type { JournalEvent } from './journal.js';
import type { StreamState } from './stream-actor.js';

/**
 * What the server needs from a shard runtime: the single-threaded `ShardRuntime`, or the
 * `ShardWorkerPool` that runs one per worker thread.
 */
export interface EventRuntime {
  /**
   * True when `append` keeps the events' `id` and `payload` views until `done` (the
   * single-threaded runtime queues them), so the caller must hand it memory it owns. False when
   * `append` copies them before it returns (the worker pool writes them into its rings), so a
   * caller may pass views into a buffer that dies right after, such as a uWS message.
   */
  readonly retainsEvents: boolean;
  start(): Promise<void>;
  /**
   * Appends a batch; `done` is called exactly once with one result per event, after the
   * commit, possibly synchronously. See `retainsEvents` for how long the events' views must
   * stay valid.
   */
  append(
    events: DecodedEvent[],
    correlationId: string | null,
    done: (results: EventResults) => void,
  ): void;
  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]>;
  streamState(stream: string): Promise<StreamState | null>;
  isReady(): boolean;
  /** One entry per shard worker (one for the single-threaded runtime); no message is sent. */
  workerStats(): WorkerStats[];
  /** Refuses new appends (`unavailable`) and resolves once every accepted one was answered. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** A worker's counters at one instant, for metrics and the dashboard. */
export interface WorkerStats {
  worker: number;
  /** Bytes waiting in the worker's inbound ring (0 for the single-threaded runtime). */
  ringBytes: number;
  eventsProcessed: number;
  groupsCommitted: number;
  /** Groups decided again with journal id lookups after the optimistic decision missed. */
  groupsRedecided: number;
  commitFailures: number;
  commitLatencyTotalMs: number;
  commitLatencyLastMs: number;
  liveActors: number;
  actorRestarts: number;
  workerRestarts: number;
  journalAvailable: boolean;
  /** `Journal.writerBusyMs` of the worker's journal, or null where the journal has none. */
  journalBusyMs: number | null;
}
