/**
 * The load generator behind `shardline bench`, also driven by the perf suite's client workers
 * (perf/load): N SDK clients append fixed-size events for a bounded number of events and a
 * bounded time, flat out or at a target rate, and report each call's ack latency.
 *
 * Latency is measured per `append`/`appendMany` call, from the moment the call was *due* to its
 * results: at a target rate, a call that had to wait for room in the window is timed from its
 * scheduled start, so a stalled server cannot hide its queueing (no coordinated omission).
 */
import { Shardline, type AppendEvent, type AppendResult } from '../../typescript/index.js';

export interface LoadOptions {
  /** The WebSocket endpoint, such as `ws://127.0.0.1:8080/v1/stream`. */
  url: string;
  apiKey?: string | undefined;
  /** Events in all, spread evenly over the connections. */
  events: number;
  /** SDK clients, each on its own WebSocket. */
  connections: number;
  /** Events per `appendMany` call; 1 appends each event with `append`. */
  batch: number;
  payloadBytes: number;
  /** Target events/s over all connections; 0 sends flat out. */
  rate: number;
  /** Events go round-robin to this many streams. */
  streams: number;
  streamPrefix: string;
  /** Stop starting calls after this long; calls in flight still finish (bounded by `graceMs`). */
  maxSeconds: number;
  /** Events in flight per connection (unsettled calls × batch). Default 2,000. */
  windowEvents?: number;
  /** After `maxSeconds`, how long calls in flight may take before the clients are closed. */
  graceMs?: number;
  /** Called once per settled call with its latency (µs) and its number of events. */
  onLatency?: (latencyUs: number, events: number) => void;
  /** Updated as calls settle; poll it for progress. */
  progress?: { settled: number };
}

export interface LoadResult {
  events: number;
  ok: number;
  duplicate: number;
  wrongExpectedSeq: number;
  invalid: number;
  /** Events whose call rejected (the client failed, retries ran out, or it was closed). */
  failed: number;
  /** Events never started because `maxSeconds` ran out. */
  notSent: number;
  /** From the first call to the last result. */
  seconds: number;
  /** `ok` events per second. */
  eventsPerSecond: number;
  /** Wall-clock milliseconds (performance.timeOrigin + now), comparable across threads. */
  startedAtMs: number;
  endedAtMs: number;
  /** The first few distinct error messages. */
  errors: string[];
}

const DEFAULT_WINDOW_EVENTS = 2000;
const DEFAULT_GRACE_MS = 30_000;
const MAX_ERRORS = 5;

/** Runs one bounded load and closes its clients; never leaves a connection open. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const windowEvents = options.windowEvents ?? DEFAULT_WINDOW_EVENTS;
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () =>
      Shardline.connect(options.url, {
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        maxQueuedEvents: Math.max(windowEvents, options.batch),
        maxQueuedBytes: Math.max(16 * 1024 * 1024, 2 * windowEvents * (options.payloadBytes + 256)),
        maxReconnectAttempts: 5,
      }),
    ),
  );
  const payload = new Uint8Array(options.payloadBytes).fill(0x61);
  const tally = {
    ok: 0,
    duplicate: 0,
    wrongExpectedSeq: 0,
    invalid: 0,
    failed: 0,
    notSent: 0,
    lastSettled: 0,
    errors: [] as string[],
  };
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const graceTimer = setTimeout(
    () => {
      for (const client of clients) void client.close({ timeoutMs: 0 });
    },
    options.maxSeconds * 1000 + (options.graceMs ?? DEFAULT_GRACE_MS),
  );
  graceTimer.unref();

  const count = (results: readonly AppendResult[]): void => {
    for (const result of results) {
      if (result.status === 'ok') tally.ok++;
      else if (result.status === 'duplicate') tally.duplicate++;
      else if (result.status === 'wrong_expected_seq') tally.wrongExpectedSeq++;
      else tally.invalid++;
    }
  };

  const drive = (client: Shardline, index: number, share: number): Promise<void> =>
    new Promise((resolve) => {
      const maxCalls = Math.max(1, Math.floor(windowEvents / options.batch));
      const rate = options.rate / options.connections;
      const intervalMs = rate > 0 ? (options.batch / rate) * 1000 : 0;
      let issued = 0;
      let calls = 0;
      let outstanding = 0;
      let timer: NodeJS.Timeout | null = null;
      // Each connection starts at its own offset so that connections spread over the streams.
      let streamIndex = Math.floor((index * options.streams) / options.connections);

      const settle = (events: number, dueAt: number): void => {
        const now = performance.now();
        options.onLatency?.((now - dueAt) * 1000, events);
        tally.lastSettled = Math.max(tally.lastSettled, now);
        outstanding--;
        if (options.progress !== undefined) options.progress.settled += events;
        pump();
      };

      const pump = (): void => {
        const now = performance.now();
        const expired = now >= deadline;
        while (!expired && issued < share && outstanding < maxCalls) {
          const dueAt = rate > 0 ? started + calls * intervalMs : now;
          if (dueAt > now) break;
          const n = Math.min(options.batch, share - issued);
          issued += n;
          calls++;
          outstanding++;
          const call = n === 1 && options.batch === 1 ? appendOne(client) : appendSome(client, n);
          call.then(
            (results) => {
              count(results);
              settle(n, dueAt);
            },
            (error: unknown) => {
              tally.failed += n;
              const message = (error as Error).message;
              if (tally.errors.length < MAX_ERRORS && !tally.errors.includes(message)) {
                tally.errors.push(message);
              }
              settle(n, dueAt);
            },
          );
        }
        if (expired || issued >= share) {
          if (outstanding === 0) {
            tally.notSent += share - issued;
            issued = share;
            if (timer !== null) clearTimeout(timer);
            resolve();
          }
          return;
        }
        if (rate > 0 && timer === null && outstanding < maxCalls) {
          const wait = Math.min(started + calls * intervalMs, deadline) - performance.now();
          timer = setTimeout(
            () => {
              timer = null;
              pump();
            },
            Math.max(0, wait),
          );
        }
      };

      const nextStream = (): string => {
        const stream = `${options.streamPrefix}${streamIndex}`;
        streamIndex = (streamIndex + 1) % options.streams;
        return stream;
      };
      const appendOne = (target: Shardline): Promise<AppendResult[]> =>
        target.append(nextStream(), 'BenchEvent', payload).then((result) => [result]);
      const appendSome = (target: Shardline, n: number): Promise<AppendResult[]> => {
        const events: AppendEvent[] = new Array<AppendEvent>(n);
        for (let i = 0; i < n; i++)
          events[i] = { stream: nextStream(), type: 'BenchEvent', payload };
        return target.appendMany(events);
      };
      pump();
    });

  const base = Math.floor(options.events / options.connections);
  const extra = options.events % options.connections;
  try {
    await Promise.all(clients.map((client, i) => drive(client, i, base + (i < extra ? 1 : 0))));
  } finally {
    clearTimeout(graceTimer);
    await Promise.all(clients.map((client) => client.close({ timeoutMs: 5000 }).catch(() => {})));
  }
  const ended = tally.lastSettled > started ? tally.lastSettled : performance.now();
  const seconds = (ended - started) / 1000;
  return {
    events: options.events,
    ok: tally.ok,
    duplicate: tally.duplicate,
    wrongExpectedSeq: tally.wrongExpectedSeq,
    invalid: tally.invalid,
    failed: tally.failed,
    notSent: tally.notSent,
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: seconds > 0 ? Math.round(tally.ok / seconds) : 0,
    startedAtMs: performance.timeOrigin + started,
    endedAtMs: performance.timeOrigin + ended,
    errors: tally.errors,
  };
}
