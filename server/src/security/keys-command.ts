/**
 * `shardline keys create|list|revoke`: manages the API keys file. The clear key is printed
 * once, by `create`; the file keeps only its SHA-256.
 *
 *   shardline keys create --role producer [--role reader] [--prefix tenant-a/] [--name ci]
 *   shardline keys list
 *   shardline keys revoke <key id>
 *
 * The file is `--keys-file`, or `SHARDLINE_KEYS_FILE`, or `<data dir>/keys.json`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKey, readKeysFile, revokeApiKey } from './api-keys.js';
import { isRole, ROLES } from './principal.js';

export const KEYS_USAGE = `Usage: shardline keys create --role <${ROLES.join('|')}> [--role ...] [--prefix <stream prefix> ...] [--name <name>]
       shardline keys list
       shardline keys revoke <key id>
Options: --keys-file <path> (default: SHARDLINE_KEYS_FILE, or <data dir>/keys.json), --data-dir <dir>`;

/** Runs the subcommand; returns the process exit code. Output goes to `write`. */
export function runKeysCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string', multiple: true },
      prefix: { type: 'string', multiple: true },
      name: { type: 'string' },
      'keys-file': { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, id] = positionals;
  if (values.help === true || action === undefined) {
    write(`${KEYS_USAGE}\n`);
    return values.help === true ? 0 : 2;
  }
  const path =
    values['keys-file'] ??
    (env['SHARDLINE_KEYS_FILE'] ||
      join(values['data-dir'] ?? env['SHARDLINE_DATA_DIR'] ?? './data', 'keys.json'));
  switch (action) {
    case 'create': {
      const roles = values.role ?? [];
      if (roles.length === 0 || !roles.every(isRole)) {
        write(`keys create: --role must be one of ${ROLES.join(', ')} (repeatable)\n`);
        return 2;
      }
      const { key, record } = createApiKey(path, {
        name: values.name ?? '',
        roles: roles,
        streamPrefixes: values.prefix ?? null,
      });
      write(
        `${JSON.stringify({ id: record.id, key, roles: record.roles, streamPrefixes: record.streamPrefixes })}\n`,
      );
      write('# Store the key now: it is not shown again. The server keeps only its SHA-256.\n');
      return 0;
    }
    case 'list':
      for (const record of readKeysFile(path)) {
        write(`${JSON.stringify({ ...record, sha256: undefined })}\n`);
      }
      return 0;
    case 'revoke':
      if (id === undefined) {
        write('keys revoke: give the key id (see keys list)\n');
        return 2;
      }
      if (!revokeApiKey(path, id)) {
        write(`keys revoke: no key ${id} in ${path}\n`);
        return 1;
      }
      write(`revoked ${id}; servers refuse it within a second\n`);
      return 0;
    default:
      write(`${KEYS_USAGE}\n`);
      return 2;
  }
}
