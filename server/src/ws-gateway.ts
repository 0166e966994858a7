/**
 * `GET /v1/stream`: the binary WebSocket path. Each message is one verified FlatBuffers Frame;
 * an AppendBatch is answered by exactly one BatchAck after its group committed.
 *
 * Flow control: on open the server sends Credit(window). Each AppendBatch takes one credit and
 * each BatchAck returns it; a batch beyond the window is answered at once with `overloaded`
 * results and never buffered. The output a connection can have pending is therefore bounded by
 * the window times the largest ack.
 *
 * Access: the upgrade authenticates (an `Authorization` header, or a `shardline.bearer.<credential>`
 * subprotocol for browsers) and answers 401/403/429 before any frame flows. AppendBatch needs the
 * producer role and streams inside the grant (else Error ERR_FORBIDDEN and close 1008), and is
 * charged to the principal's rate limits (over them: `overloaded` results).
 */
import {
  CloseCode,
  createBuilder,
  decodeFrame,
  encodeBatchAck,
  encodeCredit,
  encodeError,
  encodePong,
  EventResults,
  FrameError,
  Status,
  type DecodeLimits,
} from '../../protocol/index.js';
import { copyAsBlobBytes, traceHandoff, type EventRuntime } from '../../core/index.js';
import type { Logger } from './logger.js';
import type { DashboardFeed } from './observability/dashboard.js';
import type { ServerMetrics } from './observability/metrics.js';
import { batchCorrelationId, type AccessControl } from './security/access.js';
import { AuthError, credentialFrom, WS_BEARER_PROTOCOL_PREFIX } from './security/authenticator.js';
import { Role, type Principal } from './security/principal.js';
import {
  uws,
  type HttpRequest,
  type HttpResponse,
  type TemplatedApp,
  type us_socket_context_t,
  type WebSocket,
} from './uws.js';

export interface ConnectionState {
  id: number;
  inFlight: number;
  closed: boolean;
  /** True from a send() that reported backpressure until uWS signals drain. */
  congested: boolean;
  principal: Principal;
}

/** What the gateway needs besides the runtime. */
export interface EdgeServices {
  access: AccessControl;
  metrics: ServerMetrics;
  dashboard: DashboardFeed;
  log: Logger;
}

const DASHBOARD_TOPIC = 'dashboard';

function httpStatusLine(status: number): string {
  return status === 401
    ? '401 Unauthorized'
    : status === 403
      ? '403 Forbidden'
      : status === 429
        ? '429 Too Many Requests'
        : '503 Service Unavailable';
}

/** The subprotocol to echo: browsers fail the handshake unless one offered is selected. */
function selectedProtocol(offered: string): string {
  for (const protocol of offered.split(',')) {
    if (protocol.trim().startsWith(WS_BEARER_PROTOCOL_PREFIX)) return protocol.trim();
  }
  return '';
}

export interface WsGatewayOptions {
  limits: DecodeLimits;
  creditWindow: number;
  idleTimeoutS: number;
}

/** `send()` results (uWS): 1 sent, 0 buffered (backpressure), 2 dropped (over the limit). */
const SEND_BACKPRESSURE = 0;
const SEND_DROPPED = 2;

export class WsGateway {
  readonly #runtime: EventRuntime;
  readonly #log: Logger;
  readonly #options: WsGatewayOptions;
  readonly #edge: EdgeServices;
  /** One Builder for this thread; every encode clears and reuses it. */
  readonly #builder = createBuilder();
  readonly #connections = new Set<WebSocket<ConnectionState>>();
  #nextId = 1;
  #accepting = true;

  constructor(runtime: EventRuntime, edge: EdgeServices, options: WsGatewayOptions) {
    this.#runtime = runtime;
    this.#log = edge.log;
    this.#edge = edge;
    this.#options = options;
  }

  /**
   * Authenticates an upgrade before accepting it. Headers are read at once (the request object
   * dies with this callback); the answer is corked because it comes after an await.
   */
  #upgradeWithAuth(
    res: HttpResponse,
    req: HttpRequest,
    context: us_socket_context_t,
    role: Role | null,
    countConnection: boolean,
  ): void {
    const key = req.getHeader('sec-websocket-key');
    const protocols = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const credential = credentialFrom(req.getHeader('authorization'), protocols);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const refuse = (status: number, code: string, message: string): void => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(httpStatusLine(status));
        if (status === 429) res.writeHeader('Retry-After', '1');
        res
          .writeHeader('Content-Type', 'application/json')
          .end(JSON.stringify({ error: { code, message } }), true);
      });
    };
    if (!this.#accepting) {
      refuse(503, 'ERR_DRAINING', 'server is shutting down');
      return;
    }
    this.#edge.access.admit(credential, role).then(
      (principal) => {
        if (aborted) return;
        if (countConnection && !this.#edge.access.limiter.openConnection(principal.id)) {
          this.#edge.metrics.rateLimited('connections');
          refuse(429, 'ERR_TOO_MANY_CONNECTIONS', 'this credential has too many open connections');
          return;
        }
        res.cork(() => {
          res.upgrade<ConnectionState>(
            { id: this.#nextId++, inFlight: 0, closed: false, congested: false, principal },
            key,
            selectedProtocol(protocols),
            extensions,
            context,
          );
        });
      },
      (error: unknown) => {
        if (error instanceof AuthError) refuse(error.status, error.code, error.message);
        else {
          this.#log.error({ err: error }, 'upgrade failed');
          refuse(503, 'ERR_INTERNAL', 'internal error');
        }
      },
    );
  }

  get connections(): number {
    return this.#connections.size;
  }

  register(app: TemplatedApp): void {
    app.ws<ConnectionState>('/v1/stream', {
      compression: uws.DISABLED,
      // Frames up to twice the limit are read so that they can be refused with an Error frame
      // and 1009; beyond that uWS itself closes with 1009.
      maxPayloadLength: this.#options.limits.maxFrameBytes * 2,
      idleTimeout: this.#options.idleTimeoutS,
      sendPingsAutomatically: true,
      maxBackpressure: 64 * 1024 * 1024,
      // Any role may connect (Ping, and later Subscribe); AppendBatch checks the producer role.
      upgrade: (res, req, context) => this.#upgradeWithAuth(res, req, context, null, true),
      open: (ws) => {
        this.#connections.add(ws);
        ws.send(encodeCredit(this.#builder, this.#options.creditWindow), true);
      },
      message: (ws, message, isBinary) => this.#onMessage(ws, message, isBinary),
      drain: (ws) => {
        if (ws.getBufferedAmount() === 0) ws.getUserData().congested = false;
      },
      close: (ws) => {
        const state = ws.getUserData();
        state.closed = true;
        this.#connections.delete(ws);
        this.#edge.access.limiter.closeConnection(state.principal.id);
      },
    });
    app.ws<ConnectionState>('/v1/dashboard', {
      compression: uws.DISABLED,
      maxPayloadLength: 1024,
      idleTimeout: this.#options.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgradeWithAuth(res, req, context, Role.admin, false),
      open: (ws) => {
        ws.subscribe(DASHBOARD_TOPIC);
        ws.send(this.#edge.dashboard.historyJson(), false);
      },
    });
  }

  /** Pushes a dashboard update to every open dashboard page. */
  static publishDashboard(app: TemplatedApp, json: string): void {
    app.publish(DASHBOARD_TOPIC, json, false);
  }

  #refuse(ws: WebSocket<ConnectionState>, error: FrameError): void {
    this.#log.warn(
      { connection: ws.getUserData().id, code: error.code, reason: error.message },
      'refused frame',
    );
    ws.cork(() => {
      ws.send(encodeError(this.#builder, error.code, error.message), true);
      ws.end(error.closeCode, error.code);
    });
  }

  #onMessage(ws: WebSocket<ConnectionState>, message: ArrayBuffer, isBinary: boolean): void {
    traceHandoff('received');
    if (!isBinary) {
      this.#refuse(
        ws,
        new FrameError(
          'ERR_FRAME_TEXT',
          'frames must be binary FlatBuffers',
          CloseCode.unsupportedData,
        ),
      );
      return;
    }
    // uWS empties `message` when this callback returns. The worker pool copies each event into
    // its ring before `append` returns, so it can read the message in place; the single-threaded
    // runtime keeps the events until their commit, so it gets a copy, as a Buffer: the events'
    // ids and payloads are then Buffers too, which the journal drivers bind without a new view
    // (and BlobBytes, which the mariadb driver type-checks without allocating: blob-bytes.ts).
    let frame;
    try {
      if (message.byteLength > this.#options.limits.maxFrameBytes) {
        throw new FrameError(
          'ERR_FRAME_TOO_LARGE',
          `frame is ${message.byteLength} bytes, the limit is ${this.#options.limits.maxFrameBytes}`,
          CloseCode.messageTooBig,
        );
      }
      const bytes = this.#runtime.retainsEvents
        ? copyAsBlobBytes(message)
        : new Uint8Array(message);
      frame = decodeFrame(bytes, this.#options.limits);
      traceHandoff('decoded', frame.body === 'append_batch' ? frame.batchId : 0);
    } catch (error) {
      if (error instanceof FrameError) this.#refuse(ws, error);
      else throw error;
      return;
    }
    const state = ws.getUserData();
    switch (frame.body) {
      case 'append_batch': {
        const { batchId, events } = frame;
        const correlationId = batchCorrelationId(frame.correlationId);
        if (correlationId === null) {
          this.#refuse(
            ws,
            new FrameError(
              'ERR_FRAME_FIELD',
              'AppendBatch.correlation_id is longer than 128 bytes',
            ),
          );
          return;
        }
        const principal = state.principal;
        try {
          if (!principal.roles.has(Role.producer))
            throw new AuthError(403, 'role', 'the producer role is required');
          this.#edge.access.checkStreams(principal, events);
        } catch (error) {
          const refusal = error as AuthError;
          this.#log.warn(
            {
              connection: state.id,
              principal: principal.id,
              correlationId,
              reason: refusal.reason,
            },
            'refused batch',
          );
          ws.cork(() => {
            ws.send(encodeError(this.#builder, refusal.code, refusal.message, batchId), true);
            ws.end(CloseCode.policyViolation, refusal.code);
          });
          return;
        }
        const rate = this.#edge.access.takeBatch(principal, events.length);
        if (state.inFlight >= this.#options.creditWindow || state.congested || !rate.allowed) {
          // Over its credits, not reading its acks, or over its rate: refuse at once, never buffer.
          const reason = !rate.allowed
            ? `rate limited (${rate.reason}/s); retry in ${rate.retryAfterS} s`
            : state.congested
              ? 'the connection is not reading its acks'
              : `over the credit window of ${this.#options.creditWindow} batches`;
          const results = EventResults.all(events.length, Status.overloaded, reason);
          this.#edge.metrics.batchAnswered('ws', results, performance.now());
          ws.send(encodeBatchAck(this.#builder, batchId, results), true);
          return;
        }
        state.inFlight++;
        const receivedAt = performance.now();
        this.#log.debug(
          {
            connection: state.id,
            principal: principal.id,
            correlationId,
            batchId: String(batchId),
            events: events.length,
          },
          'batch received',
        );
        this.#edge.dashboard.batchReceived(events);
        this.#runtime.append(events, correlationId, (results) => {
          state.inFlight--;
          this.#edge.metrics.batchAnswered('ws', results, receivedAt);
          this.#edge.dashboard.batchAnswered(results, receivedAt);
          this.#log.debug(
            {
              connection: state.id,
              correlationId,
              batchId: String(batchId),
              events: results.length,
            },
            'batch answered',
          );
          if (state.closed) return;
          traceHandoff('acked', batchId);
          ws.cork(() => {
            const sent = ws.send(encodeBatchAck(this.#builder, batchId, results), true);
            if (sent === SEND_BACKPRESSURE) state.congested = true;
            else if (sent === SEND_DROPPED) {
              // Its buffer is full; its unacknowledged events are retried on reconnect.
              ws.end(CloseCode.tryAgainLater, 'ERR_BACKPRESSURE');
            }
          });
        });
        return;
      }
      case 'ping':
        ws.send(encodePong(this.#builder, frame.nonce), true);
        return;
      case 'pong':
        return;
      default:
        this.#refuse(
          ws,
          new FrameError('ERR_FRAME_DIRECTION', `a client must not send ${frame.body} frames`),
        );
    }
  }

  /** Refuses new connections (503 on upgrade). */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Closes every connection with 1001 (going away). Call once their acks went out. */
  closeAll(): void {
    for (const ws of [...this.#connections]) ws.end(CloseCode.goingAway, 'server shutting down');
  }
}
