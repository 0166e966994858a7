/**
 * From the server configuration to MySQL journal options. The options are plain data, so the
 * same object serves a journal on the uWS thread and, through `workerData`, one per shard worker.
 */
import { readFileSync } from 'node:fs';
import { ShardlineError } from '../../../protocol/index.js';
import type { ServerConfig } from '../config.js';
import type { MysqlLocation } from './journal-url.js';
import { mysqlJournalOptions, type MysqlJournalOptions } from './mysql-journal.js';

/** The module a shard worker imports to build its journals (it exports `laneJournals`). */
export const MYSQL_JOURNAL_MODULE = new URL('./mysql-journal.js', import.meta.url).href;

/**
 * Options for the journal at `location` under `config`. `poolSize` defaults to
 * SHARDLINE_MYSQL_POOL_SIZE; a shard worker needs 1 (its reads are sequential).
 */
export function mysqlOptionsFromConfig(
  config: ServerConfig,
  location: MysqlLocation,
  poolSize: number = config.mysqlPoolSize,
): MysqlJournalOptions {
  let ca: string | null = null;
  if (config.mysqlCa !== '') {
    try {
      ca = readFileSync(config.mysqlCa, 'utf8');
    } catch (cause) {
      throw new ShardlineError('ERR_CONFIG', `SHARDLINE_MYSQL_CA: cannot read ${config.mysqlCa}`, {
        cause,
        fatal: true,
      });
    }
  }
  return mysqlJournalOptions(location, {
    poolSize,
    tls: config.mysqlTls ? { ca } : null,
    migrate: config.migrate,
    maxPayloadBytes: config.maxPayloadBytes,
    logLevel: config.logLevel,
  });
}
