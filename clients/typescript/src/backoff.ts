/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): the delay is uniform in `[0, min(cap, base * 2^attempt))`. Full jitter spreads the
 * retries of many clients that failed together (a server restart disconnects them all at
 * once), so they do not come back in synchronised waves.
 */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number): number {
  // 2^30 already exceeds any cap; stopping there avoids Infinity * 0 and overflow.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.random() * ceiling);
}
