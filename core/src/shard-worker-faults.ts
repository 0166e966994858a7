/**
 * Event types that crash a shard worker when fault injection is on (`faults` in the runtime
 * options; `SHARDLINE_FAULT_INJECTION=on`). For supervision tests only; off by default.
 */
export const FAULT_WORKER_EXIT = 'shardline.fault.worker-exit';
export const FAULT_WORKER_THROW = 'shardline.fault.worker-throw';
/** Allocates until the worker's heap limit kills it (an out-of-memory worker). */
export const FAULT_WORKER_OOM = 'shardline.fault.worker-oom';
