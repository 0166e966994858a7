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
