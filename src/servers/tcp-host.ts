/**
 * The TCP plumbing every stream server shares: loopback listening, the connection cap, idle and
 * read timeouts, write back-pressure, per-connection error isolation, logging and shutdown.
 * Protocol servers supply a handler per connection and never touch these concerns themselves.
 * The idle and read timeouts run on the server's clock (clock.ts), so a test can move time itself.
 * This file listens, accepts or refuses, and shuts down; tcp-connection.ts serves each connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from './clock.js';
import { formatAddress, listenOn } from './loopback-host.js';
import type { ServerEvents } from './server-events.js';
import type { ServerHandle, ServerLimits } from './server-options.js';
import { describe, serveTcpConnection, shutdownGraceMs, type LiveTcpConnection, type TcpHostState } from './tcp-connection.js';

export { describe } from './tcp-connection.js';

/** One accepted connection, as protocol code sees it. */
export interface TcpConnection {
  /** Sequence number of the connection, for logs. */
  readonly id: number;
  /** `127.0.0.1:54321` */
  readonly remote: string;
  /** True until the connection is closed or destroyed. */
  isOpen(): boolean;
  /**
   * Writes bytes. `onFlushed` runs once they reached the kernel, or with an error if they never
   * will. Returns false (and calls `onFlushed` with an error) when the connection is already dead.
   */
  write(data: Uint8Array | string, onFlushed?: (error?: Error) => void): boolean;
  /** Orderly close after pending writes. */
  end(reason: string): void;
  /** Immediate close (RST semantics for the peer if data is pending). */
  destroy(reason: string): void;
}

/** How a connection ended. */
export interface CloseInfo {
  /** True when the socket failed (reset, write error) rather than closing in order. */
  hadError: boolean;
  /** True when the server chose to close it (timeout, limit, protocol rule, shutdown). */
  byServer: boolean;
  reason: string;
}

/** What a protocol server does with a connection. */
export interface ConnectionHandler {
  onData(chunk: Buffer): void;
  /** True while a frame is half received; the read timeout runs only then. */
  hasPartialFrame(): boolean;
  onClose(info: CloseInfo): void;
}

export interface TcpHostSpec {
  name: string;
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  /** Where connections accepted, refused and closed, and the server's end, are told. */
  events: ServerEvents;
  /** The clock of the idle and read timeouts. */
  clock: Clock;
  accept(connection: TcpConnection): ConnectionHandler;
  /** Encodes a protocol error message sent before the host closes a connection (limit, timeout). */
  errorFrame(text: string): Uint8Array | string | undefined;
  /** Runs at shutdown before connections are ended (register-exit broadcasts Exit here). */
  beforeClose?(): void;
  /**
   * The one-read-one-message defect, for transports that frame themselves (QUIC splits each
   * stream into messages before the host sees it, so the defect is applied there); TCP ignores it.
   */
  readIsMessage?: boolean;
  /**
   * The keep-closed-connections defect: a connection whose client closed it is forgotten (the
   * protocol told it closed) but its socket is never closed, left in CLOSE_WAIT.
   */
  keepClosedConnections?: boolean;
}

/** A running TCP host. */
export interface TcpHost {
  host: string;
  port: number;
  /** The scheme of its address: `tcp` (default) or `quic`. */
  scheme?: 'tcp' | 'quic';
  /** QUIC: streams open now and opened in total, over every connection (a long run's leak shows here). */
  streamCounts?(): { open: number; opened: number };
  connectionCount(): number;
  events: ServerEvents;
  close(): Promise<void>;
  /** Dies at once without telling clients (crash-on-disconnect defect); `closed` rejects. */
  crash(error: Error): void;
  closed: Promise<void>;
}

/** Starts a TCP host: listens on `spec.host:spec.port` and serves each connection it accepts. */
export async function startTcpHost(spec: TcpHostSpec): Promise<TcpHost> {
  const { log } = spec;
  const state: TcpHostState = { spec, live: new Set<LiveTcpConnection>(), leaked: new Set() };
  const { live } = state;
  let nextId = 1;
  let closing: Promise<void> | undefined;
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A crashed server's rejection is for whoever awaits `closed`; do not let it go unhandled.
  closed.catch(() => undefined);

  const server: Server = createServer({ noDelay: true, allowHalfOpen: spec.keepClosedConnections === true }, (socket) => {
    const id = nextId++;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => undefined); // reported through 'close' below; never unhandled
    if (closing !== undefined) {
      socket.destroy();
      return;
    }
    if (live.size >= spec.limits.maxConnections) {
      refuse(spec, socket, id, remote);
      return;
    }
    serveTcpConnection(state, socket, id, remote);
  });

  server.on('error', (error) => log(`${spec.name}: server error: ${describe(error)}`));
  const port = await listenOn(server, spec.host, spec.port);

  return {
    host: spec.host,
    port,
    connectionCount: () => live.size,
    events: spec.events,
    closed,
    close() {
      if (closing !== undefined) return closing;
      closing = new Promise<void>((resolve) => {
        server.close(() => {
          settle.resolve();
          spec.events.emit({ type: 'server-closed' });
          resolve();
        });
        try {
          spec.beforeClose?.();
        } catch (error) {
          log(`${spec.name}: internal error at shutdown: ${describe(error)}`);
        }
        for (const { connection } of live) connection.end('server shutting down');
        for (const socket of state.leaked) socket.destroy();
        const deadline = setTimeout(() => {
          for (const { socket } of live) socket.destroy();
        }, shutdownGraceMs);
        deadline.unref();
      });
      return closing;
    },
    crash(error) {
      if (closing !== undefined) return;
      log(`${spec.name}: CRASH: ${error.message}`);
      spec.events.emit({ type: 'server-crashed', reason: error.message });
      closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const { socket } of live) socket.destroy();
      for (const socket of state.leaked) socket.destroy();
      settle.reject(error);
    },
  };
}

/** Turns a connection away when the host is at maxConnections: logged, told, and closed. */
function refuse(spec: TcpHostSpec, socket: Socket, id: number, remote: string): void {
  const { limits, log } = spec;
  log(`${spec.name}: refused connection #${id} from ${remote}: limit maxConnections=${limits.maxConnections} reached`);
  spec.events.emit({ type: 'connection-refused', remote, reason: `limit maxConnections=${limits.maxConnections} reached` });
  const frame = spec.errorFrame(`server busy: limit maxConnections=${limits.maxConnections} reached`);
  if (frame !== undefined) socket.end(frame);
  else socket.end();
  setTimeout(() => socket.destroy(), shutdownGraceMs).unref();
}

/** The public handle of a server running on `host`. */
export function tcpServerHandle(protocol: string, host: TcpHost, defect: string | undefined): ServerHandle {
  return {
    protocol,
    address: formatAddress(host.scheme ?? 'tcp', host.host, host.port),
    host: host.host,
    port: host.port,
    defect,
    connectionCount: host.connectionCount,
    ...(host.streamCounts !== undefined ? { streamCounts: host.streamCounts } : {}),
    events: host.events,
    close: host.close,
    closed: host.closed,
  };
}
