import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { createBuilder, encodeAppendBatch, Status, type EventInput } from '../../protocol/index.js';
import { FAULT_ACTOR_THROW, SQLITE_FILE_NAME, type ShardWorkerPool } from '../../core/index.js';
import {
  FrameClient,
  makeEvents,
  removeDir,
  spawnServer,
  startTestServer,
  tempDir,
  uuidBytes,
  type TestServer,
} from './support.js';
import { killWorkersMidStream } from './worker-faults.js';

const servers: TestServer[] = [];
after(async () => {
  for (const server of servers) {
    await server.shutdown();
    removeDir(server.dataDir);
  }
});

async function serve(
  overrides: Parameters<typeof startTestServer>[0] = {},
  log?: Parameters<typeof startTestServer>[1],
): Promise<TestServer> {
  const server = await startTestServer(overrides, log);
  servers.push(server);
  return server;
}

function poolOf(server: TestServer): ShardWorkerPool {
  return server.runtime as ShardWorkerPool;
}

function journalRows(dataDir: string): { stream: string; seq: number; id: string }[] {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  const rows = db
    .prepare('SELECT stream, seq, hex(event_id) AS id FROM events ORDER BY stream, seq')
    .all() as { stream: string; seq: number; id: string }[];
  db.close();
  return rows;
}

describe('shard workers', () => {
  test('each worker warms up on a scratch journal before serving, and none of it reaches the real one', async () => {
    const lines: { msg: string; worker?: number; warmUpMs?: number | null }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const server = await serve({ workers: 2 }, log);
    const ready = lines.filter((line) => line.msg === 'shard worker ready');
    assert.deepEqual(ready.map((line) => line.worker).sort(), [0, 1]);
    for (const line of ready) assert.ok(line.warmUpMs! > 0, JSON.stringify(line));
    assert.deepEqual(journalRows(server.dataDir), []);
    const response = await fetch(`${server.url}/v1/streams/warm-up-0`);
    assert.equal(response.status, 404);
    // And the real journal works as ever afterwards.
    const client = await FrameClient.connect(server.wsUrl);
    const ack = await client.append(1n, makeEvents(3, 1, 'after-warm-up-'));
    await client.close();
    assert.deepEqual([...ack.results.seq], [1, 2, 3]);
    assert.equal(journalRows(server.dataDir).length, 3);
  });

  test('with 2 workers, each worker thread is pinned to its own core', async () => {
    const server = await serve({ workers: 2, pin: true });
    const workers = poolOf(server).workers;
    assert.equal(workers.length, 2);
    for (const worker of workers) {
      const status = readFileSync(`/proc/self/task/${worker.tid}/status`, 'utf8');
      const allowed = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)![1]!.trim();
      assert.equal(allowed, String(worker.index), `worker ${worker.index} (tid ${worker.tid})`);
    }
  });

  test('a worker killed mid-stream: only ok, duplicate or unavailable; retries leave every event exactly once', async () => {
    const server = await serve({ workers: 2, faultInjection: true, workerHeapMiB: 96 });
    await killWorkersMidStream(server, () => Promise.resolve(journalRows(server.dataDir)));
  });

  test('an actor that throws fails only its stream in the batch and restarts from the journal', async () => {
    const server = await serve({ workers: 2, faultInjection: true });
    const client = await FrameClient.connect(server.wsUrl);
    const first = await client.append(1n, makeEvents(6, 3, 'actor-'));
    assert.ok([...first.results.status].every((s) => s === Status.ok));
    const ack = await client.append(2n, [
      { id: uuidBytes(), stream: 'actor-0', type: 'T', payload: new Uint8Array(1) },
      {
        id: uuidBytes(),
        stream: 'actor-0',
        type: FAULT_ACTOR_THROW,
        payload: new Uint8Array(1),
      },
      { id: uuidBytes(), stream: 'actor-1', type: 'T', payload: new Uint8Array(1) },
    ]);
    assert.deepEqual([...ack.results.status], [Status.unavailable, Status.unavailable, Status.ok]);
    const again = await client.append(3n, [
      { id: uuidBytes(), stream: 'actor-0', type: 'T', expectedSeq: 2, payload: new Uint8Array(1) },
    ]);
    assert.equal(again.results.status[0], Status.ok);
    assert.equal(again.results.seq[0], 3, 'the restarted actor continued from the journal');
    await client.close();
  });

  test('200,000 distinct streams with a cap of 10,000 live actors per worker', async () => {
    const server = await serve({ workers: 2, maxLiveActors: 10_000, snapshotEvery: 1_000_000 });
    const client = await FrameClient.connect(server.wsUrl);
    const pool = poolOf(server);
    const builder = createBuilder(1 << 20);
    const payload = new Uint8Array(16);
    let maxLive = 0;
    const firstIds: Uint8Array[] = [];
    for (let b = 0; b < 200; b++) {
      const events: EventInput[] = [];
      for (let i = 0; i < 1000; i++) {
        const id = uuidBytes();
        if (b === 0) firstIds.push(id);
        events.push({ id, stream: `many-${b * 1000 + i}`, type: 'T', payload });
      }
      client.sendRaw(encodeAppendBatch(builder, BigInt(b + 1), events));
      const ack = await client.nextOf('batch_ack');
      assert.ok(
        [...ack.results.status].every((s) => s === Status.ok),
        `batch ${b}`,
      );
      for (const worker of pool.workerStats()) maxLive = Math.max(maxLive, worker.liveActors);
    }
    assert.ok(maxLive <= 10_000, `live actors peaked at ${maxLive}`);
    assert.ok(maxLive >= 5_000, 'the cap, not a lack of streams, bounded them');
    // many-0 was passivated long ago (its snapshot was written then); its next event continues.
    const ack = await client.append(999n, [
      { id: uuidBytes(), stream: 'many-0', type: 'T', expectedSeq: 1, payload },
    ]);
    assert.equal(ack.results.status[0], Status.ok, ack.results.error.get(0));
    assert.equal(ack.results.seq[0], 2);
    const retry = await client.append(1000n, [
      { id: firstIds[0]!, stream: 'many-0', type: 'T', payload },
    ]);
    assert.equal(retry.results.status[0], Status.duplicate, 'its old id is still known');
    assert.equal(retry.results.seq[0], 1);
    await client.close();
  });

  test('a producer faster than the workers gets overloaded, memory stays flat, nothing is lost or doubled', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(dataDir, [
      '--workers',
      '2',
      '--ring-bytes',
      '65536',
      '--credits',
      '1024',
    ]);
    try {
      const rss = (): number =>
        Number(
          /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.process.pid}/status`, 'utf8'))![1],
        ) * 1024;
      const client = await FrameClient.connect(server.wsUrl);
      await client.nextOf('credit');
      const builder = createBuilder(1 << 20);
      const sentIds = new Set<string>();
      let okEvents = 0;
      let overloaded = 0;
      let rssAfterWarmUp = 0;
      let rssPeak = 0;
      for (let round = 0; round < 20; round++) {
        const frames: Uint8Array[] = [];
        for (let b = 0; b < 50; b++) {
          const events = makeEvents(100, 100, `flood-${round}-`, 120);
          for (const e of events) sentIds.add(Buffer.from(e.id).toString('hex'));
          frames.push(encodeAppendBatch(builder, BigInt(round * 100 + b + 1), events).slice());
        }
        client.sendBurst(frames);
        for (let b = 0; b < 50; b++) {
          const ack = await client.nextOf('batch_ack');
          for (const status of ack.results.status) {
            if (status === Status.ok) okEvents++;
            else if (status === Status.overloaded) overloaded++;
            else assert.fail(`unexpected status ${status}`);
          }
        }
        if (round === 2) rssAfterWarmUp = rss();
        if (round > 2) rssPeak = Math.max(rssPeak, rss());
      }
      await client.close();
      assert.ok(overloaded > 0, 'the rings filled and answered overloaded');
      assert.ok(okEvents > 0);
      assert.ok(
        rssPeak < rssAfterWarmUp + 150 * 1024 * 1024,
        `RSS grew from ${rssAfterWarmUp} to ${rssPeak}`,
      );
      server.process.kill('SIGTERM');
      await server.exited;
      const rows = journalRows(dataDir);
      assert.equal(rows.length, okEvents, 'exactly the acknowledged events are in the journal');
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
      assert.ok(rows.every((r) => sentIds.has(r.id.toLowerCase())));
    } finally {
      server.process.kill('SIGKILL');
      removeDir(dataDir);
    }
  });
});
