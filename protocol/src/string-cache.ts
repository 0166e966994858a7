/**
 * Decodes short UTF-8 strings through a cache of the strings last decoded, keyed by their
 * bytes.
 *
 * Every event carries its stream name and its type as UTF-8, decoded once on the uWS thread
 * and again in a shard worker. The same few names come back batch after batch, and decoding
 * each one made a new string: a call into V8 to decode it, then, for the stream, a fresh
 * hash at every Map lookup, since V8 caches a string's hash in the string itself. A hit here
 * returns the string decoded before, hash and all.
 *
 * Direct-mapped: a string's bytes hash to one slot, and a new string evicts the old one. The
 * bytes are compared in full on every hit.
 */

import { fnv1a32Bytes } from './fnv.js';

/** Longer strings are decoded every time: names this long rarely repeat often enough. */
const MAX_CACHED_BYTES = 64;

export class StringCache {
  readonly #mask: number;
  /** Per slot: the bytes of the cached string. */
  readonly #bytes: Uint8Array;
  /** Per slot: the byte length of the cached string, or -1 when the slot is empty. */
  readonly #lengths: Int32Array;
  readonly #strings: string[];

  /** `slots` is a power of two. */
  constructor(slots = 4096) {
    this.#mask = slots - 1;
    this.#bytes = new Uint8Array(slots * MAX_CACHED_BYTES);
    this.#lengths = new Int32Array(slots).fill(-1);
    this.#strings = new Array<string>(slots).fill('');
  }

  /**
   * The string whose UTF-8 bytes are `source[start, end)`: the cached one when those bytes were
   * decoded before, else `decode(bytes)`, cached. `decode` may throw (invalid UTF-8), and then
   * nothing is cached.
   */
  get(
    source: Uint8Array,
    start: number,
    end: number,
    decode: (bytes: Uint8Array) => string,
  ): string {
    const length = end - start;
    if (length > MAX_CACHED_BYTES) return decode(source.subarray(start, end));
    const hash = fnv1a32Bytes(source, start, end);
    const slot = (hash ^ (hash >>> 15)) & this.#mask;
    const base = slot * MAX_CACHED_BYTES;
    if (this.#lengths[slot] === length && this.#sameBytes(base, source, start, length)) {
      return this.#strings[slot]!;
    }
    const decoded = decode(source.subarray(start, end));
    this.#bytes.set(source.subarray(start, end), base);
    this.#lengths[slot] = length;
    this.#strings[slot] = decoded;
    return decoded;
  }

  #sameBytes(base: number, source: Uint8Array, start: number, length: number): boolean {
    const bytes = this.#bytes;
    for (let i = 0; i < length; i++) if (bytes[base + i] !== source[start + i]) return false;
    return true;
  }
}
