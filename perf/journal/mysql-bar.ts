/**
 * The MySQL journal's bar in one run: MariaDB's own bulk-insert ceiling, then Shardline end to
 * end into the same server, then the ratio of one to the other.
 *
 *   npm run bench:mysql-bar -- [--events 300000] [--runs 3] [--url mysql://root@127.0.0.1:3306]
 *                              [--warm-up 50000]
 *
 * Each of `--runs` rounds runs both steps once, one after the other:
 * 1. `perf/journal/mysql-insert.ts --variants raw-batch,raw-batch-pipelined,…` with
 *    `--rows <events>`: the raw driver's `batch()` with 1,000 rows per transaction on 1 and 2
 *    connections, one transaction after another and pipelined as the journal's commit lanes
 *    pipeline them (the ceilings), and the worst design (one autocommitted INSERT per event)
 *    for contrast. For context, not as a ceiling: the pipelined 1-connection one again while a
 *    busy loop holds the other core, as the server holds it end to end.
 * 2. `perf/e2e/ws-throughput.ts --journal <url> --workers 0,2`: one local client sending
 *    100-event batches of 120-byte payloads through the server, single-threaded and with 2
 *    shard workers (the default on 2 cores), each run on a fresh database.
 *
 * Then the ratios, from the medians over the rounds: each runtime against the best ceiling, and
 * the best end-to-end rate against the best ceiling, which is the bar (75%). The best of the
 * four is the fair ceiling: the server writes through one pipelined connection per thread, and
 * runs one thread or two. Each round's own ratio is listed too, and for each runtime the share
 * of the run its writer connections had a statement in flight (bench:e2e's `journalBusyShare`):
 * near 100%, the database set the pace, not the server's turn-around between statements. And
 * the rate at which the CPU that the server, MariaDB and the client each spent per event would
 * keep every core busy: what the machine allows at those costs, whatever the overlap.
 *
 * Both steps measure warm code. Before each measurement, each ceiling's writer writes
 * `--warm-up` rows into a scratch database, and the server gets `--warm-up` events on streams
 * of its own. Without that, the ceilings' first variant and every server (a fresh process per
 * run) compiled their hot code while the clock ran, the server far more of it: 165 functions,
 * about 0.9 s of its compiler threads in a 4 s run (`--trace-opt`), where a server that has
 * been up for a while has none left to compile. 0 measures both cold, as before.
 *
 * Rounds rather than all of one step and then all of the other, so that a machine that speeds
 * up or slows down during the run moves both figures alike. Every measured run starts once
 * InnoDB has flushed what the run before it left (see `settleInnodb`).
 *
 * Both steps run as child processes, so that neither loads the machine while the other
 * measures. Results: perf/results/mysql-bar.json and .md, with each round's step files under
 * perf/results/mysql-bar/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { machineInfo } from '../lib/machine.js';
import { DEFAULT_MYSQL_URL } from '../lib/mariadb.js';
import {
  commandLine,
  formatCount,
  markdownTable,
  median,
  repoRelative,
  resultsPath,
  writeResults,
} from '../lib/results.js';
import { parsePerfArgs } from '../lib/args.js';

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    events: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '3' },
    url: { type: 'string', default: DEFAULT_MYSQL_URL },
    'warm-up': { type: 'string', default: '50000' },
  },
});
const BAR = 0.75;
const ROUNDS = Number(values.runs);
const roundFile = (step: string, round: number): string =>
  resultsPath(`mysql-bar/${step}-${round}.json`);

function step(script: string, args: string[]): void {
  const path = new URL(`../${script}`, import.meta.url).pathname;
  const run = spawnSync(process.execPath, [path, ...args], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`${script} failed (${run.status ?? run.signal})`);
}

interface InsertResult {
  variant: string;
  connections: number;
  medianRowsPerSecond: number;
  databaseCpuUsPerRow?: number;
}
interface EndToEnd {
  workers: number;
  median: {
    eventsPerSecond: number;
    ackLatencyP50Ms: number;
    ackLatencyP99Ms: number;
    serverCpuUsPerEvent: number;
    databaseCpuUsPerEvent?: number;
    clientCpuUsPerEvent?: number;
    /** Share of the run with a statement in flight on each writer connection (bench:e2e). */
    journalBusyShare?: number;
  };
}
/** The ceilings: the raw driver's `batch()`, serial or pipelined, on 1 or 2 connections. */
const CEILINGS = [
  { name: 'serial, 1 connection', variant: 'raw batch()', connections: 1 },
  { name: 'serial, 2 connections', variant: 'raw batch()', connections: 2 },
  { name: 'pipelined, 1 connection', variant: 'raw batch() pipelined', connections: 1 },
  { name: 'pipelined, 2 connections', variant: 'raw batch() pipelined', connections: 2 },
] as const;
interface Round {
  /** Rows/s of each of CEILINGS, in order. */
  ceilings: number[];
  ceilingDatabaseCpuUsPerRow: (number | null)[];
  worst: number | undefined;
  /** The pipelined 1-connection ceiling while a busy loop holds the other core (context). */
  busyCore: InsertResult | undefined;
  endToEnd: EndToEnd[];
}

// The folder holds this benchmark's round files only: an earlier run with more rounds must not
// leave files that this run's summary does not list.
rmSync(resultsPath('mysql-bar'), { recursive: true, force: true });
mkdirSync(resultsPath('mysql-bar'), { recursive: true });
const rounds: Round[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round} of ${ROUNDS}`);
  const ceilingFile = roundFile('ceiling', round);
  const endToEndFile = roundFile('e2e', round);
  step('journal/mysql-insert.js', [
    '--rows',
    values.events,
    '--runs',
    '1',
    '--variants',
    'raw-batch,raw-batch-pipelined,raw-batch-pipelined-busy-core,worst',
    '--url',
    values.url,
    '--warm-up-rows',
    values['warm-up'],
    '--out',
    ceilingFile,
  ]);
  step('e2e/ws-throughput.js', [
    '--journal',
    values.url,
    '--workers',
    '0,2',
    '--events',
    values.events,
    '--runs',
    '1',
    '--warm-up-events',
    values['warm-up'],
    '--out',
    endToEndFile,
  ]);
  const insert = JSON.parse(readFileSync(ceilingFile, 'utf8')) as { results: InsertResult[] };
  const ceilings = CEILINGS.map(({ variant, connections }) => {
    const found = insert.results.find(
      (r) => r.variant === variant && r.connections === connections,
    );
    if (found === undefined) throw new Error(`no ${variant} x${connections} in ${ceilingFile}`);
    return found;
  });
  rounds.push({
    ceilings: ceilings.map((c) => c.medianRowsPerSecond),
    ceilingDatabaseCpuUsPerRow: ceilings.map((c) => c.databaseCpuUsPerRow ?? null),
    worst: insert.results.find((r) => r.variant.startsWith('worst'))?.medianRowsPerSecond,
    busyCore: insert.results.find((r) => r.variant.startsWith('other core busy')),
    endToEnd: (JSON.parse(readFileSync(endToEndFile, 'utf8')) as { configurations: EndToEnd[] })
      .configurations,
  });
}

const medianOrNull = (numbers: (number | null | undefined)[]): number | null =>
  numbers.every((n) => typeof n === 'number') ? median(numbers) : null;
const ceilings = CEILINGS.map((c, i) => ({
  name: c.name,
  rowsPerSecond: median(rounds.map((r) => r.ceilings[i]!)),
  databaseCpuUsPerRow: medianOrNull(rounds.map((r) => r.ceilingDatabaseCpuUsPerRow[i])),
}));
const bestCeiling = Math.max(...ceilings.map((c) => c.rowsPerSecond));
const bestCeilingName = ceilings.find((c) => c.rowsPerSecond === bestCeiling)!.name;
const worst = medianOrNull(rounds.map((r) => r.worst));
const busyCore = {
  rowsPerSecond: medianOrNull(rounds.map((r) => r.busyCore?.medianRowsPerSecond)),
  databaseCpuUsPerRow: medianOrNull(rounds.map((r) => r.busyCore?.databaseCpuUsPerRow)),
};
const CORES = availableParallelism();
const workerConfigs = rounds[0]!.endToEnd.map((c) => c.workers);
const rows = workerConfigs.map((workers) => {
  const runs = rounds.map((r) => r.endToEnd.find((c) => c.workers === workers)!.median);
  const eventsPerSecond = median(runs.map((m) => m.eventsPerSecond));
  const serverCpuUsPerEvent = median(runs.map((m) => m.serverCpuUsPerEvent));
  const databaseCpuUsPerEvent = medianOrNull(runs.map((m) => m.databaseCpuUsPerEvent));
  const clientCpuUsPerEvent = medianOrNull(runs.map((m) => m.clientCpuUsPerEvent));
  // The rate at which the server, MariaDB and the client, at the median CPU each spent per
  // event, would keep every core of the machine busy: an upper bound at these costs. Below the
  // bar, no amount of overlap or waiting less reaches it; only a lower cost per event does.
  const cpuUsPerEvent =
    databaseCpuUsPerEvent === null || clientCpuUsPerEvent === null
      ? null
      : serverCpuUsPerEvent + databaseCpuUsPerEvent + clientCpuUsPerEvent;
  return {
    runtime: workers === 0 ? 'single-threaded' : `${workers} workers`,
    eventsPerSecond,
    ackLatencyP50Ms: median(runs.map((m) => m.ackLatencyP50Ms)),
    ackLatencyP99Ms: median(runs.map((m) => m.ackLatencyP99Ms)),
    serverCpuUsPerEvent,
    databaseCpuUsPerEvent,
    clientCpuUsPerEvent,
    allCoresBusyEventsPerSecond:
      cpuUsPerEvent === null ? null : Math.round((CORES * 1e6) / cpuUsPerEvent),
    journalBusyShare: medianOrNull(runs.map((m) => m.journalBusyShare)),
    ofEachCeiling: ceilings.map((c) => Number((eventsPerSecond / c.rowsPerSecond).toFixed(3))),
  };
});
const best = Math.max(...rows.map((r) => r.eventsPerSecond));
// Each round's best end-to-end rate against its own best ceiling: how far the rounds agree.
const roundRatios = rounds.map((r) =>
  Number(
    (
      Math.max(...r.endToEnd.map((c) => c.median.eventsPerSecond)) / Math.max(...r.ceilings)
    ).toFixed(3),
  ),
);
const summary = {
  benchmark: 'mysql-bar',
  command: commandLine('bench:mysql-bar'),
  machine: machineInfo(),
  workload: {
    events: Number(values.events),
    rounds: ROUNDS,
    payloadBytes: 120,
    batchEvents: 100,
    rowsPerTransactionInCeiling: 1000,
    warmUpRowsOrEventsBeforeEachMeasurement: Number(values['warm-up']),
  },
  ceilings,
  bestCeiling: { name: bestCeilingName, rowsPerSecond: bestCeiling },
  worstDesignRowsPerSecond: worst,
  // Not a ceiling: the pipelined 1-connection one while a busy loop holds the other core, as a
  // server holds it in an end-to-end run (see `occupyOneCore` in mysql-insert.ts).
  pipelinedOneConnectionWithTheOtherCoreBusy: busyCore,
  endToEnd: rows,
  bar: {
    ofBestCeiling: BAR,
    reached: Number((best / bestCeiling).toFixed(3)),
    met: best >= BAR * bestCeiling,
    eachRound: roundRatios,
  },
  steps: rounds.flatMap((_, i) => [
    repoRelative(roundFile('ceiling', i + 1)),
    repoRelative(roundFile('e2e', i + 1)),
  ]),
};
const markdown =
  `# MySQL journal against MariaDB's bulk-insert ceiling\n\n` +
  `\`${summary.command}\`; the machine, Node version and payload are in mysql-bar.json. ` +
  `Medians of ${ROUNDS} rounds (each: the ceiling, then end to end).\n\n` +
  `Ceilings (raw \`batch()\`, 1,000 rows per transaction):\n\n` +
  markdownTable(
    ['Ceiling', 'Rows/s', 'MariaDB CPU µs per row'],
    ceilings.map((c) => [c.name, formatCount(c.rowsPerSecond), `${c.databaseCpuUsPerRow ?? '?'}`]),
  ) +
  `\nWorst design (one autocommitted INSERT per event): ` +
  `${worst === null ? 'not measured' : `${formatCount(worst)} rows/s`}.\n\n` +
  `Context, not a ceiling: pipelined, 1 connection, while a busy loop holds the other core ` +
  `(as the server holds it end to end): ` +
  `${busyCore.rowsPerSecond === null ? 'not measured' : `${formatCount(busyCore.rowsPerSecond)} rows/s, ${busyCore.databaseCpuUsPerRow ?? '?'} µs of MariaDB CPU per row`}.\n\n` +
  markdownTable(
    [
      'Runtime',
      'Events/s',
      'p50 / p99 ms',
      'CPU µs per event: server / MariaDB / client',
      `All ${CORES} cores busy at these costs`,
      'Writer connection busy',
      ...ceilings.map((c) => `Of ${c.name}`),
    ],
    rows.map((r) => [
      r.runtime,
      formatCount(r.eventsPerSecond),
      `${r.ackLatencyP50Ms} / ${r.ackLatencyP99Ms}`,
      `${r.serverCpuUsPerEvent} / ${r.databaseCpuUsPerEvent ?? '?'} / ${r.clientCpuUsPerEvent ?? '?'}`,
      r.allCoresBusyEventsPerSecond === null
        ? '?'
        : `${formatCount(r.allCoresBusyEventsPerSecond)} (${Math.round((r.allCoresBusyEventsPerSecond / bestCeiling) * 100)}% of the best ceiling)`,
      r.journalBusyShare === null ? '?' : `${Math.round(r.journalBusyShare * 100)}%`,
      ...r.ofEachCeiling.map((ratio) => `${Math.round(ratio * 100)}%`),
    ]),
  ) +
  `\nBar: ${BAR * 100}% of the best ceiling (${bestCeilingName}); reached ${Math.round(summary.bar.reached * 100)}%` +
  ` (${summary.bar.met ? 'met' : 'not met'}); each round on its own: ` +
  `${roundRatios.map((r) => `${Math.round(r * 100)}%`).join(', ')}.\n`;
writeResults(resultsPath('mysql-bar'), summary, markdown);
console.log(markdown);
