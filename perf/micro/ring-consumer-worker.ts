/**
 * The consuming thread of the two-thread ring benchmark: drains records as fast as they come,
 * and reports the running count in a shared control word, waking the producer only once the
 * count reaches the target it set (a notify per record would measure the notify instead).
 */
import { workerData } from 'node:worker_threads';
import { RingConsumer } from '../../core/index.js';
import { RingControl } from './ring-control.js';

const { ring, control } = workerData as { ring: SharedArrayBuffer; control: SharedArrayBuffer };
const consumer = new RingConsumer(ring);
const words = new Int32Array(control);
let consumed = 0;
let checksum = 0;
while (Atomics.load(words, RingControl.stop) === 0) {
  if (!consumer.next()) {
    consumer.wait(consumer.writeCounter(), 20);
    continue;
  }
  checksum = (checksum + consumer.bytes[consumer.offset]!) | 0;
  consumer.release();
  consumed++;
  if (consumed >= Atomics.load(words, RingControl.target)) {
    Atomics.store(words, RingControl.consumed, consumed);
    Atomics.notify(words, RingControl.consumed);
  }
}
Atomics.store(words, RingControl.checksum, checksum);
