/**
 * `npm run perf:compare`: one command, one run, on this machine: the same 120-byte events, each
 * with an id, a stream and a durable ack, through
 * - Shardline on its embedded journal (SQLite), with appendMany and with append() per event;
 * - Shardline on the MySQL journal (MariaDB at 127.0.0.1:3306, a fresh database);
 * - NATS JetStream at 127.0.0.1:4222 (publish per event, Nats-Msg-Id, a window of async acks);
 * - MariaDB alone: one INSERT + autocommit per event (the naive baseline);
 * - MariaDB alone: batch() of big groups, one transaction each (its bulk-insert ceiling).
 * Prints a table of events/s, p50/p99 ack latency and each peer's ratio to Shardline
 * (embedded), and writes perf/results/compare.json and .md. A peer that cannot be reached is
 * skipped and the table says why. Every peer is bounded by `--events` and `--max-seconds`.
 *
 *   npm run perf:compare -- [--events 200000] [--payload 120] [--streams 1000] [--max-seconds 30]
 *     [--connections 8] [--window 2000] [--batch 100]            Shardline (SDK)
 *     [--nats-connections 2] [--nats-window 250]                  NATS JetStream
 *     [--naive-connections 4] [--bulk-connections 4] [--bulk-rows 500]
 *     [--bulk-method batch|multirow]                              MariaDB
 *     [--peers shardline-sqlite,nats,...] [--mysql mysql://root@127.0.0.1:3306]
 *     [--nats 127.0.0.1:4222] [--out compare] [--verbose]
 */
import { summarizeLatency } from '../lib/histogram.js';
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
import { withRatios, type PeerOutcome } from './outcome.js';
import { PeerUnavailable, type CompareWorkload, type Peer } from './peer.js';
import { mariadbBulk, mariadbNaive } from './peers/mariadb.js';
import { natsJetStream } from './peers/nats.js';
import { shardlineEmbedded, shardlineEmbeddedPerEvent, shardlineMysql } from './peers/shardline.js';
import { parsePerfArgs } from '../lib/args.js';

const PEERS: readonly Peer[] = [
  shardlineEmbedded,
  shardlineEmbeddedPerEvent,
  shardlineMysql,
  natsJetStream,
  mariadbNaive,
  mariadbBulk,
];
const BASELINE = shardlineEmbedded.id;
/** Taken before the first peer runs: the load average then says whether the machine was quiet. */
const machine = machineInfo();

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    events: { type: 'string', default: '200000' },
    payload: { type: 'string', default: '120' },
    streams: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '8' },
    window: { type: 'string', default: '2000' },
    'nats-connections': { type: 'string', default: '2' },
    'nats-window': { type: 'string', default: '250' },
    'naive-connections': { type: 'string', default: '4' },
    'bulk-connections': { type: 'string', default: '4' },
    batch: { type: 'string', default: '100' },
    'bulk-rows': { type: 'string', default: '500' },
    'bulk-method': { type: 'string', default: 'batch' },
    'max-seconds': { type: 'string', default: '30' },
    peers: { type: 'string', default: PEERS.map((p) => p.id).join(',') },
    mysql: { type: 'string', default: DEFAULT_MYSQL_URL },
    nats: { type: 'string', default: '127.0.0.1:4222' },
    out: { type: 'string', default: 'compare' },
    verbose: { type: 'boolean', default: false },
  },
});

function integer(name: string, raw: string | undefined, min = 1): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
  }
  return value;
}

const workload: CompareWorkload = {
  events: integer('events', values.events),
  payloadBytes: integer('payload', values.payload, 0),
  streams: integer('streams', values.streams),
  connections: integer('connections', values.connections),
  windowEvents: integer('window', values.window),
  natsConnections: integer('nats-connections', values['nats-connections']),
  natsWindow: integer('nats-window', values['nats-window']),
  naiveConnections: integer('naive-connections', values['naive-connections']),
  bulkConnections: integer('bulk-connections', values['bulk-connections']),
  batch: integer('batch', values.batch),
  bulkRows: integer('bulk-rows', values['bulk-rows']),
  bulkMethod: values['bulk-method'] === 'multirow' ? 'multirow' : 'batch',
  maxSeconds: integer('max-seconds', values['max-seconds']),
  mysqlUrl: values.mysql,
  natsUrl: values.nats,
  verbose: values.verbose,
};
const wanted = values.peers.split(',').map((id) => id.trim());
for (const id of wanted) {
  if (!PEERS.some((p) => p.id === id)) {
    throw new Error(`--peers: unknown peer "${id}"; known: ${PEERS.map((p) => p.id).join(', ')}`);
  }
}

async function runPeer(peer: Peer): Promise<PeerOutcome> {
  const base = { id: peer.id, label: peer.label };
  console.error(`perf:compare: ${peer.label} ...`);
  try {
    const run = await peer.run(workload);
    const eventsPerSecond = run.seconds > 0 ? Math.round(run.ok / run.seconds) : 0;
    const ackLatency = summarizeLatency(run.histogram);
    console.error(
      `perf:compare:   ${formatCount(run.ok)} events in ${run.seconds.toFixed(2)} s: ` +
        `${formatCount(eventsPerSecond)} events/s, p99 ${ackLatency.p99Ms} ms`,
    );
    return {
      ...base,
      status: 'ok',
      events: run.ok,
      failed: run.failed,
      seconds: Number(run.seconds.toFixed(3)),
      eventsPerSecond,
      ackLatency,
      config: run.config,
      durability: run.durability,
      ...(run.notes === undefined ? {} : { notes: run.notes }),
    };
  } catch (error) {
    const skipped = error instanceof PeerUnavailable;
    const reason = (error as Error).message.split('\n')[0]!;
    console.error(`perf:compare:   ${skipped ? 'skipped' : 'FAILED'}: ${reason}`);
    return { ...base, status: skipped ? 'skipped' : 'failed', reason };
  }
}

function render(outcomes: PeerOutcome[], command: string): string {
  const rows = outcomes.map((o) =>
    o.status === 'ok'
      ? [
          o.label,
          formatCount(o.events!),
          o.seconds!.toFixed(2),
          formatCount(o.eventsPerSecond!),
          o.ackLatency!.p50Ms,
          o.ackLatency!.p99Ms,
          o.ratioToShardline === null || o.ratioToShardline === undefined
            ? 'n/a'
            : `${o.ratioToShardline.toFixed(2)}×`,
        ]
      : [
          o.label,
          o.status === 'skipped' ? `skipped: ${o.reason}` : `failed: ${o.reason}`,
          '',
          '',
          '',
          '',
          '',
        ],
  );
  const find = (id: string) => outcomes.find((o) => o.id === id && o.status === 'ok');
  const nats = find('nats');
  const goal = ['shardline-sqlite', 'shardline-mysql']
    .map((id) => {
      const shardline = find(id);
      if (shardline === undefined || nats === undefined) return null;
      const ratio = shardline.eventsPerSecond! / nats.eventsPerSecond!;
      return `- ${shardline.label}: ${ratio.toFixed(2)}× JetStream's events/s (${ratio >= 1 ? 'ahead' : 'behind'}).`;
    })
    .filter((line) => line !== null);
  const details = outcomes
    .filter((o) => o.status === 'ok')
    .map(
      (o) =>
        `- **${o.label}**: ${o.config}. Durability: ${o.durability}.` +
        (o.notes === undefined ? '' : ` Notes: ${o.notes.join('; ')}.`),
    );
  return (
    `# perf:compare\n\n\`${command}\`\n\n` +
    `${machine['cpuModel'] as string}, ${machine['cores'] as number} cores, ${machine['memoryGiB'] as number} GiB, ` +
    `Node ${process.version}, ${machine['date'] as string}. Every peer: up to ${formatCount(workload.events)} events ` +
    `of ${workload.payloadBytes} bytes, each with an id and one of ${formatCount(workload.streams)} streams, ` +
    `acknowledged one by one; at most ${workload.maxSeconds} s each; clients in one Node process on the same machine, ` +
    `each peer with the client settings that did best here (see Configurations). ` +
    `Flat out, the p50/p99 columns mostly measure queueing behind each peer's in-flight window ` +
    `(Little's law), so compare latency at a fixed rate instead (perf:load --rate).\n\n` +
    markdownTable(
      [
        'Peer',
        'Events acked',
        'Seconds',
        'Events/s',
        'p50 ms',
        'p99 ms',
        'Ratio to Shardline (embedded)',
      ],
      rows,
    ) +
    (goal.length > 0
      ? `\nShardline vs NATS JetStream (per-event acked publish):\n\n${goal.join('\n')}\n`
      : '') +
    `\nConfigurations:\n\n${details.join('\n')}\n`
  );
}

async function main(): Promise<void> {
  const outcomes: PeerOutcome[] = [];
  for (const peer of PEERS) {
    if (wanted.includes(peer.id)) outcomes.push(await runPeer(peer));
  }
  const results = withRatios(outcomes, BASELINE);
  const command = commandLine('perf:compare');
  const markdown = render(results, command);
  const written = writeResults(
    resultsPath(values.out),
    {
      benchmark: 'perf-compare',
      command,
      machine,
      workload: { ...workload, mysqlUrl: undefined, natsUrl: workload.natsUrl },
      baseline: BASELINE,
      peers: results,
    },
    markdown,
  );
  console.log('\n' + markdown);
  console.log(`perf:compare: wrote ${written.map(repoRelative).join(', ')}`);
  if (results.some((o) => o.status === 'failed')) process.exitCode = 1;
}

await main();
