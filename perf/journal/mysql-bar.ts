/**
 * The MySQL journal's bar in one run: MariaDB's own bulk-insert ceiling, then Shardline end to
 * end into the same server, then the ratio of one to the other.
 *
 *   npm run bench:mysql-bar -- [--events 300000] [--runs 3] [--url mysql://root@127.0.0.1:3306]
 *
 * 1. `perf/journal/mysql-insert.ts` with `--rows <events>`: the raw driver's `batch()` with 1,000
 *    rows per transaction on 1 and 2 connections (the ceiling), the journal's own commit, and
 *    the worst design (one autocommitted INSERT per event) for contrast.
 * 2. `perf/e2e/ws-throughput.ts --journal <url> --workers 0,2`: one local client sending
 *    100-event batches of 120-byte payloads through the server, single-threaded and with 2
 *    shard workers (the default on 2 cores), each run on a fresh database.
 * 3. The ratios: each runtime against both ceilings, and the best end-to-end rate against the
 *    best ceiling, which is the bar (75%). The server writes through more than one connection
 *    (a commit lane each, 2 per thread by default), so the best ceiling is the fair one.
 *
 * Both steps run as child processes, one after the other, so that neither loads the machine
 * while the other measures. Results: perf/results/mysql-bar.json and .md, with the two steps'
 * own files under perf/results/mysql-bar/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { machineInfo } from '../lib/machine.js';
import { DEFAULT_MYSQL_URL } from '../lib/mariadb.js';
import {
  commandLine,
  formatCount,
  markdownTable,
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
  },
});
const BAR = 0.75;
const ceilingFile = resultsPath('mysql-bar/ceiling.json');
const endToEndFile = resultsPath('mysql-bar/e2e.json');

function step(script: string, args: string[]): void {
  const path = new URL(`../${script}`, import.meta.url).pathname;
  const run = spawnSync(process.execPath, [path, ...args], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`${script} failed (${run.status ?? run.signal})`);
}

mkdirSync(dirname(ceilingFile), { recursive: true });
step('journal/mysql-insert.js', [
  '--rows',
  values.events,
  '--runs',
  values.runs,
  '--url',
  values.url,
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
  values.runs,
  '--out',
  endToEndFile,
]);

interface InsertResult {
  variant: string;
  connections: number;
  medianRowsPerSecond: number;
}
interface EndToEnd {
  workers: number;
  median: {
    eventsPerSecond: number;
    ackLatencyP50Ms: number;
    ackLatencyP99Ms: number;
    serverCpuUsPerEvent: number;
    databaseCpuUsPerEvent?: number;
  };
}
const insert = JSON.parse(readFileSync(ceilingFile, 'utf8')) as { results: InsertResult[] };
const endToEnd = JSON.parse(readFileSync(endToEndFile, 'utf8')) as {
  configurations: EndToEnd[];
};
const rowsPerSecond = (variant: string, connections: number): number => {
  const found = insert.results.find((r) => r.variant === variant && r.connections === connections);
  if (found === undefined) throw new Error(`no ${variant} x${connections} in ${ceilingFile}`);
  return found.medianRowsPerSecond;
};
const ceiling = { 1: rowsPerSecond('raw batch()', 1), 2: rowsPerSecond('raw batch()', 2) };
const bestCeiling = Math.max(ceiling[1], ceiling[2]);
const worst = insert.results.find((r) => r.variant.startsWith('worst'))?.medianRowsPerSecond;
const rows = endToEnd.configurations.map((c) => ({
  runtime: c.workers === 0 ? 'single-threaded' : `${c.workers} workers`,
  eventsPerSecond: c.median.eventsPerSecond,
  ackLatencyP50Ms: c.median.ackLatencyP50Ms,
  ackLatencyP99Ms: c.median.ackLatencyP99Ms,
  serverCpuUsPerEvent: c.median.serverCpuUsPerEvent,
  databaseCpuUsPerEvent: c.median.databaseCpuUsPerEvent ?? null,
  ofOneConnectionCeiling: Number((c.median.eventsPerSecond / ceiling[1]).toFixed(3)),
  ofTwoConnectionCeiling: Number((c.median.eventsPerSecond / ceiling[2]).toFixed(3)),
}));
const best = Math.max(...rows.map((r) => r.eventsPerSecond));
const summary = {
  benchmark: 'mysql-bar',
  command: commandLine('bench:mysql-bar'),
  machine: machineInfo(),
  workload: {
    events: Number(values.events),
    runs: Number(values.runs),
    payloadBytes: 120,
    batchEvents: 100,
    rowsPerTransactionInCeiling: 1000,
  },
  ceilingRowsPerSecond: { oneConnection: ceiling[1], twoConnections: ceiling[2] },
  worstDesignRowsPerSecond: worst ?? null,
  endToEnd: rows,
  bar: {
    ofBestCeiling: BAR,
    reached: Number((best / bestCeiling).toFixed(3)),
    met: best >= BAR * bestCeiling,
  },
  steps: [repoRelative(ceilingFile), repoRelative(endToEndFile)],
};
const markdown =
  `# MySQL journal against MariaDB's bulk-insert ceiling\n\n` +
  `\`${summary.command}\`; the machine, Node version and payload are in mysql-bar.json. ` +
  `Medians of ${values.runs} runs.\n\n` +
  `Ceiling (raw \`batch()\`, 1,000 rows per transaction): ${formatCount(ceiling[1])} rows/s on ` +
  `1 connection, ${formatCount(ceiling[2])} on 2. Worst design (one autocommitted INSERT per ` +
  `event): ${worst === undefined ? 'not measured' : `${formatCount(worst)} rows/s`}.\n\n` +
  markdownTable(
    ['Runtime', 'Events/s', 'p50 / p99 ms', 'Of the 1-connection ceiling', 'Of 2 connections'],
    rows.map((r) => [
      r.runtime,
      formatCount(r.eventsPerSecond),
      `${r.ackLatencyP50Ms} / ${r.ackLatencyP99Ms}`,
      `${Math.round(r.ofOneConnectionCeiling * 100)}%`,
      `${Math.round(r.ofTwoConnectionCeiling * 100)}%`,
    ]),
  ) +
  `\nBar: ${BAR * 100}% of the best ceiling; reached ${Math.round(summary.bar.reached * 100)}%` +
  ` (${summary.bar.met ? 'met' : 'not met'}).\n`;
writeResults(resultsPath('mysql-bar'), summary, markdown);
console.log(markdown);
