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

test('settleInnodb waits while InnoDB flushes what a run left, until a tenth of the log is left', async () => {
  const admin = await connectMysql(server);
  const database = await createFreshDatabase(server, 'shardline_settle');
  try {
    const logBytes = await redoLogBytes(admin);
    await admin.query(`USE \`${database.name}\``);
    // Half the redo log, then the drop a benchmark run ends with: InnoDB flushes at once.
    await fill(admin, logBytes / 2);
    assert.ok((await checkpointAge(admin)) > logBytes / 10, 'the writes left redo to flush');
    await database.drop();
    const settled = await settleInnodb(server, 90_000);
    assert.ok(settled.waitedMs < 90_000, `waited ${settled.waitedMs} ms`);
    assert.ok(
      settled.checkpointAgeBytes !== null && settled.checkpointAgeBytes <= logBytes / 10,
      `${settled.checkpointAgeBytes} bytes of redo left, at most ${logBytes / 10}`,
    );
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
