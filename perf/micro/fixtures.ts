/**
 * The data every micro-benchmark works on: a batch of 100 events with 16-byte ids, streams
 * `user-<n>`, 120-byte payloads, the same shape as the end-to-end and load suites.
 */
import { randomBytes } from 'node:crypto';
import {
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  EventResults,
  Status,
  type DecodedEvent,
  type EventInput,
} from '../../protocol/index.js';

export const BATCH_EVENTS = 100;
export const PAYLOAD_BYTES = 120;

export function makeEventInputs(count = BATCH_EVENTS): EventInput[] {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x61);
  return Array.from({ length: count }, (_, i) => ({
    id: new Uint8Array(randomBytes(16)),
    stream: `user-${i * 7919}`,
    type: i % 3 === 0 ? 'Clicked' : 'Viewed',
    payload,
  }));
}

/** A valid AppendBatch frame of `count` events (a copy, independent of any Builder). */
export function makeAppendBatchFrame(count = BATCH_EVENTS): Uint8Array {
  return encodeAppendBatch(createBuilder(), 1n, makeEventInputs(count)).slice();
}

/** The events of a decoded AppendBatch, as the server hands them to the ring. */
export function makeDecodedEvents(count = BATCH_EVENTS): DecodedEvent[] {
  const frame = decodeFrame(makeAppendBatchFrame(count));
  if (frame.body !== 'append_batch') throw new Error('expected an AppendBatch');
  return frame.events;
}

export function makeResults(count = BATCH_EVENTS): EventResults {
  const results = new EventResults(count);
  for (let i = 0; i < count; i++) results.set(i, Status.ok, i + 1, i % 1024, 1_000_000 + i);
  return results;
}

/** Streams of assorted lengths, cycled through so that no call sees a constant. */
export function makeStreams(count = 1024): string[] {
  return Array.from({ length: count }, (_, i) =>
    i % 4 === 0 ? `tenant-${i % 17}/order-${i * 104_729}` : `user-${i * 7919}`,
  );
}
