/**
 * The records that carry batches to a shard worker and results back, through a real ring.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventResults, Status, type DecodedEvent } from '../../protocol/index.js';
import { createRingBuffer, RingConsumer, RingProducer } from '../index.js';
import {
  readAppend,
  readResultsInto,
  readResultsToken,
  writeAppend,
  writeResults,
} from '../src/shard-records.js';
import { decodedEvent as event } from './decoded-events.js';

/** Plain values for deepEqual: bytes as hex, whatever the view type. */
function plain(e: DecodedEvent): Record<string, unknown> {
  return {
    ...e,
    id: Buffer.from(e.id).toString('hex'),
    payload: Buffer.from(e.payload).toString('hex'),
  };
}

test('an APPEND record carries every field, ASCII or not, and outlives its ring slot', () => {
  const buffer = createRingBuffer(4096);
  const producer = new RingProducer(buffer);
  const consumer = new RingConsumer(buffer);
  const events = [
    event('account-1'),
    event('ü-stream-✓ 42', { type: 'Typé 😀', correlationId: 'corr-ü', expectedSeq: 7 }),
    event('account-1', { payload: new Uint8Array(0), timestamp: 1_700_000_000_123 }),
    event('a', { contentType: 1, expectedSeq: 0, correlationId: '' }),
  ];
  const indices = [0, 1, 2, 3];
  assert.ok(writeAppend(producer, 41, events, indices, 'batch-ü'));
  assert.ok(consumer.next());
  const record = readAppend(consumer);
  consumer.release();
  assert.equal(record.token, 41);
  assert.equal(record.correlationId, 'batch-ü');
  assert.deepEqual(record.events.map(plain), events.map(plain));

  // The slot is free again: overwrite the whole ring, and the events read before must not
  // change (they are a copy, not views of the ring).
  const before = record.events.map(plain);
  for (let round = 0; round < 8; round++) {
    const filler = [event('x'.repeat(200), { payload: Buffer.alloc(300, 0xee) })];
    assert.ok(writeAppend(producer, round, filler, [0], null));
    assert.ok(consumer.next());
    readAppend(consumer);
    consumer.release();
  }
  assert.deepEqual(record.events.map(plain), before);
});

test('an APPEND record holds only the events at the given indices, in that order', () => {
  const buffer = createRingBuffer(4096);
  const producer = new RingProducer(buffer);
  const consumer = new RingConsumer(buffer);
  const events = [event('s-0'), event('s-1'), event('s-2'), event('s-3')];
  assert.ok(writeAppend(producer, 9, events, [3, 1], null));
  assert.ok(consumer.next());
  const record = readAppend(consumer);
  assert.equal(record.correlationId, null);
  assert.deepEqual(record.events.map(plain), [events[3]!, events[1]!].map(plain));
});

test('a RESULTS record answers the original indices, with non-ASCII errors intact', () => {
  const buffer = createRingBuffer(4096);
  const producer = new RingProducer(buffer);
  const consumer = new RingConsumer(buffer);
  const results = new EventResults(2);
  results.set(0, Status.ok, 3, 17, 120);
  results.fail(1, Status.wrongExpectedSeq, 'expected 2, stream ü is at 5', 5);
  assert.ok(writeResults(producer, 77, results));
  assert.ok(consumer.next());
  assert.equal(readResultsToken(consumer), 77);
  const target = new EventResults(5);
  readResultsInto(consumer, target, [4, 2]);
  assert.deepEqual(
    [target.status[4], target.seq[4], target.shard[4], target.offset[4]],
    [Status.ok, 3, 17, 120],
  );
  assert.equal(target.status[2], Status.wrongExpectedSeq);
  assert.equal(target.error.get(2), 'expected 2, stream ü is at 5');
});
