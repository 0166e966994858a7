/**
 * `npm run perf:load`: drives the real server through the SDK over N connections, with the
 * client workers in piscina threads, flat out or at a target rate, for a bounded number of
 * events and time. Reports events/s, ack latency p50/p99/p99.9 (merged HDR histograms), and the
 * server's CPU (utime + stime from /proc over the run) and RSS. Writes
 * perf/results/load-<journal>.json and .md.
 *
 *   npm run perf:load -- [--journal sqlite|mysql|mysql://...] [--events 200000]
 *     [--connections 4] [--threads 2] [--batch 100] [--payload 120] [--rate 0]
 *     [--streams 1000] [--window 2000] [--max-seconds 120] [--workers N] [--server-arg --flag=v]
 *     [--url ws://... [--api-key K] [--server-pid P]] [--auth key|off] [--out name] [--verbose]
 *
 * `--journal mysql` makes a fresh database on 127.0.0.1:3306 (root) and drops it afterwards.
 * `--url` measures a server started elsewhere (its CPU and RSS only with `--server-pid`).
 */
import { availableParallelism } from 'node:os';
import { machineInfo } from '../lib/machine.js';
import { createFreshDatabase, DEFAULT_MYSQL_URL, parseMysqlServer } from '../lib/mariadb.js';
import { measureProcess, type ProcessUsage } from '../lib/proc-stats.js';
import {
  commandLine,
  formatCount,
  markdownTable,
  repoRelative,
  resultsPath,
  writeResults,
} from '../lib/results.js';
import { spawnServer, type ServerProcess } from '../lib/server-process.js';
import { runDistributedLoad, type DistributedLoadResult } from './distributed-load.js';
import { parsePerfArgs } from '../lib/args.js';

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    url: { type: 'string' },
    'api-key': { type: 'string' },
    'server-pid': { type: 'string' },
    journal: { type: 'string', default: 'sqlite' },
    mysql: { type: 'string', default: DEFAULT_MYSQL_URL },
    workers: { type: 'string' },
    'server-arg': { type: 'string', multiple: true, default: [] },
    auth: { type: 'string', default: 'key' },
    events: { type: 'string', default: '200000' },
    connections: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '100' },
    payload: { type: 'string', default: '120' },
    rate: { type: 'string', default: '0' },
    streams: { type: 'string', default: '1000' },
    window: { type: 'string', default: '2000' },
    'max-seconds': { type: 'string', default: '120' },
    out: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined, min = 1): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
  }
  return value;
}

const workload = {
  events: positive('events', values.events),
  connections: positive('connections', values.connections),
  threads: positive('threads', values.threads),
  batch: positive('batch', values.batch),
  payloadBytes: positive('payload', values.payload, 0),
  rate: positive('rate', values.rate, 0),
  streams: positive('streams', values.streams),
  windowEvents: positive('window', values.window),
  maxSeconds: positive('max-seconds', values['max-seconds']),
};
const external = values.url !== undefined;
const journalKind = external
  ? 'external'
  : values.journal === 'sqlite'
    ? 'sqlite'
    : values.journal.startsWith('mysql')
      ? 'mysql'
      : values.journal;

/** Taken before the run: the load average then says whether the machine was quiet. */
const machine = machineInfo();

async function main(): Promise<void> {
  let server: ServerProcess | null = null;
  let dropDatabase: (() => Promise<void>) | null = null;
  let url = values.url;
  let apiKey = values['api-key'] ?? process.env['SHARDLINE_API_KEY'];
  let serverPid = values['server-pid'] === undefined ? null : Number(values['server-pid']);
  try {
    if (!external) {
      let journal = values.journal;
      if (journal === 'mysql') {
        const database = await createFreshDatabase(
          parseMysqlServer(values.mysql),
          'shardline_load',
        );
        journal = database.url;
        dropDatabase = database.drop;
      }
      server = await spawnServer({
        journal,
        ...(values.workers === undefined
          ? {}
          : { workers: positive('workers', values.workers, 0) }),
        args: values['server-arg'],
        auth: values.auth === 'off' ? 'off' : 'key',
        verbose: values.verbose,
      });
      url = server.wsUrl;
      apiKey = server.apiKey;
      serverPid = server.pid;
      console.error(
        `perf:load: server pid ${server.pid} on ${server.wsUrl} (journal ${journalKind})`,
      );
    }
    console.error(
      `perf:load: ${formatCount(workload.events)} events over ${workload.connections} connection(s) in ` +
        `${Math.min(workload.threads, workload.connections)} thread(s), ` +
        `${workload.rate > 0 ? `target ${formatCount(workload.rate)} events/s` : 'flat out'}`,
    );
    const serverUsage = serverPid === null ? null : measureProcess(serverPid);
    const clientCpuBefore = process.cpuUsage();
    const clientStarted = performance.now();
    const result = await runDistributedLoad({
      url: url!,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...workload,
      streamPrefix: 'load-',
    });
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientSeconds = (performance.now() - clientStarted) / 1000;
    const usage = serverUsage?.() ?? null;
    const clientCpuSeconds = (clientCpu.user + clientCpu.system) / 1e6;
    report(result, usage, {
      cpuSeconds: Number(clientCpuSeconds.toFixed(2)),
      cpuPercent: Math.round((clientCpuSeconds / clientSeconds) * 100),
    });
    if (result.ok !== result.events) process.exitCode = 1;
  } finally {
    await server?.stop('SIGTERM');
    await dropDatabase?.();
  }
}

function report(
  result: DistributedLoadResult,
  server: ProcessUsage | null,
  client: { cpuSeconds: number; cpuPercent: number },
): void {
  const command = commandLine('perf:load');
  const summary = {
    benchmark: 'perf-load',
    command,
    machine,
    workload: {
      ...workload,
      offeredEventsPerSecond: workload.rate > 0 ? workload.rate : 'flat out',
      eventsPerCall: workload.batch,
      latency: 'per SDK append/appendMany call, from when the call was due to its results',
    },
    server: {
      spawned: !external,
      journal: journalKind,
      workers:
        values.workers === undefined
          ? `default (${availableParallelism()})`
          : Number(values.workers),
      auth: external ? 'as configured' : values.auth,
    },
    result,
    serverUsage: server,
    clientUsage: client,
  };
  const base = resultsPath(values.out ?? `load-${journalKind}`);
  const lat = result.ackLatency;
  const rows: [string, string][] = [
    ['events ok', `${formatCount(result.ok)} of ${formatCount(result.events)}`],
    ['duration', `${result.seconds} s`],
    ['throughput', `${formatCount(result.eventsPerSecond)} events/s`],
    [
      'ack latency p50 / p99 / p99.9 / max',
      `${lat.p50Ms} / ${lat.p99Ms} / ${lat.p999Ms} / ${lat.maxMs} ms`,
    ],
    [
      'server CPU',
      server === null ? 'n/a' : `${server.cpuSeconds} s (${server.cpuPercent}% of one core)`,
    ],
    [
      'server RSS (end / peak)',
      server === null ? 'n/a' : `${server.rssMiB} / ${server.peakRssMiB} MiB`,
    ],
    ['load generator CPU', `${client.cpuSeconds} s (${client.cpuPercent}% of one core)`],
  ];
  if (result.failed + result.notSent + result.invalid + result.wrongExpectedSeq > 0) {
    rows.push([
      'not ok',
      `failed ${result.failed}, not sent ${result.notSent}, invalid ${result.invalid}, wrong_expected_seq ${result.wrongExpectedSeq}`,
    ]);
  }
  const markdown =
    `# perf:load (${journalKind} journal)\n\n` +
    `\`${command}\`\n\n` +
    `${summary.machine['cpuModel'] as string}, ${summary.machine['cores'] as number} cores, ` +
    `Node ${process.version}, ${summary.machine['date'] as string}. ` +
    `${formatCount(workload.events)} events of ${workload.payloadBytes} bytes, ` +
    `${workload.connections} SDK connection(s) in ${result.threads} piscina thread(s), ` +
    `appendMany of ${workload.batch}, ${workload.windowEvents} events in flight per connection, ` +
    `${workload.rate > 0 ? `target ${formatCount(workload.rate)} events/s` : 'flat out'}.\n\n` +
    markdownTable(['Metric', 'Value'], rows);
  const written = writeResults(base, summary, markdown);
  console.log(markdown);
  console.log(`perf:load: wrote ${written.map(repoRelative).join(', ')}`);
}

await main();
