/**
 * Opt-in timestamps at each hand-off of a batch (uWS thread, rings, workers, journal), for
 * finding where latency goes. Off unless `SHARDLINE_HANDOFF_TRACE` names a file prefix when the
 * process starts; then every thread appends `point,id,epochMs` lines to
 * `<prefix>-<pid>-<threadId>.csv`, buffered and written once a second and at exit.
 * `npm run bench:e2e -- --rate 10000 --trace-handoffs` joins them per batch
 * (`perf/e2e/handoffs.ts`). Off, a trace point costs one branch.
 *
 * Times are `performance.timeOrigin + performance.now()`: comparable across threads and
 * processes of one machine to about 0.1 ms.
 */
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

/** The points, in the order a batch passes them. */
export type HandoffPoint =
  | 'received' // gateway: a frame arrived (uWS thread)
  | 'decoded' // gateway: the frame is decoded and checked
  | 'routed' // pool: every ring of the batch is written, before the wake-ups
  | 'drained' // worker: woke and read the first record (id: worker index)
  | 'commit' // journal: commit called
  | 'locked' // journal: the write lock is held
  | 'written' // journal: the transaction is committed, lock not yet released
  | 'synced' // journal: the commit is durable
  | 'published' // worker: results written to its outbound ring (id: worker index)
  | 'collected' // pool: a worker's results read on the uWS thread (id: worker index)
  | 'acked'; // gateway: the ack is handed to uWS (id: batch id)

const prefix = process.env['SHARDLINE_HANDOFF_TRACE'] ?? '';
const lines: string[] = [];

export const handoffTraceOn = prefix !== '';

function flush(): void {
  if (lines.length === 0) return;
  appendFileSync(`${prefix}-${process.pid}-${threadId}.csv`, lines.join('\n') + '\n');
  lines.length = 0;
}

if (handoffTraceOn) {
  setInterval(flush, 1000).unref();
  process.on('exit', flush);
}

export function traceHandoff(point: HandoffPoint, id: number | bigint = 0): void {
  if (!handoffTraceOn) return;
  lines.push(`${point},${id},${(performance.timeOrigin + performance.now()).toFixed(3)}`);
}
