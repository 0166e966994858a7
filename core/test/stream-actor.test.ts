import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { idKey, StreamActor } from '../src/stream-actor.js';

test('an actor keeps only the position of a recent id, not the row and frame it came with', () => {
  const actor = new StreamActor('s', 4);
  const id = randomBytes(16);
  // A payload view into a large frame, as the single-threaded runtime hands rows over.
  const frame = new Uint8Array(1 << 20);
  const row = {
    shard: 3,
    offset: 7,
    stream: 's',
    seq: 1,
    id,
    type: 'T',
    timestamp: 1,
    correlationId: null,
    contentType: 0,
    payload: frame.subarray(100, 220),
  };
  actor.apply(idKey(id), row, row.type, row.timestamp);
  assert.deepEqual(actor.recentEvent(idKey(id)), { seq: 1, shard: 3, offset: 7 });
  assert.equal(actor.seq, 1);
});

test('an actor forgets the oldest recent id beyond its capacity', () => {
  const actor = new StreamActor('s', 2);
  const ids = [randomBytes(16), randomBytes(16), randomBytes(16)];
  ids.forEach((id, i) => actor.apply(idKey(id), { seq: i + 1, shard: 0, offset: i + 1 }, 'T', 1));
  assert.equal(actor.recentEvent(idKey(ids[0]!)), undefined);
  assert.deepEqual(actor.recentEvent(idKey(ids[2]!)), { seq: 3, shard: 0, offset: 3 });
  assert.equal(actor.knowsAllIds(), false, 'three ids committed, two remembered');
});
