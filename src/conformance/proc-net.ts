/**
 * Sockets seen in /proc/net without opening a connection the program would see: a TCP port
 * listening (readiness of a TCP target) and a UDP port bound (readiness of a QUIC target, which
 * has nothing to connect to without a handshake). Linux only: elsewhere the answer is undefined and
 * the caller falls back to what it can do.
 */
import { readFileSync } from 'node:fs';

/** The rows of `files` (/proc/net tables) whose local port is `port`, as fields (sl local_address rem_address st ...); undefined when none can be read. */
function rowsOnPort(files: readonly string[], port: number): string[][] | undefined {
  let readable = false;
  const rows: string[][] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local !== undefined && parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) rows.push(fields);
    }
  }
  return readable ? rows : undefined;
}

/** Whether one of `files` has a socket on local `port` for which `accept` holds; undefined when none can be read. */
function socketOnPort(files: readonly string[], port: number, accept: (fields: readonly string[]) => boolean): boolean | undefined {
  return rowsOnPort(files, port)?.some(accept);
}

/**
 * True when /proc/net/tcp or /proc/net/tcp6 shows a socket listening on `port` (on any local
 * address): readiness seen without opening a connection the program would see. Undefined where
 * those files cannot be read (not Linux).
 */
export function portListening(port: number): boolean | undefined {
  // st 0A is LISTEN
  return socketOnPort(['/proc/net/tcp', '/proc/net/tcp6'], port, (fields) => fields[3] === '0A');
}

/** Whether a UDP socket is bound to `port` (/proc/net/udp and udp6); undefined when they cannot be read. */
export function udpPortBound(port: number): boolean | undefined {
  return socketOnPort(['/proc/net/udp', '/proc/net/udp6'], port, () => true);
}

/**
 * Whether the program listening on `port` has read everything its accepted connections received
 * (no established socket on that local port with a non-empty receive queue): what a replay waits
 * for before letting the next message reach the server on another connection. Undefined when
 * /proc/net/tcp and tcp6 cannot be read (not Linux).
 */
export function portDrained(port: number): boolean | undefined {
  // st 01 is ESTABLISHED; field 4 is tx_queue:rx_queue, in hex
  const unread = socketOnPort(['/proc/net/tcp', '/proc/net/tcp6'], port, (fields) => fields[3] === '01' && parseInt(fields[4]?.split(':')[1] ?? '0', 16) > 0);
  return unread === undefined ? undefined : !unread;
}

/**
 * How many TCP sockets with local `port` are in CLOSE_WAIT (the peer closed, the program holding
 * the socket has not): on a server's listening port, connections its clients left and it never
 * closed. Undefined when /proc/net/tcp and tcp6 cannot be read (not Linux).
 */
export function closeWaitCount(port: number): number | undefined {
  // st 08 is CLOSE_WAIT
  return rowsOnPort(['/proc/net/tcp', '/proc/net/tcp6'], port)?.filter((fields) => fields[3] === '08').length;
}

/**
 * The socket inodes listening on `port`: TCP sockets in LISTEN (/proc/net/tcp, tcp6), or for `udp`
 * the UDP sockets bound to it (a QUIC server). Undefined when the tables cannot be read (not Linux).
 */
export function listeningInodes(port: number, transport: 'tcp' | 'udp' = 'tcp'): number[] | undefined {
  const files = transport === 'udp' ? ['/proc/net/udp', '/proc/net/udp6'] : ['/proc/net/tcp', '/proc/net/tcp6'];
  // field 9 is the inode; st 0A is LISTEN
  return rowsOnPort(files, port)
    ?.filter((fields) => transport === 'udp' || fields[3] === '0A')
    .map((fields) => Number(fields[9]))
    .filter((inode) => Number.isInteger(inode) && inode > 0);
}
