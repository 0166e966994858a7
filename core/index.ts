/**
 * Shardline core: shard routing, stream actors, the journal port and its embedded SQLite back
 * end, and the group-committing shard runtime. Imports neither uWebSockets.js nor the network.
 */
export type { EventRuntime, WorkerStats } from './src/event-runtime.js';
export {
  checkEvent,
  DEFAULT_EVENT_LIMITS,
  EVENT_ID_BYTES,
  rejectInvalid,
  type EventLimits,
} from './src/event-limits.js';
export {
  bufferView,
  EVENT_ROW_VALUES,
  eventRowValues,
  JournalConflictError,
} from './src/journal.js';
export type {
  CommitGroup,
  DuplicateLookup,
  EventPosition,
  Journal,
  JournalEvent,
  SnapshotRecord,
  StreamRecovery,
} from './src/journal.js';
export { copyAsBlobBytes } from './src/blob-bytes.js';
export { CommitLanes, createCommitLanes, laneOfShard } from './src/commit-lanes.js';
export { handoffTraceOn, traceHandoff, type HandoffPoint } from './src/handoff-trace.js';
export { fnv1a32, isValidShardCount, MAX_SHARDS, shardOf } from './src/routing.js';
export { createRingBuffer, RingConsumer, RingProducer } from './src/ring.js';
export {
  FAULT_WORKER_EXIT,
  FAULT_WORKER_OOM,
  FAULT_WORKER_THROW,
} from './src/shard-worker-faults.js';
export {
  FAULT_ACTOR_THROW,
  ShardRuntime,
  type AppendCallback,
  type RuntimeStats,
  type ShardRuntimeOptions,
} from './src/shard-runtime.js';
export { SharedMutex } from './src/shared-mutex.js';
export { WalSync } from './src/wal-sync.js';
export { DEFAULT_WARM_UP, warmUp, type WarmUpSize } from './src/warm-up.js';
export {
  SQLITE_FILE_NAME,
  SQLITE_SCHEMA_VERSION,
  SqliteJournal,
  type SqliteJournalOptions,
} from './src/sqlite-journal.js';
export { ShardWorkerPool, type WorkerEvent, type WorkerPoolOptions } from './src/worker-pool.js';
export type { StreamState } from './src/stream-actor.js';
