/**
 * The outgoing queue: events waiting to be sent, cut into batches.
 *
 * Why better-queue: it already does the three things this queue must do, and does them
 * together. It batches (`batchSize`: cut a batch once that many tasks wait), it lingers
 * (`batchDelay`: otherwise wait that long for more before cutting a smaller one), and it limits
 * how many batches are in process at once (`concurrent`), a batch being in process from the
 * moment it is cut until its `process` callback is called, which the client does only when the
 * batch's events all have their final results. `concurrent` is kept equal to the server's
 * credit window, so the batches in flight never exceed the credits (the client checks the
 * credits again before each send, for the moments around a reconnect).
 *
 * What better-queue does not do is cut by bytes. Its storage is pluggable, and `takeFirstN` is
 * where a batch is cut, so `BatchStore` below cuts at `maxBatchBytes` as well as at
 * `maxBatchEvents`, and never splits an `EventGroup`.
 *
 * better-queue 3.8.12 is pinned. Two of its internals are used, and only here:
 * - `concurrent` is written when the credit window changes (it is read at every scheduling
 *   decision; the constructor option is only its initial value);
 * - `_processNextIfAllowed()` cuts a batch now instead of at the end of the linger: for a full
 *   batch (better-queue counts tasks, not events or bytes) and for `flush()`.
 * The flush and byte-cut tests fail if either stops working.
 *
 * Browsers: better-queue is CommonJS and requires `events` and `util`; bundlers must provide
 * them (see the README). Its scheduler is given `queueMicrotask` instead of `setImmediate`, which
 * browsers lack; this also lets each step of a batch run without waiting for a turn of the
 * event loop.
 */
import BetterQueue from 'better-queue';
import type { EventGroup, PendingEvent } from './pending.js';

/** The better-queue internals used here (see the module comment). */
interface BetterQueueInternals {
  concurrent: number;
  _batchTimeoutId: ReturnType<typeof setTimeout> | null;
  _processNextIfAllowed(): void;
}

type Batch = Record<string, EventGroup>;
type Callback<T = unknown> = (error: unknown, value?: T) => void;

/**
 * better-queue's storage, in memory, cutting batches by events and bytes. Tasks are never
 * re-queued under the same id (the client retries without better-queue), so `getTask` finds
 * nothing and better-queue never merges tasks.
 */
function hasExpectedSeq(event: PendingEvent): boolean {
  return event.input.expectedSeq !== undefined && event.input.expectedSeq !== -1;
}

/**
 * The server commits the events of one stream in one batch all or none, so a failed
 * `expectedSeq` would fail every other call's events of that stream in the batch too. Calls
 * stay independent: a group that shares a stream with the batch is cut into the next batch when
 * either side carries an `expectedSeq` for it.
 */
function couplesStreams(group: EventGroup, streams: Set<string>, guarded: Set<string>): boolean {
  for (const event of group.events) {
    const stream = event.input.stream;
    if (guarded.has(stream) || (hasExpectedSeq(event) && streams.has(stream))) return true;
  }
  return false;
}

class BatchStore {
  readonly #maxBatchEvents: number;
  readonly #maxBatchBytes: number;
  #queue: EventGroup[] = [];
  #head = 0;
  readonly #locked = new Map<string, Batch>();
  #nextLock = 1;
  /** Events and bytes waiting, not yet cut into a batch. */
  events = 0;
  bytes = 0;
  onPut: () => void = () => undefined;
  onRelease: () => void = () => undefined;

  constructor(maxBatchEvents: number, maxBatchBytes: number) {
    this.#maxBatchEvents = maxBatchEvents;
    this.#maxBatchBytes = maxBatchBytes;
  }

  get length(): number {
    return this.#queue.length - this.#head;
  }

  connect(cb: Callback<number>): void {
    cb(null, this.length);
  }

  getRunningTasks(cb: Callback<Record<string, Batch>>): void {
    cb(null, {});
  }

  getTask(_taskId: string, cb: Callback<EventGroup | undefined>): void {
    cb(null, undefined);
  }

  putTask(_taskId: string, group: EventGroup, _priority: unknown, cb: Callback): void {
    this.#queue.push(group);
    this.events += group.events.length;
    this.bytes += group.bytes;
    cb(null);
    this.onPut();
  }

  deleteTask(taskId: string, cb: () => void): void {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const group = this.#queue[i]!;
      if (group.taskId !== taskId) continue;
      this.#queue.splice(i, 1);
      this.events -= group.events.length;
      this.bytes -= group.bytes;
      break;
    }
    cb();
  }

  /** Cuts a batch: up to `n` groups, within the event and byte limits (at least one group). */
  takeFirstN(n: number, cb: Callback<string>): void {
    const lockId = String(this.#nextLock++);
    const batch: Batch = {};
    let taken = 0;
    let events = 0;
    let bytes = 0;
    const streams = new Set<string>();
    const guarded = new Set<string>();
    while (taken < n && this.#head < this.#queue.length) {
      const group = this.#queue[this.#head]!;
      if (
        taken > 0 &&
        (events + group.events.length > this.#maxBatchEvents ||
          bytes + group.bytes > this.#maxBatchBytes ||
          couplesStreams(group, streams, guarded))
      ) {
        break;
      }
      for (const event of group.events) {
        streams.add(event.input.stream);
        if (hasExpectedSeq(event)) guarded.add(event.input.stream);
      }
      // Task ids are not integer-like ("g1", "g2"), so the batch object keeps insertion order.
      batch[group.taskId] = group;
      this.#head++;
      taken++;
      events += group.events.length;
      bytes += group.bytes;
    }
    this.events -= events;
    this.bytes -= bytes;
    // Compact once the consumed prefix dominates, so that taking stays O(1) amortised.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (taken > 0) this.#locked.set(lockId, batch);
    cb(null, lockId);
  }

  takeLastN(n: number, cb: Callback<string>): void {
    this.takeFirstN(n, cb); // never used: the queue is FIFO
  }

  getLock(lockId: string, cb: Callback<Batch | undefined>): void {
    cb(null, this.#locked.get(lockId));
  }

  releaseLock(lockId: string, cb: Callback): void {
    this.#locked.delete(lockId);
    cb(null);
    this.onRelease();
  }
}

export interface OutgoingQueueLimits {
  maxBatchEvents: number;
  maxBatchBytes: number;
  lingerMs: number;
}

/**
 * Cuts queued groups into batches and hands each to `dispatch`, at most `window` at a time. A
 * batch holds its slot until `dispatch` calls `done`.
 */
export class OutgoingQueue {
  readonly #queue: BetterQueue<EventGroup>;
  readonly #internals: BetterQueueInternals;
  readonly #store: BatchStore;
  readonly #limits: OutgoingQueueLimits;
  #flushing = false;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;

  constructor(
    limits: OutgoingQueueLimits,
    window: number,
    dispatch: (events: PendingEvent[], done: () => void) => void,
  ) {
    this.#limits = limits;
    this.#store = new BatchStore(limits.maxBatchEvents, limits.maxBatchBytes);
    this.#store.onPut = () => this.#cutIfDue();
    this.#store.onRelease = () => this.#cutIfDue();
    this.#queue = new BetterQueue<EventGroup>(
      (tasks: EventGroup | EventGroup[], cb: () => void) => {
        const groups = Array.isArray(tasks) ? tasks : [tasks];
        const events: PendingEvent[] = [];
        for (const group of groups) for (const event of group.events) events.push(event);
        dispatch(events, () => cb());
      },
      {
        id: 'taskId',
        batchSize: limits.maxBatchEvents,
        // better-queue treats 0 as "no delay", which is what lingerMs 0 means.
        batchDelay: limits.lingerMs,
        concurrent: Math.max(1, window),
        store: this.#store as unknown as BetterQueue.Store<EventGroup>,
        // Typed as a BetterQueue option only through its index signature.
        ...({ setImmediate: (task: () => void) => queueMicrotask(task) } as object),
      },
    );
    this.#internals = this.#queue as unknown as BetterQueueInternals;
  }

  /** Events waiting in the queue, not yet cut into a batch. */
  get queuedEvents(): number {
    return this.#store.events;
  }

  push(group: EventGroup): void {
    this.#queue.push(group);
  }

  /** Follows the server's credit window (at least 1, so that a 0 window does not wedge). */
  setWindow(window: number): void {
    this.#internals.concurrent = Math.max(1, window);
    this.#cut();
  }

  /** While on, batches are cut as soon as there are events and a free slot, without linger. */
  setFlushing(flushing: boolean): void {
    this.#flushing = flushing;
    if (flushing) this.#cutSoon();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const timer = this.#internals._batchTimeoutId;
    if (timer !== null) clearTimeout(timer);
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#queue.destroy(() => undefined);
  }

  #cutIfDue(): void {
    if (
      this.#store.events >= this.#limits.maxBatchEvents ||
      this.#store.bytes >= this.#limits.maxBatchBytes
    ) {
      this.#cut();
    } else if (this.#flushing) {
      this.#cutSoon();
    }
  }

  /**
   * Cuts after the events pushed so far reached the store. better-queue stores each push from
   * a `setTimeout(0)`; a timer set now fires after those, so they all share the batch.
   */
  #cutSoon(): void {
    if (this.#flushTimer !== null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#cut();
    }, 0);
  }

  #cut(): void {
    if (this.#destroyed || this.#store.length === 0) return;
    this.#internals._processNextIfAllowed();
  }
}
