/**
 * `settleInnodb` against the MariaDB at 127.0.0.1:3306: a benchmark run that starts after it
 * must not share the machine with InnoDB flushing the writes of the run before it, and a run
 * must not wait for a backlog that InnoDB leaves alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from 'mariadb';
import {
  connectMysql,
  createFreshDatabase,
  DEFAULT_MYSQL_URL,
  parseMysqlServer,
  settleInnodb,
} from '../lib/mariadb.js';

const server = parseMysqlServer(DEFAULT_MYSQL_URL);
const ROW_BYTES = 16 * 1024;

async function redoLogBytes(conn: Connection): Promise<number> {
  const [log] = await conn.query<{ size: bigint | number }[]>(
    'SELECT @@innodb_log_file_size AS size',
  );
  return Number(log!.size);
}

async function checkpointAge(conn: Connection): Promise<number> {
  const [age] = await conn.query<{ Value: string }[]>(
    "SHOW GLOBAL STATUS LIKE 'Innodb_checkpoint_age'",
  );
  assert.ok(age !== undefined, 'this MariaDB reports Innodb_checkpoint_age');
  return Number(age.Value);
}

/** Writes about `bytes` of rows into a new table of the connection's database. */
async function fill(conn: Connection, bytes: number): Promise<void> {
  await conn.query('CREATE TABLE filler (id INT PRIMARY KEY, body MEDIUMBLOB NOT NULL)');
  const body = Buffer.alloc(ROW_BYTES, 0x5a);
  const rows = Math.ceil(bytes / ROW_BYTES);
  for (let i = 0; i < rows; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(rows, i + 100); j++) batch.push([j, body]);
    await conn.batch('INSERT INTO filler VALUES (?, ?)', batch);
  }
}

/** The checkpoint age and the dirty pages, read together. */
async function innodbBacklog(conn: Connection): Promise<{ age: number; dirty: number }> {
  const rows = await conn.query<{ Variable_name: string; Value: string }[]>(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', 'Innodb_buffer_pool_pages_dirty')",
  );
  const value = (name: string): number => Number(rows.find((r) => r.Variable_name === name)!.Value);
  return { age: value('Innodb_checkpoint_age'), dirty: value('Innodb_buffer_pool_pages_dirty') };
}

test('after a run that made InnoDB flush, settleInnodb returns once the flushing is over', async () => {
  const admin = await connectMysql(server);
  const database = await createFreshDatabase(server, 'shardline_settle');
  try {
    const logBytes = await redoLogBytes(admin);
    await admin.query(`USE \`${database.name}\``);
    // More than the whole redo log, then the drop a benchmark run ends with: InnoDB has to
    // flush during the writes and goes on after them. Where it stops depends on the server:
    // at nothing (the dropped pages discarded), or at a backlog it leaves alone while idle
    // (half the log, seen here).
    await fill(admin, logBytes * 1.2);
    assert.ok((await checkpointAge(admin)) > logBytes / 10, 'the writes left redo to flush');
    await database.drop();
    const settled = await settleInnodb(server, 90_000);
    assert.ok(settled.waitedMs < 90_000, `waited ${settled.waitedMs} ms`);
    assert.ok(settled.checkpointAgeBytes !== null);
    if (settled.checkpointAgeBytes > logBytes / 10) {
      // Not settled by size: then InnoDB must have stopped flushing, so that a run starting
      // now shares the machine with none of it.
      const before = await innodbBacklog(admin);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const after = await innodbBacklog(admin);
      assert.ok(
        after.age >= before.age && after.dirty >= before.dirty,
        `InnoDB was still flushing: ${JSON.stringify(before)} then ${JSON.stringify(after)}`,
      );
    }
  } finally {
    await database.drop();
    await admin.end();
  }
});

test('settleInnodb stops waiting once InnoDB flushes nothing more', async () => {
  const admin = await connectMysql(server);
  const database = await createFreshDatabase(server, 'shardline_settle');
  try {
    await admin.query(`USE \`${database.name}\``);
    // A quarter of the log, kept: InnoDB leaves such a backlog while the server idles (or
    // flushes it; either way the wait must end well before its limit).
    await fill(admin, (await redoLogBytes(admin)) / 4);
    const settled = await settleInnodb(server, 60_000);
    assert.ok(settled.waitedMs < 20_000, `waited ${settled.waitedMs} ms of at most 60,000`);
  } finally {
    await database.drop();
    await admin.end();
  }
});

test('settleInnodb with no time to wait answers at once', async () => {
  const settled = await settleInnodb(server, 0);
  assert.ok(settled.waitedMs < 1000);
  assert.equal(typeof settled.checkpointAgeBytes, 'number');
});
