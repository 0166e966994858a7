/**
 * The checks every route and frame runs, shared by HTTP and WebSocket: who is calling
 * (authentication), may they (role, stream prefixes), and are they within their rates.
 */
import { randomUUID } from 'node:crypto';
import type { ServerMetrics } from '../observability/metrics.js';
import { AuthError, type Authenticator } from './authenticator.js';
import { mayAccessStream, type Principal, type Role } from './principal.js';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

export class AccessControl {
  readonly authenticator: Authenticator;
  readonly limiter: RateLimiter;
  readonly #metrics: ServerMetrics;

  constructor(authenticator: Authenticator, limiter: RateLimiter, metrics: ServerMetrics) {
    this.authenticator = authenticator;
    this.limiter = limiter;
    this.#metrics = metrics;
  }

  /**
   * Authenticates and checks the role (null: any role will do); throws AuthError (401 or 403),
   * counted by reason.
   */
  async admit(credential: string | null, role: Role | null): Promise<Principal> {
    try {
      const principal = await this.authenticator.authenticate(credential);
      if (role === null ? principal.roles.size === 0 : !principal.roles.has(role)) {
        throw new AuthError(
          403,
          'role',
          role === null ? 'the credential has no role' : `the ${role} role is required`,
        );
      }
      return principal;
    } catch (error) {
      if (error instanceof AuthError) this.#metrics.authRejected(error.reason);
      throw error;
    }
  }

  /** Throws AuthError 403 when one of the streams lies outside the principal's prefixes. */
  checkStreams(principal: Principal, events: readonly { stream: string }[]): void {
    if (principal.streamPrefixes === null) return;
    for (let i = 0; i < events.length; i++) {
      const stream = events[i]!.stream;
      if (!mayAccessStream(principal, stream)) {
        this.#metrics.authRejected('stream_prefix');
        throw new AuthError(
          403,
          'stream_prefix',
          `stream ${JSON.stringify(stream)} is outside this credential's grant`,
        );
      }
    }
  }

  /** Charges a batch to the principal's rate limits, counting refusals. */
  takeBatch(principal: Principal, events: number): RateDecision {
    const decision = this.limiter.takeBatch(principal.id, events);
    if (!decision.allowed) this.#metrics.rateLimited(decision.reason);
    return decision;
  }
}

/** Longest correlation id accepted, in bytes (PROTOCOL.md section 7). */
export const MAX_CORRELATION_ID_BYTES = 128;

/**
 * The batch's correlation id: the client's, or a new one so that every batch can be traced.
 * Returns null when the client's is longer than the limit.
 */
export function batchCorrelationId(given: string | null): string | null {
  if (given === null || given.length === 0) return randomUUID();
  return Buffer.byteLength(given) <= MAX_CORRELATION_ID_BYTES ? given : null;
}
