/**
 * The live dashboard: once a second, a snapshot of throughput, ack latency, per-worker ring
 * depth and live actors, top event types and streams, and journal commit figures, pushed over
 * a WebSocket (`/v1/dashboard`) to every open dashboard page. Admin role only.
 */
import * as hdr from 'hdr-histogram-js';
import type { DecodedEvent, EventResults } from '../../../protocol/index.js';
import type { EventRuntime } from '../../../core/index.js';

export interface DashboardSnapshot {
  /** ms since the epoch */
  t: number;
  eventsPerSecond: number;
  batchesPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  workers: { worker: number; ringBytes: number; liveActors: number; restarts: number }[];
  topTypes: [string, number][];
  topStreams: [string, number][];
  commitLatencyMs: number;
  commitErrors: number;
  journalAvailable: boolean;
}

const HISTORY = 300;
const TOP = 8;
/** Bounds the per-second tallies: a flood of distinct streams cannot grow them without limit. */
const MAX_TALLIED_KEYS = 10_000;

function top(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, TOP);
}

function tally(counts: Map<string, number>, key: string): void {
  const count = counts.get(key);
  if (count !== undefined) counts.set(key, count + 1);
  else if (counts.size < MAX_TALLIED_KEYS) counts.set(key, 1);
}

export class DashboardFeed {
  readonly #runtime: EventRuntime;
  readonly #publish: (json: string) => void;
  readonly #history: DashboardSnapshot[] = [];
  readonly #latency = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 2,
  });
  #types = new Map<string, number>();
  #streams = new Map<string, number>();
  #okEvents = 0;
  #batches = 0;
  #lastCommit = { groups: 0, totalMs: 0, failures: 0 };
  #timer: NodeJS.Timeout | null = null;

  constructor(runtime: EventRuntime, publish: (json: string) => void) {
    this.#runtime = runtime;
    this.#publish = publish;
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  /** The snapshots of the last five minutes, oldest first, as sent to a newly opened page. */
  historyJson(): string {
    return JSON.stringify({ history: this.#history });
  }

  /** Tallies one accepted batch's types and streams. */
  batchReceived(events: readonly DecodedEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      tally(this.#types, events[i]!.type);
      tally(this.#streams, events[i]!.stream);
    }
  }

  batchAnswered(results: EventResults, receivedAtMs: number): void {
    this.#batches++;
    for (let i = 0; i < results.length; i++) if (results.status[i] === 0) this.#okEvents++;
    this.#latency.recordValue(Math.max(1, Math.round((performance.now() - receivedAtMs) * 1000)));
  }

  #tick(): void {
    const stats = this.#runtime.workerStats();
    let groups = 0;
    let totalMs = 0;
    let failures = 0;
    for (const s of stats) {
      groups += s.groupsCommitted;
      totalMs += s.commitLatencyTotalMs;
      failures += s.commitFailures;
    }
    const deltaGroups = groups - this.#lastCommit.groups;
    const snapshot: DashboardSnapshot = {
      t: Date.now(),
      eventsPerSecond: this.#okEvents,
      batchesPerSecond: this.#batches,
      ackP50Ms: this.#latency.totalCount === 0 ? 0 : this.#latency.getValueAtPercentile(50) / 1000,
      ackP99Ms: this.#latency.totalCount === 0 ? 0 : this.#latency.getValueAtPercentile(99) / 1000,
      workers: stats.map((s) => ({
        worker: s.worker,
        ringBytes: s.ringBytes,
        liveActors: s.liveActors,
        restarts: s.workerRestarts,
      })),
      topTypes: top(this.#types),
      topStreams: top(this.#streams),
      commitLatencyMs: deltaGroups > 0 ? (totalMs - this.#lastCommit.totalMs) / deltaGroups : 0,
      commitErrors: failures - this.#lastCommit.failures,
      journalAvailable: stats.every((s) => s.journalAvailable),
    };
    this.#lastCommit = { groups, totalMs, failures };
    this.#okEvents = 0;
    this.#batches = 0;
    this.#latency.reset();
    this.#types = new Map();
    this.#streams = new Map();
    this.#history.push(snapshot);
    if (this.#history.length > HISTORY) this.#history.shift();
    this.#publish(JSON.stringify({ snapshot }));
  }
}
