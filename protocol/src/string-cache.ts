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
 * Two-way set-associative: a string's bytes hash to a set of two slots, and a new string
 * evicts the one of the two used less recently. Direct-mapped (one slot per hash), the 1,000
 * stream names of bench:e2e left 204 names sharing a slot with another, so each of them
 * missed on every pass; with two ways, a set thrashes only when three names share it. The
 * bytes are compared in full on every hit.
 */

import { fnv1a32Bytes } from './fnv.js';

/** Longer strings are decoded every time: names this long rarely repeat often enough. */
const MAX_CACHED_BYTES = 64;
/** Two: a miss fills the way not used last (`1 - #lastUsed[set]`). */
const WAYS = 2;

export class StringCache {
  /** Sets - 1 (the sets are a power of two). */
  readonly #setMask: number;
  /** Per slot (set * WAYS + way): the bytes of the cached string. */
  readonly #bytes: Uint8Array;
  /** Per slot: the byte length of the cached string, or -1 when the slot is empty. */
  readonly #lengths: Int32Array;
  readonly #strings: string[];
  /** Per set: the way that hit or was filled last; a miss fills the other one. */
  readonly #lastUsed: Uint8Array;

  /** `slots` is a power of two, at least 2. */
  constructor(slots = 8192) {
    if (slots < WAYS || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`slots must be a power of two of at least ${WAYS}, not ${slots}`);
    }
    this.#setMask = slots / WAYS - 1;
    this.#bytes = new Uint8Array(slots * MAX_CACHED_BYTES);
    this.#lengths = new Int32Array(slots).fill(-1);
    this.#strings = new Array<string>(slots).fill('');
    this.#lastUsed = new Uint8Array(slots / WAYS);
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
    const set = (hash ^ (hash >>> 15)) & this.#setMask;
    const first = set * WAYS;
    for (let slot = first; slot < first + WAYS; slot++) {
      if (this.#lengths[slot] === length && this.#sameBytes(slot, source, start, length)) {
        this.#lastUsed[set] = slot - first;
        return this.#strings[slot]!;
      }
    }
    const decoded = decode(source.subarray(start, end));
    const way = 1 - this.#lastUsed[set]!;
    const slot = first + way;
    this.#bytes.set(source.subarray(start, end), slot * MAX_CACHED_BYTES);
    this.#lengths[slot] = length;
    this.#strings[slot] = decoded;
    this.#lastUsed[set] = way;
    return decoded;
  }

  #sameBytes(slot: number, source: Uint8Array, start: number, length: number): boolean {
    const bytes = this.#bytes;
    const base = slot * MAX_CACHED_BYTES;
    for (let i = 0; i < length; i++) if (bytes[base + i] !== source[start + i]) return false;
    return true;
  }
}
