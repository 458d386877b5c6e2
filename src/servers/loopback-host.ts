/**
 * The reference servers are test fixtures with deliberate flaws (`--defect`): they must never be
 * reachable from another machine, so only loopback hosts are accepted.
 */
import { isIP, type Server } from 'node:net';
import { InputError } from '../errors.js';

/** True for `localhost`, any 127.0.0.0/8 address, `::1` and `::ffff:127.x.x.x`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.split('.')[0] === '127';
  }
  return false;
}

/** Throws an InputError naming the host unless it is loopback. */
export function assertLoopbackHost(host: string): void {
  if (!isLoopbackHost(host)) {
    throw new InputError(
      `host ${JSON.stringify(host)} is not a loopback address; reference servers listen only on 127.0.0.1, ::1 or localhost`,
      'non-loopback-host',
    );
  }
}

/** `scheme://host:port`, with an IPv6 host in brackets. */
export function formatAddress(scheme: 'http' | 'tcp' | 'quic', host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Listens on `host:port` and resolves with the port it got (the one the system chose for 0). */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
