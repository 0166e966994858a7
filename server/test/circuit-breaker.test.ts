import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakerState, CircuitBreaker } from '../src/journal/circuit-breaker.js';

/** A probe the test answers by hand (fault injection), recording when it was called. */
function controlledProbe() {
  const calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let wake: (() => void) | null = null;
  return {
    calls,
    probe: () =>
      new Promise<void>((resolve, reject) => {
        calls.push({ resolve, reject });
        wake?.();
      }),
    /**
     * Resolves once the breaker has called the probe `count` times. The breaker's timers are
     * unref'd, so a ref'd guard keeps the test's event loop alive meanwhile.
     */
    called: (count: number) =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`probe ${count} never came`)), 10_000);
        const check = (): void => {
          if (calls.length >= count) {
            clearTimeout(guard);
            resolve();
          } else wake = check;
        };
        check();
      }),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('closed → open after consecutive failures; a success in between resets the count', () => {
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    backoffBaseMs: 10_000,
    backoffMaxMs: 10_000,
    probe: () => Promise.resolve(),
  });
  breaker.recordFailure(new Error('a'));
  breaker.recordFailure(new Error('b'));
  breaker.recordSuccess();
  breaker.recordFailure(new Error('c'));
  breaker.recordFailure(new Error('d'));
  assert.equal(breaker.state, BreakerState.closed);
  breaker.recordFailure(new Error('e'));
  assert.equal(breaker.state, BreakerState.open);
  assert.equal(breaker.isClosed(), false);
  assert.equal(breaker.opened, 1);
  breaker.dispose();
});

test('open → half-open probe; a failed probe reopens, a successful one closes', async () => {
  const probe = controlledProbe();
  const states: string[] = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 1,
    backoffBaseMs: 1,
    backoffMaxMs: 4,
    probe: probe.probe,
    onStateChange: (state) => states.push(state),
  });
  breaker.recordFailure(new Error('connection refused'));
  await probe.called(1);
  assert.equal(breaker.state, BreakerState.halfOpen);
  breaker.recordFailure(new Error('ignored while not closed'));
  probe.calls[0]!.reject(new Error('still down'));
  await settle();
  assert.equal(breaker.state, BreakerState.open);
  await probe.called(2);
  probe.calls[1]!.resolve();
  await settle();
  assert.equal(breaker.state, BreakerState.closed);
  assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  assert.equal(breaker.opened, 1);
  breaker.dispose();
});

test('the probe delay doubles after each failed probe up to its cap, with jitter in [50%, 100%]', async () => {
  const probe = controlledProbe();
  const breaker = new CircuitBreaker({
    failureThreshold: 1,
    backoffBaseMs: 2,
    backoffMaxMs: 16,
    probe: probe.probe,
    random: () => 0,
  });
  breaker.recordFailure(new Error('down'));
  const ceilings = [breaker.nextDelayMs() * 2];
  for (let failed = 1; failed <= 4; failed++) {
    await probe.called(failed);
    probe.calls[failed - 1]!.reject(new Error('still down'));
    await settle();
    ceilings.push(breaker.nextDelayMs() * 2);
  }
  assert.deepEqual(ceilings, [2, 4, 8, 16, 16]);
  breaker.dispose();

  const jittered = (random: number): number =>
    new CircuitBreaker({
      failureThreshold: 1,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      probe: probe.probe,
      random: () => random,
    }).nextDelayMs();
  assert.equal(jittered(0), 50);
  assert.equal(jittered(0.5), 75);
  assert.equal(jittered(0.999999), 100);
});

test('a disposed breaker stops probing', async () => {
  const probe = controlledProbe();
  const breaker = new CircuitBreaker({
    failureThreshold: 1,
    backoffBaseMs: 1,
    backoffMaxMs: 1,
    probe: probe.probe,
  });
  breaker.recordFailure(new Error('down'));
  breaker.dispose();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(probe.calls.length, 0);
});
