/** Joining the server's hand-off trace with the client's times (`perf/e2e/handoffs.ts`). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { summarizeHandoffs, type ClientBatch } from '../e2e/handoffs.js';

test('each batch gets its own cycle of every worker, and the slowest worker counts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-handoffs-test-'));
  try {
    // Two batches 10 ms apart (ids 1 and 2), each split over workers 0 and 1; worker 1 waits
    // 1 ms for the write lock in batch 1 only. Times in ms from an arbitrary origin.
    const uws: string[] = [];
    const w0: string[] = [];
    const w1: string[] = [];
    const clients: ClientBatch[] = [];
    for (const [k, id] of [1, 2].entries()) {
      const t = 1000 + 10 * k;
      clients.push({ batchId: id, dueAt: t - 0.2, ackedAt: t + 4.3 });
      uws.push(`received,0,${t}`, `decoded,${id},${t + 0.1}`, `routed,0,${t + 0.3}`);
      const lockWait = k === 0 ? 1 : 0;
      for (const [worker, lines, wait] of [
        [0, w0, 0],
        [1, w1, lockWait],
      ] as const) {
        const woke = t + 0.4;
        lines.push(
          `drained,${worker},${woke}`,
          `commit,0,${woke + 0.2}`,
          `locked,0,${woke + 0.2 + wait}`,
          `written,0,${woke + 0.7 + wait}`,
          `synced,0,${woke + 1.2 + wait}`,
          `published,${worker},${woke + 1.3 + wait}`,
        );
        uws.push(`collected,${worker},${woke + 1.4 + wait}`);
      }
      uws.push(`acked,${id},${t + 4}`);
    }
    writeFileSync(join(dir, 'trace-1-0.csv'), uws.join('\n') + '\n');
    writeFileSync(join(dir, 'trace-1-1.csv'), w0.join('\n') + '\n');
    writeFileSync(join(dir, 'trace-1-2.csv'), w1.join('\n') + '\n');
    writeFileSync(join(dir, 'other-1-3.csv'), 'drained,5,0\n');

    const all = summarizeHandoffs(dir, 'trace', clients, 0);
    assert.equal(all.batches, 2);
    const near = (actual: number | undefined, expected: number): void =>
      assert.ok(Math.abs(actual! - expected) < 1e-6, `${actual} != ${expected}`);
    near(all.segments['client to server']!.p50Ms, 0.2);
    near(all.segments['decode and check']!.p50Ms, 0.1);
    near(all.segments['wake the workers']!.p50Ms, 0.1);
    // The lock wait: 0 ms in batch 2, 1 ms (worker 1) in batch 1.
    near(all.segments['worker: wait for the write lock']!.p50Ms, 0);
    near(all.segments['worker: wait for the write lock']!.p99Ms, 1);
    near(all.segments['in the server']!.p50Ms, 4);
    near(all.segments['server to client']!.p50Ms, 0.3);
    near(all.segments['in all']!.p50Ms, 4.5);

    // Skipping the first 5 ms leaves batch 2 alone.
    const later = summarizeHandoffs(dir, 'trace', clients, 5);
    assert.equal(later.batches, 1);
    near(later.segments['worker: wait for the write lock']!.p99Ms, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
