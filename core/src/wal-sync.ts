/**
 * The WAL fsync of shard workers that share one SQLite file, taken out of the write lock.
 *
 * With `synchronous = FULL`, SQLite fsyncs the WAL inside COMMIT, while the committing worker
 * holds the file's write lock (decision 0002): a batch that spans two workers waited for two
 * commits and two fsyncs, one after the other. Here the workers commit with `synchronous =
 * NORMAL` (SQLite writes the WAL and does not fsync it) and fsync it themselves after releasing
 * the lock, so one worker's fsync overlaps the other's commit.
 *
 * Durability is FULL's: a commit returns only after an fdatasync of the WAL that began after
 * the commit wrote it (and an fsync covers every frame written before it, by any connection).
 *
 * Visibility is the catch: a commit is visible to other connections as soon as its COMMIT
 * returns, before the fsync. A reader in another thread (the uWS thread's reads) that saw such
 * a commit and answered at once could show events that a power cut then takes back. So each
 * commit takes a ticket before it begins, under the write lock, and readers compare the tickets
 * taken with the tickets known synced: if a read may have seen a commit not yet synced, the
 * reader fsyncs the WAL itself before answering (off its thread, in libuv's pool).
 *
 * Shared words (BigInt64, so they never wrap): tickets taken; the last ticket whose commit has
 * written (or rolled back) its frames; the last ticket known fsynced. Tickets are taken and
 * written under the write lock, so "written" only rises.
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const TAKEN = 0;
const WRITTEN = 1;
const SYNCED = 2;

const fdatasyncAsync = promisify(fdatasync);

/** Test-only fault injection: the next writer fsync in this thread fails as a disk error would. */
export const walSyncFaults = { failNextWriterSync: false };

export class WalSync {
  readonly #words: BigInt64Array;
  readonly #walPath: string;
  #fd: number | null = null;
  /** The reads' next fsync, not begun yet: every read that ends before it begins shares it. */
  #readerSync: Promise<void> | null = null;
  /** Fsyncs this journal's reads ran before answering (for tests and diagnosis). */
  readerSyncs = 0;

  static create(): BigInt64Array {
    return new BigInt64Array(new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT));
  }

  constructor(words: BigInt64Array, walPath: string) {
    this.#words = words;
    this.#walPath = walPath;
  }

  /** A writer, holding the write lock, before it begins its transaction. */
  takeTicket(): bigint {
    return Atomics.add(this.#words, TAKEN, 1n) + 1n;
  }

  /** A writer, still holding the write lock, once its transaction committed or rolled back. */
  written(ticket: bigint): void {
    Atomics.store(this.#words, WRITTEN, ticket);
  }

  /**
   * A writer, after releasing the write lock: returns once the WAL is fsynced at least up to
   * `ticket`, by this call or by a later commit's. Throws when the fsync fails.
   */
  syncThrough(ticket: bigint): void {
    if (Atomics.load(this.#words, SYNCED) >= ticket) return;
    const target = Atomics.load(this.#words, WRITTEN);
    if (walSyncFaults.failNextWriterSync) {
      walSyncFaults.failNextWriterSync = false;
      throw Object.assign(new Error('EIO: i/o error, fdatasync (injected)'), { code: 'EIO' });
    }
    fdatasyncSync(this.#walFd());
    this.#synced(target);
  }

  /**
   * A reader, after its read transaction ended: resolves once every commit the read may have
   * seen is fsynced. Any commit it saw had taken its ticket before becoming visible.
   */
  settleRead(): Promise<void> {
    const taken = Atomics.load(this.#words, TAKEN);
    if (Atomics.load(this.#words, SYNCED) >= taken) return Promise.resolve();
    // Begun on the next turn, so that the reads answered in this one share a single fsync.
    this.#readerSync ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.#readerSync = null;
        const target = Atomics.load(this.#words, WRITTEN);
        this.readerSyncs++;
        fdatasyncAsync(this.#walFd()).then(() => {
          this.#synced(target);
          resolve();
        }, reject);
      });
    });
    return this.#readerSync;
  }

  /**
   * Fsyncs what an earlier process or a dead worker may have left written but not synced, so
   * that nothing unsynced is read or answered as a duplicate after a restart.
   */
  syncLeftovers(): void {
    if (existsSync(this.#walPath)) fdatasyncSync(this.#walFd());
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #walFd(): number {
    // SQLite keeps the WAL file (it only deletes it when the last connection closes, and this
    // journal's connection is open), so one descriptor serves for the journal's life.
    this.#fd ??= openSync(this.#walPath, 'r');
    return this.#fd;
  }

  #synced(ticket: bigint): void {
    for (;;) {
      const synced = Atomics.load(this.#words, SYNCED);
      if (synced >= ticket) return;
      if (Atomics.compareExchange(this.#words, SYNCED, synced, ticket) === synced) return;
    }
  }
}
