/**
 * The uWS-thread side of the shard workers: routes each event to the worker owning its shard
 * (`shard % workers`) through that worker's inbound ring, collects results from its outbound
 * ring, and supervises the threads.
 *
 * Never blocks: a full ring answers `overloaded`, and results arrive through
 * `Atomics.waitAsync`. A worker that dies is restarted with fresh rings; every batch it had not
 * answered gets `unavailable` (retryable with the same ids), and nothing it acknowledged is
 * lost because it acknowledged only after commits.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EventResults, Status, type DecodedEvent } from '../../protocol/index.js';
import type { EventRuntime, WorkerStats } from './event-runtime.js';
import { rejectInvalid, type EventLimits } from './event-limits.js';
import type { Journal, JournalEvent } from './journal.js';
import { currentCore } from './cpu-affinity.js';
import { createRingBuffer, RingConsumer, RingProducer } from './ring.js';
import { shardOf } from './routing.js';
import { readStreamState, type ShardRuntimeOptions } from './shard-runtime.js';
import { readResultsInto, readResultsToken, writeAppend } from './shard-records.js';
import type { ShardWorkerData, WorkerMessage } from './shard-worker.js';
import type { StreamState } from './stream-actor.js';
import { createCounters, WorkerCounter } from './worker-counters.js';
import { SharedMutex } from './shared-mutex.js';
import { traceHandoff } from './handoff-trace.js';

export interface WorkerPoolOptions {
  workers: number;
  shards: number;
  pin: boolean;
  journalModule: string;
  journalOptions: unknown;
  /**
   * Commit lanes per worker (`core/src/commit-lanes.ts`), each with its own journal from
   * `journalModule`. 1 for SQLite, whose writers take turns on one file anyway.
   */
  commitLanes: number;
  /** A journal on this thread, for reads and state; the workers own all writes. */
  reader: Journal;
  runtimeOptions: Partial<ShardRuntimeOptions> & { limits: EventLimits };
  /** Bytes of each inbound ring (a power of two); results rings get a quarter. */
  ringBytes: number;
  housekeepingMs: number;
  idlePassivateMs: number;
  /**
   * Whether each worker runs its hot path on a scratch journal before it starts (warm-up.ts).
   * Only the first start: a restarted worker serves its shards again at once.
   */
  warmUp: boolean;
  /** Heap limit of each worker; an out-of-memory worker dies alone and is restarted. */
  workerHeapMiB: number;
  /**
   * The lock that serialises SQLite writers (from `SharedMutex.create()`), also passed to the
   * workers in `journalOptions`; the pool frees it when a worker dies holding it.
   */
  writeLock: Int32Array | null;
  /** Supervision events, for logs. */
  onWorkerEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | {
      type: 'ready';
      worker: number;
      tid: number;
      cpusAllowed: string;
      pinFailure: string | null;
      warmUpMs: number | null;
      warmUpFailure: string | null;
    }
  | { type: 'died'; worker: number; exitCode: number; error: string | null; unanswered: number }
  | { type: 'restarting'; worker: number; delayMs: number };

/** One batch waiting for the results of one or more workers. */
interface PendingAppend {
  results: EventResults;
  remaining: number;
  done: (results: EventResults) => void;
}

/** The part of a batch sent to one worker: result k belongs to `indices[k]` of the batch. */
interface SubBatch {
  append: PendingAppend;
  indices: number[];
}

class WorkerSlot {
  readonly index: number;
  readonly counters = createCounters();
  worker: Worker | null = null;
  inbound!: RingProducer;
  outbound!: RingConsumer;
  ready = false;
  generation = 0;
  tid = -1;
  cpusAllowed = '';
  /** The core this worker is pinned to, or -1 when it is not pinned. */
  core = -1;
  readonly pending = new Map<number, SubBatch>();
  consecutiveCrashes = 0;
  /** False until the first start succeeded: a worker that cannot start is not restarted. */
  everReady = false;

  constructor(index: number) {
    this.index = index;
  }
}

const WORKER_URL = new URL('./shard-worker.js', import.meta.url);
const RESTART_BACKOFF_MAX_MS = 5000;

export class ShardWorkerPool implements EventRuntime {
  /** Events are copied into the rings before `append` returns. */
  readonly retainsEvents = false;
  readonly #options: WorkerPoolOptions;
  readonly #slots: WorkerSlot[];
  #nextToken = 1;
  #draining = false;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.workers }, (_, i) => new WorkerSlot(i));
  }

  /** The number of CPU cores, the default worker count. */
  static defaultWorkers(): number {
    return availableParallelism();
  }

  /** Each worker's thread id and allowed CPUs, as the worker reported them when it started. */
  get workers(): readonly { index: number; tid: number; cpusAllowed: string; ready: boolean }[] {
    return this.#slots.map((slot) => ({
      index: slot.index,
      tid: slot.tid,
      cpusAllowed: slot.cpusAllowed,
      ready: slot.ready,
    }));
  }

  async start(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#spawn(slot)));
  }

  #spawn(slot: WorkerSlot): Promise<void> {
    const inbound = createRingBuffer(this.#options.ringBytes);
    const outbound = createRingBuffer(Math.max(64 * 1024, this.#options.ringBytes / 4));
    slot.inbound = new RingProducer(inbound);
    slot.outbound = new RingConsumer(outbound);
    slot.generation++;
    const generation = slot.generation;
    const cores = availableParallelism();
    slot.core = this.#options.pin ? slot.index % cores : -1;
    const workerData: ShardWorkerData = {
      index: slot.index,
      inbound,
      outbound,
      counters: slot.counters,
      pinCore: slot.core < 0 ? null : slot.core,
      journalModule: this.#options.journalModule,
      journalOptions: this.#options.journalOptions,
      commitLanes: this.#options.commitLanes,
      workers: this.#options.workers,
      runtimeOptions: this.#options.runtimeOptions,
      housekeepingMs: this.#options.housekeepingMs,
      idlePassivateMs: this.#options.idlePassivateMs,
      warmUp: this.#options.warmUp && generation === 1,
    };
    const worker = new Worker(WORKER_URL, {
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.#options.workerHeapMiB },
    });
    slot.worker = worker;
    let lastError: string | null = null;
    worker.on('error', (error) => {
      lastError = error.message;
    });
    return new Promise((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type !== 'ready') return;
        slot.ready = true;
        slot.everReady = true;
        slot.tid = message.tid;
        slot.cpusAllowed = message.cpusAllowed;
        this.#options.onWorkerEvent?.({
          type: 'ready',
          worker: slot.index,
          tid: message.tid,
          cpusAllowed: message.cpusAllowed,
          pinFailure: message.pinFailure,
          warmUpMs: message.warmUpMs,
          warmUpFailure: message.warmUpFailure,
        });
        void this.#collect(slot, generation);
        resolve();
      });
      worker.once('exit', (exitCode) => {
        if (!slot.ready)
          reject(
            new Error(
              `shard worker ${slot.index} failed to start: ${lastError ?? `exit code ${exitCode}`}`,
            ),
          );
        this.#onExit(slot, generation, exitCode, lastError);
      });
    });
  }

  /** Moves results from a worker's outbound ring to their batches, until the worker is gone. */
  async #collect(slot: WorkerSlot, generation: number): Promise<void> {
    const ring = slot.outbound;
    while (slot.generation === generation) {
      const seen = ring.writeCounter();
      this.#drainResults(slot, ring);
      if (this.#closed && slot.pending.size === 0) return;
      await ring.waitAsync(seen, 1000);
    }
  }

  #drainResults(slot: WorkerSlot, ring: RingConsumer): void {
    while (ring.next()) {
      traceHandoff('collected', slot.index);
      const token = readResultsToken(ring);
      const sub = slot.pending.get(token);
      if (sub !== undefined) {
        readResultsInto(ring, sub.append.results, sub.indices);
        slot.pending.delete(token);
        this.#settle(sub.append);
      }
      ring.release();
    }
    if (slot.pending.size === 0) this.#wakeIfIdle();
  }

  #settle(append: PendingAppend): void {
    if (--append.remaining === 0) append.done(append.results);
  }

  #onExit(slot: WorkerSlot, generation: number, exitCode: number, error: string | null): void {
    if (slot.generation !== generation) return;
    slot.ready = false;
    slot.worker = null;
    // Results the worker published before it died are valid: deliver them first.
    this.#drainResults(slot, slot.outbound);
    if (this.#options.writeLock !== null)
      SharedMutex.forceRelease(this.#options.writeLock, slot.index + 1);
    const unanswered = slot.pending.size;
    for (const sub of slot.pending.values()) {
      for (const i of sub.indices) {
        sub.append.results.fail(
          i,
          Status.unavailable,
          'the shard worker restarted; retry with the same ids',
        );
      }
      this.#settle(sub.append);
    }
    slot.pending.clear();
    this.#wakeIfIdle();
    if (this.#closed) return;
    this.#options.onWorkerEvent?.({
      type: 'died',
      worker: slot.index,
      exitCode,
      error,
      unanswered,
    });
    slot.counters[WorkerCounter.workerRestarts]!++;
    const delayMs = Math.min(RESTART_BACKOFF_MAX_MS, 50 * 2 ** slot.consecutiveCrashes++);
    this.#options.onWorkerEvent?.({ type: 'restarting', worker: slot.index, delayMs });
    setTimeout(() => {
      this.#spawn(slot).then(
        () => {
          slot.consecutiveCrashes = 0;
        },
        () => undefined,
      );
    }, delayMs).unref();
  }

  append(
    events: DecodedEvent[],
    correlationId: string | null,
    done: (results: EventResults) => void,
  ): void {
    const results = new EventResults(events.length);
    if (this.#draining) {
      done(EventResults.all(events.length, Status.unavailable, 'server is shutting down'));
      return;
    }
    rejectInvalid(events, this.#options.runtimeOptions.limits, results);
    const workers = this.#slots.length;
    const byWorker: (number[] | undefined)[] = new Array<number[] | undefined>(workers);
    for (let i = 0; i < events.length; i++) {
      if (results.error.has(i)) continue;
      const w = shardOf(events[i]!.stream, this.#options.shards) % workers;
      (byWorker[w] ??= []).push(i);
    }
    const append: PendingAppend = { results, remaining: 1, done };
    const written: WorkerSlot[] = [];
    for (let w = 0; w < workers; w++) {
      const indices = byWorker[w];
      if (indices === undefined) continue;
      const slot = this.#slots[w]!;
      if (!slot.ready) {
        for (const i of indices)
          results.fail(i, Status.unavailable, 'the shard worker is restarting; retry');
        continue;
      }
      const token = this.#nextToken;
      this.#nextToken = (this.#nextToken + 1) >>> 0 || 1;
      if (!writeAppend(slot.inbound, token, events, indices, correlationId)) {
        for (const i of indices)
          results.fail(i, Status.overloaded, 'the shard worker queue is full');
        continue;
      }
      append.remaining++;
      slot.pending.set(token, { append, indices });
      written.push(slot);
    }
    traceHandoff('routed');
    this.#wakeWorkers(written);
    this.#settle(append);
  }

  /**
   * Wakes the workers a batch was written to, the one pinned to this thread's core last. The
   * kernel runs a woken thread at once on its core, preempting this one; woken first, that
   * worker held back the wake-up of the other for its whole decision and commit (p90 1.0 ms
   * from frame to the last worker awake at 10,000 events/s, 0.29 ms once woken last).
   */
  #wakeWorkers(slots: WorkerSlot[]): void {
    const here = slots.length > 1 ? currentCore() : -1;
    for (const slot of slots) if (slot.core !== here) slot.inbound.wakeConsumer();
    for (const slot of slots) if (slot.core === here) slot.inbound.wakeConsumer();
  }

  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    return this.#options.reader.readStream(stream, fromSeq, limit);
  }

  streamState(stream: string): Promise<StreamState | null> {
    return readStreamState(this.#options.reader, stream);
  }

  workerStats(): WorkerStats[] {
    return this.#slots.map((slot) => {
      const c = slot.counters;
      return {
        worker: slot.index,
        ringBytes: slot.ready ? slot.inbound.used() : 0,
        eventsProcessed: c[WorkerCounter.eventsProcessed]!,
        groupsCommitted: c[WorkerCounter.groupsCommitted]!,
        groupsRedecided: c[WorkerCounter.groupsRedecided]!,
        commitFailures: c[WorkerCounter.commitFailures]!,
        commitLatencyTotalMs: c[WorkerCounter.commitLatencyTotalMs]!,
        commitLatencyLastMs: c[WorkerCounter.commitLatencyLastMs]!,
        liveActors: c[WorkerCounter.liveActors]!,
        actorRestarts: c[WorkerCounter.actorRestarts]!,
        workerRestarts: c[WorkerCounter.workerRestarts]!,
        journalAvailable: slot.ready && c[WorkerCounter.journalAvailable] === 1,
        journalBusyMs: Number.isNaN(c[WorkerCounter.journalBusyMs])
          ? null
          : c[WorkerCounter.journalBusyMs]!,
      };
    });
  }

  isReady(): boolean {
    if (this.#draining) return false;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.counters[WorkerCounter.journalAvailable] === 0) return false;
    }
    return true;
  }

  #inFlight(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.pending.size;
    return count;
  }

  #wakeIfIdle(): void {
    if (this.#inFlight() === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inFlight() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drains, lets every worker passivate its actors and close its journal, then stops them. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        if (worker === null) return;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.postMessage({ type: 'close' });
        slot.inbound.wake();
        await exited;
      }),
    );
    await this.#options.reader.close();
  }
}
