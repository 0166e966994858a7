/**
 * append and appendMany against a real server: results, seqs, payload types, statuses,
 * credentials on the wire, and argument errors. Every check reads back what the server did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Shardline, type ShardlineError, type WebSocketConstructor } from '../index.js';
import { FrameProxy, getJson, readStream, startTestServer, type TestServer } from './support.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('append and appendMany', () => {
  let server: TestServer;
  let client: Shardline;

  before(async () => {
    server = await startTestServer();
    client = await Shardline.connect(server.wsUrl);
  });
  after(async () => {
    await client.close();
    await server.shutdown();
  });

  test('append resolves with ok and consecutive seqs; ids are UUIDv7', async () => {
    const first = await client.append('user-1', 'Clicked', { x: 1 });
    const second = await client.append('user-1', 'Clicked', { x: 2 });
    assert.equal(first.status, 'ok');
    assert.equal(second.status, 'ok');
    assert.equal(first.seq, 1);
    assert.equal(second.seq, 2);
    assert.equal(second.shard, first.shard);
    assert.equal(second.offset, first.offset + 1);
    assert.match(first.id, UUID_V7);
    assert.ok(second.id > first.id, 'ids of one client increase');
    const stored = await readStream(server.url, 'user-1');
    assert.deepEqual(
      stored.map((event) => [event.id, event.seq]),
      [
        [first.id, 1],
        [second.id, 2],
      ],
    );
  });

  test('many concurrent appends keep their order within a stream', async () => {
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => client.append(`order-${i % 5}`, 'Step', { i })),
    );
    assert.ok(results.every((result) => result.status === 'ok'));
    for (let s = 0; s < 5; s++) {
      const mine = results.filter((_, i) => i % 5 === s);
      assert.deepEqual(
        mine.map((result) => result.seq),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const stored = await readStream(server.url, `order-${s}`);
      assert.deepEqual(
        stored.map((event) => (event.data as { i: number }).i),
        Array.from({ length: 100 }, (_, i) => i * 5 + s),
      );
    }
  });

  test('appendMany returns one result per event, in order', async () => {
    const results = await client.appendMany([
      { stream: 'cart-1', type: 'Created', payload: { sku: 'A1' }, expectedSeq: 0 },
      { stream: 'cart-2', type: 'Created', payload: { sku: 'B2' } },
      { stream: 'cart-1', type: 'Added', payload: { sku: 'C3' } },
    ]);
    assert.deepEqual(
      results.map((result) => [result.status, result.seq]),
      [
        ['ok', 1],
        ['ok', 1],
        ['ok', 2],
      ],
    );
    assert.deepEqual(await client.appendMany([]), []);
  });

  test('appendMany events of one stream commit all or none', async () => {
    await client.append('acct-1', 'Opened', {});
    const results = await client.appendMany([
      { stream: 'acct-1', type: 'Debited', payload: { amount: 5 }, expectedSeq: 1 },
      { stream: 'acct-1', type: 'Credited', payload: { amount: 5 }, expectedSeq: 7 },
      { stream: 'acct-2', type: 'Opened', payload: {} },
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['wrong_expected_seq', 'wrong_expected_seq', 'ok'],
    );
    assert.equal((await readStream(server.url, 'acct-1')).length, 1);
  });

  test('JSON payloads are stored as JSON, bytes as binary', async () => {
    await client.append('payload-1', 'Json', { nested: { list: [1, 'two', null] } });
    await client.append('payload-1', 'Text', 'just a string');
    await client.append('payload-1', 'Bytes', new Uint8Array([0, 1, 2, 254, 255]));
    await client.append('payload-1', 'Buffer', Buffer.from('raw'));
    const stored = await readStream(server.url, 'payload-1');
    assert.deepEqual(stored[0]!.data, { nested: { list: [1, 'two', null] } });
    assert.equal(stored[1]!.data, 'just a string');
    assert.equal(stored[2]!.dataBase64, Buffer.from([0, 1, 2, 254, 255]).toString('base64'));
    assert.equal(stored[3]!.dataBase64, Buffer.from('raw').toString('base64'));
  });

  test('an explicit id answers duplicate with the original position', async () => {
    const id = '0190a8f2-6c1e-7d4a-9b1f-2a3c4d5e6f70';
    const first = await client.append('dup-1', 'Clicked', { n: 1 }, { id });
    const again = await client.append('dup-1', 'Clicked', { n: 2 }, { id: id.replaceAll('-', '') });
    assert.equal(first.status, 'ok');
    assert.equal(first.id, id);
    assert.equal(again.status, 'duplicate');
    assert.deepEqual(
      [again.seq, again.shard, again.offset],
      [first.seq, first.shard, first.offset],
    );
    const bytes = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    const fromBytes = await client.append('dup-1', 'Clicked', {}, { id: bytes });
    assert.equal(fromBytes.id, '00112233-4455-6677-8899-aabbccddeeff');
    assert.equal((await readStream(server.url, 'dup-1')).length, 2);
  });

  test('expectedSeq mismatch answers wrong_expected_seq with the current seq', async () => {
    await client.append('seq-1', 'A', {});
    await client.append('seq-1', 'B', {});
    const result = await client.append('seq-1', 'C', {}, { expectedSeq: 5 });
    assert.equal(result.status, 'wrong_expected_seq');
    assert.equal(result.seq, 2);
    assert.equal(typeof result.error, 'string');
    const ok = await client.append('seq-1', 'C', {}, { expectedSeq: 2 });
    assert.deepEqual([ok.status, ok.seq], ['ok', 3]);
  });

  test('concurrent appends stay independent: one failed expectedSeq fails only itself', async () => {
    await client.append('seq-2', 'A', {});
    const [first, guarded, last] = await Promise.all([
      client.append('seq-2', 'B', {}),
      client.append('seq-2', 'C', {}, { expectedSeq: 7 }),
      client.append('seq-2', 'D', {}),
    ]);
    assert.deepEqual(
      [first.status, guarded.status, last.status],
      ['ok', 'wrong_expected_seq', 'ok'],
    );
    assert.deepEqual([first.seq, last.seq], [2, 3]);
  });

  test('an event breaking a server rule answers invalid with a reason', async () => {
    const result = await client.append('bad-1', 'T'.repeat(101), {});
    assert.equal(result.status, 'invalid');
    assert.ok(result.error);
    assert.equal(result.seq, 0);
  });

  test('correlationId and timestamp are stored', async () => {
    await client.append('meta-1', 'Clicked', {}, { correlationId: 'req-7', timestamp: 1_700_000 });
    const [stored] = await readStream(server.url, 'meta-1');
    assert.equal(stored!.correlationId, 'req-7');
    assert.equal(stored!.timestamp, 1_700_000);
  });

  test('unusable arguments reject with ERR_INVALID_ARGUMENT and send nothing', async () => {
    const sent = client.stats().eventsSent;
    const attempts: Promise<unknown>[] = [
      client.append('', 'T', {}),
      client.append('s', '', {}),
      client.append('s', 'T', undefined as never),
      client.append('s', 'T', { big: 1n } as never),
      client.append('s', 'T', {}, { id: 'not-a-uuid' }),
      client.append('s', 'T', {}, { id: new Uint8Array(15) }),
      client.append('s', 'T', {}, { expectedSeq: -2 }),
      client.append('s', 'T', {}, { expectedSeq: 1.5 }),
      client.append('s', 'T', {}, { timestamp: -1 }),
      client.append('s', 'T', new Uint8Array(2 * 1024 * 1024)),
      client.appendMany([
        { stream: 'ok', type: 'T', payload: {} },
        { stream: '', type: 'T', payload: {} },
      ]),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt, (error: ShardlineError) => {
        assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
        return true;
      });
    }
    assert.equal(client.stats().eventsSent, sent);
    assert.equal((await getJson(`${server.url}/v1/streams/ok`)).status, 404);
  });
});

describe('credentials', () => {
  let server: TestServer;
  let proxy: FrameProxy;

  before(async () => {
    server = await startTestServer();
    proxy = await FrameProxy.start(server.wsUrl);
  });
  after(async () => {
    await proxy.close();
    await server.shutdown();
  });

  test('in Node the API key travels as an Authorization header', async () => {
    const client = await Shardline.connect(proxy.url, { apiKey: 'k-node-1' });
    assert.equal((await client.append('auth-1', 'T', {})).status, 'ok');
    await client.close();
    const headers = proxy.upgradeHeaders.at(-1)!;
    assert.equal(headers.authorization, 'Bearer k-node-1');
    assert.equal(headers['sec-websocket-protocol'], undefined);
  });

  test('through a WHATWG WebSocket (the browser path) it travels as a subprotocol token', async () => {
    // The `ws` class used through its WHATWG interface only, as a browser's WebSocket would be.
    const client = await Shardline.connect(proxy.url, {
      apiKey: 'k-browser-1',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    assert.equal((await client.append('auth-2', 'T', new Uint8Array([1]))).status, 'ok');
    await client.close();
    const headers = proxy.upgradeHeaders.at(-1)!;
    assert.equal(headers['sec-websocket-protocol'], 'shardline.bearer.k-browser-1');
    assert.equal(headers.authorization, undefined);
  });

  test('a key that cannot be a subprotocol token is refused before connecting', async () => {
    await assert.rejects(
      Shardline.connect(proxy.url, {
        apiKey: 'has space',
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      }),
      (error: ShardlineError) => error.code === 'ERR_INVALID_OPTION',
    );
  });
});
