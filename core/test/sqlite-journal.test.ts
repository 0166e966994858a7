/**
 * The journal contract on the embedded SQLite back end, each store in its own temporary
 * directory.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  JournalConflictError,
  SharedMutex,
  SQLITE_FILE_NAME,
  SQLITE_SCHEMA_VERSION,
  SqliteJournal,
  WalSync,
  type JournalEvent,
} from '../index.js';
import { HEAD_CACHE_STREAMS } from '../src/sqlite-journal.js';
import { walSyncFaults } from '../src/wal-sync.js';
import { ShardlineError } from '../../protocol/index.js';
import { journalContract, type JournalStore } from './journal-contract.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function withDatabase<T>(dir: string, use: (db: Database.Database) => T): T {
  const db = new Database(join(dir, SQLITE_FILE_NAME));
  try {
    return use(db);
  } finally {
    db.close();
  }
}

journalContract({
  name: 'sqlite',
  oversizePayloadBytes: null,
  newStore(): Promise<JournalStore> {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-contract-'));
    dirs.push(dir);
    return Promise.resolve({
      journal: () => new SqliteJournal(dir, 8),
      setMeta: (name, value) => {
        withDatabase(dir, (db) =>
          db
            .prepare(
              'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
            )
            .run(name, value),
        );
        return Promise.resolve();
      },
      countEvents: () =>
        Promise.resolve(
          withDatabase(
            dir,
            (db) => (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
          ),
        ),
    });
  },
});

// The schema as release 1 created it (migration 1), to check that later migrations upgrade a
// journal in place.
const SCHEMA_V1 = `CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE events (shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, stream TEXT NOT NULL,
    seq INTEGER NOT NULL, event_id BLOB NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
    correlation_id TEXT, content_type INTEGER NOT NULL, payload BLOB NOT NULL);
  CREATE UNIQUE INDEX events_position ON events (shard, "offset");
  CREATE UNIQUE INDEX events_stream_seq ON events (stream, seq);
  CREATE UNIQUE INDEX events_stream_event_id ON events (stream, event_id);
  CREATE TABLE snapshots (stream TEXT NOT NULL PRIMARY KEY, seq INTEGER NOT NULL,
    state TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta VALUES ('schema_version', '1'), ('shards', '8');`;

test('a journal of schema version 1 is migrated in place and keeps its events and constraints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-migrate-'));
  dirs.push(dir);
  const id = randomBytes(16);
  const payload = randomBytes(40);
  withDatabase(dir, (db) => {
    db.exec(SCHEMA_V1);
    db.prepare('INSERT INTO events VALUES (3, 6, ?, 1, ?, ?, 1700000000000, NULL, 0, ?)').run(
      'old-0',
      randomBytes(16),
      'Created',
      payload,
    );
    db.prepare('INSERT INTO events VALUES (3, 7, ?, 1, ?, ?, 1700000000000, NULL, 0, ?)').run(
      'old-1',
      id,
      'Created',
      payload,
    );
    db.prepare('INSERT INTO events VALUES (3, 8, ?, 2, ?, ?, 1700000000000, NULL, 0, ?)').run(
      'old-1',
      randomBytes(16),
      'Renamed',
      payload,
    );
  });
  const journal = new SqliteJournal(dir, 8);
  try {
    await journal.open(8);
    const version = withDatabase(
      dir,
      (db) =>
        db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get() as {
          value: string;
        },
    );
    assert.equal(version.value, String(SQLITE_SCHEMA_VERSION));
    const [stored] = await journal.readStream('old-1', 0, 10);
    assert.deepEqual(
      [stored!.shard, stored!.offset, stored!.seq, stored!.type],
      [3, 7, 1, 'Created'],
    );
    assert.deepEqual(Buffer.from(stored!.payload), payload);
    assert.deepEqual(await journal.findEvents([{ stream: 'old-1', id }]), [
      { seq: 1, shard: 3, offset: 7 },
    ]);
    assert.deepEqual([...(await journal.shardOffsets())], [[3, 8]]);
    // Each old row is a run of one (migration 4), linked to the stream's previous run, and the
    // stream's head is its last (migration 5): the stream reads whole and continues after it.
    assert.deepEqual(
      (await journal.readStream('old-1', 2, 10)).map((e) => e.type),
      ['Renamed'],
    );
    const [recovery] = await journal.loadStreams(['old-1'], 10);
    assert.deepEqual(
      recovery!.replay.map((e) => e.seq),
      [1, 2],
    );
    await assert.rejects(
      journal.commit({
        events: [{ ...stored!, seq: 2, offset: 9, id: randomBytes(16) }],
        snapshots: [],
      }),
      JournalConflictError,
    );
    const next = { ...stored!, seq: 3, offset: 9, id: randomBytes(16) };
    await journal.commit({ events: [next], snapshots: [] });
    assert.deepEqual(
      (await journal.readStream('old-1', 1, 10)).map((e) => e.seq),
      [1, 2, 3],
    );
    assert.deepEqual(
      (await journal.readStream('old-0', 1, 10)).map((e) => e.seq),
      [1],
    );
    // The rebuilt unique indexes still refuse a second copy of the id, and of the position.
    const again = { ...stored!, seq: 4, offset: 10 };
    await assert.rejects(journal.commit({ events: [again], snapshots: [] }), JournalConflictError);
    const samePosition = { ...stored!, stream: 'old-2', id: randomBytes(16) };
    await assert.rejects(
      journal.commit({ events: [samePosition], snapshots: [] }),
      JournalConflictError,
    );
  } finally {
    await journal.close();
  }
});

/** A row of `stream` at `seq`, with a fresh id, on shard 1 at `offset`. */
function rowAt(stream: string, seq: number, offset: number, payloadBytes = 8): JournalEvent {
  return {
    shard: 1,
    offset,
    stream,
    seq,
    id: randomBytes(16),
    type: 'T',
    timestamp: 1_700_000_000_000,
    correlationId: null,
    contentType: 0,
    payload: randomBytes(payloadBytes),
  };
}

/** A journal in a fresh temporary directory, opened with 8 shards; `owner` runs the checkpointer. */
async function freshJournal(
  name: string,
  owner = false,
): Promise<{ dir: string; journal: SqliteJournal }> {
  const dir = mkdtempSync(join(tmpdir(), `shardline-${name}-`));
  dirs.push(dir);
  const journal = new SqliteJournal(dir, 8, null, owner);
  await journal.open(8);
  return { dir, journal };
}

test('each stream of a group is written as one run, and seqs that do not rise are refused', async () => {
  const { dir, journal } = await freshJournal('runs');
  try {
    let offset = 0;
    const interleaved = [1, 2, 3].flatMap((seq) =>
      ['run-a', 'run-b'].map((stream) => rowAt(stream, seq, ++offset)),
    );
    await journal.commit({ events: interleaved, snapshots: [] });
    const runs = () =>
      withDatabase(dir, (db) =>
        db
          .prepare(
            'SELECT stream, seq, run_events AS n FROM events WHERE run_events > 0 ORDER BY stream, seq',
          )
          .all(),
      );
    assert.deepEqual(runs(), [
      { stream: 'run-a', seq: 1, n: 3 },
      { stream: 'run-b', seq: 1, n: 3 },
    ]);
    // A seq already taken, in the middle of a run or at its end, conflicts; the rest of the
    // group is not written either.
    for (const taken of [2, 3]) {
      await assert.rejects(
        journal.commit({
          events: [rowAt('run-c', 1, 100), rowAt('run-a', taken, 101)],
          snapshots: [],
        }),
        (error: unknown) => error instanceof JournalConflictError && error.rows.join() === '1',
      );
    }
    // Seqs of one stream must rise within a group.
    await assert.rejects(
      journal.commit({ events: [rowAt('run-b', 5, 102), rowAt('run-b', 4, 103)], snapshots: [] }),
      (error: unknown) => error instanceof JournalConflictError && error.rows.join() === '0,1',
    );
    // A gap is not the journal's to refuse (the actors keep seqs gap-free): it starts a new run.
    await journal.commit({
      events: [rowAt('run-a', 4, 104), rowAt('run-a', 6, 105), rowAt('run-a', 7, 106)],
      snapshots: [],
    });
    assert.deepEqual(
      runs().filter((r) => (r as { stream: string }).stream === 'run-a'),
      [
        { stream: 'run-a', seq: 1, n: 3 },
        { stream: 'run-a', seq: 4, n: 1 },
        { stream: 'run-a', seq: 6, n: 2 },
      ],
    );
    assert.deepEqual(
      (await journal.readStream('run-a', 3, 10)).map((e) => e.seq),
      [3, 4, 6, 7],
    );
    assert.deepEqual(
      (await journal.readStream('run-a', 5, 10)).map((e) => e.seq),
      [6, 7],
    );
    assert.deepEqual((await journal.readStream('run-c', 1, 10)).length, 0);
  } finally {
    await journal.close();
  }
});

test('a stream written in runs of one and in long runs reads back from every seq, with every limit', async () => {
  const { journal } = await freshJournal('anchors');
  try {
    // 300 groups of one event of `walked` between events of another stream, so its runs are
    // one row each and never adjacent; then one run of 150 (holding two anchor seqs).
    let offset = 0;
    for (let seq = 1; seq <= 300; seq++) {
      await journal.commit({
        events: [rowAt('other', seq, ++offset), rowAt('walked', seq, ++offset)],
        snapshots: [],
      });
    }
    await journal.commit({
      events: Array.from({ length: 150 }, (_, k) => rowAt('walked', 301 + k, ++offset)),
      snapshots: [{ stream: 'walked', seq: 100, state: '{}' }],
    });
    const seqsFrom = (from: number, count: number): number[] =>
      Array.from({ length: Math.max(0, Math.min(count, 450 - from + 1)) }, (_, k) => from + k);
    for (const from of [1, 2, 63, 64, 65, 127, 128, 129, 250, 299, 300, 301, 383, 384, 449, 450]) {
      for (const limit of [1, 2, 63, 64, 65, 130, 1000]) {
        assert.deepEqual(
          (await journal.readStream('walked', from, limit)).map((e) => e.seq),
          seqsFrom(from, limit),
          `from ${from}, limit ${limit}`,
        );
      }
    }
    assert.deepEqual(await journal.readStream('walked', 451, 10), []);
    // Recovery: the snapshot, the events after it, and the last ids.
    const [recovery] = await journal.loadStreams(['walked'], 128);
    assert.equal(recovery!.snapshot?.seq, 100);
    assert.deepEqual(
      recovery!.replay.map((e) => e.seq),
      seqsFrom(101, 350),
    );
    assert.deepEqual(
      recovery!.recent.map((e) => e.seq),
      seqsFrom(323, 128),
    );
  } finally {
    await journal.close();
  }
});

test('a taken seq is refused whether or not the journal still remembers the stream', async () => {
  const { journal } = await freshJournal('last-seqs');
  try {
    // More streams than the journal keeps heads for: the first ones are forgotten. Each
    // gets a run of two, so that seq 2, not a run start, has no index entry to refuse it.
    const streams = HEAD_CACHE_STREAMS + 10;
    let offset = 0;
    await journal.commit({
      events: Array.from({ length: streams }, (_, i) => [
        rowAt(`many-${i}`, 1, ++offset),
        rowAt(`many-${i}`, 2, ++offset),
      ]).flat(),
      snapshots: [],
    });
    for (const stream of ['many-0', `many-${streams - 1}`]) {
      await assert.rejects(
        journal.commit({ events: [rowAt(stream, 2, ++offset)], snapshots: [] }),
        (error: unknown) => error instanceof JournalConflictError && error.rows.join() === '0',
      );
      await journal.commit({ events: [rowAt(stream, 3, offset)], snapshots: [] });
      assert.deepEqual(
        (await journal.readStream(stream, 1, 10)).map((e) => e.seq),
        [1, 2, 3],
      );
    }
  } finally {
    await journal.close();
  }
});

test('workers sharing a file fsync the WAL after each commit, and the reader sees every commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-wal-sync-'));
  dirs.push(dir);
  const words = WalSync.create();
  const lock = SharedMutex.create();
  const reader = new SqliteJournal(dir, 8, null, true, words);
  await reader.open(8);
  const writers = [1, 2].map(
    (owner) => new SqliteJournal(dir, 8, new SharedMutex(lock, owner), false, words),
  );
  try {
    for (const writer of writers) await writer.open(8);
    let offset = 0;
    for (let seq = 1; seq <= 20; seq++) {
      for (const [w, writer] of writers.entries()) {
        await writer.commit({ events: [rowAt(`w${w}`, seq, ++offset)], snapshots: [] });
        // Every commit returned after an fsync through its own ticket.
        assert.equal(words[2], words[0]);
      }
    }
    // A commit visible to the reader and not yet fsynced (its worker between COMMIT and fsync):
    // a read fsyncs before it answers.
    Atomics.store(words, 1, Atomics.add(words, 0, 1n) + 1n);
    assert.equal((await reader.readStream('w0', 1, 1)).length, 1);
    assert.equal(words[2], words[0], "the reader's fsync covered it");
    // A worker that died in its commit took a ticket it never wrote: reads still answer.
    Atomics.add(words, 0, 1n);
    for (const w of [0, 1]) {
      assert.deepEqual(
        (await reader.readStream(`w${w}`, 1, 100)).map((e) => e.seq),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
    const conflict = writers[0]!.commit({ events: [rowAt('w0', 20, ++offset)], snapshots: [] });
    await assert.rejects(conflict, JournalConflictError);
    await writers[1]!.commit({ events: [rowAt('w1', 21, ++offset)], snapshots: [] });
    assert.equal(words[2], words[0], 'a later commit fsyncs past the lost ticket');
  } finally {
    for (const writer of writers) await writer.close();
    await reader.close();
  }
});

test('a worker whose WAL fsync fails refuses every later commit and reports itself unavailable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-wal-fail-'));
  dirs.push(dir);
  const words = WalSync.create();
  const reader = new SqliteJournal(dir, 8, null, true, words);
  await reader.open(8);
  const writer = new SqliteJournal(dir, 8, new SharedMutex(SharedMutex.create(), 1), false, words);
  try {
    await writer.open(8);
    await writer.commit({ events: [rowAt('f', 1, 1)], snapshots: [] });
    walSyncFaults.failNextWriterSync = true;
    await assert.rejects(
      writer.commit({ events: [rowAt('f', 2, 2)], snapshots: [] }),
      (error: ShardlineError) =>
        error.code === 'ERR_JOURNAL_COMMIT' && /fsync of the WAL failed/.test(error.message),
    );
    assert.equal(writer.isAvailable(), false, 'readiness goes 503');
    await assert.rejects(
      writer.commit({ events: [rowAt('f', 3, 3)], snapshots: [] }),
      /restart the server/,
    );
    // What the failed fsync left visible is fsynced by the reader before it is shown.
    assert.deepEqual(
      (await reader.readStream('f', 1, 10)).map((e) => e.seq),
      [1, 2],
    );
    assert.equal(words[2], words[0]);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('under steady commits the WAL starts over instead of growing, and no commit fails', async () => {
  // The owner runs the checkpointer thread, as the server's journal does.
  const { dir, journal } = await freshJournal('wal', true);
  const walPath = join(dir, `${SQLITE_FILE_NAME}-wal`);
  let largestWal = 0;
  let offset = 0;
  const seqs = new Map<string, number>();
  try {
    // Each group writes 100 rows of 3 KiB, about 80 WAL pages: 1,200 groups write about
    // 380 MiB, with a commit landing during every pass.
    // Each group starts with a new stream, whose last seq the commit must read before it
    // writes: a transaction that reads first must still wait for the checkpointer's lock.
    for (let group = 0; group < 1200; group++) {
      const streams = new Set<string>([`new-${group}`]);
      while (streams.size < 100) streams.add(`w-${Math.floor(Math.random() * 1000)}`);
      const events = [...streams].map((stream) => {
        const seq = (seqs.get(stream) ?? 0) + 1;
        seqs.set(stream, seq);
        return rowAt(stream, seq, ++offset, 3000);
      });
      await journal.commit({ events, snapshots: [] });
      if (group % 50 === 0) largestWal = Math.max(largestWal, statSync(walPath).size);
    }
  } finally {
    await journal.close();
  }
  // About 64 MiB before a restart, plus what a pass takes to come round.
  assert.ok(largestWal < 256 * 1024 * 1024, `the WAL reached ${largestWal} bytes`);
});

test('the owner writes the WAL out to its steady size first, and a crashed WAL keeps its commits', async () => {
  const presized = 32 + 16_384 * (24 + 4096);
  // A crash image: the file and the WAL of a journal that committed and never closed.
  const { dir: crashed, journal: writer } = await freshJournal('wal-crashed');
  const events = [1, 2, 3].map((seq) => rowAt('c', seq, seq, 5000));
  await writer.commit({ events, snapshots: [] });
  const dir = mkdtempSync(join(tmpdir(), 'shardline-wal-presize-'));
  dirs.push(dir);
  for (const suffix of ['', '-wal']) {
    copyFileSync(join(crashed, SQLITE_FILE_NAME + suffix), join(dir, SQLITE_FILE_NAME + suffix));
  }
  await writer.close();
  const walPath = join(dir, `${SQLITE_FILE_NAME}-wal`);
  assert.ok(statSync(walPath).size < presized, 'the crash image has a short WAL');

  const owner = new SqliteJournal(dir, 8, null, true);
  const again = mkdtempSync(join(tmpdir(), 'shardline-wal-presized-crash-'));
  dirs.push(again);
  try {
    await owner.open(8);
    assert.ok(statSync(walPath).size >= presized, 'the owner wrote the WAL out');
    const read = await owner.readStream('c', 1, 10);
    assert.deepEqual(
      read.map((e) => [e.seq, Buffer.from(e.payload).equals(events[e.seq - 1]!.payload)]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    );
    await owner.commit({ events: [rowAt('c', 4, 4)], snapshots: [] });
    // A second crash image, of the written-out WAL with commits at its start.
    for (const suffix of ['', '-wal']) {
      copyFileSync(join(dir, SQLITE_FILE_NAME + suffix), join(again, SQLITE_FILE_NAME + suffix));
    }
  } finally {
    await owner.close();
  }
  // SQLite recovers the WAL up to its last valid frame, and takes none of the zeros for one.
  const recovered = new SqliteJournal(again, 8);
  try {
    await recovered.open(8);
    assert.deepEqual(
      (await recovered.readStream('c', 1, 10)).map((e) => e.seq),
      [1, 2, 3, 4],
    );
    await recovered.commit({ events: [rowAt('c', 5, 5)], snapshots: [] });
  } finally {
    await recovered.close();
  }
});
