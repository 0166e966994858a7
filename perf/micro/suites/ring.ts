/**
 * The SPSC ring: one record written and read back on one thread (the cost of the ring's own
 * bookkeeping), and records/s from this thread to a consumer thread through shared memory
 * (each op hands over 10,000 records and waits until the consumer has them all).
 */
import { Worker } from 'node:worker_threads';
import { add } from 'benny';
import { createRingBuffer, RingConsumer, RingProducer } from '../../../core/index.js';
import { RING_CONTROL_BYTES, RingControl } from '../ring-control.js';
import type { MicroSuite } from '../suite.js';

/** About the size of one 120-byte event's APPEND record. */
const RECORD_BYTES = 192;
const RECORDS_PER_HANDOVER = 10_000;

let worker: Worker | null = null;
let words: Int32Array | null = null;

export const ringSuite: MicroSuite = {
  name: 'ring',
  title: 'SPSC ring (SharedArrayBuffer)',
  cases: () => {
    const local = createRingBuffer(1 << 16);
    const localProducer = new RingProducer(local);
    const localConsumer = new RingConsumer(local);
    const record = new Uint8Array(RECORD_BYTES).fill(7);

    const shared = createRingBuffer(1 << 20);
    const producer = new RingProducer(shared);
    const control = new SharedArrayBuffer(RING_CONTROL_BYTES);
    words = new Int32Array(control);
    worker = new Worker(new URL('../ring-consumer-worker.js', import.meta.url), {
      workerData: { ring: shared, control },
    });
    let handedOver = 0;
    const w = words;

    return [
      add(`write + read 1 record (${RECORD_BYTES} B), one thread`, () => {
        localProducer.write(record);
        localConsumer.next();
        localConsumer.release();
      }),
      add(`hand over ${RECORDS_PER_HANDOVER} records (${RECORD_BYTES} B) to another thread`, () => {
        const target = handedOver + RECORDS_PER_HANDOVER;
        Atomics.store(w, RingControl.target, target);
        for (let i = 0; i < RECORDS_PER_HANDOVER; i++) {
          while (!producer.write(record)) producer.waitForSpace(1);
        }
        handedOver = target;
        for (;;) {
          const consumed = Atomics.load(w, RingControl.consumed);
          if (consumed >= target) break;
          Atomics.wait(w, RingControl.consumed, consumed, 100);
        }
      }),
    ];
  },
  eventsPerOp: (name) => (name.startsWith('hand over') ? RECORDS_PER_HANDOVER : 1),
  teardown: async () => {
    if (words !== null) Atomics.store(words, RingControl.stop, 1);
    await worker?.terminate();
    worker = null;
  },
};
