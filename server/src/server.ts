/**
 * The composition root: journal → shard runtime → uWS app (WebSocket gateway + HTTP API).
 */
import { createServer as createNetServer } from 'node:net';
import {
  createCommitLanes,
  SharedMutex,
  WalSync,
  ShardRuntime,
  ShardWorkerPool,
  SqliteJournal,
  type EventLimits,
  type EventRuntime,
  type ShardRuntimeOptions,
  type SqliteJournalOptions,
  warmUp,
} from '../../core/index.js';
import { ShardlineError } from '../../protocol/index.js';
import { commitLanes, type ServerConfig } from './config.js';
import { HttpApi } from './http-api.js';
import { laneJournals, MysqlJournal } from './journal/mysql-journal.js';
import { MYSQL_JOURNAL_MODULE, mysqlOptionsFromConfig } from './journal/mysql-setup.js';
import { createLogger, type Logger } from './logger.js';
import { uws, type us_listen_socket } from './uws.js';
import { DashboardFeed } from './observability/dashboard.js';
import { ServerMetrics } from './observability/metrics.js';
import { AccessControl, MAX_CORRELATION_ID_BYTES } from './security/access.js';
import { Authenticator } from './security/authenticator.js';
import { RateLimiter } from './security/rate-limiter.js';
import { WsGateway, type EdgeServices } from './ws-gateway.js';

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly runtime: EventRuntime;
  /**
   * Graceful shutdown: stop accepting, finish and answer the groups in flight, close every
   * connection, close the journal.
   */
  shutdown(): Promise<void>;
}

/**
 * uWS listens with SO_REUSEPORT, so a second server on a port in use would start and silently
 * take half of the connections (with its own journal, or fighting over the same one). A probe
 * bind without SO_REUSEPORT refuses a port that another process listens on, and unlike an
 * exclusive uWS listen it still rebinds at once after a crash (libuv sets SO_REUSEADDR, so the
 * dead server's TIME_WAIT connections do not block it).
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createNetServer();
  const inUse = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    probe.once('error', resolve);
    probe.listen({ host, port, exclusive: true }, () => resolve(null));
  });
  if (inUse === null) {
    await new Promise((resolve) => probe.close(resolve));
    return;
  }
  throw new ShardlineError(
    'ERR_LISTEN',
    `cannot listen on ${host}:${port}: ${inUse.code === 'EADDRINUSE' ? 'another process listens there' : inUse.message}`,
    { fatal: true },
  );
}

export async function startServer(
  config: ServerConfig,
  log: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const limits: EventLimits = {
    maxStreamBytes: config.maxStreamBytes,
    maxTypeBytes: config.maxTypeBytes,
    maxPayloadBytes: config.maxPayloadBytes,
    maxCorrelationIdBytes: MAX_CORRELATION_ID_BYTES,
    maxTimestampSkewMs: config.maxTimestampSkewS * 1000,
  };
  const runtimeOptions: Partial<ShardRuntimeOptions> & { limits: EventLimits } = {
    shards: config.shards,
    snapshotEvery: config.snapshotEvery,
    maxLiveActors: config.maxLiveActors,
    limits,
    faults: config.faultInjection,
  };
  if (config.faultInjection) log.warn('fault injection is ON: for tests only, never in production');
  if (config.port !== 0) await assertPortFree(config.host, config.port);
  const runtime = await createRuntime(config, runtimeOptions, log);
  await runtime.start();
  const journal =
    config.journal === 'sqlite'
      ? { kind: 'sqlite', dataDir: config.dataDir }
      : { kind: 'mysql', location: String(config.journal) };
  const decodeLimits = {
    maxFrameBytes: config.maxFrameBytes,
    maxEventsPerBatch: config.maxEventsPerBatch,
  };
  if (!config.auth) {
    log.warn(
      'AUTHENTICATION IS OFF (SHARDLINE_AUTH=off): anyone who can reach this port can append, ' +
        'read and administer. For local development only.',
    );
  }
  const authenticator = await Authenticator.create({
    enabled: config.auth,
    keysFile: config.keysFile,
    jwtSecret: config.jwtSecret || null,
    jwtPublicKeyFile: config.jwtPublicKeyFile || null,
    jwtAlgorithm: config.jwtAlgorithm,
    jwksUrl: config.jwksUrl || null,
    jwtIssuer: config.jwtIssuer || null,
    jwtAudience: config.jwtAudience || null,
  });
  const app =
    config.tlsCert === ''
      ? uws.App()
      : uws.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey });
  let gateway: WsGateway | null = null;
  const metrics = new ServerMetrics(runtime, () => gateway?.connections ?? 0);
  const dashboard = new DashboardFeed(runtime, (json) => WsGateway.publishDashboard(app, json));
  const edge: EdgeServices = {
    access: new AccessControl(
      authenticator,
      new RateLimiter({
        eventsPerSecond: config.rateEventsPerS,
        batchesPerSecond: config.rateBatchesPerS,
        connectionsPerPrincipal: config.maxConnectionsPerPrincipal,
      }),
      metrics,
    ),
    metrics,
    dashboard,
    log,
  };
  gateway = new WsGateway(runtime, edge, {
    limits: decodeLimits,
    creditWindow: config.creditWindow,
    idleTimeoutS: config.wsIdleTimeoutS,
  });
  const api = new HttpApi(runtime, edge, { decodeLimits, eventLimits: limits });
  gateway.register(app);
  api.register(app);
  dashboard.start();

  const listenSocket = await new Promise<us_listen_socket | false>((resolve) => {
    app.listen(config.host, config.port, resolve);
  });
  if (listenSocket === false) {
    // Stop the workers and close the journal, or they would keep the failed process alive.
    dashboard.stop();
    await runtime.close();
    throw new ShardlineError('ERR_LISTEN', `cannot listen on ${config.host}:${config.port}`, {
      fatal: true,
    });
  }
  const port = uws.us_socket_local_port(listenSocket);
  log.info(
    {
      host: config.host,
      port,
      tls: config.tlsCert !== '',
      auth: config.auth,
      journal: journal.kind,
      dataDir: journal.dataDir,
      location: journal.location,
      shards: config.shards,
      workers: config.workers,
    },
    'shardline listening',
  );

  let shutdown: Promise<void> | null = null;
  return {
    port,
    runtime,
    shutdown() {
      shutdown ??= (async () => {
        log.info('shutting down: draining groups in flight');
        api.startDraining();
        gateway.stopAccepting();
        dashboard.stop();
        uws.us_listen_socket_close(listenSocket);
        await runtime.close();
        gateway.closeAll();
        log.info('shutdown complete');
      })();
      return shutdown;
    },
  };
}

/**
 * Warms the single-threaded runtime's code on this thread (core/src/warm-up.ts) with a scratch
 * SQLite journal like the real one: on MySQL, this warms all but the journal's own code.
 */
async function warmUpThisThread(
  runtimeOptions: Partial<ShardRuntimeOptions>,
  lanes: boolean,
  log: Logger,
): Promise<void> {
  try {
    const warmUpMs = await warmUp((dir) => {
      const scratch = new SqliteJournal(dir, 16, null, false);
      return lanes
        ? createCommitLanes(1, () => scratch, runtimeOptions, 1)
        : new ShardRuntime(scratch, runtimeOptions);
    });
    log.info({ warmUpMs: Math.round(warmUpMs) }, 'runtime warmed up');
  } catch (error) {
    log.warn({ reason: (error as Error).message }, 'warm-up failed; serving anyway, colder');
  }
}

/**
 * The single-threaded runtime on the uWS thread (`workers = 0`), or one shard worker per core
 * fed by rings, with a read-only view of the journal on this thread for reads.
 */
async function createRuntime(
  config: ServerConfig,
  runtimeOptions: Partial<ShardRuntimeOptions> & { limits: EventLimits },
  log: Logger,
): Promise<EventRuntime> {
  const mysql = config.journal === 'sqlite' ? null : config.journal;
  if (config.workers === 0) {
    if (config.warmUp) await warmUpThisThread(runtimeOptions, mysql !== null, log);
    if (mysql === null) {
      return new ShardRuntime(new SqliteJournal(config.dataDir, 256, null, true), runtimeOptions);
    }
    return createCommitLanes(
      commitLanes(config),
      laneJournals(mysqlOptionsFromConfig(config, mysql), { log }),
      runtimeOptions,
      1,
    );
  }
  let reader;
  let writeLock = null;
  let journalModule: string;
  let journalOptions: SqliteJournalOptions | ReturnType<typeof mysqlOptionsFromConfig>;
  if (mysql === null) {
    // The reader runs the migrations here, before any worker opens the file.
    const walSync = WalSync.create();
    reader = new SqliteJournal(config.dataDir, 16, null, true, walSync);
    writeLock = SharedMutex.create();
    journalOptions = { dataDir: config.dataDir, cacheMiB: 256, writeLock, walSync };
    journalModule = new URL('../../core/src/sqlite-journal.js', import.meta.url).href;
  } else {
    // Migrations and the shard-count check run once, here, before any worker connects. A
    // worker's reads are sequential: one read connection each is enough.
    reader = new MysqlJournal(mysqlOptionsFromConfig(config, mysql), log);
    await reader.open(config.shards);
    journalOptions = mysqlOptionsFromConfig(config, mysql, 1);
    journalModule = MYSQL_JOURNAL_MODULE;
  }
  return new ShardWorkerPool({
    workers: config.workers,
    // SQLite writers take turns on one file: more lanes would only wait for each other.
    commitLanes: mysql === null ? 1 : commitLanes(config),
    shards: config.shards,
    pin: config.pin,
    journalModule,
    journalOptions,
    reader,
    writeLock,
    runtimeOptions,
    ringBytes: config.ringBytes,
    housekeepingMs: 100,
    idlePassivateMs: config.passivateIdleS * 1000,
    warmUp: config.warmUp,
    workerHeapMiB: config.workerHeapMiB,
    onWorkerEvent: (event) => {
      if (event.type === 'ready') {
        if (event.pinFailure !== null && config.pin) {
          log.warn(
            { worker: event.worker, reason: event.pinFailure },
            'shard worker runs unpinned',
          );
        }
        if (event.warmUpFailure !== null) {
          log.warn(
            { worker: event.worker, reason: event.warmUpFailure },
            'shard worker warm-up failed; it serves anyway, colder',
          );
        }
        log.info(
          {
            worker: event.worker,
            tid: event.tid,
            cpus: event.cpusAllowed,
            warmUpMs: event.warmUpMs === null ? null : Math.round(event.warmUpMs),
          },
          'shard worker ready',
        );
      } else if (event.type === 'died') {
        log.error(
          {
            worker: event.worker,
            exitCode: event.exitCode,
            error: event.error,
            unanswered: event.unanswered,
          },
          'shard worker died; its unanswered events get unavailable',
        );
      } else {
        log.warn({ worker: event.worker, delayMs: event.delayMs }, 'restarting shard worker');
      }
    },
  });
}
