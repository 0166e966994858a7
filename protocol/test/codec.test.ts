import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ByteBuffer } from 'flatbuffers';
import { AppendBatch, BatchAck, Frame } from '../generated/shardline_generated.js';
import {
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  encodeBatchAck,
  encodeCredit,
  encodeError,
  encodePing,
  encodePong,
  EventResults,
  FrameError,
  Status,
  utf8Length,
  type EventInput,
} from '../index.js';

const builder = createBuilder(16);

function events(count: number): EventInput[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomBytes(16),
    stream: `stream-${i % 7}-é🎉`,
    type: i % 2 ? 'Clicked' : 'Viewed',
    expectedSeq: i % 3 === 0 ? -1 : i,
    timestamp: i % 4 === 0 ? 0 : 1_732_400_000_000 + i,
    ...(i % 5 === 0 ? { correlationId: `corr-${i}` } : {}),
    contentType: i % 2,
    payload: i % 2 ? Buffer.from(JSON.stringify({ i })) : randomBytes(i * 3),
  }));
}

test('an AppendBatch round-trips every field, and agrees with the generated reader', () => {
  const input = events(50);
  const bytes = encodeAppendBatch(builder, 2n ** 63n + 5n, input, 'batch-corr').slice();
  const frame = decodeFrame(bytes);
  assert.equal(frame.body, 'append_batch');
  assert.ok(frame.body === 'append_batch');
  assert.equal(frame.version, 1);
  assert.equal(frame.batchId, 2n ** 63n + 5n);
  assert.equal(frame.correlationId, 'batch-corr');
  assert.equal(frame.events.length, 50);
  const generated = Frame.getRootAsFrame(new ByteBuffer(bytes)).body(
    new AppendBatch(),
  ) as AppendBatch;
  frame.events.forEach((event, i) => {
    const sent = input[i]!;
    assert.deepEqual(Buffer.from(event.id), Buffer.from(sent.id));
    assert.equal(event.stream, sent.stream);
    assert.equal(event.type, sent.type);
    assert.equal(event.expectedSeq, sent.expectedSeq);
    assert.equal(event.timestamp, sent.timestamp);
    assert.equal(event.correlationId, sent.correlationId ?? null);
    assert.equal(event.contentType, sent.contentType);
    assert.deepEqual(Buffer.from(event.payload), Buffer.from(sent.payload));
    assert.equal(event.stream, generated.events(i)!.stream());
    assert.equal(BigInt(event.expectedSeq), generated.events(i)!.expectedSeq());
  });
});

test('a BatchAck carries seqs and offsets up to 2^53 - 1, as the generated reader reads them', () => {
  const large = [1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
  const results = new EventResults(large.length);
  large.forEach((value, i) => results.set(i, Status.ok, value, i, large[large.length - 1 - i]!));
  const bytes = encodeBatchAck(builder, 1n, results).slice();
  const ack = decodeFrame(bytes);
  assert.ok(ack.body === 'batch_ack');
  assert.deepEqual([...ack.results.seq], large);
  assert.deepEqual([...ack.results.offset], [...large].reverse());
  const generated = Frame.getRootAsFrame(new ByteBuffer(bytes)).body(new BatchAck()) as BatchAck;
  large.forEach((value, i) => {
    assert.equal(generated.results(i)!.seq(), BigInt(value));
    assert.equal(generated.results(i)!.offset(), BigInt(large[large.length - 1 - i]!));
  });
});

test('BatchAck, Credit, Error, Ping and Pong round-trip', () => {
  const results = new EventResults(3);
  results.set(0, Status.ok, 4, 17, 912);
  results.set(1, Status.duplicate, 2, 17, 40);
  results.fail(2, Status.wrongExpectedSeq, 'expected 3, stream is at 7', 7);
  const ack = decodeFrame(encodeBatchAck(builder, 9n, results).slice());
  assert.ok(ack.body === 'batch_ack');
  assert.equal(ack.batchId, 9n);
  assert.deepEqual([...ack.results.status], [0, 1, 2]);
  assert.deepEqual([...ack.results.seq], [4, 2, 7]);
  assert.deepEqual([...ack.results.offset], [912, 40, 0]);
  assert.equal(ack.results.error.get(2), 'expected 3, stream is at 7');
  assert.deepEqual(decodeFrame(encodeCredit(builder, 32).slice()), {
    body: 'credit',
    version: 1,
    window: 32,
  });
  assert.deepEqual(decodeFrame(encodeError(builder, 'ERR_X', 'why', 3n).slice()), {
    body: 'error',
    version: 1,
    code: 'ERR_X',
    message: 'why',
    batchId: 3n,
  });
  assert.deepEqual(decodeFrame(encodePing(builder, 77n).slice()), {
    body: 'ping',
    version: 1,
    nonce: 77n,
  });
  assert.deepEqual(decodeFrame(encodePong(builder, 78n).slice()), {
    body: 'pong',
    version: 1,
    nonce: 78n,
  });
});

function codeOf(bytes: Uint8Array, limits?: Parameters<typeof decodeFrame>[1]): string {
  try {
    decodeFrame(bytes, limits);
    return 'valid';
  } catch (error) {
    assert.ok(error instanceof FrameError, `threw ${String(error)}`);
    return error.code;
  }
}

test('the verifier refuses every truncation of a valid frame', () => {
  const bytes = encodeAppendBatch(builder, 1n, events(5)).slice();
  for (let length = 0; length < bytes.length; length++) {
    assert.notEqual(codeOf(bytes.subarray(0, length)), 'valid', `truncated to ${length} bytes`);
  }
});

test('the verifier refuses a wrong identifier, an out-of-bounds root and a bad vector length', () => {
  const bytes = encodeAppendBatch(builder, 1n, events(2)).slice();
  const wrongId = Uint8Array.from(bytes);
  wrongId[7] = 0x32;
  assert.equal(codeOf(wrongId), 'ERR_FRAME_IDENTIFIER');
  const badRoot = Uint8Array.from(bytes);
  new DataView(badRoot.buffer).setUint32(0, bytes.length + 100, true);
  assert.equal(codeOf(badRoot), 'ERR_FRAME_BOUNDS');
  // Find the payload vector of event 0 and claim it is huge.
  const frame = decodeFrame(bytes);
  assert.ok(frame.body === 'append_batch');
  const payloadStart = frame.events[0]!.payload.byteOffset - bytes.byteOffset;
  const hugeVector = Uint8Array.from(bytes);
  new DataView(hugeVector.buffer).setUint32(payloadStart - 4, 0x7fffffff, true);
  assert.equal(codeOf(hugeVector), 'ERR_FRAME_BOUNDS');
});

test('limits: frame size, events per batch, invalid UTF-8', () => {
  const bytes = encodeAppendBatch(builder, 1n, events(20)).slice();
  assert.equal(
    codeOf(bytes, { maxFrameBytes: 100, maxEventsPerBatch: 1000 }),
    'ERR_FRAME_TOO_LARGE',
  );
  assert.equal(
    codeOf(bytes, { maxFrameBytes: 1 << 20, maxEventsPerBatch: 19 }),
    'ERR_BATCH_TOO_LARGE',
  );
  const one = encodeAppendBatch(builder, 1n, [
    { id: randomBytes(16), stream: 'abc', type: 'T', payload: new Uint8Array(0) },
  ]).slice();
  const at = Buffer.from(one).indexOf('abc');
  one[at] = 0xff;
  assert.equal(codeOf(one), 'ERR_FRAME_UTF8');
});

test('out-of-range 64-bit integers decode as NaN, which event checks refuse', () => {
  const bytes = encodeAppendBatch(builder, 1n, [
    { id: randomBytes(16), stream: 's', type: 'T', timestamp: 5, payload: new Uint8Array(0) },
  ]).slice();
  const frame = decodeFrame(bytes);
  assert.ok(frame.body === 'append_batch');
  assert.equal(frame.events[0]!.timestamp, 5);
  const position = Buffer.from(bytes).indexOf(Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]));
  new DataView(bytes.buffer).setUint32(position + 4, 0x7fffffff, true);
  const huge = decodeFrame(bytes);
  assert.ok(huge.body === 'append_batch');
  assert.ok(Number.isNaN(huge.events[0]!.timestamp));
});

test('utf8Length matches TextEncoder, lone surrogates included', () => {
  for (const text of ['', 'abc', 'é', '€', '🎉', 'a\uD800b', '\uDC00', 'x\uD83D', 'mixé€🎉']) {
    assert.equal(utf8Length(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});
