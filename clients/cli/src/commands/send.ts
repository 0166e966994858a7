import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Shardline, type AppendResult, type ShardlineError } from '../../../typescript/index.js';
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
import { parseEventLine } from '../ndjson-event.js';
import { formatCount, writeLine } from '../output.js';
import { startProgress } from '../progress.js';

/** One input line on its way to its result line; results are printed in input order. */
interface Entry {
  line: number;
  output: Record<string, unknown> | null;
}

const options = {
  ...CONNECTION_OPTIONS,
  window: { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
} as const;

export const sendCommand: CliCommand = {
  name: 'send',
  summary: 'append NDJSON events from stdin; one NDJSON result per event on stdout',
  help: `Usage: shardline send [options] < events.ndjson

Reads one event per line from stdin and appends them through the SDK (batched, in order per
stream). Fields, as in the HTTP JSON format (PROTOCOL.md 9.1):
  {"id":"<uuid>","stream":"user-42","type":"Clicked","expectedSeq":3,
   "timestamp":1732400000000,"correlationId":"abc","data":{"x":1}}
  stream, type   required
  id             optional UUID (generated if absent; give one to make re-runs idempotent)
  data           any JSON, stored as JSON;  dataBase64: bytes, stored as binary (not both)
Blank lines are skipped. Writes one result per event to stdout, in input order:
  {"line":1,"id":"...","stream":"user-42","status":"ok","seq":4,"shard":17,"offset":912}
Statuses: ok, duplicate, wrong_expected_seq, invalid (also for unparsable lines), failed.
Exit code 0 when every event is ok or duplicate, 1 otherwise, 2 for bad arguments.

Options:
${CONNECTION_HELP}
  --window N         events in flight at most (default 10000)
  -q, --quiet        no progress on stderr
`,
  run: async (argv, context) => {
    const { values } = parsing(() => parseArgs({ args: [...argv], options, strict: true }));
    if (values.help) {
      context.stdout.write(sendCommand.help);
      return ExitCode.ok;
    }
    const window = integerOption(values.window, 'window', 10_000, 1, 1_000_000);
    const apiKey = apiKeyOf(values['api-key'], context.env);
    const client = await Shardline.connect(webSocketUrl(values.url), {
      ...(apiKey === undefined ? {} : { apiKey }),
      maxQueuedEvents: window,
    });

    const pending: Entry[] = [];
    let head = 0;
    let lineNumber = 0;
    let done = 0;
    let failures = 0;
    const counts = new Map<string, number>();
    let wake: (() => void) | null = null;
    let writing = Promise.resolve();

    // Writes the finished results at the head of the queue, in input order.
    const flush = (): void => {
      const ready: string[] = [];
      while (head < pending.length && pending[head]!.output !== null) {
        ready.push(JSON.stringify(pending[head]!.output));
        head++;
      }
      if (head > 1024 && head * 2 > pending.length) {
        pending.splice(0, head);
        head = 0;
      }
      if (ready.length > 0) {
        writing = writing.then(() => writeLine(context.stdout, ready.join('\n')));
      }
      wake?.();
    };
    const finish = (entry: Entry, output: Record<string, unknown>): void => {
      const status = output['status'] as string;
      counts.set(status, (counts.get(status) ?? 0) + 1);
      if (status !== 'ok' && status !== 'duplicate') failures++;
      entry.output = output;
      done++;
      flush();
    };

    const progress = startProgress({
      stream: context.stderr,
      label: 'send',
      done: () => done,
      enabled: !values.quiet,
    });
    const lines = createInterface({ input: context.stdin, crlfDelay: Infinity });
    for await (const text of lines) {
      lineNumber++;
      if (text.trim() === '') continue;
      const entry: Entry = { line: lineNumber, output: null };
      pending.push(entry);
      const parsed = parseEventLine(text);
      if (!parsed.ok) {
        finish(entry, { line: lineNumber, status: 'invalid', error: parsed.error });
        continue;
      }
      const { event } = parsed;
      client.append(event.stream, event.type, event.payload, event).then(
        (result: AppendResult) => finish(entry, resultLine(entry.line, event.stream, result)),
        (error: ShardlineError) =>
          finish(entry, {
            line: entry.line,
            stream: event.stream,
            status: error.code === 'ERR_INVALID_ARGUMENT' ? 'invalid' : 'failed',
            code: error.code,
            error: error.message,
          }),
      );
      // Output back-pressure: a slow stdout slows the reading of stdin down.
      if (lineNumber % 1024 === 0) await writing;
      while (pending.length - head >= window) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    }
    await client.flush();
    await client.close();
    flush();
    await writing;
    progress.stop();
    if (!values.quiet) {
      const summary = [...counts].map(([status, n]) => `${status} ${formatCount(n)}`).join(', ');
      context.stderr.write(`send: ${formatCount(done)} events (${summary || 'none'})\n`);
    }
    return failures === 0 ? ExitCode.ok : ExitCode.failure;
  },
};

function resultLine(line: number, stream: string, result: AppendResult): Record<string, unknown> {
  const output: Record<string, unknown> = {
    line,
    id: result.id,
    stream,
    status: result.status,
    seq: result.seq,
    shard: result.shard,
    offset: result.offset,
  };
  if (result.error !== undefined) output['error'] = result.error;
  return output;
}
