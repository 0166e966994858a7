/**
 * Batching and flow control, observed on the wire: a transparent proxy between the client and a
 * real server counts the AppendBatch frames, their sizes and the unacknowledged batches.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Shardline } from '../index.js';
import { FrameProxy, readStream, startTestServer, type TestServer } from './support.js';

describe('batching', () => {
  let server: TestServer;
  let proxy: FrameProxy;
  let client: Shardline | null = null;

  before(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await client?.close();
    client = null;
    await proxy.close();
  });
  after(async () => {
    await server.shutdown();
  });

  async function connect(options: Parameters<typeof Shardline.connect>[1]): Promise<Shardline> {
    proxy = await FrameProxy.start(server.wsUrl);
    client = await Shardline.connect(proxy.url, options);
    return client;
  }

  test('appends issued together share batches of at most maxBatchEvents', async () => {
    const shardline = await connect({ maxBatchEvents: 100, lingerMs: 20 });
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => shardline.append(`batch-${i % 10}`, 'T', { i })),
    );
    assert.ok(results.every((result) => result.status === 'ok'));
    assert.equal(proxy.eventsSeen, 1000);
    assert.ok(
      proxy.batches.every((batch) => batch.events <= 100),
      'no batch above maxBatchEvents',
    );
    assert.ok(proxy.batches.length < 100, `1000 events in ${proxy.batches.length} batches`);
    assert.equal(shardline.stats().batchesSent, proxy.batches.length);
    const stored = await readStream(server.url, 'batch-3');
    assert.equal(stored.length, 100);
  });

  test('batches are cut at maxBatchBytes, and frames never exceed it', async () => {
    const maxBatchBytes = 8 * 1024;
    const shardline = await connect({ maxBatchBytes, maxQueuedBytes: 1 << 20, lingerMs: 20 });
    const payload = new Uint8Array(1000).fill(7);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => shardline.append(`bytes-${i % 4}`, 'T', payload)),
    );
    assert.ok(results.every((result) => result.status === 'ok'));
    assert.equal(proxy.eventsSeen, 200);
    const largest = Math.max(...proxy.batches.map((batch) => batch.bytes));
    assert.ok(largest <= maxBatchBytes, `largest frame ${largest} bytes`);
    assert.ok(
      proxy.batches.some((batch) => batch.events > 1),
      'small enough events still share batches',
    );
    // 200 events of ~1.2 kB cannot fit in fewer than 200 * 1000 / 8192 batches.
    assert.ok(proxy.batches.length >= Math.ceil((200 * 1000) / maxBatchBytes));
  });

  test('a batch that is not full waits for the linger and takes what arrived meanwhile', async () => {
    const shardline = await connect({ maxBatchEvents: 1000, lingerMs: 200 });
    const pending = Array.from({ length: 10 }, (_, i) => shardline.append('linger-1', 'T', { i }));
    await Promise.all(pending);
    assert.deepEqual(
      proxy.batches.map((batch) => batch.events),
      [10],
    );
  });

  test('flush sends at once without waiting for the linger, and waits for the results', async () => {
    const shardline = await connect({ lingerMs: 3_600_000 });
    const pending = Array.from({ length: 5 }, (_, i) => shardline.append('flush-1', 'T', { i }));
    let settled = 0;
    for (const append of pending) void append.then(() => settled++);
    await shardline.flush();
    assert.equal(settled, 5, 'every append settled when flush resolved');
    assert.deepEqual(
      proxy.batches.map((batch) => batch.events),
      [5],
    );
    assert.equal((await readStream(server.url, 'flush-1')).length, 5);
  });

  test('close flushes: pending appends complete before the socket closes', async () => {
    const shardline = await connect({ lingerMs: 3_600_000 });
    const pending = Array.from({ length: 20 }, (_, i) => shardline.append('close-1', 'T', { i }));
    await shardline.close();
    client = null;
    const results = await Promise.all(pending);
    assert.ok(results.every((result) => result.status === 'ok'));
    assert.equal((await readStream(server.url, 'close-1')).length, 20);
    assert.equal(shardline.stats().status, 'closed');
    await assert.rejects(shardline.append('close-1', 'T', {}), { code: 'ERR_CLIENT_CLOSED' });
  });
});

describe('credits', () => {
  let server: TestServer;
  let proxy: FrameProxy;

  before(async () => {
    server = await startTestServer({ creditWindow: 2 });
    proxy = await FrameProxy.start(server.wsUrl);
  });
  after(async () => {
    await proxy.close();
    await server.shutdown();
  });

  test('never more unacknowledged batches than the server granted', async () => {
    const client = await Shardline.connect(proxy.url, { maxBatchEvents: 10, lingerMs: 0 });
    assert.equal(client.stats().creditWindow, 2);
    let maxInFlight = 0;
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => {
        maxInFlight = Math.max(maxInFlight, client.stats().inFlightBatches);
        return client.append(`credit-${i % 20}`, 'T', { i }).finally(() => {
          maxInFlight = Math.max(maxInFlight, client.stats().inFlightBatches);
        });
      }),
    );
    await client.close();
    // The server answers a batch over its window with `overloaded` at once: none came back.
    assert.equal(proxy.overloaded, 0);
    assert.ok(results.every((result) => result.status === 'ok'));
    assert.equal(client.stats().retries, 0);
    assert.ok(proxy.batches.length >= 200, `${proxy.batches.length} batches of at most 10`);
    assert.ok(proxy.maxUnacked <= 2, `the proxy saw ${proxy.maxUnacked} unacknowledged`);
    assert.ok(maxInFlight <= 2, `the client had ${maxInFlight} in flight`);
    assert.equal(proxy.maxUnacked, 2, 'the window was used in full');
  });
});
