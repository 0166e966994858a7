/**
 * Spreads one load run over piscina worker threads: the connections are split between the
 * threads, each thread runs its share of SDK clients (perf/load/load-worker.ts) with its share
 * of the events and of the target rate, and the results and histograms are merged here.
 */
import { Piscina } from 'piscina';
import type { LoadResult } from '../../clients/cli/src/load.js';
import {
  mergeHistograms,
  summarizeLatency,
  type LatencyHistogram,
  type LatencySummary,
} from '../lib/histogram.js';
import type { LoadTask, LoadTaskResult } from './load-worker.js';

export interface DistributedLoadOptions extends Omit<LoadTask, 'connections' | 'events' | 'rate'> {
  connections: number;
  events: number;
  /** Target events/s over all threads; 0: flat out. */
  rate: number;
  /** Worker threads (at most one per connection). */
  threads: number;
}

export interface DistributedLoadResult {
  threads: number;
  events: number;
  ok: number;
  duplicate: number;
  wrongExpectedSeq: number;
  invalid: number;
  failed: number;
  notSent: number;
  /** From the first thread's start to the last result of any thread. */
  seconds: number;
  eventsPerSecond: number;
  ackLatency: LatencySummary;
  errors: string[];
}

/** Splits `total` into `parts` integers that differ by at most one. */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The tasks of one run: connections split between threads, events and rate by connection. */
export function planTasks(options: DistributedLoadOptions): LoadTask[] {
  const threads = Math.max(1, Math.min(options.threads, options.connections));
  const connections = splitEvenly(options.connections, threads);
  const events = connections.map((c) => Math.floor((options.events * c) / options.connections));
  events[0]! += options.events - events.reduce((a, b) => a + b, 0);
  return connections.map((c, i) => ({
    url: options.url,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    connections: c,
    events: events[i]!,
    rate: (options.rate * c) / options.connections,
    batch: options.batch,
    payloadBytes: options.payloadBytes,
    streams: options.streams,
    streamPrefix: options.streamPrefix,
    maxSeconds: options.maxSeconds,
    windowEvents: options.windowEvents,
  }));
}

/** Merges the results of the tasks of one run. */
export function mergeTaskResults(results: readonly LoadTaskResult[]): {
  merged: DistributedLoadResult;
  histogram: LatencyHistogram;
} {
  const sum = (key: keyof LoadResult): number =>
    results.reduce((total, r) => total + (r.result[key] as number), 0);
  const started = Math.min(...results.map((r) => r.result.startedAtMs));
  const ended = Math.max(...results.map((r) => r.result.endedAtMs));
  const seconds = Math.max(0, (ended - started) / 1000);
  const ok = sum('ok');
  const histogram = mergeHistograms(results.map((r) => r.histogram));
  const merged: DistributedLoadResult = {
    threads: results.length,
    events: sum('events'),
    ok,
    duplicate: sum('duplicate'),
    wrongExpectedSeq: sum('wrongExpectedSeq'),
    invalid: sum('invalid'),
    failed: sum('failed'),
    notSent: sum('notSent'),
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: seconds > 0 ? Math.round(ok / seconds) : 0,
    ackLatency: summarizeLatency(histogram),
    errors: [...new Set(results.flatMap((r) => r.result.errors))].slice(0, 5),
  };
  return { merged, histogram };
}

export async function runDistributedLoad(
  options: DistributedLoadOptions,
): Promise<DistributedLoadResult> {
  const tasks = planTasks(options);
  const pool = new Piscina<LoadTask, LoadTaskResult>({
    filename: new URL('./load-worker.js', import.meta.url).href,
    minThreads: tasks.length,
    maxThreads: tasks.length,
  });
  try {
    const results = await Promise.all(tasks.map((task) => pool.run(task)));
    return mergeTaskResults(results).merged;
  } finally {
    await pool.destroy();
  }
}
