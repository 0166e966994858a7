import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createBuilder, encodeAppendBatch, Status } from '../../protocol/index.js';
import { formatUuid } from '../src/json-events.js';
import { createApiKey, revokeApiKey } from '../src/security/api-keys.js';
import {
  FrameClient,
  makeEvents,
  removeDir,
  startTestServer,
  tempDir,
  uuidBytes,
  type TestServer,
} from './support.js';

const require = createRequire(import.meta.url);
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}[];

const JWT_SECRET = 'a-test-secret-of-at-least-32-characters!!';

async function request(
  url: string,
  key: string | null,
  init: RequestInit = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (key !== null) headers.set('authorization', `Bearer ${key}`);
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // metrics and the dashboard are not JSON
  }
  return { status: response.status, body, headers: response.headers };
}

/** The HTTP status of a WebSocket upgrade (101 when it was accepted). */
function upgradeStatus(url: string, key: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(
      url,
      key === null ? {} : { headers: { authorization: `Bearer ${key}` } },
    );
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

function appendBody(stream: string): string {
  return JSON.stringify({
    events: [{ id: formatUuid(uuidBytes()), stream, type: 'T', data: { n: 1 } }],
  });
}

describe('authentication, authorisation and rate limits', () => {
  let server: TestServer;
  const keys: Record<string, string> = {};
  let keysFile: string;
  const logLines: string[] = [];

  before(async () => {
    const dataDir = tempDir();
    keysFile = join(dataDir, 'keys.json');
    keys['producer'] = createApiKey(keysFile, {
      name: 'p',
      roles: ['producer'],
      streamPrefixes: ['tenant-a/'],
    }).key;
    keys['producerB'] = createApiKey(keysFile, {
      name: 'pb',
      roles: ['producer'],
      streamPrefixes: null,
    }).key;
    keys['reader'] = createApiKey(keysFile, {
      name: 'r',
      roles: ['reader'],
      streamPrefixes: ['tenant-a/'],
    }).key;
    keys['admin'] = createApiKey(keysFile, {
      name: 'a',
      roles: ['admin'],
      streamPrefixes: null,
    }).key;
    const capture = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        callback();
      },
    });
    server = await startTestServer(
      {
        dataDir,
        keysFile,
        auth: true,
        jwtSecret: JWT_SECRET,
        jwtAudience: 'shardline',
        rateEventsPerS: 300,
        rateBatchesPerS: 1000,
      },
      pino({ level: 'debug' }, capture),
    );
  });
  after(async () => {
    await server.shutdown();
    removeDir(server.dataDir);
  });

  test('every route refuses missing credentials (401), the wrong role and foreign streams (403)', async () => {
    const base = server.url;
    const wsBase = server.wsUrl.replace('/v1/stream', '');
    const routes: {
      name: string;
      call: (key: string | null) => Promise<number>;
      role: string;
      foreignStream?: (key: string) => Promise<number>;
    }[] = [
      {
        name: 'POST /v1/events',
        role: 'producer',
        call: async (key) =>
          (
            await request(`${base}/v1/events`, key, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: appendBody('tenant-a/x'),
            })
          ).status,
        foreignStream: async (key) =>
          (
            await request(`${base}/v1/events`, key, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: appendBody('tenant-b/x'),
            })
          ).status,
      },
      {
        name: 'GET /v1/streams/{stream}/events',
        role: 'reader',
        call: async (key) =>
          (await request(`${base}/v1/streams/${encodeURIComponent('tenant-a/x')}/events`, key))
            .status,
        foreignStream: async (key) =>
          (await request(`${base}/v1/streams/${encodeURIComponent('tenant-b/x')}/events`, key))
            .status,
      },
      {
        name: 'GET /v1/streams/{stream}',
        role: 'reader',
        call: async (key) =>
          (await request(`${base}/v1/streams/${encodeURIComponent('tenant-a/x')}`, key)).status,
        foreignStream: async (key) =>
          (await request(`${base}/v1/streams/${encodeURIComponent('tenant-b/x')}`, key)).status,
      },
      {
        name: 'GET /metrics',
        role: 'admin',
        call: async (key) => (await request(`${base}/metrics`, key)).status,
      },
      {
        name: 'GET /dashboard',
        role: 'admin',
        call: async (key) => (await request(`${base}/dashboard`, key)).status,
      },
      {
        name: 'WS /v1/dashboard',
        role: 'admin',
        call: (key) => upgradeStatus(`${wsBase}/v1/dashboard`, key),
      },
    ];
    const wrongRole: Record<string, string> = {
      producer: keys['reader']!,
      reader: keys['admin']!,
      admin: keys['producer']!,
    };
    const rightRole: Record<string, string> = {
      producer: keys['producer']!,
      reader: keys['reader']!,
      admin: keys['admin']!,
    };
    for (const route of routes) {
      assert.equal(await route.call(null), 401, `${route.name} without credentials`);
      assert.equal(await route.call('shl_unknown_key'), 401, `${route.name} with an unknown key`);
      assert.equal(
        await route.call(wrongRole[route.role]!),
        403,
        `${route.name} with the wrong role`,
      );
      const allowed = await route.call(rightRole[route.role]!);
      assert.ok(
        [101, 200, 404].includes(allowed),
        `${route.name} with the right role answered ${allowed}`,
      );
      if (route.foreignStream)
        assert.equal(
          await route.foreignStream(rightRole[route.role]!),
          403,
          `${route.name} outside the grant`,
        );
    }
    // The WebSocket stream: the upgrade needs credentials; AppendBatch needs the producer role
    // and streams inside the grant, else Error ERR_FORBIDDEN and close 1008.
    assert.equal(await upgradeStatus(server.wsUrl, null), 401, 'WS /v1/stream without credentials');
    const frames: [string, string, number][] = [
      ['AppendBatch with the wrong role', keys['reader']!, 1008],
      ['AppendBatch outside the grant', keys['producer']!, 1008],
    ];
    for (const [name, key, closeCode] of frames) {
      const client = await FrameClient.connect(server.wsUrl, key);
      const stream = name.includes('outside') ? 'tenant-b/x' : 'tenant-a/x';
      client.sendRaw(
        encodeAppendBatch(createBuilder(), 1n, [
          { id: uuidBytes(), stream, type: 'T', payload: new Uint8Array(1) },
        ]).slice(),
      );
      const error = await client.nextOf('error');
      assert.equal(error.code, 'ERR_FORBIDDEN', name);
      assert.equal((await client.closed).code, closeCode, name);
    }
    const allowed = await FrameClient.connect(server.wsUrl, keys['producer']);
    const ack = await allowed.append(1n, [
      { id: uuidBytes(), stream: 'tenant-a/ok', type: 'T', payload: new Uint8Array(1) },
    ]);
    assert.equal(ack.results.status[0], Status.ok);
    await allowed.close();
  });

  test('JWTs: valid ones pass; expired, badly signed and wrong-audience ones are refused', async () => {
    const sign = (
      overrides: { secret?: string; audience?: string; expiresIn?: string | number } = {},
    ) =>
      new SignJWT({ roles: ['reader'], streams: ['tenant-a/'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('user-1')
        .setAudience(overrides.audience ?? 'shardline')
        .setIssuedAt()
        .setExpirationTime(overrides.expiresIn ?? '5m')
        .sign(new TextEncoder().encode(overrides.secret ?? JWT_SECRET));
    const url = `${server.url}/v1/streams/${encodeURIComponent('tenant-a/x')}/events`;
    assert.equal((await request(url, await sign())).status, 200);
    assert.equal(
      (await request(url, await sign({ expiresIn: Math.floor(Date.now() / 1000) - 60 }))).status,
      401,
      'expired',
    );
    assert.equal(
      (await request(url, await sign({ secret: 'another-secret-of-at-least-32-characters' })))
        .status,
      401,
      'badly signed',
    );
    assert.equal(
      (await request(url, await sign({ audience: 'someone-else' }))).status,
      401,
      'wrong audience',
    );
    const forbidden = `${server.url}/v1/streams/${encodeURIComponent('tenant-b/x')}/events`;
    assert.equal(
      (await request(forbidden, await sign())).status,
      403,
      'outside the token streams claim',
    );
  });

  test('a revoked key stops working for new requests and connections', async () => {
    const { key, record } = createApiKey(keysFile, {
      name: 'temp',
      roles: ['reader'],
      streamPrefixes: null,
    });
    const url = `${server.url}/v1/streams/anything/events`;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the store re-reads the file at most once a second
    assert.equal((await request(url, key)).status, 200);
    assert.ok(revokeApiKey(keysFile, record.id));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await request(url, key)).status, 401);
    assert.equal(await upgradeStatus(server.wsUrl, key), 401);
  });

  test('a principal over its rate gets overloaded or 429; another principal is unaffected', async () => {
    const greedy = await FrameClient.connect(server.wsUrl, keys['producer']);
    const statuses: number[] = [];
    for (let b = 0; b < 6; b++) {
      const ack = await greedy.append(BigInt(b + 1), makeEvents(100, 10, 'tenant-a/greedy-'));
      statuses.push(...ack.results.status);
    }
    assert.ok(
      statuses.includes(Status.overloaded),
      'over 300 events/s the greedy client is refused',
    );
    const http = await request(`${server.url}/v1/events`, keys['producer']!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: Array.from({ length: 200 }, (_, i) => ({
          id: formatUuid(uuidBytes()),
          stream: `tenant-a/h-${i}`,
          type: 'T',
        })),
      }),
    });
    assert.equal(http.status, 429);
    assert.ok(Number(http.headers.get('retry-after')) >= 1);
    const polite = await FrameClient.connect(server.wsUrl, keys['producerB']);
    const ack = await polite.append(1n, makeEvents(100, 10, 'polite-'));
    assert.ok(
      [...ack.results.status].every((s) => s === Status.ok),
      'the other principal is unaffected',
    );
    await greedy.close();
    await polite.close();
  });

  test('/metrics parses as Prometheus text and its counters move as events flow', async () => {
    const scrape = async (): Promise<ReturnType<typeof parsePrometheus>> =>
      parsePrometheus((await request(`${server.url}/metrics`, keys['admin']!)).body as string);
    const okEvents = (families: ReturnType<typeof parsePrometheus>): number =>
      Number(
        families
          .find((f) => f.name === 'shardline_events_total')
          ?.metrics.find((m) => m.labels?.['path'] === 'ws' && m.labels['status'] === 'ok')
          ?.value ?? 0,
      );
    const before = await scrape();
    const names = new Set(before.map((f) => f.name));
    for (const name of [
      'shardline_ack_latency_seconds',
      'shardline_batch_events',
      'shardline_worker_ring_bytes',
      'shardline_worker_live_actors',
      'shardline_worker_restarts',
      'shardline_journal_commit_seconds_sum',
      'shardline_journal_groups_redecided',
      'shardline_journal_available',
      'shardline_connections',
      'shardline_auth_rejections_total',
      'shardline_rate_limited_total',
      'shardline_build_info',
    ]) {
      assert.ok(names.has(name), `${name} is exported`);
    }
    // Only the MySQL journal has a writer connection to time (mysql-commit-lanes.test.ts).
    const busy = before.find((f) => f.name === 'shardline_journal_busy_seconds_sum');
    assert.equal(busy?.metrics.length ?? 0, 0);
    const client = await FrameClient.connect(server.wsUrl, keys['producerB']);
    await client.append(1n, makeEvents(50, 5, 'metrics-'));
    await client.close();
    const afterScrape = await scrape();
    assert.equal(okEvents(afterScrape) - okEvents(before), 50);
    const processed = afterScrape
      .find((f) => f.name === 'shardline_worker_events_processed')!
      .metrics.reduce((sum, m) => sum + Number(m.value), 0);
    assert.ok(processed >= 50);
  });

  test('a correlation id sent with a batch is in its log lines and in the events read back', async () => {
    const client = await FrameClient.connect(server.wsUrl, keys['producer']);
    await client.append(
      77n,
      [{ id: uuidBytes(), stream: 'tenant-a/corr', type: 'T', payload: new Uint8Array(1) }],
      'corr-4242',
    );
    await client.close();
    const lines = logLines.filter((line) => line.includes('"correlationId":"corr-4242"'));
    assert.ok(
      lines.some((line) => line.includes('batch received')) &&
        lines.some((line) => line.includes('batch answered')),
      lines.join('\n'),
    );
    assert.ok(
      logLines.every((line) => !line.includes(keys['producer']!)),
      'no key in any log line',
    );
    const read = await request(
      `${server.url}/v1/streams/${encodeURIComponent('tenant-a/corr')}/events`,
      keys['reader']!,
    );
    assert.equal(read.body.events[0].correlationId, 'corr-4242');
  });
});

describe('TLS', () => {
  test('a client connects over wss:// with a self-signed certificate', async () => {
    const dir = tempDir();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const server = await startTestServer({ tlsCert: cert, tlsKey: key });
    try {
      assert.ok(server.wsUrl.startsWith('wss://'));
      const client = await FrameClient.connect(server.wsUrl, null, { ca: readFileSync(cert) });
      const ack = await client.append(1n, makeEvents(3, 1, 'tls-'));
      assert.ok([...ack.results.status].every((s) => s === Status.ok));
      await client.close();
      await assert.rejects(
        FrameClient.connect(server.wsUrl),
        /self-signed|certificate/i,
        'an untrusted certificate is refused by default',
      );
    } finally {
      await server.shutdown();
      removeDir(server.dataDir);
      removeDir(dir);
    }
  });
});
