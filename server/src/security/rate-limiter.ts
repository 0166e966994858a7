/**
 * Token buckets per principal, for events/s and batches/s, and a cap on connections per
 * principal. A bucket holds up to one second of its rate and refills continuously.
 */
export interface RateLimits {
  /** 0 disables the limit. */
  eventsPerSecond: number;
  batchesPerSecond: number;
  connectionsPerPrincipal: number;
}

class TokenBucket {
  #tokens: number;
  #updatedMs: number;
  readonly #ratePerMs: number;
  readonly #capacity: number;

  constructor(ratePerSecond: number, nowMs: number) {
    this.#capacity = ratePerSecond;
    this.#tokens = ratePerSecond;
    this.#ratePerMs = ratePerSecond / 1000;
    this.#updatedMs = nowMs;
  }

  /** Takes `count` tokens; returns 0 when granted, else the seconds until they would be. */
  take(count: number, nowMs: number): number {
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + (nowMs - this.#updatedMs) * this.#ratePerMs,
    );
    this.#updatedMs = nowMs;
    if (count <= this.#tokens) {
      this.#tokens -= count;
      return 0;
    }
    return Math.ceil((Math.min(count, this.#capacity) - this.#tokens) / this.#ratePerMs / 1000);
  }
}

interface PrincipalState {
  events: TokenBucket | null;
  batches: TokenBucket | null;
  connections: number;
}

export type RateDecision =
  | { allowed: true }
  | { allowed: false; reason: 'events' | 'batches'; retryAfterS: number };

const ALLOWED: RateDecision = { allowed: true };

export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #states = new Map<string, PrincipalState>();

  constructor(limits: RateLimits) {
    this.#limits = limits;
  }

  #state(principal: string): PrincipalState {
    let state = this.#states.get(principal);
    if (state === undefined) {
      const now = Date.now();
      state = {
        events:
          this.#limits.eventsPerSecond > 0
            ? new TokenBucket(this.#limits.eventsPerSecond, now)
            : null,
        batches:
          this.#limits.batchesPerSecond > 0
            ? new TokenBucket(this.#limits.batchesPerSecond, now)
            : null,
        connections: 0,
      };
      this.#states.set(principal, state);
    }
    return state;
  }

  /** Charges one batch of `events` events to `principal`. */
  takeBatch(principal: string, events: number): RateDecision {
    const state = this.#state(principal);
    const now = Date.now();
    const batchWait = state.batches?.take(1, now) ?? 0;
    if (batchWait > 0) return { allowed: false, reason: 'batches', retryAfterS: batchWait };
    const eventWait = state.events?.take(events, now) ?? 0;
    if (eventWait > 0) return { allowed: false, reason: 'events', retryAfterS: eventWait };
    return ALLOWED;
  }

  /** Counts a new connection; false when the principal is at its cap. */
  openConnection(principal: string): boolean {
    const state = this.#state(principal);
    if (
      this.#limits.connectionsPerPrincipal > 0 &&
      state.connections >= this.#limits.connectionsPerPrincipal
    )
      return false;
    state.connections++;
    return true;
  }

  closeConnection(principal: string): void {
    const state = this.#states.get(principal);
    if (state !== undefined) state.connections = Math.max(0, state.connections - 1);
  }
}
