/**
 * Versioned schema migrations of the MySQL/MariaDB journal, recorded in the `meta` table
 * (`schema_version`, `shards`), as the SQLite journal does.
 *
 * Every statement runs on MySQL 8 and MariaDB 10.6+. DDL commits implicitly in both, so a
 * migration is not atomic: each statement is idempotent (`IF NOT EXISTS`) and the version is
 * recorded after the last one, so a migration interrupted half-way simply runs again. Concurrent
 * migrators (several workers or nodes starting at once) serialise on a named lock.
 */
import type { Connection } from 'mariadb';
import { ShardlineError } from '../../../protocol/index.js';

/**
 * Each entry upgrades the schema from version `index` to `index + 1`; each statement runs on its
 * own. Append only: a released migration is never edited.
 */
export const MYSQL_MIGRATIONS: readonly (readonly string[])[] = [
  [
    // Byte strings (VARBINARY), not VARCHAR: stream ids compare byte for byte, with no collation
    // folding case or ignoring trailing spaces (`utf8mb4_bin` is PAD SPACE on MySQL 8, so
    // 'a' and 'a ' would collide on the unique keys). The payload is LONGBLOB because a
    // 16 MiB payload (the configurable maximum) does not fit a MEDIUMBLOB.
    `CREATE TABLE IF NOT EXISTS events (
       shard          INT UNSIGNED      NOT NULL,
       \`offset\`     BIGINT UNSIGNED   NOT NULL,
       stream         VARBINARY(200)    NOT NULL,
       seq            BIGINT UNSIGNED   NOT NULL,
       event_id       BINARY(16)        NOT NULL,
       type           VARBINARY(1000)   NOT NULL,
       ts             BIGINT            NOT NULL,
       correlation_id VARBINARY(255)    NULL,
       content_type   SMALLINT UNSIGNED NOT NULL,
       payload        LONGBLOB          NOT NULL,
       PRIMARY KEY (shard, \`offset\`),
       UNIQUE KEY events_stream_seq (stream, seq),
       UNIQUE KEY events_stream_event_id (stream, event_id)
     ) ENGINE = InnoDB`,
    `CREATE TABLE IF NOT EXISTS snapshots (
       stream     VARBINARY(200)  NOT NULL PRIMARY KEY,
       seq        BIGINT UNSIGNED NOT NULL,
       state      LONGBLOB        NOT NULL,
       created_at BIGINT          NOT NULL
     ) ENGINE = InnoDB`,
  ],
  [
    // Keys that new rows reach at their end: offsets of all shards advance together, and UUIDv7
    // ids (the SDK's, and PROTOCOL.md's advice) grow with time. Keyed (shard, offset) the
    // clustered index took one leaf page per shard in a group (up to SHARDS = 1024), and
    // (stream, event_id) one page per stream. Same constraints. One statement: a rerun after
    // an interruption rebuilds the same keys.
    `ALTER TABLE events
       DROP PRIMARY KEY, ADD PRIMARY KEY (\`offset\`, shard),
       DROP INDEX events_stream_event_id, ADD UNIQUE KEY events_stream_event_id (event_id, stream)`,
  ],
];

/** The schema version this build writes and reads. */
export const MYSQL_SCHEMA_VERSION = MYSQL_MIGRATIONS.length;

const CREATE_META = `CREATE TABLE IF NOT EXISTS meta (
  name  VARCHAR(64)  CHARACTER SET ascii NOT NULL PRIMARY KEY,
  value VARCHAR(255) CHARACTER SET ascii NOT NULL
) ENGINE = InnoDB`;

/** How long a migrator waits for another one to finish. */
const MIGRATION_LOCK_TIMEOUT_S = 60;
/** ER_NO_SUCH_TABLE: `meta` does not exist yet, so the schema is at version 0. */
const ER_NO_SUCH_TABLE = 1146;

/** Reads a row of `meta`, or undefined (also when the table does not exist yet). */
export async function readMeta(conn: Connection, name: string): Promise<string | undefined> {
  try {
    const rows = await conn.query<{ value: string }[]>('SELECT value FROM meta WHERE name = ?', [
      name,
    ]);
    return rows[0]?.value;
  } catch (error) {
    if ((error as { errno?: number }).errno === ER_NO_SUCH_TABLE) return undefined;
    throw error;
  }
}

/** The schema version recorded in the database (0 for an empty database). */
export async function readSchemaVersion(conn: Connection): Promise<number> {
  return Number((await readMeta(conn, 'schema_version')) ?? '0');
}

/**
 * Throws ERR_JOURNAL_SCHEMA unless `version` is exactly the one this build knows. `where` names
 * the database (without credentials).
 */
export function checkSchemaVersion(version: number, where: string): void {
  if (version > MYSQL_SCHEMA_VERSION) {
    throw new ShardlineError(
      'ERR_JOURNAL_SCHEMA',
      `${where} has schema version ${version}, newer than this build knows ` +
        `(${MYSQL_SCHEMA_VERSION}); run a newer Shardline`,
      { fatal: true },
    );
  }
  if (version < MYSQL_SCHEMA_VERSION) {
    throw new ShardlineError(
      'ERR_JOURNAL_SCHEMA',
      `${where} has schema version ${version}, this build needs ${MYSQL_SCHEMA_VERSION}; ` +
        'run `shardline migrate` (node dist/server/main.js migrate) or start with SHARDLINE_MIGRATE=on',
      { fatal: true },
    );
  }
}

/** The result of `migrateSchema`: the version found and the version left behind. */
export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the schema of the connection's database up to MYSQL_SCHEMA_VERSION. Refuses (ERR_JOURNAL_SCHEMA)
 * a schema newer than this build. Safe to run concurrently: migrators serialise on a lock named
 * after the database.
 */
export async function migrateSchema(
  conn: Connection,
  database: string,
  where: string,
): Promise<MigrationResult> {
  // GET_LOCK names are server-wide: include the database so that unrelated journals on one
  // server do not wait for each other. Names are at most 64 characters.
  const lockName = `shardline.migrate.${database}`.slice(0, 64);
  const [lock] = await conn.query<{ acquired: number | null }[]>(
    'SELECT GET_LOCK(?, ?) AS acquired',
    [lockName, MIGRATION_LOCK_TIMEOUT_S],
  );
  if (lock?.acquired !== 1) {
    throw new ShardlineError(
      'ERR_JOURNAL_SCHEMA',
      `another migration of ${where} held its lock for ${MIGRATION_LOCK_TIMEOUT_S} s; try again`,
      { fatal: true },
    );
  }
  try {
    await conn.query(CREATE_META);
    const from = await readSchemaVersion(conn);
    if (from > MYSQL_SCHEMA_VERSION) checkSchemaVersion(from, where);
    for (let version = from; version < MYSQL_SCHEMA_VERSION; version++) {
      for (const statement of MYSQL_MIGRATIONS[version]!) await conn.query(statement);
      await conn.query(
        `INSERT INTO meta (name, value) VALUES ('schema_version', ?)
         ON DUPLICATE KEY UPDATE value = VALUES(value)`,
        [String(version + 1)],
      );
    }
    return { from, to: Math.max(from, MYSQL_SCHEMA_VERSION) };
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
  }
}
