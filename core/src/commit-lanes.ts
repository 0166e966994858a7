/**
 * Commit lanes: several shard runtimes on one thread, each owning a fixed part of that thread's
 * shards and committing through its own journal.
 *
 * A runtime keeps one commit in flight, and decides its next group only after that commit
 * returned. With the MySQL journal, the thread then sits idle while the database works, and the
 * database sits idle while the thread decides and encodes the next group. With two lanes, one
 * lane decides while the other's commit is in flight, so the thread and the database overlap.
 * Each lane is a whole `ShardRuntime`: one commit in flight per lane, decisions that always see
 * their own lane's last commit, and no state shared between lanes (a stream's shard belongs to
 * exactly one lane, so its actor, its seq and its shard's offsets live there). Below the port,
 * the MySQL journals of a thread's lanes share one writer connection and take turns on it
 * (server/src/journal/mysql-writer.ts).
 *
 * A batch that spans lanes is split by lane and answered once every lane answered its part.
 */
import { EventResults, type DecodedEvent, type Status } from '../../protocol/index.js';
import type { EventRuntime, WorkerStats } from './event-runtime.js';
import type { Journal, JournalEvent } from './journal.js';
import { shardOf } from './routing.js';
import {
  DEFAULT_RUNTIME_OPTIONS,
  ShardRuntime,
  type ShardRuntimeOptions,
} from './shard-runtime.js';
import type { StreamState } from './stream-actor.js';

/**
 * The lane of a shard, among `lanes` lanes of a thread that owns the shards `s` with
 * `s % threads === thread`: consecutive owned shards go to consecutive lanes.
 */
export function laneOfShard(shard: number, threads: number, lanes: number): number {
  return Math.floor(shard / threads) % lanes;
}

/**
 * `lanes` runtimes, each on a journal of its own from `journal()`, for a thread that owns the
 * shards `s % threads === thread`. The thread's limits (live actors, queued events and bytes)
 * are shared out between the lanes, so that they still hold for the thread as a whole.
 */
export function createCommitLanes(
  lanes: number,
  journal: () => Journal,
  options: Partial<ShardRuntimeOptions>,
  threads: number,
): CommitLanes {
  const full = { ...DEFAULT_RUNTIME_OPTIONS, ...options };
  const share = (limit: number): number => Math.ceil(limit / lanes);
  const laneOptions: ShardRuntimeOptions = {
    ...full,
    maxLiveActors: share(full.maxLiveActors),
    maxQueuedEvents: share(full.maxQueuedEvents),
    maxQueuedBytes: share(full.maxQueuedBytes),
  };
  const runtimes = Array.from({ length: lanes }, () => new ShardRuntime(journal(), laneOptions));
  return new CommitLanes(runtimes, full.shards, threads);
}

export class CommitLanes implements EventRuntime {
  readonly retainsEvents = true;
  readonly #lanes: readonly ShardRuntime[];
  readonly #shards: number;
  readonly #threads: number;

  /**
   * `lanes[i]` owns this thread's shards `s` with `laneOfShard(s, threads, lanes.length) === i`;
   * `threads` is the number of threads the shards are spread over (1 on the uWS thread).
   */
  constructor(lanes: readonly ShardRuntime[], shards: number, threads: number) {
    if (lanes.length === 0) throw new Error('CommitLanes needs at least one lane');
    this.#lanes = lanes;
    this.#shards = shards;
    this.#threads = threads;
  }

  get lanes(): readonly ShardRuntime[] {
    return this.#lanes;
  }

  laneOf(stream: string): ShardRuntime {
    return this.#lanes[this.#laneIndex(stream)]!;
  }

  #laneIndex(stream: string): number {
    return laneOfShard(shardOf(stream, this.#shards), this.#threads, this.#lanes.length);
  }

  /** One lane at a time: the first runs the journal's migrations before the others connect. */
  async start(): Promise<void> {
    for (const lane of this.#lanes) await lane.start();
  }

  append(
    events: DecodedEvent[],
    correlationId: string | null,
    done: (results: EventResults) => void,
  ): void {
    const lanes = this.#lanes;
    if (lanes.length === 1 || events.length === 0) {
      lanes[0]!.append(events, correlationId, done);
      return;
    }
    const byLane: (number[] | undefined)[] = new Array<number[] | undefined>(lanes.length);
    for (let i = 0; i < events.length; i++) {
      const lane = this.#laneIndex(events[i]!.stream);
      (byLane[lane] ??= []).push(i);
    }
    const only = byLane.findIndex((indices) => indices?.length === events.length);
    if (only >= 0) {
      lanes[only]!.append(events, correlationId, done);
      return;
    }
    const merged = new EventResults(events.length);
    // Starts at 1 for this loop, as the worker pool does: a lane may answer at once (draining,
    // overloaded), and the batch must not be answered before every lane was asked.
    let remaining = 1;
    const settle = (): void => {
      if (--remaining === 0) done(merged);
    };
    for (let lane = 0; lane < lanes.length; lane++) {
      const indices = byLane[lane];
      if (indices === undefined) continue;
      remaining++;
      const part = indices.map((i) => events[i]!);
      lanes[lane]!.append(part, correlationId, (results) => {
        for (let k = 0; k < indices.length; k++) {
          const i = indices[k]!;
          merged.set(
            i,
            results.status[k] as Status,
            results.seq[k]!,
            results.shard[k]!,
            results.offset[k]!,
          );
          const error = results.error.get(k);
          if (error !== undefined) merged.error.set(i, error);
        }
        settle();
      });
    }
    settle();
  }

  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    return this.laneOf(stream).readStream(stream, fromSeq, limit);
  }

  streamState(stream: string): Promise<StreamState | null> {
    return this.laneOf(stream).streamState(stream);
  }

  isReady(): boolean {
    return this.#lanes.every((lane) => lane.isReady());
  }

  /** True when no lane has a group queued, scheduled or committing. */
  isIdle(): boolean {
    return this.#lanes.every((lane) => lane.isIdle());
  }

  /** Passivates the actors idle for `idleMs` in every lane; returns how many. */
  passivateIdle(idleMs: number): number {
    let passivated = 0;
    for (const lane of this.#lanes) passivated += lane.passivateIdle(idleMs);
    return passivated;
  }

  /** The lanes share a thread, so they report as one worker. */
  workerStats(): WorkerStats[] {
    if (this.#lanes.length === 1) return this.#lanes[0]!.workerStats();
    const [first, ...rest] = this.#lanes.map((lane) => lane.workerStats()[0]!);
    const total = { ...first! };
    for (const stats of rest) {
      total.eventsProcessed += stats.eventsProcessed;
      total.groupsCommitted += stats.groupsCommitted;
      total.groupsRedecided += stats.groupsRedecided;
      total.commitFailures += stats.commitFailures;
      total.commitLatencyTotalMs += stats.commitLatencyTotalMs;
      total.commitLatencyLastMs = Math.max(total.commitLatencyLastMs, stats.commitLatencyLastMs);
      total.liveActors += stats.liveActors;
      total.actorRestarts += stats.actorRestarts;
      total.journalAvailable &&= stats.journalAvailable;
      // The lanes share one writer connection, so each reports the same time.
      if (stats.journalBusyMs !== null) {
        total.journalBusyMs = Math.max(total.journalBusyMs ?? 0, stats.journalBusyMs);
      }
    }
    return [total];
  }

  async drain(): Promise<void> {
    await Promise.all(this.#lanes.map((lane) => lane.drain()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#lanes.map((lane) => lane.close()));
  }
}
