import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { createBuilder, encodeAppendBatch, Status } from '../../protocol/index.js';
import { SQLITE_FILE_NAME } from '../../core/index.js';
import { formatUuid } from '../src/json-events.js';
import {
  FrameClient,
  getJson,
  makeEvents,
  removeDir,
  restartablePort,
  spawnServer,
  tempDir,
} from './support.js';

const dataDir = tempDir();
after(() => removeDir(dataDir));

test('acknowledged events survive SIGKILL byte-for-byte, and a resend answers duplicate', async () => {
  const events = makeEvents(1000, 50, 'crash-');
  const first = await spawnServer(dataDir);
  const client = await FrameClient.connect(first.wsUrl);
  const ack = await client.append(1n, events);
  // Kill right after the ack: no graceful shutdown, no chance to flush anything more.
  first.process.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  await client.closed;
  assert.ok([...ack.results.status].every((s) => s === Status.ok));

  const second = await spawnServer(dataDir);
  try {
    const expected = new Map<string, typeof events>();
    for (const event of events)
      expected.set(event.stream, [...(expected.get(event.stream) ?? []), event]);
    for (const [stream, streamEvents] of expected) {
      const read = await getJson(`${second.url}/v1/streams/${stream}/events?fromSeq=1&limit=1000`);
      assert.equal(read.status, 200);
      assert.equal(
        read.body.events.length,
        streamEvents.length,
        `${stream} holds exactly its events`,
      );
      assert.equal(read.body.nextSeq, streamEvents.length + 1);
      read.body.events.forEach((stored: any, k: number) => {
        const sent = streamEvents[k]!;
        assert.equal(stored.seq, k + 1);
        assert.equal(stored.id, formatUuid(sent.id));
        assert.equal(stored.type, sent.type);
        assert.deepEqual(
          Buffer.from(stored.dataBase64, 'base64'),
          Buffer.from(sent.payload),
          'payload byte-for-byte',
        );
      });
    }

    const retry = await FrameClient.connect(second.wsUrl);
    const again = await retry.append(1n, events);
    for (let i = 0; i < events.length; i++) {
      assert.equal(again.results.status[i], Status.duplicate);
      assert.equal(again.results.seq[i], ack.results.seq[i], 'the original seq is returned');
      assert.equal(again.results.shard[i], ack.results.shard[i]);
      assert.equal(again.results.offset[i], ack.results.offset[i]);
    }
    await retry.close();
  } finally {
    second.process.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'SIGTERM shuts down cleanly');
  }
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  const { count } = db.prepare('SELECT COUNT(*) AS count FROM events').get() as { count: number };
  db.close();
  assert.equal(count, 1000, 'the journal holds no second copy');
});

test('a journal created with another shard count refuses to start', async () => {
  await assert.rejects(spawnServer(dataDir, ['--shards', '512']), /exited with 1/);
});

test('a second server on a port in use refuses to start, and the first keeps serving', async () => {
  const firstDir = tempDir();
  const secondDir = tempDir();
  const first = await spawnServer(firstDir, ['--port', String(await restartablePort())]);
  try {
    await assert.rejects(
      spawnServer(secondDir, ['--port', String(first.port)]),
      /exited with 1 before listening: .*another process listens there/,
    );
    const client = await FrameClient.connect(first.wsUrl);
    const ack = await client.append(1n, makeEvents(10, 2, 'port-'));
    assert.ok([...ack.results.status].every((s) => s === Status.ok));
    client.socket.close();
  } finally {
    first.process.kill('SIGKILL');
    await first.exited;
    removeDir(firstDir);
    removeDir(secondDir);
  }
});

test('a second server on a data directory in use refuses to start; after a SIGKILL the directory is free', async () => {
  const dir = tempDir();
  const first = await spawnServer(dir);
  try {
    await assert.rejects(
      spawnServer(dir),
      /exited with 1 before listening: .*in use by another Shardline process.*ERR_DATA_DIR_LOCKED/,
    );
  } finally {
    first.process.kill('SIGKILL');
    await first.exited;
  }
  const second = await spawnServer(dir, ['--workers', '0']);
  second.process.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  removeDir(dir);
});

test('SIGTERM with batches in flight answers every batch, closes with 1001 and exits 0', async () => {
  const dir = tempDir();
  const server = await spawnServer(dir);
  const client = await FrameClient.connect(server.wsUrl);
  await client.nextOf('credit');
  const builder = createBuilder(1 << 20);
  const frames = Array.from({ length: 20 }, (_, b) =>
    encodeAppendBatch(builder, BigInt(b + 1), makeEvents(200, 20, `term-${b}-`)).slice(),
  );
  client.sendBurst(frames);
  // Signal as soon as the first ack shows the server is working on the burst.
  const first = await client.nextOf('batch_ack');
  server.process.kill('SIGTERM');
  const acks = [first];
  for (;;) {
    try {
      acks.push(await client.nextOf('batch_ack'));
    } catch {
      break; // the server closed the connection
    }
  }
  assert.equal((await client.closed).code, 1001);
  assert.equal(await server.exited, 0);
  assert.equal(acks.length, 20, 'every batch was answered before the close');
  let ok = 0;
  for (const ack of acks) {
    for (const status of ack.results.status) {
      assert.ok(status === Status.ok || status === Status.unavailable, `status ${status}`);
      if (status === Status.ok) ok++;
    }
  }
  const db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
  const { count } = db.prepare('SELECT COUNT(*) AS count FROM events').get() as { count: number };
  db.close();
  assert.equal(count, ok, 'exactly the acknowledged events are stored');
  removeDir(dir);
});
