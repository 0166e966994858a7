/** The outcome of one peer of perf:compare, as the results file records it. */
import type { LatencySummary } from '../lib/histogram.js';

export interface PeerOutcome {
  id: string;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why the peer was skipped or failed. */
  reason?: string;
  events?: number;
  failed?: number;
  seconds?: number;
  eventsPerSecond?: number;
  ackLatency?: LatencySummary;
  /** events/s divided by the baseline's; null when the baseline did not run. */
  ratioToShardline?: number | null;
  config?: string;
  durability?: string;
  notes?: string[];
}

/** Fills in each outcome's ratio of events/s to the baseline's (null without a baseline). */
export function withRatios(outcomes: readonly PeerOutcome[], baselineId: string): PeerOutcome[] {
  const baseline = outcomes.find((o) => o.id === baselineId && o.status === 'ok');
  return outcomes.map((o) =>
    o.status !== 'ok'
      ? o
      : {
          ...o,
          ratioToShardline:
            baseline?.eventsPerSecond === undefined || baseline.eventsPerSecond === 0
              ? null
              : Number(((o.eventsPerSecond ?? 0) / baseline.eventsPerSecond).toFixed(3)),
        },
  );
}
