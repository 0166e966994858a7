/** The WAL fsync protocol of shard workers sharing one SQLite file (core/src/wal-sync.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WalSync } from '../index.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function walFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-wal-sync-'));
  dirs.push(dir);
  const path = join(dir, 'file-wal');
  writeFileSync(path, 'frames');
  return path;
}

test('a reader fsyncs before answering exactly when a commit it may have seen is not synced yet', async () => {
  const words = WalSync.create();
  const path = walFile();
  const writer = new WalSync(words, path);
  const reader = new WalSync(words, path);
  try {
    await reader.settleRead();
    assert.equal(reader.readerSyncs, 0, 'nothing was committed');

    // A commit that wrote its frames, visible to readers, and not fsynced yet. The reads
    // answered in one turn share one fsync.
    const first = writer.takeTicket();
    writer.written(first);
    await Promise.all([reader.settleRead(), reader.settleRead(), reader.settleRead()]);
    assert.equal(reader.readerSyncs, 1);
    assert.equal(words[2], first, "the reader's fsync counts for the writer too");
    writer.syncThrough(first);
    await reader.settleRead();
    assert.equal(reader.readerSyncs, 1, 'everything seen is synced');

    // A ticket taken by a worker that died in its commit: readers fsync for themselves until a
    // later commit's fsync passes it.
    const lost = writer.takeTicket();
    await reader.settleRead();
    await reader.settleRead();
    assert.equal(reader.readerSyncs, 3);
    assert.equal(words[2], first, 'the lost ticket never counts as written');
    const next = writer.takeTicket();
    writer.written(next);
    writer.syncThrough(next);
    assert.ok(words[2] > lost);
    await reader.settleRead();
    assert.equal(reader.readerSyncs, 3);
  } finally {
    writer.close();
    reader.close();
  }
});
