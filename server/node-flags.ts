/**
 * V8 flags the server's process is started with (`npm start`, `shardline serve`, the systemd
 * unit in terraform/, the perf and test launchers). They must be on node's command line: V8
 * reads them when it sets up the main thread's heap, before any of our code runs, and
 * NODE_OPTIONS refuses them.
 *
 * `--no-memory-reducer`: V8's memory reducer treats a low allocation rate as idleness and runs
 * up to two extra full collections to give memory back, 8 s after start and after later
 * full collections. On the uWS thread, through which every batch passes, each paused it for
 * 3-5 ms (`--trace-gc`: "Mark-Compact (reduce)") at 10,000 events/s, where that thread
 * allocates little. The memory it would give back is the uWS thread's few tens of MiB.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** The flags above that this process was started without. */
export function missingServerNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
