/**
 * Test support for the MySQL/MariaDB journal: a fresh database per caller on the real server
 * (127.0.0.1:3306 as root, or SHARDLINE_TEST_MYSQL_URL), a TCP proxy the test controls to cut
 * the server off and bring it back, and a WebSocket client that streams at full credit.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import mariadb, { type Connection } from 'mariadb';
import {
  createBuilder,
  encodeAppendBatch,
  type DecodedBatchAck,
  type EventInput,
} from '../../protocol/index.js';
import { parseMysqlUrl, type MysqlLocation } from '../src/journal/journal-url.js';
import { FrameClient } from './support.js';

/** The server the tests use, without a database: `mysql://user[:pass]@host:port`. */
export const TEST_MYSQL_URL = process.env.SHARDLINE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface TestDatabase {
  name: string;
  /** `mysql://…/<name>` on the real server. */
  url: string;
  location: MysqlLocation;
  /** The same database reached through another host and port (a proxy). */
  urlVia(host: string, port: number): string;
  /** Runs SQL as the admin user, in this database. */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  /** Drops the database and closes the admin connection. */
  drop(): Promise<void>;
}

/** Creates `shardline_t_<random>`; call `drop()` in `after()`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `shardline_t_${randomBytes(6).toString('hex')}`;
  const server = parseMysqlUrl(`${TEST_MYSQL_URL}/mysql`);
  const admin: Connection = await mariadb.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    bigIntAsNumber: true,
    maxAllowedPacket: 64 * 1024 * 1024,
  });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`USE ${name}`);
  const url = `${TEST_MYSQL_URL}/${name}`;
  return {
    name,
    url,
    location: parseMysqlUrl(url),
    urlVia: (host, port) => url.replace(/@[^/]+\//, `@${host}:${port}/`),
    query: <T>(sql: string, params?: unknown[]) => admin.query<T>(sql, params),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

/**
 * A TCP proxy in front of the database. `cut()` destroys every proxied connection and closes
 * the listening socket, so that new connections are refused, as when the database stops;
 * `restore()` listens again on the same port.
 */
export class TcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  port = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.restore();
    return proxy;
  }

  /** Connections currently proxied. */
  get connections(): number {
    return this.#sockets.size / 2;
  }

  restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.#track(client);
      this.#track(upstream);
      upstream.connect(this.#targetPort, this.#targetHost);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => {
      if (server === null) resolve();
      else server.close(() => resolve());
    });
  }

  close(): Promise<void> {
    return this.cut();
  }
}

/** One AppendBatch sent by `PipelinedClient`, with its acknowledgement once it came. */
export interface SentBatch {
  batchId: bigint;
  events: EventInput[];
  /** `performance.now()` when sent. */
  sentAtMs: number;
  ack: DecodedBatchAck | null;
  /** `performance.now()` when the ack arrived. */
  ackedAtMs: number;
}

/**
 * A WebSocket client that keeps its credit window full: batches go out as soon as the server
 * grants credit, as a real SDK streaming at full speed would. It stops when its source runs dry
 * or the connection closes (a killed server).
 */
export class PipelinedClient {
  readonly client: FrameClient;
  readonly sent: SentBatch[] = [];
  readonly #builder = createBuilder(1 << 20);
  #window = 0;
  #inFlight = 0;
  #nextBatchId: bigint;

  private constructor(client: FrameClient, firstBatchId: bigint) {
    this.client = client;
    this.#nextBatchId = firstBatchId;
  }

  static async connect(url: string, firstBatchId = 1n): Promise<PipelinedClient> {
    const client = await FrameClient.connect(url);
    // A killed server resets the connection; the close that follows ends `run`.
    client.socket.on('error', () => undefined);
    return new PipelinedClient(client, firstBatchId);
  }

  /**
   * Sends what `next()` returns (null: nothing more) while credit allows, until `done()` says
   * so and every batch sent was answered, or the socket closes. `onAck` sees every
   * acknowledged batch.
   */
  async run(
    next: () => EventInput[] | null,
    done: () => boolean,
    onAck: (batch: SentBatch) => void = () => undefined,
  ): Promise<void> {
    const pending = new Map<bigint, SentBatch>();
    let exhausted = false;
    for (;;) {
      while (this.#inFlight < this.#window && !done() && !exhausted) {
        const events = next();
        if (events === null) {
          exhausted = true;
          break;
        }
        const batch: SentBatch = {
          batchId: this.#nextBatchId++,
          events,
          sentAtMs: performance.now(),
          ack: null,
          ackedAtMs: 0,
        };
        this.sent.push(batch);
        pending.set(batch.batchId, batch);
        this.#inFlight++;
        this.client.sendRaw(encodeAppendBatch(this.#builder, batch.batchId, events));
      }
      if (this.#inFlight === 0 && (done() || exhausted)) return;
      let frame;
      try {
        frame = await this.client.next();
      } catch {
        return;
      }
      if (frame.body === 'credit') this.#window = frame.window;
      else if (frame.body === 'batch_ack') {
        const batch = pending.get(frame.batchId);
        if (batch === undefined) throw new Error(`ack for unknown batch ${frame.batchId}`);
        pending.delete(frame.batchId);
        this.#inFlight--;
        batch.ack = frame;
        batch.ackedAtMs = performance.now();
        onAck(batch);
      }
    }
  }
}

/** The RSS of a process, in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}
