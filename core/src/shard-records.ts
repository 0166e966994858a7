/**
 * The records that cross the rings between the uWS thread and a shard worker.
 *
 *   APPEND (uWS → worker), one per batch and worker:
 *     u8 kind=1 | u32 token | u32 count | u16 n + n bytes batch correlation id (0xFFFF: none)
 *     then per event:
 *     16 bytes id | u8 content type | f64 expected seq | f64 timestamp
 *     | u16 n + stream | u16 n + type | u16 n + correlation id (0xFFFF: none) | u32 n + payload
 *
 *   RESULTS (worker → uWS), one per APPEND, same order:
 *     u8 kind=2 | u32 token | u32 count
 *     then per event: u8 status | f64 seq | u32 shard | f64 offset | u16 n + error (0: none)
 *
 * Strings are UTF-8. Events arrive here already validated (ids are 16 bytes, strings within
 * limits), so lengths fit their fields. The payload is copied once, from the frame into the
 * ring; the worker copies each record out before releasing it.
 */
import {
  EventResults,
  StringCache,
  utf8Length,
  type DecodedEvent,
  type Status,
} from '../../protocol/index.js';
import { copyAsBlobBytes } from './blob-bytes.js';
import type { RingConsumer, RingProducer } from './ring.js';

export const RecordKind = { append: 1, results: 2 } as const;

const NO_STRING = 0xffff;
const EVENT_FIXED_BYTES = 16 + 1 + 8 + 8 + 2 + 2 + 2 + 4;
const RESULT_FIXED_BYTES = 1 + 8 + 4 + 8 + 2;
const HEADER_BYTES = 1 + 4 + 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeString(
  ring: RingProducer,
  position: number,
  text: string | null,
  bytes: number,
): number {
  if (text === null) {
    ring.view.setUint16(position, NO_STRING, true);
    return position + 2;
  }
  ring.view.setUint16(position, bytes, true);
  if (bytes === text.length) {
    // ASCII (as stream names and types nearly always are): byte by byte, which is cheaper
    // than a view plus a call into the encoder for a few bytes.
    const target = ring.bytes;
    for (let i = 0; i < bytes; i++) target[position + 2 + i] = text.charCodeAt(i);
  } else {
    encoder.encodeInto(text, ring.bytes.subarray(position + 2, position + 2 + bytes));
  }
  return position + 2 + bytes;
}

/**
 * Writes the events at `indices` of a batch as one APPEND record. Returns false, writing
 * nothing, when the ring has no room (the caller answers `overloaded`). It does not wake the
 * consumer: call `ring.wakeConsumer()` once every ring of the batch is written.
 */
export function writeAppend(
  ring: RingProducer,
  token: number,
  events: readonly DecodedEvent[],
  indices: readonly number[],
  correlationId: string | null,
): boolean {
  const correlationBytes = correlationId === null ? 0 : utf8Length(correlationId);
  let length = HEADER_BYTES + 2 + correlationBytes;
  for (let k = 0; k < indices.length; k++) {
    const event = events[indices[k]!]!;
    length +=
      EVENT_FIXED_BYTES +
      utf8Length(event.stream) +
      utf8Length(event.type) +
      (event.correlationId === null ? 0 : utf8Length(event.correlationId)) +
      event.payload.length;
  }
  const start = ring.reserve(length);
  if (start < 0) return false;
  const view = ring.view;
  view.setUint8(start, RecordKind.append);
  view.setUint32(start + 1, token, true);
  view.setUint32(start + 5, indices.length, true);
  let p = writeString(ring, start + HEADER_BYTES, correlationId, correlationBytes);
  for (let k = 0; k < indices.length; k++) {
    const event = events[indices[k]!]!;
    ring.bytes.set(event.id, p);
    view.setUint8(p + 16, event.contentType);
    view.setFloat64(p + 17, event.expectedSeq, true);
    view.setFloat64(p + 25, event.timestamp, true);
    p = writeString(ring, p + 33, event.stream, utf8Length(event.stream));
    p = writeString(ring, p, event.type, utf8Length(event.type));
    p = writeString(
      ring,
      p,
      event.correlationId,
      event.correlationId === null ? 0 : utf8Length(event.correlationId),
    );
    view.setUint32(p, event.payload.length, true);
    ring.bytes.set(event.payload, p + 4);
    p += 4 + event.payload.length;
  }
  ring.publish(false);
  return true;
}

export interface AppendRecord {
  token: number;
  correlationId: string | null;
  events: DecodedEvent[];
}

/**
 * Where `readAppend` reads next in the record it decodes. A cursor rather than returning
 * `[value, position]` pairs: escape analysis did not remove the one of each event's correlation
 * id, 64 bytes per event and a fifth of what decoding a record allocated. (`readAppend` runs to
 * completion, and nothing else moves the cursor.)
 */
let cursor = 0;

function readString(record: Buffer, view: DataView): string | null {
  const bytes = view.getUint16(cursor, true);
  const start = cursor + 2;
  if (bytes === NO_STRING) {
    cursor = start;
    return null;
  }
  cursor = start + bytes;
  return record.toString('utf8', start, cursor);
}

/** Stream names and event types, which repeat from batch to batch (this thread's own). */
const names = new StringCache();
const decodeName = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** A stream name or an event type: never absent in an append record. */
function readName(record: Buffer, view: DataView): string {
  const start = cursor + 2;
  cursor = start + view.getUint16(cursor, true);
  return names.get(record, start, cursor, decodeName);
}

/**
 * Decodes the current APPEND record of `ring`. The record is copied out of the ring in one
 * piece, and the events' ids and payloads are views of that copy: one allocation per batch
 * instead of two per event.
 */
export function readAppend(ring: RingConsumer): AppendRecord {
  const copy = copyAsBlobBytes(ring.bytes.subarray(ring.offset, ring.offset + ring.length));
  const view = new DataView(copy.buffer, copy.byteOffset, copy.length);
  const token = view.getUint32(1, true);
  const count = view.getUint32(5, true);
  cursor = HEADER_BYTES;
  const correlationId = readString(copy, view);
  const events = new Array<DecodedEvent>(count);
  for (let i = 0; i < count; i++) {
    const p = cursor;
    const id = copy.subarray(p, p + 16);
    const contentType = view.getUint8(p + 16);
    const expectedSeq = view.getFloat64(p + 17, true);
    const timestamp = view.getFloat64(p + 25, true);
    cursor = p + 33;
    const stream = readName(copy, view);
    const type = readName(copy, view);
    const eventCorrelationId = readString(copy, view);
    const payloadBytes = view.getUint32(cursor, true);
    const payload = copy.subarray(cursor + 4, cursor + 4 + payloadBytes);
    cursor += 4 + payloadBytes;
    events[i] = {
      id,
      stream,
      type,
      expectedSeq,
      timestamp,
      correlationId: eventCorrelationId,
      contentType,
      payload,
    };
  }
  return { token, correlationId, events };
}

/** Writes a RESULTS record; false when the ring is full (the worker waits for space). */
export function writeResults(ring: RingProducer, token: number, results: EventResults): boolean {
  let length = HEADER_BYTES;
  for (let i = 0; i < results.length; i++) {
    const error = results.error.get(i);
    length += RESULT_FIXED_BYTES + (error === undefined ? 0 : Math.min(utf8Length(error), 1024));
  }
  const start = ring.reserve(length);
  if (start < 0) return false;
  const view = ring.view;
  view.setUint8(start, RecordKind.results);
  view.setUint32(start + 1, token, true);
  view.setUint32(start + 5, results.length, true);
  let p = start + HEADER_BYTES;
  for (let i = 0; i < results.length; i++) {
    view.setUint8(p, results.status[i]!);
    view.setFloat64(p + 1, results.seq[i]!, true);
    view.setUint32(p + 9, results.shard[i]!, true);
    view.setFloat64(p + 13, results.offset[i]!, true);
    const error = results.error.get(i);
    if (error === undefined) {
      view.setUint16(p + 21, 0, true);
      p += RESULT_FIXED_BYTES;
    } else {
      const target = ring.bytes.subarray(p + 23, p + 23 + Math.min(utf8Length(error), 1024));
      const { written } = encoder.encodeInto(error, target);
      view.setUint16(p + 21, written, true);
      p += RESULT_FIXED_BYTES + written;
    }
  }
  ring.publish();
  return true;
}

/**
 * Reads the current RESULTS record into `target` at the given indices (result k of the record
 * belongs to event `indices[k]` of the original batch). Returns the record's token.
 */
export function readResultsToken(ring: RingConsumer): number {
  return ring.view.getUint32(ring.offset + 1, true);
}

export function readResultsInto(
  ring: RingConsumer,
  target: EventResults,
  indices: readonly number[],
): void {
  const view = ring.view;
  const count = view.getUint32(ring.offset + 5, true);
  let p = ring.offset + HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    const index = indices[k]!;
    target.set(
      index,
      view.getUint8(p) as Status,
      view.getFloat64(p + 1, true),
      view.getUint32(p + 9, true),
      view.getFloat64(p + 13, true),
    );
    const errorBytes = view.getUint16(p + 21, true);
    if (errorBytes > 0)
      target.error.set(index, decoder.decode(ring.bytes.subarray(p + 23, p + 23 + errorBytes)));
    p += RESULT_FIXED_BYTES + errorBytes;
  }
}
