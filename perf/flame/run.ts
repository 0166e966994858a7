/**
 * `npm run perf:flame`: profiles the server under a bounded load with clinic and writes the
 * HTML report under perf/results/. `-- --doctor` (or `npm run perf:doctor`) runs clinic doctor
 * instead of clinic flame.
 *
 *   npm run perf:flame -- [--doctor] [--events 300000] [--connections 2] [--batch 100]
 *     [--rate 0] [--max-seconds 60] [--workers N] [--dest perf/results/flame] [--keep-data]
 *
 * Headless and CI-safe, per PITFALLS.md:
 * - NO_INSIGHT=1, or clinic waits on a question without a TTY and silently writes nothing;
 * - the load comes from this process through the SDK, never `clinic --autocannon`, which never
 *   fires against a uWS server;
 * - the server is stopped with SIGINT (sent to the server itself, inside clinic), after which
 *   clinic analyses the samples and writes `<pid>.clinic-<tool>.html`;
 * - `--no-open`: no browser.
 * The script fails unless that HTML file exists and is not empty, and prints its path. The raw
 * sample folder is removed unless `--keep-data`; perf/results/<tool>.json records the run.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runLoad, type LoadResult } from '../../clients/cli/src/load.js';
import { createLatencyHistogram, recordLatency, summarizeLatency } from '../lib/histogram.js';
import { machineInfo } from '../lib/machine.js';
import { commandLine, formatCount, repoRelative, resultsPath, writeJson } from '../lib/results.js';
import { spawnServer } from '../lib/server-process.js';
import { parsePerfArgs } from '../lib/args.js';

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    doctor: { type: 'boolean', default: false },
    events: { type: 'string', default: '300000' },
    connections: { type: 'string', default: '2' },
    batch: { type: 'string', default: '100' },
    payload: { type: 'string', default: '120' },
    rate: { type: 'string', default: '0' },
    streams: { type: 'string', default: '1000' },
    'max-seconds': { type: 'string', default: '60' },
    workers: { type: 'string' },
    dest: { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const tool = values.doctor ? 'doctor' : 'flame';
const dest = resultsPath(values.dest ?? tool);
const clinicBin = join(
  createRequire(import.meta.url).resolve('clinic/package.json'),
  '..',
  'bin.js',
);
const number = (raw: string | undefined): number => Number(raw);

/** The reports clinic has written into `dest`, newest first. */
function reports(): string[] {
  if (!existsSync(dest)) return [];
  return readdirSync(dest)
    .filter((name) => name.endsWith(`.clinic-${tool}.html`))
    .map((name) => join(dest, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

async function main(): Promise<void> {
  const before = new Set(reports());
  const server = await spawnServer({
    wrapper: [process.execPath, clinicBin, tool, '--dest', dest, '--no-open', '--'],
    env: { NO_INSIGHT: '1' },
    ...(values.workers === undefined ? {} : { workers: number(values.workers) }),
    startTimeoutMs: 120_000,
    verbose: values.verbose,
  });
  console.error(
    `perf:${tool}: clinic ${tool} started the server (pid ${server.pid}, port ${server.port})`,
  );
  const histogram = createLatencyHistogram();
  let load: LoadResult;
  try {
    load = await runLoad({
      url: server.wsUrl,
      apiKey: server.apiKey,
      events: number(values.events),
      connections: number(values.connections),
      batch: number(values.batch),
      payloadBytes: number(values.payload),
      rate: number(values.rate),
      streams: number(values.streams),
      streamPrefix: 'flame-',
      maxSeconds: number(values['max-seconds']),
      onLatency: (latencyUs, events) => recordLatency(histogram, latencyUs, events),
    });
  } catch (error) {
    await server.stop('SIGKILL');
    throw error;
  }
  console.error(
    `perf:${tool}: load done: ${formatCount(load.ok)} events ok, ${formatCount(load.eventsPerSecond)} events/s; ` +
      'stopping the server with SIGINT; clinic is analysing (this takes a while)',
  );
  // clinic needs the time to turn the samples into HTML after the server has exited.
  const code = await server.stop('SIGINT', 300_000);
  const report = reports().find((path) => !before.has(path));
  if (report === undefined || statSync(report).size === 0) {
    throw new Error(
      `clinic ${tool} wrote no HTML report into ${dest} (exit ${code}):\n${server.tail()}`,
    );
  }
  if (!values['keep-data']) {
    rmSync(report.replace(/\.html$/, ''), { recursive: true, force: true });
  }
  // Only the latest report stays: each is 0.4-2 MB and names itself after a throw-away pid.
  for (const old of before) rmSync(old, { force: true });
  const bytes = statSync(report).size;
  const summary = {
    benchmark: `perf-${tool}`,
    command: commandLine(
      tool === 'doctor' ? 'perf:doctor' : 'perf:flame',
      process.argv.slice(2).filter((arg) => arg !== '--doctor'),
    ),
    machine: machineInfo(),
    tool: `clinic ${tool}`,
    report: repoRelative(report),
    reportBytes: bytes,
    clinicExit: code,
    workload: {
      events: load.events,
      connections: number(values.connections),
      batch: number(values.batch),
      payloadBytes: number(values.payload),
      offeredEventsPerSecond: number(values.rate) > 0 ? number(values.rate) : 'flat out',
      serverWorkers: values.workers === undefined ? 'default' : number(values.workers),
    },
    load: { ...load, ackLatency: summarizeLatency(histogram) },
  };
  const summaryPath = writeJson(resultsPath(`${tool}.json`), summary);
  console.log(`perf:${tool}: HTML report ${repoRelative(report)} (${formatCount(bytes)} bytes)`);
  console.log(`perf:${tool}: wrote ${repoRelative(summaryPath)}`);
}

await main();
