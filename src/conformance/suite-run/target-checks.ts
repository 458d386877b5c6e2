/**
 * Whether a live target is there at all: something listening at a TCP address, a UDP port bound
 * for a QUIC target. A case that met nothing at the target, and a run that found it unreachable,
 * say why with these.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { portListening } from '../managed-process.js';

/** Null when something listens at host:port (seen in /proc/net/tcp, or by connecting); else what is wrong. */
export async function addressProblem(host: string, port: number, transport: 'tcp' | 'quic' = 'tcp'): Promise<string | null> {
  if (transport === 'quic') {
    const bound = udpPortBound(port);
    return bound === false ? `nothing is bound to UDP port ${port}` : null;
  }
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') {
    const seen = portListening(port);
    if (seen === true) return null;
    if (seen === false) return `nothing listens on port ${port}`;
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no connection within 1000 ms`);
    }, 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(`connect ${error.code ?? error.message}`);
    });
  });
}

/** Whether a UDP socket is bound to `port` (/proc/net/udp and udp6); undefined when they cannot be read. */
export function udpPortBound(port: number): boolean | undefined {
  let readable = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local !== undefined && parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) return true;
    }
  }
  return readable ? false : undefined;
}
