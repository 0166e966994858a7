/**
 * The journal contract: one suite of node:test tests that every `Journal` back end must pass.
 * A back end's test file calls `journalContract(harness)` with a harness that makes fresh,
 * empty stores (a temporary directory, a new database); nothing here knows which back end runs.
 *
 * Two levels: the port itself (commit, reads, conflicts, snapshots, schema and shard checks,
 * bad rows), and the shard runtime on top of it (expected seq, duplicates across restarts,
 * gap-free offsets, a conflict failing one event alone), because those promises hold only if
 * the journal keeps its side of the contract.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Status, type DecodedEvent, type EventResults } from '../../protocol/index.js';
import {
  JournalConflictError,
  ShardRuntime,
  shardOf,
  type CommitGroup,
  type Journal,
  type JournalEvent,
  type ShardRuntimeOptions,
} from '../index.js';
import { decodedEvent as event } from './decoded-events.js';
import { prng } from './prng.js';

/** One empty store of a back end: a data directory, a database. */
export interface JournalStore {
  /**
   * A new, unopened journal on this store. Several may be open at once, as separate processes
   * or workers would be.
   */
  journal(): Journal;
  /** Writes a row of the store's `meta` table behind the journals' backs. */
  setMeta(name: string, value: string): Promise<void>;
  /** The number of rows in the store's `events` table. */
  countEvents(): Promise<number>;
}

export interface JournalHarness {
  /** Shown in test names: `sqlite`, `mysql (batch)`. */
  name: string;
  /** A fresh, empty store. The harness removes it when its test file ends. */
  newStore(): Promise<JournalStore>;
  /**
   * A payload size that the back end cannot store in one row, or null when that is impractical
   * to test (SQLite's limit is 1 GB).
   */
  oversizePayloadBytes: number | null;
}

const SHARDS = 16;

function row(
  stream: string,
  seq: number,
  shard: number,
  offset: number,
  overrides: Partial<JournalEvent> = {},
): JournalEvent {
  return {
    shard,
    offset,
    stream,
    seq,
    id: randomBytes(16),
    type: 'T',
    timestamp: 1_700_000_000_000 + seq,
    correlationId: null,
    contentType: 0,
    payload: randomBytes(32),
    ...overrides,
  };
}

/** `count` rows of one stream, seqs 1.., on `shard` from `firstOffset`. */
function streamRows(stream: string, count: number, shard: number, firstOffset = 1): JournalEvent[] {
  return Array.from({ length: count }, (_, i) => row(stream, i + 1, shard, firstOffset + i));
}

function group(events: JournalEvent[], snapshots: CommitGroup['snapshots'] = []): CommitGroup {
  return { events, snapshots };
}

/** Compares what a back end read back with what was written, byte for byte. */
function assertSameEvents(actual: JournalEvent[], expected: JournalEvent[]): void {
  assert.equal(actual.length, expected.length, 'number of events');
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.deepEqual(
      { ...a, id: Buffer.from(a.id).toString('hex'), payload: Buffer.from(a.payload) },
      { ...e, id: Buffer.from(e.id).toString('hex'), payload: Buffer.from(e.payload) },
      `event ${i}`,
    );
  }
}

async function assertConflict(promise: Promise<unknown>, rows: number[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof JournalConflictError,
      `a JournalConflictError, got ${String(error)}`,
    );
    assert.equal(error.code, 'ERR_JOURNAL_CONFLICT');
    assert.deepEqual(
      [...error.rows].sort((x, y) => x - y),
      rows,
    );
    return true;
  });
}

function append(runtime: ShardRuntime, events: DecodedEvent[]): Promise<EventResults> {
  return new Promise((resolve) => runtime.append(events, null, resolve));
}

function statuses(results: EventResults): number[] {
  return [...results.status];
}

/** Registers the contract tests for one back end. */
export function journalContract(harness: JournalHarness): void {
  describe(`journal contract: ${harness.name}`, () => {
    /** Runs `body` with an opener whose journals are all closed afterwards, pass or fail. */
    async function withStore(
      body: (
        store: JournalStore,
        open: (shards?: number) => Promise<Journal>,
        track: (journal: Journal) => Journal,
      ) => Promise<void>,
    ): Promise<void> {
      const store = await harness.newStore();
      const journals: Journal[] = [];
      const track = (journal: Journal): Journal => {
        journals.push(journal);
        return journal;
      };
      const open = async (shards = SHARDS): Promise<Journal> => {
        const journal = track(store.journal());
        await journal.open(shards);
        return journal;
      };
      try {
        await body(store, open, track);
      } finally {
        for (const journal of journals) await journal.close();
      }
    }

    async function runtimeOn(
      store: JournalStore,
      options: Partial<ShardRuntimeOptions> = {},
    ): Promise<ShardRuntime> {
      const runtime = new ShardRuntime(store.journal(), { shards: SHARDS, ...options });
      await runtime.start();
      return runtime;
    }

    test('commit appends rows that read back byte for byte', () =>
      withStore(async (store, open) => {
        const journal = await open();
        const stream = 'ü-stream-✓ 42';
        const events = [
          row(stream, 1, 3, 1, { correlationId: 'corr-1', contentType: 1 }),
          row(stream, 2, 3, 2, { payload: new Uint8Array(0), type: 'Typé' }),
          row(stream, 3, 3, 3, { payload: Buffer.from([0, 0, 39, 92, 0, 255]) }),
        ];
        await journal.commit(group(events));
        assertSameEvents(await journal.readStream(stream, 1, 100), events);
        assert.deepEqual(await journal.readStream('no-such-stream', 1, 100), []);
        // Streams differing only in case or a trailing space are different streams.
        const lookalikes = [row('Case', 1, 4, 1), row('case', 1, 4, 2), row('case ', 1, 4, 3)];
        await journal.commit(group(lookalikes));
        for (const event of lookalikes) {
          assertSameEvents(await journal.readStream(event.stream, 1, 10), [event]);
        }
        assert.equal(await store.countEvents(), 6);
      }));

    test('reads honour fromSeq and limit', () =>
      withStore(async (_store, open) => {
        const journal = await open();
        const events = streamRows('paged', 10, 5);
        await journal.commit(group(events));
        assertSameEvents(await journal.readStream('paged', 4, 3), events.slice(3, 6));
        assertSameEvents(await journal.readStream('paged', 9, 100), events.slice(8));
        assert.deepEqual(await journal.readStream('paged', 11, 100), []);
        assertSameEvents(await journal.readStream('paged', 1, 10), events);
      }));

    test('streams interleaved over two groups read back from every seq, with every limit', () =>
      withStore(async (_store, open) => {
        const journal = await open();
        const streams = ['mixed-a', 'mixed-b', 'mixed-c'];
        const written = new Map(streams.map((stream) => [stream, [] as JournalEvent[]]));
        let offset = 0;
        // Each group cycles through the streams, so no two consecutive rows share a stream.
        for (const perStream of [3, 4]) {
          const events: JournalEvent[] = [];
          for (let k = 0; k < perStream; k++) {
            for (const stream of streams) {
              const event = row(stream, written.get(stream)!.length + 1, 5, ++offset);
              written.get(stream)!.push(event);
              events.push(event);
            }
          }
          await journal.commit(group(events));
        }
        for (const stream of streams) {
          const all = written.get(stream)!;
          for (let fromSeq = 0; fromSeq <= 8; fromSeq++) {
            for (let limit = 1; limit <= 8; limit++) {
              const first = Math.max(fromSeq, 1) - 1;
              assertSameEvents(
                await journal.readStream(stream, fromSeq, limit),
                all.slice(first, first + limit),
              );
            }
          }
        }
        const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex');
        const [recovery] = await journal.loadStreams(['mixed-b'], 5);
        assert.deepEqual(
          recovery!.recent.map((r) => [r.seq, hex(r.id), r.offset]),
          written
            .get('mixed-b')!
            .slice(2)
            .map((e) => [e.seq, hex(e.id), e.offset]),
        );
        assert.deepEqual(
          recovery!.replay.map((r) => r.seq),
          [1, 2, 3, 4, 5, 6, 7],
        );
      }));

    test('committed rows survive close and reopen, and a repeat of them is refused', () =>
      withStore(async (store, open) => {
        const first = await open();
        const events = streamRows('durable', 5, 2);
        await first.commit(group(events));
        await first.close();
        const second = await open();
        assertSameEvents(await second.readStream('durable', 1, 100), events);
        assert.deepEqual(
          await second.findEvents(events.map((e) => ({ stream: e.stream, id: e.id }))),
          events.map((e) => ({ seq: e.seq, shard: e.shard, offset: e.offset })),
        );
        await assertConflict(second.commit(group(events)), [0, 1, 2, 3, 4]);
        assert.equal(await store.countEvents(), 5, 'no second copy');
      }));

    test('a conflict lists every offending row and commits nothing', () =>
      withStore(async (store, open) => {
        const journal = await open();
        const base = streamRows('a', 3, 1);
        await journal.commit(group(base));
        const candidate = [
          row('b', 1, 2, 1), // 0: fine
          row('a', 4, 1, 4, { id: base[1]!.id }), // 1: (stream, event id) taken
          row('c', 1, 2, 2), // 2: fine
          row('a', 3, 1, 5), // 3: (stream, seq) taken
          row('c', 2, 2, 3), // 4: fine
          row('d', 1, 1, 2), // 5: position (shard 1, offset 2) taken
          row('e', 1, 2, 4), // 6: fine
          row('e', 2, 2, 4), // 7: the position of row 6, in the same group
        ];
        await assertConflict(journal.commit(group(candidate)), [1, 3, 5, 7]);
        assert.equal(await store.countEvents(), 3, 'nothing of the group was committed');
        assert.deepEqual(await journal.readStream('b', 1, 10), []);
        // The journal is still usable, and the good rows commit on their own.
        const good = [0, 2, 4, 6].map((i) => candidate[i]!);
        await journal.commit(group(good));
        assert.equal(await store.countEvents(), 7);
      }));

    test('one bad row in a group of 1,000 is reported alone; the other 999 commit', () =>
      withStore(async (store, open) => {
        const journal = await open();
        await journal.commit(group([row('taken', 1, 0, 1)]));
        const events = Array.from({ length: 1000 }, (_, i) =>
          row(`bulk-${i % 50}`, Math.floor(i / 50) + 1, 1 + (i % 8), 1 + Math.floor(i / 8)),
        );
        events[613] = row('taken', 1, 9, 1);
        await assertConflict(journal.commit(group(events)), [613]);
        assert.equal(await store.countEvents(), 1);
        await journal.commit(group(events.filter((_, i) => i !== 613)));
        assert.equal(await store.countEvents(), 1000);
      }));

    test('shardOffsets reports the highest offset of every shard with events', () =>
      withStore(async (_store, open) => {
        const journal = await open();
        assert.equal((await journal.shardOffsets()).size, 0);
        await journal.commit(
          group([...streamRows('s0', 4, 0), ...streamRows('s3', 2, 3), ...streamRows('s7', 9, 7)]),
        );
        assert.deepEqual(
          [...(await journal.shardOffsets())].sort((x, y) => x[0] - y[0]),
          [
            [0, 4],
            [3, 2],
            [7, 9],
          ],
        );
      }));

    test('shardOffsets finds every shard, all written, one far behind the rest', () =>
      withStore(async (_store, open) => {
        // The back ends read positions from the highest offset down; a shard whose top lies
        // 12,000 rows below the others' (past one read chunk) must still be found.
        const journal = await open();
        const rows = [...streamRows('behind', 1, 0)];
        for (let shard = 1; shard < SHARDS; shard++) {
          rows.push(...streamRows(`ahead-${shard}`, shard === 1 ? 12_000 : 3, shard));
        }
        await journal.commit(group(rows));
        const tops = await journal.shardOffsets();
        assert.equal(tops.size, SHARDS);
        assert.equal(tops.get(0), 1);
        assert.equal(tops.get(1), 12_000);
        assert.equal(tops.get(SHARDS - 1), 3);
      }));

    test('streams interleaved at random over 300 groups, reopened now and then, read back and recover from any seq', () =>
      withStore(async (_store, open) => {
        const random = prng(7);
        const pick = (n: number): number => Math.floor(random() * n);
        const streams = ['r-0', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
        const written = new Map(streams.map((stream) => [stream, [] as JournalEvent[]]));
        const snapshotSeqs = new Map<string, number>();
        let journal = await open();
        let offset = 0;
        for (let g = 0; g < 300; g++) {
          // 1 to 30 events, each of a random stream: runs of every length, in any order.
          const events: JournalEvent[] = [];
          for (let k = 1 + pick(30); k > 0; k--) {
            const stream = streams[pick(streams.length)]!;
            const rows = written.get(stream)!;
            const next = row(stream, rows.length + 1, pick(SHARDS), ++offset);
            rows.push(next);
            events.push(next);
          }
          const snapshots: CommitGroup['snapshots'] = [];
          const snapshotted = streams[pick(streams.length)]!;
          const snapshotSeq = written.get(snapshotted)!.length;
          if (random() < 0.1 && snapshotSeq > 0) {
            snapshots.push({ stream: snapshotted, seq: snapshotSeq, state: '{}' });
            snapshotSeqs.set(snapshotted, snapshotSeq);
          }
          await journal.commit(group(events, snapshots));
          // A new journal remembers nothing of the last one's commits.
          if (random() < 0.05) {
            await journal.close();
            journal = await open();
          }
        }
        for (const stream of streams) {
          const rows = written.get(stream)!;
          for (let k = 0; k < 20; k++) {
            const from = 1 + pick(rows.length + 2);
            const limit = 1 + pick(150);
            assertSameEvents(
              await journal.readStream(stream, from, limit),
              rows.slice(from - 1, from - 1 + limit),
            );
          }
          const recentIds = pick(150);
          const [recovery] = await journal.loadStreams([stream], recentIds);
          const snapshotSeq = snapshotSeqs.get(stream) ?? 0;
          assert.equal(recovery!.snapshot?.seq ?? 0, snapshotSeq, `${stream} snapshot`);
          assert.deepEqual(
            recovery!.replay.map((e) => e.seq),
            rows.slice(snapshotSeq).map((e) => e.seq),
            `${stream} replay`,
          );
          assert.deepEqual(
            recovery!.recent.map((e) => Buffer.from(e.id).toString('hex')),
            rows
              .slice(Math.max(0, rows.length - recentIds))
              .map((e) => Buffer.from(e.id).toString('hex')),
            `${stream} recent ids`,
          );
        }
      }));

    test('snapshots: the newest wins; loadStreams returns snapshot, replay and recent ids', () =>
      withStore(async (_store, open) => {
        const journal = await open();
        const events = streamRows('snap', 10, 6);
        await journal.commit(
          group(events.slice(0, 6), [{ stream: 'snap', seq: 4, state: '{"v":4}' }]),
        );
        await journal.commit(
          group(events.slice(6), [{ stream: 'snap', seq: 6, state: '{"v":6}' }]),
        );
        // An older snapshot arriving late must not replace a newer one.
        await journal.commit(group([], [{ stream: 'snap', seq: 5, state: '{"v":5}' }]));

        const [snap, unknown] = await journal.loadStreams(['snap', 'never-written'], 3);
        assert.deepEqual(snap!.snapshot, { stream: 'snap', seq: 6, state: '{"v":6}' });
        assert.deepEqual(
          snap!.replay,
          events.slice(6).map((e) => ({ seq: e.seq, type: e.type, timestamp: e.timestamp })),
        );
        assert.deepEqual(
          snap!.recent.map((r) => ({ ...r, id: Buffer.from(r.id).toString('hex') })),
          events.slice(7).map((e) => ({
            id: Buffer.from(e.id).toString('hex'),
            seq: e.seq,
            shard: e.shard,
            offset: e.offset,
          })),
          'the last 3 ids, oldest first, with their positions',
        );
        assert.deepEqual(unknown, {
          stream: 'never-written',
          snapshot: null,
          replay: [],
          recent: [],
        });
        // The recent window may reach back before the snapshot.
        const [wide] = await journal.loadStreams(['snap'], 8);
        assert.deepEqual(
          wide!.recent.map((r) => r.seq),
          [3, 4, 5, 6, 7, 8, 9, 10],
        );
        assert.equal(wide!.replay.length, 4);
      }));

    test('findEvents answers in key order, with null for every miss', () =>
      withStore(async (_store, open) => {
        const journal = await open();
        const events = streamRows('find', 3, 2);
        // Quotes, backslashes and non-ASCII must survive whatever encoding the lookup uses.
        const odd = row("q\"uo\\te 'ü✓' [1]", 1, 3, 1);
        await journal.commit(group([...events, odd]));
        const hit = (i: number) => ({
          seq: events[i]!.seq,
          shard: events[i]!.shard,
          offset: events[i]!.offset,
        });
        assert.deepEqual(
          await journal.findEvents([
            { stream: 'find', id: events[2]!.id },
            { stream: 'find', id: randomBytes(16) },
            { stream: 'elsewhere', id: events[0]!.id },
            { stream: 'find', id: events[0]!.id },
            { stream: 'find', id: events[2]!.id },
            { stream: odd.stream, id: odd.id },
            { stream: odd.stream.toUpperCase(), id: odd.id },
          ]),
          [hit(2), null, null, hit(0), hit(2), { seq: 1, shard: 3, offset: 1 }, null],
        );
        assert.deepEqual(await journal.findEvents([]), []);
      }));

    test('a schema newer than this build refuses to open', () =>
      withStore(async (store, open, track) => {
        await (await open()).close();
        await store.setMeta('schema_version', '999');
        await assert.rejects(
          async () => {
            // The SQLite journal checks as it is constructed, the MySQL one in open().
            await track(store.journal()).open(SHARDS);
          },
          { code: 'ERR_JOURNAL_SCHEMA', message: /999/ },
        );
      }));

    test('a different shard count refuses to open; the recorded one still opens', () =>
      withStore(async (_store, open) => {
        await (await open(SHARDS)).close();
        await assert.rejects(open(SHARDS * 2), { code: 'ERR_JOURNAL_SHARDS' });
        const again = await open(SHARDS);
        assert.ok(again.isAvailable());
      }));

    test('a row the back end cannot store is refused by index; nothing is committed', () =>
      withStore(async (store, open) => {
        const journal = await open();
        const invalid = [
          row('bad', 1, 1, 1),
          row('bad', 2, 1, 2, { type: null as unknown as string }),
          row('bad', 3, 1, 3),
        ];
        await assertConflict(journal.commit(group(invalid)), [1]);
        if (harness.oversizePayloadBytes !== null) {
          const oversize = [
            row('big', 1, 2, 1),
            row('big', 2, 2, 2, { payload: Buffer.alloc(harness.oversizePayloadBytes) }),
            row('big', 3, 2, 3),
          ];
          await assertConflict(journal.commit(group(oversize)), [1]);
        }
        assert.equal(await store.countEvents(), 0);
        await journal.commit(group([row('bad', 1, 1, 1), row('big', 1, 2, 1)]));
        assert.equal(await store.countEvents(), 2, 'the journal is still usable');
      }));

    test('runtime: expected seq is checked per stream, atomically within a batch', () =>
      withStore(async (store) => {
        const runtime = await runtimeOn(store);
        try {
          const first = await append(runtime, [event('x', { expectedSeq: 0 }), event('y')]);
          assert.deepEqual(statuses(first), [Status.ok, Status.ok]);
          const mixed = await append(runtime, [
            event('x', { expectedSeq: 1 }),
            event('x'),
            event('y', { expectedSeq: 1 }),
            event('x', { expectedSeq: 99 }),
          ]);
          assert.deepEqual(statuses(mixed), [
            Status.wrongExpectedSeq,
            Status.wrongExpectedSeq,
            Status.ok,
            Status.wrongExpectedSeq,
          ]);
          assert.equal(mixed.seq[0], 1, 'the current seq is returned');
          const retry = await append(runtime, [event('x', { expectedSeq: 1 })]);
          assert.equal(retry.status[0], Status.ok);
          assert.equal(retry.seq[0], 2);
        } finally {
          await runtime.close();
        }
        assert.equal(await store.countEvents(), 4);
      }));

    test('runtime: a resend after a restart answers duplicate with the original position', () =>
      withStore(async (store) => {
        const events = Array.from({ length: 60 }, (_, i) => event(`dup-${i % 5}`));
        const first = await runtimeOn(store, { recentIds: 4 });
        const original = await append(first, events);
        await first.close();
        assert.ok(statuses(original).every((s) => s === Status.ok));
        // A small recent-id window: most ids must be found in the journal, not in memory.
        const second = await runtimeOn(store, { recentIds: 4 });
        try {
          const again = await append(second, events);
          for (let i = 0; i < events.length; i++) {
            assert.equal(again.status[i], Status.duplicate, `event ${i}`);
            assert.equal(again.seq[i], original.seq[i]);
            assert.equal(again.shard[i], original.shard[i]);
            assert.equal(again.offset[i], original.offset[i]);
          }
        } finally {
          await second.close();
        }
        assert.equal(await store.countEvents(), 60, 'no second copy');
      }));

    test('runtime: an old duplicate among new events answers duplicate; the new ones get the next seqs', () =>
      withStore(async (store) => {
        // recentIds 2: the old id is not in memory, so the group is first decided without it
        // and the journal's unique id key refuses it; the group is then decided again.
        const runtime = await runtimeOn(store, { recentIds: 2 });
        try {
          const history = Array.from({ length: 6 }, () => event('mix-1'));
          const original = await append(runtime, history);
          const results = await append(runtime, [
            event('mix-1'),
            { ...history[1]! },
            event('mix-1', { expectedSeq: 7 }),
            event('mix-2'),
          ]);
          assert.deepEqual(statuses(results), [Status.ok, Status.duplicate, Status.ok, Status.ok]);
          assert.deepEqual([...results.seq], [7, 2, 8, 1]);
          assert.equal(results.offset[1], original.offset[1]);
          assert.equal(runtime.stats.groupsRedecided, 1, 'one group was decided twice');
          const stored = await runtime.readStream('mix-1', 0, 100);
          assert.deepEqual(
            stored.map((e) => e.seq),
            [1, 2, 3, 4, 5, 6, 7, 8],
          );
        } finally {
          await runtime.close();
        }
        assert.equal(await store.countEvents(), 9, 'no second copy');
      }));

    test('runtime: offsets stay gap-free per shard across groups and restarts', () =>
      withStore(async (store, open) => {
        const streams = 120;
        for (let round = 0; round < 3; round++) {
          const runtime = await runtimeOn(store, { groupMaxEvents: 700 });
          const pending = [];
          for (let batch = 0; batch < 4; batch++) {
            pending.push(
              append(
                runtime,
                Array.from({ length: 250 }, (_, i) => event(`gap-${(batch * 250 + i) % streams}`)),
              ),
            );
          }
          for (const results of await Promise.all(pending)) {
            assert.ok(statuses(results).every((s) => s === Status.ok));
          }
          await runtime.close();
        }
        const journal = await open();
        const offsets = new Map<number, number[]>();
        for (let s = 0; s < streams; s++) {
          for (const e of await journal.readStream(`gap-${s}`, 1, 10_000)) {
            const list = offsets.get(e.shard) ?? [];
            list.push(e.offset);
            offsets.set(e.shard, list);
          }
        }
        const tops = await journal.shardOffsets();
        let total = 0;
        for (const [shard, list] of offsets) {
          list.sort((x, y) => x - y);
          assert.deepEqual(
            list,
            Array.from({ length: list.length }, (_, i) => i + 1),
            `shard ${shard} has offsets 1..${list.length} without a gap`,
          );
          assert.equal(tops.get(shard), list.length);
          total += list.length;
        }
        assert.equal(total, 3000);
      }));

    test('runtime: an event conflicting inside a group of 1,000 fails alone; 999 commit', () =>
      withStore(async (store, open) => {
        const runtime = await runtimeOn(store);
        try {
          assert.equal((await append(runtime, [event('c-1')])).status[0], Status.ok);
          // A second writer (a bug, a split brain) takes seq 2 of c-1 behind the actor's back.
          const intruder = await open();
          await intruder.commit(group([row('c-1', 2, shardOf('c-1', SHARDS), 1_000_000)]));
          const events = Array.from({ length: 1000 }, (_, i) => event(`many-${i % 100}`));
          events[417] = event('c-1');
          const results = await append(runtime, events);
          assert.equal(results.status[417], Status.unavailable);
          assert.equal(
            statuses(results).filter((s) => s === Status.ok).length,
            999,
            'every other event committed',
          );
          const retry = await append(runtime, [event('c-1')]);
          assert.equal(retry.status[0], Status.ok);
          assert.equal(retry.seq[0], 3, 'the reloaded actor saw the foreign seq 2');
        } finally {
          await runtime.close();
        }
        assert.equal(await store.countEvents(), 1002);
      }));

    test('runtime: state survives passivation and restart through snapshots', () =>
      withStore(async (store) => {
        const runtime = await runtimeOn(store, { maxLiveActors: 10, snapshotEvery: 3 });
        for (let round = 0; round < 4; round++) {
          const results = await append(
            runtime,
            Array.from({ length: 50 }, (_, s) => event(`p-${s}`)),
          );
          assert.ok(statuses(results).every((s) => s === Status.ok));
          assert.ok(
            [...results.seq].every((seq) => seq === round + 1),
            `round ${round}`,
          );
        }
        await runtime.close();
        const reopened = await runtimeOn(store, { maxLiveActors: 10 });
        try {
          const state = await reopened.streamState('p-7');
          assert.deepEqual(
            { seq: state?.seq, counts: state?.eventCounts },
            { seq: 4, counts: { T: 4 } },
          );
          const next = await append(reopened, [event('p-7', { expectedSeq: 4 })]);
          assert.equal(next.status[0], Status.ok);
          assert.equal(next.seq[0], 5);
        } finally {
          await reopened.close();
        }
      }));

    test('runtime: invalid events answer invalid and never reach the journal', () =>
      withStore(async (store) => {
        const runtime = await runtimeOn(store);
        try {
          const results = await append(runtime, [
            event('inv-1'),
            event('inv-2', { id: randomBytes(15) }),
            event('', {}),
            event('inv-3', { type: '' }),
            event('inv-4'),
          ]);
          assert.deepEqual(statuses(results), [
            Status.ok,
            Status.invalid,
            Status.invalid,
            Status.invalid,
            Status.ok,
          ]);
        } finally {
          await runtime.close();
        }
        assert.equal(await store.countEvents(), 2);
      }));
  });
}
