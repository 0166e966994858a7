import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentIds } from '../src/recent-ids.js';

/** A small deterministic generator, so that a failure replays. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface ModelEntry {
  id: Uint8Array;
  seq: number;
  shard: number;
  offset: number;
}

/**
 * Random adds, positions, commits and drops against a plain array that holds the same entries:
 * every id ever used must be found exactly where the array says (the newest entry holding it)
 * or not at all. Ids come from a small pool, so that buckets collide and ids repeat.
 */
for (const capacity of [0, 1, 2, 5, 128]) {
  test(`recent ids match a plain list through random operations (capacity ${capacity})`, () => {
    const random = generator(capacity + 1);
    const pool = Array.from({ length: 3 * capacity + 20 }, (_, n) => {
      const id = new Uint8Array(16);
      for (let i = 0; i < 16; i++) id[i] = Math.floor(random() * 256);
      // Some ids differ from another in one byte only.
      if (n % 7 === 1) id[15] = 0;
      return id;
    });
    const recent = new RecentIds(capacity);
    let committed: ModelEntry[] = [];
    let pending: ModelEntry[] = [];
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.45) {
        const id = pool[Math.floor(random() * pool.length)]!;
        const seq = step;
        const entry = recent.addPending(id, seq);
        const offset = random() < 0.5 ? step + 1 : 0;
        if (offset !== 0) recent.setPosition(entry, step % 1024, offset);
        pending.push({ id, seq, shard: offset === 0 ? 0 : step % 1024, offset });
      } else if (roll < 0.85) {
        if (pending.length === 0) continue;
        recent.commitOldestPending();
        committed.push(pending.shift()!);
        if (committed.length > capacity) committed = committed.slice(committed.length - capacity);
      } else if (roll < 0.99) {
        const keep = Math.floor(random() * (pending.length + 1));
        recent.dropPending(keep);
        pending = pending.slice(0, keep);
      } else {
        // A long group of one stream: far past capacity (the arrays grow, and shrink again once
        // it is committed).
        for (let n = 0; n < 10 * capacity + 50; n++) {
          const id = pool[n % pool.length]!;
          recent.setPosition(recent.addPending(id, n), 1, n + 1);
          pending.push({ id, seq: n, shard: 1, offset: n + 1 });
        }
      }
      assert.equal(recent.pending, pending.length);
      // Every id now and then; a few at random otherwise.
      const newest = new Map<string, ModelEntry>();
      for (const held of committed.concat(pending))
        newest.set(Buffer.from(held.id).toString('hex'), held);
      const checked =
        step % 64 === 0
          ? pool
          : Array.from({ length: 8 }, () => pool[Math.floor(random() * pool.length)]!);
      for (const id of checked) {
        const expected = newest.get(Buffer.from(id).toString('hex'));
        const entry = recent.find(id);
        if (expected === undefined) {
          assert.equal(entry, -1, `step ${step}: an id that is not held was found`);
        } else {
          assert.notEqual(entry, -1, `step ${step}: an id that is held was not found`);
          const { seq, shard, offset } = expected;
          assert.deepEqual(recent.positionOf(entry), { seq, shard, offset }, `step ${step}`);
        }
      }
    }
  });
}

test('an id that is not 16 bytes is refused', () => {
  assert.throws(() => new RecentIds(4).addPending(new Uint8Array(15), 1), /16 bytes/);
});
