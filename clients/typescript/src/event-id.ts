/**
 * Event ids: UUIDv7 generation (RFC 9562), and conversion between UUID text and the 16 bytes
 * the protocol carries.
 *
 * Why UUIDv7 and not v4: the journal indexes `(stream, event_id)` to answer `duplicate`. v7 ids
 * begin with a millisecond timestamp, so the ids of new events sort after the old ones and
 * land at the right edge of that B-tree: appends stay sequential page writes. Random v4 ids
 * scatter every insert over the whole index, which costs page splits and cache misses as the
 * journal grows. Ids stay unique without coordination: 74 random bits per id, plus the
 * monotonic counter below within one client.
 */

const RANDOM_POOL_BYTES = 4096;
const RANDOM_BYTES_PER_ID = 10;
/** rand_a is 12 bits; a new millisecond seeds it below half so that it can count up. */
const COUNTER_MAX = 0xfff;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Generates UUIDv7 ids with `crypto.getRandomValues` (Node 20 and every browser). Within one
 * generator the ids are strictly increasing, even when the clock stalls or steps back: RFC
 * 9562 section 6.2, method 1 (a 12-bit counter in `rand_a`, seeded at random each
 * millisecond; when it overflows, the timestamp is advanced by one). The client uses one for
 * ids it generates; use your own to know an event's id before appending it.
 *
 * @example
 * ```ts
 * const ids = new UuidV7Generator();
 * const id = formatUuid(ids.next()); // '0190a8f2-6c1e-7d4a-…'
 * outbox.save({ id, order: 7 });      // keep it, so that a retry after a crash reuses it
 * await client.append('order-7', 'Placed', { order: 7 }, { id });
 * ```
 */
export class UuidV7Generator {
  readonly #pool = new Uint8Array(RANDOM_POOL_BYTES);
  #poolUsed = RANDOM_POOL_BYTES;
  #lastMs = 0;
  #counter = 0;

  /** A new id as 16 bytes. The caller owns the returned array. */
  next(now = Date.now()): Uint8Array {
    if (this.#poolUsed + RANDOM_BYTES_PER_ID > RANDOM_POOL_BYTES) {
      globalThis.crypto.getRandomValues(this.#pool);
      this.#poolUsed = 0;
    }
    const pool = this.#pool;
    const r = this.#poolUsed;
    this.#poolUsed += RANDOM_BYTES_PER_ID;
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff;
    } else if (++this.#counter > COUNTER_MAX) {
      this.#lastMs++;
      this.#counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff;
    }
    const ms = this.#lastMs;
    const id = new Uint8Array(16);
    // 48-bit big-endian timestamp; `ms / 2^32` because bit operators truncate to 32 bits.
    const high = Math.floor(ms / 0x100000000);
    id[0] = (high >>> 8) & 0xff;
    id[1] = high & 0xff;
    id[2] = (ms >>> 24) & 0xff;
    id[3] = (ms >>> 16) & 0xff;
    id[4] = (ms >>> 8) & 0xff;
    id[5] = ms & 0xff;
    id[6] = 0x70 | (this.#counter >>> 8);
    id[7] = this.#counter & 0xff;
    id[8] = 0x80 | (pool[r + 2]! & 0x3f);
    for (let i = 9; i < 16; i++) id[i] = pool[r + i - 6]!;
    return id;
  }
}

/**
 * The 16 bytes of a UUID as lower-case text with hyphens (`8-4-4-4-12`).
 *
 * @example
 * ```ts
 * formatUuid(new Uint8Array(16)); // '00000000-0000-0000-0000-000000000000'
 * ```
 */
export function formatUuid(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text += '-';
    text += HEX[bytes[i]!]!;
  }
  return text;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/**
 * Parses UUID text, with or without hyphens (`0f8fad5b-d9cb-469f-a165-70867728950e` or
 * `0f8fad5bd9cb469fa16570867728950e`), into 16 bytes; `null` when it is not one.
 *
 * @example
 * ```ts
 * const bytes = parseUuid('0f8fad5b-d9cb-469f-a165-70867728950e'); // Uint8Array(16)
 * parseUuid('not-a-uuid'); // null
 * ```
 */
export function parseUuid(text: string): Uint8Array | null {
  const hyphens = text.length === 36;
  if (!hyphens && text.length !== 32) return null;
  if (hyphens && (text[8] !== '-' || text[13] !== '-' || text[18] !== '-' || text[23] !== '-')) {
    return null;
  }
  const bytes = new Uint8Array(16);
  let position = 0;
  for (let i = 0; i < 16; i++) {
    if (hyphens && (position === 8 || position === 13 || position === 18 || position === 23)) {
      position++;
    }
    const high = hexValue(text.charCodeAt(position));
    const low = hexValue(text.charCodeAt(position + 1));
    if (high < 0 || low < 0) return null;
    bytes[i] = (high << 4) | low;
    position += 2;
  }
  return bytes;
}
