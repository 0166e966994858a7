/**
 * Connection loss against real server processes: SIGKILL and restart on the same port, a
 * graceful restart (close 1001), retries of `unavailable` results, and the typed errors when the
 * server cannot be reached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Shardline,
  type AppendResult,
  type ProtocolError,
  type RetriesExhaustedError,
} from '../index.js';
import {
  readStream,
  removeDir,
  restartablePort,
  spawnServer,
  startTestServer,
  tempDir,
  waitFor,
  type ChildServer,
} from './support.js';

const STREAMS = 8;

/** Appends `count` events over STREAMS streams without waiting; returns ids and results. */
function appendAll(client: Shardline, prefix: string, count: number) {
  const ids: string[][] = Array.from({ length: STREAMS }, () => []);
  let settled = 0;
  const results: Promise<AppendResult>[] = [];
  for (let i = 0; i < count; i++) {
    const result = client.append(`${prefix}-${i % STREAMS}`, 'Tick', { i });
    void result.then((r) => {
      ids[i % STREAMS]!.push(r.id);
      settled++;
    });
    results.push(result);
  }
  return { ids, results, settled: () => settled };
}

/** Every id appended is in the journal exactly once, with gap-free seqs. */
async function assertExactlyOnce(url: string, prefix: string, ids: string[][]): Promise<void> {
  for (let s = 0; s < STREAMS; s++) {
    const stored = await readStream(url, `${prefix}-${s}`);
    assert.deepEqual(
      stored.map((event) => event.seq),
      Array.from({ length: stored.length }, (_, i) => i + 1),
    );
    const storedIds = stored.map((event) => event.id);
    assert.equal(new Set(storedIds).size, storedIds.length, 'no id stored twice');
    assert.deepEqual([...storedIds].sort(), [...ids[s]!].sort(), `stream ${prefix}-${s}`);
  }
}

describe('reconnect', () => {
  const dataDir = tempDir();
  let server: ChildServer;

  before(async () => {
    server = await spawnServer(dataDir, ['--port', String(await restartablePort())]);
  });
  after(async () => {
    server.process.kill('SIGKILL');
    await server.exited;
    removeDir(dataDir);
  });

  async function restart(signal: NodeJS.Signals): Promise<void> {
    const { port } = server;
    server.process.kill(signal);
    await server.exited;
    server = await spawnServer(dataDir, ['--port', String(port)]);
  }

  test('SIGKILL mid-stream: unacknowledged events are resent with the same ids, stored once', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      maxBatchEvents: 25,
      lingerMs: 1,
      reconnectDelayMs: 20,
      reconnectMaxDelayMs: 200,
    });
    // Enough events that the server cannot finish them all before the kill lands.
    const run = appendAll(client, 'kill', 20_000);
    await waitFor(() => run.settled() >= 500, '500 acknowledged events');
    assert.ok(run.settled() < 20_000, 'events were still in flight at the kill');
    await restart('SIGKILL');
    const results = await Promise.all(run.results);
    assert.ok(
      results.every((result) => result.status === 'ok' || result.status === 'duplicate'),
      'only ok and duplicate',
    );
    const stats = client.stats();
    assert.ok(stats.reconnects >= 1, 'the client reconnected');
    assert.ok(stats.eventsSent > 20_000, 'unacknowledged events were sent again');
    await client.close();
    await assertExactlyOnce(server.url, 'kill', run.ids);
  });

  test('graceful restart (close 1001): everything is stored exactly once', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      maxBatchEvents: 25,
      lingerMs: 1,
      reconnectDelayMs: 20,
      reconnectMaxDelayMs: 200,
    });
    const run = appendAll(client, 'term', 20_000);
    await waitFor(() => run.settled() >= 300, '300 acknowledged events');
    assert.ok(run.settled() < 20_000, 'events were still in flight at the restart');
    await restart('SIGTERM');
    const results = await Promise.all(run.results);
    assert.ok(results.every((result) => result.status === 'ok' || result.status === 'duplicate'));
    assert.ok(client.stats().reconnects >= 1);
    await client.close();
    await assertExactlyOnce(server.url, 'term', run.ids);
  });

  test('appends wait while the server is down, and complete once it is back', async () => {
    const client = await Shardline.connect(server.wsUrl, {
      reconnectDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    const { port } = server;
    server.process.kill('SIGKILL');
    await server.exited;
    await waitFor(() => client.stats().status === 'reconnecting', 'the client to notice');
    const pending = Array.from({ length: 50 }, (_, i) => client.append('down-1', 'T', { i }));
    server = await spawnServer(dataDir, ['--port', String(port)]);
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((result) => result.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    await client.close();
  });
});

describe('retries and connection errors', () => {
  test('unavailable is retried up to maxRetries, then ERR_RETRIES_EXHAUSTED; other events are unaffected', async () => {
    const server = await startTestServer({ faultInjection: true });
    try {
      const client = await Shardline.connect(server.wsUrl, { maxRetries: 3, retryDelayMs: 1 });
      const failing = client.append('fault-1', 'shardline.fault.actor-throw', {});
      const healthy = client.append('fine-1', 'Clicked', {});
      await assert.rejects(failing, (error: RetriesExhaustedError) => {
        assert.equal(error.code, 'ERR_RETRIES_EXHAUSTED');
        assert.equal(error.status, 'unavailable');
        assert.equal(error.attempts, 4);
        assert.match(error.id, /^[0-9a-f-]{36}$/);
        return true;
      });
      assert.equal((await healthy).status, 'ok');
      assert.equal(client.stats().retries, 3);
      await client.close();
      assert.equal((await readStream(server.url, 'fault-1')).length, 0);
    } finally {
      await server.shutdown();
    }
  });

  test('a frame the server refuses fails the client with ERR_PROTOCOL instead of resending it', async () => {
    const server = await startTestServer({ maxFrameBytes: 4096 });
    try {
      const client = await Shardline.connect(server.wsUrl, { maxBatchBytes: 64 * 1024 });
      const refused = client.append('big-1', 'T', new Uint8Array(8000));
      await assert.rejects(refused, (error: ProtocolError) => {
        assert.equal(error.code, 'ERR_PROTOCOL');
        assert.equal(error.serverCode, 'ERR_FRAME_TOO_LARGE');
        return true;
      });
      assert.equal(client.stats().status, 'closed');
      assert.equal(client.stats().batchesSent, 1, 'not resent');
      await assert.rejects(client.append('big-1', 'T', {}), { code: 'ERR_CLIENT_CLOSED' });
    } finally {
      await server.shutdown();
    }
  });

  test('connecting to nothing rejects with ERR_CONNECT', async () => {
    const server = await startTestServer();
    const url = server.wsUrl;
    await server.shutdown();
    await assert.rejects(Shardline.connect(url, { connectTimeoutMs: 5000 }), {
      code: 'ERR_CONNECT',
    });
  });

  test('when reconnection gives up, pending appends reject with ERR_CONNECT', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(dataDir);
    try {
      const client = await Shardline.connect(server.wsUrl, {
        maxReconnectAttempts: 2,
        reconnectDelayMs: 1,
        reconnectMaxDelayMs: 5,
      });
      // Stop the server first so that the append is surely pending (sent, never acked) when
      // the connection dies; appended after the kill, it could arrive after the client gave up.
      server.process.kill('SIGSTOP');
      // The expectation is attached at once: the client may give up before the kill returns.
      const pending = assert.rejects(client.append('gone-1', 'T', {}), { code: 'ERR_CONNECT' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      server.process.kill('SIGKILL');
      await server.exited;
      await pending;
      assert.equal(client.stats().status, 'closed');
      await assert.rejects(client.append('gone-1', 'T', {}), { code: 'ERR_CLIENT_CLOSED' });
      await client.close();
    } finally {
      removeDir(dataDir);
    }
  });
});
