/**
 * A piscina task of perf/load: one or more SDK clients (the `shardline bench` load generator)
 * for a bounded number of events, at a target rate or flat out. The latency histogram goes back
 * encoded, since a histogram object does not survive the trip between threads.
 */
import { runLoad, type LoadResult } from '../../clients/cli/src/load.js';
import { createLatencyHistogram, encodeHistogram, recordLatency } from '../lib/histogram.js';

export interface LoadTask {
  url: string;
  apiKey?: string;
  connections: number;
  events: number;
  /** Target events/s of this task's clients together; 0: flat out. */
  rate: number;
  batch: number;
  payloadBytes: number;
  streams: number;
  streamPrefix: string;
  maxSeconds: number;
  windowEvents: number;
}

export interface LoadTaskResult {
  result: LoadResult;
  /** hdr-histogram-js compressed base64, microseconds. */
  histogram: string;
}

export default async function runLoadTask(task: LoadTask): Promise<LoadTaskResult> {
  const histogram = createLatencyHistogram();
  const result = await runLoad({
    ...task,
    onLatency: (latencyUs, events) => recordLatency(histogram, latencyUs, events),
  });
  return { result, histogram: encodeHistogram(histogram) };
}
