/**
 * One accepted TCP connection of a stream server (tcp-host.ts): its writes and their
 * back-pressure, the idle and read timeouts, error isolation around the protocol's handler, and
 * how its end is told. The host accepts or refuses; this file serves what it accepted.
 */
import type { Socket } from 'node:net';
import type { ClockTimer } from './clock.js';
import type { CloseInfo, ConnectionHandler, TcpConnection, TcpHostSpec } from './tcp-host.js';

/** Time given to clients to read the goodbye before sockets are destroyed at shutdown. */
export const shutdownGraceMs = 500;

/** A connection the host has open: what protocol code sees, its socket and the protocol's handler. */
export interface LiveTcpConnection {
  connection: TcpConnection;
  socket: Socket;
  handler: ConnectionHandler | undefined;
}

/** What one connection's code shares with its host: the host's spec and the connections open now. */
export interface TcpHostState {
  spec: TcpHostSpec;
  live: Set<LiveTcpConnection>;
  /** sockets the keep-closed-connections defect forgot without closing (destroyed only when the host closes) */
  leaked: Set<Socket>;
}

/** One connection's own state, shared by its writes, timers and socket events. */
interface ConnectionState {
  readonly host: TcpHostState;
  readonly entry: LiveTcpConnection;
  readonly id: number;
  readonly remote: string;
  closeReason: { reason: string; byServer: boolean } | undefined;
  readTimer: ClockTimer | undefined;
  idleTimer: ClockTimer | undefined;
  socketError: Error | undefined;
  /** the close was told (the keep-closed-connections defect tells it at the client's end, and never closes) */
  told?: boolean;
}

/** Serves an accepted socket: adds it to the host's open connections and hands it to the protocol. */
export function serveTcpConnection(host: TcpHostState, socket: Socket, id: number, remote: string): void {
  const { spec } = host;
  const { limits, log } = spec;
  const entry: LiveTcpConnection = { socket, handler: undefined, connection: undefined as unknown as TcpConnection };
  const state: ConnectionState = { host, entry, id, remote, closeReason: undefined, readTimer: undefined, idleTimer: undefined, socketError: undefined };
  const connection = tcpConnection(state);
  entry.connection = connection;
  host.live.add(entry);
  log(`${spec.name}: connection #${id} from ${remote}`);

  if (limits.idleTimeoutMs > 0) {
    // Traffic either way (data read, a write) starts the idle timeout again.
    state.idleTimer = spec.clock.setTimer(limits.idleTimeoutMs, () => fail(state, `idle: no traffic within idleTimeoutMs=${limits.idleTimeoutMs}`));
  }

  socket.on('data', (chunk: Buffer) => onData(state, chunk));
  socket.on('error', (error) => {
    state.socketError = error;
  });
  socket.on('close', (hadError) => onClose(state, hadError));
  // keep-closed-connections (a defect): the half-open host is told of the client's end, forgets
  // the connection and never ends its side; the socket stays in CLOSE_WAIT for as long as it runs
  if (host.spec.keepClosedConnections === true) {
    socket.on('end', () => {
      host.leaked.add(socket);
      onClose(state, false);
    });
  }

  try {
    entry.handler = spec.accept(connection);
  } catch (error) {
    log(`${spec.name}: connection #${id}: internal error on accept: ${describe(error)}`);
    connection.destroy('internal error');
  }
  // Told once the protocol has the connection (its `opened` rule ran).
  spec.events.emit({ type: 'connection-accepted', conn: `#${id}`, remote });
}

/** The connection as protocol code sees it. */
function tcpConnection(state: ConnectionState): TcpConnection {
  const { socket } = state.entry;
  const { limits } = state.host.spec;
  const connection: TcpConnection = {
    id: state.id,
    remote: state.remote,
    isOpen: () => !socket.destroyed && !socket.writableEnded && state.closeReason === undefined,
    write(data, onFlushed) {
      if (!connection.isOpen()) {
        onFlushed?.(new Error('connection closed'));
        return false;
      }
      if (socket.writableLength > limits.maxPendingWriteBytes) {
        onFlushed?.(new Error('client does not read'));
        fail(state, `client does not read: limit maxPendingWriteBytes=${limits.maxPendingWriteBytes} exceeded`);
        return false;
      }
      socket.write(data, (error) => onFlushed?.(error ?? undefined));
      state.idleTimer?.refresh();
      return true;
    },
    end(reason) {
      if (state.closeReason !== undefined) return;
      state.closeReason = { reason, byServer: true };
      socket.end();
      // A peer that never reads or never closes must not keep the socket forever.
      setTimeout(() => socket.destroy(), shutdownGraceMs).unref();
    },
    destroy(reason) {
      if (state.closeReason === undefined) state.closeReason = { reason, byServer: true };
      socket.destroy();
    },
  };
  return connection;
}

/** Tells the client why (when the protocol has a way), logs, and closes. */
function fail(state: ConnectionState, reason: string): void {
  if (state.closeReason !== undefined) return;
  const { spec } = state.host;
  const { log } = spec;
  const { socket, connection } = state.entry;
  log(`${spec.name}: connection #${state.id}: ${reason}`);
  const frame = spec.errorFrame(reason);
  if (frame !== undefined && !socket.destroyed && !socket.writableEnded) socket.write(frame);
  connection.end(reason);
}

/** Bytes read: to the handler, with the idle timeout restarted and the read timeout run while a frame is half received. */
function onData(state: ConnectionState, chunk: Buffer): void {
  if (state.closeReason !== undefined) return;
  const { spec } = state.host;
  const { limits, log } = spec;
  const { entry } = state;
  state.idleTimer?.refresh();
  try {
    entry.handler?.onData(chunk);
  } catch (error) {
    // One bad connection must never take the server down: log it and drop only that client.
    log(`${spec.name}: connection #${state.id}: internal error: ${describe(error)}`);
    entry.connection.destroy('internal error');
    return;
  }
  const partial = entry.handler?.hasPartialFrame() ?? false;
  if (partial && state.readTimer === undefined && limits.readTimeoutMs > 0) {
    state.readTimer = spec.clock.setTimer(limits.readTimeoutMs, () => fail(state, `read timeout: frame not completed within readTimeoutMs=${limits.readTimeoutMs}`));
  } else if (!partial && state.readTimer !== undefined) {
    state.readTimer.cancel();
    state.readTimer = undefined;
  }
}

/** The socket closed: timers stopped, the connection forgotten, and its end told to the handler and the events. */
function onClose(state: ConnectionState, hadError: boolean): void {
  const { spec } = state.host;
  const { log } = spec;
  const { entry, id, remote, closeReason, socketError } = state;
  if (state.told === true) return;
  state.told = true;
  state.readTimer?.cancel();
  state.idleTimer?.cancel();
  state.host.live.delete(entry);
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
}

/** A short text for an unknown thrown value. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
