/**
 * Shardline through its SDK, on the embedded SQLite journal or on MariaDB/MySQL (a fresh
 * database). The server runs as its own process with its default configuration, auth on.
 */
import { runLoad } from '../../../clients/cli/src/load.js';
import { createLatencyHistogram, recordLatency } from '../../lib/histogram.js';
import { connectMysql, createFreshDatabase, parseMysqlServer } from '../../lib/mariadb.js';
import { spawnServer, type ServerProcess } from '../../lib/server-process.js';
import { PeerUnavailable, type CompareWorkload, type Peer, type PeerRun } from '../peer.js';

async function runShardline(
  workload: CompareWorkload,
  journal: string,
  batch: number,
  durability: string,
): Promise<PeerRun> {
  let server: ServerProcess;
  try {
    server = await spawnServer({ journal, verbose: workload.verbose, startTimeoutMs: 60_000 });
  } catch (error) {
    throw new PeerUnavailable(`the server did not start: ${lastLine((error as Error).message)}`, {
      cause: error,
    });
  }
  try {
    const histogram = createLatencyHistogram();
    const result = await runLoad({
      url: server.wsUrl,
      apiKey: server.apiKey,
      events: workload.events,
      connections: workload.connections,
      batch,
      payloadBytes: workload.payloadBytes,
      rate: 0,
      streams: workload.streams,
      streamPrefix: 'cmp-',
      maxSeconds: workload.maxSeconds,
      windowEvents: workload.windowEvents,
      onLatency: (latencyUs, events) => recordLatency(histogram, latencyUs, events),
    });
    return {
      ok: result.ok,
      failed: result.failed + result.invalid + result.wrongExpectedSeq + result.duplicate,
      seconds: result.seconds,
      histogram,
      config:
        `${workload.connections} SDK connection(s), ` +
        (batch === 1 ? 'append() per event' : `appendMany of ${batch}`) +
        `, ${workload.windowEvents} events in flight per connection; server defaults, auth on`,
      durability,
      ...(result.errors.length > 0 ? { notes: result.errors } : {}),
    };
  } finally {
    await server.stop('SIGTERM');
  }
}

/** The last line of a multi-line message (the server's own complaint, after our preamble). */
function lastLine(message: string): string {
  const lines = message.trim().split('\n');
  const last = lines[lines.length - 1] ?? message;
  try {
    const record = JSON.parse(last) as { msg?: string; err?: { message?: string } };
    return [record.msg, record.err?.message].filter(Boolean).join(': ') || last;
  } catch {
    return last.slice(0, 300);
  }
}

export const shardlineEmbedded: Peer = {
  id: 'shardline-sqlite',
  label: 'Shardline · embedded journal (SQLite)',
  run: (workload) =>
    runShardline(
      workload,
      'sqlite',
      workload.batch,
      'ack after the group commit and its fsync (SQLite WAL)',
    ),
};

export const shardlineEmbeddedPerEvent: Peer = {
  id: 'shardline-sqlite-append',
  label: 'Shardline · embedded, append() per event',
  run: (workload) =>
    runShardline(workload, 'sqlite', 1, 'ack after the group commit and its fsync (SQLite WAL)'),
};

export const shardlineMysql: Peer = {
  id: 'shardline-mysql',
  label: 'Shardline · MySQL journal (MariaDB)',
  run: async (workload) => {
    const server = parseMysqlServer(workload.mysqlUrl);
    let database;
    let flush = '?';
    try {
      database = await createFreshDatabase(server, 'shardline_cmp_journal');
      const connection = await connectMysql(server);
      try {
        const rows = await connection.query<{ flush: unknown }[]>(
          'SELECT @@innodb_flush_log_at_trx_commit AS flush',
        );
        flush = String(rows[0]?.flush);
      } finally {
        await connection.end();
      }
    } catch (error) {
      throw new PeerUnavailable(`MariaDB unreachable: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      return await runShardline(
        workload,
        database.url,
        workload.batch,
        `ack after the group's InnoDB commit (innodb_flush_log_at_trx_commit=${flush})`,
      );
    } finally {
      await database.drop();
    }
  },
};
