/**
 * Sockets seen in /proc/net without opening a connection the program would see: a TCP port
 * listening (readiness of a TCP target) and a UDP port bound (readiness of a QUIC target, which
 * has nothing to connect to without a handshake). Linux only: elsewhere the answer is undefined and
 * the caller falls back to what it can do.
 */
import { readFileSync } from 'node:fs';

/**
 * True when /proc/net/tcp or /proc/net/tcp6 shows a socket listening on `port` (on any local
 * address): readiness seen without opening a connection the program would see. Undefined where
 * those files cannot be read (not Linux).
 */
export function portListening(port: number): boolean | undefined {
  let readable = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st ...; st 0A is LISTEN
      if (fields.length < 4 || fields[3] !== '0A') continue;
      const local = fields[1]!;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) return true;
    }
  }
  return readable ? false : undefined;
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
