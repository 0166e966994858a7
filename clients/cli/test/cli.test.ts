/**
 * The `shardline` CLI as users run it: `node dist/clients/cli/main.js`, against a real server
 * started by `shardline serve` (port 0, a temporary data directory, an API key made for the
 * test), so that serve, send, read and bench are all exercised through their real entry points.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

const CLI = fileURLToPath(new URL('../main.js', import.meta.url));
const SERVER_MAIN = fileURLToPath(new URL('../../../server/main.js', import.meta.url));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A result line of `send`. */
interface ResultLine {
  line: number;
  id: string;
  stream: string;
  status: string;
  seq: number;
}

/** An event line of `read`. */
interface EventLine {
  stream: string;
  id: string;
  seq: number;
  type: string;
  correlationId: string | null;
  data?: unknown;
  dataBase64?: string;
}

function ndjson<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

describe('shardline CLI against a real server', () => {
  let dataDir: string;
  let server: ChildProcess;
  let serverExit: Promise<number | null>;
  /** Node flags the server said it was started without (server/node-flags.ts). */
  const missingNodeFlags: string[] = [];
  let url: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'shardline-cli-test-'));
    const created = spawnSync(
      process.execPath,
      [
        SERVER_MAIN,
        'keys',
        'create',
        '--role',
        'producer',
        '--role',
        'reader',
        '--data-dir',
        dataDir,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(created.status, 0, created.stderr);
    env = {
      SHARDLINE_API_KEY: (JSON.parse(created.stdout.split('\n')[0]!) as { key: string }).key,
    };
    server = spawn(
      process.execPath,
      [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--workers', '1'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    serverExit = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const record = JSON.parse(line) as { msg?: string; port?: number; missingFlags?: string[] };
        if (record.missingFlags !== undefined) missingNodeFlags.push(...record.missingFlags);
        if (record.msg === 'shardline listening' && record.port) resolve(record.port);
      });
      void serverExit.then((code) => reject(new Error(`serve exited with ${code}`)));
    });
    url = `ws://127.0.0.1:${port}`;
  });

  after(async () => {
    // SIGTERM to the CLI reaches the server through `serve`'s signal forwarding.
    server.kill('SIGTERM');
    assert.equal(await serverExit, 0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serve starts the server with the V8 flags it needs', () => {
    assert.deepEqual(missingNodeFlags, []);
  });

  test('send appends NDJSON from stdin, and read returns the events in order', async () => {
    const stream = `orders-${randomUUID()}`;
    const other = `users-${randomUUID()}`;
    const explicitId = randomUUID();
    const input: object[] = [];
    for (let i = 0; i < 25; i++) {
      input.push({ stream: i % 5 === 4 ? other : stream, type: `Step${i}`, data: { i } });
    }
    input.push({
      stream,
      type: 'Binary',
      dataBase64: Buffer.from([0, 1, 2, 255]).toString('base64'),
    });
    input.push({ id: explicitId, stream, type: 'Tagged', correlationId: 'corr-1', data: 'text' });
    const sent = await cli(['send', '--url', url, '-q'], {
      env,
      input: input.map((e) => JSON.stringify(e)).join('\n') + '\n\n',
    });
    assert.equal(sent.status, 0, sent.stderr);
    const results = ndjson<ResultLine>(sent.stdout);
    assert.equal(results.length, input.length);
    assert.deepEqual(
      results.map((r) => r.line),
      input.map((_, i) => i + 1),
    );
    assert.ok(results.every((r) => r.status === 'ok'));
    const seqs = results.filter((r) => r.stream === stream).map((r) => r.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    assert.equal(results.at(-1)!.id, explicitId);

    const read = await cli(['read', stream, '--url', url, '--page-size', '7'], { env });
    assert.equal(read.status, 0, read.stderr);
    const events = ndjson<EventLine>(read.stdout);
    const expected = input.filter((e) => (e as EventLine).stream === stream) as EventLine[];
    assert.equal(events.length, expected.length);
    assert.deepEqual(
      events.map((e) => e.seq),
      expected.map((_, i) => i + 1),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      expected.map((e) => e.type),
    );
    assert.deepEqual(events[0]!.data, { i: 0 });
    assert.equal(events.at(-2)!.dataBase64, 'AAEC/w==');
    assert.equal(events.at(-1)!.id, explicitId);
    assert.equal(events.at(-1)!.correlationId, 'corr-1');
    assert.equal(events.at(-1)!.data, 'text');
    assert.ok(events.every((e) => e.stream === stream));

    const page = await cli(['read', stream, '--url', url, '--from-seq', '3', '--limit', '4'], {
      env,
    });
    assert.deepEqual(
      ndjson<EventLine>(page.stdout).map((e) => e.seq),
      [3, 4, 5, 6],
    );
  });

  test('send reports unusable lines as invalid and exits 1; a resent id is a duplicate', async () => {
    const stream = `mixed-${randomUUID()}`;
    const id = randomUUID();
    const first = await cli(['send', '--url', url, '-q'], {
      env,
      input: [
        'not json',
        JSON.stringify({ stream, type: 'T', data: 1, dataBase64: 'AA==' }),
        JSON.stringify({ stream, type: 'T', nope: true }),
        JSON.stringify({ id, stream, type: 'T', data: 1 }),
      ].join('\n'),
    });
    assert.equal(first.status, 1);
    assert.deepEqual(
      ndjson<ResultLine>(first.stdout).map((r) => [r.line, r.status]),
      [
        [1, 'invalid'],
        [2, 'invalid'],
        [3, 'invalid'],
        [4, 'ok'],
      ],
    );
    const again = await cli(['send', '--url', url, '-q'], {
      env,
      input: JSON.stringify({ id, stream, type: 'T', data: 1 }) + '\n',
    });
    assert.equal(again.status, 0, again.stderr);
    const [resent] = ndjson<ResultLine>(again.stdout);
    assert.equal(resent!.status, 'duplicate');
    assert.equal(resent!.seq, 1);
  });

  test('bench runs a bounded load through the SDK', async () => {
    const run = await cli(
      [
        'bench',
        '--url',
        url,
        '--events',
        '2000',
        '--batch',
        '50',
        '--connections',
        '2',
        '--json',
        '-q',
      ],
      { env },
    );
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {
      ok: number;
      failed: number;
      latency: { p50Ms: number; p99Ms: number };
    };
    assert.equal(result.ok, 2000);
    assert.equal(result.failed, 0);
    assert.ok(result.latency.p99Ms >= result.latency.p50Ms);
  });

  test('a missing API key is refused, and the error says so', async () => {
    const run = await cli(['read', 'anything', '--url', url], { env: { SHARDLINE_API_KEY: '' } });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /401/);
  });
});

describe('shardline --help', () => {
  for (const command of ['serve', 'migrate', 'send', 'read', 'bench']) {
    test(`${command} --help`, async () => {
      const run = await cli([command, '--help']);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^Usage: shardline ${command}`));
      if (command === 'serve' || command === 'migrate') assert.match(run.stdout, /--data-dir/);
      else assert.match(run.stdout, /--url URL/);
    });
  }

  test('shardline --help lists every command; an unknown one exits 2', async () => {
    const help = await cli(['--help']);
    assert.equal(help.status, 0);
    for (const command of ['serve', 'migrate', 'send', 'read', 'bench']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
    }
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const bad = await cli(['bench', '--events', 'many']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--events must be an integer/);
  });
});
