import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { createRingBuffer, RingConsumer, RingProducer } from '../src/ring.js';
import { recordByte, recordLength } from './ring-records.js';

test('1,000,000 variable-length records cross two threads exactly once, in order, byte-identical', async () => {
  const count = 1_000_000;
  const seed = 12345;
  const buffer = createRingBuffer(16 * 1024); // small, so that records wrap constantly
  const producer = new Worker(new URL('./ring-producer.worker.js', import.meta.url), {
    workerData: { buffer, count, seed },
  });
  const exited = new Promise<number>((resolve) => producer.once('exit', resolve));
  const consumer = new RingConsumer(buffer);
  let received = 0;
  let wraps = 0;
  let lastOffset = 0;
  while (received < count) {
    if (!consumer.next()) {
      await consumer.waitAsync(consumer.writeCounter(), 50);
      continue;
    }
    const expectedLength = recordLength(seed, received);
    assert.equal(consumer.length, expectedLength, `record ${received} length`);
    for (let p = 0; p < expectedLength; p++) {
      if (consumer.bytes[consumer.offset + p] !== recordByte(seed, received, p)) {
        assert.fail(`record ${received} differs at byte ${p}`);
      }
    }
    if (consumer.offset < lastOffset) wraps++;
    lastOffset = consumer.offset;
    consumer.release();
    received++;
  }
  assert.equal(await exited, 0);
  assert.equal(consumer.next(), false, 'nothing more than what was sent');
  assert.ok(wraps > 1000, `the ring wrapped ${wraps} times`);
});

test('a full ring refuses a record instead of queueing it, and accepts it once space is freed', () => {
  const buffer = createRingBuffer(1024);
  const producer = new RingProducer(buffer);
  const consumer = new RingConsumer(buffer);
  const record = new Uint8Array(200).fill(7);
  let written = 0;
  while (producer.write(record)) written++;
  assert.equal(written, 5, '5 records of 204 bytes fit in 1 KiB');
  assert.equal(producer.write(record), false);
  assert.equal(producer.reserve(producer.maxRecordBytes + 1), -1, 'over-large records are refused');
  assert.ok(consumer.next());
  consumer.release();
  assert.equal(producer.write(record), true);
});
