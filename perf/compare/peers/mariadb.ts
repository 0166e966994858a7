/**
 * MariaDB on its own, with a table shaped like Shardline's MySQL journal (event id, stream, type,
 * time stamp, payload; unique per stream and id), in a fresh database:
 * - the naive baseline: one INSERT per event with autocommit (one commit, one log flush each);
 * - the bulk-insert ceiling: `batch()` (MariaDB's bulk protocol) of big groups, one transaction
 *   each, or one multi-row INSERT per group (`--bulk-method multirow`): as fast as the
 *   database takes rows with durable commits.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mariadb';
import { createLatencyHistogram, recordLatency } from '../../lib/histogram.js';
import {
  connectMysql,
  createFreshDatabase,
  parseMysqlServer,
  type FreshDatabase,
  type MysqlServer,
} from '../../lib/mariadb.js';
import {
  payloadOf,
  PeerUnavailable,
  runConnections,
  type CompareWorkload,
  type Peer,
  type PeerRun,
} from '../peer.js';

const CREATE_TABLE = `CREATE TABLE events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BINARY(16) NOT NULL,
  stream VARBINARY(200) NOT NULL,
  type VARCHAR(100) NOT NULL,
  ts BIGINT NOT NULL,
  payload LONGBLOB NOT NULL,
  UNIQUE KEY events_stream_event_id (stream, event_id)
) ENGINE=InnoDB`;
const INSERT = 'INSERT INTO events (event_id, stream, type, ts, payload) VALUES (?, ?, ?, ?, ?)';

interface Prepared {
  server: MysqlServer;
  database: FreshDatabase;
  connections: Connection[];
  durability: string;
  version: string;
}

async function prepare(
  workload: CompareWorkload,
  prefix: string,
  connectionCount: number,
): Promise<Prepared> {
  const server = parseMysqlServer(workload.mysqlUrl);
  let database: FreshDatabase;
  try {
    database = await createFreshDatabase(server, prefix);
  } catch (error) {
    throw new PeerUnavailable(`MariaDB unreachable: ${(error as Error).message}`, { cause: error });
  }
  const connections: Connection[] = [];
  try {
    for (let i = 0; i < connectionCount; i++) {
      connections.push(await connectMysql(server, database.name));
    }
    const first = connections[0]!;
    await first.query(CREATE_TABLE);
    const rows = await first.query<
      { version: string; flush: unknown; syncBinlog: unknown; logBin: unknown }[]
    >(
      'SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS syncBinlog, @@log_bin AS logBin',
    );
    const row = rows[0]!;
    return {
      server,
      database,
      connections,
      version: row.version,
      durability: `ack after COMMIT (innodb_flush_log_at_trx_commit=${String(row.flush)}, log_bin=${String(row.logBin)})`,
    };
  } catch (error) {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
    await database.drop().catch(() => undefined);
    throw error;
  }
}

async function release(prepared: Prepared): Promise<void> {
  await Promise.all(prepared.connections.map((c) => c.end().catch(() => undefined)));
  await prepared.database.drop();
}

const multiRowStatements = new Map<number, string>();

/** `INSERT … VALUES (?, …), (?, …), …` for `rows` rows (cached per row count). */
function multiRowInsert(rows: number): string {
  let sql = multiRowStatements.get(rows);
  if (sql === undefined) {
    sql = `${INSERT}${', (?, ?, ?, ?, ?)'.repeat(rows - 1)}`;
    multiRowStatements.set(rows, sql);
  }
  return sql;
}

function row(stream: string, payload: Uint8Array): unknown[] {
  return [randomBytes(16), stream, 'BenchEvent', Date.now(), payload];
}

export const mariadbNaive: Peer = {
  id: 'mariadb-naive',
  label: 'MariaDB · one INSERT + autocommit per event',
  run: async (workload): Promise<PeerRun> => {
    const prepared = await prepare(workload, 'shardline_cmp_naive', workload.naiveConnections);
    try {
      const payload = payloadOf(workload.payloadBytes);
      const histogram = createLatencyHistogram();
      let ok = 0;
      const { seconds } = await runConnections(
        workload.naiveConnections,
        workload.events,
        workload.maxSeconds,
        async (index, share, shouldStop) => {
          const connection = prepared.connections[index]!;
          let stream = Math.floor((index * workload.streams) / workload.naiveConnections);
          for (let i = 0; i < share && !shouldStop(); i++) {
            const sentAt = performance.now();
            await connection.execute(INSERT, row(`cmp-${stream}`, payload));
            recordLatency(histogram, (performance.now() - sentAt) * 1000);
            ok++;
            stream = (stream + 1) % workload.streams;
          }
        },
      );
      return {
        ok,
        failed: 0,
        seconds,
        histogram,
        config: `MariaDB ${prepared.version}, ${workload.naiveConnections} connection(s), prepared INSERT per event, autocommit`,
        durability: prepared.durability,
      };
    } finally {
      await release(prepared);
    }
  },
};

export const mariadbBulk: Peer = {
  id: 'mariadb-bulk',
  label: 'MariaDB · bulk-insert ceiling',
  run: async (workload): Promise<PeerRun> => {
    const prepared = await prepare(workload, 'shardline_cmp_bulk', workload.bulkConnections);
    try {
      const payload = payloadOf(workload.payloadBytes);
      const histogram = createLatencyHistogram();
      let ok = 0;
      const { seconds } = await runConnections(
        workload.bulkConnections,
        workload.events,
        workload.maxSeconds,
        async (index, share, shouldStop) => {
          const connection = prepared.connections[index]!;
          let stream = Math.floor((index * workload.streams) / workload.bulkConnections);
          for (let done = 0; done < share && !shouldStop(); ) {
            const n = Math.min(workload.bulkRows, share - done);
            const rows: unknown[][] = new Array<unknown[]>(n);
            for (let i = 0; i < n; i++) {
              rows[i] = row(`cmp-${stream}`, payload);
              stream = (stream + 1) % workload.streams;
            }
            const sentAt = performance.now();
            await connection.beginTransaction();
            if (workload.bulkMethod === 'batch') await connection.batch(INSERT, rows);
            else await connection.query(multiRowInsert(n), rows.flat());
            await connection.commit();
            recordLatency(histogram, (performance.now() - sentAt) * 1000, n);
            ok += n;
            done += n;
          }
        },
      );
      return {
        ok,
        failed: 0,
        seconds,
        histogram,
        config:
          `MariaDB ${prepared.version}, ${workload.bulkConnections} connection(s), ` +
          (workload.bulkMethod === 'batch' ? 'batch()' : 'one multi-row INSERT') +
          ` of ${workload.bulkRows} rows per transaction`,
        durability: prepared.durability,
        notes: ['latency: per row, from the start of its group to the COMMIT'],
      };
    } finally {
      await release(prepared);
    }
  },
};
