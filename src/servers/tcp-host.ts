/**
 * The TCP plumbing every stream server shares: loopback listening, the connection cap, idle and
 * read timeouts, write back-pressure, per-connection error isolation, logging and shutdown.
 * Protocol servers supply a handler per connection and never touch these concerns themselves.
 * The idle and read timeouts run on the server's clock (clock.ts), so a test can move time itself.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock, ClockTimer } from './clock.js';
import { formatAddress } from './loopback-host.js';
import type { ServerEvents } from './server-events.js';
import type { ServerHandle, ServerLimits } from './server-options.js';

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

/** Time given to clients to read the goodbye before sockets are destroyed at shutdown. */
const shutdownGraceMs = 500;

interface Live {
  connection: TcpConnection;
  socket: Socket;
  handler: ConnectionHandler | undefined;
}

export async function startTcpHost(spec: TcpHostSpec): Promise<TcpHost> {
  const { limits, log } = spec;
  const live = new Set<Live>();
  let nextId = 1;
  let closing: Promise<void> | undefined;
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A crashed server's rejection is for whoever awaits `closed`; do not let it go unhandled.
  closed.catch(() => undefined);

  const server: Server = createServer({ noDelay: true, allowHalfOpen: false }, (socket) => {
    const id = nextId++;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => undefined); // reported through 'close' below; never unhandled
    if (closing !== undefined) {
      socket.destroy();
      return;
    }
    if (live.size >= limits.maxConnections) {
      log(`${spec.name}: refused connection #${id} from ${remote}: limit maxConnections=${limits.maxConnections} reached`);
      spec.events.emit({ type: 'connection-refused', remote, reason: `limit maxConnections=${limits.maxConnections} reached` });
      const frame = spec.errorFrame(`server busy: limit maxConnections=${limits.maxConnections} reached`);
      if (frame !== undefined) socket.end(frame);
      else socket.end();
      setTimeout(() => socket.destroy(), shutdownGraceMs).unref();
      return;
    }
    serve(socket, id, remote);
  });

  function serve(socket: Socket, id: number, remote: string): void {
    let closeReason: { reason: string; byServer: boolean } | undefined;
    let readTimer: ClockTimer | undefined;
    let idleTimer: ClockTimer | undefined;
    const entry: Live = { socket, handler: undefined, connection: undefined as unknown as TcpConnection };
    const connection: TcpConnection = {
      id,
      remote,
      isOpen: () => !socket.destroyed && !socket.writableEnded && closeReason === undefined,
      write(data, onFlushed) {
        if (!connection.isOpen()) {
          onFlushed?.(new Error('connection closed'));
          return false;
        }
        if (socket.writableLength > limits.maxPendingWriteBytes) {
          onFlushed?.(new Error('client does not read'));
          fail(`client does not read: limit maxPendingWriteBytes=${limits.maxPendingWriteBytes} exceeded`);
          return false;
        }
        socket.write(data, (error) => onFlushed?.(error ?? undefined));
        idleTimer?.refresh();
        return true;
      },
      end(reason) {
        if (closeReason !== undefined) return;
        closeReason = { reason, byServer: true };
        socket.end();
        // A peer that never reads or never closes must not keep the socket forever.
        setTimeout(() => socket.destroy(), shutdownGraceMs).unref();
      },
      destroy(reason) {
        if (closeReason === undefined) closeReason = { reason, byServer: true };
        socket.destroy();
      },
    };
    entry.connection = connection;
    live.add(entry);
    log(`${spec.name}: connection #${id} from ${remote}`);

    /** Tells the client why (when the protocol has a way), logs, and closes. */
    function fail(reason: string): void {
      if (closeReason !== undefined) return;
      log(`${spec.name}: connection #${id}: ${reason}`);
      const frame = spec.errorFrame(reason);
      if (frame !== undefined && !socket.destroyed && !socket.writableEnded) socket.write(frame);
      connection.end(reason);
    }

    if (limits.idleTimeoutMs > 0) {
      // Traffic either way (data read, a write) starts the idle timeout again.
      idleTimer = spec.clock.setTimer(limits.idleTimeoutMs, () => fail(`idle: no traffic within idleTimeoutMs=${limits.idleTimeoutMs}`));
    }

    socket.on('data', (chunk: Buffer) => {
      if (closeReason !== undefined) return;
      idleTimer?.refresh();
      try {
        entry.handler?.onData(chunk);
      } catch (error) {
        // One bad connection must never take the server down: log it and drop only that client.
        log(`${spec.name}: connection #${id}: internal error: ${describe(error)}`);
        connection.destroy('internal error');
        return;
      }
      const partial = entry.handler?.hasPartialFrame() ?? false;
      if (partial && readTimer === undefined && limits.readTimeoutMs > 0) {
        readTimer = spec.clock.setTimer(limits.readTimeoutMs, () => fail(`read timeout: frame not completed within readTimeoutMs=${limits.readTimeoutMs}`));
      } else if (!partial && readTimer !== undefined) {
        readTimer.cancel();
        readTimer = undefined;
      }
    });

    let socketError: Error | undefined;
    socket.on('error', (error) => {
      socketError = error;
    });
    socket.on('close', (hadError) => {
      readTimer?.cancel();
      idleTimer?.cancel();
      live.delete(entry);
      const info: CloseInfo = {
        hadError: hadError || socketError !== undefined,
        byServer: closeReason?.byServer ?? false,
        reason: closeReason?.reason ?? (socketError !== undefined ? describe(socketError) : 'closed by client'),
      };
      if (info.hadError) log(`${spec.name}: connection #${id} from ${remote} failed: ${info.reason}`);
      try {
        entry.handler?.onClose(info);
      } catch (error) {
        log(`${spec.name}: connection #${id}: internal error on close: ${describe(error)}`);
      }
      spec.events.emit({ type: 'connection-closed', conn: `#${id}`, remote, ...info });
    });

    try {
      entry.handler = spec.accept(connection);
    } catch (error) {
      log(`${spec.name}: connection #${id}: internal error on accept: ${describe(error)}`);
      connection.destroy('internal error');
    }
    // Told once the protocol has the connection (its `opened` rule ran).
    spec.events.emit({ type: 'connection-accepted', conn: `#${id}`, remote });
  }

  server.on('error', (error) => log(`${spec.name}: server error: ${describe(error)}`));

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host: spec.host, port: spec.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : spec.port;

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
      settle.reject(error);
    },
  };
}

/** A short text for an unknown thrown value. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
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
