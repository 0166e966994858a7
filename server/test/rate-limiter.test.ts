/**
 * The rate limiter's own bookkeeping: its limits are shown end to end in security.test.ts;
 * here, that its memory stays bounded without letting anyone past a limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from '../src/security/rate-limiter.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('idle principals are forgotten; throttled or connected ones are kept', async () => {
  const limiter = new RateLimiter({
    eventsPerSecond: 100,
    batchesPerSecond: 0,
    connectionsPerPrincipal: 1,
  });
  // A throttled principal (its bucket empty for about a second) and a connected one.
  assert.deepEqual(limiter.takeBatch('busy', 100), { allowed: true });
  assert.equal(limiter.takeBatch('busy', 50).allowed, false);
  assert.equal(limiter.openConnection('connected'), true);
  // Many principals that each send one event: their buckets are full again 10 ms later.
  for (let i = 0; i < 15_000; i++) limiter.takeBatch(`idle-${i}`, 1);
  await sleep(50);
  for (let i = 0; i < 15_000; i++) limiter.takeBatch(`later-${i}`, 1);
  assert.ok(limiter.size < 20_000, `${limiter.size} principals tracked after 30,000`);
  // The kept ones still have their state: no second connection, no events yet.
  assert.equal(limiter.openConnection('connected'), false);
  assert.equal(limiter.takeBatch('busy', 100).allowed, false);
});
