/**
 * The worker pool on its own, with real worker threads and a SQLite journal: a batch must wake
 * every worker it was written to. Workers here sleep 20 s between housekeeping ticks, so one
 * that the pool forgot to wake would answer only at its tick, 1000 times later than it should.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Status, type EventResults } from '../../protocol/index.js';
import { DEFAULT_EVENT_LIMITS } from '../src/event-limits.js';
import { shardOf } from '../src/routing.js';
import { SharedMutex } from '../src/shared-mutex.js';
import { SqliteJournal } from '../src/sqlite-journal.js';
import { WalSync } from '../src/wal-sync.js';
import { ShardWorkerPool } from '../src/worker-pool.js';
import { decodedEvent } from './decoded-events.js';

const SHARDS = 64;
const HOUSEKEEPING_MS = 20_000;

test('a batch that spans both workers wakes both, without waiting for the housekeeping tick', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shardline-pool-'));
  const walSync = WalSync.create();
  const writeLock = SharedMutex.create();
  const reader = new SqliteJournal(dataDir, 16, null, true, walSync);
  await reader.open(SHARDS);
  const pool = new ShardWorkerPool({
    workers: 2,
    shards: SHARDS,
    pin: false,
    journalModule: new URL('../src/sqlite-journal.js', import.meta.url).href,
    journalOptions: { dataDir, cacheMiB: 16, writeLock, walSync },
    commitLanes: 1,
    reader,
    writeLock,
    runtimeOptions: { shards: SHARDS, limits: DEFAULT_EVENT_LIMITS },
    ringBytes: 1 << 20,
    housekeepingMs: HOUSEKEEPING_MS,
    idlePassivateMs: 3_600_000,
    warmUp: false,
    workerHeapMiB: 256,
  });
  try {
    await pool.start();
    // Streams of both workers (shard % 2), in several batches, each awaited before the next:
    // every batch finds both workers asleep.
    const streams = Array.from({ length: 40 }, (_, i) => `wake-${i}`);
    assert.deepEqual(new Set(streams.map((s) => shardOf(s, SHARDS) % 2)), new Set([0, 1]));
    for (let round = 1; round <= 5; round++) {
      const events = streams.map((s) => decodedEvent(s));
      const sentAt = performance.now();
      const results = await new Promise<EventResults>((resolve) =>
        pool.append(events, null, resolve),
      );
      const waitedMs = performance.now() - sentAt;
      assert.ok(waitedMs < HOUSEKEEPING_MS / 4, `round ${round} waited ${waitedMs} ms`);
      assert.deepEqual([...results.status], new Array<number>(events.length).fill(Status.ok));
      for (let i = 0; i < events.length; i++) assert.equal(results.seq[i], round);
    }
  } finally {
    await pool.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
