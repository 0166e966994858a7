import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  encodeCredit,
  encodePing,
  FrameError,
  Status,
  type DecodeLimits,
} from '../../protocol/index.js';
import { SQLITE_FILE_NAME } from '../../core/index.js';
import { prng } from '../../core/test/prng.js';
import { formatUuid } from '../src/json-events.js';
import {
  FrameClient,
  makeEvents,
  postJson,
  removeDir,
  startTestServer,
  uuidBytes,
  type TestServer,
} from './support.js';

const MAX_FRAME_BYTES = 64 * 1024;
const LIMITS: DecodeLimits = { maxFrameBytes: MAX_FRAME_BYTES, maxEventsPerBatch: 1000 };
const BAD_FRAMES = 10_000;

function validFrames(): Uint8Array[] {
  const builder = createBuilder();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    frames.push(
      encodeAppendBatch(
        builder,
        BigInt(i + 1),
        makeEvents(1 + i * 3, 3, `fuzz-${i}-`, 40),
        i % 2 ? 'corr' : undefined,
      ).slice(),
    );
  }
  frames.push(encodePing(builder, 5n).slice());
  return frames;
}

/** Mutates a valid frame: truncation, byte flips, random garbage, a wrong identifier, or bloat. */
function mutate(frame: Uint8Array, random: () => number): Uint8Array {
  const pick = Math.floor(random() * 6);
  const copy = Uint8Array.from(frame);
  switch (pick) {
    case 0:
      return copy.subarray(0, Math.floor(random() * copy.length));
    case 1:
    case 2: {
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++)
        copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      return copy;
    }
    case 3: {
      const garbage = new Uint8Array(Math.floor(random() * 300));
      for (let b = 0; b < garbage.length; b++) garbage[b] = Math.floor(random() * 256);
      if (garbage.length >= 8 && random() < 0.5) garbage.set([0x53, 0x48, 0x4c, 0x31], 4);
      return garbage;
    }
    case 4:
      copy[4 + Math.floor(random() * 4)]! ^= 1 + Math.floor(random() * 255);
      return copy;
    default: {
      const big = new Uint8Array(MAX_FRAME_BYTES + 1 + Math.floor(random() * MAX_FRAME_BYTES));
      big.set(copy);
      return big;
    }
  }
}

function localVerdict(frame: Uint8Array): FrameError | 'valid' {
  try {
    decodeFrame(frame, LIMITS);
    return 'valid';
  } catch (error) {
    if (error instanceof FrameError) return error;
    throw error;
  }
}

describe('bad input stays harmless', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxFrameBytes: MAX_FRAME_BYTES, maxEventsPerBatch: 1000 });
  });
  after(async () => {
    await server.shutdown();
    removeDir(server.dataDir);
  });

  test('the verifier never throws anything but FrameError on 50,000 mutated frames', () => {
    const random = prng(1);
    const frames = validFrames();
    for (let i = 0; i < 50_000; i++) localVerdict(mutate(frames[i % frames.length]!, random));
  });

  test(`${BAD_FRAMES} malformed frames each get an Error frame and a close 1007 or 1009`, async () => {
    const random = prng(42);
    const frames = validFrames();
    const cases: { frame: Uint8Array; verdict: FrameError | 'valid' }[] = [];
    let bad = 0;
    while (bad < BAD_FRAMES) {
      const frame = mutate(frames[cases.length % frames.length]!, random);
      const verdict = localVerdict(frame);
      if (verdict !== 'valid') bad++;
      cases.push({ frame, verdict });
    }
    let okEvents = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const { frame, verdict } = cases[next++]!;
        const client = await FrameClient.connect(server.wsUrl);
        await client.nextOf('credit');
        client.sendRaw(frame);
        if (verdict === 'valid') {
          const answer = await client.next();
          if (answer.body === 'batch_ack') {
            for (const status of answer.results.status) if (status === Status.ok) okEvents++;
          } else {
            assert.ok(
              answer.body === 'pong' || answer.body === 'error',
              `unexpected ${answer.body}`,
            );
          }
          await client.close();
          continue;
        }
        const error = await client.next();
        assert.equal(error.body, 'error');
        assert.equal(error.body === 'error' && error.code, verdict.code);
        const { code } = await client.closed;
        assert.equal(code, verdict.closeCode);
        assert.ok(code === 1007 || code === 1009);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));

    // The server stays up and answers the next valid client.
    const client = await FrameClient.connect(server.wsUrl);
    const ack = await client.append(99n, makeEvents(10, 2, 'after-fuzz-'));
    assert.ok([...ack.results.status].every((s) => s === Status.ok));
    await client.close();
    okEvents += 10;

    // Nothing invalid reached the journal: every row is an event that was acknowledged ok.
    const db = new Database(join(server.dataDir, SQLITE_FILE_NAME), { readonly: true });
    const { count } = db.prepare('SELECT COUNT(*) AS count FROM events').get() as { count: number };
    db.close();
    assert.equal(count, okEvents);
  });

  test('text frames, server-only frames and oversized frames are refused with their codes', async () => {
    const text = await FrameClient.connect(server.wsUrl);
    text.socket.send('hello');
    assert.equal((await text.nextOf('error')).code, 'ERR_FRAME_TEXT');
    assert.equal((await text.closed).code, 1003);

    const wrongWay = await FrameClient.connect(server.wsUrl);
    wrongWay.sendRaw(encodeCredit(createBuilder(), 3));
    assert.equal((await wrongWay.nextOf('error')).code, 'ERR_FRAME_DIRECTION');
    assert.equal((await wrongWay.closed).code, 1007);

    const huge = await FrameClient.connect(server.wsUrl);
    huge.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 10));
    assert.equal((await huge.nextOf('error')).code, 'ERR_FRAME_TOO_LARGE');
    assert.equal((await huge.closed).code, 1009);
  });

  test('invalid events answer invalid, with the other events of their stream, and are not stored', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const ack = await client.append(5n, [
      { id: new Uint8Array(3), stream: 'inv-a', type: 'T', payload: new Uint8Array(1) },
      { id: uuidBytes(), stream: 'inv-a', type: 'T', payload: new Uint8Array(1) },
      { id: uuidBytes(), stream: 'inv-b', type: 'T', payload: new Uint8Array(1) },
      { id: uuidBytes(), stream: 'x'.repeat(201), type: 'T', payload: new Uint8Array(1) },
      {
        id: uuidBytes(),
        stream: 'inv-c',
        type: 'T',
        contentType: 1,
        payload: Buffer.from('{nope'),
      },
    ]);
    assert.deepEqual(
      [...ack.results.status],
      [Status.invalid, Status.invalid, Status.ok, Status.invalid, Status.invalid],
    );
    assert.match(ack.results.error.get(0)!, /id must be 16 bytes/);
    assert.match(ack.results.error.get(3)!, /stream must be 1-200 bytes/);
    assert.match(ack.results.error.get(4)!, /not valid UTF-8 JSON/);
    await client.close();
  });

  test('malformed JSON, wrong types and over-limit fields get 400 or 413 with an error body', async () => {
    const url = `${server.url}/v1/events`;
    const event = { id: formatUuid(uuidBytes()), stream: 'http-bad', type: 'T', data: {} };
    const cases: [unknown, number, string][] = [
      ['{"events": [', 400, 'ERR_BAD_REQUEST'],
      ['[]', 400, 'ERR_BAD_REQUEST'],
      [{ events: 'no' }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, id: 'not-a-uuid' }] }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, stream: 42 }] }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, expectedSeq: 'three' }] }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, timestamp: -5 }] }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, dataBase64: '!!', data: undefined }] }, 400, 'ERR_BAD_REQUEST'],
      [{ events: [{ ...event, stream: 's'.repeat(201) }] }, 400, 'ERR_INVALID_EVENT'],
      [{ events: [{ ...event, type: 't'.repeat(101) }] }, 400, 'ERR_INVALID_EVENT'],
      [{ events: [{ ...event, stream: 'tab\there' }] }, 400, 'ERR_INVALID_EVENT'],
      [{ events: Array.from({ length: 1001 }, () => ({})) }, 413, 'ERR_BATCH_TOO_LARGE'],
      [{ events: [{ ...event, data: 'x'.repeat(MAX_FRAME_BYTES) }] }, 413, 'ERR_BODY_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const response = await postJson(url, body);
      assert.equal(
        response.status,
        status,
        `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(response.body)}`,
      );
      assert.equal(response.body.error.code, code);
      assert.equal(typeof response.body.error.message, 'string');
    }
    const flat = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-flatbuffers' },
      body: new Uint8Array(20),
    });
    assert.equal(flat.status, 400);
    assert.equal(((await flat.json()) as any).error.code, 'ERR_FRAME_IDENTIFIER');
    const read = await fetch(`${server.url}/v1/streams/http-bad/events?limit=100000`);
    assert.equal(read.status, 400);
    // Still serving, and none of the refused events was stored.
    const ok = await postJson(url, { events: [event] });
    assert.equal(ok.body.results[0].status, 'ok');
    assert.equal(ok.body.results[0].seq, 1);
  });
});
