/**
 * The journal contract on the embedded SQLite back end, each store in its own temporary
 * directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_FILE_NAME, SqliteJournal } from '../index.js';
import { journalContract, type JournalStore } from './journal-contract.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function withDatabase<T>(dir: string, use: (db: Database.Database) => T): T {
  const db = new Database(join(dir, SQLITE_FILE_NAME));
  try {
    return use(db);
  } finally {
    db.close();
  }
}

journalContract({
  name: 'sqlite',
  oversizePayloadBytes: null,
  newStore(): Promise<JournalStore> {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-contract-'));
    dirs.push(dir);
    return Promise.resolve({
      journal: () => new SqliteJournal(dir, 8),
      setMeta: (name, value) => {
        withDatabase(dir, (db) =>
          db
            .prepare(
              'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
            )
            .run(name, value),
        );
        return Promise.resolve();
      },
      countEvents: () =>
        Promise.resolve(
          withDatabase(
            dir,
            (db) => (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
          ),
        ),
    });
  },
});
