/**
 * A loopback TCP proxy that holds every chunk for a fixed delay in each direction: a database
 * "farther away" than the local one, for benchmarks (this machine's kernel has no netem). It runs
 * in the benchmark's own process, so its CPU counts as the client's.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface DelayProxy {
  port: number;
  close: () => Promise<void>;
}

export async function startDelayProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  // Chunks of one direction leave in the order they came: timers of equal delay fire in order.
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
    from.on('end', () => setTimeout(() => to.end(), delayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => sockets.delete(from));
  };
  const server = createServer((client) => {
    const upstream = createConnection(target.port, target.host);
    // As the driver and the database do: with Nagle on, a small write waits for the ACK of the
    // one before it, and the peer delays its ACKs by up to 40 ms.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
