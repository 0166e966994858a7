/**
 * `shardline migrate`: applies the journal's pending migrations and exits, so that a deployment
 * can migrate once, before any server starts with SHARDLINE_MIGRATE=off.
 */
import { SqliteJournal, SQLITE_SCHEMA_VERSION } from '../../../core/index.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { MysqlJournal } from './mysql-journal.js';
import { mysqlOptionsFromConfig } from './mysql-setup.js';

/**
 * Brings the configured journal's schema up to date; resolves with the versions before (null
 * when the back end does not report it) and after.
 */
export async function runMigrations(
  config: ServerConfig,
  log: Logger,
): Promise<{ from: number | null; to: number }> {
  if (config.journal === 'sqlite') {
    // The SQLite journal migrates as it opens its file (it belongs to this server alone).
    const journal = new SqliteJournal(config.dataDir, 8);
    await journal.close();
    log.info({ journal: 'sqlite', dataDir: config.dataDir, to: SQLITE_SCHEMA_VERSION }, 'migrated');
    return { from: null, to: SQLITE_SCHEMA_VERSION };
  }
  const journal = new MysqlJournal(mysqlOptionsFromConfig(config, config.journal, 1), log);
  try {
    const result = await journal.migrate();
    log.info({ journal: 'mysql', location: journal.location, ...result }, 'migrated');
    return result;
  } finally {
    await journal.close();
  }
}
