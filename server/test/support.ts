/**
 * Test support: real servers (in-process on port 0, or a child process that can be SIGKILLed),
 * a small WebSocket client for raw frames, and event builders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SERVER_NODE_FLAGS } from '../node-flags.js';
import WebSocket from 'ws';
import {
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  type DecodedBatchAck,
  type DecodedFrame,
  type EventInput,
} from '../../protocol/index.js';
import { DEFAULT_CONFIG, startServer, type RunningServer, type ServerConfig } from '../index.js';
import { createLogger, type Logger } from '../src/logger.js';

export function tempDir(prefix = 'shardline-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface TestServer extends RunningServer {
  url: string;
  wsUrl: string;
  dataDir: string;
}

/**
 * A real server in this process, on a free port, with its own temporary data directory.
 * Authentication is off unless the test turns it on (most tests are about other things).
 */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  log: Logger = createLogger('silent'),
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? tempDir();
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    dataDir,
    keysFile: join(dataDir, 'keys.json'),
    auth: false,
    ...overrides,
  };
  const server = await startServer(config, log);
  const scheme = config.tlsCert === '' ? '' : 's';
  return Object.assign(server, {
    url: `http${scheme}://127.0.0.1:${server.port}`,
    wsUrl: `ws${scheme}://127.0.0.1:${server.port}/v1/stream`,
    dataDir,
  });
}

export interface ChildServer {
  process: ChildProcess;
  /** Its log lines at warn level or above, up to the line saying it listens. */
  complaints: string[];
  port: number;
  url: string;
  wsUrl: string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

const serverMain = new URL('../main.js', import.meta.url).pathname;

/**
 * A free port below Linux's ephemeral range (32768 and up), for a server that a test restarts
 * on the same port. A port 0 hands out comes from that range, and while the server is down the
 * kernel may give the same number to an outgoing connection, such as a client reconnecting.
 */
export async function restartablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createNetServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/**
 * The server as its own process (`node dist/server/main.js`), for crash and signal tests, with
 * node's flags as the launchers pass them unless `nodeFlags` says otherwise.
 */
export async function spawnServer(
  dataDir: string,
  args: string[] = [],
  nodeFlags: readonly string[] = SERVER_NODE_FLAGS,
): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      serverMain,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      ...(args.includes('--auth') ? [] : ['--auth', 'off']),
      ...args,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const lines = createInterface({ input: child.stdout });
  // Log lines at warn level or above, so that a failed start says why.
  const complaints: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; port?: number; level?: number };
      if (record.msg === 'shardline listening' && record.port) resolve(record.port);
      else if ((record.level ?? 0) >= 40) complaints.push(line);
    });
    // 'close' comes after the last output line, unlike 'exit'.
    child.once('close', (code, signal) =>
      reject(
        new Error(
          `server exited with ${code ?? signal} before listening: ${complaints.join('\n')}`,
        ),
      ),
    );
  });
  return {
    process: child,
    complaints,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/stream`,
    exited,
  };
}

/** A raw-frame WebSocket client that queues every decoded frame it receives. */
export class FrameClient {
  readonly socket: WebSocket;
  readonly frames: DecodedFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];
  readonly #builder = createBuilder();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => {
      this.frames.push(
        decodeFrame(new Uint8Array(data), { maxFrameBytes: 1 << 30, maxEventsPerBatch: 1 << 20 }),
      );
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** Connects; `apiKey` goes in the Authorization header, `tls` carries options such as `ca`. */
  static async connect(
    url: string,
    apiKey: string | null = null,
    tls: { ca?: Buffer } = {},
  ): Promise<FrameClient> {
    const socket = new WebSocket(url, {
      maxPayload: 1 << 30,
      ...tls,
      ...(apiKey === null ? {} : { headers: { authorization: `Bearer ${apiKey}` } }),
    });
    const client = new FrameClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** The next received frame (waits for it); throws if the socket closes first. */
  async next(): Promise<DecodedFrame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.socket.readyState >= WebSocket.CLOSING) throw new Error('socket closed');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Waits for a frame of one body type, skipping Credit frames. */
  async nextOf<B extends DecodedFrame['body']>(
    body: B,
  ): Promise<Extract<DecodedFrame, { body: B }>> {
    for (;;) {
      const frame = await this.next();
      if (frame.body === body) return frame as Extract<DecodedFrame, { body: B }>;
      if (frame.body !== 'credit') throw new Error(`expected ${body}, got ${frame.body}`);
    }
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  /**
   * Writes several binary WebSocket messages with one TCP write, so that the server reads them
   * in one go (deterministic for back-pressure tests). Frames are masked with a zero key.
   */
  sendBurst(messages: readonly Uint8Array[]): void {
    const parts: Buffer[] = [];
    for (const message of messages) {
      const length = message.length;
      const header =
        length < 126
          ? Buffer.from([0x82, 0x80 | length])
          : length < 65536
            ? Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff])
            : Buffer.concat([Buffer.from([0x82, 0x80 | 127]), bigEndian64(length)]);
      parts.push(header, Buffer.alloc(4), Buffer.from(message));
    }
    (this.socket as unknown as { _socket: NodeJS.WritableStream })._socket.write(
      Buffer.concat(parts),
    );
  }

  async append(
    batchId: bigint,
    events: readonly EventInput[],
    correlationId?: string,
  ): Promise<DecodedBatchAck> {
    this.sendRaw(encodeAppendBatch(this.#builder, batchId, events, correlationId));
    const ack = await this.nextOf('batch_ack');
    if (ack.batchId !== batchId)
      throw new Error(`ack for batch ${ack.batchId}, expected ${batchId}`);
    return ack;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}

function bigEndian64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

export function uuidBytes(uuid = randomUUID()): Uint8Array {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** `count` events spread round-robin over `streams` streams, each with a distinct payload. */
export function makeEvents(
  count: number,
  streams: number,
  prefix = 'user-',
  payloadBytes = 120,
): EventInput[] {
  const events: EventInput[] = [];
  for (let i = 0; i < count; i++) {
    const payload = Buffer.alloc(payloadBytes);
    payload.write(`event ${i} of ${prefix}`, 'utf8');
    for (let b = 24; b < payloadBytes; b++) payload[b] = (i * 31 + b) & 0xff;
    events.push({
      id: uuidBytes(),
      stream: `${prefix}${i % streams}`,
      type: i % 3 === 0 ? 'Clicked' : 'Viewed',
      payload,
    });
  }
  return events;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}
