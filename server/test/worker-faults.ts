/**
 * Test support: shard workers killed mid-stream through the fault hook, whatever the journal.
 */
import assert from 'node:assert/strict';
import {
  FAULT_WORKER_EXIT,
  FAULT_WORKER_OOM,
  FAULT_WORKER_THROW,
  type ShardWorkerPool,
} from '../../core/index.js';
import { Status, type EventInput } from '../../protocol/index.js';
import { FrameClient, makeEvents, uuidBytes, type TestServer } from './support.js';

/** A journal row as the scenario checks it; `id` in hex, any case. */
export interface JournalRow {
  stream: string;
  seq: number;
  id: string;
}

/**
 * Streams 40 batches into `server` (2 workers, fault injection on) while three of them kill a
 * worker: `process.exit`, an uncaught exception and running out of heap. Asserts that the
 * client only sees `ok`, `duplicate` or `unavailable`; that after retrying its `unavailable`
 * events with the same ids, `journalRows()` holds every event exactly once with gap-free seqs;
 * that each fault restarted a worker; and that the server still serves.
 */
export async function killWorkersMidStream(
  server: TestServer,
  journalRows: () => Promise<JournalRow[]>,
): Promise<void> {
  const pool = server.runtime as ShardWorkerPool;
  const client = await FrameClient.connect(server.wsUrl);
  const sent: EventInput[] = [];
  const outcome = new Map<string, number>();
  let retry: EventInput[] = [];
  const key = (e: EventInput): string => Buffer.from(e.id).toString('hex');
  for (let b = 0; b < 40; b++) {
    const events = makeEvents(50, 20, 'kill-');
    sent.push(...events);
    if (b === 10 || b === 25 || b === 33) {
      // A fault must reach a running worker: wait out the restart of the previous one.
      while (!pool.workers.every((w) => w.ready)) await new Promise((r) => setTimeout(r, 20));
    }
    // Fault events kill a worker while batches keep coming: process.exit in batch 10, an
    // uncaught exception in 25, running out of heap in 33.
    const fault = { 10: FAULT_WORKER_EXIT, 25: FAULT_WORKER_THROW, 33: FAULT_WORKER_OOM }[b];
    if (fault !== undefined) {
      events.push({
        id: uuidBytes(),
        stream: `kill-${[10, 25, 33].indexOf(b)}`,
        type: fault,
        payload: new Uint8Array(0),
      });
    }
    const batch = [...events, ...retry];
    retry = [];
    const ack = await client.append(BigInt(b + 1), batch);
    ack.results.status.forEach((status, i) => {
      const event = batch[i]!;
      if (event.type.startsWith('shardline.fault')) return;
      assert.ok(
        [Status.ok, Status.duplicate, Status.unavailable].includes(status as 0 | 1 | 4),
        `status ${status}`,
      );
      outcome.set(key(event), status);
      if (status === Status.unavailable) retry.push(event);
    });
  }
  // Retry with the same ids until every event has an answer that is not unavailable.
  for (let attempt = 0; retry.length > 0 && attempt < 100; attempt++) {
    const ack = await client.append(BigInt(1000 + attempt), retry);
    const next: EventInput[] = [];
    ack.results.status.forEach((status, i) => {
      if (status === Status.unavailable) next.push(retry[i]!);
      else outcome.set(key(retry[i]!), status);
    });
    retry = next;
    if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(retry.length, 0, 'every retried event was eventually committed');
  const restarts = pool.workerStats().reduce((sum, w) => sum + w.workerRestarts, 0);
  assert.equal(restarts, 3, 'exit, uncaught exception and out-of-memory each restarted a worker');
  assert.ok([...outcome.values()].every((s) => s === Status.ok || s === Status.duplicate));

  const rows = (await journalRows()).filter((r) => r.stream.startsWith('kill-'));
  assert.equal(rows.length, sent.length, 'every event exactly once');
  assert.equal(new Set(rows.map((r) => r.id.toLowerCase())).size, sent.length, 'no id twice');
  const byStream = new Map<string, number[]>();
  for (const row of rows) byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row.seq]);
  for (const [stream, seqs] of byStream) {
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, k) => k + 1),
      `${stream} seqs are gap-free`,
    );
  }
  // Still serving.
  const after = await client.append(5000n, makeEvents(5, 5, 'after-kill-'));
  assert.ok([...after.results.status].every((s) => s === Status.ok));
  await client.close();
}
