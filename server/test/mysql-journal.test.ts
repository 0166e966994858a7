/**
 * The MySQL/MariaDB journal against the real server: the shared contract suite with both insert
 * strategies, then what only this back end has (migrations, packet-size splitting, the circuit
 * breaker, read-only connections, credentials, TLS).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import mariadb from 'mariadb';
import { pino } from 'pino';
import { journalContract, type JournalStore } from '../../core/test/journal-contract.js';
import { prng } from '../../core/test/prng.js';
import { JournalConflictError, type JournalEvent } from '../../core/index.js';
import { parseMysqlUrl } from '../src/journal/journal-url.js';
import {
  chooseInsertStrategy,
  InsertStrategy,
  laneJournals,
  MysqlJournal,
  mysqlJournalOptions,
  type MysqlJournalOptions,
} from '../src/journal/mysql-journal.js';
import { MYSQL_MIGRATIONS, MYSQL_SCHEMA_VERSION } from '../src/journal/mysql-migrations.js';
import { createLogger, type Logger } from '../src/logger.js';
import { createTestDatabase, TcpProxy, type TestDatabase } from './mysql-support.js';

const databases: TestDatabase[] = [];
const journals: MysqlJournal[] = [];
after(async () => {
  for (const journal of journals) await journal.close();
  for (const db of databases) await db.drop();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

const silent = createLogger('silent');

function journalFor(
  url: string,
  overrides: Partial<MysqlJournalOptions> = {},
  log = silent,
): MysqlJournal {
  const journal = new MysqlJournal(
    mysqlJournalOptions(parseMysqlUrl(url), { logLevel: 'silent', ...overrides }),
    log,
  );
  journals.push(journal);
  return journal;
}

let maxAllowedPacket = 0;
before(async () => {
  const db = await database();
  const [row] = await db.query<{ packet: number }[]>('SELECT @@max_allowed_packet AS packet');
  maxAllowedPacket = Number(row!.packet);
});

for (const insertStrategy of [InsertStrategy.batch, InsertStrategy.multiRow]) {
  journalContract({
    name: `mysql (${insertStrategy})`,
    get oversizePayloadBytes() {
      return maxAllowedPacket;
    },
    async newStore(): Promise<JournalStore> {
      const db = await database();
      return {
        journal: () => journalFor(db.url, { insertStrategy }),
        setMeta: async (name, value) => {
          await db.query(
            'INSERT INTO meta (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)',
            [name, value],
          );
        },
        countEvents: async () => {
          const [row] = await db.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM events');
          return Number(row!.n);
        },
      };
    },
  });
}

function row(stream: string, seq: number, shard: number, offset: number, payloadBytes = 16) {
  return {
    shard,
    offset,
    stream,
    seq,
    id: randomBytes(16),
    type: 'T',
    timestamp: Date.now(),
    correlationId: null,
    contentType: 0,
    payload: randomBytes(payloadBytes),
  } satisfies JournalEvent;
}

/** Lines written by a pino logger, for checking what the journal logs. */
function capturingLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'trace' }, sink) as unknown as Logger, text: () => chunks.join('') };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  // A deadline so that a broken build fails instead of hanging; not a timing assertion.
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('mysql journal', () => {
  test('open picks batch() on MariaDB and reads max_allowed_packet', async () => {
    const db = await database();
    const journal = journalFor(db.url);
    await journal.open(16);
    const server = journal.server!;
    assert.equal(server.maxAllowedPacketBytes, maxAllowedPacket);
    if (server.mariadb) assert.equal(server.insertStrategy, InsertStrategy.batch);
    else assert.equal(server.insertStrategy, InsertStrategy.multiRow);
  });

  for (const insertStrategy of [InsertStrategy.batch, InsertStrategy.multiRow]) {
    test(`a group larger than max_allowed_packet commits atomically (${insertStrategy})`, async () => {
      const db = await database();
      const journal = journalFor(db.url, { insertStrategy });
      await journal.open(16);
      const payloadBytes = 1024 * 1024;
      const count = Math.ceil((2.5 * maxAllowedPacket) / payloadBytes);
      const events = Array.from({ length: count }, (_, i) =>
        row('large', i + 1, 1, i + 1, payloadBytes),
      );
      // The last row clashes with the first: the statements already sent must roll back too.
      const clash = { ...row('large', 1, 2, 1), id: events[0]!.id };
      await assert.rejects(journal.commit({ events: [...events, clash], snapshots: [] }), {
        code: 'ERR_JOURNAL_CONFLICT',
        rows: [count],
      });
      const [empty] = await db.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM events');
      assert.equal(Number(empty!.n), 0);
      await journal.commit({ events, snapshots: [] });
      const stored = await journal.readStream('large', 1, count);
      assert.equal(stored.length, count);
      assert.deepEqual(stored[count - 1]!.payload, events[count - 1]!.payload);
    });
  }

  test('the bulk command only where the server and the driver allow it; multi-row otherwise', () => {
    const moved = "the mariadb driver's bulk command is not where this build expects it";
    assert.equal(chooseInsertStrategy('auto', true, null), InsertStrategy.batch);
    assert.equal(chooseInsertStrategy('auto', true, moved), InsertStrategy.multiRow);
    assert.equal(chooseInsertStrategy('auto', false, null), InsertStrategy.multiRow);
    assert.equal(
      chooseInsertStrategy(InsertStrategy.multiRow, true, null),
      InsertStrategy.multiRow,
    );
    for (const [bulkServer, problem] of [
      [true, moved],
      [false, null],
    ] as const) {
      assert.throws(
        () => chooseInsertStrategy(InsertStrategy.batch, bulkServer, problem),
        (error: Error & { code?: string }) =>
          error.code === 'ERR_CONFIG' && error.message.includes(problem ?? 'not MariaDB 10.2.7'),
      );
    }
  });

  // The batch strategy sends rows the journal encodes itself (mysql-bulk-rows.ts): each length
  // prefix size (1, 3 and 4 bytes), UTF-8 longer than its string, and integers past 32 bits and
  // below zero. The multi-row strategy, through the driver's own encoding, is the reference.
  for (const insertStrategy of [InsertStrategy.batch, InsertStrategy.multiRow]) {
    test(`values read back as written at every length prefix and integer size (${insertStrategy})`, async () => {
      const db = await database();
      const journal = journalFor(db.url, { insertStrategy });
      await journal.open(16);
      const event = (
        n: number,
        fields: Partial<JournalEvent> & Pick<JournalEvent, 'seq' | 'offset'>,
      ): JournalEvent => ({
        shard: n % 16,
        stream: `edge-${n}`,
        id: randomBytes(16),
        type: 'T',
        timestamp: 0,
        correlationId: null,
        contentType: 0,
        payload: randomBytes(8),
        ...fields,
      });
      const events = [
        event(0, { seq: 1, offset: 2 ** 31 - 1, timestamp: -1, payload: Buffer.alloc(0) }),
        event(1, { seq: 2 ** 31, offset: 2 ** 31, timestamp: -(2 ** 32) - 5, correlationId: '' }),
        event(2, {
          seq: 2 ** 32,
          offset: 2 ** 32,
          timestamp: 2 ** 53 - 1,
          stream: 'é'.repeat(100), // 200 bytes, the column's size, from 100 characters
          type: 'x'.repeat(250),
          payload: randomBytes(250),
          contentType: 65_535,
        }),
        event(3, {
          seq: 2 ** 53 - 1,
          offset: 2 ** 53 - 1,
          type: 'x'.repeat(251),
          correlationId: 'c'.repeat(255),
          payload: randomBytes(251),
        }),
        event(4, { seq: 7, offset: 1, type: 'ü'.repeat(400), payload: randomBytes(65_535) }),
        event(5, { seq: 8, offset: 2, timestamp: Date.now(), payload: randomBytes(65_536) }),
        event(6, {
          seq: 9,
          offset: 3,
          correlationId: 'ø'.repeat(100),
          payload: randomBytes(70_000),
        }),
      ];
      await journal.commit({ events, snapshots: [] });
      for (const written of events) {
        const [read, ...more] = await journal.readStream(written.stream, written.seq, 10);
        assert.equal(more.length, 0);
        assert.deepEqual(
          { ...read!, id: Buffer.from(read!.id), payload: Buffer.from(read!.payload) },
          { ...written, id: Buffer.from(written.id), payload: Buffer.from(written.payload) },
        );
      }
    });
  }

  test('a number that is not a safe integer fails its event alone, not rounded', async () => {
    const db = await database();
    const journal = journalFor(db.url);
    await journal.open(16);
    const good = row('safe', 1, 1, 1);
    const rounded = { ...row('unsafe', 1, 2, 1), timestamp: 1.5 };
    await assert.rejects(journal.commit({ events: [good, rounded], snapshots: [] }), (error) => {
      assert.ok(error instanceof JournalConflictError);
      assert.deepEqual(error.rows, [1]);
      return true;
    });
    assert.equal((await journal.readStream('unsafe', 1, 10)).length, 0);
  });

  test('with migrate off, an empty database refuses to open until `migrate` ran', async () => {
    const db = await database();
    const journal = journalFor(db.url, { migrate: false });
    await assert.rejects(journal.open(16), {
      code: 'ERR_JOURNAL_SCHEMA',
      message: /version 0.*shardline migrate/,
    });
    const cli = spawnSync(
      process.execPath,
      [
        new URL('../main.js', import.meta.url).pathname,
        'migrate',
        '--journal',
        db.url,
        '--log-level',
        'warn',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr + cli.stdout);
    await journalFor(db.url, { migrate: false }).open(16);
  });

  test('a journal of schema version 1 is migrated in place and keeps its events and keys', async () => {
    const db = await database();
    // Release 1's schema: migration 1 itself (migrations are append-only), and its meta rows.
    for (const statement of MYSQL_MIGRATIONS[0]!) await db.query(statement);
    await db.query(
      'CREATE TABLE meta (name VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY, ' +
        'value VARCHAR(255) CHARACTER SET ascii NOT NULL) ENGINE = InnoDB',
    );
    await db.query("INSERT INTO meta VALUES ('schema_version', '1'), ('shards', '16')");
    const id = randomBytes(16);
    await db.query(
      "INSERT INTO events VALUES (3, 7, 'old-1', 1, ?, 'Created', 1700000000000, NULL, 0, 'x')",
      [id],
    );
    const journal = journalFor(db.url);
    await journal.open(16);
    const [version] = await db.query<{ value: string }[]>(
      "SELECT value FROM meta WHERE name = 'schema_version'",
    );
    assert.equal(version!.value, String(MYSQL_SCHEMA_VERSION));
    const [stored] = await journal.readStream('old-1', 0, 10);
    assert.deepEqual([stored!.shard, stored!.offset, stored!.seq], [3, 7, 1]);
    assert.deepEqual(await journal.findEvents([{ stream: 'old-1', id }]), [
      { seq: 1, shard: 3, offset: 7 },
    ]);
    assert.deepEqual([...(await journal.shardOffsets())], [[3, 7]]);
    // The rebuilt keys still refuse a second copy of the id, and of the position.
    await assert.rejects(
      journal.commit({ events: [{ ...stored!, seq: 2, offset: 8 }], snapshots: [] }),
      JournalConflictError,
    );
    await assert.rejects(
      journal.commit({
        events: [{ ...stored!, stream: 'old-2', id: randomBytes(16) }],
        snapshots: [],
      }),
      JournalConflictError,
    );
  });

  test('concurrent openers migrate once and agree', async () => {
    const db = await database();
    await Promise.all(Array.from({ length: 4 }, () => journalFor(db.url).open(16)));
    const rows = await db.query<{ name: string; value: string }[]>(
      'SELECT name, value FROM meta ORDER BY name',
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.value]),
      [
        ['schema_version', String(MYSQL_SCHEMA_VERSION)],
        ['shards', '16'],
      ],
    );
  });

  test('credentials never appear in errors or logs', async () => {
    const db = await database();
    const secret = 'Sup3r-s3cret-p@ss';
    const url = `mysql://shardline_nobody:${encodeURIComponent(secret)}@127.0.0.1:3306/${db.name}`;
    assert.ok(!String(parseMysqlUrl(url)).includes(secret));
    assert.ok(!JSON.stringify({ location: parseMysqlUrl(url) }).includes('s3cret'));
    const { log, text } = capturingLogger();
    const journal = journalFor(url, {}, log);
    const error = await journal.open(16).then(
      () => assert.fail('open should fail'),
      (e: unknown) => e as Error,
    );
    assert.equal((error as { code?: string }).code, 'ERR_JOURNAL_UNAVAILABLE');
    assert.match(error.message, /Access denied/);
    log.error({ err: error }, 'logged like main.ts does');
    for (const output of [error.message, String(error.stack), text(), JSON.stringify(error)]) {
      assert.ok(!output.includes(secret) && !output.includes('s3cret'), output);
    }
  });

  test('the TLS option reaches the driver (this server has no TLS: open fails cleanly)', async (t) => {
    const db = await database();
    const [ssl] = await db.query<{ Value: string }[]>("SHOW VARIABLES LIKE 'have_ssl'");
    if (ssl?.Value === 'YES') {
      t.skip('this server has TLS; the refusal cannot be observed');
      return;
    }
    const journal = journalFor(db.url, { tls: { ca: null } });
    await assert.rejects(journal.open(16), { code: 'ERR_JOURNAL_UNAVAILABLE' });
  });

  test('the breaker opens when the server goes away, fails fast, and closes by itself', async () => {
    const db = await database();
    const proxy = await TcpProxy.start('127.0.0.1', db.location.port);
    try {
      const journal = journalFor(db.urlVia('127.0.0.1', proxy.port), {
        breaker: { failureThreshold: 2, backoffBaseMs: 50, backoffMaxMs: 200 },
      });
      await journal.open(16);
      await journal.commit({ events: [row('b', 1, 1, 1)], snapshots: [] });
      await proxy.cut();
      await assert.rejects(journal.commit({ events: [row('b', 2, 1, 2)], snapshots: [] }), {
        code: 'ERR_JOURNAL_UNAVAILABLE',
      });
      await assert.rejects(journal.readStream('b', 1, 10), { code: 'ERR_JOURNAL_UNAVAILABLE' });
      assert.equal(journal.isAvailable(), false, 'two failures in a row open the breaker');
      assert.equal(journal.stats.breakerOpened, 1);
      // Open: every method refuses without touching the network.
      for (const call of [
        () => journal.commit({ events: [row('b', 2, 1, 2)], snapshots: [] }),
        () => journal.readStream('b', 1, 10),
        () => journal.findEvents([{ stream: 'b', id: randomBytes(16) }]),
        () => journal.loadStreams(['b'], 4),
        () => journal.shardOffsets(),
      ]) {
        await assert.rejects(call(), {
          code: 'ERR_JOURNAL_UNAVAILABLE',
          message: /circuit breaker/,
        });
      }
      await proxy.restore();
      await eventually(() => journal.isAvailable(), 'the breaker to close');
      await journal.commit({ events: [row('b', 2, 1, 2)], snapshots: [] });
      assert.equal((await journal.readStream('b', 1, 10)).length, 2);
    } finally {
      await proxy.close();
    }
  });

  test('a read-only server (error 1290) gets its connection destroyed, not reused', async () => {
    const db = await database();
    // A user without READ_ONLY ADMIN/SUPER, as on RDS: read_only applies to it.
    const user = `shardline_ro_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(8).toString('hex');
    await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await db.query(`GRANT ALL PRIVILEGES ON ${db.name}.* TO '${user}'@'%'`);
    try {
      const journal = journalFor(`mysql://${user}:${password}@127.0.0.1:3306/${db.name}`, {
        breaker: { failureThreshold: 2, backoffBaseMs: 50, backoffMaxMs: 200 },
      });
      await journal.open(16);
      await journal.commit({ events: [row('ro', 1, 1, 1)], snapshots: [] });
      const writerThreads = async () =>
        (
          await db.query<{ id: number }[]>(
            'SELECT id FROM information_schema.processlist WHERE user = ?',
            [user],
          )
        ).map((r) => Number(r.id));
      const before = await writerThreads();
      const destroyedBefore = journal.stats.connectionsDestroyed;
      await db.query('SET GLOBAL read_only = 1');
      try {
        await assert.rejects(journal.commit({ events: [row('ro', 2, 1, 2)], snapshots: [] }), {
          code: 'ERR_JOURNAL_UNAVAILABLE',
          message: /read-only/,
        });
        assert.equal(journal.stats.connectionsDestroyed, destroyedBefore + 1);
        await eventually(
          async () => (await writerThreads()).every((id) => !before.includes(id)),
          'the read-only connection to be gone from the server',
        );
      } finally {
        await db.query('SET GLOBAL read_only = 0');
      }
      await eventually(() => journal.isAvailable(), 'the journal to be available');
      await journal.commit({ events: [row('ro', 2, 1, 2)], snapshots: [] });
      assert.equal((await journal.readStream('ro', 1, 10)).length, 2);
    } finally {
      await db.query('SET GLOBAL read_only = 0');
      await db.query(`DROP USER '${user}'@'%'`);
    }
  });

  // Pipelined: the group's COMMIT already follows its INSERT when InnoDB picks the group.
  for (const pipelined of [false, true]) {
    test(`a group that loses a deadlock is tried again and commits (${pipelined ? 'COMMIT sent behind the INSERT' : 'COMMIT after the INSERT answered'})`, async () => {
      const db = await database();
      const journal = journalFor(db.url);
      await journal.open(16);
      // A journal's first group prepares the bulk INSERT on its connection; the later ones go
      // pipelined.
      if (pipelined) await journal.commit({ events: [row('dl-warm', 1, 6, 1)], snapshots: [] });
      const pipelinedBefore = journal.stats.pipelinedGroups;
      // Only this test's database: innodb_trx is server-wide, and another test file's lock wait,
      // counted here, let the other client insert dl-a before the group did (a CI flake).
      const lockWaits = async () =>
        Number(
          (
            await db.query<{ n: number }[]>(
              `SELECT COUNT(*) AS n FROM information_schema.innodb_trx t
               JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
               WHERE t.trx_state = 'LOCK WAIT' AND p.db = ?`,
              [db.name],
            )
          )[0]!.n,
        );
      // Another client's transaction, heavier than the group, so that InnoDB rolls the group
      // back: it takes the (stream, seq) of the group's second row, the group waits for it, then
      // it asks for the group's first row's.
      const other = await mariadb.createConnection({
        host: db.location.host,
        port: db.location.port,
        user: db.location.user,
        database: db.name,
      });
      const insert = (stream: string, seq: number, shard: number, offset: number) =>
        other.query(
          'INSERT INTO events (shard, `offset`, stream, seq, event_id, type, ts, correlation_id, content_type, payload) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, ?)',
          [shard, offset, stream, seq, randomBytes(16), 'T', Date.now(), randomBytes(4)],
        );
      try {
        await other.beginTransaction();
        for (let i = 1; i <= 50; i++) await insert('dl-heavy', i, 3, i);
        await insert('dl-b', 1, 4, 1);
        const group = [row('dl-a', 1, 1, 1), row('dl-b', 1, 2, 1)];
        const committed = journal.commit({ events: group, snapshots: [] });
        // Polled slowly: polled every 20 ms, the group's insert never got going (MariaDB 10.11).
        for (let tries = 0; (await lockWaits()) !== 1; tries++) {
          if (tries === 150) throw new Error('the group never waited for dl-b');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        // The deadlock: InnoDB picks the group, and this insert goes through.
        await insert('dl-a', 1, 5, 1);
        // The group's second try now waits for this transaction, which gives way.
        await other.rollback();
        await committed;
        assert.equal(journal.stats.transientRetries, 1);
        assert.equal(journal.stats.pipelinedGroups - pipelinedBefore, pipelined ? 2 : 0);
        for (const [stream, event] of [
          ['dl-a', group[0]!],
          ['dl-b', group[1]!],
        ] as const) {
          const read = await journal.readStream(stream, 1, 10);
          assert.deepEqual(
            read.map((e) => Buffer.from(e.id).toString('hex')),
            [Buffer.from(event.id).toString('hex')],
          );
        }
      } finally {
        await other.end();
      }
    });
  }

  test('journals of two workers commit concurrently without interfering', async () => {
    const db = await database();
    const [a, b] = [journalFor(db.url), journalFor(db.url)];
    await Promise.all([a.open(16), b.open(16)]);
    const commits = [];
    for (let g = 0; g < 20; g++) {
      const base = g * 100;
      commits.push(
        a.commit({
          events: Array.from({ length: 100 }, (_, i) =>
            row(`wa-${i % 7}`, base + i + 1, 0, base + i + 1),
          ),
          snapshots: [],
        }),
      );
      commits.push(
        b.commit({
          events: Array.from({ length: 100 }, (_, i) =>
            row(`wb-${i % 7}`, base + i + 1, 1, base + i + 1),
          ),
          snapshots: [],
        }),
      );
      await Promise.all(commits.splice(0));
    }
    assert.deepEqual(
      [...(await a.shardOffsets())].sort((x, y) => x[0] - y[0]),
      [
        [0, 2000],
        [1, 2000],
      ],
    );
  });
});

describe('commit lanes sharing one writer connection', () => {
  test('groups of two lanes interleave on it: every answered group is whole, every failed one absent', async () => {
    const db = await database();
    const lanes = laneJournals(mysqlJournalOptions(parseMysqlUrl(db.url), { logLevel: 'silent' }), {
      log: silent,
    });
    const pair = [lanes(), lanes()] as const;
    journals.push(...pair);
    assert.equal(pair[0].writer, pair[1].writer);
    // Watches the COMMITs on the shared connection: never two unanswered at once.
    let commitsInFlight = 0;
    let mostCommitsInFlight = 0;
    const { writer } = pair[0];
    const commitSent = writer.commitSent.bind(writer);
    writer.commitSent = (conn, committed) => {
      mostCommitsInFlight = Math.max(mostCommitsInFlight, ++commitsInFlight);
      const settle = () => {
        commitsInFlight--;
      };
      committed.then(settle, settle);
      commitSent(conn, committed);
    };
    for (const journal of pair) await journal.open(16);
    const random = prng(20261205);
    // As commit lanes do, each lane owns its own shard and streams.
    const next = pair.map(() => ({ offset: 1, seqs: new Map<string, number>() }));
    const answered: JournalEvent[] = [];
    const failed: JournalEvent[] = [];
    let conflicts = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        pair.map(async (journal, lane) => {
          const { seqs } = next[lane]!;
          let offset = next[lane]!.offset;
          const seqsAfter = new Map(seqs);
          const group: JournalEvent[] = [];
          const size = 50 + Math.floor(random() * 250);
          for (let i = 0; i < size; i++) {
            const stream = `lane${lane}-s${Math.floor(random() * 5)}`;
            const seq = (seqsAfter.get(stream) ?? 0) + 1;
            seqsAfter.set(stream, seq);
            group.push(row(stream, seq, lane, offset++));
          }
          // A row that takes a committed (stream, seq): that row alone must fail.
          const bad = round > 0 && random() < 0.3 ? Math.floor(random() * size) : -1;
          if (bad >= 0) {
            const taken = `lane${lane}-s0`;
            group[bad] = row(taken, 1, lane, group[bad]!.offset);
          }
          // Snapshots make a group two statements: its COMMIT then waits for its INSERT.
          const snapshots =
            random() < 0.3 ? [{ stream: `lane${lane}-s1`, seq: 1, state: '{"n":1}' }] : [];
          try {
            await journal.commit({ events: group, snapshots });
            assert.equal(bad, -1, 'a group with a taken (stream, seq) was answered');
            answered.push(...group);
            next[lane] = { offset, seqs: seqsAfter };
          } catch (error) {
            assert.ok(error instanceof JournalConflictError, String(error));
            assert.deepEqual(error.rows, [bad]);
            conflicts++;
            failed.push(...group);
          }
        }),
      );
    }
    // The two lanes wrote through one connection.
    const [writers] = await db.query<{ n: number }[]>(
      'SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
      [db.name],
    );
    assert.equal(Number(writers!.n), 1);
    const stored = await db.query<{ id: string }[]>('SELECT HEX(event_id) AS id FROM events');
    const ids = new Set(stored.map((r) => r.id.toLowerCase()));
    const hex = (e: JournalEvent) => Buffer.from(e.id).toString('hex');
    assert.equal(stored.length, answered.length, 'rows beyond the answered groups');
    for (const e of answered) assert.ok(ids.has(hex(e)), 'an answered event is missing');
    for (const e of failed) assert.ok(!ids.has(hex(e)), 'an event of a failed group was stored');
    // Both paths ran: groups whose COMMIT followed the INSERT at once, failures among them.
    assert.ok(conflicts > 3, `only ${conflicts} groups failed`);
    assert.ok(pair[0].stats.pipelinedGroups + pair[1].stats.pipelinedGroups > 20);
    assert.equal(mostCommitsInFlight, 1);
  });
});

describe("the writer's busy time", () => {
  test('grows while statements are in flight, never beyond the wall time, and not while idle', async () => {
    const db = await database();
    const lanes = laneJournals(mysqlJournalOptions(parseMysqlUrl(db.url), { logLevel: 'silent' }), {
      log: silent,
    });
    const pair = [lanes(), lanes()] as const;
    journals.push(...pair);
    for (const journal of pair) await journal.open(16);
    const before = pair[0].writerBusyMs();
    const startedAt = performance.now();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        pair.map((journal, lane) => {
          const group: JournalEvent[] = [];
          for (let i = 0; i < 300; i++) {
            group.push(row(`busy${lane}-${i % 7}`, round * 300 + i + 1, lane, round * 300 + i + 1));
          }
          return journal.commit({ events: group, snapshots: [] });
        }),
      );
    }
    const wallMs = performance.now() - startedAt;
    const busyMs = pair[0].writerBusyMs() - before;
    // The lanes share one writer, so they report one time.
    assert.equal(pair[1].writerBusyMs(), pair[0].writerBusyMs());
    assert.ok(busyMs > 0, 'no busy time after 20 committed groups');
    assert.ok(busyMs <= wallMs, `busy ${busyMs} ms within ${wallMs} ms of wall time`);
    // Nothing in flight: an idle connection is not busy.
    const idleFrom = pair[0].writerBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(pair[0].writerBusyMs(), idleFrom);
  });
});
