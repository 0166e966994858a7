/** The perf suites' pure helpers: histogram merging, results files, /proc parsing, planning. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withRatios } from '../compare/outcome.js';
import { headerComment } from '../lib/args.js';
import {
  createLatencyHistogram,
  encodeHistogram,
  mergeHistograms,
  recordLatency,
  summarizeLatency,
  whereTheWorstBatchesFall,
} from '../lib/histogram.js';
import {
  findProcessByName,
  parseProcStatCpuSeconds,
  parseProcStatusMemory,
  processCpuSeconds,
  processMemory,
} from '../lib/proc-stats.js';
import { markdownTable, median, writeResults } from '../lib/results.js';
import { mergeTaskResults, planTasks, splitEvenly } from '../load/distributed-load.js';

describe('latency histograms', () => {
  test('histograms encoded in workers merge into one with every value', () => {
    const a = createLatencyHistogram();
    const b = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) recordLatency(a, i * 1000); // 1..1000 ms
    recordLatency(b, 5_000_000, 10); // ten events at 5 s
    const merged = mergeHistograms([encodeHistogram(a), encodeHistogram(b)]);
    assert.equal(merged.totalCount, 1010);
    const summary = summarizeLatency(merged);
    assert.equal(summary.count, 1010);
    assert.ok(Math.abs(summary.p50Ms - 505) < 2, `p50 ${summary.p50Ms}`);
    assert.ok(Math.abs(summary.maxMs - 5000) < 5, `max ${summary.maxMs}`);
    assert.ok(summary.p999Ms >= 4990);
  });

  test('values are clamped into the trackable range; an empty histogram summarises to zeros', () => {
    const histogram = createLatencyHistogram();
    recordLatency(histogram, -5);
    recordLatency(histogram, 1e12);
    assert.equal(histogram.totalCount, 2);
    assert.deepEqual(summarizeLatency(createLatencyHistogram()), {
      count: 0,
      p50Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
      meanMs: 0,
    });
  });
});

describe('results files', () => {
  test('writeResults writes base.json and base.md, creating folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-results-test-'));
    try {
      const written = writeResults(join(dir, 'nested', 'run'), { eventsPerSecond: 12 }, '# Run');
      assert.deepEqual(written, [join(dir, 'nested', 'run.json'), join(dir, 'nested', 'run.md')]);
      assert.deepEqual(JSON.parse(readFileSync(written[0]!, 'utf8')), { eventsPerSecond: 12 });
      assert.equal(readFileSync(written[1]!, 'utf8'), '# Run\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('median takes the middle run, the upper one of an even count, and leaves its input', () => {
    const runs = [30, 10, 20];
    assert.equal(median(runs), 20);
    assert.deepEqual(runs, [30, 10, 20]);
    assert.equal(median([4, 1, 3, 2]), 3);
  });

  test('markdownTable escapes pipes', () => {
    assert.equal(
      markdownTable(['Peer', 'Events/s'], [['a|b', 1]]),
      '| Peer | Events/s |\n| --- | --- |\n| a\\|b | 1 |\n',
    );
  });
});

describe('/proc readers', () => {
  test('CPU seconds are counted after the last parenthesis of the command name', () => {
    const stat = '42 (node (worker) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 9';
    assert.equal(parseProcStatCpuSeconds(stat, 100), 3);
  });

  test('VmRSS and VmHWM are read in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
    assert.deepEqual(parseProcStatusMemory(status), {
      rssBytes: 100 * 2 ** 20,
      peakRssBytes: 200 * 2 ** 20,
    });
  });

  test('this process can be measured (on Linux)', { skip: process.platform !== 'linux' }, () => {
    assert.ok((processCpuSeconds(process.pid) ?? -1) >= 0);
    assert.ok((processMemory(process.pid)?.rssBytes ?? 0) > 0);
    assert.equal(processCpuSeconds(2 ** 30), null);
  });

  test(
    'a process is found by its command name (on Linux)',
    { skip: process.platform !== 'linux' },
    () => {
      const name = readFileSync('/proc/self/comm', 'utf8').trim();
      const pid = findProcessByName([name]);
      assert.ok(pid !== null, `a process named ${name}`);
      assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), name);
      assert.equal(findProcessByName(['no-such-process-name']), null);
    },
  );
});

describe('load planning', () => {
  test('connections, events and rate are split between threads', () => {
    assert.deepEqual(splitEvenly(10, 3), [4, 3, 3]);
    const tasks = planTasks({
      url: 'ws://x',
      connections: 5,
      threads: 2,
      events: 1001,
      rate: 10_000,
      batch: 100,
      payloadBytes: 120,
      streams: 10,
      streamPrefix: 'p-',
      maxSeconds: 5,
      windowEvents: 1000,
    });
    assert.deepEqual(
      tasks.map((t) => [t.connections, t.events, t.rate]),
      [
        [3, 601, 6000],
        [2, 400, 4000],
      ],
    );
    assert.equal(planTasks({ ...tasks[0]!, connections: 1, threads: 4 }).length, 1);
  });

  test('task results merge: sums, the widest time span, events/s of the whole', () => {
    const histogram = createLatencyHistogram();
    recordLatency(histogram, 1000, 100);
    const result = (ok: number, startedAtMs: number, endedAtMs: number) => ({
      result: {
        events: ok,
        ok,
        duplicate: 0,
        wrongExpectedSeq: 0,
        invalid: 0,
        failed: 0,
        notSent: 0,
        seconds: (endedAtMs - startedAtMs) / 1000,
        eventsPerSecond: 0,
        startedAtMs,
        endedAtMs,
        errors: ['x'],
      },
      histogram: encodeHistogram(histogram),
    });
    const { merged, histogram: all } = mergeTaskResults([
      result(100, 1000, 2000),
      result(100, 1500, 3000),
    ]);
    assert.equal(all.totalCount, 200);
    assert.equal(merged.ok, 200);
    assert.equal(merged.seconds, 2);
    assert.equal(merged.eventsPerSecond, 100);
    assert.equal(merged.ackLatency.count, 200);
    assert.deepEqual(merged.errors, ['x']);
  });
});

describe('compare ratios', () => {
  test('each peer is divided by the baseline; no baseline gives null', () => {
    const outcomes = withRatios(
      [
        { id: 'base', label: 'B', status: 'ok', eventsPerSecond: 200 },
        { id: 'peer', label: 'P', status: 'ok', eventsPerSecond: 50 },
        { id: 'gone', label: 'G', status: 'skipped', reason: 'unreachable' },
      ],
      'base',
    );
    assert.deepEqual(
      outcomes.map((o) => o.ratioToShardline),
      [1, 0.25, undefined],
    );
    assert.equal(
      withRatios([{ id: 'peer', label: 'P', status: 'ok', eventsPerSecond: 5 }], 'base')[0]!
        .ratioToShardline,
      null,
    );
  });
});

test('the slow batches of a fixed-rate run are placed in the first second or after it', () => {
  // 100 batches/s for 3 s: the first ten slow, two more slow in the first second, and four
  // in the two seconds after it.
  const latencies = new Float64Array(300).fill(2);
  latencies.set([30, 25, 20, 15, 12, 10, 9, 8, 7, 6], 0);
  latencies[50] = 5.5;
  latencies[99] = 6;
  latencies[100] = 7; // due at 1,000 ms: the first second is over
  latencies[150] = 5; // not over 5 ms
  for (const i of [200, 250, 299]) latencies[i] = 9;
  assert.deepEqual(whereTheWorstBatchesFall(latencies, 10, 3), {
    firstTenBatchesMaxMs: 30,
    firstTenBatchesMedianMs: 12,
    batchesOver5MsFirstSecond: 12,
    batchesOver5MsPerLaterSecond: 2,
  });
});

test('a perf script prints its usage for --help, and one line for a mistyped option', () => {
  const script = fileURLToPath(new URL('../e2e/ws-throughput.js', import.meta.url));
  const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.equal(
    help.stdout.trim(),
    headerComment(new URL('../e2e/ws-throughput.js', import.meta.url).href),
  );
  assert.match(help.stdout, /npm run bench:e2e -- \[--events 500000\]/);
  const typo = spawnSync(process.execPath, [script, '--evnts', '5'], { encoding: 'utf8' });
  assert.equal(typo.status, 2);
  assert.equal(typo.stderr.trim(), "Unknown option '--evnts' (--help lists the options)");
});
