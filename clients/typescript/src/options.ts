/** Connection options of `Shardline.connect`, their defaults and their validation. */
import { InvalidOptionError } from './errors.js';
import type { WebSocketConstructor } from './websocket.js';

/**
 * Options of {@link Shardline.connect}. Every field is optional; the defaults suit a backend
 * streaming events to one server.
 *
 * @example
 * ```ts
 * const client = await Shardline.connect('wss://events.example.com/v1/stream', {
 *   apiKey: process.env.SHARDLINE_API_KEY,
 *   lingerMs: 5,            // wait up to 5 ms to fill a batch
 *   maxBatchEvents: 2_000,  // ...of at most 2,000 events
 *   maxQueuedEvents: 50_000 // append() waits beyond this
 * });
 * ```
 */
export interface ShardlineOptions {
  /**
   * The API key. In Node (through the `ws` package) it is sent as the header
   * `Authorization: Bearer <key>`. Browsers cannot set headers on a WebSocket, so there, and
   * whenever a WHATWG `WebSocket` class is used, it is sent as the subprotocol token
   * `shardline.bearer.<key>` in `Sec-WebSocket-Protocol`; the key must then consist of token
   * characters (letters, digits and ``!#$%&'*+-.^_`|~``).
   */
  apiKey?: string;
  /** Most events in one AppendBatch frame. Default 1000; the server's limit is 10,000. */
  maxBatchEvents?: number;
  /**
   * Most bytes of one AppendBatch frame (an upper estimate of the encoded size). Default
   * 1 MiB; keep it under the server's frame limit (4 MiB by default). A single event larger
   * than this is refused with `ERR_INVALID_ARGUMENT`.
   */
  maxBatchBytes?: number;
  /**
   * How long, in milliseconds, a batch that is not full waits for more events before it is
   * sent. Default 2. 0 sends at once whatever is queued.
   */
  lingerMs?: number;
  /**
   * Most events held by the client: queued, in flight or waiting for a retry. Beyond it,
   * `append` waits for room. Default 10,000.
   */
  maxQueuedEvents?: number;
  /** Most payload and header bytes held by the client, like `maxQueuedEvents`. Default 16 MiB. */
  maxQueuedBytes?: number;
  /**
   * Resends of an event answered `unavailable` or `overloaded` before its append rejects with
   * `ERR_RETRIES_EXHAUSTED`. Default 10. Resends after a reconnect do not count.
   */
  maxRetries?: number;
  /** Base of the retry backoff, in milliseconds (exponential, full jitter). Default 25. */
  retryDelayMs?: number;
  /** Cap of the retry backoff, in milliseconds. Default 2000. */
  retryMaxDelayMs?: number;
  /**
   * Consecutive failed reconnection attempts before the client fails for good (pending
   * appends reject with `ERR_CONNECT`). Default `Infinity`: keep trying; the bounded queue
   * makes `append` wait meanwhile.
   */
  maxReconnectAttempts?: number;
  /** Base of the reconnection backoff, in milliseconds (exponential, full jitter). Default 100. */
  reconnectDelayMs?: number;
  /** Cap of the reconnection backoff, in milliseconds. Default 5000. */
  reconnectMaxDelayMs?: number;
  /** How long, in milliseconds, one connection attempt may take until the server's first Credit. Default 10,000. */
  connectTimeoutMs?: number;
  /**
   * Interval, in milliseconds, of the liveness check: when nothing at all arrived during one
   * interval after a Ping was sent, the connection is considered dead and replaced. Default
   * 30,000; 0 turns it off.
   */
  pingIntervalMs?: number;
  /**
   * A WHATWG-compatible `WebSocket` class to use instead of the default (the `ws` package in
   * Node, the global `WebSocket` elsewhere). The API key then travels as a subprotocol token.
   */
  WebSocket?: WebSocketConstructor;
}

/** The options with every default applied. */
export interface ResolvedOptions {
  apiKey: string | null;
  maxBatchEvents: number;
  maxBatchBytes: number;
  lingerMs: number;
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  maxRetries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  maxReconnectAttempts: number;
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  WebSocket: WebSocketConstructor | null;
}

/** The protocol's defaults (PROTOCOL.md section 7) bound what a batch may hold. */
const SERVER_MAX_EVENTS_PER_BATCH = 10_000;
const MIN_BATCH_BYTES = 1024;
const MAX_BATCH_BYTES = 64 * 1024 * 1024;
const HOUR_MS = 3_600_000;

/**
 * The default of every numeric option of {@link ShardlineOptions}.
 *
 * @example
 * ```ts
 * const client = await Shardline.connect(url, {
 *   maxQueuedEvents: DEFAULT_OPTIONS.maxQueuedEvents * 4, // a bigger buffer for bursts
 * });
 * ```
 */
export const DEFAULT_OPTIONS: Readonly<Omit<ResolvedOptions, 'apiKey' | 'WebSocket'>> = {
  maxBatchEvents: 1000,
  maxBatchBytes: 1024 * 1024,
  lingerMs: 2,
  maxQueuedEvents: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxRetries: 10,
  retryDelayMs: 25,
  retryMaxDelayMs: 2000,
  maxReconnectAttempts: Number.POSITIVE_INFINITY,
  reconnectDelayMs: 100,
  reconnectMaxDelayMs: 5000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
};

function integer(
  options: ShardlineOptions,
  name: keyof typeof DEFAULT_OPTIONS,
  min: number,
  max: number,
  allowInfinity = false,
): number {
  const value: unknown = options[name];
  if (value === undefined) return DEFAULT_OPTIONS[name];
  if (
    typeof value !== 'number' ||
    !(Number.isSafeInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) ||
    value < min ||
    value > max
  ) {
    throw new InvalidOptionError(
      `${name} must be an integer between ${min} and ${max}${allowInfinity ? ' or Infinity' : ''}, got ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? typeof value)}`,
    );
  }
  return value;
}

/** Applies the defaults and checks every option; throws `ERR_INVALID_OPTION` naming the option. */
export function resolveOptions(options: ShardlineOptions): ResolvedOptions {
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || !options.apiKey)) {
    throw new InvalidOptionError('apiKey must be a non-empty string');
  }
  if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
    throw new InvalidOptionError('WebSocket must be a WebSocket class');
  }
  const resolved: ResolvedOptions = {
    apiKey: options.apiKey ?? null,
    maxBatchEvents: integer(options, 'maxBatchEvents', 1, SERVER_MAX_EVENTS_PER_BATCH),
    maxBatchBytes: integer(options, 'maxBatchBytes', MIN_BATCH_BYTES, MAX_BATCH_BYTES),
    lingerMs: integer(options, 'lingerMs', 0, HOUR_MS),
    maxQueuedEvents: integer(options, 'maxQueuedEvents', 1, 100_000_000),
    maxQueuedBytes: integer(options, 'maxQueuedBytes', MIN_BATCH_BYTES, 2 ** 40),
    maxRetries: integer(options, 'maxRetries', 0, 1_000_000),
    retryDelayMs: integer(options, 'retryDelayMs', 0, HOUR_MS),
    retryMaxDelayMs: integer(options, 'retryMaxDelayMs', 0, HOUR_MS),
    maxReconnectAttempts: integer(options, 'maxReconnectAttempts', 0, 1_000_000_000, true),
    reconnectDelayMs: integer(options, 'reconnectDelayMs', 0, HOUR_MS),
    reconnectMaxDelayMs: integer(options, 'reconnectMaxDelayMs', 0, HOUR_MS),
    connectTimeoutMs: integer(options, 'connectTimeoutMs', 1, HOUR_MS),
    pingIntervalMs: integer(options, 'pingIntervalMs', 0, HOUR_MS),
    WebSocket: options.WebSocket ?? null,
  };
  if (resolved.maxQueuedBytes < resolved.maxBatchBytes) {
    throw new InvalidOptionError(
      `maxQueuedBytes (${resolved.maxQueuedBytes}) must be at least maxBatchBytes (${resolved.maxBatchBytes})`,
    );
  }
  return resolved;
}
