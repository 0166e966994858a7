/**
 * The SDK's pure parts: event ids, options, backoff, and the rules that keep the browser path
 * and the package self-contained.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  DEFAULT_OPTIONS,
  Shardline,
  UuidV7Generator,
  formatUuid,
  parseUuid,
  type ShardlineError,
} from '../index.js';
import { backoffDelayMs } from '../src/backoff.js';

const source = new URL('../../../../clients/typescript/', import.meta.url);

describe('event ids', () => {
  test('UUIDv7: version 7, RFC variant, the timestamp in the first 48 bits', () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = new UuidV7Generator().next(now);
    assert.equal(id[6]! >> 4, 7);
    assert.equal(id[8]! >> 6, 0b10);
    const ms = id.subarray(0, 6).reduce((value, byte) => value * 256 + byte, 0);
    assert.equal(ms, now);
  });

  test('ids of one generator strictly increase, even within a millisecond or backwards', () => {
    const generator = new UuidV7Generator();
    let previous = '';
    const times = [5000, 5000, 5000, 4000, 5001];
    for (let i = 0; i < 20_000; i++) {
      const id = formatUuid(generator.next(times[i % times.length]! + Math.floor(i / 10_000)));
      assert.ok(id > previous, `${id} after ${previous}`);
      previous = id;
    }
  });

  test('UUID text round-trips, with or without hyphens; anything else is refused', () => {
    const text = '0190a8f2-6c1e-7d4a-9b1f-2a3c4d5e6f70';
    assert.equal(formatUuid(parseUuid(text)!), text);
    assert.equal(formatUuid(parseUuid(text.replaceAll('-', '').toUpperCase())!), text);
    for (const bad of ['', 'x', text.slice(1), text.replace('-', 'x'), `${text.slice(0, 35)}g`]) {
      assert.equal(parseUuid(bad), null, bad);
    }
  });
});

describe('options', () => {
  test('bad options reject with ERR_INVALID_OPTION naming the option, before connecting', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ maxBatchEvents: 0 }, /^maxBatchEvents must be an integer between 1 and 10000, got 0$/],
      [{ maxBatchEvents: 20_000 }, /maxBatchEvents/],
      [{ lingerMs: -1 }, /lingerMs/],
      [{ lingerMs: 1.5 }, /lingerMs/],
      [{ maxRetries: '3' }, /maxRetries .* got "3"/],
      [{ maxBatchBytes: 1 << 20, maxQueuedBytes: 1 << 19 }, /maxQueuedBytes/],
      [{ apiKey: '' }, /apiKey/],
      [{ WebSocket: 'ws' }, /WebSocket/],
    ];
    for (const [options, message] of cases) {
      // Port 1: nothing listens there, so a missed validation would fail with ERR_CONNECT.
      await assert.rejects(Shardline.connect('ws://127.0.0.1:1/v1/stream', options), (error) => {
        assert.equal((error as ShardlineError).code, 'ERR_INVALID_OPTION');
        assert.match((error as Error).message, message);
        return true;
      });
    }
    await assert.rejects(Shardline.connect('http://127.0.0.1:1/'), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  test('Infinity is accepted where documented', () => {
    assert.equal(DEFAULT_OPTIONS.maxReconnectAttempts, Number.POSITIVE_INFINITY);
  });
});

describe('backoff', () => {
  test('full jitter: within [0, min(cap, base * 2^attempt))', () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelayMs(attempt, 100, 5000);
        assert.ok(delay >= 0 && delay < Math.min(5000, 100 * 2 ** attempt), `${delay}`);
      }
    }
    assert.equal(backoffDelayMs(3, 0, 1000), 0);
  });
});

describe('portability and packaging', () => {
  test('the SDK sources use no Node-only API (they run in browsers)', () => {
    const files = ['index.ts', ...readdirSync(new URL('src/', source)).map((f) => `src/${f}`)];
    const nodeOnly = [
      /\bBuffer\b/,
      /from 'node:/,
      /\brequire\(/,
      /\bprocess\.(?!versions)/,
      /\bsetImmediate\(/,
      /\b__dirname\b/,
    ];
    for (const file of files) {
      const code = readFileSync(new URL(file, source), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const pattern of nodeOnly) assert.doesNotMatch(code, pattern, `${file}: ${pattern}`);
    }
  });

  test('the package pins the same dependency versions as the repository', () => {
    const sdk = JSON.parse(readFileSync(new URL('package.json', source), 'utf8'));
    const root = JSON.parse(readFileSync(new URL('../../package.json', source), 'utf8'));
    const rootVersions = { ...root.dependencies, ...root.devDependencies };
    assert.equal(sdk.name, '@shardline/client');
    assert.equal(sdk.type, 'module');
    for (const [name, version] of Object.entries({
      ...sdk.dependencies,
      ...sdk.devDependencies,
    })) {
      assert.equal(version, rootVersions[name], name);
    }
    assert.ok(sdk.peerDependenciesMeta.ws.optional);
  });
});
