/**
 * A lock-free single-producer single-consumer ring of variable-length records on a
 * SharedArrayBuffer: the only path for events from the uWS thread to a shard worker, and for
 * results back. One thread may write, one other thread may read; neither ever takes a lock.
 *
 * Why this shape: `postMessage` structured-clones every message and wakes the receiver through
 * the event loop (tens of microseconds per message); a ring costs one copy into shared memory
 * and one `Atomics.notify`. Control words sit on their own 64-byte cache lines so that the
 * producer's stores to `write` and the consumer's stores to `read` do not bounce one line
 * between cores (false sharing).
 *
 * Layout (one SharedArrayBuffer, little-endian):
 *
 *   byte 0        64           128              192              256               256 + capacity
 *   +-------------+------------+----------------+----------------+--------------------------+
 *   | write (i32) | read (i32) | consumer       | producer       | data: records, wrapping  |
 *   | + pad       | + pad      | waiting + pad  | waiting + pad  | (capacity: power of two) |
 *   +-------------+------------+----------------+----------------+--------------------------+
 *
 *   record at data[p]:  [u32 length n][n bytes][pad to a multiple of 4]
 *   wrap marker:        [u32 0xFFFFFFFF]  "the rest of the buffer is unused, go to 0"
 *
 * `write` and `read` are free-running unsigned 32-bit byte counters; a position in `data` is
 * `counter & (capacity - 1)`, and `(write - read) >>> 0` is the number of bytes in use. The
 * producer writes a record, then `Atomics.store`s `write` (release), then notifies; the consumer
 * `Atomics.load`s `write` (acquire), owns `[read, write)`, and publishes `read` when done. A
 * record never straddles the end of `data`: when it would, the producer writes a wrap marker and
 * starts it at 0.
 */

const CACHE_LINE_BYTES = 64;
const WRITE = 0;
const READ = CACHE_LINE_BYTES / 4;
const CONSUMER_WAITING = (2 * CACHE_LINE_BYTES) / 4;
const PRODUCER_WAITING = (3 * CACHE_LINE_BYTES) / 4;
export const RING_HEADER_BYTES = 4 * CACHE_LINE_BYTES;
const WRAP_MARKER = 0xffffffff;
const LENGTH_BYTES = 4;

function align4(bytes: number): number {
  return (bytes + 3) & ~3;
}

/** Allocates the shared memory of a ring with `capacity` data bytes (a power of two >= 1 KiB). */
export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (
    !Number.isInteger(capacity) ||
    capacity < 1024 ||
    capacity > 2 ** 30 ||
    (capacity & (capacity - 1)) !== 0
  ) {
    throw new RangeError(
      `ring capacity must be a power of two between 1 KiB and 1 GiB, got ${capacity}`,
    );
  }
  return new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
}

class RingView {
  readonly control: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly capacity: number;
  readonly mask: number;

  constructor(buffer: SharedArrayBuffer) {
    this.capacity = buffer.byteLength - RING_HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.control = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer, RING_HEADER_BYTES, this.capacity);
    this.view = new DataView(buffer, RING_HEADER_BYTES, this.capacity);
  }

  /** Bytes written and not yet released by the consumer. */
  used(): number {
    return (Atomics.load(this.control, WRITE) - Atomics.load(this.control, READ)) >>> 0;
  }
}

/** The writing end. Use it from one thread only. */
export class RingProducer extends RingView {
  #write: number;
  #pending = -1;
  #pendingLength = 0;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.#write = Atomics.load(this.control, WRITE) >>> 0;
  }

  /** The largest record this ring accepts. */
  get maxRecordBytes(): number {
    return (this.capacity >>> 1) - LENGTH_BYTES;
  }

  /**
   * Reserves room for a record of `length` bytes and returns its offset in `bytes`, or -1 when
   * the ring is full (the caller answers `overloaded`; nothing is queued). Fill
   * `bytes[offset, offset + length)` and call `publish()` before the next `reserve`.
   */
  reserve(length: number): number {
    if (length > this.maxRecordBytes) return -1;
    const size = LENGTH_BYTES + align4(length);
    const read = Atomics.load(this.control, READ) >>> 0;
    const free = this.capacity - ((this.#write - read) >>> 0);
    let position = this.#write & this.mask;
    const tail = this.capacity - position;
    let skip = 0;
    if (size > tail) skip = tail; // the record would straddle the end: wrap to 0
    if (skip + size > free) return -1;
    if (skip > 0) {
      this.view.setUint32(position, WRAP_MARKER, true);
      position = 0;
    }
    this.#pending = skip;
    this.#pendingLength = length;
    this.view.setUint32(position, length, true);
    return position + LENGTH_BYTES;
  }

  /**
   * Makes the reserved record visible to the consumer and, unless `wake` is false, wakes it.
   * A producer that fills several rings at once passes false and wakes each consumer afterwards
   * (`wakeConsumer`).
   */
  publish(wake = true): void {
    if (this.#pending < 0) throw new Error('publish() without reserve()');
    this.#write = (this.#write + this.#pending + LENGTH_BYTES + align4(this.#pendingLength)) >>> 0;
    this.#pending = -1;
    Atomics.store(this.control, WRITE, this.#write | 0);
    if (wake) this.wakeConsumer();
  }

  /** Wakes the consumer if it sleeps on this ring. */
  wakeConsumer(): void {
    if (Atomics.load(this.control, CONSUMER_WAITING) !== 0) Atomics.notify(this.control, WRITE);
  }

  /** Wakes a consumer sleeping on this ring even though nothing was written (for shutdown). */
  wake(): void {
    Atomics.notify(this.control, WRITE);
  }

  /**
   * Blocks until the consumer frees space (or `timeoutMs` elapses). For worker threads only:
   * the uWS thread never blocks, it answers `overloaded` instead.
   */
  waitForSpace(timeoutMs: number): void {
    const read = Atomics.load(this.control, READ);
    Atomics.store(this.control, PRODUCER_WAITING, 1);
    Atomics.wait(this.control, READ, read, timeoutMs);
    Atomics.store(this.control, PRODUCER_WAITING, 0);
  }

  /** Copies `record` into the ring and publishes it; false when the ring is full. */
  write(record: Uint8Array): boolean {
    const offset = this.reserve(record.length);
    if (offset < 0) return false;
    this.bytes.set(record, offset);
    this.publish();
    return true;
  }
}

/** The reading end. Use it from one thread only. */
export class RingConsumer extends RingView {
  #read: number;
  /** The offset in `bytes` and the length of the record returned by the last `next()`. */
  offset = 0;
  length = 0;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.#read = Atomics.load(this.control, READ) >>> 0;
  }

  /**
   * Moves to the next record: true and sets `offset`/`length`, or false when the ring is empty.
   * The record stays valid until `release()`.
   */
  next(): boolean {
    const write = Atomics.load(this.control, WRITE) >>> 0;
    if (this.#read === write) return false;
    let position = this.#read & this.mask;
    let length = this.view.getUint32(position, true);
    if (length === WRAP_MARKER) {
      this.#read = (this.#read + (this.capacity - position)) >>> 0;
      position = 0;
      length = this.view.getUint32(0, true);
    }
    this.offset = position + LENGTH_BYTES;
    this.length = length;
    return true;
  }

  /** Frees the record returned by the last `next()` for the producer. */
  release(): void {
    this.#read = (this.#read + LENGTH_BYTES + align4(this.length)) >>> 0;
    Atomics.store(this.control, READ, this.#read | 0);
    if (Atomics.load(this.control, PRODUCER_WAITING) !== 0) Atomics.notify(this.control, READ);
  }

  /** The write counter seen last; pass it to `wait` / `waitAsync`. */
  writeCounter(): number {
    return Atomics.load(this.control, WRITE);
  }

  /**
   * Blocks this thread until the producer publishes past `seen`, or `timeoutMs` elapses. For
   * worker threads only: the uWS thread must never block.
   */
  wait(seen: number, timeoutMs: number): void {
    Atomics.store(this.control, CONSUMER_WAITING, 1);
    if (Atomics.load(this.control, WRITE) === seen)
      Atomics.wait(this.control, WRITE, seen, timeoutMs);
    Atomics.store(this.control, CONSUMER_WAITING, 0);
  }

  /** Resolves once the producer publishes past `seen` (or after `timeoutMs`); never blocks. */
  async waitAsync(seen: number, timeoutMs: number): Promise<void> {
    Atomics.store(this.control, CONSUMER_WAITING, 1);
    const result = Atomics.waitAsync(this.control, WRITE, seen, timeoutMs);
    if (result.async) await result.value;
    Atomics.store(this.control, CONSUMER_WAITING, 0);
  }
}
