/**
 * API keys, stored only as SHA-256 hashes in a JSON keys file. A key is 32 random bytes
 * (`shl_<id>_<secret>`, base64url), so a fast hash is as safe as a slow one: there is nothing to
 * brute-force. The clear key is shown once, when it is created.
 *
 * The server re-reads the file when its modification time changes (checked at most once a
 * second), so a revoked key stops working on new connections and requests without a restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ShardlineError } from '../../../protocol/index.js';
import { isRole, type Principal, type Role } from './principal.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the whole clear key. */
  sha256: string;
  roles: Role[];
  streamPrefixes: string[] | null;
  createdAt: string;
  revokedAt: string | null;
}

interface KeysFile {
  version: 1;
  keys: ApiKeyRecord[];
}

export const API_KEY_PREFIX = 'shl_';

function hash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function readKeysFile(path: string): ApiKeyRecord[] {
  if (!existsSync(path)) return [];
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as KeysFile;
  if (parsed.version !== 1 || !Array.isArray(parsed.keys)) {
    throw new ShardlineError('ERR_KEYS_FILE', `${path} is not a Shardline keys file (version 1)`);
  }
  for (const key of parsed.keys) {
    if (!key.roles.every(isRole))
      throw new ShardlineError('ERR_KEYS_FILE', `${path}: key ${key.id} has an unknown role`);
  }
  return parsed.keys;
}

function writeKeysFile(path: string, keys: ApiKeyRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(
    temporary,
    JSON.stringify({ version: 1, keys } satisfies KeysFile, null, 2) + '\n',
    { mode: 0o600 },
  );
  renameSync(temporary, path);
}

/** Creates a key; returns the clear key (shown once) and its stored record. */
export function createApiKey(
  path: string,
  options: { name: string; roles: Role[]; streamPrefixes: string[] | null },
): { key: string; record: ApiKeyRecord } {
  const id = randomBytes(6).toString('base64url');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    id,
    name: options.name,
    sha256: hash(key),
    roles: options.roles,
    streamPrefixes: options.streamPrefixes,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  };
  writeKeysFile(path, [...readKeysFile(path), record]);
  return { key, record };
}

/** Marks a key revoked; false when no such key exists. */
export function revokeApiKey(path: string, id: string): boolean {
  const keys = readKeysFile(path);
  const key = keys.find((k) => k.id === id);
  if (key === undefined) return false;
  key.revokedAt ??= new Date().toISOString();
  writeKeysFile(path, keys);
  return true;
}

/** The server's view of the keys file. */
export class ApiKeyStore {
  readonly #path: string;
  #byHash = new Map<string, ApiKeyRecord>();
  #mtimeMs = -1;
  #checkedAt = 0;

  constructor(path: string) {
    this.#path = path;
    this.#reload();
  }

  #reload(): void {
    const mtimeMs = existsSync(this.#path) ? statSync(this.#path).mtimeMs : 0;
    if (mtimeMs === this.#mtimeMs) return;
    this.#mtimeMs = mtimeMs;
    this.#byHash = new Map(readKeysFile(this.#path).map((k) => [k.sha256, k]));
  }

  /** The principal of a clear key, or null when it is unknown or revoked. */
  verify(key: string): Principal | null {
    const now = Date.now();
    if (now - this.#checkedAt >= 1000) {
      this.#checkedAt = now;
      this.#reload();
    }
    const digest = hash(key);
    const record = this.#byHash.get(digest);
    if (record === undefined || record.revokedAt !== null) return null;
    // The Map lookup already matched; compare again in constant time for good measure.
    if (!timingSafeEqual(Buffer.from(record.sha256, 'hex'), Buffer.from(digest, 'hex')))
      return null;
    return {
      id: `key:${record.id}`,
      roles: new Set(record.roles),
      streamPrefixes: record.streamPrefixes,
    };
  }

  /** Forces a re-read on the next verification (for tests and `keys revoke` in-process). */
  refresh(): void {
    this.#checkedAt = 0;
    this.#mtimeMs = -1;
  }
}
