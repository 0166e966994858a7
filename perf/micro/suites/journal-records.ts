/**
 * Journal record encoding: an APPEND record of a 100-event batch written into a shard ring
 * (`writeAppend`) and decoded by the worker (`readAppend`), and the RESULTS record that comes
 * back (`writeResults` / `readResultsInto`). All on one thread: this measures the encoding, not
 * the hand-over.
 */
import { add } from 'benny';
import { createRingBuffer, RingConsumer, RingProducer } from '../../../core/index.js';
import {
  readAppend,
  readResultsInto,
  writeAppend,
  writeResults,
} from '../../../core/src/shard-records.js';
import { EventResults } from '../../../protocol/index.js';
import { BATCH_EVENTS, makeDecodedEvents, makeResults } from '../fixtures.js';
import type { MicroSuite } from '../suite.js';

export const journalRecordsSuite: MicroSuite = {
  name: 'journal-records',
  title: 'Journal records (shard ring encoding)',
  cases: () => {
    const buffer = createRingBuffer(1 << 20);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    const events = makeDecodedEvents();
    const indices = events.map((_, i) => i);
    const results = makeResults();
    const target = new EventResults(BATCH_EVENTS);
    let token = 0;
    return [
      add(`writeAppend + readAppend (${BATCH_EVENTS} events × 120 B)`, () => {
        if (!writeAppend(producer, ++token, events, indices, null)) throw new Error('ring full');
        consumer.next();
        readAppend(consumer);
        consumer.release();
      }),
      add(`writeResults + readResultsInto (${BATCH_EVENTS} results)`, () => {
        if (!writeResults(producer, ++token, results)) throw new Error('ring full');
        consumer.next();
        readResultsInto(consumer, target, indices);
        consumer.release();
      }),
    ];
  },
  eventsPerOp: () => BATCH_EVENTS,
};
