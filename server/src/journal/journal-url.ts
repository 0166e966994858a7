/**
 * Parses `SHARDLINE_JOURNAL=mysql://user:pass@host:3306/db`. The password lives in a `#private`
 * field and every printable form of the location (`toString`, `toJSON`, `util.inspect`) shows it
 * as `***`, so a location can be logged or put in an error message without leaking it.
 */
import { inspect } from 'node:util';
import { ShardlineError } from '../../../protocol/index.js';

export const MYSQL_DEFAULT_PORT = 3306;
/** MySQL and MariaDB identifiers (database names) are at most 64 characters. */
const DATABASE_NAME_MAX_CHARS = 64;

/** Where a MySQL or MariaDB journal lives, with credentials that never print. */
export class MysqlLocation {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly #password: string;

  constructor(host: string, port: number, user: string, password: string, database: string) {
    this.host = host;
    this.port = port;
    this.user = user;
    this.database = database;
    this.#password = password;
  }

  /** The password (percent-decoded). Hand it to the driver only; never print it. */
  get password(): string {
    return this.#password;
  }

  /** The URL with the password replaced by `***`: safe for logs and messages. */
  toString(): string {
    const secret = this.#password === '' ? '' : ':***';
    return `mysql://${encodeURIComponent(this.user)}${secret}@${formatHost(this.host)}:${this.port}/${this.database}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `MysqlLocation <${this.toString()}>`;
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Parses a `mysql://` URL. User and password are percent-decoded (so `p%40ss` is `p@ss`); the
 * port defaults to 3306; the database is required. Query parameters are refused: connection
 * settings have their own options (`SHARDLINE_MYSQL_*`). Error messages never contain the
 * password.
 */
export function parseMysqlUrl(raw: string, optionName = 'SHARDLINE_JOURNAL'): MysqlLocation {
  const fail = (rule: string): never => {
    throw new ShardlineError('ERR_CONFIG', `${optionName} ${rule}, got ${redactUrl(raw)}`, {
      fatal: true,
    });
  };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('must be a URL like mysql://user:pass@host:3306/db');
  }
  if (url.protocol !== 'mysql:') fail('must start with mysql://');
  if (url.hostname === '') fail('must name a host');
  if (url.search !== '' || url.hash !== '') {
    fail('takes no query parameters or fragment (use the SHARDLINE_MYSQL_* options)');
  }
  const port = url.port === '' ? MYSQL_DEFAULT_PORT : Number(url.port);
  let user: string;
  let password: string;
  let database: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
    database = decodeURIComponent(url.pathname.slice(1));
  } catch {
    return fail('has a malformed percent-encoding');
  }
  if (user === '') fail('must name a user (mysql://user@host/db)');
  if (database === '' || database.includes('/')) fail('must name one database (…/db)');
  if (database.length > DATABASE_NAME_MAX_CHARS || !/^[A-Za-z0-9_$]+$/.test(database)) {
    fail(`needs a database name of 1-${DATABASE_NAME_MAX_CHARS} characters [A-Za-z0-9_$]`);
  }
  // WHATWG URL keeps the brackets of an IPv6 host; the driver wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new MysqlLocation(host, port, user, password, database);
}

/**
 * Replaces the password of any `scheme://user:password@…` URL with `***`, for messages about a
 * value that may not even parse.
 */
export function redactUrl(raw: string): string {
  // Greedy to the last `@`: an unencoded `@` inside the password must not leak its tail.
  return JSON.stringify(raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@'));
}
