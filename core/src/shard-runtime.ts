/**
 * The shard runtime: routes events to their stream's actor, decides each event (dedupe,
 * expected seq, next seq, shard offset), group-commits the decisions to the journal and answers
 * every batch after its group's commit returned.
 *
 * Group commit: batches queue while a commit is in flight; when it settles, everything queued
 * (up to the group caps) becomes the next group, decided and committed in one transaction. There
 * is never more than one commit in flight, so decisions always see the state the previous
 * commit left behind, and nothing is applied to an actor before its commit returned.
 *
 * The runtime holds no thread-specific state: it runs wherever it is constructed.
 */
import { EventResults, ShardlineError, Status, type DecodedEvent } from '../../protocol/index.js';
import { DEFAULT_EVENT_LIMITS, rejectInvalid, type EventLimits } from './event-limits.js';
import type { EventRuntime, WorkerStats } from './event-runtime.js';
import {
  JournalConflictError,
  type EventPosition,
  type Journal,
  type JournalEvent,
  type SnapshotRecord,
} from './journal.js';
import { shardOf } from './routing.js';
import { StreamActor, type StreamState } from './stream-actor.js';

export interface ShardRuntimeOptions {
  shards: number;
  /** Write a snapshot of an actor every this many events. */
  snapshotEvery: number;
  /** Live actors kept in memory; the least recently used beyond it are passivated. */
  maxLiveActors: number;
  /** Recent event ids each actor remembers for duplicate checks without the journal. */
  recentIds: number;
  groupMaxEvents: number;
  groupMaxBytes: number;
  /** Events waiting for a group; beyond it, appends answer `overloaded`. */
  maxQueuedEvents: number;
  /**
   * Bytes of events waiting for a group (payloads plus names): the single-threaded runtime
   * holds whole frames, up to a credit window of them per connection, so events alone do not
   * bound its memory. Beyond it, appends answer `overloaded`.
   */
  maxQueuedBytes: number;
  limits: EventLimits;
  /**
   * Test-only fault injection: when true, an event of type `shardline.fault.actor-throw` makes
   * its stream's actor throw while deciding. Off by default.
   */
  faults: boolean;
  /**
   * True when every event was already checked by the caller (the worker pool checks batches on
   * the uWS thread before they enter a ring), so `append` does not check them twice.
   */
  prevalidated: boolean;
}

/** The event type that makes an actor throw when `faults` is on. */
export const FAULT_ACTOR_THROW = 'shardline.fault.actor-throw';

/** Counters a runtime keeps for metrics; updated once per group, read without messages. */
export interface RuntimeStats {
  eventsProcessed: number;
  groupsCommitted: number;
  /**
   * Groups decided a second time, asking the journal about ids: the optimistic first decision
   * met an old duplicate (or an expected-seq failure on a stream longer than its actor's memory).
   */
  groupsRedecided: number;
  commitFailures: number;
  commitLatencyLastMs: number;
  commitLatencyTotalMs: number;
  actorRestarts: number;
}

export const DEFAULT_RUNTIME_OPTIONS: ShardRuntimeOptions = {
  shards: 1024,
  snapshotEvery: 1000,
  maxLiveActors: 100_000,
  recentIds: 128,
  groupMaxEvents: 20_000,
  groupMaxBytes: 16 * 1024 * 1024,
  maxQueuedEvents: 200_000,
  maxQueuedBytes: 256 * 1024 * 1024,
  limits: DEFAULT_EVENT_LIMITS,
  faults: false,
  prevalidated: false,
};

/** Called exactly once per append, possibly synchronously. */
export type AppendCallback = (results: EventResults) => void;

interface PendingBatch {
  events: DecodedEvent[];
  correlationId: string | null;
  results: EventResults;
  bytes: number;
  done: AppendCallback;
}

/** A stream's committed state rebuilt from the journal (snapshot + replay), or null if empty. */
export async function readStreamState(
  journal: Journal,
  stream: string,
): Promise<StreamState | null> {
  const [recovery] = await journal.loadStreams([stream], 0);
  const actor = StreamActor.recover(recovery!, 0);
  return actor.seq === 0 ? null : actor.state();
}

/** The rows one group decided, with what is needed to apply or undo them. */
interface GroupDecision {
  /** Ids found in the journal, keyed by `journalKey`: empty unless the journal was asked. */
  journalHits: Map<string, EventPosition>;
  /** Whether the journal was asked about every id the actors could not rule out. */
  idsChecked: boolean;
  /**
   * Set when, with the ids unchecked, an expected seq failed on a stream whose older ids are
   * not all in memory: an old duplicate taken for a new event may have moved the seq, so the
   * group must be decided again with the ids checked.
   */
  mustCheckIds: boolean;
  /**
   * The rows and, at the same index, what each came from. Sized for every event of the group
   * before deciding and cut to `rowCount` after (`endDecision`): grown by push, the four arrays
   * allocated about three times their final size on the way.
   */
  rows: JournalEvent[];
  /** The actor of each row, which holds the row's id as accepted until the commit returns. */
  rowActors: StreamActor[];
  rowBatches: PendingBatch[];
  rowIndices: number[];
  rowCount: number;
  touchedShards: number[];
  previousOffsets: number[];
}

function newDecision(
  journalHits: Map<string, EventPosition>,
  idsChecked: boolean,
  maxRows: number,
): GroupDecision {
  return {
    journalHits,
    idsChecked,
    mustCheckIds: false,
    rows: new Array<JournalEvent>(maxRows),
    rowActors: new Array<StreamActor>(maxRows),
    rowBatches: new Array<PendingBatch>(maxRows),
    rowIndices: new Array<number>(maxRows),
    rowCount: 0,
    touchedShards: [],
    previousOffsets: [],
  };
}

/** Cuts the row arrays of a decision to the rows it made. */
function endDecision(decision: GroupDecision): void {
  const count = decision.rowCount;
  decision.rows.length = count;
  decision.rowActors.length = count;
  decision.rowBatches.length = count;
  decision.rowIndices.length = count;
}

/** A stream and one of its event ids, as a Map key for the ids the journal was asked about. */
function journalKey(stream: string, id: Uint8Array): string {
  // One character per byte: V8 builds a flat one-byte string, far faster than hex.
  return stream + '\0' + String.fromCharCode(...id);
}

/**
 * How stale an actor's place in the least-recently-used order may get, in ms. Moving it on
 * every group cost a Map delete and set per event flat out; the cap needs no finer order, and
 * idle passivation reads each actor's exact last use.
 */
const LRU_REFRESH_MS = 1000;

/** I/O turns a group waits at most while more batches keep arriving (see `#schedule`). */
const MAX_COLLECT_TURNS = 8;

/** Snapshots are an optimisation; past this many unwritten ones the oldest are dropped. */
const MAX_PENDING_SNAPSHOTS = 10_000;

export class ShardRuntime implements EventRuntime {
  readonly retainsEvents = true;
  readonly options: ShardRuntimeOptions;
  readonly #journal: Journal;
  /** Live actors in least-recently-used order (a Map iterates in insertion order). */
  readonly #actors = new Map<string, StreamActor>();
  /** The last committed offset of each shard. */
  #offsets: Float64Array;
  #queue: PendingBatch[] = [];
  #queuedEvents = 0;
  #queuedBytes = 0;
  #running = false;
  #scheduled = false;
  #draining = false;
  #idleWaiters: (() => void)[] = [];
  #pendingSnapshots: SnapshotRecord[] = [];
  /** Set when a commit failed without telling whether it happened: offsets must be re-read. */
  #offsetsUncertain = false;
  /** Per shard: the last decision that touched it (`#decisionMark`), to list each shard once. */
  readonly #shardMarks: Float64Array;
  #decisionMark = 0;
  /** Marks the actors met in the batch being decided (`StreamActor.batchMark`). */
  #batchMark = 0;
  /** Scratch lists of `#decideStream`, reused for every stream-batch. */
  readonly #accepted: number[] = [];
  readonly #repeats: number[] = [];
  readonly stats: RuntimeStats = {
    eventsProcessed: 0,
    groupsCommitted: 0,
    groupsRedecided: 0,
    commitFailures: 0,
    commitLatencyLastMs: 0,
    commitLatencyTotalMs: 0,
    actorRestarts: 0,
  };

  constructor(journal: Journal, options: Partial<ShardRuntimeOptions> = {}) {
    this.options = { ...DEFAULT_RUNTIME_OPTIONS, ...options };
    this.#journal = journal;
    this.#offsets = new Float64Array(this.options.shards);
    this.#shardMarks = new Float64Array(this.options.shards);
  }

  /** Opens the journal (migrations, shard-count check) and loads every shard's last offset. */
  async start(): Promise<void> {
    await this.#journal.open(this.options.shards);
    for (const [shard, offset] of await this.#journal.shardOffsets()) {
      this.#offsets[shard] = offset;
    }
  }

  get liveActors(): number {
    return this.#actors.size;
  }

  workerStats(): WorkerStats[] {
    const stats = this.stats;
    return [
      {
        worker: 0,
        ringBytes: 0,
        eventsProcessed: stats.eventsProcessed,
        groupsCommitted: stats.groupsCommitted,
        groupsRedecided: stats.groupsRedecided,
        commitFailures: stats.commitFailures,
        commitLatencyTotalMs: stats.commitLatencyTotalMs,
        commitLatencyLastMs: stats.commitLatencyLastMs,
        liveActors: this.#actors.size,
        actorRestarts: stats.actorRestarts,
        workerRestarts: 0,
        journalAvailable: this.#journal.isAvailable(),
        journalBusyMs: this.#journal.writerBusyMs?.() ?? null,
      },
    ];
  }

  /** True when no group is queued, scheduled or committing. */
  isIdle(): boolean {
    return !this.#running && !this.#scheduled && this.#queue.length === 0;
  }

  /** False while draining or while the journal reports itself unreachable. */
  isReady(): boolean {
    return !this.#draining && this.#journal.isAvailable();
  }

  /**
   * Appends a batch. Invalid events (and the other events of their stream in this batch) are
   * refused at once; the rest are decided and committed in the next group. `done` receives one
   * result per event, in order, after the commit returned.
   *
   * The events' `id` and `payload` views must stay valid until `done` is called.
   */
  append(events: DecodedEvent[], correlationId: string | null, done: AppendCallback): void {
    const results = new EventResults(events.length);
    if (this.#draining) {
      done(EventResults.all(events.length, Status.unavailable, 'server is shutting down'));
      return;
    }
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      bytes += event.payload.length + event.stream.length + event.type.length + 64;
    }
    if (
      this.#queuedEvents + events.length > this.options.maxQueuedEvents ||
      (this.#queuedBytes + bytes > this.options.maxQueuedBytes && this.#queuedEvents > 0)
    ) {
      done(EventResults.all(events.length, Status.overloaded, 'shard runtime queue is full'));
      return;
    }
    if (!this.options.prevalidated) rejectInvalid(events, this.options.limits, results);
    this.#queue.push({ events, correlationId, results, bytes, done });
    this.#queuedEvents += events.length;
    this.#queuedBytes += bytes;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every message that arrived in this I/O turn joins the group.
    // While each turn keeps bringing more (a client streaming its credit window, which uWS reads
    // 512 KiB per turn), wait a few more turns: a group writes about one index page per stream
    // it touches, so one group of the whole window costs far less per event than several small
    // ones (docs/decisions/0004). A lone batch still commits after one turn.
    let queuedAtLastTurn = this.#queuedEvents;
    let turns = 0;
    const collect = (): void => {
      const queued = this.#queuedEvents;
      if (
        queued > queuedAtLastTurn &&
        queued < this.options.groupMaxEvents &&
        ++turns < MAX_COLLECT_TURNS
      ) {
        queuedAtLastTurn = queued;
        setImmediate(collect);
        return;
      }
      this.#scheduled = false;
      void this.#run();
    };
    setImmediate(collect);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) await this.#commitGroup(this.#takeGroup());
      if (this.#pendingSnapshots.length > 0) await this.#flushSnapshots();
    } finally {
      this.#running = false;
      if (this.#queue.length > 0) this.#schedule();
      else for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  #takeGroup(): PendingBatch[] {
    let events = 0;
    let bytes = 0;
    let count = 0;
    while (
      count < this.#queue.length &&
      events < this.options.groupMaxEvents &&
      bytes < this.options.groupMaxBytes
    ) {
      const batch = this.#queue[count++]!;
      events += batch.events.length;
      bytes += batch.bytes;
    }
    this.#queuedEvents -= events;
    this.#queuedBytes -= bytes;
    return this.#queue.splice(0, count);
  }

  async #loadActors(group: PendingBatch[]): Promise<void> {
    const now = Date.now();
    const missing = new Set<string>();
    for (const batch of group) {
      for (let i = 0; i < batch.events.length; i++) {
        const stream = batch.events[i]!.stream;
        const actor = this.#actors.get(stream);
        if (actor === undefined) {
          if (!batch.results.error.has(i)) missing.add(stream);
        } else {
          actor.lastUsedMs = now;
          if (now - actor.lruMovedMs >= LRU_REFRESH_MS) {
            actor.lruMovedMs = now;
            this.#actors.delete(stream);
            this.#actors.set(stream, actor);
          }
        }
      }
    }
    if (missing.size === 0) return;
    const recovered = await this.#journal.loadStreams([...missing], this.options.recentIds);
    for (const recovery of recovered) {
      const actor = StreamActor.recover(recovery, this.options.recentIds);
      actor.lastUsedMs = now;
      actor.lruMovedMs = now;
      this.#actors.set(recovery.stream, actor);
    }
  }

  /**
   * Asks the journal about the ids that no actor can rule out from memory. Called only when a
   * group is decided again: the first decision is optimistic, and an older duplicate is then
   * caught by the journal's unique (stream, event_id) index at commit.
   */
  async #lookUpDuplicates(group: PendingBatch[]): Promise<Map<string, EventPosition>> {
    const found = new Map<string, EventPosition>();
    const keys: { stream: string; id: Uint8Array }[] = [];
    const names: string[] = [];
    for (const batch of group) {
      for (let i = 0; i < batch.events.length; i++) {
        if (batch.results.error.has(i)) continue;
        const event = batch.events[i]!;
        const actor = this.#actors.get(event.stream);
        if (actor === undefined || actor.knowsAllIds() || actor.findRecent(event.id) !== -1)
          continue;
        keys.push({ stream: event.stream, id: event.id });
        names.push(journalKey(event.stream, event.id));
      }
    }
    if (keys.length === 0) return found;
    const positions = await this.#journal.findEvents(keys);
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i];
      if (position) found.set(names[i]!, position);
    }
    return found;
  }

  /**
   * Decides every undecided event of the group against the actors' state (which holds committed
   * events only) and assigns seqs and offsets. Returns the rows to write, or throws.
   */
  #decide(group: PendingBatch[], decision: GroupDecision): void {
    const now = Date.now();
    for (const batch of group) {
      const { events, results } = batch;
      // The batch's events by stream, in the order each stream first appears. The lists live on
      // the actors, so a batch allocates no Map or array per stream.
      const batchActors: StreamActor[] = [];
      const mark = ++this.#batchMark;
      for (let i = 0; i < events.length; i++) {
        if (results.error.has(i)) continue;
        const actor = this.#actors.get(events[i]!.stream);
        if (actor === undefined) {
          // Its actor failed earlier in this group and is restarting.
          results.fail(i, Status.unavailable, 'the stream actor is restarting; retry');
          continue;
        }
        if (actor.batchMark !== mark) {
          actor.batchMark = mark;
          actor.batchCount = 0;
          batchActors.push(actor);
        }
        actor.batchIndices[actor.batchCount++] = i;
      }
      for (const actor of batchActors) {
        const pendingBefore = actor.pending;
        try {
          this.#decideStream(batch, actor, decision, now);
        } catch (error) {
          // Supervision: only this stream fails; its actor restarts from snapshot + journal.
          this.stats.actorRestarts++;
          actor.dropPending(pendingBefore);
          this.#actors.delete(actor.stream);
          const reason = `the stream actor failed (${(error as Error).message}) and was restarted; retry`;
          for (let k = 0; k < actor.batchCount; k++) {
            results.fail(actor.batchIndices[k]!, Status.unavailable, reason);
          }
        }
      }
    }
  }

  #decideStream(
    batch: PendingBatch,
    actor: StreamActor,
    decision: GroupDecision,
    now: number,
  ): void {
    const { events, results } = batch;
    const { stream, batchIndices, batchCount } = actor;
    const startSeq = actor.decidedSeq;
    const pendingBefore = actor.pending;
    let mismatch: string | null = null;
    // The indices of the events accepted, then of those repeating an id accepted in this batch
    // (as pairs: index, entry of the first occurrence). Reused, with counts (see `batchCount`):
    // this runs once per stream-batch.
    const accepted = this.#accepted;
    let acceptedCount = 0;
    const repeats = this.#repeats;
    let repeatsCount = 0;
    let firstEntry = -1;
    for (let k = 0; k < batchCount; k++) {
      const i = batchIndices[k]!;
      const event = events[i]!;
      // Recent committed ids, and ids accepted earlier in this group.
      const entry = actor.findRecent(event.id);
      if (entry !== -1) {
        // Offset 0 marks an id accepted earlier in this very batch: its position is assigned
        // below, once the whole stream-batch is known to be accepted.
        if (actor.offsetOf(entry) === 0) {
          repeats[repeatsCount++] = i;
          repeats[repeatsCount++] = entry;
        } else {
          const original = actor.positionOf(entry);
          results.set(i, Status.duplicate, original.seq, original.shard, original.offset);
        }
        continue;
      }
      if (decision.journalHits.size > 0) {
        const original = decision.journalHits.get(journalKey(stream, event.id));
        if (original !== undefined) {
          results.set(i, Status.duplicate, original.seq, original.shard, original.offset);
          continue;
        }
      }
      if (this.options.faults && event.type === FAULT_ACTOR_THROW) {
        throw new Error('injected actor fault');
      }
      const seq = actor.decidedSeq;
      if (event.expectedSeq !== -1 && event.expectedSeq !== seq) {
        mismatch =
          seq === startSeq
            ? `expected ${event.expectedSeq}, stream is at ${seq}`
            : `expected ${event.expectedSeq}, stream is at ${startSeq} ` +
              `(${seq} after the earlier events of this batch)`;
        break;
      }
      const added = actor.accept(event.id);
      if (firstEntry === -1) firstEntry = added;
      accepted[acceptedCount++] = i;
    }
    if (mismatch !== null) {
      if (!decision.idsChecked && !actor.knowsAllIds()) decision.mustCheckIds = true;
      actor.dropPending(pendingBefore);
      for (let k = 0; k < batchCount; k++) {
        results.fail(batchIndices[k]!, Status.wrongExpectedSeq, mismatch, startSeq);
      }
      return;
    }
    if (acceptedCount === 0) {
      for (let r = 0; r < repeatsCount; r += 2) this.#answerRepeat(results, actor, repeats, r);
      return;
    }
    const shard = shardOf(stream, this.options.shards);
    if (this.#shardMarks[shard] !== this.#decisionMark) {
      this.#shardMarks[shard] = this.#decisionMark;
      decision.touchedShards.push(shard);
      decision.previousOffsets.push(this.#offsets[shard]!);
    }
    for (let a = 0; a < acceptedCount; a++) {
      const i = accepted[a]!;
      const event = events[i]!;
      const offset = ++this.#offsets[shard]!;
      const eventSeq = startSeq + a + 1;
      actor.assignPosition(firstEntry + a, shard, offset);
      results.set(i, Status.ok, eventSeq, shard, offset);
      const row = decision.rowCount++;
      decision.rows[row] = {
        shard,
        offset,
        stream,
        seq: eventSeq,
        id: event.id,
        type: event.type,
        timestamp: event.timestamp === 0 ? now : event.timestamp,
        correlationId: event.correlationId ?? batch.correlationId,
        contentType: event.contentType,
        payload: event.payload,
      };
      decision.rowActors[row] = actor;
      decision.rowBatches[row] = batch;
      decision.rowIndices[row] = i;
    }
    for (let r = 0; r < repeatsCount; r += 2) this.#answerRepeat(results, actor, repeats, r);
  }

  /** Answers an id repeated in one stream-batch with the position its first occurrence got. */
  #answerRepeat(results: EventResults, actor: StreamActor, repeats: number[], r: number): void {
    const original = actor.positionOf(repeats[r + 1]!);
    results.set(repeats[r]!, Status.duplicate, original.seq, original.shard, original.offset);
  }

  /** Restores the shard offsets a failed decision advanced, and drops its accepted ids. */
  #undo(decision: GroupDecision): void {
    for (let t = 0; t < decision.touchedShards.length; t++) {
      this.#offsets[decision.touchedShards[t]!] = decision.previousOffsets[t]!;
    }
    for (const actor of decision.rowActors) actor.dropPending();
  }

  /**
   * Fails only the events whose rows conflicted with committed rows (a bug or a second writer
   * made the actor's view stale): they answer `unavailable`, their actors and every shard
   * offset are reloaded from the journal, and the rest of the group is decided again.
   */
  async #recoverFromConflict(
    group: PendingBatch[],
    decision: GroupDecision,
    conflict: JournalConflictError,
  ): Promise<void> {
    for (const row of conflict.rows) {
      const batch = decision.rowBatches[row]!;
      batch.results.fail(
        decision.rowIndices[row]!,
        Status.unavailable,
        'the event conflicted with a committed event; the stream was reloaded, retry with the same id',
      );
      this.#actors.delete(decision.rows[row]!.stream);
    }
    this.#forgetExpectedSeqFailures(group);
    await this.#reloadOffsets();
  }

  /** Before a group is decided again: an expected-seq check may come out differently. */
  #forgetExpectedSeqFailures(group: PendingBatch[]): void {
    for (const batch of group) {
      const { results } = batch;
      for (let i = 0; i < results.length; i++) {
        if (results.status[i] === Status.wrongExpectedSeq) results.error.delete(i);
      }
    }
  }

  async #reloadOffsets(): Promise<void> {
    const offsets = await this.#journal.shardOffsets();
    this.#offsets.fill(0);
    for (const [shard, offset] of offsets) this.#offsets[shard] = offset;
    this.#offsetsUncertain = false;
  }

  async #commitGroup(group: PendingBatch[]): Promise<void> {
    // Optimistic first: most ids are new, and a journal lookup per id the actors cannot rule
    // out (every id of a stream longer than the recent window) cost a quarter of the commit
    // loop. A conflict then means an old duplicate (or a stale actor): decide again, asking.
    let askJournal = false;
    let maxRows = 0;
    for (const batch of group) maxRows += batch.events.length;
    try {
      for (let attempt = 1; ; attempt++) {
        if (!this.#journal.isAvailable()) {
          throw new ShardlineError('ERR_JOURNAL_UNAVAILABLE', 'the journal is unreachable');
        }
        if (this.#offsetsUncertain) await this.#reloadOffsets();
        await this.#loadActors(group);
        const journalHits = askJournal
          ? await this.#lookUpDuplicates(group)
          : new Map<string, EventPosition>();
        const decision = newDecision(journalHits, askJournal, maxRows);
        this.#decisionMark++;
        this.#decide(group, decision);
        endDecision(decision);
        if (decision.mustCheckIds) {
          this.stats.groupsRedecided++;
          this.#undo(decision);
          this.#forgetExpectedSeqFailures(group);
          askJournal = true;
          continue;
        }
        const snapshots = this.#pendingSnapshots;
        this.#pendingSnapshots = [];
        const commitStart = performance.now();
        try {
          await this.#journal.commit({ events: decision.rows, snapshots });
          const latencyMs = performance.now() - commitStart;
          this.stats.commitLatencyLastMs = latencyMs;
          this.stats.commitLatencyTotalMs += latencyMs;
          this.stats.groupsCommitted++;
          this.stats.eventsProcessed += decision.rows.length;
        } catch (error) {
          this.#pendingSnapshots = snapshots.concat(this.#pendingSnapshots);
          this.#undo(decision);
          if (error instanceof JournalConflictError && !askJournal) {
            this.stats.groupsRedecided++;
            askJournal = true;
            this.#forgetExpectedSeqFailures(group);
            continue;
          }
          this.stats.commitFailures++;
          if (error instanceof JournalConflictError && attempt === 2) {
            await this.#recoverFromConflict(group, decision, error);
            continue;
          }
          if (!(error instanceof JournalConflictError)) {
            // The commit may have happened after all (a connection lost after COMMIT was
            // sent): forget what this group touched and re-read it before deciding again.
            for (const row of decision.rows) this.#actors.delete(row.stream);
            this.#offsetsUncertain = true;
          }
          throw error;
        }
        const { rows, rowActors } = decision;
        for (let r = 0; r < rows.length; r++) {
          const row = rows[r]!;
          const actor = rowActors[r]!;
          actor.apply(row, row.type, row.timestamp);
          if (actor.seq - actor.snapshotSeq >= this.options.snapshotEvery) this.#snapshot(actor);
        }
        break;
      }
    } catch (error) {
      // Nothing of this group is durable: answer `unavailable` (retryable with the same ids).
      const message = `journal commit failed: ${(error as Error).message}`;
      for (const batch of group) {
        const { results } = batch;
        for (let i = 0; i < results.length; i++) {
          const status = results.status[i];
          if (!results.error.has(i) && (status === Status.ok || status === Status.duplicate)) {
            results.fail(i, Status.unavailable, message);
          }
        }
      }
    }
    this.#passivateOverCap();
    for (const batch of group) batch.done(batch.results);
  }

  #snapshot(actor: StreamActor): void {
    if (this.#pendingSnapshots.length >= MAX_PENDING_SNAPSHOTS) this.#pendingSnapshots.shift();
    this.#pendingSnapshots.push({
      stream: actor.stream,
      seq: actor.seq,
      state: JSON.stringify(actor.state()),
    });
    actor.snapshotSeq = actor.seq;
  }

  /** Passivates least-recently-used actors over the cap, snapshotting unsaved state first. */
  #passivateOverCap(): void {
    const excess = this.#actors.size - this.options.maxLiveActors;
    if (excess <= 0) return;
    let removed = 0;
    for (const [stream, actor] of this.#actors) {
      if (removed++ >= excess) break;
      if (actor.seq > actor.snapshotSeq) this.#snapshot(actor);
      this.#actors.delete(stream);
    }
  }

  /**
   * Passivates actors unused for `idleMs` (snapshotting unsaved state). Call it between groups,
   * for example from a housekeeping tick.
   */
  passivateIdle(idleMs: number): number {
    if (!this.isIdle()) return 0;
    const cutoff = Date.now() - idleMs;
    let passivated = 0;
    // The Map is in least-recently-used order, to within LRU_REFRESH_MS: stop at the first
    // actor still in use. An idle actor just behind it waits for a later call.
    for (const [stream, actor] of this.#actors) {
      if (actor.lastUsedMs > cutoff) break;
      if (actor.seq > actor.snapshotSeq) this.#snapshot(actor);
      this.#actors.delete(stream);
      passivated++;
    }
    if (this.#pendingSnapshots.length > 0) this.#schedule();
    return passivated;
  }

  async #flushSnapshots(): Promise<void> {
    const snapshots = this.#pendingSnapshots;
    this.#pendingSnapshots = [];
    try {
      await this.#journal.commit({ events: [], snapshots });
    } catch {
      // A lost snapshot only costs a longer replay; the events themselves are committed.
    }
  }

  /** Reads committed events of a stream, from `fromSeq`, at most `limit`. */
  readStream(stream: string, fromSeq: number, limit: number): Promise<JournalEvent[]> {
    return this.#journal.readStream(stream, fromSeq, limit);
  }

  /** The committed state of a stream, or null when it has no events. */
  async streamState(stream: string): Promise<StreamState | null> {
    const actor = this.#actors.get(stream);
    if (actor === undefined) return readStreamState(this.#journal, stream);
    return actor.seq === 0 ? null : actor.state();
  }

  /**
   * Stops taking appends (they answer `unavailable`), then resolves once every queued batch was
   * committed and answered.
   */
  drain(): Promise<void> {
    this.#draining = true;
    if (!this.#running && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drains, snapshots every live actor with unsaved events (passivation), closes the journal. */
  async close(): Promise<void> {
    await this.drain();
    for (const actor of this.#actors.values()) {
      if (actor.seq > actor.snapshotSeq) this.#snapshot(actor);
    }
    this.#actors.clear();
    if (this.#pendingSnapshots.length > 0) await this.#flushSnapshots();
    await this.#journal.close();
  }
}
