/**
 * Whether a live target is there at all: something listening at a TCP address, a UDP port bound
 * for a QUIC target. A case that met nothing at the target, and a run that found it unreachable,
 * say why with these.
 */
import { connect } from 'node:net';
import { portListening, udpPortBound } from '../proc-net.js';

export { udpPortBound };

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
