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

  /** True when the bucket has refilled completely: forgetting it changes nothing. */
  isFull(nowMs: number): boolean {
    return this.#tokens + (nowMs - this.#updatedMs) * this.#ratePerMs >= this.#capacity;
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

/**
 * Past this many principals, the idle ones are forgotten: a principal with full buckets and no
 * connection carries no state. (Without this, every JWT subject ever seen would stay.)
 */
const SWEEP_ABOVE_PRINCIPALS = 10_000;

export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #states = new Map<string, PrincipalState>();
  #sweepAt = SWEEP_ABOVE_PRINCIPALS;

  constructor(limits: RateLimits) {
    this.#limits = limits;
  }

  #state(principal: string): PrincipalState {
    let state = this.#states.get(principal);
    if (state === undefined) {
      const now = Date.now();
      if (this.#states.size >= this.#sweepAt) this.#sweep(now);
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

  /** Principals currently tracked. */
  get size(): number {
    return this.#states.size;
  }

  #sweep(now: number): void {
    for (const [principal, state] of this.#states) {
      if (
        state.connections === 0 &&
        (state.events?.isFull(now) ?? true) &&
        (state.batches?.isFull(now) ?? true)
      ) {
        this.#states.delete(principal);
      }
    }
    // Doubling keeps the sweeps' cost constant per new principal when most are busy.
    this.#sweepAt = Math.max(SWEEP_ABOVE_PRINCIPALS, this.#states.size * 2);
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
