/**
 * The Shardline client: one WebSocket to a server, a bounded outgoing queue cut into batches,
 * credit-based flow control, retries and reconnection.
 *
 * Life of an event:
 *
 *   append ─► waiting (no room: maxQueuedEvents / maxQueuedBytes) ─► OutgoingQueue (better-queue)
 *     ─► cut into a batch (size, bytes or linger) ─► Job ─► ready ─► sent when a credit is free
 *     ─► BatchAck: ok | duplicate | wrong_expected_seq | invalid ─► settled (room freed)
 *                  unavailable | overloaded ─► backoff ─► ready again (same id), up to maxRetries
 *     ─► connection lost: every unacknowledged Job goes back to ready, resent after reconnecting
 */
import {
  CloseCode,
  EventResults,
  STATUS_NAMES,
  Status,
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  encodePing,
  encodePong,
  utf8Length,
  type Builder,
  type DecodeLimits,
  type DecodedBatchAck,
  type DecodedFrame,
  type EventInput,
  type ShardlineError,
} from '../../../protocol/index.js';
import { backoffDelayMs } from './backoff.js';
import {
  ClientClosedError,
  ConnectError,
  InvalidArgumentError,
  ProtocolError,
  RetriesExhaustedError,
} from './errors.js';
import { UuidV7Generator, formatUuid, parseUuid } from './event-id.js';
import { OutgoingQueue } from './outgoing-queue.js';
import { resolveOptions, type ResolvedOptions, type ShardlineOptions } from './options.js';
import { encodePayload, type Payload } from './payload.js';
import {
  AppendOperation,
  EventGroup,
  PendingEvent,
  type AppendResult,
  type AppendStatus,
} from './pending.js';
import { OPEN, createSocketFactory, type SocketFactory, type WebSocketLike } from './websocket.js';

/**
 * Options of one event.
 *
 * @example
 * ```ts
 * await client.append('order-7', 'Shipped', { carrier: 'DHL' }, {
 *   id: '0190a8f2-6c1e-7d4a-9b1f-2a3c4d5e6f70', // for retries across processes
 *   expectedSeq: 3,                              // only if order-7 is at seq 3
 *   correlationId: 'req-81f2',
 *   timestamp: Date.now(),
 * });
 * ```
 */
export interface AppendOptions {
  /**
   * The event's id: UUID text (with or without hyphens) or 16 bytes. Default: a new UUIDv7.
   * Give one when the same event may be appended again by another process or after a restart:
   * the server answers `duplicate` instead of writing it twice.
   */
  id?: string | Uint8Array;
  /**
   * Optimistic concurrency: the seq the stream must be at before this event (0: the stream
   * must be empty; -1 or absent: any).
   */
  expectedSeq?: number;
  /** Stored with the event and returned by reads; at most 128 bytes. */
  correlationId?: string;
  /** Milliseconds since the Unix epoch. Default: the server's clock at commit. */
  timestamp?: number;
}

/**
 * One event of {@link Shardline.appendMany}.
 *
 * @example
 * ```ts
 * const event: AppendEvent = { stream: 'user-42', type: 'Clicked', payload: { x: 1 } };
 * ```
 */
export interface AppendEvent extends AppendOptions {
  stream: string;
  type: string;
  payload: Payload;
}

/**
 * A snapshot of a client's state and counters, from {@link Shardline.stats}.
 *
 * @example
 * ```ts
 * const { status, queuedEvents, inFlightBatches, creditWindow } = client.stats();
 * ```
 */
export interface ClientStats {
  /** `open`; `reconnecting` while the connection is down; `closing` during `close()`; `closed`. */
  status: 'open' | 'reconnecting' | 'closing' | 'closed';
  /** The server's credit window: most batches unacknowledged at once. */
  creditWindow: number;
  /** Batches sent and not yet acknowledged. Never above `creditWindow`. */
  inFlightBatches: number;
  /** Events held by the client (queued, in flight or awaiting a retry). At most `maxQueuedEvents`. */
  queuedEvents: number;
  /** Estimated encoded bytes of those events. At most `maxQueuedBytes`. */
  queuedBytes: number;
  /** Events of appends that wait for room in the queue. */
  waitingEvents: number;
  /** AppendBatch frames sent, resends included. */
  batchesSent: number;
  /** Events sent, resends included. */
  eventsSent: number;
  /** Events resent after an `unavailable` or `overloaded` result. */
  retries: number;
  /** Successful reconnections. */
  reconnects: number;
}

/** An AppendBatch's events from its cut to their final results, across retries and reconnects. */
class Job {
  events: PendingEvent[];
  readonly done: () => void;
  retryRound = 0;

  constructor(events: PendingEvent[], done: () => void) {
    this.events = events;
    this.done = done;
  }
}

/**
 * An upper bound of the bytes one event adds to an encoded AppendBatch besides its id, strings
 * and payload: table, vtable, vector headers, terminators and alignment (136 at most).
 */
const EVENT_OVERHEAD_BYTES = 160;
/** Likewise for the Frame and AppendBatch tables around the events (about 80). */
const BATCH_OVERHEAD_BYTES = 128;
const ID_BYTES = 16;
/** How long `close()` waits for the server to answer the closing handshake. */
const CLOSE_HANDSHAKE_MS = 2000;
/** Acks are bounded by the server; these limits only guard against a garbage frame. */
const ACK_LIMITS: DecodeLimits = { maxFrameBytes: 256 * 1024 * 1024, maxEventsPerBatch: 10_000 };
/** Close codes after which resending the same frames would be refused again. */
const REFUSED_CLOSE_CODES: readonly number[] = [
  CloseCode.unsupportedData,
  CloseCode.invalidPayload,
  CloseCode.messageTooBig,
];

const ignore = (): void => undefined;

function errorOf(event: unknown): unknown {
  return (event as { error?: unknown } | null)?.error ?? event;
}

/**
 * A connection to a Shardline server. Open one with {@link Shardline.connect}, append events,
 * and close it with {@link Shardline.close}. One client serves any number of concurrent
 * callers; events of concurrent appends share batches.
 *
 * Delivery: each event resolves with its final result (see {@link AppendResult}). Lost
 * connections are re-established with exponential backoff and full jitter, and every event
 * not yet acknowledged is sent again with the same id, so that it is written exactly once:
 * a retry of a committed event answers `duplicate` with the original position.
 *
 * Order: the events of one stream are committed in the order they were appended, except when
 * a retry or reconnect resends an event after later ones were committed. Use `expectedSeq`
 * where order matters.
 *
 * @example
 * ```ts
 * import { Shardline } from '@shardline/client';
 *
 * const client = await Shardline.connect('ws://127.0.0.1:8080/v1/stream', { apiKey: 'k-123' });
 * const result = await client.append('user-42', 'Clicked', { button: 'buy' });
 * console.log(result.status, result.seq); // 'ok' 1
 * await client.close();
 * ```
 */
export class Shardline {
  /** The WebSocket URL, such as `ws://127.0.0.1:8080/v1/stream`. */
  readonly url: string;
  readonly #options: ResolvedOptions;
  readonly #factory: SocketFactory;
  readonly #queue: OutgoingQueue;
  readonly #builder: Builder = createBuilder();
  readonly #ids = new UuidV7Generator();

  #lifecycle: 'running' | 'closing' | 'closed' = 'running';
  #connection: 'open' | 'reconnecting' = 'reconnecting';
  #socket: WebSocketLike | null = null;
  #window = 0;
  #nextBatchId = 1n;
  #nextTaskId = 1;
  /** Batches on the wire, by batch id (insertion order is send order). */
  readonly #inFlight = new Map<bigint, Job>();
  /** Batches cut and waiting for a credit or a connection; resends go first. */
  readonly #ready: Job[] = [];
  readonly #retryTimers = new Map<ReturnType<typeof setTimeout>, Job>();
  /** Groups waiting for room in the queue, FIFO from `#waitingHead`. */
  #waiting: EventGroup[] = [];
  #waitingHead = 0;
  #waitingEvents = 0;
  #queuedEvents = 0;
  #queuedBytes = 0;
  /** Operations not settled yet, for `flush()`. */
  readonly #operations = new Set<AppendOperation>();
  #flushes = 0;
  #serverError: { code: string; message: string } | null = null;
  #lastError: unknown = undefined;
  #reconnectAttempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Ends the connection attempt in progress, if any (for `#shutdown`). */
  #abortAttempt: (() => void) | null = null;
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  #pingNonce = 0n;
  #pingOutstanding = false;
  #receivedSincePing = false;
  #failure: ShardlineError | null = null;
  #closing: Promise<void> | null = null;
  #batchesSent = 0;
  #eventsSent = 0;
  #retries = 0;
  #reconnects = 0;

  private constructor(url: string, options: ResolvedOptions, factory: SocketFactory) {
    this.url = url;
    this.#options = options;
    this.#factory = factory;
    this.#queue = new OutgoingQueue(
      {
        maxBatchEvents: options.maxBatchEvents,
        maxBatchBytes: options.maxBatchBytes - BATCH_OVERHEAD_BYTES,
        lingerMs: options.lingerMs,
      },
      1,
      (events, done) => this.#dispatch(events, done),
    );
  }

  /**
   * Connects to a server and resolves once it granted its first credits. The first connection
   * is attempted once (`connectTimeoutMs`); later losses are retried per the options.
   *
   * @param url - The server's WebSocket endpoint, `ws://host:port/v1/stream` or `wss://…`.
   * @throws `ERR_INVALID_OPTION` for a bad option, `ERR_CONNECT` when the server cannot be
   *   reached or refuses the upgrade.
   *
   * @example
   * ```ts
   * const client = await Shardline.connect('ws://127.0.0.1:8080/v1/stream', {
   *   apiKey: process.env.SHARDLINE_API_KEY,
   *   lingerMs: 5,
   * });
   * ```
   */
  static async connect(url: string, options: ShardlineOptions = {}): Promise<Shardline> {
    if (typeof url !== 'string' || !/^wss?:\/\//i.test(url)) {
      throw new InvalidArgumentError(`url must be a ws:// or wss:// URL, got ${String(url)}`);
    }
    const resolved = resolveOptions(options);
    const factory = await createSocketFactory(resolved.WebSocket, resolved.apiKey);
    const client = new Shardline(url, resolved, factory);
    try {
      await client.#attempt();
    } catch (error) {
      client.#shutdown(error as ShardlineError, CloseCode.normal);
      throw error;
    }
    return client;
  }

  /**
   * Appends one event and resolves with its final result, once the server committed it (or
   * answered why not). The event travels in a batch with other events appended around the same
   * time. Waits first when the client's queue is full.
   *
   * @param stream - The stream (entity) id, such as `user-42`: 1–200 bytes of UTF-8.
   * @param type - The event type, such as `Clicked`: 1–100 bytes of UTF-8.
   * @param payload - Bytes (`Uint8Array`, `ArrayBuffer`) are stored as binary; any other value
   *   as JSON. Bytes are not copied: do not modify them until the promise settles.
   * @returns `ok`, `duplicate`, `wrong_expected_seq` or `invalid` (see {@link AppendResult});
   *   `unavailable` and `overloaded` are retried.
   * @throws `ERR_INVALID_ARGUMENT` (nothing sent), `ERR_RETRIES_EXHAUSTED`, `ERR_CLIENT_CLOSED`,
   *   `ERR_CONNECT`, `ERR_PROTOCOL`.
   *
   * @example
   * ```ts
   * const { status, seq } = await client.append('user-42', 'Clicked', { button: 'buy' });
   * const bytes = await client.append('sensor-9', 'Reading', new Uint8Array([1, 2, 3]));
   * const guarded = await client.append('order-7', 'Paid', { amount: 12 }, { expectedSeq: 2 });
   * if (guarded.status === 'wrong_expected_seq') console.log(`order-7 is at ${guarded.seq}`);
   * ```
   */
  append(
    stream: string,
    type: string,
    payload: Payload,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const refusal = this.#refusal();
    if (refusal !== null) return Promise.reject(refusal);
    const operation = new AppendOperation(1, true);
    let event: PendingEvent;
    try {
      event = this.#pendingEvent(stream, type, payload, options, operation, 0, 'append');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.#operations.add(operation);
    this.#enqueue(new EventGroup(`g${this.#nextTaskId++}`, [event], event.bytes));
    return operation.promise as Promise<AppendResult>;
  }

  /**
   * Appends several events and resolves with their results, in the same order. Events that
   * fit in one batch (at most `maxBatchEvents` and `maxQueuedEvents` events, and
   * `maxBatchBytes` bytes) travel in one AppendBatch, so those of one stream are committed all
   * or none; larger calls are split into such chunks. If any event fails with an error, the
   * call rejects with the first error once every event settled.
   *
   * @throws `ERR_INVALID_ARGUMENT` when any event is unusable (nothing is sent), and the errors
   *   of {@link Shardline.append}.
   *
   * @example
   * ```ts
   * const results = await client.appendMany([
   *   { stream: 'order-7', type: 'Created', payload: { sku: 'A1' }, expectedSeq: 0 },
   *   { stream: 'order-7', type: 'Paid', payload: { amount: 12 } },
   * ]);
   * console.log(results.map((r) => r.status)); // ['ok', 'ok'], or both 'wrong_expected_seq'
   * ```
   */
  appendMany(events: readonly AppendEvent[]): Promise<AppendResult[]> {
    const refusal = this.#refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (!Array.isArray(events)) {
      return Promise.reject(new InvalidArgumentError('appendMany: events must be an array'));
    }
    if (events.length === 0) return Promise.resolve([]);
    const operation = new AppendOperation(events.length, false);
    const pending: PendingEvent[] = [];
    try {
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as AppendEvent | undefined;
        if (event === null || typeof event !== 'object') {
          throw new InvalidArgumentError(`appendMany: events[${i}] must be an object`);
        }
        pending.push(
          this.#pendingEvent(
            event.stream,
            event.type,
            event.payload,
            event,
            operation,
            i,
            `appendMany: events[${i}]`,
          ),
        );
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.#operations.add(operation);
    const maxEvents = Math.min(this.#options.maxBatchEvents, this.#options.maxQueuedEvents);
    const maxBytes = this.#options.maxBatchBytes - BATCH_OVERHEAD_BYTES;
    let chunk: PendingEvent[] = [];
    let chunkBytes = 0;
    for (const event of pending) {
      if (chunk.length === maxEvents || chunkBytes + event.bytes > maxBytes) {
        this.#enqueue(new EventGroup(`g${this.#nextTaskId++}`, chunk, chunkBytes));
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push(event);
      chunkBytes += event.bytes;
    }
    this.#enqueue(new EventGroup(`g${this.#nextTaskId++}`, chunk, chunkBytes));
    return operation.promise as Promise<AppendResult[]>;
  }

  /**
   * Sends every queued event at once, without waiting for the linger, and resolves when every
   * append called before it has settled (fulfilled or rejected). It never rejects.
   *
   * @example
   * ```ts
   * for (const click of clicks) void client.append('user-42', 'Clicked', click).catch(log);
   * await client.flush(); // every click above now has its result
   * ```
   */
  async flush(): Promise<void> {
    if (this.#operations.size === 0) return;
    const settled = Array.from(this.#operations, (operation) => operation.settled);
    if (this.#flushes++ === 0) this.#queue.setFlushing(true);
    try {
      await Promise.all(settled);
    } finally {
      if (--this.#flushes === 0) this.#queue.setFlushing(false);
    }
  }

  /**
   * Closes the client: refuses new appends (`ERR_CLIENT_CLOSED`), flushes every pending one
   * (reconnecting if need be), waits for their acknowledgements, then closes the WebSocket with
   * 1000. With `timeoutMs`, appends still pending after that long reject with
   * `ERR_CLIENT_CLOSED`; `timeoutMs: 0` closes at once. Calling it again returns the same
   * promise.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void client.close({ timeoutMs: 10_000 }));
   * await client.close(); // or wait as long as it takes
   * ```
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#closeGracefully(options.timeoutMs);
    return this.#closing;
  }

  /**
   * A snapshot of the client's state and counters.
   *
   * @example
   * ```ts
   * setInterval(() => console.log(client.stats()), 10_000);
   * ```
   */
  stats(): ClientStats {
    return {
      status: this.#lifecycle === 'running' ? this.#connection : this.#lifecycle,
      creditWindow: this.#window,
      inFlightBatches: this.#inFlight.size,
      queuedEvents: this.#queuedEvents,
      queuedBytes: this.#queuedBytes,
      waitingEvents: this.#waitingEvents,
      batchesSent: this.#batchesSent,
      eventsSent: this.#eventsSent,
      retries: this.#retries,
      reconnects: this.#reconnects,
    };
  }

  // --- appending -------------------------------------------------------------------------

  #refusal(): ShardlineError | null {
    if (this.#lifecycle === 'running') return null;
    if (this.#failure !== null) {
      return new ClientClosedError(`the client failed: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
    return new ClientClosedError('the client is closed');
  }

  #pendingEvent(
    stream: unknown,
    type: unknown,
    payload: unknown,
    options: AppendOptions,
    operation: AppendOperation,
    index: number,
    where: string,
  ): PendingEvent {
    if (typeof stream !== 'string' || stream.length === 0) {
      throw new InvalidArgumentError(`${where}: stream must be a non-empty string`);
    }
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidArgumentError(`${where}: type must be a non-empty string`);
    }
    const { id, expectedSeq, correlationId, timestamp } = options;
    let idBytes: Uint8Array;
    if (id === undefined) idBytes = this.#ids.next();
    else if (typeof id === 'string') {
      const parsed = parseUuid(id);
      if (parsed === null) throw new InvalidArgumentError(`${where}: id is not a UUID: ${id}`);
      idBytes = parsed;
    } else if (id instanceof Uint8Array && id.byteLength === ID_BYTES) {
      idBytes = id.slice(); // 16 bytes; a copy so that the caller may reuse its array
    } else {
      throw new InvalidArgumentError(`${where}: id must be a UUID string or 16 bytes`);
    }
    if (expectedSeq !== undefined && (!Number.isSafeInteger(expectedSeq) || expectedSeq < -1)) {
      throw new InvalidArgumentError(
        `${where}: expectedSeq must be an integer ≥ -1, got ${String(expectedSeq)}`,
      );
    }
    if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
      throw new InvalidArgumentError(
        `${where}: timestamp must be a non-negative integer (ms since the epoch), got ${String(timestamp)}`,
      );
    }
    if (correlationId !== undefined && typeof correlationId !== 'string') {
      throw new InvalidArgumentError(`${where}: correlationId must be a string`);
    }
    const body = encodePayload(payload, where);
    const input: EventInput = {
      id: idBytes,
      stream,
      type,
      expectedSeq: expectedSeq ?? -1,
      timestamp: timestamp ?? 0,
      contentType: body.contentType,
      payload: body.bytes,
    };
    let bytes =
      EVENT_OVERHEAD_BYTES + ID_BYTES + utf8Length(stream) + utf8Length(type) + body.bytes.length;
    if (correlationId !== undefined) {
      input.correlationId = correlationId;
      bytes += utf8Length(correlationId);
    }
    if (bytes + BATCH_OVERHEAD_BYTES > this.#options.maxBatchBytes) {
      throw new InvalidArgumentError(
        `${where}: the event takes about ${bytes} bytes, more than maxBatchBytes (${this.#options.maxBatchBytes}) allows`,
      );
    }
    return new PendingEvent(input, bytes, operation, index);
  }

  #enqueue(group: EventGroup): void {
    this.#waiting.push(group);
    this.#waitingEvents += group.events.length;
    this.#admit();
  }

  /** Moves waiting groups into the outgoing queue while there is room, in order. */
  #admit(): void {
    const { maxQueuedEvents, maxQueuedBytes } = this.#options;
    while (this.#waitingHead < this.#waiting.length && this.#lifecycle !== 'closed') {
      const group = this.#waiting[this.#waitingHead]!;
      if (
        this.#queuedEvents > 0 &&
        (this.#queuedEvents + group.events.length > maxQueuedEvents ||
          this.#queuedBytes + group.bytes > maxQueuedBytes)
      ) {
        break;
      }
      this.#waiting[this.#waitingHead++] = undefined as unknown as EventGroup;
      this.#waitingEvents -= group.events.length;
      this.#queuedEvents += group.events.length;
      this.#queuedBytes += group.bytes;
      this.#queue.push(group);
    }
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting = [];
      this.#waitingHead = 0;
    } else if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  #settle(event: PendingEvent, result: AppendResult | null, error: ShardlineError | null): void {
    if (event.settled) return;
    event.settled = true;
    this.#queuedEvents--;
    this.#queuedBytes -= event.bytes;
    const operation = event.operation;
    if (error === null) operation.resolveEvent(event.index, result!);
    else operation.rejectEvent(error);
    if (operation.done) this.#operations.delete(operation);
  }

  // --- sending -------------------------------------------------------------------------

  /** Called by the outgoing queue with a freshly cut batch. */
  #dispatch(events: PendingEvent[], done: () => void): void {
    this.#ready.push(new Job(events, done));
    this.#pump();
  }

  /** Sends ready batches while the connection is open and credits are free. */
  #pump(): void {
    const socket = this.#socket;
    if (socket === null || this.#connection !== 'open') return;
    while (this.#ready.length > 0 && this.#inFlight.size < this.#window) {
      this.#send(socket, this.#ready.shift()!);
    }
  }

  #send(socket: WebSocketLike, job: Job): void {
    const batchId = this.#nextBatchId++;
    const inputs = new Array<EventInput>(job.events.length);
    for (let i = 0; i < inputs.length; i++) inputs[i] = job.events[i]!.input;
    // The encoder returns a view into the reused Builder; the socket may still hold the bytes
    // after send() returns (Node queues them for the kernel), so they are copied once.
    const frame = encodeAppendBatch(this.#builder, batchId, inputs).slice();
    this.#inFlight.set(batchId, job);
    this.#batchesSent++;
    this.#eventsSent += inputs.length;
    try {
      socket.send(frame);
    } catch (error) {
      // The socket is closing; its close event puts this batch back in the ready list.
      this.#lastError = error;
    }
  }

  #onAck(ack: DecodedBatchAck): void {
    const job = this.#inFlight.get(ack.batchId);
    if (job === undefined) return; // not ours: batch ids are never reused, so ignore it
    this.#inFlight.delete(ack.batchId);
    const { results } = ack;
    if (results.length !== job.events.length) {
      this.#fail(
        new ProtocolError(
          `the ack of batch ${ack.batchId} holds ${results.length} results for ${job.events.length} events`,
          null,
        ),
      );
      return;
    }
    let retry: PendingEvent[] | null = null;
    for (let i = 0; i < results.length; i++) {
      const event = job.events[i]!;
      if (event.settled) continue;
      const status = results.status[i]!;
      if (status <= Status.invalid) {
        this.#settle(event, this.#result(event, results, i, status), null);
        continue;
      }
      // unavailable, overloaded, and (PROTOCOL.md section 8) any status unknown to this client
      if (++event.retries > this.#options.maxRetries) {
        const name = status === Status.overloaded ? 'overloaded' : 'unavailable';
        const id = formatUuid(event.input.id);
        this.#settle(
          event,
          null,
          new RetriesExhaustedError(id, name, event.retries, results.error.get(i)),
        );
      } else {
        (retry ??= []).push(event);
      }
    }
    if (retry === null) {
      job.done();
    } else {
      job.events = retry;
      this.#retries += retry.length;
      const delay = backoffDelayMs(
        job.retryRound++,
        this.#options.retryDelayMs,
        this.#options.retryMaxDelayMs,
      );
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        this.#ready.unshift(job);
        this.#pump();
      }, delay);
      this.#retryTimers.set(timer, job);
    }
    this.#admit();
    this.#pump();
  }

  #result(event: PendingEvent, results: EventResults, i: number, status: number): AppendResult {
    const result: AppendResult = {
      id: formatUuid(event.input.id),
      status: STATUS_NAMES[status] as AppendStatus,
      seq: results.seq[i]!,
      shard: results.shard[i]!,
      offset: results.offset[i]!,
    };
    const error = results.error.get(i);
    if (error !== undefined) result.error = error;
    return result;
  }

  // --- connection ----------------------------------------------------------------------

  /**
   * One connection attempt: resolves once the server granted credits and the socket was
   * adopted (synchronously, so that no frame can slip between the two).
   */
  #attempt(): Promise<void> {
    const { connectTimeoutMs } = this.#options;
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = this.#factory.open(this.url);
      } catch (cause) {
        reject(new ConnectError(`cannot open a WebSocket to ${this.url}`, { cause }));
        return;
      }
      socket.binaryType = 'arraybuffer';
      let lastError: unknown = undefined;
      let serverError = '';
      const finish = (error: ShardlineError | null, window = 0): void => {
        clearTimeout(timer);
        this.#abortAttempt = null;
        socket.onopen = null;
        socket.onmessage = null;
        socket.onclose = null;
        // Kept, not cleared: `ws` throws an 'error' event that has no listener.
        socket.onerror = ignore;
        if (error !== null) {
          try {
            socket.close();
          } catch {
            // already closing
          }
          reject(error);
        } else if (this.#lifecycle === 'closed') {
          socket.close(CloseCode.normal);
          reject(new ClientClosedError('the client was closed while connecting'));
        } else {
          this.#adopt(socket, window);
          resolve();
        }
      };
      const timer = setTimeout(
        () =>
          finish(
            new ConnectError(`no credit from ${this.url} within ${connectTimeoutMs} ms`, {
              cause: lastError,
            }),
          ),
        connectTimeoutMs,
      );
      this.#abortAttempt = () =>
        finish(new ClientClosedError('the client was closed while connecting'));
      socket.onerror = (event) => (lastError = errorOf(event));
      socket.onclose = (event) =>
        finish(
          new ConnectError(
            `the connection to ${this.url} closed (${event.code}${event.reason ? ` ${event.reason}` : ''}${serverError}) before the server granted credits`,
            { cause: lastError },
          ),
        );
      socket.onmessage = (event) => {
        let frame: DecodedFrame;
        try {
          frame = this.#decode(event.data);
        } catch (cause) {
          finish(new ConnectError(`${this.url} sent an unreadable frame`, { cause }));
          return;
        }
        if (frame.body === 'credit') finish(null, frame.window);
        else if (frame.body === 'ping') socket.send(encodePong(this.#builder, frame.nonce).slice());
        else if (frame.body === 'error') serverError = `, ${frame.code}: ${frame.message}`;
      };
    });
  }

  #adopt(socket: WebSocketLike, window: number): void {
    this.#socket = socket;
    this.#connection = 'open';
    this.#reconnectAttempt = 0;
    this.#serverError = null;
    socket.onmessage = (event) => this.#onMessage(socket, event.data);
    socket.onclose = (event) => this.#onClose(socket, event.code, event.reason);
    socket.onerror = (event) => (this.#lastError = errorOf(event));
    this.#setWindow(window);
    this.#startPing();
    this.#pump();
  }

  #setWindow(window: number): void {
    this.#window = window;
    this.#queue.setWindow(window);
  }

  #decode(data: unknown): DecodedFrame {
    if (!(data instanceof ArrayBuffer)) {
      throw new ProtocolError('the server sent a text message', 'ERR_FRAME_TEXT');
    }
    return decodeFrame(new Uint8Array(data), ACK_LIMITS);
  }

  #onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.#socket) return;
    this.#receivedSincePing = true;
    let frame: DecodedFrame;
    try {
      frame = this.#decode(data);
    } catch (cause) {
      this.#fail(new ProtocolError('the server sent an unreadable frame', null, { cause }));
      return;
    }
    switch (frame.body) {
      case 'batch_ack':
        this.#onAck(frame);
        return;
      case 'credit':
        this.#setWindow(frame.window);
        this.#pump();
        return;
      case 'error':
        // The server closes the connection next; the close decides what happens.
        this.#serverError = { code: frame.code, message: frame.message };
        return;
      case 'ping':
        socket.send(encodePong(this.#builder, frame.nonce).slice());
        return;
      case 'pong':
        return;
      default:
        this.#fail(new ProtocolError(`the server sent a ${frame.body} frame`, null));
    }
  }

  #onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#connection = 'reconnecting';
    this.#stopPing();
    // Unacknowledged batches go back first, in the order they were sent, with the same ids.
    if (this.#inFlight.size > 0) {
      this.#ready.unshift(...this.#inFlight.values());
      this.#inFlight.clear();
    }
    if (this.#lifecycle === 'closed') return;
    const serverError = this.#serverError;
    if (serverError !== null || REFUSED_CLOSE_CODES.includes(code)) {
      this.#fail(
        new ProtocolError(
          `the server refused a frame and closed with ${code}` +
            (serverError ? ` (${serverError.code}: ${serverError.message})` : ` (${reason})`),
          serverError?.code ?? null,
        ),
      );
      return;
    }
    this.#lastError = new ConnectError(
      `connection closed with ${code}${reason ? ` ${reason}` : ''}`,
      {
        cause: this.#lastError,
      },
    );
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#lifecycle === 'closed') return;
    const { maxReconnectAttempts, reconnectDelayMs, reconnectMaxDelayMs } = this.#options;
    if (this.#reconnectAttempt >= maxReconnectAttempts) {
      this.#fail(
        new ConnectError(
          `cannot reconnect to ${this.url} after ${this.#reconnectAttempt} attempts`,
          { cause: this.#lastError },
        ),
      );
      return;
    }
    const delay = backoffDelayMs(this.#reconnectAttempt++, reconnectDelayMs, reconnectMaxDelayMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#attempt().then(
        () => this.#reconnects++,
        (error: unknown) => {
          this.#lastError = error;
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  /**
   * Liveness: a connection can die without a close (a host or NAT gone). Every interval, when
   * nothing arrived since the last Ping, the connection is replaced; else a Ping is sent.
   */
  #startPing(): void {
    this.#stopPing();
    if (this.#options.pingIntervalMs === 0) return;
    this.#pingOutstanding = false;
    this.#pingTimer = setInterval(() => {
      const socket = this.#socket;
      if (socket === null) return;
      if (this.#pingOutstanding && !this.#receivedSincePing) {
        this.#lastError = new ConnectError('no answer to a ping; connection presumed dead');
        this.#abandon(socket);
        this.#onClose(socket, 4000, 'ping timeout');
        return;
      }
      this.#receivedSincePing = false;
      this.#pingOutstanding = true;
      try {
        socket.send(encodePing(this.#builder, ++this.#pingNonce).slice());
      } catch {
        // closing; the close event follows
      }
    }, this.#options.pingIntervalMs);
  }

  #stopPing(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  /** Detaches a socket and closes it without waiting for the peer. */
  #abandon(socket: WebSocketLike): void {
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = ignore;
    const terminate = (socket as { terminate?: () => void }).terminate;
    try {
      if (typeof terminate === 'function') terminate.call(socket);
      else if (socket.readyState === OPEN) socket.close(4000, 'abandoned');
    } catch {
      // already closed
    }
  }

  // --- closing -------------------------------------------------------------------------

  async #closeGracefully(timeoutMs: number | undefined): Promise<void> {
    if (this.#lifecycle === 'closed') return;
    this.#lifecycle = 'closing';
    let timedOut = false;
    const flushed = this.flush();
    if (timeoutMs === undefined) await flushed;
    else {
      let timer: ReturnType<typeof setTimeout> | null = null;
      await Promise.race([
        flushed,
        new Promise<void>(
          (resolve) =>
            (timer = setTimeout(() => {
              timedOut = true;
              resolve();
            }, timeoutMs)),
        ),
      ]);
      if (timer !== null) clearTimeout(timer);
    }
    const socket = this.#socket;
    this.#shutdown(
      new ClientClosedError('the client was closed before the event was acknowledged'),
      CloseCode.normal,
    );
    if (socket === null) return;
    // A server that did not answer in time will not answer the closing handshake either.
    if (timedOut) this.#abandon(socket);
    else await this.#closeHandshake(socket);
  }

  /** Waits for the close handshake started by `#shutdown`, at most `CLOSE_HANDSHAKE_MS`. */
  #closeHandshake(socket: WebSocketLike): Promise<void> {
    return new Promise((resolve) => {
      if (socket.readyState === 3) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.#abandon(socket);
        resolve();
      }, CLOSE_HANDSHAKE_MS);
      socket.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The client fails for good: everything pending rejects with `error`. */
  #fail(error: ShardlineError): void {
    this.#shutdown(error, CloseCode.normal);
  }

  #shutdown(error: ShardlineError, code: number): void {
    if (this.#lifecycle === 'closed') return;
    const graceful = this.#lifecycle === 'closing';
    this.#lifecycle = 'closed';
    if (!graceful || error.code !== 'ERR_CLIENT_CLOSED') this.#failure = error;
    this.#stopPing();
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#abortAttempt?.();
    for (const timer of this.#retryTimers.keys()) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#queue.destroy();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = ignore;
      try {
        socket.close(code);
      } catch {
        // already closing
      }
    }
    this.#inFlight.clear();
    this.#ready.length = 0;
    this.#waiting = [];
    this.#waitingHead = 0;
    this.#waitingEvents = 0;
    for (const operation of this.#operations) operation.abort(error);
    this.#operations.clear();
    this.#queuedEvents = 0;
    this.#queuedBytes = 0;
  }
}
