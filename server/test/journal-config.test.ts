import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { commitLanes, loadConfig } from '../src/config.js';
import { MysqlLocation, parseMysqlUrl, redactUrl } from '../src/journal/journal-url.js';
import { mysqlOptionsFromConfig } from '../src/journal/mysql-setup.js';
import { removeDir, tempDir } from './support.js';

const dir = tempDir();
after(() => removeDir(dir));

test('a mysql:// URL is parsed, percent-decoded, and never prints its password', () => {
  const location = parseMysqlUrl('mysql://app%40svc:p%40ss%3Aw0rd%2F@db.example.com:3307/events_1');
  assert.deepEqual(
    {
      host: location.host,
      port: location.port,
      user: location.user,
      password: location.password,
      database: location.database,
    },
    {
      host: 'db.example.com',
      port: 3307,
      user: 'app@svc',
      password: 'p@ss:w0rd/',
      database: 'events_1',
    },
  );
  for (const printed of [
    String(location),
    JSON.stringify({ location }),
    inspect(location),
    inspect({ nested: { location } }),
  ]) {
    assert.ok(!printed.includes('w0rd'), printed);
    assert.match(printed, /app%40svc:\*\*\*@db\.example\.com:3307\/events_1/);
  }
  assert.equal(parseMysqlUrl('mysql://root@127.0.0.1/db').port, 3306);
  assert.equal(
    String(parseMysqlUrl('mysql://root@127.0.0.1/db')),
    'mysql://root@127.0.0.1:3306/db',
  );
  assert.equal(parseMysqlUrl('mysql://u@[::1]:3306/db').host, '::1');
  assert.ok(location instanceof MysqlLocation);
});

test('a malformed mysql:// URL is refused, naming the option and hiding the password', () => {
  for (const [url, reason] of [
    ['mysql://u:secret@host:3306/', /one database/],
    ['mysql://u:secret@host:3306/a/b', /one database/],
    ['mysql://:secret@host:3306/db', /user/],
    ['mysql://u:secret@host:3306/db?ssl=true', /query parameters/],
    ['mysql://u:secret@host:3306/bad-name', /database name/],
    ['mysql://u:sec@ret@host:3306/db%ZZ', /percent-encoding/],
  ] as const) {
    assert.throws(
      () => parseMysqlUrl(url),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.match(error.message, /^SHARDLINE_JOURNAL /);
        assert.match(error.message, reason);
        assert.ok(
          !error.message.includes('secret') && !error.message.includes('ret@'),
          error.message,
        );
        return true;
      },
    );
  }
  assert.equal(redactUrl('mysql://u:p@ss@h/db'), JSON.stringify('mysql://u:***@h/db'));
});

test('SHARDLINE_JOURNAL and the MySQL options load from the environment and flags', () => {
  const ca = join(dir, 'rds-ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const config = loadConfig(
    ['--journal', 'mysql://app:pw@db:3306/shardline', '--mysql-tls', 'on', '--mysql-ca', ca],
    { SHARDLINE_MYSQL_POOL_SIZE: '8', SHARDLINE_MIGRATE: 'off', SHARDLINE_MYSQL_COMMIT_LANES: '3' },
  );
  assert.equal(config.mysqlCommitLanes, 3);
  assert.equal(String(config.journal), 'mysql://app:***@db:3306/shardline');
  assert.equal(config.mysqlPoolSize, 8);
  assert.equal(config.mysqlTls, true);
  assert.equal(config.migrate, false);
  const options = mysqlOptionsFromConfig(config, parseMysqlUrl('mysql://app:pw@db:3306/shardline'));
  assert.deepEqual(
    { poolSize: options.poolSize, migrate: options.migrate, password: options.password },
    { poolSize: 8, migrate: false, password: 'pw' },
  );
  assert.match(options.tls!.ca!, /BEGIN CERTIFICATE/);
  assert.equal(options.maxPayloadBytes, config.maxPayloadBytes);

  const defaults = loadConfig([], {});
  assert.equal(defaults.journal, 'sqlite');
  assert.deepEqual(
    [
      defaults.mysqlPoolSize,
      defaults.mysqlCommitLanes,
      defaults.mysqlTls,
      defaults.mysqlCa,
      defaults.migrate,
    ],
    [4, null, false, '', true],
  );
  // Unset, the lanes are 2 on the uWS thread and 1 per shard worker; set, they are as set.
  assert.equal(commitLanes(loadConfig(['--workers', '0'], {})), 2);
  assert.equal(commitLanes(loadConfig(['--workers', '2'], {})), 1);
  assert.equal(commitLanes(config), 3);
  assert.equal(commitLanes(loadConfig(['--workers', '0', '--mysql-commit-lanes', '1'], {})), 1);
});

test('bad MySQL options are refused at start-up, naming the option', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      [],
      { SHARDLINE_JOURNAL: 'postgres://u:pw@h/db' },
      /^SHARDLINE_JOURNAL must be "sqlite" or mysql/,
    ],
    [['--mysql-pool-size', '0'], {}, /^--mysql-pool-size must be an integer between 1 and 256/],
    [
      [],
      { SHARDLINE_MYSQL_COMMIT_LANES: '0' },
      /^SHARDLINE_MYSQL_COMMIT_LANES must be an integer between 1 and 16/,
    ],
    [[], { SHARDLINE_MYSQL_TLS: 'maybe' }, /^SHARDLINE_MYSQL_TLS must be "on" or "off"/],
    [['--migrate', 'sometimes'], {}, /^--migrate must be "on" or "off"/],
    [
      ['--mysql-ca', join(dir, 'missing.pem'), '--mysql-tls', 'on'],
      {},
      /^--mysql-ca must be a readable file/,
    ],
    [
      [],
      { SHARDLINE_MYSQL_CA: join(dir, 'rds-ca.pem') },
      /SHARDLINE_MYSQL_CA .*needs SHARDLINE_MYSQL_TLS=on/,
    ],
  ];
  writeFileSync(join(dir, 'rds-ca.pem'), 'pem');
  for (const [argv, env, message] of cases) {
    assert.throws(
      () => loadConfig(argv, env),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.match(error.message, message);
        assert.ok(!error.message.includes('pw'), error.message);
        return true;
      },
    );
  }
});

test('the warm-up is on by default, off with SHARDLINE_WARM_UP or --warm-up, and a bad value is refused', () => {
  assert.equal(loadConfig([], {}).warmUp, true);
  assert.equal(loadConfig([], { SHARDLINE_WARM_UP: 'off' }).warmUp, false);
  assert.equal(loadConfig(['--warm-up', 'off'], { SHARDLINE_WARM_UP: 'on' }).warmUp, false);
  assert.throws(() => loadConfig([], { SHARDLINE_WARM_UP: 'yes' }), {
    message: /^SHARDLINE_WARM_UP must be "on" or "off"/,
  });
});
