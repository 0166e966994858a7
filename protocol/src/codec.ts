/**
 * Encoding and verified decoding of Shardline frames.
 *
 * Decoding never uses the flatc-generated accessors: the FlatBuffers TypeScript runtime has no
 * verifier and reads garbage silently from hostile input. Instead `decodeFrame` walks the
 * buffer once, checking every offset, vtable, vector and string against the buffer's bounds
 * before it reads it, and produces plain values. Encoding uses the generated builders.
 *
 * Binary layout reminders (FlatBuffers, little-endian):
 *
 *   buf: [u32 root offset][4-byte file identifier "SHL1"] ... tables, vtables, vectors ...
 *   table at t:   [i32 soffset] inline fields...        vtable at t - soffset
 *   vtable:       [u16 vtable bytes][u16 table bytes][u16 field offset] * n   (0 = absent)
 *   vector at v:  [u32 length][elements]        (table elements are u32 offsets, relative)
 *   string at s:  [u32 length][utf-8 bytes][0]
 */
import * as flatbuffers from 'flatbuffers';
import {
  AppendBatch as FbAppendBatch,
  BatchAck as FbBatchAck,
  Body as FbBody,
  Credit as FbCredit,
  Error as FbError,
  Event as FbEvent,
  EventResult as FbEventResult,
  Frame as FbFrame,
  Ping as FbPing,
  Pong as FbPong,
} from '../generated/shardline_generated.js';
import { CloseCode, FrameError } from './errors.js';
import { EventResults, type Status } from './status.js';
import { StringCache } from './string-cache.js';

export const FILE_IDENTIFIER = 'SHL1';
export const PROTOCOL_VERSION = 1;

/** Field ids, in schema order. A union occupies two ids: its type, then its value. */
const FrameField = { version: 0, bodyType: 1, body: 2 } as const;
const EventField = {
  id: 0,
  stream: 1,
  type: 2,
  expectedSeq: 3,
  timestamp: 4,
  correlationId: 5,
  contentType: 6,
  payload: 7,
} as const;
const BatchField = { batchId: 0, correlationId: 1, events: 2 } as const;
const ResultField = { status: 0, seq: 1, shard: 2, offset: 3, error: 4 } as const;
const AckField = { batchId: 0, results: 1 } as const;
const ErrorField = { code: 0, message: 1, batchId: 2 } as const;

/** One event of a decoded AppendBatch. `id` and `payload` are views into the decoded buffer. */
export interface DecodedEvent {
  id: Uint8Array;
  stream: string;
  type: string;
  /** -1 for "any"; NaN when the wire value is outside the safe integer range. */
  expectedSeq: number;
  /** 0 for "server time"; NaN when the wire value is outside the safe integer range. */
  timestamp: number;
  correlationId: string | null;
  contentType: number;
  payload: Uint8Array;
}

export interface DecodedAppendBatch {
  body: 'append_batch';
  version: number;
  batchId: bigint;
  correlationId: string | null;
  events: DecodedEvent[];
}
export interface DecodedBatchAck {
  body: 'batch_ack';
  version: number;
  batchId: bigint;
  results: EventResults;
}
export interface DecodedCredit {
  body: 'credit';
  version: number;
  window: number;
}
export interface DecodedError {
  body: 'error';
  version: number;
  code: string;
  message: string;
  batchId: bigint;
}
export interface DecodedPing {
  body: 'ping' | 'pong';
  version: number;
  nonce: bigint;
}
export type DecodedFrame =
  | DecodedAppendBatch
  | DecodedBatchAck
  | DecodedCredit
  | DecodedError
  | DecodedPing;

export interface DecodeLimits {
  /** Frames longer than this are refused with ERR_FRAME_TOO_LARGE (close 1009). */
  maxFrameBytes: number;
  /** AppendBatch frames with more events are refused with ERR_BATCH_TOO_LARGE (close 1009). */
  maxEventsPerBatch: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxEventsPerBatch: 10_000,
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const decodeUtf8 = (bytes: Uint8Array): string => utf8.decode(bytes);
/** Stream names and event types, which repeat from batch to batch (this thread's own). */
const names = new StringCache();
const TWO_32 = 4294967296;

function bounds(message: string): never {
  throw new FrameError('ERR_FRAME_BOUNDS', message);
}

/**
 * A single pass over one untrusted buffer. Every method checks bounds before it reads.
 * Positions are absolute byte offsets into `bytes`.
 */
class FrameReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  #tablesLeft: number;

  constructor(bytes: Uint8Array, maxTables: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
    this.#tablesLeft = maxTables;
  }

  u32(position: number): number {
    if (position < 0 || position + 4 > this.length) bounds(`u32 at ${position} is out of bounds`);
    return this.view.getUint32(position, true);
  }

  /** Verifies the table at `table` and its vtable; returns `table`. */
  table(table: number): number {
    if (--this.#tablesLeft < 0) {
      throw new FrameError('ERR_FRAME_TOO_COMPLEX', 'frame holds too many tables');
    }
    if (table < 0 || table + 4 > this.length) bounds(`table at ${table} is out of bounds`);
    const vtable = table - this.view.getInt32(table, true);
    if (vtable < 0 || vtable + 4 > this.length) bounds(`vtable of table ${table} is out of bounds`);
    const vtableBytes = this.view.getUint16(vtable, true);
    const tableBytes = this.view.getUint16(vtable + 2, true);
    if (vtableBytes < 4 || (vtableBytes & 1) !== 0 || vtable + vtableBytes > this.length) {
      bounds(`vtable of table ${table} has a bad size`);
    }
    if (tableBytes < 4 || table + tableBytes > this.length) {
      bounds(`table at ${table} overruns the buffer`);
    }
    return table;
  }

  /** The absolute position of field `id` of a verified table, or 0 when absent. */
  field(table: number, id: number, width: number): number {
    const vtable = table - this.view.getInt32(table, true);
    const slot = 4 + 2 * id;
    if (slot >= this.view.getUint16(vtable, true)) return 0;
    const offset = this.view.getUint16(vtable + slot, true);
    if (offset === 0) return 0;
    if (offset < 4 || offset + width > this.view.getUint16(vtable + 2, true)) {
      bounds(`field ${id} of table ${table} lies outside the table`);
    }
    return table + offset;
  }

  /** Follows the u32 offset stored at `position`; the target is bounds-checked by its reader. */
  target(position: number): number {
    return position + this.view.getUint32(position, true);
  }

  uint8(table: number, id: number, fallback: number): number {
    const p = this.field(table, id, 1);
    return p === 0 ? fallback : this.bytes[p]!;
  }

  uint16(table: number, id: number, fallback: number): number {
    const p = this.field(table, id, 2);
    return p === 0 ? fallback : this.view.getUint16(p, true);
  }

  uint32(table: number, id: number, fallback: number): number {
    const p = this.field(table, id, 4);
    return p === 0 ? fallback : this.view.getUint32(p, true);
  }

  /** A signed 64-bit field as a number; NaN when it is outside the safe integer range. */
  int64(table: number, id: number, fallback: number): number {
    const p = this.field(table, id, 8);
    if (p === 0) return fallback;
    const value = this.view.getInt32(p + 4, true) * TWO_32 + this.view.getUint32(p, true);
    return Number.isSafeInteger(value) ? value : Number.NaN;
  }

  /** An unsigned 64-bit field as a bigint (batch ids and nonces are opaque to the server). */
  uint64(table: number, id: number): bigint {
    const p = this.field(table, id, 8);
    return p === 0 ? 0n : this.view.getBigUint64(p, true);
  }

  /** An unsigned 64-bit field as a number; NaN when it is above 2^53. */
  uint64Number(table: number, id: number): number {
    const p = this.field(table, id, 8);
    if (p === 0) return 0;
    const value = this.view.getUint32(p + 4, true) * TWO_32 + this.view.getUint32(p, true);
    return Number.isSafeInteger(value) ? value : Number.NaN;
  }

  /** A verified sub-table, or -1 when the field is absent. */
  subTable(table: number, id: number): number {
    const p = this.field(table, id, 4);
    return p === 0 ? -1 : this.table(this.target(p));
  }

  /** A byte vector as a view into the buffer, or null when absent. */
  byteVector(table: number, id: number): Uint8Array | null {
    const p = this.field(table, id, 4);
    if (p === 0) return null;
    const vector = this.target(p);
    const length = this.u32(vector);
    if (vector + 4 + length > this.length) bounds(`byte vector at ${vector} overruns the buffer`);
    return this.bytes.subarray(vector + 4, vector + 4 + length);
  }

  /**
   * A string (UTF-8, zero-terminated on the wire), or null when absent. `repeats` decodes it
   * through the cache of names (stream names, event types), for strings that recur.
   */
  string(table: number, id: number, repeats = false): string | null {
    const p = this.field(table, id, 4);
    if (p === 0) return null;
    const start = this.target(p);
    const length = this.u32(start);
    const end = start + 4 + length;
    if (end + 1 > this.length) bounds(`string at ${start} overruns the buffer`);
    if (this.bytes[end] !== 0) bounds(`string at ${start} is not zero-terminated`);
    try {
      return repeats
        ? names.get(this.bytes, start + 4, end, decodeUtf8)
        : utf8.decode(this.bytes.subarray(start + 4, end));
    } catch (cause) {
      throw new FrameError(
        'ERR_FRAME_UTF8',
        `string at ${start} is not valid UTF-8`,
        CloseCode.invalidPayload,
        { cause },
      );
    }
  }

  /** The position and length of a vector of tables; elements are checked by `element`. */
  tableVector(table: number, id: number, maxLength: number): { start: number; count: number } {
    const p = this.field(table, id, 4);
    if (p === 0) return { start: 0, count: -1 };
    const vector = this.target(p);
    const count = this.u32(vector);
    if (count > maxLength) {
      throw new FrameError(
        'ERR_BATCH_TOO_LARGE',
        `vector holds ${count} elements, the limit is ${maxLength}`,
        CloseCode.messageTooBig,
      );
    }
    if (vector + 4 + 4 * count > this.length) bounds(`vector at ${vector} overruns the buffer`);
    return { start: vector + 4, count };
  }

  element(start: number, index: number): number {
    const position = start + 4 * index;
    return this.table(this.target(position));
  }
}

function required<T>(value: T | null, what: string): T {
  if (value === null) throw new FrameError('ERR_FRAME_FIELD', `${what} is required`);
  return value;
}

function readEvent(reader: FrameReader, table: number, index: number): DecodedEvent {
  return {
    id: required(reader.byteVector(table, EventField.id), `events[${index}].id`),
    stream: required(reader.string(table, EventField.stream, true), `events[${index}].stream`),
    type: required(reader.string(table, EventField.type, true), `events[${index}].type`),
    expectedSeq: reader.int64(table, EventField.expectedSeq, -1),
    timestamp: reader.int64(table, EventField.timestamp, 0),
    correlationId: reader.string(table, EventField.correlationId),
    contentType: reader.uint8(table, EventField.contentType, 0),
    payload: reader.byteVector(table, EventField.payload) ?? EMPTY_BYTES,
  };
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Verifies and decodes one untrusted frame. Throws `FrameError` (with the close code the
 * connection must use) for anything malformed; never returns garbage.
 *
 * The returned `id` and `payload` views alias `bytes`: the caller owns `bytes` and must keep it
 * alive and unmodified for as long as it uses them. A uWS message buffer must be copied first.
 */
export function decodeFrame(
  bytes: Uint8Array,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodedFrame {
  if (bytes.byteLength > limits.maxFrameBytes) {
    throw new FrameError(
      'ERR_FRAME_TOO_LARGE',
      `frame is ${bytes.byteLength} bytes, the limit is ${limits.maxFrameBytes}`,
      CloseCode.messageTooBig,
    );
  }
  if (bytes.byteLength < 8) bounds(`frame is ${bytes.byteLength} bytes, shorter than a header`);
  if (
    bytes[4] !== 0x53 || // S
    bytes[5] !== 0x48 || // H
    bytes[6] !== 0x4c || // L
    bytes[7] !== 0x31 // 1
  ) {
    throw new FrameError('ERR_FRAME_IDENTIFIER', `frame identifier is not "${FILE_IDENTIFIER}"`);
  }
  // Frame + body + one table per event or result bounds the work a hostile frame can cause.
  const reader = new FrameReader(bytes, limits.maxEventsPerBatch + 2);
  const frame = reader.table(reader.u32(0));
  const version = reader.uint16(frame, FrameField.version, PROTOCOL_VERSION);
  if (version < 1) throw new FrameError('ERR_FRAME_VERSION', `frame version ${version} is invalid`);
  const bodyType = reader.uint8(frame, FrameField.bodyType, FbBody.NONE) as FbBody;
  const body = reader.subTable(frame, FrameField.body);
  if (body < 0) throw new FrameError('ERR_FRAME_FIELD', 'frame body is required');

  switch (bodyType) {
    case FbBody.AppendBatch: {
      const { start, count } = reader.tableVector(
        body,
        BatchField.events,
        limits.maxEventsPerBatch,
      );
      if (count < 0) throw new FrameError('ERR_FRAME_FIELD', 'AppendBatch.events is required');
      const events = new Array<DecodedEvent>(count);
      for (let i = 0; i < count; i++) events[i] = readEvent(reader, reader.element(start, i), i);
      return {
        body: 'append_batch',
        version,
        batchId: reader.uint64(body, BatchField.batchId),
        correlationId: reader.string(body, BatchField.correlationId),
        events,
      };
    }
    case FbBody.BatchAck: {
      const { start, count } = reader.tableVector(body, AckField.results, limits.maxEventsPerBatch);
      if (count < 0) throw new FrameError('ERR_FRAME_FIELD', 'BatchAck.results is required');
      const results = new EventResults(count);
      for (let i = 0; i < count; i++) {
        const result = reader.element(start, i);
        results.set(
          i,
          reader.uint8(result, ResultField.status, 0) as Status,
          reader.uint64Number(result, ResultField.seq),
          reader.uint32(result, ResultField.shard, 0),
          reader.uint64Number(result, ResultField.offset),
        );
        const error = reader.string(result, ResultField.error);
        if (error !== null) results.error.set(i, error);
      }
      return {
        body: 'batch_ack',
        version,
        batchId: reader.uint64(body, AckField.batchId),
        results,
      };
    }
    case FbBody.Credit:
      return { body: 'credit', version, window: reader.uint32(body, 0, 0) };
    case FbBody.Error:
      return {
        body: 'error',
        version,
        code: required(reader.string(body, ErrorField.code), 'Error.code'),
        message: reader.string(body, ErrorField.message) ?? '',
        batchId: reader.uint64(body, ErrorField.batchId),
      };
    case FbBody.Ping:
      return { body: 'ping', version, nonce: reader.uint64(body, 0) };
    case FbBody.Pong:
      return { body: 'pong', version, nonce: reader.uint64(body, 0) };
    default:
      throw new FrameError('ERR_FRAME_BODY', `frame body type ${bodyType} is not supported`);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding. Each function clears and reuses the caller's Builder (one per thread) and returns a
// view into it that stays valid only until the Builder's next use: send or copy it at once.

/** One event to encode into an AppendBatch. */
export interface EventInput {
  /** 16 bytes. */
  id: Uint8Array;
  stream: string;
  type: string;
  /** -1 (or absent) for "any". */
  expectedSeq?: number;
  /** Milliseconds since the epoch; 0 (or absent) for server time. */
  timestamp?: number;
  correlationId?: string;
  contentType?: number;
  payload: Uint8Array;
}

/**
 * Adds a uint64 field of the table being built, from a number below 2^53, as the generated
 * `add…` would from a bigint. The generated path (`BigInt(n)`, then flatbuffers' `writeInt64`
 * splitting it with BigInt arithmetic) allocated about ten bigints per field: two fields per
 * event of every ack. 0 is the fields' default and is left out, as the generated code does.
 */
function addUint64Field(builder: flatbuffers.Builder, field: number, value: number): void {
  if (value === 0) return;
  builder.prep(8, 0);
  // The builder writes downwards: the high word first, at the higher address.
  builder.writeInt32(Math.floor(value / TWO_32) | 0);
  builder.writeInt32(value % TWO_32 | 0);
  builder.slot(field);
}

function finishFrame(builder: flatbuffers.Builder, bodyType: FbBody, body: number): Uint8Array {
  FbFrame.startFrame(builder);
  // Written explicitly: FlatBuffers omits fields equal to their default, and the version must
  // be on the wire so that a peer can tell what it is talking to.
  builder.forceDefaults(true);
  FbFrame.addVersion(builder, PROTOCOL_VERSION);
  builder.forceDefaults(false);
  FbFrame.addBodyType(builder, bodyType);
  FbFrame.addBody(builder, body);
  builder.finish(FbFrame.endFrame(builder), FILE_IDENTIFIER);
  return builder.asUint8Array();
}

export function encodeAppendBatch(
  builder: flatbuffers.Builder,
  batchId: bigint,
  events: readonly EventInput[],
  correlationId?: string,
): Uint8Array {
  builder.clear();
  const offsets = new Array<number>(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const id = builder.createByteVector(event.id);
    const stream = builder.createString(event.stream);
    const type = builder.createString(event.type);
    const eventCorrelation =
      event.correlationId === undefined ? 0 : builder.createString(event.correlationId);
    const payload = builder.createByteVector(event.payload);
    FbEvent.startEvent(builder);
    FbEvent.addId(builder, id);
    FbEvent.addStream(builder, stream);
    FbEvent.addType(builder, type);
    if (event.expectedSeq !== undefined && event.expectedSeq !== -1) {
      FbEvent.addExpectedSeq(builder, BigInt(event.expectedSeq));
    }
    if (event.timestamp !== undefined && event.timestamp !== 0) {
      FbEvent.addTimestamp(builder, BigInt(event.timestamp));
    }
    if (eventCorrelation !== 0) FbEvent.addCorrelationId(builder, eventCorrelation);
    if (event.contentType !== undefined) FbEvent.addContentType(builder, event.contentType);
    FbEvent.addPayload(builder, payload);
    offsets[i] = FbEvent.endEvent(builder);
  }
  const vector = FbAppendBatch.createEventsVector(builder, offsets);
  const batchCorrelation = correlationId === undefined ? 0 : builder.createString(correlationId);
  FbAppendBatch.startAppendBatch(builder);
  FbAppendBatch.addBatchId(builder, batchId);
  if (batchCorrelation !== 0) FbAppendBatch.addCorrelationId(builder, batchCorrelation);
  FbAppendBatch.addEvents(builder, vector);
  return finishFrame(builder, FbBody.AppendBatch, FbAppendBatch.endAppendBatch(builder));
}

export function encodeBatchAck(
  builder: flatbuffers.Builder,
  batchId: bigint,
  results: EventResults,
): Uint8Array {
  builder.clear();
  const offsets = new Array<number>(results.length);
  for (let i = 0; i < results.length; i++) {
    const message = results.error.get(i);
    const error = message === undefined ? 0 : builder.createString(message);
    FbEventResult.startEventResult(builder);
    FbEventResult.addStatus(builder, results.status[i]!);
    addUint64Field(builder, ResultField.seq, results.seq[i]!);
    FbEventResult.addShard(builder, results.shard[i]!);
    addUint64Field(builder, ResultField.offset, results.offset[i]!);
    if (error !== 0) FbEventResult.addError(builder, error);
    offsets[i] = FbEventResult.endEventResult(builder);
  }
  const vector = FbBatchAck.createResultsVector(builder, offsets);
  return finishFrame(builder, FbBody.BatchAck, FbBatchAck.createBatchAck(builder, batchId, vector));
}

export function encodeCredit(builder: flatbuffers.Builder, window: number): Uint8Array {
  builder.clear();
  return finishFrame(builder, FbBody.Credit, FbCredit.createCredit(builder, window));
}

export function encodeError(
  builder: flatbuffers.Builder,
  code: string,
  message: string,
  batchId = 0n,
): Uint8Array {
  builder.clear();
  const codeOffset = builder.createString(code);
  const messageOffset = builder.createString(message);
  return finishFrame(
    builder,
    FbBody.Error,
    FbError.createError(builder, codeOffset, messageOffset, batchId),
  );
}

export function encodePing(builder: flatbuffers.Builder, nonce: bigint): Uint8Array {
  builder.clear();
  return finishFrame(builder, FbBody.Ping, FbPing.createPing(builder, nonce));
}

export function encodePong(builder: flatbuffers.Builder, nonce: bigint): Uint8Array {
  builder.clear();
  return finishFrame(builder, FbBody.Pong, FbPong.createPong(builder, nonce));
}

/** A Builder for one thread's encoders; reuse it, never share it across threads. */
export function createBuilder(initialBytes = 64 * 1024): flatbuffers.Builder {
  return new flatbuffers.Builder(initialBytes);
}

export type { Builder } from 'flatbuffers';

/** UTF-8 byte length of a string, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3; // lone surrogates encode as U+FFFD, 3 bytes
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
