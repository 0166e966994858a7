/**
 * The event ids one stream actor remembers: its last committed ids, for duplicate checks
 * without the journal, and the ids accepted for it in the group being decided, which are not
 * committed yet ("pending").
 *
 * Everything lives in typed arrays, not in a Map of id strings. The Map cost about 18 KB per
 * actor with 128 ids. It also cost a string, a position object and a Map entry per event, all of
 * which outlived several young-generation collections, so every scavenge copied them. Here an
 * actor with 128 ids holds about 5 KB, and an event allocates nothing.
 *
 * Entries form a FIFO, addressed by an entry number that only grows: the oldest committed
 * entries first, then the pending ones. The number of an entry stays valid when the arrays
 * grow. Lookups hash the id's 16 bytes into buckets, which are chained through the entries.
 *
 *   entry numbers:  oldest ........ committed ........ end
 *                   [ committed ids  )[ pending ids     )
 *   slot of entry n: n & (slots - 1)
 */
import { fnv1a32Bytes } from '../../protocol/index.js';
import type { EventPosition } from './journal.js';

const ID_BYTES = 16;
const NONE = -1;
/** Slots of a new actor: most streams stay short, so their arrays start small and grow. */
const INITIAL_SLOTS = 8;
/**
 * Slots beyond the capacity, for the ids pending in a group: a steady stream then never
 * grows its arrays past capacity + this.
 */
const PENDING_ROOM = 8;
/** Arrays this many times the steady size shrink back to it once nothing is pending. */
const SHRINK_FACTOR = 4;

/** The hash of the id at `base`: every byte counts, since a UUIDv7's first 6 bytes are a clock. */
function hashId(bytes: Uint8Array, base: number): number {
  return fnv1a32Bytes(bytes, base, base + ID_BYTES);
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class RecentIds {
  /** Committed ids kept; older ones are forgotten. */
  readonly capacity: number;
  /**
   * Entries the arrays hold. They grow as a stream does, to capacity + PENDING_ROOM at steady
   * size, and further for a group with more pending ids than that.
   */
  #slots = 0;
  #bucketMask = 0;
  #ids = new Uint8Array(0);
  #seqs = new Float64Array(0);
  #shards = new Int32Array(0);
  #offsets = new Float64Array(0);
  /** Per slot: the slot of the next entry in the same bucket, or NONE. */
  #chain = new Int32Array(0);
  /** Per bucket (a power of two, at least the slots): the slot of its newest entry, or NONE. */
  #buckets = new Int32Array(0);
  #oldest = 0;
  #committed = 0;
  #end = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#resize(INITIAL_SLOTS);
  }

  /** Ids accepted in the group being decided, not committed yet. */
  get pending(): number {
    return this.#end - this.#committed;
  }

  /** The entry holding `id` (committed or pending), or -1. */
  find(id: Uint8Array): number {
    let slot = this.#buckets[hashId(id, 0) & this.#bucketMask]!;
    while (slot !== NONE) {
      if (this.#idAt(slot, id)) {
        // Slots are reused: the entry in this slot now is the one of the last `#slots` entries
        // whose number leaves this remainder.
        return this.#end - 1 - ((this.#end - 1 - slot) % this.#slots);
      }
      slot = this.#chain[slot]!;
    }
    return NONE;
  }

  /** The entry's position; `offset` is 0 while a pending entry has none assigned yet. */
  positionOf(entry: number): EventPosition {
    const slot = entry % this.#slots;
    return { seq: this.#seqs[slot]!, shard: this.#shards[slot]!, offset: this.#offsets[slot]! };
  }

  offsetOf(entry: number): number {
    return this.#offsets[entry % this.#slots]!;
  }

  /** Adds a pending id at `seq`, its position not assigned yet; returns its entry number. */
  addPending(id: Uint8Array, seq: number): number {
    if (id.length !== ID_BYTES)
      throw new Error(`an event id is ${ID_BYTES} bytes, not ${id.length}`);
    if (this.#end - this.#oldest === this.#slots) {
      const steady = this.capacity + PENDING_ROOM;
      this.#resize(this.#slots < steady ? Math.min(this.#slots * 2, steady) : this.#slots * 2);
    }
    const entry = this.#end++;
    const slot = entry % this.#slots;
    this.#ids.set(id, slot * ID_BYTES);
    this.#seqs[slot] = seq;
    this.#shards[slot] = 0;
    this.#offsets[slot] = 0;
    const bucket = hashId(id, 0) & this.#bucketMask;
    this.#chain[slot] = this.#buckets[bucket]!;
    this.#buckets[bucket] = slot;
    return entry;
  }

  setPosition(entry: number, shard: number, offset: number): void {
    const slot = entry % this.#slots;
    this.#shards[slot] = shard;
    this.#offsets[slot] = offset;
  }

  /** The oldest pending id was committed; the oldest committed ones beyond capacity go. */
  commitOldestPending(): void {
    if (this.#committed === this.#end) throw new Error('no pending id to commit');
    this.#committed++;
    while (this.#committed - this.#oldest > this.capacity) this.#forgetOldest();
    // A group of thousands of one stream's events grew the arrays; give the memory back. Not
    // below four times the steady size, so that a stream whose every group holds a few hundred
    // of its events does not shrink and grow again on every group.
    const steady = this.capacity + PENDING_ROOM;
    if (this.#end === this.#committed && this.#slots > SHRINK_FACTOR * steady) {
      this.#resize(steady);
    }
  }

  /** Forgets the newest pending ids until `keep` remain pending. */
  dropPending(keep = 0): void {
    while (this.#end - this.#committed > keep) {
      const slot = --this.#end % this.#slots;
      // The newest entry is the head of its bucket's chain.
      this.#buckets[this.#bucketOf(slot)] = this.#chain[slot]!;
    }
  }

  /** Remembers a committed id (recovery from the journal). */
  remember(id: Uint8Array, position: EventPosition): void {
    this.dropPending();
    this.setPosition(this.addPending(id, position.seq), position.shard, position.offset);
    this.commitOldestPending();
  }

  #forgetOldest(): void {
    const slot = this.#oldest++ % this.#slots;
    // The oldest entry is the tail of its bucket's chain.
    const bucket = this.#bucketOf(slot);
    let previous = NONE;
    let current = this.#buckets[bucket]!;
    while (current !== slot) {
      previous = current;
      current = this.#chain[current]!;
    }
    if (previous === NONE) this.#buckets[bucket] = NONE;
    else this.#chain[previous] = NONE;
  }

  #bucketOf(slot: number): number {
    return hashId(this.#ids, slot * ID_BYTES) & this.#bucketMask;
  }

  #idAt(slot: number, id: Uint8Array): boolean {
    const ids = this.#ids;
    const base = slot * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (ids[base + i] !== id[i]) return false;
    return true;
  }

  /** Moves every entry into arrays of `slots` slots, keeping their entry numbers. */
  #resize(slots: number): void {
    const old = {
      slots: this.#slots,
      ids: this.#ids,
      seqs: this.#seqs,
      shards: this.#shards,
      offsets: this.#offsets,
    };
    this.#slots = slots;
    this.#bucketMask = powerOfTwoAtLeast(slots) - 1;
    this.#ids = new Uint8Array(slots * ID_BYTES);
    this.#seqs = new Float64Array(slots);
    this.#shards = new Int32Array(slots);
    this.#offsets = new Float64Array(slots);
    this.#chain = new Int32Array(slots);
    this.#buckets = new Int32Array(this.#bucketMask + 1).fill(NONE);
    for (let entry = this.#oldest; entry < this.#end; entry++) {
      const from = entry % old.slots;
      const to = entry % slots;
      for (let b = 0; b < ID_BYTES; b++)
        this.#ids[to * ID_BYTES + b] = old.ids[from * ID_BYTES + b]!;
      this.#seqs[to] = old.seqs[from]!;
      this.#shards[to] = old.shards[from]!;
      this.#offsets[to] = old.offsets[from]!;
      // Oldest first, so each chain ends up newest first, as addPending leaves it.
      const bucket = this.#bucketOf(to);
      this.#chain[to] = this.#buckets[bucket]!;
      this.#buckets[bucket] = to;
    }
  }
}
