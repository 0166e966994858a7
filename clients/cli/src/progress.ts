/**
 * Progress of long runs (`send`, `bench`) on stderr, so that stdout stays clean NDJSON: a
 * cli-progress bar with events/s when stderr is a terminal, otherwise one plain line every few
 * seconds (CI logs and redirected output cannot render a redrawn bar).
 */
import cliProgress from 'cli-progress';
import { formatCount } from './output.js';

export interface ProgressOptions {
  /** Where to draw; nothing is drawn when `enabled` is false. */
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  label: string;
  /** Events expected in all; absent when unknown (stdin of `send`). */
  total?: number;
  /** Reads the number of events done so far; polled, never called per event. */
  done: () => number;
  enabled?: boolean;
  /** Interval of the plain lines when the stream is not a terminal. Default 2000 ms. */
  plainIntervalMs?: number;
}

export interface Progress {
  /** Stops drawing and leaves a final state on the terminal. */
  stop(): void;
}

const TTY_INTERVAL_MS = 200;
/** Events/s is smoothed over the last few seconds, so the figure does not flicker. */
const RATE_WINDOW_MS = 3000;

/** Starts reporting; call `stop()` at the end. */
export function startProgress(options: ProgressOptions): Progress {
  if (options.enabled === false) return { stop: () => undefined };
  const started = performance.now();
  const samples: { at: number; done: number }[] = [{ at: started, done: 0 }];
  const rate = (): number => {
    const now = performance.now();
    const done = options.done();
    samples.push({ at: now, done });
    while (samples.length > 2 && now - samples[0]!.at > RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    return now > first.at ? ((done - first.done) * 1000) / (now - first.at) : 0;
  };

  if (options.stream.isTTY === true) {
    const known = options.total !== undefined && options.total > 0;
    const bar = new cliProgress.SingleBar(
      {
        stream: options.stream,
        format: known
          ? `${options.label} {bar} {percentage}% | {value}/{total} events | {speed} events/s | {duration_formatted}`
          : `${options.label} {value} events | {speed} events/s | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(known ? options.total! : 0, 0, { speed: '0' });
    const timer = setInterval(() => {
      bar.update(options.done(), { speed: formatCount(rate()) });
    }, TTY_INTERVAL_MS);
    timer.unref();
    return {
      stop: () => {
        clearInterval(timer);
        bar.update(options.done(), { speed: formatCount(rate()) });
        bar.stop();
      },
    };
  }

  const line = (): string => {
    const done = options.done();
    const of = options.total === undefined ? '' : `/${formatCount(options.total)}`;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return `${options.label} ${formatCount(done)}${of} events, ${formatCount(rate())} events/s, ${seconds} s\n`;
  };
  const timer = setInterval(() => options.stream.write(line()), options.plainIntervalMs ?? 2000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
