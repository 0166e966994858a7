/** Test helper thread: writes `count` deterministic records of random sizes into a ring. */
import { workerData } from 'node:worker_threads';
import { RingProducer } from '../src/ring.js';
import { fillRecord, recordLength } from './ring-records.js';

const { buffer, count, seed } = workerData as {
  buffer: SharedArrayBuffer;
  count: number;
  seed: number;
};
const producer = new RingProducer(buffer);
for (let i = 0; i < count; i++) {
  const length = recordLength(seed, i);
  let offset = producer.reserve(length);
  while (offset < 0) {
    producer.waitForSpace(50);
    offset = producer.reserve(length);
  }
  fillRecord(producer.bytes, offset, length, seed, i);
  producer.publish();
}
