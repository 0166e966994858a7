/**
 * Ack latency histograms (HDR, microseconds) shared by the load, flame and compare suites.
 * Worker threads record into their own histogram and send it back encoded (compressed base64),
 * because a histogram object does not survive `postMessage`; the parent merges them.
 */
import * as hdr from 'hdr-histogram-js';

/** Latencies are recorded in microseconds, from 1 µs up to one hour. */
export const LATENCY_MAX_US = 3_600_000_000;

export type LatencyHistogram = hdr.Histogram;

export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MAX_US,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records `count` events that each waited `latencyUs`; clamps to the trackable range. */
export function recordLatency(histogram: LatencyHistogram, latencyUs: number, count = 1): void {
  const value = Math.min(LATENCY_MAX_US, Math.max(1, Math.round(latencyUs)));
  histogram.recordValueWithCount(value, count);
}

export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** One histogram holding every value of the encoded ones (as if recorded in one place). */
export function mergeHistograms(encoded: readonly string[]): LatencyHistogram {
  const merged = createLatencyHistogram();
  for (const text of encoded) merged.add(hdr.decodeFromCompressedBase64(text));
  return merged;
}

/** What a results file says about latency, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarizeLatency(histogram: LatencyHistogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 };
  return {
    count,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
  };
}

/**
 * At a fixed rate: how slow the first ten batches were, and how the batches over 5 ms spread
 * between the first second and the later ones. `latencies[i]` is batch i's, due at
 * `i * intervalMs`.
 */
export function whereTheWorstBatchesFall(
  latencies: Float64Array,
  intervalMs: number,
  seconds: number,
): Record<string, number> {
  const firstTen = Array.from(latencies.subarray(0, 10)).sort((a, b) => a - b);
  let overFirstSecond = 0;
  let overLater = 0;
  latencies.forEach((ms, i) => {
    if (ms <= 5) return;
    if (i * intervalMs < 1000) overFirstSecond++;
    else overLater++;
  });
  const round = (n: number): number => Number(n.toFixed(2));
  return {
    firstTenBatchesMaxMs: round(firstTen[firstTen.length - 1] ?? 0),
    firstTenBatchesMedianMs: round(firstTen[Math.floor(firstTen.length / 2)] ?? 0),
    batchesOver5MsFirstSecond: overFirstSecond,
    batchesOver5MsPerLaterSecond: round(overLater / Math.max(seconds - 1, 1)),
  };
}
