/**
 * Acceptance: the database goes away mid-stream (a TCP proxy the test controls is cut, as when
 * MariaDB stops: connections reset, new ones refused). While it is down, appends answer
 * `unavailable` within 1 s, readiness answers 503 and memory stays bounded; once it is back,
 * service resumes without a restart and no acknowledged event is missing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Status, type EventInput } from '../../protocol/index.js';
import {
  createTestDatabase,
  PipelinedClient,
  rssBytes,
  TcpProxy,
  type SentBatch,
  type TestDatabase,
} from './mysql-support.js';
import { makeEvents, removeDir, spawnServer, tempDir } from './support.js';

/** The bound for an append answered while the database is down. */
const UNAVAILABLE_WITHIN_MS = 1000;
/** Events acknowledged ok before the cut. */
const BEFORE_CUT_EVENTS = 20_000;
/** Batches sent while the database is down (each answered before the next window fills). */
const OUTAGE_BATCHES = 1500;
/** Generous: the server answers from memory it already has; it must not buffer the outage. */
const OUTAGE_RSS_GROWTH_MAX_BYTES = 256 * 1024 * 1024;
const MAX_RETRY_ROUNDS = 5;

let db: TestDatabase;
let proxy: TcpProxy;
const dataDir = tempDir();
after(async () => {
  removeDir(dataDir);
  await proxy?.close();
  await db?.drop();
});

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

async function ready(url: string): Promise<number> {
  return (await fetch(`${url}/health/ready`)).status;
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  // A deadline so that a broken build fails instead of hanging; not a timing assertion.
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function okEvents(batches: readonly SentBatch[]): Map<string, number> {
  const ok = new Map<string, number>();
  for (const batch of batches) {
    batch.events.forEach((event, i) => {
      if (batch.ack?.results.status[i] === Status.ok) {
        ok.set(hex(event.id), batch.ack.results.seq[i]!);
      }
    });
  }
  return ok;
}

/**
 * Sends `batches` and resends, with the same ids, every event answered `unavailable`, as a
 * client SDK does, until none is left (at most `MAX_RETRY_ROUNDS` rounds). `unavailable` right
 * after an outage is expected: a commit whose connection was cut after COMMIT reached the
 * server is reported failed although it committed, and the first group touching those streams
 * conflicts with it and is retried.
 */
async function settle(
  url: string,
  batches: EventInput[][],
  firstBatchId: bigint,
): Promise<{ final: Map<string, number>; unavailable: number; rounds: number }> {
  const final = new Map<string, number>();
  let pending = batches;
  let unavailable = 0;
  let rounds = 0;
  // Why events were still unavailable in the last round: the failure message names them.
  let reasons = new Map<string, number>();
  while (pending.length > 0) {
    assert.ok(
      ++rounds <= MAX_RETRY_ROUNDS,
      `retries settle within a few rounds; still unavailable: ${JSON.stringify([...reasons])}`,
    );
    reasons = new Map();
    const client = await PipelinedClient.connect(url, firstBatchId + BigInt(rounds) * 100_000n);
    const queue = [...pending];
    await client.run(
      () => queue.shift() ?? null,
      () => false,
    );
    await client.client.close();
    const again: EventInput[] = [];
    for (const batch of client.sent) {
      batch.events.forEach((event, i) => {
        const status = batch.ack!.results.status[i]!;
        final.set(hex(event.id), status);
        if (status === Status.unavailable) {
          unavailable++;
          again.push(event);
          const reason = batch.ack!.results.error.get(i) ?? '';
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      });
    }
    pending = [];
    for (let i = 0; i < again.length; i += 100) pending.push(again.slice(i, i + 100));
  }
  return { final, unavailable, rounds };
}

test('a database outage: unavailable within 1 s, 503, bounded memory, then recovery', async (t) => {
  db = await createTestDatabase();
  proxy = await TcpProxy.start('127.0.0.1', db.location.port);
  const server = await spawnServer(dataDir, ['--journal', db.urlVia('127.0.0.1', proxy.port)]);
  try {
    const nextBatch = (): EventInput[] => makeEvents(100, 100, 'outage-', 120);

    // 1. Stream until enough is committed, then cut the database off mid-stream.
    const client = await PipelinedClient.connect(server.wsUrl);
    let okCount = 0;
    let cutAtMs = 0;
    // Assigned in a callback, which narrowing cannot see: keep the declared union.
    let cut = null as Promise<void> | null;
    let outageBatches = 0;
    let peakRss = 0;
    let baselineRss = 0;
    await client.run(
      () => {
        if (cut !== null) {
          if (outageBatches++ >= OUTAGE_BATCHES) return null;
          if (outageBatches % 100 === 0) {
            peakRss = Math.max(peakRss, rssBytes(server.process.pid!));
          }
        }
        return nextBatch();
      },
      () => false,
      (batch) => {
        okCount += batch.ack!.results.status.filter((s) => s === Status.ok).length;
        if (cut === null && okCount >= BEFORE_CUT_EVENTS) {
          baselineRss = rssBytes(server.process.pid!);
          cutAtMs = performance.now();
          cut = proxy.cut();
        }
      },
    );
    await cut;
    peakRss = Math.max(peakRss, rssBytes(server.process.pid!));

    // 2. While it is down: every batch sent after the cut answered unavailable, within 1 s.
    const afterCut = client.sent.filter((b) => b.sentAtMs > cutAtMs);
    assert.ok(afterCut.length >= OUTAGE_BATCHES, `${afterCut.length} batches during the outage`);
    let slowestMs = 0;
    for (const batch of afterCut) {
      assert.ok(batch.ack !== null, 'every append is answered');
      assert.ok(
        batch.ack.results.status.every((s) => s === Status.unavailable),
        `batch ${batch.batchId} answers unavailable`,
      );
      slowestMs = Math.max(slowestMs, batch.ackedAtMs - batch.sentAtMs);
    }
    assert.ok(
      slowestMs < UNAVAILABLE_WITHIN_MS,
      `the slowest unavailable answer took ${slowestMs.toFixed(1)} ms`,
    );
    await eventually(async () => (await ready(server.url)) === 503, 'readiness to answer 503');
    assert.ok(
      peakRss - baselineRss < OUTAGE_RSS_GROWTH_MAX_BYTES,
      `RSS grew by ${((peakRss - baselineRss) / 2 ** 20).toFixed(0)} MiB during the outage`,
    );
    t.diagnostic(
      `batches during the outage: ${afterCut.length}, slowest unavailable answer: ` +
        `${slowestMs.toFixed(1)} ms, RSS ${(baselineRss / 2 ** 20).toFixed(0)} → ` +
        `peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );

    // 3. The database comes back: service resumes by itself, without a restart.
    await proxy.restore();
    await eventually(async () => (await ready(server.url)) === 200, 'readiness to answer 200');
    const fresh = await settle(server.wsUrl, [nextBatch(), nextBatch()], 1_000_000n);
    assert.ok(
      [...fresh.final.values()].every((s) => s === Status.ok),
      'fresh appends are ok again',
    );

    // 4. Nothing acknowledged is missing, and a retry of everything makes no second copy.
    const acked = okEvents(client.sent);
    const stored = new Map(
      (
        await db.query<{ id: string; seq: number }[]>('SELECT HEX(event_id) AS id, seq FROM events')
      ).map((r) => [r.id.toLowerCase(), r.seq]),
    );
    for (const [id, seq] of acked) assert.equal(stored.get(id), seq, `acked event ${id} is stored`);
    const retried = await settle(
      server.wsUrl,
      client.sent.map((b) => b.events),
      2_000_000n,
    );
    for (const [id, status] of retried.final) {
      assert.ok(status === Status.ok || status === Status.duplicate, `retry status ${status}`);
      if (acked.has(id)) assert.equal(status, Status.duplicate, `acked event ${id} is a duplicate`);
    }
    const sentEvents = retried.final.size;
    t.diagnostic(
      `after recovery: ${fresh.unavailable + retried.unavailable} answer(s) unavailable ` +
        `before a retry settled them (rounds: ${fresh.rounds}, ${retried.rounds})`,
    );
    const [count] = await db.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM events');
    assert.equal(Number(count!.n), sentEvents + 200, 'every event exactly once');
    await client.client.close();
  } finally {
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'SIGTERM shuts down cleanly');
  }
});
