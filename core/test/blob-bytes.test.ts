/**
 * BlobBytes (`core/src/blob-bytes.ts`): the received batches' bytes, which the journals bind
 * as BLOBs. They must stay Buffers with Buffer's slicing, and the mariadb driver's Date check
 * must find them without building a string.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyAsBlobBytes } from '../src/blob-bytes.js';

const source = Buffer.from('0123456789abcdef', 'utf8');

test('a copy is a Buffer with the same bytes, independent of its source', () => {
  const arrayBuffer = new Uint8Array(source).buffer;
  const copy = copyAsBlobBytes(arrayBuffer);
  assert.ok(Buffer.isBuffer(copy));
  assert.equal(copy.toString('utf8'), '0123456789abcdef');
  new Uint8Array(arrayBuffer).fill(0); // as uWS empties a message after its callback
  assert.equal(copy.toString('hex', 0, 2), '3031');
  assert.ok(copyAsBlobBytes(source.subarray(2, 5)).equals(Buffer.from('234')));
});

test('subarray cuts what Buffer#subarray cuts, and keeps the class', () => {
  const copy = copyAsBlobBytes(source);
  const cases: [number?, number?][] = [
    [],
    [3],
    [3, 7],
    [7, 3],
    [-4],
    [-6, -2],
    [-100, 4],
    [10, 100],
    [Number.NaN, 2],
    [1.7, 4.2],
  ];
  for (const [begin, end] of cases) {
    const cut = copy.subarray(begin, end);
    assert.deepEqual([...cut], [...source.subarray(begin, end)], `subarray(${begin}, ${end})`);
    assert.equal(cut.buffer, copy.buffer, 'a view, not a copy');
    assert.ok(Buffer.isBuffer(cut));
    assert.equal(Object.getPrototypeOf(cut), Object.getPrototypeOf(copy));
  }
});

test('Object.prototype.toString answers the constant that allocates nothing', () => {
  const id = copyAsBlobBytes(source).subarray(0, 16);
  // A plain Buffer answers "[object Uint8Array]", a new string on every call.
  assert.equal(Object.prototype.toString.call(source), '[object Uint8Array]');
  assert.equal(Object.prototype.toString.call(id), '[object Object]');
});
