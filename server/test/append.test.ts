import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STATUS_NAMES, Status } from '../../protocol/index.js';
import { formatUuid } from '../src/json-events.js';
import {
  FrameClient,
  getJson,
  makeEvents,
  postJson,
  removeDir,
  startTestServer,
  uuidBytes,
  type TestServer,
} from './support.js';

describe('appending over WebSocket and HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.shutdown();
    removeDir(server.dataDir);
  });

  test('the server grants credits on open', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const credit = await client.nextOf('credit');
    assert.equal(credit.window, 64);
    await client.close();
  });

  test('1,000 events over 50 streams are acknowledged ok with gap-free seqs per stream', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const events = makeEvents(1000, 50, 'gapfree-');
    const ack = await client.append(7n, events);
    assert.equal(ack.results.length, 1000);
    const seqs = new Map<string, number[]>();
    const offsets = new Map<number, number[]>();
    for (let i = 0; i < 1000; i++) {
      assert.equal(STATUS_NAMES[ack.results.status[i]!], 'ok', ack.results.error.get(i));
      const stream = events[i]!.stream;
      seqs.set(stream, [...(seqs.get(stream) ?? []), ack.results.seq[i]!]);
      const shard = ack.results.shard[i]!;
      offsets.set(shard, [...(offsets.get(shard) ?? []), ack.results.offset[i]!]);
    }
    assert.equal(seqs.size, 50);
    for (const list of seqs.values())
      assert.deepEqual(
        list,
        Array.from({ length: 20 }, (_, k) => k + 1),
      );
    for (const list of offsets.values()) {
      assert.deepEqual(
        list,
        Array.from({ length: list.length }, (_, k) => list[0]! + k),
        'offsets are gap-free per shard',
      );
    }
    await client.close();
  });

  test('a wrong expectedSeq fails every event of that stream in the batch; other streams commit', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const first = await client.append(1n, [
      { id: uuidBytes(), stream: 'exp-a', type: 'T', payload: Buffer.from('a1') },
      { id: uuidBytes(), stream: 'exp-b', type: 'T', payload: Buffer.from('b1') },
    ]);
    assert.deepEqual([...first.results.status], [Status.ok, Status.ok]);
    const ack = await client.append(2n, [
      { id: uuidBytes(), stream: 'exp-a', type: 'T', expectedSeq: 1, payload: Buffer.from('a2') },
      { id: uuidBytes(), stream: 'exp-b', type: 'T', expectedSeq: 5, payload: Buffer.from('b2') },
      { id: uuidBytes(), stream: 'exp-a', type: 'T', expectedSeq: 2, payload: Buffer.from('a3') },
      { id: uuidBytes(), stream: 'exp-b', type: 'T', payload: Buffer.from('b3') },
    ]);
    assert.deepEqual(
      [...ack.results.status].map((s) => STATUS_NAMES[s]),
      ['ok', 'wrong_expected_seq', 'ok', 'wrong_expected_seq'],
    );
    assert.deepEqual([ack.results.seq[0], ack.results.seq[2]], [2, 3]);
    assert.equal(ack.results.seq[1], 1, 'the current seq of exp-b is returned');
    assert.match(ack.results.error.get(1)!, /expected 5, stream is at 1/);
    const read = await getJson(`${server.url}/v1/streams/exp-b/events`);
    assert.equal(
      read.body.events.length,
      1,
      'nothing of exp-b from the failed batch was committed',
    );
    await client.close();
  });

  test('repeating an id inside one batch answers duplicate with the first one position', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const id = uuidBytes();
    const ack = await client.append(3n, [
      { id, stream: 'repeat', type: 'T', payload: Buffer.from('x') },
      { id, stream: 'repeat', type: 'T', payload: Buffer.from('x') },
    ]);
    assert.deepEqual([...ack.results.status], [Status.ok, Status.duplicate]);
    assert.equal(ack.results.seq[1], ack.results.seq[0]);
    assert.equal(ack.results.offset[1], ack.results.offset[0]);
    assert.ok(ack.results.offset[0]! > 0);
    await client.close();
  });

  test('the HTTP JSON path gives the same results as the WebSocket path for the same events', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const wsEvents = makeEvents(30, 3, 'parity-ws-');
    const httpEvents = wsEvents.map((e) => ({
      ...e,
      id: uuidBytes(),
      stream: e.stream.replace('-ws-', '-http-'),
    }));
    // Both servers' paths start from empty streams, so equal inputs must give equal seqs.
    wsEvents.push({ ...wsEvents[0]!, id: uuidBytes(), expectedSeq: 0 });
    httpEvents.push({ ...httpEvents[0]!, id: uuidBytes(), expectedSeq: 0 });
    wsEvents.push({ ...wsEvents[1]! });
    httpEvents.push({ ...httpEvents[1]! });
    const ack = await client.append(9n, wsEvents);
    const http = await postJson(`${server.url}/v1/events`, {
      events: httpEvents.map((e) => ({
        id: formatUuid(e.id),
        stream: e.stream,
        type: e.type,
        ...(e.expectedSeq === undefined ? {} : { expectedSeq: e.expectedSeq }),
        dataBase64: Buffer.from(e.payload).toString('base64'),
      })),
    });
    assert.equal(http.status, 200);
    const wsResults = [...ack.results.status].map((status, i) => ({
      status: STATUS_NAMES[status],
      seq: ack.results.seq[i],
      shard: ack.results.shard[i] === 0 ? undefined : 'shard',
    }));
    const httpResults = (
      http.body.results as { status: string; seq?: number; shard?: number }[]
    ).map((r) => ({
      status: r.status,
      seq: r.seq ?? 0,
      shard: r.shard === undefined || r.shard === 0 ? undefined : 'shard',
    }));
    assert.deepEqual(
      httpResults.map((r) => [r.status, r.seq]),
      wsResults.map((r) => [r.status, r.seq]),
    );
    assert.deepEqual(httpResults.map((r) => r.status).slice(-2), [
      'wrong_expected_seq',
      'duplicate',
    ]);
    await client.close();
  });

  test('HTTP appends take a correlation id from the header and return it in reads', async () => {
    const response = await postJson(
      `${server.url}/v1/events`,
      { events: [{ id: formatUuid(uuidBytes()), stream: 'corr/1', type: 'T', data: { n: 1 } }] },
      { 'x-correlation-id': 'req-42' },
    );
    assert.equal(response.body.results[0].status, 'ok');
    const read = await getJson(`${server.url}/v1/streams/${encodeURIComponent('corr/1')}/events`);
    assert.equal(read.body.events[0].correlationId, 'req-42');
    assert.deepEqual(read.body.events[0].data, { n: 1 });
    const state = await getJson(`${server.url}/v1/streams/${encodeURIComponent('corr/1')}`);
    assert.equal(state.status, 200);
    assert.equal(state.body.seq, 1);
    assert.deepEqual(state.body.state.eventCounts, { T: 1 });
  });

  test('an unknown stream answers 404; health answers live and ready', async () => {
    assert.equal((await getJson(`${server.url}/v1/streams/nobody-here`)).status, 404);
    assert.equal((await getJson(`${server.url}/health/live`)).status, 200);
    assert.equal((await getJson(`${server.url}/health/ready`)).body.status, 'ready');
  });

  test('a batch beyond the credit window answers overloaded and is not buffered', async () => {
    const client = await FrameClient.connect(server.wsUrl);
    const credit = await client.nextOf('credit');
    const { encodeAppendBatch, createBuilder } = await import('../../protocol/index.js');
    const builder = createBuilder();
    // Twice the window in one burst. The server may read it in more than one turn, and an ack
    // sent in between frees a credit, so only the first window is certain to be accepted.
    const total = credit.window * 2;
    const frames: Uint8Array[] = [];
    for (let b = 0; b < total; b++) {
      frames.push(
        encodeAppendBatch(builder, BigInt(b + 1), makeEvents(5, 5, `credit-${b}-`)).slice(),
      );
    }
    client.sendBurst(frames);
    const statuses = new Map<bigint, string>();
    const reasons: string[] = [];
    for (let b = 0; b < total; b++) {
      const ack = await client.nextOf('batch_ack');
      const status = STATUS_NAMES[ack.results.status[0]!]!;
      statuses.set(ack.batchId, status);
      if (status === 'overloaded') reasons.push(ack.results.error.get(0)!);
    }
    for (let b = 1; b <= credit.window; b++) assert.equal(statuses.get(BigInt(b)), 'ok');
    const overloaded = [...statuses].filter(([, s]) => s === 'overloaded').map(([id]) => id);
    assert.equal(statuses.size, total);
    assert.ok(overloaded.length > 0, 'batches beyond the window were refused');
    assert.ok(
      reasons.every((r) => r.includes('credit window')),
      reasons.join('; '),
    );
    // Refused, not buffered: none of a refused batch's events was stored.
    for (const id of overloaded) {
      const stream = `credit-${Number(id) - 1}-0`;
      assert.equal((await getJson(`${server.url}/v1/streams/${stream}`)).status, 404);
    }
    await client.close();
  });
});

describe('the single-threaded runtime (SHARDLINE_WORKERS=0)', () => {
  test('acknowledges, stores payloads byte-for-byte and dedupes like the workers', async () => {
    const server = await startTestServer({ workers: 0 });
    try {
      const client = await FrameClient.connect(server.wsUrl);
      const events = makeEvents(200, 10, 'single-');
      const ack = await client.append(1n, events);
      assert.ok([...ack.results.status].every((s) => s === Status.ok));
      const again = await client.append(2n, events);
      assert.ok([...again.results.status].every((s) => s === Status.duplicate));
      const read = await getJson(`${server.url}/v1/streams/single-3/events?limit=1000`);
      const sent = events.filter((e) => e.stream === 'single-3');
      assert.deepEqual(
        read.body.events.map((e: { dataBase64: string }) => e.dataBase64),
        sent.map((e) => Buffer.from(e.payload).toString('base64')),
      );
      await client.close();
    } finally {
      await server.shutdown();
      removeDir(server.dataDir);
    }
  });
});
