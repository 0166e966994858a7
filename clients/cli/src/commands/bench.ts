import { parseArgs } from 'node:util';
import {
  apiKeyOf,
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  ExitCode,
  integerOption,
  parsing,
  type CliCommand,
} from '../command.js';
import { webSocketUrl } from '../endpoints.js';
import { LatencyHistogram } from '../latency.js';
import { runLoad } from '../load.js';
import { formatCount } from '../output.js';
import { startProgress } from '../progress.js';

const options = {
  ...CONNECTION_OPTIONS,
  events: { type: 'string' },
  connections: { type: 'string' },
  batch: { type: 'string' },
  payload: { type: 'string' },
  rate: { type: 'string' },
  streams: { type: 'string' },
  duration: { type: 'string' },
  window: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
} as const;

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'a load run through the SDK: events/s and ack latency p50/p99/p99.9',
  help: `Usage: shardline bench [options]

Appends fixed-size events through the SDK over N connections, flat out or at a target rate,
for a bounded number of events and time, then prints events/s and the ack latency of each
append call (p50, p99, p99.9), measured from when the call was due. Writes events to streams
bench-0 ... bench-<streams - 1> of the target server.

Options:
${CONNECTION_HELP}
  --events N         events in all (default 100000)
  --connections N    SDK clients, one WebSocket each (default 1)
  --batch N          events per appendMany call; 1: one append per event (default 100)
  --payload N        payload bytes per event (default 120)
  --rate N           target events/s over all connections; 0: flat out (default 0)
  --streams N        distinct streams (default 1000)
  --duration S       stop starting new calls after S seconds (default 60)
  --window N         events in flight per connection (default 2000)
  --json             print the result as one JSON line
  -q, --quiet        no progress on stderr
`,
  run: async (argv, context) => {
    const { values } = parsing(() => parseArgs({ args: [...argv], options, strict: true }));
    if (values.help) {
      context.stdout.write(benchCommand.help);
      return ExitCode.ok;
    }
    const events = integerOption(values.events, 'events', 100_000, 1);
    const connections = integerOption(values.connections, 'connections', 1, 1, 1024);
    const batch = integerOption(values.batch, 'batch', 100, 1, 10_000);
    const payloadBytes = integerOption(values.payload, 'payload', 120, 0, 1024 * 1024);
    const rate = integerOption(values.rate, 'rate', 0, 0);
    const streams = integerOption(values.streams, 'streams', 1000, 1);
    const maxSeconds = integerOption(values.duration, 'duration', 60, 1, 86_400);
    const windowEvents = integerOption(values.window, 'window', 2000, batch, 10_000_000);
    const histogram = new LatencyHistogram();
    const progress = { settled: 0 };
    const bar = startProgress({
      stream: context.stderr,
      label: 'bench',
      total: events,
      done: () => progress.settled,
      enabled: !values.quiet,
    });
    let result;
    try {
      result = await runLoad({
        url: webSocketUrl(values.url),
        apiKey: apiKeyOf(values['api-key'], context.env),
        events,
        connections,
        batch,
        payloadBytes,
        rate,
        streams,
        streamPrefix: 'bench-',
        maxSeconds,
        windowEvents,
        onLatency: (latencyUs, n) => histogram.record(latencyUs, n),
        progress,
      });
    } finally {
      bar.stop();
    }
    const ms = (us: number): number => Math.round(us) / 1000;
    const latency = {
      p50Ms: ms(histogram.percentileUs(50)),
      p99Ms: ms(histogram.percentileUs(99)),
      p999Ms: ms(histogram.percentileUs(99.9)),
      maxMs: ms(histogram.maxUs),
    };
    if (values.json) {
      const output = {
        events: result.events,
        ok: result.ok,
        duplicate: result.duplicate,
        wrongExpectedSeq: result.wrongExpectedSeq,
        invalid: result.invalid,
        failed: result.failed,
        notSent: result.notSent,
        seconds: result.seconds,
        eventsPerSecond: result.eventsPerSecond,
        connections,
        batch,
        payloadBytes,
        rate,
        latency,
        errors: result.errors,
      };
      context.stdout.write(JSON.stringify(output) + '\n');
    } else {
      const refused = result.events - result.ok;
      context.stdout.write(
        [
          `events       ${formatCount(result.ok)} ok of ${formatCount(result.events)}` +
            (refused > 0
              ? ` (duplicate ${result.duplicate}, wrong_expected_seq ${result.wrongExpectedSeq}, invalid ${result.invalid}, failed ${result.failed}, not sent ${result.notSent})`
              : ''),
          `time         ${result.seconds.toFixed(2)} s over ${connections} connection(s), batches of ${batch}, ${payloadBytes}-byte payloads, ${rate > 0 ? `target ${formatCount(rate)} events/s` : 'flat out'}`,
          `throughput   ${formatCount(result.eventsPerSecond)} events/s`,
          `ack latency  p50 ${latency.p50Ms} ms · p99 ${latency.p99Ms} ms · p99.9 ${latency.p999Ms} ms · max ${latency.maxMs} ms`,
          ...result.errors.map((message) => `error        ${message}`),
        ].join('\n') + '\n',
      );
    }
    return result.ok === result.events ? ExitCode.ok : ExitCode.failure;
  },
};
