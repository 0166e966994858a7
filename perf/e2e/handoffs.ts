/**
 * Where a batch's latency goes: joins the server's hand-off trace (`core/src/handoff-trace.ts`,
 * one CSV per thread) with the client's due and ack times, batch by batch, and gives p50, p90
 * and p99 of each segment. Used by `bench:e2e -- --rate N --trace-handoffs` (shard workers and
 * the SQLite journal; the single-threaded runtime has no rings to trace).
 *
 * The uWS thread's `decoded` and `acked` points carry the batch id; a worker's points are given
 * to the last batch routed before the worker woke, so that at a fixed rate, with batches far
 * apart, each batch gets its own cycle of every worker. Where a segment spans several workers,
 * the slowest worker counts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientBatch {
  batchId: number;
  /** Epoch ms. */
  dueAt: number;
  ackedAt: number;
}

/** When one worker passed each of its points for one batch (absent: not seen). */
type WorkerCycle = Partial<Record<string, number>> & { drained: number };

interface Batch {
  id: number;
  received: number;
  decoded: number;
  routed: number;
  acked?: number;
  client?: ClientBatch;
  workers: Map<number, WorkerCycle>;
}

export interface SegmentPercentiles {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

type Row = { point: string; id: number; at: number };

function readTrace(path: string): Row[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [point, id, at] = line.split(',');
      return { point: point!, id: Number(id), at: Number(at) };
    });
}

/** Nearest rank: the smallest value with at least a fraction `q` of values at or below it. */
function percentile(sorted: number[], q: number): number {
  return Number(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!.toFixed(3));
}

/**
 * Segments of every batch due at least `skipMs` after the first, from the trace files under
 * `dir` whose names start with `prefix`.
 */
export function summarizeHandoffs(
  dir: string,
  prefix: string,
  clientBatches: readonly ClientBatch[],
  skipMs: number,
): { batches: number; segments: Record<string, SegmentPercentiles> } {
  const traces = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.csv'))
    .map((name) => readTrace(join(dir, name)));
  const uws = traces.find((rows) => rows.some((r) => r.point === 'received')) ?? [];
  const byId = new Map<number, Batch>();
  const ordered: Batch[] = [];
  let received = 0;
  let decoded = { id: 0, at: 0 };
  const collectedByWorker = new Map<number, number[]>();
  for (const row of uws) {
    if (row.point === 'received') received = row.at;
    else if (row.point === 'decoded') decoded = { id: row.id, at: row.at };
    else if (row.point === 'routed') {
      const batch: Batch = {
        id: decoded.id,
        received,
        decoded: decoded.at,
        routed: row.at,
        workers: new Map(),
      };
      ordered.push(batch);
      byId.set(batch.id, batch);
    } else if (row.point === 'acked') {
      const batch = byId.get(row.id);
      if (batch !== undefined) batch.acked = row.at;
    } else if (row.point === 'collected') {
      const list = collectedByWorker.get(row.id) ?? [];
      list.push(row.at);
      collectedByWorker.set(row.id, list);
    }
  }
  for (const rows of traces) {
    if (rows === uws) continue;
    let cycle: WorkerCycle | null = null;
    let worker = -1;
    let next = 0;
    for (const row of rows) {
      if (row.point === 'drained') {
        worker = row.id;
        while (next + 1 < ordered.length && ordered[next + 1]!.routed <= row.at) next++;
        const batch = ordered[next];
        cycle = null;
        if (batch !== undefined && batch.routed <= row.at && !batch.workers.has(worker)) {
          cycle = { drained: row.at };
          batch.workers.set(worker, cycle);
        }
      } else if (cycle !== null) {
        cycle[row.point] = row.at;
      }
    }
  }
  for (const [worker, collected] of collectedByWorker) {
    let k = 0;
    for (const batch of ordered) {
      const cycle = batch.workers.get(worker);
      const published = cycle?.['published'];
      if (cycle === undefined || published === undefined) continue;
      while (k < collected.length && collected[k]! < published) k++;
      if (k < collected.length) cycle['collected'] = collected[k]!;
    }
  }
  for (const client of clientBatches) {
    const batch = byId.get(client.batchId);
    if (batch !== undefined) batch.client = client;
  }
  const firstDue = clientBatches[0]?.dueAt ?? 0;
  const complete = ordered.filter(
    (b) =>
      b.client !== undefined &&
      b.acked !== undefined &&
      b.client.dueAt - firstDue >= skipMs &&
      b.workers.size > 0 &&
      [...b.workers.values()].every((c) => c['collected'] !== undefined),
  );
  const slowest = (b: Batch, f: (c: WorkerCycle) => number): number =>
    Math.max(...[...b.workers.values()].map(f));
  const segments: Record<string, (b: Batch) => number> = {
    'client to server': (b) => b.received - b.client!.dueAt,
    'decode and check': (b) => b.decoded - b.received,
    'route into rings': (b) => b.routed - b.decoded,
    'wake the workers': (b) => slowest(b, (c) => c.drained) - b.routed,
    'worker: decide': (b) => slowest(b, (c) => c['commit']! - c.drained),
    'worker: wait for the write lock': (b) => slowest(b, (c) => c['locked']! - c['commit']!),
    'worker: inserts and COMMIT': (b) => slowest(b, (c) => c['written']! - c['locked']!),
    'worker: fsync': (b) => slowest(b, (c) => c['synced']! - c['written']!),
    'worker: answer into the ring': (b) => slowest(b, (c) => c['published']! - c['synced']!),
    'worker: woken to answered': (b) => slowest(b, (c) => c['published']! - c.drained),
    'results to the uWS thread': (b) =>
      slowest(b, (c) => c['collected']!) - slowest(b, (c) => c['published']!),
    'results to ack': (b) => b.acked! - slowest(b, (c) => c['collected']!),
    'in the server': (b) => b.acked! - b.received,
    'server to client': (b) => b.client!.ackedAt - b.acked!,
    'in all': (b) => b.client!.ackedAt - b.client!.dueAt,
  };
  const summary: Record<string, SegmentPercentiles> = {};
  for (const [name, segment] of Object.entries(segments)) {
    const values = complete.map(segment).filter((v) => Number.isFinite(v));
    if (values.length === 0) continue;
    values.sort((a, b) => a - b);
    summary[name] = {
      p50Ms: percentile(values, 0.5),
      p90Ms: percentile(values, 0.9),
      p99Ms: percentile(values, 0.99),
    };
  }
  return { batches: complete.length, segments: summary };
}
