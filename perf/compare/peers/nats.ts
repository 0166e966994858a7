/**
 * NATS JetStream: the `nats` client publishing each event as one message, with a `Nats-Msg-Id`
 * (deduplication id) and a window of async acks, to a file-storage stream. The client gets its
 * best configuration: `noAsyncTraces: true` (PITFALLS.md: without it the client builds an Error
 * per publish and runs at about half the speed).
 */
import { randomUUID } from 'node:crypto';
import { connect, nanos, StorageType, type NatsConnection } from 'nats';
import { createLatencyHistogram, recordLatency } from '../../lib/histogram.js';
import {
  payloadOf,
  PeerUnavailable,
  runConnections,
  type CompareWorkload,
  type Peer,
} from '../peer.js';

export const natsJetStream: Peer = {
  id: 'nats',
  label: 'NATS JetStream · publish per event',
  run: async (workload: CompareWorkload) => {
    const tag = `${Date.now().toString(36)}${process.pid}`;
    const streamName = `SHARDLINE_CMP_${tag}`;
    const subjectPrefix = `shardline-cmp.${tag}`;
    const connections: NatsConnection[] = [];
    try {
      for (let i = 0; i < workload.natsConnections; i++) {
        connections.push(
          await connect({ servers: workload.natsUrl, noAsyncTraces: true, timeout: 3000 }),
        );
      }
    } catch (error) {
      await Promise.all(connections.map((nc) => nc.close()));
      throw new PeerUnavailable(
        `NATS unreachable at ${workload.natsUrl}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const first = connections[0]!;
    const version = first.info?.version ?? '?';
    try {
      const jsm = await first.jetstreamManager().catch((error: unknown) => {
        throw new PeerUnavailable(`JetStream is not enabled: ${(error as Error).message}`, {
          cause: error,
        });
      });
      await jsm.streams.add({
        name: streamName,
        subjects: [`${subjectPrefix}.>`],
        storage: StorageType.File,
        duplicate_window: nanos(120_000),
        max_bytes: 4 * 1024 ** 3,
      });
      try {
        const payload = payloadOf(workload.payloadBytes);
        const subjects = Array.from(
          { length: workload.streams },
          (_, i) => `${subjectPrefix}.cmp-${i}`,
        );
        const histogram = createLatencyHistogram();
        let ok = 0;
        let failed = 0;
        const errors = new Set<string>();
        let lastAck = performance.now();
        const started = performance.now();
        await runConnections(
          workload.natsConnections,
          workload.events,
          workload.maxSeconds,
          (index, share, shouldStop) =>
            new Promise<void>((resolve) => {
              const js = connections[index]!.jetstream();
              let issued = 0;
              let outstanding = 0;
              let stream = Math.floor((index * workload.streams) / workload.natsConnections);
              const pump = (): void => {
                const stop = shouldStop();
                while (!stop && issued < share && outstanding < workload.natsWindow) {
                  const subject = subjects[stream]!;
                  stream = (stream + 1) % workload.streams;
                  issued++;
                  outstanding++;
                  const sentAt = performance.now();
                  js.publish(subject, payload, { msgID: randomUUID() }).then(
                    () => {
                      ok++;
                      settle(sentAt);
                    },
                    (error: unknown) => {
                      failed++;
                      if (errors.size < 5) errors.add((error as Error).message);
                      settle(sentAt);
                    },
                  );
                }
                if ((stop || issued >= share) && outstanding === 0) resolve();
              };
              const settle = (sentAt: number): void => {
                lastAck = performance.now();
                recordLatency(histogram, (lastAck - sentAt) * 1000);
                outstanding--;
                pump();
              };
              pump();
            }),
        );
        return {
          ok,
          failed,
          seconds: (lastAck - started) / 1000,
          histogram,
          config:
            `nats-server ${version}, ${workload.natsConnections} connection(s), js.publish per event with ` +
            `msgID, ${workload.natsWindow} acks outstanding per connection, noAsyncTraces`,
          durability:
            'ack once stored in the file-storage stream; the server fsyncs every sync_interval ' +
            '(default 2 min), not per ack',
          ...(errors.size > 0 ? { notes: [...errors] } : {}),
        };
      } finally {
        await jsm.streams.delete(streamName).catch(() => false);
      }
    } finally {
      await Promise.all(connections.map((nc) => nc.close()));
    }
  },
};
