/**
 * What every peer of perf:compare implements: append `events` events of `payloadBytes` bytes,
 * each with an id and a stream, each acknowledged durably (as the peer defines it), over its
 * own number of client connections with a bounded number of events in flight on each; stop
 * starting new events after `maxSeconds`. The events are the same for every peer; the client
 * settings are each peer's best found on this machine (PITFALLS.md: give the peer its best
 * configuration). A peer that cannot be reached throws PeerUnavailable and is skipped.
 */
import type { LatencyHistogram } from '../lib/histogram.js';

export interface CompareWorkload {
  events: number;
  payloadBytes: number;
  streams: number;
  /** Shardline: SDK connections, and events in flight on each. */
  connections: number;
  windowEvents: number;
  /** NATS: connections, and publishes awaiting their ack on each. */
  natsConnections: number;
  natsWindow: number;
  /** MariaDB: connections of the naive peer (one INSERT in flight each) and of the bulk peer. */
  naiveConnections: number;
  bulkConnections: number;
  /** Shardline: events per appendMany call. */
  batch: number;
  /** MariaDB bulk: rows per transaction, and how they are sent. */
  bulkRows: number;
  bulkMethod: 'batch' | 'multirow';
  maxSeconds: number;
  mysqlUrl: string;
  natsUrl: string;
  verbose: boolean;
}

export interface PeerRun {
  /** Events acknowledged as stored. */
  ok: number;
  /** Events that failed (an error, not a refusal). */
  failed: number;
  seconds: number;
  /** Per-event ack latency, µs. */
  histogram: LatencyHistogram;
  /** How this peer was configured and what its ack guarantees. */
  config: string;
  durability: string;
  notes?: string[];
}

export interface Peer {
  id: string;
  label: string;
  run(workload: CompareWorkload): Promise<PeerRun>;
}

/** The peer is not there (not reachable, not configured, refused to start): skip it. */
export class PeerUnavailable extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'PeerUnavailable';
  }
}

/**
 * Runs `perConnection` on each of `connections` connections until `events` are started or
 * `maxSeconds` passed; returns the seconds from the start to the last ack. `perConnection`
 * gets its share of the events and a `shouldStop` to poll.
 */
export async function runConnections(
  connections: number,
  events: number,
  maxSeconds: number,
  perConnection: (index: number, share: number, shouldStop: () => boolean) => Promise<void>,
): Promise<{ seconds: number }> {
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const shouldStop = (): boolean => performance.now() >= deadline;
  const base = Math.floor(events / connections);
  const extra = events % connections;
  await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      perConnection(i, base + (i < extra ? 1 : 0), shouldStop),
    ),
  );
  return { seconds: (performance.now() - started) / 1000 };
}

/** A fixed 120-byte-style payload. */
export function payloadOf(bytes: number): Uint8Array {
  return new Uint8Array(bytes).fill(0x61);
}
