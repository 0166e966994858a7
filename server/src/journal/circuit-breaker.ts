/**
 * A circuit breaker for a back end that can become unreachable.
 *
 * ```
 *            failureThreshold consecutive failures
 *   closed ───────────────────────────────────────▶ open ◀──────────────┐
 *     ▲                                              │ backoff + jitter  │ probe failed:
 *     │ probe succeeded                              ▼                   │ backoff doubles
 *     └──────────────────────────────────────── half-open ───────────────┘
 * ```
 *
 * While it is not closed, callers refuse work at once (nothing queues behind a dead back end).
 * The breaker probes by itself, on a timer, rather than letting a caller's request through:
 * a runtime that refuses every append while the breaker is open would otherwise never send
 * the request that closes it.
 */

export const BreakerState = {
  closed: 'closed',
  open: 'open',
  halfOpen: 'half-open',
} as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

export interface CircuitBreakerOptions {
  /** Consecutive failures (connection lost, connect refused, timeout) that open the breaker. */
  failureThreshold: number;
  /** Delay before the first probe after opening, in ms (before jitter). */
  backoffBaseMs: number;
  /** Upper bound of the delay between probes, in ms (before jitter). */
  backoffMaxMs: number;
  /** Resolves when the back end is usable again; rejects otherwise. Must not hang. */
  probe: () => Promise<void>;
  /** Called on every state change, with the error that caused it (if any). */
  onStateChange?: (state: BreakerState, cause: unknown) => void;
  /** A uniform random number in [0, 1); replaceable for tests. */
  random?: () => number;
}

export const DEFAULT_BREAKER_OPTIONS = {
  failureThreshold: 2,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
} as const;

export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #random: () => number;
  #state: BreakerState = BreakerState.closed;
  #consecutiveFailures = 0;
  /** Probes failed since the breaker opened; the exponent of the backoff. */
  #probesFailed = 0;
  #timer: NodeJS.Timeout | null = null;
  #disposed = false;
  /** Times the breaker opened, for metrics and tests. */
  opened = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** True while requests may go to the back end. */
  isClosed(): boolean {
    return this.#state === BreakerState.closed;
  }

  /** A request reached the back end and got an answer (even an error answer). */
  recordSuccess(): void {
    if (this.#state === BreakerState.closed) this.#consecutiveFailures = 0;
  }

  /** A request could not reach the back end (connection lost or refused, timeout). */
  recordFailure(cause: unknown): void {
    if (this.#state !== BreakerState.closed || this.#disposed) return;
    if (++this.#consecutiveFailures >= this.#options.failureThreshold) this.#open(cause);
  }

  /** The delay before the next probe: exponential, capped, with jitter in [50%, 100%]. */
  nextDelayMs(): number {
    const ceiling = Math.min(
      this.#options.backoffMaxMs,
      this.#options.backoffBaseMs * 2 ** Math.min(this.#probesFailed, 30),
    );
    // "Equal jitter": never less than half the ceiling (no probe storm), and spread enough that
    // many journals (one per worker, several nodes) do not probe in lockstep.
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  #open(cause: unknown): void {
    this.#state = BreakerState.open;
    this.opened++;
    this.#probesFailed = 0;
    this.#options.onStateChange?.(BreakerState.open, cause);
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#disposed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#probe();
    }, this.nextDelayMs());
    // A breaker waiting to probe must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    if (this.#disposed) return;
    this.#state = BreakerState.halfOpen;
    this.#options.onStateChange?.(BreakerState.halfOpen, null);
    try {
      await this.#options.probe();
    } catch (cause) {
      if (this.#disposed) return;
      this.#probesFailed++;
      this.#state = BreakerState.open;
      this.#options.onStateChange?.(BreakerState.open, cause);
      this.#scheduleProbe();
      return;
    }
    if (this.#disposed) return;
    this.#state = BreakerState.closed;
    this.#consecutiveFailures = 0;
    this.#options.onStateChange?.(BreakerState.closed, null);
  }

  /** Stops probing for good (the journal is closing). */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
