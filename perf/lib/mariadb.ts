/**
 * Fresh, throw-away MariaDB/MySQL databases for the suites that measure a SQL journal or a SQL
 * peer. Each run gets its own database, named with a time stamp, dropped at the end.
 */
import * as mariadb from 'mariadb';

/** Where the suites find MariaDB unless told otherwise (root, empty password, as on CI). */
export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306';

export interface MysqlServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Parses `mysql://user[:password]@host[:port]` (any path is ignored). */
export function parseMysqlServer(url: string): MysqlServer {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error(`not a mysql:// URL: ${parsed.protocol}`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
  };
}

export function connectMysql(server: MysqlServer, database?: string): Promise<mariadb.Connection> {
  return mariadb.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    connectTimeout: 3000,
    ...(database === undefined ? {} : { database }),
  });
}

export interface FreshDatabase {
  name: string;
  /** `mysql://user[:password]@host:port/name`, for the server's `--journal`. */
  url: string;
  drop: () => Promise<void>;
}

/** Creates an empty database `<prefix>_<time stamp>`; throws when MariaDB is unreachable. */
export async function createFreshDatabase(
  server: MysqlServer,
  prefix: string,
): Promise<FreshDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid}`;
  const connection = await connectMysql(server);
  try {
    await connection.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await connection.end();
  }
  const auth =
    encodeURIComponent(server.user) +
    (server.password === '' ? '' : `:${encodeURIComponent(server.password)}`);
  return {
    name,
    url: `mysql://${auth}@${server.host}:${server.port}/${name}`,
    drop: async () => {
      const dropper = await connectMysql(server);
      try {
        await dropper.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** How InnoDB stood when a measured run began (see `settleInnodb`). */
export interface InnodbSettling {
  /** How long the wait took, in ms. */
  waitedMs: number;
  /** Redo not yet checkpointed when the run began, in bytes (null: the server does not say). */
  checkpointAgeBytes: number | null;
}

/** The redo a run began with, in MiB to a tenth, for results files (null: not known). */
export function checkpointAgeMiB(settling: InnodbSettling | null | undefined): number | null {
  const bytes = settling?.checkpointAgeBytes;
  return bytes == null ? null : Number((bytes / 2 ** 20).toFixed(1));
}

/** Done once the redo not yet checkpointed is below this share of the redo log. */
const SETTLED_LOG_SHARE = 0.1;
/** Or once InnoDB has flushed nothing and checkpointed nothing for this long. */
const SETTLE_IDLE_MS = 3000;
const SETTLE_POLL_MS = 250;

/**
 * Waits until InnoDB has written out what earlier runs left behind. A run of a few hundred
 * thousand rows leaves most of the redo log (96 MiB here) not yet checkpointed, and InnoDB
 * flushes it in the seconds that follow; a run started then shares the machine with that
 * flushing and is slowed by an amount that depends on where it falls.
 *
 * Done when the checkpoint age is below a tenth of the redo log; or when neither it nor the
 * dirty pages have fallen for 3 s, because InnoDB leaves a backlog below the point where it
 * starts flushing (up to half the log here) for as long as the server idles, and waiting longer
 * changes nothing; or
 * after `maxWaitMs`. The age does not fall steadily: it can stay put while pages are flushed
 * and then drop at once, when a checkpoint completes. MariaDB reports `Innodb_checkpoint_age`;
 * a server that does not (MySQL 8) is not waited for.
 */
export async function settleInnodb(
  server: MysqlServer,
  maxWaitMs = 60_000,
): Promise<InnodbSettling> {
  const started = performance.now();
  const connection = await connectMysql(server);
  try {
    const [log] = await connection.query<{ size: bigint | number }[]>(
      'SELECT @@innodb_log_file_size AS size',
    );
    const settledBytes = Number(log!.size) * SETTLED_LOG_SHARE;
    let lowestAge = Number.POSITIVE_INFINITY;
    let lowestDirty = Number.POSITIVE_INFINITY;
    let progressAt = performance.now();
    for (;;) {
      const status = await connection.query<{ Variable_name: string; Value: string }[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', 'Innodb_buffer_pool_pages_dirty')",
      );
      const now = performance.now();
      const waitedMs = Math.round(now - started);
      const value = (name: string): number | null => {
        const row = status.find((r) => r.Variable_name === name);
        return row === undefined ? null : Number(row.Value);
      };
      const age = value('Innodb_checkpoint_age');
      if (age === null) return { waitedMs, checkpointAgeBytes: null };
      const dirty = value('Innodb_buffer_pool_pages_dirty') ?? 0;
      if (age < lowestAge || dirty < lowestDirty) progressAt = now;
      lowestAge = Math.min(lowestAge, age);
      lowestDirty = Math.min(lowestDirty, dirty);
      if (age <= settledBytes || now - progressAt >= SETTLE_IDLE_MS || waitedMs >= maxWaitMs) {
        return { waitedMs, checkpointAgeBytes: age };
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
  } finally {
    await connection.end();
  }
}
