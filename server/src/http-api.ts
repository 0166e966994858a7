/**
 * The HTTP routes: the JSON (or FlatBuffers) append fallback, stream reads, state, health,
 * metrics and the dashboard. Every error body is `{"error":{"code","message"}}`.
 *
 * Access per route: health is open (load balancers probe it); appends need the producer role,
 * reads and state the reader role, metrics and the dashboard the admin role; streams must lie
 * inside the credential's prefixes. Over its rate a principal gets 429 with Retry-After.
 */
import {
  decodeFrame,
  FrameError,
  STATUS_NAMES,
  Status,
  type DecodeLimits,
  type DecodedEvent,
  type EventResults,
} from '../../protocol/index.js';
import { checkEvent, type EventLimits, type EventRuntime } from '../../core/index.js';
import { HttpError, parseEventsBody, renderEvent } from './json-events.js';
import type { Logger } from './logger.js';
import { DASHBOARD_HTML } from './observability/dashboard-page.js';
import { batchCorrelationId } from './security/access.js';
import { AuthError, credentialFrom } from './security/authenticator.js';
import { Role, type Principal } from './security/principal.js';
import type { EdgeServices } from './ws-gateway.js';
import type { HttpResponse, TemplatedApp } from './uws.js';

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  429: '429 Too Many Requests',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export const READ_LIMIT_MAX = 1000;
export const READ_LIMIT_DEFAULT = 100;

export interface HttpApiOptions {
  decodeLimits: DecodeLimits;
  eventLimits: EventLimits;
}

/** Tracks whether the client went away, so that late answers are not written to a dead socket. */
interface Exchange {
  res: HttpResponse;
  aborted: boolean;
}

function begin(res: HttpResponse): Exchange {
  const exchange: Exchange = { res, aborted: false };
  res.onAborted(() => {
    exchange.aborted = true;
  });
  return exchange;
}

/** Writes an answer; safe to call after an await (it corks) and after an abort (no-op). */
function reply(
  exchange: Exchange,
  status: number,
  body: unknown,
  options: {
    closeConnection?: boolean;
    headers?: Record<string, string>;
    contentType?: string;
  } = {},
): void {
  if (exchange.aborted) return;
  exchange.aborted = true;
  exchange.res.cork(() => {
    exchange.res.writeStatus(STATUS_LINES[status] ?? `${status}`);
    exchange.res.writeHeader('Content-Type', options.contentType ?? 'application/json');
    for (const [name, value] of Object.entries(options.headers ?? {}))
      exchange.res.writeHeader(name, value);
    exchange.res.end(
      typeof body === 'string' ? body : JSON.stringify(body),
      options.closeConnection ?? false,
    );
  });
}

function replyError(
  exchange: Exchange,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  // An error answered before the body was read closes the connection: the unread body would
  // otherwise be parsed as the next request.
  reply(
    exchange,
    status,
    { error: { code, message } },
    { closeConnection: status === 413, headers },
  );
}

/**
 * Reads a request body of at most `maxBytes`, copying each chunk once into one buffer (sized
 * from Content-Length when given, grown by doubling otherwise).
 */
function readBody(
  exchange: Exchange,
  contentLength: number,
  maxBytes: number,
  onBody: (body: Uint8Array) => void,
): void {
  if (contentLength > maxBytes) {
    replyError(
      exchange,
      413,
      'ERR_BODY_TOO_LARGE',
      `body is ${contentLength} bytes, the limit is ${maxBytes}`,
    );
    return;
  }
  let buffer = Buffer.allocUnsafe(contentLength > 0 ? contentLength : 16 * 1024);
  let length = 0;
  exchange.res.onData((chunk, isLast) => {
    if (exchange.aborted) return;
    const bytes = new Uint8Array(chunk);
    if (length + bytes.length > maxBytes) {
      replyError(
        exchange,
        413,
        'ERR_BODY_TOO_LARGE',
        `body exceeds the limit of ${maxBytes} bytes`,
      );
      return;
    }
    if (length + bytes.length > buffer.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(maxBytes, Math.max(buffer.length * 2, length + bytes.length)),
      );
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    buffer.set(bytes, length);
    length += bytes.length;
    if (isLast) onBody(buffer.subarray(0, length));
  });
}

export function renderResults(results: EventResults): Record<string, unknown>[] {
  const out = new Array<Record<string, unknown>>(results.length);
  for (let i = 0; i < results.length; i++) {
    const status = results.status[i]! as Status;
    const result: Record<string, unknown> = { status: STATUS_NAMES[status] };
    if (status === Status.ok || status === Status.duplicate) {
      result['seq'] = results.seq[i];
      result['shard'] = results.shard[i];
      result['offset'] = results.offset[i];
    } else if (status === Status.wrongExpectedSeq) {
      result['seq'] = results.seq[i];
    }
    const error = results.error.get(i);
    if (error !== undefined) result['error'] = error;
    out[i] = result;
  }
  return out;
}

function decodeStreamParameter(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'stream in the path is not valid percent-encoding');
  }
}

function queryInteger(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new HttpError(
      400,
      'ERR_BAD_REQUEST',
      `${name} must be an integer between ${min} and ${max}`,
    );
  }
  return value;
}

export class HttpApi {
  readonly #runtime: EventRuntime;
  readonly #log: Logger;
  readonly #edge: EdgeServices;
  readonly #options: HttpApiOptions;
  #draining = false;

  constructor(runtime: EventRuntime, edge: EdgeServices, options: HttpApiOptions) {
    this.#runtime = runtime;
    this.#log = edge.log;
    this.#edge = edge;
    this.#options = options;
  }

  /** From now on readiness answers 503 and appends are refused with 503. */
  startDraining(): void {
    this.#draining = true;
  }

  register(app: TemplatedApp): void {
    app.get('/health/live', (res) => reply(begin(res), 200, { status: 'live' }));
    app.get('/health/ready', (res) => {
      const ready = !this.#draining && this.#runtime.isReady();
      reply(begin(res), ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
    });
    app.post('/v1/events', (res, req) => {
      const exchange = begin(res);
      const contentType = req.getHeader('content-type');
      const headerCorrelationId = req.getHeader('x-correlation-id') || null;
      const contentLength = Number(req.getHeader('content-length') || '0');
      // Authentication runs while the body streams in; both are awaited before anything else.
      const admitted = this.#edge.access.admit(
        credentialFrom(req.getHeader('authorization')),
        Role.producer,
      );
      admitted.catch(() => undefined);
      if (this.#draining) {
        replyError(exchange, 503, 'ERR_DRAINING', 'server is shutting down');
        return;
      }
      readBody(exchange, contentLength, this.#options.decodeLimits.maxFrameBytes, (body) => {
        void this.#guard(exchange, async () => {
          const principal = await admitted;
          this.#append(exchange, principal, contentType, headerCorrelationId, body);
        });
      });
    });
    app.get('/v1/streams/:stream/events', (res, req) => {
      const exchange = begin(res);
      const rawStream = req.getParameter(0) ?? '';
      const query = new URLSearchParams(req.getQuery() ?? '');
      const credential = credentialFrom(req.getHeader('authorization'));
      void this.#guard(exchange, async () => {
        const principal = await this.#edge.access.admit(credential, Role.reader);
        const stream = decodeStreamParameter(rawStream);
        this.#edge.access.checkStreams(principal, [{ stream }]);
        const fromSeq = queryInteger(query, 'fromSeq', 1, 1, Number.MAX_SAFE_INTEGER);
        const limit = queryInteger(query, 'limit', READ_LIMIT_DEFAULT, 1, READ_LIMIT_MAX);
        const events = await this.#runtime.readStream(stream, fromSeq, limit);
        const last = events[events.length - 1];
        reply(exchange, 200, {
          stream,
          events: events.map(renderEvent),
          nextSeq: last === undefined ? fromSeq : last.seq + 1,
        });
      });
    });
    app.get('/v1/streams/:stream', (res, req) => {
      const exchange = begin(res);
      const rawStream = req.getParameter(0) ?? '';
      const credential = credentialFrom(req.getHeader('authorization'));
      void this.#guard(exchange, async () => {
        const principal = await this.#edge.access.admit(credential, Role.reader);
        const stream = decodeStreamParameter(rawStream);
        this.#edge.access.checkStreams(principal, [{ stream }]);
        const state = await this.#runtime.streamState(stream);
        if (state === null) {
          throw new HttpError(
            404,
            'ERR_STREAM_NOT_FOUND',
            `stream ${JSON.stringify(stream)} has no events`,
          );
        }
        reply(exchange, 200, { stream, seq: state.seq, state });
      });
    });
    app.get('/metrics', (res, req) => {
      const exchange = begin(res);
      const credential = credentialFrom(req.getHeader('authorization'));
      void this.#guard(exchange, async () => {
        await this.#edge.access.admit(credential, Role.admin);
        const text = await this.#edge.metrics.registry.metrics();
        reply(exchange, 200, text, { contentType: this.#edge.metrics.registry.contentType });
      });
    });
    app.get('/dashboard', (res, req) => {
      const exchange = begin(res);
      // A browser cannot set headers when it navigates: the page also takes ?token=.
      const credential =
        credentialFrom(req.getHeader('authorization')) ??
        new URLSearchParams(req.getQuery() ?? '').get('token');
      void this.#guard(exchange, async () => {
        await this.#edge.access.admit(credential, Role.admin);
        reply(exchange, 200, DASHBOARD_HTML, {
          contentType: 'text/html; charset=utf-8',
          headers: { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
        });
      });
    });
    app.any('/*', (res, req) => {
      replyError(
        begin(res),
        404,
        'ERR_NOT_FOUND',
        `no route for ${req.getMethod().toUpperCase()} ${req.getUrl()}`,
      );
    });
  }

  /** Runs a handler, turning HttpError and AuthError into their status, anything else into 500. */
  async #guard(exchange: Exchange, handler: () => Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      if (error instanceof HttpError) {
        replyError(exchange, error.status, error.code, error.message, error.headers);
      } else if (error instanceof AuthError) {
        replyError(exchange, error.status, error.code, error.message);
      } else if (error instanceof FrameError) {
        replyError(exchange, error.closeCode === 1009 ? 413 : 400, error.code, error.message);
      } else {
        this.#log.error({ err: error }, 'request failed');
        replyError(exchange, 500, 'ERR_INTERNAL', 'internal error');
      }
    }
  }

  #append(
    exchange: Exchange,
    principal: Principal,
    contentType: string,
    headerCorrelationId: string | null,
    body: Uint8Array,
  ): void {
    let events: DecodedEvent[];
    let frameCorrelationId: string | null = null;
    if (contentType.startsWith('application/x-flatbuffers')) {
      const frame = decodeFrame(body, this.#options.decodeLimits);
      if (frame.body !== 'append_batch') {
        throw new HttpError(
          400,
          'ERR_BAD_REQUEST',
          `body must be an AppendBatch frame, got ${frame.body}`,
        );
      }
      events = frame.events;
      frameCorrelationId = frame.correlationId;
    } else if (contentType === '' || contentType.startsWith('application/json')) {
      events = parseEventsBody(body, null, this.#options.decodeLimits.maxEventsPerBatch);
    } else {
      throw new HttpError(
        415,
        'ERR_CONTENT_TYPE',
        `Content-Type must be application/json or application/x-flatbuffers, got ${contentType}`,
      );
    }
    const correlationId = batchCorrelationId(frameCorrelationId ?? headerCorrelationId);
    if (correlationId === null) {
      throw new HttpError(400, 'ERR_BAD_REQUEST', 'the correlation id is longer than 128 bytes');
    }
    for (let i = 0; i < events.length; i++) {
      const reason = checkEvent(events[i]!, this.#options.eventLimits);
      if (reason !== null) throw new HttpError(400, 'ERR_INVALID_EVENT', `events[${i}]: ${reason}`);
    }
    this.#edge.access.checkStreams(principal, events);
    const rate = this.#edge.access.takeBatch(principal, events.length);
    if (!rate.allowed) {
      throw new HttpError(
        429,
        'ERR_RATE_LIMITED',
        `over the ${rate.reason}/s limit of this credential`,
        {
          'Retry-After': String(rate.retryAfterS),
        },
      );
    }
    const receivedAt = performance.now();
    this.#log.debug(
      { principal: principal.id, correlationId, events: events.length },
      'batch received',
    );
    this.#edge.dashboard.batchReceived(events);
    this.#runtime.append(events, correlationId, (results) => {
      this.#edge.metrics.batchAnswered('http', results, receivedAt);
      this.#edge.dashboard.batchAnswered(results, receivedAt);
      this.#log.debug(
        { principal: principal.id, correlationId, events: results.length },
        'batch answered',
      );
      reply(
        exchange,
        200,
        { results: renderResults(results) },
        { headers: { 'X-Correlation-Id': correlationId } },
      );
    });
  }
}
