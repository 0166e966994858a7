/**
 * Per-worker counters in shared memory: the worker stores them once per group and the uWS
 * thread reads them for metrics, so observing a worker costs no message per event. Values are
 * float64 (a count stays exact up to 2^53); a reader may see one counter a group ahead of
 * another, which metrics tolerate.
 */
export const WorkerCounter = {
  eventsProcessed: 0,
  groupsCommitted: 1,
  commitFailures: 2,
  commitLatencyLastMs: 3,
  commitLatencyTotalMs: 4,
  liveActors: 5,
  actorRestarts: 6,
  journalAvailable: 7,
  /** Written by the supervisor on the uWS thread, not by the worker. */
  workerRestarts: 8,
  groupsRedecided: 9,
  /** NaN where the worker's journal does not time its writer (`WorkerStats.journalBusyMs`). */
  journalBusyMs: 10,
} as const;
export type WorkerCounter = (typeof WorkerCounter)[keyof typeof WorkerCounter];

const COUNTER_SLOTS = 16;

export function createCounters(): Float64Array {
  const counters = new Float64Array(new SharedArrayBuffer(COUNTER_SLOTS * 8));
  counters[WorkerCounter.journalBusyMs] = Number.NaN;
  return counters;
}
