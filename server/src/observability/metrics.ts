/**
 * Prometheus metrics (prom-client), one registry per server. Per-worker figures are read from
 * the workers' shared-memory counters when `/metrics` is scraped, so the hot path sends no
 * message per event; the per-batch counters below are updated once per batch on the uWS thread.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUS_NAMES, type EventResults } from '../../../protocol/index.js';
import type { EventRuntime } from '../../../core/index.js';

export type IngestPath = 'ws' | 'http';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #events: Counter<'path' | 'status'>;
  readonly #batchEvents: Histogram<'path'>;
  readonly #ackLatency: Histogram<'path'>;
  readonly #authRejections: Counter<'reason'>;
  readonly #rateLimited: Counter<'reason'>;
  readonly #statusCounts = new Float64Array(STATUS_NAMES.length);

  constructor(runtime: EventRuntime, connections: () => number) {
    const registers = [this.registry];
    this.#events = new Counter({
      name: 'shardline_events_total',
      help: 'Events answered, by ingest path and status',
      labelNames: ['path', 'status'],
      registers,
    });
    this.#batchEvents = new Histogram({
      name: 'shardline_batch_events',
      help: 'Events per batch',
      labelNames: ['path'],
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000],
      registers,
    });
    this.#ackLatency = new Histogram({
      name: 'shardline_ack_latency_seconds',
      help: 'From receiving a batch to answering it (includes the group commit)',
      labelNames: ['path'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#authRejections = new Counter({
      name: 'shardline_auth_rejections_total',
      help: 'Requests and frames refused by authentication or authorisation',
      labelNames: ['reason'],
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'shardline_rate_limited_total',
      help: 'Batches and connections refused by rate limits',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'shardline_connections',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(connections());
      },
    });
    new Gauge({
      name: 'shardline_build_info',
      help: 'Build information',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: packageVersion, node: process.version }, 1);

    const perWorker = (
      name: string,
      help: string,
      read: (s: ReturnType<EventRuntime['workerStats']>[number]) => number | null,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect() {
          for (const stats of runtime.workerStats()) {
            const value = read(stats);
            if (value !== null) this.set({ worker: String(stats.worker) }, value);
          }
        },
      });
    };
    perWorker(
      'shardline_worker_ring_bytes',
      'Bytes waiting in the worker inbound ring (ring depth)',
      (s) => s.ringBytes,
    );
    perWorker(
      'shardline_worker_events_processed',
      'Events committed by the worker since it started',
      (s) => s.eventsProcessed,
    );
    perWorker(
      'shardline_worker_live_actors',
      'Live stream actors in the worker',
      (s) => s.liveActors,
    );
    perWorker(
      'shardline_worker_restarts',
      'Times the worker thread was restarted',
      (s) => s.workerRestarts,
    );
    perWorker(
      'shardline_worker_actor_restarts',
      'Stream actors restarted after an exception',
      (s) => s.actorRestarts,
    );
    perWorker(
      'shardline_journal_groups_committed',
      'Group commits by the worker',
      (s) => s.groupsCommitted,
    );
    perWorker(
      'shardline_journal_groups_redecided',
      'Groups decided again with journal id lookups (an old duplicate, or an expected-seq failure on a long stream)',
      (s) => s.groupsRedecided,
    );
    perWorker(
      'shardline_journal_commit_errors',
      'Failed group commits by the worker',
      (s) => s.commitFailures,
    );
    perWorker(
      'shardline_journal_commit_seconds_sum',
      'Total time spent in group commits',
      (s) => s.commitLatencyTotalMs / 1000,
    );
    perWorker(
      'shardline_journal_commit_last_seconds',
      'Duration of the last group commit',
      (s) => s.commitLatencyLastMs / 1000,
    );
    perWorker(
      'shardline_journal_busy_seconds_sum',
      'MySQL: time the database had a statement of the worker in flight on its writer connection. Under load, a rate near 1 means the database sets the pace',
      (s) => (s.journalBusyMs === null ? null : s.journalBusyMs / 1000),
    );
    perWorker('shardline_journal_group_events_avg', 'Average events per group commit', (s) =>
      s.groupsCommitted === 0 ? 0 : s.eventsProcessed / s.groupsCommitted,
    );
    perWorker(
      'shardline_journal_available',
      'Circuit breaker: 1 while the journal is reachable, 0 while open',
      (s) => (s.journalAvailable ? 1 : 0),
    );
  }

  /** Records one answered batch: its size, its latency and the status of each event. */
  batchAnswered(path: IngestPath, results: EventResults, receivedAtMs: number): void {
    this.#batchEvents.observe({ path }, results.length);
    this.#ackLatency.observe({ path }, (performance.now() - receivedAtMs) / 1000);
    const counts = this.#statusCounts;
    counts.fill(0);
    for (let i = 0; i < results.length; i++) counts[results.status[i]!]!++;
    for (let s = 0; s < counts.length; s++)
      if (counts[s]! > 0) this.#events.inc({ path, status: STATUS_NAMES[s]! }, counts[s]);
  }

  authRejected(reason: string): void {
    this.#authRejections.inc({ reason });
  }

  rateLimited(reason: string): void {
    this.#rateLimited.inc({ reason });
  }
}
