/**
 * How to write a group of events into MySQL/MariaDB: multi-row INSERT through prepared
 * statements versus `batch()` (MariaDB's bulk protocol), measured with the raw driver and
 * through `MysqlJournal.commit`, plus the worst design (one autocommitted INSERT per event)
 * for contrast. The raw `batch()` figures with 1,000 rows per transaction are the ceiling the
 * journal is held to: one transaction after another (`raw-batch`), and pipelined as the journal's
 * commit lanes send them (`raw-batch-pipelined`: the next transaction's BEGIN and INSERT follow
 * the previous COMMIT on the wire, and a COMMIT waits for the previous one's answer), each on 1
 * and 2 connections; the best of them is the ceiling. `raw-batch-encoded` is `raw-batch` with
 * the rows encoded as the journal encodes them (docs/decisions/0011), not value by value by the
 * driver: the difference in this process's CPU per row is what that encoding saves. It is not
 * one of the ceilings, though one after another on a connection it can beat `raw-batch`, since
 * this process's encoding is then on the connection's path; the pipelined ceilings encode the
 * next transaction while the database works on the one before.
 *
 *   npm run build && node dist/perf/journal/mysql-insert.js \
 *     [--rows 200000] [--group 1000] [--payload 120] [--streams 1000] [--runs 5] \
 *     [--worst-rows 5000] [--url mysql://root@127.0.0.1:3306] [--ids v7 | random] \
 *     [--variants raw-batch,raw-batch-pipelined,raw-batch-encoded,raw-multi-row,journal-batch,
 *                 journal-multi-row,worst]
 *     [--settle-max-s 60] [--warm-up-rows 0]
 *
 * Every run writes into a fresh database (`shardline_bench_<time>`, migrated with the
 * journal's own migrations, dropped afterwards), so that each variant starts from an empty
 * table. Event ids are UUIDv7 as the SDK makes them (`--ids random`: random bytes), as in
 * `bench:e2e`, so that its end-to-end figure compares with this ceiling. Rows are built before
 * the clock starts. Results (rows/s per run, median, machine, Node, server version, payload,
 * and the CPU per row of the database server and of this process) go to
 * perf/results/mysql-insert.json. Each run starts once InnoDB has flushed what the run before it
 * left (`settleInnodb`, at most `--settle-max-s`; 0 does not wait), so that no run pays for its
 * predecessor's writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { shardOf, type JournalEvent } from '../../core/index.js';
import { parseMysqlUrl } from '../../server/src/journal/journal-url.js';
import { BulkRowEncoder, bulkValues } from '../../server/src/journal/mysql-bulk-rows.js';
import {
  InsertStrategy,
  MysqlJournal,
  mysqlJournalOptions,
} from '../../server/src/journal/mysql-journal.js';
import { migrateSchema, MYSQL_SCHEMA_VERSION } from '../../server/src/journal/mysql-migrations.js';
import { createLogger } from '../../server/src/logger.js';
import { eventIdSource, parseEventIdKind, describeEventIds } from '../lib/event-ids.js';
import { machineInfo } from '../lib/machine.js';
import {
  checkpointAgeMiB,
  DEFAULT_MYSQL_URL,
  settleInnodb,
  type InnodbSettling,
} from '../lib/mariadb.js';
import { localDatabasePid, measureProcess } from '../lib/proc-stats.js';
import { median } from '../lib/results.js';
import { parsePerfArgs } from '../lib/args.js';

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    rows: { type: 'string', default: '200000' },
    group: { type: 'string', default: '1000' },
    payload: { type: 'string', default: '120' },
    streams: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    'worst-rows': { type: 'string', default: '5000' },
    url: { type: 'string', default: DEFAULT_MYSQL_URL },
    ids: { type: 'string', default: 'v7' },
    out: { type: 'string', default: 'perf/results/mysql-insert.json' },
    variants: { type: 'string', default: 'all' },
    'settle-max-s': { type: 'string', default: '60' },
    'warm-up-rows': { type: 'string', default: '0' },
  },
});
const EVENT_IDS = parseEventIdKind(values.ids);
const ROWS = Number(values.rows);
const GROUP_ROWS = Number(values.group);
const PAYLOAD_BYTES = Number(values.payload);
const STREAMS = Number(values.streams);
const RUNS = Number(values.runs);
const WORST_ROWS = Number(values['worst-rows']);
const SETTLE_MAX_MS = Number(values['settle-max-s']) * 1000;
const WARM_UP_ROWS = Number(values['warm-up-rows']);
const SHARDS = 1024;
/** Events per batch in bench:e2e, whose server gives each batch a correlation id. */
const E2E_BATCH_EVENTS = 100;
const server = parseMysqlUrl(`${values.url}/mysql`);

const COLUMNS =
  '(shard, `offset`, stream, seq, event_id, type, ts, correlation_id, content_type, payload)';
const ROW_PLACEHOLDERS = '(?,?,?,?,?,?,?,?,?,?)';

/**
 * Rows as the runtime decides them for bench:e2e's events: streams in turn, each on the shard
 * `shardOf` gives it, gap-free offsets per shard, seqs per stream. (Until the seventh session
 * the shard was `i % SHARDS`, which made the primary key (offset, shard) strictly ascending, a
 * best case that no stream-to-shard mapping produces: 8–12% faster with one connection.)
 * Each batch of bench:e2e's 100 events carries no correlation id, so the server gives it one,
 * a UUID, which its rows store (`batchCorrelationId` in server/src/security/access.ts); rows
 * here carry one per 100 too. (Until the sixteenth session they had none: 36 bytes a row less
 * than the server writes.)
 */
function makeRows(count: number): JournalEvent[] {
  const offsets = new Float64Array(SHARDS);
  const seqs = new Float64Array(STREAMS);
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const now = Date.now();
  const rows: JournalEvent[] = [];
  const newId = eventIdSource(EVENT_IDS);
  let correlationId = '';
  for (let i = 0; i < count; i++) {
    if (i % E2E_BATCH_EVENTS === 0) correlationId = randomUUID();
    const stream = `bench-${i % STREAMS}`;
    const shard = shardOf(stream, SHARDS);
    const seq = ++seqs[i % STREAMS]!;
    rows.push({
      shard,
      offset: ++offsets[shard]!,
      stream,
      seq,
      id: newId(),
      type: 'Measured',
      timestamp: now + i,
      correlationId,
      contentType: 0,
      payload,
    });
  }
  return rows;
}

function params(row: JournalEvent): unknown[] {
  return [
    row.shard,
    row.offset,
    row.stream,
    row.seq,
    row.id,
    row.type,
    row.timestamp,
    row.correlationId,
    row.contentType,
    row.payload,
  ];
}

function connect(database?: string): Promise<Connection> {
  return mariadb.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    maxAllowedPacket: 64 * 1024 * 1024,
    ...(database === undefined ? {} : { database }),
  });
}

/** A writer: given its share of the rows, writes them all. */
type Writer = (rows: JournalEvent[], database: string) => Promise<void>;

/**
 * Runs `body` on a connection of its own. On failure the connection is destroyed, not left
 * open in a transaction: its metadata lock would make the run's DROP DATABASE wait for ever.
 */
async function onConnection(database: string, body: (conn: Connection) => Promise<void>) {
  const conn = await connect(database);
  try {
    await body(conn);
  } catch (error) {
    conn.destroy();
    throw error;
  }
  await conn.end();
}

const rawBatch: Writer = (rows, database) =>
  onConnection(database, async (conn) => {
    const sql = `INSERT INTO events ${COLUMNS} VALUES ${ROW_PLACEHOLDERS}`;
    for (let i = 0; i < rows.length; i += GROUP_ROWS) {
      await conn.beginTransaction();
      await conn.batch(sql, rows.slice(i, i + GROUP_ROWS).map(params));
      await conn.commit();
    }
  });

/** `rawBatch`, with each group's rows encoded by the journal's encoder. */
const rawBatchEncoded: Writer = (rows, database) =>
  onConnection(database, async (conn) => {
    const sql = `INSERT INTO events ${COLUMNS} VALUES ${ROW_PLACEHOLDERS}`;
    const encoder = new BulkRowEncoder();
    for (let i = 0; i < rows.length; i += GROUP_ROWS) {
      await conn.beginTransaction();
      await conn.batch(
        sql,
        bulkValues(encoder.encode(rows, i, Math.min(i + GROUP_ROWS, rows.length))),
      );
      await conn.commit();
    }
  });

/**
 * As the journal's commit lanes write on their shared connection (server/src/journal/
 * mysql-writer.ts): each transaction's BEGIN and INSERT go out at once, behind the previous
 * COMMIT, and its COMMIT once the previous COMMIT answered, so that the server never waits for
 * this process. The first transaction waits for its INSERT, which prepares the statement: the
 * driver then sends every later INSERT at once, ahead of its COMMIT.
 */
const rawBatchPipelined: Writer = (rows, database) =>
  onConnection(database, async (conn) => {
    const sql = `INSERT INTO events ${COLUMNS} VALUES ${ROW_PLACEHOLDERS}`;
    let previous: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < rows.length; i += GROUP_ROWS) {
      const inserted = Promise.all([
        conn.beginTransaction(),
        conn.batch(sql, rows.slice(i, i + GROUP_ROWS).map(params)),
      ]);
      if (i === 0) await inserted;
      else inserted.catch(() => undefined);
      await previous;
      const committed = conn.commit();
      // This transaction is answered once both its INSERT and its COMMIT are; a failure fails
      // the run when the next transaction waits for it.
      previous = Promise.all([inserted, committed]);
    }
    await previous;
  });

const rawMultiRow: Writer = (rows, database) =>
  onConnection(database, async (conn) => {
    const statements = new Map<number, string>();
    for (let i = 0; i < rows.length; i += GROUP_ROWS) {
      const group = rows.slice(i, i + GROUP_ROWS);
      let sql = statements.get(group.length);
      if (sql === undefined) {
        sql = `INSERT INTO events ${COLUMNS} VALUES ${new Array<string>(group.length).fill(ROW_PLACEHOLDERS).join(',')}`;
        statements.set(group.length, sql);
      }
      await conn.beginTransaction();
      await conn.execute(sql, group.flatMap(params));
      await conn.commit();
    }
  });

const worst: Writer = (rows, database) =>
  onConnection(database, async (conn) => {
    const sql = `INSERT INTO events ${COLUMNS} VALUES ${ROW_PLACEHOLDERS}`;
    for (const row of rows) await conn.execute(sql, params(row));
  });

function journalWriter(insertStrategy: InsertStrategy): Writer {
  return async (rows, database) => {
    const location = parseMysqlUrl(`${values.url}/${database}`);
    const journal = new MysqlJournal(
      mysqlJournalOptions(location, { insertStrategy, poolSize: 1, logLevel: 'silent' }),
      createLogger('silent'),
    );
    await journal.open(SHARDS);
    for (let i = 0; i < rows.length; i += GROUP_ROWS) {
      await journal.commit({ events: rows.slice(i, i + GROUP_ROWS), snapshots: [] });
    }
    await journal.close();
  };
}

interface Variant {
  /** What `--variants` selects it by. */
  key: string;
  name: string;
  writer: Writer;
  connections: number;
  rows: number;
  /** A busy loop holds one core for the whole run (see `occupyOneCore`). */
  busyCore?: boolean;
}

const allVariants: Variant[] = [
  { key: 'raw-batch', name: 'raw batch()', writer: rawBatch, connections: 1, rows: ROWS },
  { key: 'raw-batch', name: 'raw batch()', writer: rawBatch, connections: 2, rows: ROWS },
  {
    key: 'raw-batch-encoded',
    name: 'journal-encoded batch()',
    writer: rawBatchEncoded,
    connections: 1,
    rows: ROWS,
  },
  {
    key: 'raw-batch-encoded',
    name: 'journal-encoded batch()',
    writer: rawBatchEncoded,
    connections: 2,
    rows: ROWS,
  },
  {
    key: 'raw-batch-pipelined',
    name: 'raw batch() pipelined',
    writer: rawBatchPipelined,
    connections: 1,
    rows: ROWS,
  },
  {
    key: 'raw-batch-pipelined',
    name: 'raw batch() pipelined',
    writer: rawBatchPipelined,
    connections: 2,
    rows: ROWS,
  },
  {
    key: 'raw-multi-row',
    name: 'raw multi-row execute',
    writer: rawMultiRow,
    connections: 1,
    rows: ROWS,
  },
  {
    key: 'raw-multi-row',
    name: 'raw multi-row execute',
    writer: rawMultiRow,
    connections: 2,
    rows: ROWS,
  },
  {
    key: 'journal-batch',
    name: 'MysqlJournal.commit (batch)',
    writer: journalWriter(InsertStrategy.batch),
    connections: 1,
    rows: ROWS,
  },
  {
    key: 'journal-batch',
    name: 'MysqlJournal.commit (batch)',
    writer: journalWriter(InsertStrategy.batch),
    connections: 2,
    rows: ROWS,
  },
  {
    key: 'journal-multi-row',
    name: 'MysqlJournal.commit (multi-row)',
    writer: journalWriter(InsertStrategy.multiRow),
    connections: 1,
    rows: ROWS,
  },
  {
    key: 'journal-multi-row',
    name: 'MysqlJournal.commit (multi-row)',
    writer: journalWriter(InsertStrategy.multiRow),
    connections: 2,
    rows: ROWS,
  },
  {
    key: 'raw-batch-pipelined-busy-core',
    name: 'other core busy: raw batch() pipelined',
    writer: rawBatchPipelined,
    connections: 1,
    rows: ROWS,
    busyCore: true,
  },
  {
    key: 'worst',
    name: 'worst: one autocommitted INSERT per event',
    writer: worst,
    connections: 1,
    rows: WORST_ROWS,
  },
];
const variantKeys = new Set(allVariants.map((v) => v.key));
const chosenKeys = values.variants === 'all' ? variantKeys : new Set(values.variants.split(','));
// The ceiling every other figure is compared with.
chosenKeys.add('raw-batch');
chosenKeys.add('raw-batch-pipelined');
for (const key of chosenKeys) {
  if (!variantKeys.has(key)) {
    throw new Error(`--variants: no variant ${key} (there are ${[...variantKeys].join(', ')})`);
  }
}
const variants = allVariants.filter((v) => chosenKeys.has(v.key));

interface RunResult {
  rowsPerSecond: number;
  /** How InnoDB stood when the run began. */
  settling: InnodbSettling | null;
  /** CPU per row of the database server process (null when it was not found on this host). */
  databaseCpuUsPerRow: number | null;
  /** CPU per row of this process (the driver encoding and sending the rows). */
  clientCpuUsPerRow: number;
}

const databasePid = localDatabasePid(server.host);

/** The longest a busy loop spins: far longer than a run of the default rows takes. */
const BUSY_LOOP_MAX_S = 300;

/**
 * Starts a process that spins until killed (or for BUSY_LOOP_MAX_S), and resolves once it
 * spins. On this benchmark's 2-core VM the ceiling's best variant keeps one core busy (MariaDB's
 * writer thread) while its client uses a fifth of the other; an end-to-end run needs the other
 * core for the server.
 * A busy loop on the other core, touching no memory, raised MariaDB's CPU per row by about 35%
 * at times in the seventeenth session, and not at others: MariaDB's threads and the client then
 * share one core. This variant shows what the raw driver reaches while the other core is as
 * busy as a server keeps it. Context only: the ceiling stays the best of the variants with an
 * idle core.
 */
async function occupyOneCore(): Promise<ChildProcess> {
  // It ends by itself after BUSY_LOOP_MAX_S, should this process die without killing it.
  const spin = `process.stdout.write("spinning\\n"); const end = Date.now() + ${BUSY_LOOP_MAX_S * 1000}; while (Date.now() < end);`;
  const child = spawn(process.execPath, ['-e', spin], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  return child;
}

/** One timed run of a variant into a fresh database. */
async function runOnce(variant: Variant, rows: JournalEvent[]): Promise<RunResult> {
  const database = `shardline_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = await connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`USE ${database}`);
  await migrateSchema(admin, database, database);
  try {
    // Each connection writes its own shards (as a shard worker does), so they never collide.
    const shares = Array.from({ length: variant.connections }, (_, c) =>
      rows.filter((row) => row.shard % variant.connections === c),
    );
    const settling = SETTLE_MAX_MS > 0 ? await settleInnodb(server, SETTLE_MAX_MS) : null;
    const busyLoop = variant.busyCore === true ? await occupyOneCore() : null;
    const databaseUsage = databasePid === null ? null : measureProcess(databasePid);
    const clientCpuBefore = process.cpuUsage();
    const start = performance.now();
    try {
      await Promise.all(shares.map((share) => variant.writer(share, database)));
    } finally {
      busyLoop?.kill('SIGKILL');
    }
    const seconds = (performance.now() - start) / 1000;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const databaseCpu = databaseUsage?.() ?? null;
    const [count] = await admin.query<{ n: bigint }[]>('SELECT COUNT(*) AS n FROM events');
    if (Number(count!.n) !== rows.length) throw new Error(`${variant.name}: rows missing`);
    const perRow = (cpuSeconds: number): number =>
      Number(((cpuSeconds * 1e6) / rows.length).toFixed(1));
    return {
      rowsPerSecond: Math.round(rows.length / seconds),
      settling,
      databaseCpuUsPerRow: databaseCpu === null ? null : perRow(databaseCpu.cpuSeconds),
      clientCpuUsPerRow: perRow((clientCpu.user + clientCpu.system) / 1e6),
    };
  } finally {
    await admin.query(`DROP DATABASE ${database}`);
    await admin.end();
  }
}

const probe = await connect();
const serverVersion = probe.serverVersion();
await probe.end();
const loadBefore = loadavg();
const allRows = makeRows(ROWS);
// Round robin (every variant once, then again): a drift of the machine or of the server (its
// buffer pool, its redo log) spreads over all variants instead of favouring the first ones.
const runsOf = variants.map((): RunResult[] => []);
// `--warm-up-rows`: each variant writes that many rows once, not measured, so that its first
// measured run does not pay for compiling the driver's code (bench:e2e's `--warm-up-events`).
for (const variant of WARM_UP_ROWS > 0 ? variants : []) {
  await runOnce(variant, allRows.slice(0, Math.min(WARM_UP_ROWS, variant.rows)));
}
for (let r = 0; r < RUNS; r++) {
  for (let v = 0; v < variants.length; v++) {
    const variant = variants[v]!;
    const run = await runOnce(variant, allRows.slice(0, variant.rows));
    runsOf[v]!.push(run);
    console.log(
      `run ${r + 1}/${RUNS} ${variant.name} x${variant.connections}: ${run.rowsPerSecond} rows/s` +
        (run.settling === null ? '' : ` (InnoDB settled for ${run.settling.waitedMs} ms first)`),
    );
  }
}
const results = [];
for (let v = 0; v < variants.length; v++) {
  const variant = variants[v]!;
  const runs = runsOf[v]!.map((run) => run.rowsPerSecond);
  const databaseCpu = runsOf[v]!.map((run) => run.databaseCpuUsPerRow);
  const result = {
    variant: variant.name,
    connections: variant.connections,
    rows: variant.rows,
    rowsPerTransaction: variant.writer === worst ? 1 : GROUP_ROWS,
    medianRowsPerSecond: median(runs),
    // Interference from other work on the machine only ever slows a run down, so the best run
    // is the better estimate of an undisturbed rate when the spread is wide.
    bestRowsPerSecond: Math.max(...runs),
    runs,
    // What the runs began with: the redo earlier runs left unflushed, and the wait for it.
    checkpointAgeMiBAtStart: runsOf[v]!.map((run) => checkpointAgeMiB(run.settling)),
    settleWaitMs: runsOf[v]!.map((run) => run.settling?.waitedMs ?? 0),
    // Server, client and database share this machine's cores; the CPU each spends per row
    // says how far a rate is from what the cores allow.
    ...(databaseCpu.every((us) => us !== null) ? { databaseCpuUsPerRow: median(databaseCpu) } : {}),
    clientCpuUsPerRow: median(runsOf[v]!.map((run) => run.clientCpuUsPerRow)),
  };
  console.log(JSON.stringify(result));
  results.push(result);
}
const rawBatch1000 = results.filter((r) => r.variant.startsWith('raw batch()'));
const ceiling = Math.max(...rawBatch1000.map((r) => r.medianRowsPerSecond));
const bestCeiling = Math.max(...rawBatch1000.map((r) => r.bestRowsPerSecond));
const summary = {
  benchmark: 'mysql-insert',
  command: 'node dist/perf/journal/mysql-insert.js',
  machine: machineInfo(),
  server: serverVersion,
  // The database runs on the same machine: a busy machine shows here, and in the spread of runs.
  loadAverage1m: { before: loadBefore[0], after: loadavg()[0] },
  workload: {
    rows: ROWS,
    rowsPerTransaction: GROUP_ROWS,
    payloadBytes: PAYLOAD_BYTES,
    streams: STREAMS,
    shards: SHARDS,
    runs: RUNS,
    settleMaxSeconds: SETTLE_MAX_MS / 1000,
    warmUpRowsPerVariant: WARM_UP_ROWS,
    eventIds: describeEventIds(EVENT_IDS),
    schema: `events of the journal migrations (version ${MYSQL_SCHEMA_VERSION}: PRIMARY KEY (offset, shard), UNIQUE (stream, seq), UNIQUE (event_id, stream))`,
  },
  ceilingRowsPerSecond: { median: ceiling, best: bestCeiling },
  results: results.map((r) => ({
    ...r,
    ofCeiling: {
      median: Number((r.medianRowsPerSecond / ceiling).toFixed(2)),
      best: Number((r.bestRowsPerSecond / bestCeiling).toFixed(2)),
    },
  })),
};
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
console.log(
  `ceiling (raw batch(), serial or pipelined, 1 or 2 connections): median ${ceiling} rows/s, ` +
    `best run ${bestCeiling}`,
);
