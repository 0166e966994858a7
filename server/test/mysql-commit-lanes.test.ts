/**
 * Commit lanes (`core/src/commit-lanes.ts`) on the real MySQL/MariaDB journal: several runtimes
 * on one thread, each with its own writer connection, answering batches that span them.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, test } from 'node:test';
import { createCommitLanes, laneOfShard, shardOf, type CommitLanes } from '../../core/index.js';
import { decodedEvent as event } from '../../core/test/decoded-events.js';
import { Status, type DecodedEvent, type EventResults } from '../../protocol/index.js';
import { parseMysqlUrl } from '../src/journal/journal-url.js';
import { MysqlJournal, mysqlJournalOptions } from '../src/journal/mysql-journal.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from './mysql-support.js';
import { FrameClient, makeEvents, removeDir, startTestServer } from './support.js';
import { killWorkersMidStream, type JournalRow } from './worker-faults.js';

const SHARDS = 64;
const databases: TestDatabase[] = [];
/** Runtimes still open: a failed assertion must not leave connections keeping the test alive. */
const open = new Set<CommitLanes>();
after(async () => {
  for (const runtime of open) await runtime.close();
  for (const db of databases) await db.drop();
});

async function close(runtime: CommitLanes): Promise<void> {
  open.delete(runtime);
  await runtime.close();
}

async function lanesOn(db: TestDatabase, lanes: number): Promise<CommitLanes> {
  const runtime = createCommitLanes(
    lanes,
    () =>
      new MysqlJournal(
        mysqlJournalOptions(parseMysqlUrl(db.url), { logLevel: 'silent', poolSize: 1 }),
        createLogger('silent'),
      ),
    { shards: SHARDS },
    1,
  );
  open.add(runtime);
  await runtime.start();
  return runtime;
}

function append(runtime: CommitLanes, events: DecodedEvent[]): Promise<EventResults> {
  return new Promise((resolve) => runtime.append(events, null, resolve));
}

/** Streams named `prefix-0`, `prefix-1`, … until `perLane` of them fall in each lane. */
function streamsPerLane(prefix: string, lanes: number, perLane: number): string[][] {
  const byLane = Array.from({ length: lanes }, () => [] as string[]);
  for (let i = 0; byLane.some((streams) => streams.length < perLane); i++) {
    const stream = `${prefix}-${i}`;
    const lane = byLane[laneOfShard(shardOf(stream, SHARDS), 1, lanes)]!;
    if (lane.length < perLane) lane.push(stream);
  }
  return byLane;
}

test('every shard of a thread belongs to exactly one lane, and the lanes share them evenly', () => {
  for (const [threads, lanes] of [
    [1, 2],
    [2, 2],
    [2, 3],
    [4, 2],
  ] as const) {
    for (let thread = 0; thread < threads; thread++) {
      const counts = new Array<number>(lanes).fill(0);
      for (let shard = thread; shard < 1024; shard += threads) {
        counts[laneOfShard(shard, threads, lanes)]!++;
      }
      assert.ok(
        Math.max(...counts) - Math.min(...counts) <= 1,
        `${threads} threads, ${lanes} lanes: ${counts.join(', ')}`,
      );
    }
  }
});

test('a batch across lanes is answered in its own order, each stream gap-free', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const runtime = await lanesOn(db, 2);
  const [first, second] = streamsPerLane('mixed', 2, 5);
  // Interleaved, three events per stream, so that each lane's part is scattered in the batch.
  const events: DecodedEvent[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) events.push(event(first![i]!), event(second![i]!));
  }
  const results = await append(runtime, events);
  const seqs = new Map<string, number[]>();
  events.forEach((e, i) => {
    assert.equal(results.status[i], Status.ok, `event ${i}: ${results.error.get(i)}`);
    assert.equal(results.shard[i], shardOf(e.stream, SHARDS), `event ${i}'s shard`);
    seqs.set(e.stream, [...(seqs.get(e.stream) ?? []), results.seq[i]!]);
  });
  for (const [stream, list] of seqs) assert.deepEqual(list, [1, 2, 3], stream);
  // Both lanes committed: each lane's journal holds its own streams.
  const groups = runtime.lanes.map((lane) => lane.stats.groupsCommitted);
  assert.ok(
    groups.every((n) => n >= 1),
    `groups per lane: ${groups.join(', ')}`,
  );
  for (const [i, e] of events.slice(0, 2).entries()) {
    const read = await runtime.readStream(e.stream, 1, 10);
    assert.equal(read.length, 3, `stream ${e.stream} reads back its 3 events`);
    assert.deepEqual(Buffer.from(read[0]!.id), Buffer.from(events[i]!.id));
  }
  await close(runtime);
});

test('a wrong expected seq in one lane fails only its stream; the other lane commits', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const runtime = await lanesOn(db, 2);
  const [[a], [b]] = streamsPerLane('expect', 2, 1) as [[string], [string]];
  const results = await append(runtime, [
    event(a, { expectedSeq: 5 }),
    event(b, { expectedSeq: 0 }),
    event(a),
    event(b),
  ]);
  assert.deepEqual(
    [...results.status],
    [Status.wrongExpectedSeq, Status.ok, Status.wrongExpectedSeq, Status.ok],
  );
  assert.deepEqual([results.seq[1], results.seq[3]], [1, 2]);
  assert.equal((await runtime.streamState(a)) ?? null, null, 'nothing was written to a');
  assert.equal((await runtime.streamState(b))?.seq, 2);
  await close(runtime);
});

test('retries after a restart with a different lane count answer duplicate, never a copy', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const streams = streamsPerLane('retry', 3, 4).flat();
  const events = streams.flatMap((stream) => [event(stream), event(stream)]);
  const before = await lanesOn(db, 2);
  const first = await append(before, events);
  assert.ok([...first.status].every((status) => status === Status.ok));
  await close(before);

  const reopened = await lanesOn(db, 3);
  const retried = await append(reopened, [...events, event(streams[0]!)]);
  for (let i = 0; i < events.length; i++) {
    assert.equal(retried.status[i], Status.duplicate, `event ${i}`);
    assert.equal(retried.seq[i], first.seq[i], `event ${i} keeps its seq`);
    assert.equal(retried.offset[i], first.offset[i], `event ${i} keeps its offset`);
  }
  assert.equal(retried.status[events.length], Status.ok);
  assert.equal(retried.seq[events.length], 3, 'a new event continues its stream');
  const [row] = await db.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM events');
  assert.equal(Number(row!.n), events.length + 1);
  await close(reopened);
});

test('lanes that answer at once (draining) answer the whole batch, never a part', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const runtime = await lanesOn(db, 2);
  const [first, second] = streamsPerLane('drained', 2, 2);
  await runtime.drain();
  const events = [...first!, ...second!].map((stream) => event(stream));
  const answers: EventResults[] = [];
  runtime.append(events, null, (results) => answers.push(results));
  assert.equal(answers.length, 1, 'answered exactly once');
  assert.deepEqual(
    [...answers[0]!.status],
    events.map(() => Status.unavailable),
  );
  await close(runtime);
});

test('2 workers with 2 lanes each: a worker killed mid-stream loses nothing acknowledged', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const server = await startTestServer({
    workers: 2,
    faultInjection: true,
    workerHeapMiB: 96,
    journal: parseMysqlUrl(db.url),
    mysqlCommitLanes: 2,
  });
  try {
    await killWorkersMidStream(server, () =>
      db.query<JournalRow[]>(
        'SELECT CAST(stream AS CHAR) AS stream, seq, HEX(event_id) AS id FROM events ORDER BY stream, seq',
      ),
    );
  } finally {
    await server.shutdown();
    removeDir(server.dataDir);
  }
});

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => { name: string; metrics: { value?: string; labels?: Record<string, string> }[] }[];

test("/metrics has each thread's writer busy time, within the time the server was up", async () => {
  const db = await createTestDatabase();
  databases.push(db);
  for (const workers of [0, 2]) {
    const startedAt = performance.now();
    const server = await startTestServer({ workers, journal: parseMysqlUrl(db.url) });
    try {
      const client = await FrameClient.connect(server.wsUrl);
      for (let batch = 0; batch < 5; batch++) {
        const ack = await client.append(
          BigInt(batch + 1),
          makeEvents(200, 20, `busy-w${workers}-b${batch}-`),
        );
        assert.ok(ack.results.status.every((s) => s === Status.ok));
      }
      await client.close();
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const upMs = performance.now() - startedAt;
      const busy = parsePrometheus(text).find(
        (f) => f.name === 'shardline_journal_busy_seconds_sum',
      );
      assert.ok(busy, 'shardline_journal_busy_seconds_sum is exported');
      assert.deepEqual(
        busy.metrics.map((m) => m.labels?.['worker']).sort(),
        workers === 0 ? ['0'] : ['0', '1'],
      );
      for (const m of busy.metrics) {
        const seconds = Number(m.value);
        assert.ok(seconds > 0, `worker ${m.labels?.['worker']} has no busy time`);
        assert.ok(seconds * 1000 <= upMs, `busy ${seconds} s within ${upMs} ms of uptime`);
      }
    } finally {
      await server.shutdown();
      removeDir(server.dataDir);
    }
  }
});
