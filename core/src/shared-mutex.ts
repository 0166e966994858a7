/**
 * A mutex between threads on one Int32 of shared memory, for worker threads only (it blocks).
 * Used to serialise SQLite write transactions of several shard workers on one database file:
 * SQLite admits one writer at a time, and its own busy handler sleeps in coarse steps, where a
 * futex wakes the next writer the moment the lock is released.
 *
 * The word holds 0 when free, or the owner's id. If an owner dies holding it, the supervisor
 * calls `forceRelease(owner)`.
 */
export class SharedMutex {
  readonly #word: Int32Array;
  readonly #owner: number;

  /** `owner` must be a non-zero id unique to the thread (the worker index + 1). */
  constructor(word: Int32Array, owner: number) {
    if (owner === 0) throw new RangeError('SharedMutex owner must not be 0');
    this.#word = word;
    this.#owner = owner;
  }

  static create(): Int32Array {
    return new Int32Array(new SharedArrayBuffer(4));
  }

  lock(): void {
    for (;;) {
      const holder = Atomics.compareExchange(this.#word, 0, 0, this.#owner);
      if (holder === 0) return;
      Atomics.wait(this.#word, 0, holder, 100);
    }
  }

  unlock(): void {
    Atomics.compareExchange(this.#word, 0, this.#owner, 0);
    Atomics.notify(this.#word, 0, 1);
  }

  /** Frees the lock if `owner` (a dead thread) still holds it. */
  static forceRelease(word: Int32Array, owner: number): void {
    if (Atomics.compareExchange(word, 0, owner, 0) === owner) Atomics.notify(word, 0, 1);
  }
}
