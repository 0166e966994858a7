import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StringCache } from '../src/string-cache.js';

const fatal = new TextDecoder('utf-8', { fatal: true });
const decode = (bytes: Uint8Array): string => fatal.decode(bytes);
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A decoder that counts its calls: a call is a miss of the cache. */
function countingDecoder(): { decode: (bytes: Uint8Array) => string; calls: () => number } {
  let calls = 0;
  return {
    decode: (bytes) => {
      calls++;
      return decode(bytes);
    },
    calls: () => calls,
  };
}

test('the cache returns what decoding returns, whatever collides in its slots', () => {
  // One set of two slots, so that nearly every string evicts another; names of a few letters,
  // so that the same bytes come back often, some at other offsets of a larger buffer.
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
  const counter = countingDecoder();
  const short = encode('stream-1');
  const long = encode('x'.repeat(65));
  for (let i = 0; i < 3; i++) {
    assert.equal(cache.get(short, 0, short.length, counter.decode), 'stream-1');
    assert.equal(cache.get(long, 0, long.length, counter.decode), 'x'.repeat(65));
  }
  assert.equal(counter.calls(), 1 + 3, 'the short name once, the long one each time');
});

test('bytes that fail to decode are not cached', () => {
  const cache = new StringCache(2);
  const invalid = new Uint8Array([0x61, 0xff]);
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError);
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError, 'still refused the second time');
  const valid = encode('a');
  assert.equal(cache.get(valid, 0, 1, decode), 'a');
  assert.throws(() => cache.get(invalid, 0, 2, decode), TypeError);
});

test('two names that share a set both stay cached; a third evicts the one used less recently', () => {
  const cache = new StringCache(2); // one set
  const counter = countingDecoder();
  const [a, b, c] = [encode('stream-a'), encode('stream-b'), encode('stream-c')];
  const get = (bytes: Uint8Array): string => cache.get(bytes, 0, bytes.length, counter.decode);
  for (let i = 0; i < 10; i++) {
    assert.equal(get(a), 'stream-a');
    assert.equal(get(b), 'stream-b');
  }
  assert.equal(counter.calls(), 2, 'each decoded once, alternating ten times');
  get(a);
  get(c); // evicts b, used less recently than a
  assert.equal(get(a), 'stream-a');
  assert.equal(counter.calls(), 3);
  assert.equal(get(b), 'stream-b');
  assert.equal(counter.calls(), 4, 'b was evicted');
});

test('1,000 stream names cycling through the default cache mostly hit', () => {
  // bench:e2e's names. Direct-mapped with 4,096 slots, 204 of them missed on every pass.
  const cache = new StringCache();
  const counter = countingDecoder();
  const names = Array.from({ length: 1000 }, (_, i) => encode(`bench-${i}`));
  for (let pass = 0; pass < 4; pass++) {
    for (const name of names) cache.get(name, 0, name.length, counter.decode);
  }
  const missesAfterTheFirstPass = counter.calls() - 1000;
  assert.ok(missesAfterTheFirstPass <= 3 * 30, `${missesAfterTheFirstPass} misses in 3 passes`);
});

test('a cache needs a power of two of at least two slots', () => {
  assert.throws(() => new StringCache(1), RangeError);
  assert.throws(() => new StringCache(6), RangeError);
});
