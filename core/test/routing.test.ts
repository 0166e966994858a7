import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a32, isValidShardCount, shardOf } from '../index.js';

/** The reference: FNV-1a over the bytes Buffer produces. */
function reference(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

test('fnv1a32 matches the published test vectors', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

test('fnv1a32 hashes the UTF-8 bytes of any string, surrogates included', () => {
  const alphabet = [
    'a',
    'Z',
    '0',
    '-',
    '/',
    'é',
    'ß',
    '€',
    '中',
    '🎉',
    '\uD800',
    '\uDFFF',
    '\u0000',
  ];
  let seed = 7;
  for (let n = 0; n < 5000; n++) {
    let text = '';
    const length = n % 23;
    for (let i = 0; i < length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      text += alphabet[seed % alphabet.length];
    }
    assert.equal(fnv1a32(text), reference(text), JSON.stringify(text));
  }
});

test('shards are stable, in range, and spread', () => {
  const counts = new Uint32Array(1024);
  for (let i = 0; i < 100_000; i++) counts[shardOf(`user-${i}`, 1024)]!++;
  assert.ok(Math.min(...counts) > 40 && Math.max(...counts) < 160, 'roughly uniform');
  assert.equal(shardOf('user-42', 1024), reference('user-42') % 1024);
  assert.ok(
    isValidShardCount(1024) &&
      isValidShardCount(1) &&
      !isValidShardCount(1000) &&
      !isValidShardCount(131072),
  );
});
