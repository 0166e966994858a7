import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { EventResults, Status, type DecodedEvent } from '../../protocol/index.js';
import {
  ShardRuntime,
  shardOf,
  SQLITE_FILE_NAME,
  SqliteJournal,
  type CommitGroup,
  type Journal,
} from '../index.js';
import { decodedEvent as event } from './decoded-events.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-core-'));
  dirs.push(dir);
  return dir;
}

function append(runtime: ShardRuntime, events: DecodedEvent[]): Promise<EventResults> {
  return new Promise((resolve) => runtime.append(events, null, resolve));
}

test('a passivated stream continues its seq from its snapshot plus replay', async () => {
  const dir = tempDir();
  const runtime = new ShardRuntime(new SqliteJournal(dir, 8), {
    maxLiveActors: 10,
    snapshotEvery: 3,
  });
  await runtime.start();
  for (let round = 0; round < 4; round++) {
    // 50 streams against a cap of 10 live actors: every round passivates and recovers them.
    const results = await append(
      runtime,
      Array.from({ length: 50 }, (_, s) => event(`p-${s}`)),
    );
    assert.ok([...results.status].every((status) => status === Status.ok));
    assert.ok(
      [...results.seq].every((seq) => seq === round + 1),
      `round ${round}`,
    );
    assert.ok(runtime.liveActors <= 10);
  }
  await runtime.close();
  const db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
  const snapshots = db.prepare('SELECT COUNT(*) AS n FROM snapshots').get() as { n: number };
  db.close();
  assert.equal(snapshots.n, 50, 'passivation and shutdown snapshot every stream');

  const reopened = new ShardRuntime(new SqliteJournal(dir, 8), { maxLiveActors: 10 });
  await reopened.start();
  const state = await reopened.streamState('p-7');
  assert.deepEqual({ seq: state?.seq, counts: state?.eventCounts }, { seq: 4, counts: { T: 4 } });
  const next = await append(reopened, [event('p-7', { expectedSeq: 4 })]);
  assert.equal(next.status[0], Status.ok);
  assert.equal(next.seq[0], 5);
  await reopened.close();
});

test('a duplicate older than the in-memory window is found in the journal', async () => {
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 8), { recentIds: 4 });
  await runtime.start();
  const first = event('old-dup');
  await append(runtime, [first]);
  for (let i = 0; i < 10; i++) await append(runtime, [event('old-dup')]);
  const again = await append(runtime, [{ ...first }]);
  assert.equal(again.status[0], Status.duplicate);
  assert.equal(again.seq[0], 1);
  await runtime.close();
});

test('a conflicting row fails only its event; the actor reloads and the rest commits', async () => {
  const dir = tempDir();
  const runtime = new ShardRuntime(new SqliteJournal(dir, 8));
  await runtime.start();
  assert.equal((await append(runtime, [event('c-1')])).status[0], Status.ok);
  // A second writer (here: a bug, or a split brain) takes seq 2 of c-1 behind the actor's back,
  // and behind the runtime's journal, which remembers the stream at seq 1.
  const intruder = new SqliteJournal(dir, 8);
  await intruder.open(1024);
  await intruder.commit({
    events: [
      {
        shard: shardOf('c-1', 1024),
        offset: 1_000_000,
        stream: 'c-1',
        seq: 2,
        id: randomBytes(16),
        type: 'T',
        timestamp: 1,
        correlationId: null,
        contentType: 0,
        payload: Buffer.from([0]),
      },
    ],
    snapshots: [],
  });
  await intruder.close();
  const results = await append(runtime, [event('c-1'), event('c-2'), event('c-3')]);
  assert.deepEqual([...results.status], [Status.unavailable, Status.ok, Status.ok]);
  const retry = await append(runtime, [event('c-1')]);
  assert.equal(retry.status[0], Status.ok);
  assert.equal(retry.seq[0], 3, 'the reloaded actor saw the foreign seq 2');
  await runtime.close();
});

/** Fault injection: a journal whose next commit fails. */
class FailingJournal implements Journal {
  readonly kind = 'failing';
  failNext = false;
  readonly #inner: Journal;
  constructor(inner: Journal) {
    this.#inner = inner;
  }
  open(shards: number) {
    return this.#inner.open(shards);
  }
  isAvailable() {
    return this.#inner.isAvailable();
  }
  shardOffsets() {
    return this.#inner.shardOffsets();
  }
  loadStreams(streams: readonly string[], recent: number) {
    return this.#inner.loadStreams(streams, recent);
  }
  findEvents(keys: Parameters<Journal['findEvents']>[0]) {
    return this.#inner.findEvents(keys);
  }
  readStream(stream: string, from: number, limit: number) {
    return this.#inner.readStream(stream, from, limit);
  }
  close() {
    return this.#inner.close();
  }
  commit(group: CommitGroup) {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('disk on fire'));
    }
    return this.#inner.commit(group);
  }
}

test('a failed commit answers unavailable and leaves seqs and offsets as they were', async () => {
  const journal = new FailingJournal(new SqliteJournal(tempDir(), 8));
  const runtime = new ShardRuntime(journal);
  await runtime.start();
  const first = await append(runtime, [event('f-1')]);
  journal.failNext = true;
  const failed = await append(runtime, [event('f-1'), event('f-1')]);
  assert.deepEqual([...failed.status], [Status.unavailable, Status.unavailable]);
  assert.match(failed.error.get(0)!, /disk on fire/);
  const after = await append(runtime, [event('f-1')]);
  assert.equal(after.seq[0], 2);
  assert.equal(after.offset[0], first.offset[0]! + 1, 'no offset was lost to the failed group');
  await runtime.close();
});

test('queued events beyond the limit answer overloaded; draining answers unavailable', async () => {
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 8), { maxQueuedEvents: 10 });
  await runtime.start();
  const accepted = append(
    runtime,
    Array.from({ length: 10 }, () => event('q')),
  );
  const refused = await append(runtime, [event('q')]);
  assert.equal(refused.status[0], Status.overloaded);
  assert.ok([...(await accepted).status].every((s) => s === Status.ok));
  const drained = runtime.drain();
  assert.equal((await append(runtime, [event('q')])).status[0], Status.unavailable);
  await drained;
  await runtime.close();
});

test('batches that keep arriving over several I/O turns commit as one group', async () => {
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 8));
  await runtime.start();
  // Two batches in one turn (as uWS delivers a socket read), a third in the next turn: a client
  // streaming its window. One group, one commit, instead of a commit per turn.
  const first = append(runtime, [event('g-1')]);
  const second = append(runtime, [event('g-2')]);
  const third = new Promise<EventResults>((resolve) =>
    setImmediate(() => runtime.append([event('g-3')], null, resolve)),
  );
  for (const results of await Promise.all([first, second, third]))
    assert.equal(results.status[0], Status.ok);
  assert.equal(runtime.stats.groupsCommitted, 1);
  await runtime.close();
});

test('queued bytes beyond the limit answer overloaded; a lone batch over it still commits', async () => {
  const big = (): DecodedEvent => ({ ...event('b'), payload: new Uint8Array(4096) });
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 8), { maxQueuedBytes: 10_000 });
  await runtime.start();
  // One batch bigger than the cap is taken when nothing waits, or it could never commit.
  const lone = await append(runtime, [big(), big(), big()]);
  assert.ok([...lone.status].every((s) => s === Status.ok));
  const first = append(runtime, [big(), big()]);
  const refused = await append(runtime, [big()]);
  assert.equal(refused.status[0], Status.overloaded);
  assert.match(refused.error.get(0)!, /queue is full/);
  assert.ok([...(await first).status].every((s) => s === Status.ok));
  const after = await append(runtime, [big()]);
  assert.equal(after.status[0], Status.ok, 'the queue takes events again once it drained');
  assert.equal(after.seq[0], 6, 'the refused event took no seq');
  await runtime.close();
});

test('one id used by several streams in a group is a new event in each; its repeats are duplicates of their own stream', async () => {
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 16, null, false), {});
  await runtime.start();
  try {
    const id = randomBytes(16);
    const other = randomBytes(16);
    // Two batches queued in one I/O turn commit as one group.
    const [first, second] = await Promise.all([
      append(runtime, [
        event('shared-a', { id }),
        event('shared-b', { id }),
        event('shared-a', { id }),
        // Accepted, then undone when the next event of its stream fails its expected seq.
        event('shared-c', { id }),
        event('shared-c', { expectedSeq: 5 }),
      ]),
      append(runtime, [
        event('shared-b', { id }),
        event('shared-c', { id }),
        event('shared-a', { id: other }),
      ]),
    ]);
    assert.deepEqual(
      [...first.status],
      [Status.ok, Status.ok, Status.duplicate, Status.wrongExpectedSeq, Status.wrongExpectedSeq],
    );
    assert.deepEqual([...second.status], [Status.duplicate, Status.ok, Status.ok]);
    // Each duplicate carries its own stream's position.
    const at = (r: EventResults, i: number): number[] => [r.seq[i]!, r.shard[i]!, r.offset[i]!];
    assert.deepEqual(at(first, 2), at(first, 0));
    assert.deepEqual(at(second, 0), at(first, 1));
    assert.notDeepEqual(at(first, 0), at(first, 1));
    assert.equal(runtime.stats.groupsCommitted, 1, 'both batches were one group');
    // shared-c's failed event left nothing behind: the same id was new in the next batch.
    assert.equal(second.seq[1], 1);
    assert.equal(second.seq[2], 2, 'shared-a went on');
    const again = await append(runtime, [event('shared-c', { id }), event('shared-d', { id })]);
    assert.deepEqual([...again.status], [Status.duplicate, Status.ok]);
    assert.deepEqual(at(again, 0), at(second, 1));
  } finally {
    await runtime.close();
  }
});

test('idle passivation takes the actors idle for the timeout and keeps the ones in use', async () => {
  const runtime = new ShardRuntime(new SqliteJournal(tempDir(), 8));
  await runtime.start();
  await append(runtime, [event('idle-b')]);
  await append(runtime, [event('idle-a')]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Used again well within the timeout, though less than a second after its last use.
  await append(runtime, [event('idle-a')]);
  // The answer comes inside the commit loop; passivation waits for the runtime to be idle.
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(runtime.isIdle());
  assert.equal(runtime.passivateIdle(200), 1, 'only the stream idle for 300 ms');
  assert.equal(runtime.liveActors, 1);
  const b = await append(runtime, [event('idle-b')]);
  const a = await append(runtime, [event('idle-a')]);
  assert.equal(b.seq[0], 2, 'the passivated stream continues its seq');
  assert.equal(a.seq[0], 3);
  await runtime.close();
});
