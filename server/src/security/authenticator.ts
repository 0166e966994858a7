/**
 * Turns a credential (an API key or a JWT) into a Principal, or refuses it with a reason.
 *
 * JWTs are verified with jose: HS256 with a shared secret, RS256/ES256 with a public key, or a
 * JWKS URL; `exp` is required, and `iss`/`aud` are checked when configured. Claims: `sub` (the
 * principal id), `roles` (array of producer, reader, admin) and optionally `streams` (array of
 * stream prefixes; absent means every stream).
 */
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose';
import { ShardlineError } from '../../../protocol/index.js';
import { API_KEY_PREFIX, ApiKeyStore } from './api-keys.js';
import { DEVELOPMENT_PRINCIPAL, isRole, type Principal } from './principal.js';

export interface AuthConfig {
  enabled: boolean;
  keysFile: string;
  jwtSecret: string | null;
  jwtPublicKeyFile: string | null;
  jwtAlgorithm: 'RS256' | 'ES256';
  jwksUrl: string | null;
  jwtIssuer: string | null;
  jwtAudience: string | null;
}

/** A refused credential: 401 on HTTP and on upgrade. `reason` feeds the rejection metric. */
export class AuthError extends ShardlineError {
  readonly status: 401 | 403;
  readonly reason: string;

  constructor(status: 401 | 403, reason: string, message: string) {
    super(status === 401 ? 'ERR_UNAUTHENTICATED' : 'ERR_FORBIDDEN', message);
    this.name = 'AuthError';
    this.status = status;
    this.reason = reason;
  }
}

const BEARER = /^(?:Bearer|ApiKey)\s+(\S+)$/i;
export const WS_BEARER_PROTOCOL_PREFIX = 'shardline.bearer.';

/**
 * The credential of a request: `Authorization: Bearer <key or JWT>`, or, for browsers that
 * cannot set headers on a WebSocket, a `shardline.bearer.<credential>` subprotocol.
 */
export function credentialFrom(authorization: string, webSocketProtocol = ''): string | null {
  const match = BEARER.exec(authorization.trim());
  if (match !== null) return match[1]!;
  for (const protocol of webSocketProtocol.split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(WS_BEARER_PROTOCOL_PREFIX))
      return trimmed.slice(WS_BEARER_PROTOCOL_PREFIX.length);
  }
  return null;
}

export class Authenticator {
  readonly #config: AuthConfig;
  readonly #keys: ApiKeyStore;
  #jwtKey: Uint8Array | KeyObject | JWTVerifyGetKey | null = null;
  #algorithms: string[] = [];

  private constructor(config: AuthConfig) {
    this.#config = config;
    this.#keys = new ApiKeyStore(config.keysFile);
  }

  static async create(config: AuthConfig): Promise<Authenticator> {
    const authenticator = new Authenticator(config);
    if (config.jwtSecret !== null) {
      authenticator.#jwtKey = new TextEncoder().encode(config.jwtSecret);
      authenticator.#algorithms = ['HS256'];
    } else if (config.jwtPublicKeyFile !== null) {
      authenticator.#jwtKey = await importSPKI(
        readFileSync(config.jwtPublicKeyFile, 'utf8'),
        config.jwtAlgorithm,
      );
      authenticator.#algorithms = [config.jwtAlgorithm];
    } else if (config.jwksUrl !== null) {
      authenticator.#jwtKey = createRemoteJWKSet(new URL(config.jwksUrl));
      authenticator.#algorithms = ['RS256', 'ES256'];
    }
    return authenticator;
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  get keys(): ApiKeyStore {
    return this.#keys;
  }

  /** The principal of `credential`; throws AuthError (401) when it is missing or not valid. */
  async authenticate(credential: string | null): Promise<Principal> {
    if (!this.#config.enabled) return DEVELOPMENT_PRINCIPAL;
    if (credential === null)
      throw new AuthError(
        401,
        'missing',
        'credentials are required (Authorization: Bearer <key or JWT>)',
      );
    if (credential.startsWith(API_KEY_PREFIX)) {
      const principal = this.#keys.verify(credential);
      if (principal === null)
        throw new AuthError(401, 'bad_key', 'the API key is unknown or revoked');
      return principal;
    }
    if (this.#jwtKey === null)
      throw new AuthError(401, 'bad_token', 'JWTs are not accepted by this server');
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.#algorithms,
        requiredClaims: ['exp', 'sub'],
        ...(this.#config.jwtIssuer === null ? {} : { issuer: this.#config.jwtIssuer }),
        ...(this.#config.jwtAudience === null ? {} : { audience: this.#config.jwtAudience }),
      };
      const key = this.#jwtKey;
      ({ payload } =
        typeof key === 'function'
          ? await jwtVerify(credential, key, options)
          : await jwtVerify(credential, key, options));
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERR_JWT_INVALID';
      const reason =
        code === 'ERR_JWT_EXPIRED'
          ? 'expired_token'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? 'bad_claims'
            : 'bad_token';
      throw new AuthError(401, reason, `the JWT was refused (${code})`);
    }
    const roles = Array.isArray(payload['roles']) ? payload['roles'].filter(isRole) : [];
    const streams = payload['streams'];
    return {
      id: `jwt:${payload.sub!}`,
      roles: new Set(roles),
      streamPrefixes: Array.isArray(streams)
        ? streams.filter((s): s is string => typeof s === 'string')
        : null,
    };
  }
}
