/**
 * Starts servers in-process for a test and closes them after it, whatever happened; and waits for
 * what a server did (its events, src/servers/server-events.ts) instead of sleeping.
 */
import type { Socket } from 'node:net';
import { afterEach } from 'vitest';
import { startServer, type ServerEvent, type ServerHandle, type ServerOptions } from '../../src/servers/index.js';

const running: ServerHandle[] = [];

afterEach(async () => {
  const handles = running.splice(0);
  await Promise.all(handles.map((h) => h.close()));
});

/** Starts `protocol` on 127.0.0.1 port 0; the server is closed after the current test. */
export async function serve(protocol: string, options: ServerOptions = {}): Promise<ServerHandle> {
  const handle = await startServer(protocol, { port: 0, ...options });
  running.push(handle);
  return handle;
}

/** A client's socket, or anything that has one. */
type HasSocket = Socket | { socket: Socket };
const socketOf = (c: HasSocket): Socket => ('localPort' in c ? (c as Socket) : (c as { socket: Socket }).socket);

/** The server's id (`#N`) of the connection `client` opened, once the server has accepted it. */
export async function connOf(server: ServerHandle, client: HasSocket): Promise<string> {
  const port = socketOf(client).localPort;
  if (port === undefined) throw new Error('connOf: the client socket is not connected');
  const accepted = await server.events.waitFor((e) => e.type === 'connection-accepted' && e.remote.endsWith(`:${port}`), { what: `connection from port ${port} accepted` });
  return (accepted as Extract<ServerEvent, { type: 'connection-accepted' }>).conn;
}

/**
 * Runs `act` (which makes `client` send requests) and resolves once the server has applied `count`
 * requests from that connection since: the replies are written and the server's state changed.
 */
export async function applied(server: ServerHandle, client: HasSocket, act: () => void, count = 1): Promise<void> {
  const conn = await connOf(server, client);
  const after = server.events.count;
  act();
  let seen = 0;
  await server.events.waitFor((e) => e.type === 'request-applied' && e.conn === conn && ++seen === count, { after, what: `${count} request(s) from ${conn} applied` });
}

/**
 * Resolves once the server has seen the connection close (and its rules dealt with it): `client`'s
 * (call it before closing the client: a closed socket no longer knows its port) or the one named `conn`.
 */
export async function closedOnServer(server: ServerHandle, client: HasSocket | string): Promise<void> {
  const conn = typeof client === 'string' ? client : await connOf(server, client);
  await server.events.waitFor((e) => e.type === 'connection-closed' && e.conn === conn, { what: `connection ${conn} closed on the server` });
}

/** `promise`, or a rejection naming `what` when it has not settled within `timeoutMs` (a bound, never a pause). */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
