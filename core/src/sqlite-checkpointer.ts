/**
 * A thread that checkpoints the SQLite WAL in the background, so that group commits only append
 * to the WAL and never pay for copying it back into the database file (which stalled commits
 * for 10-20 ms every 40 MB of WAL).
 *
 * PASSIVE checkpoints never block writers or readers, but under steady writes they never let
 * the WAL start over either: SQLite restarts it only when a writer begins with every frame
 * copied back and no reader in it, and with two workers a commit lands during nearly every
 * pass. At 10,000 events/s the WAL grew by about 45 MB/s to the writers' fallback threshold
 * (1 GiB), where a writer checkpoints inside its own commit; a big WAL also costs disk, and
 * recovery after a crash reads all of it. So once the WAL is past `restartFrames`, a RESTART
 * checkpoint follows the PASSIVE one: it holds writers off only while it copies what was
 * committed since that pass began and readers leave the WAL: 2-6 ms measured at 10,000
 * events/s, up to 40 ms flat out with two workers. Waiting for the write lock blocks no one;
 * after its 100 ms busy timeout it gives up until the next tick, so under the heaviest load
 * the WAL may grow past the threshold for a while. The next commit after a RESTART starts the
 * WAL over, writing over the file from its start (the journal's owner wrote the file out to
 * that size before any commit, so that commits rarely grow it). Writers must begin their
 * transactions IMMEDIATE to wait for it (see `SqliteJournal.commit`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, restartFrames } = workerData as {
  path: string;
  intervalMs: number;
  /** 16,384 pages of 4 KiB: 64 MiB of WAL. */
  restartFrames: number;
};
const db = new Database(path);
db.pragma('busy_timeout = 100');

const timer = setInterval(() => {
  try {
    const [pass] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    if (pass !== undefined && pass.log >= restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // Busy or closing: the next tick tries again, and writers keep a fallback threshold.
  }
}, intervalMs);

parentPort!.on('message', (message: string) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
