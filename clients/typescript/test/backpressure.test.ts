/**
 * The bounded queue, against a real server process that is stopped (SIGSTOP) so that nothing
 * is acknowledged: appends beyond the bound wait, and complete once the server runs again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Shardline, type AppendResult } from '../index.js';
import {
  readStream,
  removeDir,
  spawnServer,
  tempDir,
  waitFor,
  type ChildServer,
} from './support.js';

describe('backpressure', () => {
  const dataDir = tempDir();
  let server: ChildServer;

  before(async () => {
    server = await spawnServer(dataDir);
  });
  after(async () => {
    server.process.kill('SIGCONT');
    server.process.kill('SIGKILL');
    await server.exited;
    removeDir(dataDir);
  });

  test('append waits when the queue is full, and the queue never exceeds its bound', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      maxQueuedEvents: 8,
      maxBatchEvents: 2,
      lingerMs: 0,
    });
    server.process.kill('SIGSTOP');
    let settled = 0;
    let maxQueued = 0;
    const pending: Promise<AppendResult>[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const append = client.append('bp-1', 'T', { i });
        void append.then(() => settled++);
        pending.push(append);
        maxQueued = Math.max(maxQueued, client.stats().queuedEvents);
      }
      await waitFor(() => client.stats().eventsSent === 8, 'the queued events to be sent');
      // Give the client a chance to go wrong: several turns of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stats = client.stats();
      assert.equal(stats.queuedEvents, 8, 'the queue is full');
      assert.equal(stats.waitingEvents, 32, 'the other appends wait');
      assert.equal(stats.eventsSent, 8, 'only queued events were sent');
      assert.equal(settled, 0);
    } finally {
      server.process.kill('SIGCONT');
    }
    const results = await Promise.all(pending);
    assert.ok(maxQueued <= 8);
    assert.deepEqual(
      results.map((result) => result.seq),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    const stats = client.stats();
    assert.deepEqual([stats.queuedEvents, stats.waitingEvents], [0, 0]);
    await client.close();
    assert.equal((await readStream(server.url, 'bp-1')).length, 40);
  });

  test('queuedBytes bounds the queue as well', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      maxBatchBytes: 4096,
      maxQueuedBytes: 16 * 1024,
      lingerMs: 0,
    });
    server.process.kill('SIGSTOP');
    const pending: Promise<AppendResult>[] = [];
    try {
      for (let i = 0; i < 30; i++) pending.push(client.append('bp-2', 'T', new Uint8Array(3000)));
      await waitFor(() => client.stats().eventsSent > 0, 'the first batches');
      const stats = client.stats();
      assert.ok(stats.queuedBytes <= 16 * 1024, `${stats.queuedBytes} bytes queued`);
      assert.ok(stats.waitingEvents > 0);
    } finally {
      server.process.kill('SIGCONT');
    }
    const results = await Promise.all(pending);
    assert.ok(results.every((result) => result.status === 'ok'));
    await client.close();
  });

  test('close with a timeout rejects what the server did not answer in time', async () => {
    const client = await Shardline.connect(server.wsUrl, { lingerMs: 0 });
    server.process.kill('SIGSTOP');
    try {
      const rejected = assert.rejects(client.append('bp-3', 'T', {}), {
        code: 'ERR_CLIENT_CLOSED',
      });
      await waitFor(() => client.stats().inFlightBatches === 1, 'the batch to be sent');
      await client.close({ timeoutMs: 0 });
      await rejected;
      assert.equal(client.stats().status, 'closed');
    } finally {
      server.process.kill('SIGCONT');
    }
  });

  test('a stopped server is detected by pings; the client reconnects once it runs again', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      pingIntervalMs: 100,
      connectTimeoutMs: 1000,
      reconnectDelayMs: 10,
      reconnectMaxDelayMs: 50,
    });
    server.process.kill('SIGSTOP');
    let pending: Promise<AppendResult>;
    try {
      pending = client.append('bp-4', 'T', {});
      await waitFor(() => client.stats().status === 'reconnecting', 'the dead connection');
    } finally {
      server.process.kill('SIGCONT');
    }
    // The stopped server may still commit the first send once it runs: then the resend is a
    // duplicate of it. Either way the event is stored once.
    assert.match((await pending).status, /^(ok|duplicate)$/);
    assert.ok(client.stats().reconnects >= 1);
    await client.close();
    assert.equal((await readStream(server.url, 'bp-4')).length, 1);
  });
});
