import { parseArgs } from 'node:util';
import {
  apiKeyOf,
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  ExitCode,
  integerOption,
  parsing,
  UsageError,
  type CliCommand,
} from '../command.js';
import { httpOrigin } from '../endpoints.js';
import { writeLine } from '../output.js';

const options = {
  ...CONNECTION_OPTIONS,
  'from-seq': { type: 'string' },
  limit: { type: 'string' },
  'page-size': { type: 'string' },
} as const;

/** The server's largest page (PROTOCOL.md 9.2). */
const MAX_PAGE = 1000;

interface ReadPage {
  stream: string;
  events: Record<string, unknown>[];
  nextSeq: number;
}

export const readCommand: CliCommand = {
  name: 'read',
  summary: "print a stream's events as NDJSON, in seq order",
  help: `Usage: shardline read <stream> [options]

Reads the committed events of one stream over HTTP (GET /v1/streams/{stream}/events), page by
page, and prints one JSON object per event on stdout, in seq order:
  {"stream":"user-42","id":"...","seq":1,"type":"Clicked","timestamp":1732400000000,
   "shard":17,"offset":912,"correlationId":null,"data":{"x":1}}
Binary payloads come as "dataBase64". A stream with no events prints nothing.

Options:
${CONNECTION_HELP}
  --from-seq N       first seq to print (default 1)
  --limit N          print at most N events (default: all)
  --page-size N      events per request, 1-${MAX_PAGE} (default ${MAX_PAGE})
`,
  run: async (argv, context) => {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }),
    );
    if (values.help) {
      context.stdout.write(readCommand.help);
      return ExitCode.ok;
    }
    if (positionals.length !== 1) {
      throw new UsageError('read takes exactly one stream; see shardline read --help');
    }
    const stream = positionals[0]!;
    let fromSeq = integerOption(values['from-seq'], 'from-seq', 1, 1);
    const limit = integerOption(values.limit, 'limit', Number.MAX_SAFE_INTEGER, 1);
    const pageSize = integerOption(values['page-size'], 'page-size', MAX_PAGE, 1, MAX_PAGE);
    const apiKey = apiKeyOf(values['api-key'], context.env);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (apiKey !== undefined) headers['authorization'] = `Bearer ${apiKey}`;
    const base = `${httpOrigin(values.url)}/v1/streams/${encodeURIComponent(stream)}/events`;

    let printed = 0;
    while (printed < limit) {
      const size = Math.min(pageSize, limit - printed);
      const response = await fetch(`${base}?fromSeq=${fromSeq}&limit=${size}`, { headers });
      const body = (await response.json().catch(() => null)) as
        | ReadPage
        | { error?: { code?: string; message?: string } }
        | null;
      if (!response.ok || body === null || !('events' in body)) {
        const error = body !== null && 'error' in body ? body.error : undefined;
        context.stderr.write(
          `shardline read: HTTP ${response.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trimEnd() +
            '\n',
        );
        return ExitCode.failure;
      }
      for (const event of body.events) {
        await writeLine(context.stdout, JSON.stringify({ stream: body.stream, ...event }));
      }
      printed += body.events.length;
      if (body.events.length < size || body.nextSeq <= fromSeq) break;
      fromSeq = body.nextSeq;
    }
    return ExitCode.ok;
  },
};
