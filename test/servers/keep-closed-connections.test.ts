/**
 * The host-level defect keep-closed-connections (the known-bad server of the `connections-released`
 * bound, src/models/live-bounds.ts): a connection its client closed is forgotten by the protocol but
 * its socket is never closed, so it stays in CLOSE_WAIT on the server's port; the correct server
 * closes it. Over QUIC, which has no half-closed connection, `serve` refuses the defect.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeWaitCount } from '../../src/conformance/proc-net.js';
import { startServer } from '../../src/servers/index.js';
import { closedOnServer, serve, within } from './server-fixture.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** The server's CLOSE_WAIT sockets, once they stop changing for 100 ms (bounded: 2 s). */
async function settledCloseWait(port: number): Promise<number | undefined> {
  let last = closeWaitCount(port);
  for (let stable = 0, i = 0; stable < 4 && i < 80; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const now = closeWaitCount(port);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

describe.each(['register-exit', 'ping-liveness', 'offline-queue'])('%s', (protocol) => {
  it('defect keep-closed-connections: a client that closes is forgotten, its socket left in CLOSE_WAIT; the correct server closes it', async () => {
    for (const defect of ['keep-closed-connections', undefined] as const) {
      const server = await serve(protocol, defect !== undefined ? { defect } : {});
      const clients = await Promise.all([open(server.port), open(server.port)]);
      for (const c of clients) {
        const closed = closedOnServer(server, c);
        c.end();
        await within(closed, 3000, 'the server forgets the connection');
      }
      // forgotten by the protocol either way
      expect(server.connectionCount()).toBe(0);
      expect(await settledCloseWait(server.port)).toBe(defect !== undefined ? 2 : 0);
      for (const c of clients) c.destroy();
    }
  });
});

describe('over QUIC', () => {
  it('serve refuses keep-closed-connections (a TCP socket leak)', async () => {
    await expect(startServer('ping-liveness', { port: 0, transport: 'quic', defect: 'keep-closed-connections' })).rejects.toThrow(/is a TCP socket leak \(CLOSE_WAIT\); QUIC has no half-closed connection/);
  });
});
