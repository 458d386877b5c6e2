/**
 * A TCP proxy for tests that can make a connection die silently: after `blackhole()` it reads and
 * discards everything both ways and never closes, as when a host vanishes from the network.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface BlackholeProxy {
  port: number;
  blackhole(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  let dead = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    inbound.on('data', (d: Buffer) => {
      if (!dead) outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      if (!dead) inbound.write(d);
    });
    inbound.on('close', () => !dead && outbound.destroy());
    outbound.on('close', () => !dead && inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    blackhole: () => {
      dead = true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
