/**
 * Test support for the SDK: real servers (from the server's own test support), a frame-counting
 * WebSocket proxy, and journal reads over HTTP.
 */
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { decodeFrame, Status } from '../../../protocol/index.js';

// The SDK depends on protocol/ only; its tests may start real servers through the server's test
// support, which is what this one re-export is for.
export {
  getJson,
  removeDir,
  restartablePort,
  spawnServer,
  startTestServer,
  tempDir,
  type ChildServer,
  type TestServer,
} from '../../../server/test/support.js';

/** One AppendBatch as the proxy saw it. */
export interface SeenBatch {
  events: number;
  /** Encoded frame size. */
  bytes: number;
}

const DECODE_LIMITS = { maxFrameBytes: 1 << 30, maxEventsPerBatch: 1 << 20 };

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data);
}

/**
 * A transparent WebSocket proxy in front of a real server. It forwards every frame unchanged
 * and counts what crosses it: the AppendBatch frames and their sizes, the acks, the `overloaded`
 * results, and the most batches a connection ever had unacknowledged.
 */
export class FrameProxy {
  readonly batches: SeenBatch[] = [];
  readonly upgradeHeaders: IncomingHttpHeaders[] = [];
  acks = 0;
  overloaded = 0;
  maxUnacked = 0;
  readonly #server: WebSocketServer;
  readonly #upstream: string;
  readonly #sockets = new Set<WebSocket>();

  private constructor(server: WebSocketServer, upstream: string) {
    this.#server = server;
    this.#upstream = upstream;
    server.on('connection', (client, request) => this.#relay(client, request.headers));
  }

  static async start(upstream: string): Promise<FrameProxy> {
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      // Accept the client's first subprotocol, as the Shardline server echoes it.
      handleProtocols: (protocols) => protocols.values().next().value ?? false,
    });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return new FrameProxy(server, upstream);
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected address');
    return `ws://127.0.0.1:${address.port}/v1/stream`;
  }

  get eventsSeen(): number {
    return this.batches.reduce((sum, batch) => sum + batch.events, 0);
  }

  #relay(client: WebSocket, headers: IncomingHttpHeaders): void {
    this.upgradeHeaders.push(headers);
    const upstream = new WebSocket(this.#upstream, { perMessageDeflate: false });
    this.#sockets.add(client).add(upstream);
    let unacked = 0;
    const early: RawData[] = [];
    client.on('message', (data) => {
      const frame = decodeFrame(bytesOf(data), DECODE_LIMITS);
      if (frame.body === 'append_batch') {
        this.batches.push({ events: frame.events.length, bytes: bytesOf(data).byteLength });
        this.maxUnacked = Math.max(this.maxUnacked, ++unacked);
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: true });
      else early.push(data);
    });
    upstream.on('open', () => {
      for (const data of early.splice(0)) upstream.send(data, { binary: true });
    });
    upstream.on('message', (data) => {
      const frame = decodeFrame(bytesOf(data), DECODE_LIMITS);
      if (frame.body === 'batch_ack') {
        this.acks++;
        unacked--;
        for (let i = 0; i < frame.results.length; i++) {
          if (frame.results.status[i] === Status.overloaded) this.overloaded++;
        }
      }
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: true });
    });
    upstream.on('close', (code) => {
      if (code === 1005 || code === 1006) client.terminate();
      else client.close(code);
    });
    client.on('close', () => upstream.close());
    upstream.on('error', () => client.terminate());
    client.on('error', () => upstream.terminate());
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Every event of a stream, read back through `GET /v1/streams/{stream}/events`. */
export async function readStream(
  baseUrl: string,
  stream: string,
): Promise<{ id: string; seq: number; type: string; [key: string]: unknown }[]> {
  const events: { id: string; seq: number; type: string }[] = [];
  let fromSeq = 1;
  for (;;) {
    const response = await fetch(
      `${baseUrl}/v1/streams/${encodeURIComponent(stream)}/events?fromSeq=${fromSeq}&limit=1000`,
    );
    if (response.status === 404) return events;
    const body = (await response.json()) as {
      events: { id: string; seq: number; type: string }[];
      nextSeq: number;
    };
    events.push(...body.events);
    if (body.events.length < 1000) return events;
    fromSeq = body.nextSeq;
  }
}

/** Polls `condition` every 10 ms until it holds; fails after `limitMs` (a deadlock guard). */
export async function waitFor(
  condition: () => boolean,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
