/**
 * The host-level defect keep-connection-buffers (the known-bad server of the `memory-returned`
 * bound, src/models/live-bounds.ts): every connection's read buffers (256 KiB) stay in the host after
 * the connection closed, so memory grows with every client that ever connected; the correct server
 * keeps nothing of a connection that is gone. Here the buffers are counted in this process's
 * ArrayBuffer memory; the bound itself is checked on a server in a process of its own
 * (test/conformance/reference-servers.test.ts, test/conformance/memory-returned.test.ts).
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { closedOnServer, serve, within } from './server-fixture.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

// A collection before each reading: the buffers an earlier server kept are garbage once it closed.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const clients = 48;
const kept = 256 * 1024;

describe.each(['register-exit', 'ping-liveness', 'offline-queue'])('%s', (protocol) => {
  it('defect keep-connection-buffers: memory kept for every connection that closed; the correct server keeps none', async () => {
    for (const defect of ['keep-connection-buffers', undefined] as const) {
      const server = await serve(protocol, defect !== undefined ? { defect } : {});
      gc();
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < clients; i++) {
        const c = await open(server.port);
        const closed = closedOnServer(server, c);
        c.end();
        await within(closed, 3000, 'the server sees the connection close');
        c.destroy();
      }
      expect(server.connectionCount()).toBe(0);
      gc();
      const grown = process.memoryUsage().arrayBuffers - before;
      // 12 MiB kept by the defect
      if (defect !== undefined) expect(grown, `${grown} bytes`).toBeGreaterThan((clients * kept) * 0.6);
      else expect(grown, `${grown} bytes`).toBeLessThan((clients * kept) * 0.3);
    }
  });
});
