/**
 * End-to-end throughput of the real server: one local WebSocket client sends 100-event batches
 * of 120-byte payloads, keeping the server's credit window full, and measures events/s and the
 * ack latency of each batch (HDR histogram).
 *
 *   npm run bench:e2e -- [--events 500000] [--batch 100] [--payload 120] [--runs 3]
 *                        [--workers 0,1,2] [--rate 0] [--url ws://... --api-key KEY]
 *                        [--journal sqlite | mysql://root@127.0.0.1:3306] [--ids v7 | random]
 *                        [--warmup 3] [--trace-handoffs] [--journal-delay-ms 0]
 *                        [--settle-max-s 60] [--warm-up-events 0]
 *
 * `--workers` lists the server configurations to compare in one run (0: the single-threaded
 * runtime on the uWS thread; n: n pinned shard workers). `--rate` offers a fixed load in
 * events/s instead of flat out; latency is then measured from each batch's scheduled send
 * time, so a stalled server cannot hide its queueing (no coordinated omission). The client
 * polls its event loop for the last 1.5 ms before each batch is due, so that timer lateness does
 * not count as server latency, and records how late it sent (`sendLagP50Ms`, `sendLagP99Ms`).
 * At a fixed rate it also reports the latency of the batches due after the first `--warmup`
 * seconds (`steadyAckLatency*`): a fresh server's first seconds (JIT, new streams, a WAL that
 * grows) hold most of the worst batches. The headline figures always count every batch. Where
 * those worst batches fall is reported too: the slowest and the median of the first ten
 * batches (`firstTenBatches*`), and the batches over 5 ms due in the first second and, per
 * second, after it (`batchesOver5Ms*`).
 * `--trace-handoffs` (a fixed rate, a spawned server with shard workers) also times each of
 * those batches at every hand-off inside the server (`perf/e2e/handoffs.ts`) and reports
 * p50/p90/p99 per segment; the trace adds eleven timestamped lines per batch to each run.
 *
 * The server runs as its own process with the SQLite journal in a temporary directory, or with
 * `--journal mysql://…` on a fresh MySQL/MariaDB database per run (dropped afterwards). Event
 * ids are UUIDv7 (time-ordered), as the SDK makes them, or with `--ids random` 16 random bytes
 * (a client that ignores PROTOCOL.md's advice). Frames are encoded before the clock starts, so
 * the client's own encoding cost does not count against the server. Each run records the CPU
 * per event of the server, of this client and, with `--journal mysql://…`, of the local
 * database server (`mariadbd` or `mysqld`): the three share the machine's cores. With MySQL it
 * also records `journalBusyShare`: the share of the run during which each writer connection had
 * a statement in flight (the server's `shardline_journal_busy_seconds_sum`, averaged over the
 * workers). Near 1, the database (or the network to it) set the pace; lower, the server was
 * late with its next statement.
 * `--warm-up-events N` first sends N events on streams of their own, on another connection, and
 * waits for their acks: the run then measures a server whose hot code is compiled, as one that
 * has been up for a while, rather than one that compiles it during the run.
 * `--journal-delay-ms N` puts the database N ms away in each direction, through a proxy in this
 * process (`perf/lib/delay-proxy.ts`), as a database on another host would be. On MySQL, each
 * run starts once InnoDB has flushed what the run before it left (`settleInnodb`, at most
 * `--settle-max-s`; 0 does not wait). Results go to
 * perf/results/e2e-ws-throughput.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import {
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  Status,
  type DecodedBatchAck,
  type EventInput,
} from '../../protocol/index.js';
import { describeEventIds, eventIdSource, parseEventIdKind } from '../lib/event-ids.js';
import { machineInfo } from '../lib/machine.js';
import {
  checkpointAgeMiB,
  createFreshDatabase,
  parseMysqlServer,
  settleInnodb,
  type FreshDatabase,
} from '../lib/mariadb.js';
import { localDatabasePid, measureProcess } from '../lib/proc-stats.js';
import { median } from '../lib/results.js';
import { startDelayProxy } from '../lib/delay-proxy.js';
import { spawnServer } from '../lib/server-process.js';
import { summarizeHandoffs, type ClientBatch } from './handoffs.js';
import { whereTheWorstBatchesFall } from '../lib/histogram.js';
import { parsePerfArgs } from '../lib/args.js';

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    events: { type: 'string', default: '500000' },
    batch: { type: 'string', default: '100' },
    payload: { type: 'string', default: '120' },
    streams: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'perf/results/e2e-ws-throughput.json' },
    url: { type: 'string' },
    'api-key': { type: 'string' },
    workers: { type: 'string', default: '2' },
    rate: { type: 'string', default: '0' },
    journal: { type: 'string', default: 'sqlite' },
    ids: { type: 'string', default: 'v7' },
    warmup: { type: 'string', default: '3' },
    'trace-handoffs': { type: 'boolean', default: false },
    'journal-delay-ms': { type: 'string', default: '0' },
    'settle-max-s': { type: 'string', default: '60' },
    'warm-up-events': { type: 'string', default: '0' },
  },
});
const EVENT_IDS = parseEventIdKind(values.ids);
const JOURNAL = values.journal;
if (JOURNAL !== 'sqlite' && !JOURNAL.startsWith('mysql://')) {
  throw new Error(`--journal is sqlite or a mysql:// server URL, not ${JOURNAL}`);
}
const TOTAL_EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const PAYLOAD_BYTES = Number(values.payload);
const STREAMS = Number(values.streams);
const RUNS = Number(values.runs);
const WORKER_CONFIGS = values.workers.split(',').map(Number);
const RATE = Number(values.rate);
const TIMER_SLACK_MS = 1.5;
const WARMUP_MS = Number(values.warmup) * 1000;
const TRACE_HANDOFFS = values['trace-handoffs'];
const JOURNAL_DELAY_MS = Number(values['journal-delay-ms']);
const WARM_UP_EVENTS = Number(values['warm-up-events']);
if (JOURNAL_DELAY_MS > 0 && (JOURNAL === 'sqlite' || values.url !== undefined)) {
  throw new Error('--journal-delay-ms needs --journal mysql://… and a spawned server (no --url)');
}
const delayProxy =
  JOURNAL_DELAY_MS > 0 ? await startDelayProxy(parseMysqlServer(JOURNAL), JOURNAL_DELAY_MS) : null;

/** The journal URL the server gets: through the delay proxy, when there is one. */
function serverJournalUrl(url: string): string {
  if (delayProxy === null) return url;
  const viaProxy = new URL(url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(delayProxy.port);
  return viaProxy.href;
}
if (TRACE_HANDOFFS && (RATE <= 0 || values.url !== undefined || WORKER_CONFIGS.includes(0))) {
  throw new Error(
    '--trace-handoffs needs --rate, shard workers (not --workers 0) and a server this ' +
      'benchmark spawns (no --url)',
  );
}
if (TRACE_HANDOFFS && WARM_UP_EVENTS > 0) {
  // The trace matches batches by id, and the warm-up's connection numbers its batches from 1 too.
  throw new Error('--trace-handoffs and --warm-up-events cannot be combined');
}

/** `events` events in frames of BATCH, over STREAMS streams named `<streamPrefix><n>`. */
function encodeFrames(events: number, streamPrefix: string): Uint8Array[] {
  const builder = createBuilder(1 << 20);
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const frames: Uint8Array[] = [];
  let n = 0;
  const newId = eventIdSource(EVENT_IDS);
  for (let b = 0; b < events / BATCH; b++) {
    const events: EventInput[] = [];
    for (let i = 0; i < BATCH; i++, n++) {
      events.push({
        id: newId(),
        stream: `${streamPrefix}${n % STREAMS}`,
        type: 'Measured',
        payload,
      });
    }
    frames.push(encodeAppendBatch(builder, BigInt(b + 1), events).slice());
  }
  return frames;
}

/** With `--trace-handoffs`: each run's segments, by worker count. */
const handoffsByWorkers = new Map<number, ReturnType<typeof summarizeHandoffs>[]>(
  WORKER_CONFIGS.map((w) => [w, []]),
);

function openStream(port: number, apiKey: string | undefined): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, {
    maxPayload: 1 << 30,
    ...(apiKey === undefined ? {} : { headers: { authorization: `Bearer ${apiKey}` } }),
  });
}

/**
 * `shardline_journal_busy_seconds_sum` of each worker, from the server's `/metrics` (MySQL
 * journal only): how long the database had a statement of that thread in flight.
 */
async function journalBusySeconds(port: number, apiKey: string | undefined): Promise<number[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
  });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const seconds: number[] = [];
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('shardline_journal_busy_seconds_sum{')) {
      seconds.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
  }
  return seconds;
}

function decodeReply(data: Buffer): ReturnType<typeof decodeFrame> {
  return decodeFrame(new Uint8Array(data), { maxFrameBytes: 1 << 30, maxEventsPerBatch: 1 << 20 });
}

/**
 * Sends `frames` on `socket`, keeping the server's credit window full, and resolves once every
 * batch is acked, with the time the window opened (the run's start) and how many events were
 * acked `ok`. Flat out (`rate` 0) a
 * batch is due when the window lets it go; at a fixed rate, batch n is due at
 * start + n * interval, and `onSent` gets how late it left (µs). `onAck` gets each ack, the
 * time its batch was due and the run's start. The warm-up and the measured run both send
 * through here. An error frame from the server, or the connection closing before the last ack,
 * ends the run with the reason instead of leaving it waiting.
 */
function streamFrames(
  socket: WebSocket,
  frames: Uint8Array[],
  rate: number,
  onAck: (ack: DecodedBatchAck, dueMs: number, startMs: number) => void = () => {},
  onSent: (lagUs: number) => void = () => {},
): Promise<{ startMs: number; okEvents: number }> {
  const sentAt = new Float64Array(frames.length + 1);
  const batchIntervalMs = rate > 0 ? (BATCH / rate) * 1000 : 0;
  let window = 0;
  let next = 0;
  let acked = 0;
  let okEvents = 0;
  let start = 0;
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  return new Promise((resolve, reject) => {
    const wake = (): void => {
      timer = null;
      pump();
    };
    const pump = (): void => {
      const now = performance.now();
      while (next < frames.length && next - acked < window) {
        const due = rate > 0 ? start + next * batchIntervalMs : now;
        if (due > now) break;
        sentAt[next + 1] = due;
        if (rate > 0) onSent(Math.max(1, Math.round((now - due) * 1000)));
        socket.send(frames[next++]!);
      }
      if (rate > 0 && next < frames.length && timer === null) {
        // setTimeout fires up to a few ms late, and that lateness would count as server
        // latency: sleep until shortly before the batch is due, then poll the event loop.
        const wait = start + next * batchIntervalMs - performance.now();
        timer =
          wait > TIMER_SLACK_MS ? setTimeout(wake, wait - TIMER_SLACK_MS) : setImmediate(wake);
      }
    };
    socket.on('message', (data: Buffer) => {
      const frame = decodeReply(data);
      if (frame.body === 'credit') {
        if (window === 0) start = performance.now();
        window = frame.window;
        pump();
      } else if (frame.body === 'batch_ack') {
        for (const status of frame.results.status) if (status === Status.ok) okEvents++;
        onAck(frame, sentAt[Number(frame.batchId)]!, start);
        if (++acked === frames.length) resolve({ startMs: start, okEvents });
        else pump();
      } else if (frame.body === 'error') {
        reject(new Error(`the server answered ${frame.code}: ${frame.message}`));
      }
    });
    socket.once('error', reject);
    socket.once('close', (code: number, reason: Buffer) => {
      reject(new Error(`the server closed the connection (${code} ${reason.toString()})`));
    });
  });
}

/**
 * `--warm-up-events`: sends `frames` on a connection of their own, flat out, and waits for every
 * ack before the measured run starts. A fresh server compiles its hot code (the gateway, the
 * actors, the journal and the driver) while the first few hundred thousand events pass; a
 * server that has been up for a while has done so. The warm-up's streams are not the measured
 * run's, so that the run still loads every one of its streams.
 */
async function warmUp(
  port: number,
  apiKey: string | undefined,
  frames: Uint8Array[],
): Promise<void> {
  const socket = openStream(port, apiKey);
  const { okEvents } = await streamFrames(socket, frames, 0);
  socket.close();
  if (okEvents !== frames.length * BATCH) {
    throw new Error(`warm-up: only ${okEvents} of ${frames.length * BATCH} events were ok`);
  }
}

async function run(
  frames: Uint8Array[],
  warmUpFrames: Uint8Array[],
  workers: number,
): Promise<Record<string, number>> {
  // --url measures a server started elsewhere (for profiling with --cpu-prof or clinic). A
  // spawned server runs with authentication on and an API key made for the run.
  // The event ids are the same in every run, so each run needs an empty journal.
  let database: FreshDatabase | null = null;
  if (values.url === undefined && JOURNAL !== 'sqlite') {
    database = await createFreshDatabase(parseMysqlServer(JOURNAL), 'shardline_e2e');
  }
  const traceDir = TRACE_HANDOFFS ? mkdtempSync(join(tmpdir(), 'shardline-handoffs-')) : null;
  const server =
    values.url === undefined
      ? await spawnServer({
          workers,
          ...(database === null ? {} : { journal: serverJournalUrl(database.url) }),
          ...(traceDir === null
            ? {}
            : { env: { SHARDLINE_HANDOFF_TRACE: join(traceDir, 'trace') } }),
        })
      : {
          port: Number(new URL(values.url).port),
          apiKey: values['api-key'] ?? process.env['SHARDLINE_API_KEY'],
          pid: null,
          stop: () => Promise.resolve(),
        };
  if (warmUpFrames.length > 0) await warmUp(server.port, server.apiKey, warmUpFrames);
  const settling =
    database !== null && Number(values['settle-max-s']) > 0
      ? await settleInnodb(parseMysqlServer(JOURNAL), Number(values['settle-max-s']) * 1000)
      : null;
  // The server's CPU per event (all its threads): steadier than events/s on a shared machine.
  const serverUsage = server.pid === null ? null : measureProcess(server.pid);
  // The whole machine's CPU per event: on 2 cores, server, client and database share them.
  const databasePid = database === null ? null : localDatabasePid(parseMysqlServer(JOURNAL).host);
  const databaseUsage = databasePid === null ? null : measureProcess(databasePid);
  const clientCpuBefore = process.cpuUsage();
  const busyBefore = database === null ? [] : await journalBusySeconds(server.port, server.apiKey);
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const socket = openStream(server.port, server.apiKey);
  // How late batches left against their due time (fixed rate only): the client's own share.
  const sendLag = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  // At a fixed rate: the batches due after the warm-up only.
  const steady = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  /** Each batch's ack latency in ms, by batch id (fixed rate only). */
  const latencyMs = new Float64Array(RATE > 0 ? frames.length + 1 : 0);
  const clientBatches: ClientBatch[] = [];
  const { startMs: start, okEvents } = await streamFrames(
    socket,
    frames,
    RATE,
    (ack, due, startMs) => {
      const latencyUs = Math.max(1, Math.round((performance.now() - due) * 1000));
      histogram.recordValue(latencyUs);
      if (RATE > 0) {
        if (due - startMs >= WARMUP_MS) steady.recordValue(latencyUs);
        latencyMs[Number(ack.batchId)] = latencyUs / 1000;
      }
      if (traceDir !== null) {
        clientBatches.push({
          batchId: Number(ack.batchId),
          dueAt: performance.timeOrigin + due,
          ackedAt: performance.timeOrigin + due + latencyUs / 1000,
        });
      }
    },
    (lagUs) => sendLag.recordValue(lagUs),
  );
  const seconds = (performance.now() - start) / 1000;
  // Each writer connection's busy share of the run: near 1, the database set the pace.
  const busyAfter = database === null ? [] : await journalBusySeconds(server.port, server.apiKey);
  const busyShares = busyAfter.map((after, i) => (after - (busyBefore[i] ?? 0)) / seconds);
  const usage = serverUsage?.() ?? null;
  const databaseCpu = databaseUsage?.() ?? null;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const perEvent = (cpuSeconds: number): number =>
    Number(((cpuSeconds * 1e6) / TOTAL_EVENTS).toFixed(1));
  socket.close();
  await server.stop();
  await database?.drop();
  if (traceDir !== null) {
    const traced = summarizeHandoffs(traceDir, 'trace', clientBatches, WARMUP_MS);
    rmSync(traceDir, { recursive: true, force: true });
    console.log(
      `workers=${workers}: hand-offs of the ${traced.batches} batches due after the warm-up`,
    );
    console.table(traced.segments);
    handoffsByWorkers.get(workers)!.push(traced);
  }
  if (okEvents !== TOTAL_EVENTS)
    throw new Error(`only ${okEvents} of ${TOTAL_EVENTS} events were ok`);
  const startAgeMiB = checkpointAgeMiB(settling);
  return {
    eventsPerSecond: Math.round(TOTAL_EVENTS / seconds),
    seconds: Number(seconds.toFixed(3)),
    ackLatencyP50Ms: histogram.getValueAtPercentile(50) / 1000,
    ackLatencyP99Ms: histogram.getValueAtPercentile(99) / 1000,
    ackLatencyP999Ms: histogram.getValueAtPercentile(99.9) / 1000,
    ...(usage === null
      ? {}
      : {
          serverCpuUsPerEvent: perEvent(usage.cpuSeconds),
          serverCpuPercent: usage.cpuPercent,
        }),
    clientCpuUsPerEvent: perEvent((clientCpu.user + clientCpu.system) / 1e6),
    ...(databaseCpu === null ? {} : { databaseCpuUsPerEvent: perEvent(databaseCpu.cpuSeconds) }),
    ...(busyShares.length === 0
      ? {}
      : {
          journalBusyShare: Number(
            (busyShares.reduce((sum, share) => sum + share, 0) / busyShares.length).toFixed(3),
          ),
        }),
    ...(settling === null ? {} : { settleWaitMs: settling.waitedMs }),
    ...(startAgeMiB === null ? {} : { checkpointAgeMiBAtStart: startAgeMiB }),
    ...(RATE > 0
      ? {
          sendLagP50Ms: sendLag.getValueAtPercentile(50) / 1000,
          sendLagP99Ms: sendLag.getValueAtPercentile(99) / 1000,
          steadyAckLatencyP50Ms: steady.getValueAtPercentile(50) / 1000,
          steadyAckLatencyP99Ms: steady.getValueAtPercentile(99) / 1000,
          steadyAckLatencyP999Ms: steady.getValueAtPercentile(99.9) / 1000,
          ...whereTheWorstBatchesFall(latencyMs.subarray(1), (BATCH / RATE) * 1000, seconds),
        }
      : {}),
  };
}

const frames = encodeFrames(TOTAL_EVENTS, 'bench-');
const warmUpFrames = encodeFrames(WARM_UP_EVENTS, 'warm-up-');
const configurations: Record<string, unknown>[] = [];
const medianOf = (runs: Record<string, number>[], key: string): number =>
  median(runs.map((r) => r[key]!));
// Runs alternate between configurations so that drift of the machine hits them all alike.
const runsByWorkers = new Map<number, Record<string, number>[]>(WORKER_CONFIGS.map((w) => [w, []]));
for (let r = 0; r < RUNS; r++) {
  for (const workers of WORKER_CONFIGS) {
    const result = await run(frames, warmUpFrames, workers);
    console.log(`workers=${workers} run ${r + 1}/${RUNS}:`, result);
    runsByWorkers.get(workers)!.push(result);
  }
}
for (const [workers, runs] of runsByWorkers) {
  configurations.push({
    workers,
    runtime: workers === 0 ? 'single-threaded (uWS thread)' : `${workers} pinned shard worker(s)`,
    median: {
      eventsPerSecond: medianOf(runs, 'eventsPerSecond'),
      ackLatencyP50Ms: medianOf(runs, 'ackLatencyP50Ms'),
      ackLatencyP99Ms: medianOf(runs, 'ackLatencyP99Ms'),
      ackLatencyP999Ms: medianOf(runs, 'ackLatencyP999Ms'),
      ...(values.url === undefined
        ? { serverCpuUsPerEvent: medianOf(runs, 'serverCpuUsPerEvent') }
        : {}),
      clientCpuUsPerEvent: medianOf(runs, 'clientCpuUsPerEvent'),
      ...(runs.every((r) => r['databaseCpuUsPerEvent'] !== undefined)
        ? { databaseCpuUsPerEvent: medianOf(runs, 'databaseCpuUsPerEvent') }
        : {}),
      ...(runs.every((r) => r['journalBusyShare'] !== undefined)
        ? { journalBusyShare: medianOf(runs, 'journalBusyShare') }
        : {}),
      ...(RATE > 0
        ? {
            sendLagP99Ms: medianOf(runs, 'sendLagP99Ms'),
            steadyAckLatencyP50Ms: medianOf(runs, 'steadyAckLatencyP50Ms'),
            steadyAckLatencyP99Ms: medianOf(runs, 'steadyAckLatencyP99Ms'),
            steadyAckLatencyP999Ms: medianOf(runs, 'steadyAckLatencyP999Ms'),
            firstTenBatchesMaxMs: medianOf(runs, 'firstTenBatchesMaxMs'),
            firstTenBatchesMedianMs: medianOf(runs, 'firstTenBatchesMedianMs'),
            batchesOver5MsFirstSecond: medianOf(runs, 'batchesOver5MsFirstSecond'),
            batchesOver5MsPerLaterSecond: medianOf(runs, 'batchesOver5MsPerLaterSecond'),
          }
        : {}),
    },
    runs,
    ...(TRACE_HANDOFFS ? { handoffsAfterWarmup: handoffsByWorkers.get(workers) } : {}),
  });
}
const summary = {
  benchmark: 'e2e-ws-throughput',
  command: `npm run bench:e2e -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  workload: {
    events: TOTAL_EVENTS,
    batchEvents: BATCH,
    payloadBytes: PAYLOAD_BYTES,
    streams: STREAMS,
    clients: 1,
    offeredEventsPerSecond: RATE > 0 ? RATE : 'flat out',
    // Sent flat out on streams of their own before each measured run, and not counted.
    warmUpEvents: WARM_UP_EVENTS,
    ...(RATE > 0 ? { steadyAfterWarmupSeconds: WARMUP_MS / 1000 } : {}),
    eventIds: describeEventIds(EVENT_IDS),
    journal: JOURNAL === 'sqlite' ? 'sqlite (WAL, fsynced before each ack)' : `mysql (${JOURNAL})`,
    ...(JOURNAL_DELAY_MS > 0 ? { journalDelayMsEachWay: JOURNAL_DELAY_MS } : {}),
    // A spawned server keeps its data under the temporary directory (TMPDIR): tmpfs or a disk.
    ...(values.url === undefined ? { dataDirectoryParent: tmpdir() } : {}),
  },
  configurations,
};
writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
await delayProxy?.close();
for (const c of configurations)
  console.log(JSON.stringify({ workers: c['workers'], ...(c['median'] as object) }));
