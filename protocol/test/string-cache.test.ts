import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StringCache } from '../src/string-cache.js';

const fatal = new TextDecoder('utf-8', { fatal: true });
const decode = (bytes: Uint8Array): string => fatal.decode(bytes);
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

test('the cache returns what decoding returns, whatever collides in its slots', () => {
  // Two slots, so that nearly every string evicts another; names of a few letters, so that
  // the same bytes come back often, some at other offsets of a larger buffer.
  const cache = new StringCache(2);
  let state = 7;
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const alphabet = ['a', 'b', 'é', '€', '𝄞'];
  for (let step = 0; step < 20_000; step++) {
    let text = '';
    for (let i = next(5); i > 0; i--) text += alphabet[next(alphabet.length)];
    const bytes = encode(text);
    const padding = next(3);
    const source = new Uint8Array(bytes.length + 2 * padding).fill(0x7a);
    source.set(bytes, padding);
    assert.equal(cache.get(source, padding, padding + bytes.length, decode), text);
  }
});

test('strings longer than 64 bytes are decoded every time', () => {
  const cache = new StringCache(8);
  let calls = 0;
  const counting = (bytes: Uint8Array): string => {
    calls++;
    return decode(bytes);
  };
  const short = encode('stream-1');
  const long = encode('x'.repeat(65));
  for (let i = 0; i < 3; i++) {
    assert.equal(cache.get(short, 0, short.length, counting), 'stream-1');
    assert.equal(cache.get(long, 0, long.length, counting), 'x'.repeat(65));
  }
  assert.equal(calls, 1 + 3, 'the short name once, the long one each time');
});

test('bytes that fail to decode are not cached', () => {
  const cache = new StringCache(1);
  const invalid = new Uint8Array([0x61, 0xff]);
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError);
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError, 'still refused the second time');
  const valid = encode('a');
  assert.equal(cache.get(valid, 0, 1, decode), 'a');
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError);
});
