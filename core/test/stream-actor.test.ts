import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { StreamActor } from '../src/stream-actor.js';

/** Accepts `id` at the actor's next seq, assigns it a position and commits it. */
function commit(actor: StreamActor, id: Uint8Array, shard: number, offset: number): void {
  const entry = actor.accept(id);
  actor.assignPosition(entry, shard, offset);
  actor.apply({ seq: actor.decidedSeq, shard, offset }, 'T', 1);
}

test('an actor keeps a copy of a recent id, not the frame the id came in', () => {
  const actor = new StreamActor('s', 4);
  // An id view into a large frame, as events arrive from the network or a ring.
  const frame = new Uint8Array(1 << 20);
  const id = frame.subarray(100, 116);
  id.set(randomBytes(16));
  const copy = Uint8Array.from(id);
  commit(actor, id, 3, 7);
  frame.fill(0);
  assert.equal(actor.findRecent(frame.subarray(100, 116)), -1);
  assert.deepEqual(actor.positionOf(actor.findRecent(copy)), { seq: 1, shard: 3, offset: 7 });
  assert.equal(actor.seq, 1);
});

test('an actor forgets the oldest recent id beyond its capacity', () => {
  const actor = new StreamActor('s', 2);
  const ids = [randomBytes(16), randomBytes(16), randomBytes(16)];
  ids.forEach((id, i) => commit(actor, id, 0, i + 1));
  assert.equal(actor.findRecent(ids[0]!), -1);
  assert.deepEqual(actor.positionOf(actor.findRecent(ids[2]!)), { seq: 3, shard: 0, offset: 3 });
  assert.equal(actor.knowsAllIds(), false, 'three ids committed, two remembered');
});

test('ids accepted in a group count as known until they are dropped or committed', () => {
  const actor = new StreamActor('s', 8);
  const committed = randomBytes(16);
  commit(actor, committed, 0, 1);
  const [a, b] = [randomBytes(16), randomBytes(16)];
  actor.accept(a);
  actor.accept(b);
  assert.equal(actor.seq, 1, 'the committed seq waits for the commit');
  assert.equal(actor.decidedSeq, 3);
  assert.equal(actor.positionOf(actor.findRecent(b)).seq, 3);
  actor.dropPending(1);
  assert.equal(actor.findRecent(b), -1, 'the newest accepted id is dropped first');
  assert.notEqual(actor.findRecent(a), -1);
  actor.dropPending();
  assert.equal(actor.findRecent(a), -1);
  assert.equal(actor.decidedSeq, 1);
  assert.notEqual(actor.findRecent(committed), -1, 'committed ids stay');
});
