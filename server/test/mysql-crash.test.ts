/**
 * Acceptance: SIGKILL with 100,000 events in flight into MySQL/MariaDB. Every event acknowledged
 * `ok` is in the database exactly once, and a resend of everything with the same ids answers
 * `duplicate` or `ok`, never a second copy.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Status, type EventInput } from '../../protocol/index.js';
import { createTestDatabase, PipelinedClient, type TestDatabase } from './mysql-support.js';
import {
  getJson,
  makeEvents,
  removeDir,
  spawnServer,
  tempDir,
  type ChildServer,
} from './support.js';

const TOTAL_EVENTS = 100_000;
const CLIENTS = 4;
const BATCH_EVENTS = 500;
const STREAMS = 1000;
/** Kill once this many events were acknowledged: the rest are in flight or not yet sent. */
const KILL_AFTER_ACKED_EVENTS = 30_000;

let db: TestDatabase;
const dataDir = tempDir();
after(async () => {
  removeDir(dataDir);
  await db?.drop();
});

interface StoredRow {
  id: string;
  stream: Buffer;
  seq: number;
  shard: number;
  offset: number;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The events of client `c`, cut into batches. */
function batchesOf(events: EventInput[], c: number): EventInput[][] {
  const mine = events.filter((_, i) => i % CLIENTS === c);
  const batches: EventInput[][] = [];
  for (let i = 0; i < mine.length; i += BATCH_EVENTS) batches.push(mine.slice(i, i + BATCH_EVENTS));
  return batches;
}

/** Streams every client's batches at full credit; resolves when all were answered or cut off. */
async function streamAll(
  server: ChildServer,
  events: EventInput[],
  onAck: (events: number) => void = () => undefined,
): Promise<PipelinedClient[]> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, c) =>
      PipelinedClient.connect(server.wsUrl, BigInt(c * 1e6 + 1)),
    ),
  );
  await Promise.all(
    clients.map((client, c) => {
      const batches = batchesOf(events, c);
      let next = 0;
      return client.run(
        () => batches[next++] ?? null,
        () => false,
        (batch) => onAck(batch.events.length),
      );
    }),
  );
  return clients;
}

test('SIGKILL with 100,000 events in flight: acknowledged events are in MySQL exactly once', async (t) => {
  db = await createTestDatabase();
  const journalArgs = ['--journal', db.url];
  const events = makeEvents(TOTAL_EVENTS, STREAMS, 'kill-', 120);

  const first = await spawnServer(dataDir, journalArgs);
  let acked = 0;
  let killed = false;
  const clients = await streamAll(first, events, (count) => {
    acked += count;
    if (!killed && acked >= KILL_AFTER_ACKED_EVENTS) {
      killed = true;
      first.process.kill('SIGKILL');
    }
  });
  assert.equal(await first.exited, 'SIGKILL');

  // Every ok the clients received, with the position it promised.
  const promised = new Map<
    string,
    { stream: string; seq: number; shard: number; offset: number }
  >();
  let answered = 0;
  for (const client of clients) {
    for (const batch of client.sent) {
      if (batch.ack === null) continue;
      answered += batch.events.length;
      const { results } = batch.ack;
      batch.events.forEach((event, i) => {
        assert.ok(
          results.status[i] === Status.ok,
          `before the kill every event is ok, got status ${results.status[i]}`,
        );
        promised.set(hex(event.id), {
          stream: event.stream,
          seq: results.seq[i]!,
          shard: results.shard[i]!,
          offset: results.offset[i]!,
        });
      });
    }
  }
  assert.ok(promised.size >= KILL_AFTER_ACKED_EVENTS, `${promised.size} events were acked ok`);
  assert.ok(answered < TOTAL_EVENTS, 'the kill came while events were still in flight');

  const second = await spawnServer(dataDir, journalArgs);
  try {
    const rows = await db.query<StoredRow[]>(
      'SELECT HEX(event_id) AS id, stream, seq, shard, `offset` FROM events',
    );
    const stored = new Map(rows.map((r) => [r.id.toLowerCase(), r]));
    assert.equal(stored.size, rows.length, 'no event id is stored twice');
    for (const [id, position] of promised) {
      const row = stored.get(id);
      assert.ok(row !== undefined, `acked event ${id} is in MySQL`);
      assert.deepEqual(
        { stream: row.stream.toString('utf8'), seq: row.seq, shard: row.shard, offset: row.offset },
        position,
      );
    }
    // Reads and state through the HTTP API come from MySQL too (for a stream with acked events).
    const stream = promised.values().next().value!.stream;
    const inStream = rows.filter((r) => r.stream.toString('utf8') === stream).length;
    const read = await getJson(`${second.url}/v1/streams/${stream}/events?fromSeq=1&limit=1000`);
    assert.equal(read.status, 200);
    assert.equal(read.body.events.length, inStream);
    assert.deepEqual(
      read.body.events.map((e: { seq: number }) => e.seq),
      Array.from({ length: inStream }, (_, i) => i + 1),
    );
    const state = await getJson(`${second.url}/v1/streams/${stream}`);
    assert.equal(state.body.seq, inStream);
    const shards = await db.query<{ shard: number; n: number; lo: number; hi: number }[]>(
      'SELECT shard, COUNT(*) AS n, MIN(`offset`) AS lo, MAX(`offset`) AS hi FROM events GROUP BY shard',
    );
    for (const s of shards) {
      assert.deepEqual([s.lo, s.hi], [1, Number(s.n)], `shard ${s.shard} offsets have no gap`);
    }

    // The client retries everything, with the same ids.
    const retried = await streamAll(second, events);
    const afterRetry = new Map<string, number>();
    for (const client of retried) {
      for (const batch of client.sent) {
        assert.ok(batch.ack !== null, 'every retry is answered');
        batch.events.forEach((event, i) => {
          const status = batch.ack!.results.status[i]!;
          assert.ok(
            status === Status.duplicate || status === Status.ok,
            `a retry answers duplicate or ok, got ${status}: ${batch.ack!.results.error.get(i)}`,
          );
          const original = promised.get(hex(event.id));
          if (original !== undefined) {
            assert.equal(status, Status.duplicate, 'an acked event answers duplicate');
            assert.equal(batch.ack!.results.seq[i], original.seq);
            assert.equal(batch.ack!.results.offset[i], original.offset);
          }
          afterRetry.set(hex(event.id), status);
        });
      }
    }
    assert.equal(afterRetry.size, TOTAL_EVENTS);
    const duplicates = [...afterRetry.values()].filter((s) => s === Status.duplicate).length;
    t.diagnostic(
      `acked ok before the kill: ${promised.size}; in MySQL after restart: ${rows.length}; ` +
        `retries answered duplicate: ${duplicates}, ok: ${TOTAL_EVENTS - duplicates}`,
    );
    const [count] = await db.query<{ n: number; ids: number }[]>(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT stream, event_id) AS ids FROM events',
    );
    assert.deepEqual([Number(count!.n), Number(count!.ids)], [TOTAL_EVENTS, TOTAL_EVENTS]);
  } finally {
    second.process.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'SIGTERM shuts down cleanly');
  }
});
