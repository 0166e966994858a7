/** bench:e2e against a real server: its warm-up, and a run the server refuses. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../lib/server-process.js';

test('a warm-up is appended on streams of its own before the measured run', async () => {
  const server = await spawnServer({ workers: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'shardline-warm-up-test-'));
  try {
    const script = fileURLToPath(new URL('../e2e/ws-throughput.js', import.meta.url));
    const out = join(dir, 'e2e.json');
    const run = spawnSync(
      process.execPath,
      [
        script,
        ...['--url', server.wsUrl, '--api-key', server.apiKey!, '--events', '1000'],
        ...['--streams', '10', '--warm-up-events', '500', '--runs', '1', '--out', out],
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const summary = JSON.parse(readFileSync(out, 'utf8')) as {
      workload: { events: number; warmUpEvents: number };
    };
    assert.equal(summary.workload.warmUpEvents, 500);
    const headers = { authorization: `Bearer ${server.apiKey!}` };
    const seqOf = async (stream: string): Promise<number> => {
      const response = await fetch(`${server.httpUrl}/v1/streams/${stream}`, { headers });
      assert.equal(response.status, 200, stream);
      return ((await response.json()) as { seq: number }).seq;
    };
    // 500 warm-up events and 1000 measured ones, each over 10 streams of their own.
    assert.equal(await seqOf('warm-up-3'), 50);
    assert.equal(await seqOf('bench-3'), 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});

test('a run the server refuses ends with its reason instead of waiting for acks', async () => {
  const server = await spawnServer({ workers: 0, env: { SHARDLINE_MAX_EVENTS_PER_BATCH: '50' } });
  const dir = mkdtempSync(join(tmpdir(), 'shardline-refused-test-'));
  try {
    const script = fileURLToPath(new URL('../e2e/ws-throughput.js', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [
        script,
        ...['--url', server.wsUrl, '--api-key', server.apiKey!, '--events', '1000'],
        ...['--batch', '100', '--runs', '1', '--out', join(dir, 'e2e.json')],
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.signal, null, 'the benchmark hung until the timeout');
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /the server (answered|closed the connection)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});
