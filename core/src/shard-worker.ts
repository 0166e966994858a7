/**
 * The shard worker thread: pins itself to its core, builds its journal and `ShardRuntime` (one of
 * each per commit lane, see `commit-lanes.ts`), then loops: drain the inbound ring into the
 * runtime, write each batch's results to the outbound ring once its group committed, and sleep
 * on the ring with `Atomics.wait` when idle (with a timeout, for housekeeping such as idle
 * passivation).
 *
 * Control messages (ready, close) use postMessage; events never do.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createCommitLanes } from './commit-lanes.js';
import { pinCurrentThread } from './cpu-affinity.js';
import type { Journal } from './journal.js';
import { RingConsumer, RingProducer } from './ring.js';
import type { ShardRuntimeOptions } from './shard-runtime.js';
import { readAppend, writeResults } from './shard-records.js';
import { WorkerCounter } from './worker-counters.js';
import { FAULT_WORKER_EXIT, FAULT_WORKER_OOM, FAULT_WORKER_THROW } from './shard-worker-faults.js';
import { handoffTraceOn, traceHandoff } from './handoff-trace.js';
import { SharedMutex } from './shared-mutex.js';
import { SqliteJournal } from './sqlite-journal.js';
import { WalSync } from './wal-sync.js';
import { warmUp } from './warm-up.js';

export interface ShardWorkerData {
  index: number;
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  counters: Float64Array;
  /** The core to pin to, or null to run unpinned. */
  pinCore: number | null;
  /**
   * A module exporting `laneJournals(options, { workerIndex }): () => Journal`, which makes the
   * journal of each commit lane of this worker.
   */
  journalModule: string;
  journalOptions: unknown;
  /** Shard runtimes in this worker, each with its own journal. */
  commitLanes: number;
  /** Workers in the pool: this one owns the shards `s % workers === index`. */
  workers: number;
  runtimeOptions: Partial<ShardRuntimeOptions>;
  housekeepingMs: number;
  idlePassivateMs: number;
  /** Run the hot path on a scratch journal before the real one (see warm-up.ts). */
  warmUp: boolean;
}

/** Messages a worker posts to its supervisor. */
export type WorkerMessage = {
  type: 'ready';
  tid: number;
  cpusAllowed: string;
  pinFailure: string | null;
  /** How long the warm-up took, or null when there was none or it failed. */
  warmUpMs: number | null;
  /** Why the warm-up failed; the worker serves anyway, only colder. */
  warmUpFailure: string | null;
};

const data = workerData as ShardWorkerData;
const inbound = new RingConsumer(data.inbound);
const outbound = new RingProducer(data.outbound);
const counters = data.counters;
let closing = false;

parentPort!.on('message', (message: { type: string }) => {
  if (message.type === 'close') closing = true;
});

const pin = pinCurrentThread(data.pinCore);
const { laneJournals } = (await import(data.journalModule)) as {
  laneJournals: (options: unknown, context: { workerIndex: number }) => () => Journal;
};
// The pool checked every event on the uWS thread before writing it into the ring.
const runtimeOptions = { ...data.runtimeOptions, prevalidated: true };
let warmUpMs: number | null = null;
let warmUpFailure: string | null = null;
if (data.warmUp) {
  try {
    // A SQLite journal like a worker's own, with a write lock and the WAL fsynced after it. On
    // MySQL, this warms all but the journal's own code.
    const scratchJournal = (dir: string): SqliteJournal =>
      new SqliteJournal(dir, 16, new SharedMutex(SharedMutex.create(), 1), false, WalSync.create());
    warmUpMs = await warmUp((dir) =>
      createCommitLanes(1, () => scratchJournal(dir), runtimeOptions, data.workers),
    );
  } catch (error) {
    warmUpFailure = (error as Error).message;
  }
}
const runtime = createCommitLanes(
  data.commitLanes,
  laneJournals(data.journalOptions, { workerIndex: data.index }),
  runtimeOptions,
  data.workers,
);
await runtime.start();
parentPort!.postMessage({
  type: 'ready',
  tid: pin.tid,
  cpusAllowed: pin.cpusAllowed,
  pinFailure: pin.failure,
  warmUpMs,
  warmUpFailure,
} satisfies WorkerMessage);

function publish(token: number, results: Parameters<typeof writeResults>[2]): void {
  // The uWS thread drains results continuously; if it falls behind, this worker waits (it may
  // block) rather than drop an answer.
  traceHandoff('published', data.index);
  while (!writeResults(outbound, token, results)) outbound.waitForSpace(10);
}

function injectFaults(types: readonly string[]): void {
  for (const type of types) {
    if (type === FAULT_WORKER_EXIT) process.exit(70);
    if (type === FAULT_WORKER_OOM) {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1 << 20).fill(hoard.length));
    }
    if (type === FAULT_WORKER_THROW) {
      setImmediate(() => {
        throw new Error('injected worker fault');
      });
    }
  }
}

function drainInbound(): void {
  if (handoffTraceOn && inbound.used() > 0) traceHandoff('drained', data.index);
  while (inbound.next()) {
    const record = readAppend(inbound);
    inbound.release();
    if (data.runtimeOptions.faults === true) injectFaults(record.events.map((e) => e.type));
    runtime.append(record.events, record.correlationId, (results) =>
      publish(record.token, results),
    );
  }
}

function updateCounters(): void {
  const stats = runtime.workerStats()[0]!;
  counters[WorkerCounter.eventsProcessed] = stats.eventsProcessed;
  counters[WorkerCounter.groupsCommitted] = stats.groupsCommitted;
  counters[WorkerCounter.groupsRedecided] = stats.groupsRedecided;
  counters[WorkerCounter.commitFailures] = stats.commitFailures;
  counters[WorkerCounter.commitLatencyLastMs] = stats.commitLatencyLastMs;
  counters[WorkerCounter.commitLatencyTotalMs] = stats.commitLatencyTotalMs;
  counters[WorkerCounter.actorRestarts] = stats.actorRestarts;
  counters[WorkerCounter.liveActors] = stats.liveActors;
  counters[WorkerCounter.journalAvailable] = stats.journalAvailable ? 1 : 0;
  counters[WorkerCounter.journalBusyMs] = stats.journalBusyMs ?? Number.NaN;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
let nextHousekeeping = Date.now() + data.housekeepingMs;

for (;;) {
  const seen = inbound.writeCounter();
  drainInbound();
  updateCounters();
  if (closing && runtime.isIdle()) break;
  if (Date.now() >= nextHousekeeping) {
    runtime.passivateIdle(data.idlePassivateMs);
    nextHousekeeping = Date.now() + data.housekeepingMs;
  }
  if (runtime.isIdle()) {
    // Nothing in flight: sleep on the ring. Blocking is fine here, it is this thread's own.
    inbound.wait(seen, data.housekeepingMs);
    await yieldToEventLoop();
  } else {
    // A group is committing (possibly on the network): stay responsive to both.
    await inbound.waitAsync(seen, data.housekeepingMs);
  }
}

await runtime.close();
updateCounters();
// The message listener is all that keeps this thread alive; closing the port ends it.
parentPort!.close();
