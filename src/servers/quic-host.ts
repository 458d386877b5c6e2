/**
 * QUIC as a `StreamTransport` of the generic host (stream-host.ts), with the framing of the seed's
 * ping-liveness implementation (docs/protocols.md §3): TLS 1.3 with ALPN `echo-protocol`, one JSON
 * object per stream write, no delimiter. The protocol's rules and codec are the same as over TCP:
 * this transport turns each stream into the JSON lines the codec reads, and each reply into one
 * stream write.
 *
 * Streams, as the quic-go servers of corpus/ping-liveness-quic do it:
 *  - every stream a client opens is read with its own JSON object splitter, so a message comes
 *    whole whether it was one write, several to a write or split across writes; the objects of one
 *    read go to the host as one chunk (one "read", as `perRead` defects see it);
 *  - replies to a request go on the stream the request came on; what the rules send unprompted
 *    (a heartbeat's ERROR 2) goes on a stream of the server's own, finished at once;
 *  - when the client finishes its side of a stream, the server finishes its own, so streams end
 *    when their exchange ends; a stream the client resets is reset back;
 *  - bytes outside a JSON object, or an object over maxFrameBytes, get the protocol's error reply
 *    on that stream and the rest of the stream is ignored; a stream that ends inside an object
 *    hands the piece to the codec, which answers as it answers a bad line;
 *  - a stream with half an object for readTimeoutMs gets the error reply and is reset.
 *
 * The one-read-one-message defect (`readIsMessage`) reads each stream read with a fresh splitter:
 * an object cut at a read's end is lost, as the TCP host loses a line cut at a read's end.
 *
 * Connection identity is the host's `#N`, one per QUIC connection. The connection-level idle
 * timeout is QUIC's own (`idleTimeoutMs` as max_idle_timeout): a client that vanishes is closed
 * by it. A connection the rules close gets CONNECTION_CLOSE with application code 0 once the
 * replies written before have been handed to QUIC and `endGraceMs` has passed.
 */
import { JsonObjectSplitter, listenQuic, type QuicCertificate, type QuicClosed, type QuicEvent, type QuicPeer, type QuicStreamHandle } from '../transports/quic-transport.js';
import type { ClockTimer } from './clock.js';
import type { StreamTransport } from './stream-host.js';
import { describe, type CloseInfo, type ConnectionHandler, type TcpConnection, type TcpHost, type TcpHostSpec } from './tcp-host.js';

/**
 * Flaws of the transport itself, whatever the protocol (`serve --quic-defect NAME`), so the QUIC
 * checks can prove they catch them; the protocol's own defects (`--defect`) work over QUIC as over TCP.
 */
export const quicTransportDefects = [
  { name: 'keep-streams-open', description: 'the server never finishes its side of a stream, so every stream a client opens stays open until the connection ends (a long run runs out of streams)' },
] as const;
export type QuicTransportDefect = (typeof quicTransportDefects)[number]['name'];

export interface QuicTransportOptions {
  /** Default: a self-signed certificate made at start. */
  certificate?: QuicCertificate;
  /** Default `['echo-protocol']` (the seed's). */
  alpn?: string[];
  defect?: QuicTransportDefect;
}

/** Time given to replies to leave before a connection the rules end is closed. */
export const endGraceMs = 100;
/** Application error code of a connection the server ends after an internal error. */
export const closeCodeInternal = 0x102;

/** Stream reset code for a message not completed within readTimeoutMs. */
export const streamCodeReadTimeout = 1;

/** The QUIC transport of the stream host. */
export function quicTransport(options: QuicTransportOptions = {}): StreamTransport {
  return (spec) => startQuicHost(spec, options);
}

interface Live {
  peer: QuicPeer;
  connection: TcpConnection;
}

async function startQuicHost(spec: TcpHostSpec, options: QuicTransportOptions): Promise<TcpHost> {
  const live = new Set<Live>();
  let nextId = 1;
  let closing: Promise<void> | undefined;
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  closed.catch(() => undefined);
  let listener: Awaited<ReturnType<typeof listenQuic>>;
  try {
    listener = await listenQuic(
      {
        host: spec.host === 'localhost' ? '127.0.0.1' : spec.host,
        port: spec.port,
        alpn: options.alpn ?? ['echo-protocol'],
        ...(options.certificate !== undefined ? { certificate: options.certificate } : {}),
        maxConnections: spec.limits.maxConnections,
        rawStreams: true,
        limits: { idleTimeoutMs: spec.limits.idleTimeoutMs, maxMessageBytes: spec.limits.maxFrameBytes },
        onRefused: (remote, reason) => {
          spec.log(`${spec.name}: refused a QUIC connection from ${remote}: ${reason}`);
          spec.events.emit({ type: 'connection-refused', remote, reason });
        },
      },
      (peer) => {
        const entry = serveConnection(spec, peer, nextId++, () => live.delete(entry), options.defect);
        live.add(entry);
      },
    );
  } catch (error) {
    // The library says "socket bind failed"; the host says which address, as the TCP host does.
    const code = (error as { cause?: NodeJS.ErrnoException }).cause?.code;
    throw Object.assign(new Error(`QUIC: cannot listen on udp ${spec.host}:${spec.port}: ${describe(error)}`), code !== undefined ? { code } : { code: 'EADDRINUSE' });
  }
  return {
    host: spec.host,
    port: listener.port,
    scheme: 'quic',
    connectionCount: () => live.size,
    streamCounts: () => listener.streamCounts(),
    events: spec.events,
    closed,
    close() {
      closing ??= (async () => {
        try {
          spec.beforeClose?.();
        } catch (error) {
          spec.log(`${spec.name}: internal error at shutdown: ${describe(error)}`);
        }
        for (const { connection } of live) connection.end('server shutting down');
        await new Promise((resolve) => setTimeout(resolve, endGraceMs * 2));
        await listener.close();
        settle.resolve();
        spec.events.emit({ type: 'server-closed' });
      })();
      return closing;
    },
    crash(error) {
      if (closing !== undefined) return;
      spec.log(`${spec.name}: CRASH: ${error.message}`);
      spec.events.emit({ type: 'server-crashed', reason: error.message });
      closing = listener.close();
      settle.reject(error);
    },
  };
}

/** What one connection's writes and reads share. */
interface ConnectionState {
  closeReason: { reason: string; byServer: boolean } | undefined;
  /** the stream whose read the handler is serving now: replies go there */
  current: QuicStreamHandle | undefined;
  pendingWrites: Set<Promise<void>>;
}

/** One QUIC connection on the host: its streams become the handler's reads and the writes' streams. */
function serveConnection(spec: TcpHostSpec, peer: QuicPeer, id: number, forget: () => void, defect: QuicTransportDefect | undefined): Live {
  const state: ConnectionState = { closeReason: undefined, current: undefined, pendingWrites: new Set<Promise<void>>() };
  const connection = quicConnection(peer, id, state);
  spec.log(`${spec.name}: QUIC connection #${id} from ${peer.remote}`);
  let handler: ConnectionHandler | undefined;
  const serve = (stream: QuicStreamHandle, chunk: Buffer): void => {
    if (state.closeReason !== undefined || handler === undefined) return;
    state.current = stream;
    try {
      handler.onData(chunk);
    } catch (error) {
      // One bad connection must never take the server down: log it and drop only that client.
      spec.log(`${spec.name}: connection #${id}: internal error: ${describe(error)}`);
      connection.destroy('internal error');
    } finally {
      state.current = undefined;
    }
  };
  const streams = new StreamReader(spec, id, serve, defect === 'keep-streams-open');
  peer.onEvent = (event) => {
    if (event.kind !== 'closed') return streams.take(event);
    streams.endAll();
    forget();
    const info = closeInfo(spec, event, state.closeReason);
    spec.log(`${spec.name}: connection #${id} from ${peer.remote} closed: ${info.reason}`);
    try {
      handler?.onClose(info);
    } catch (error) {
      spec.log(`${spec.name}: connection #${id}: internal error on close: ${describe(error)}`);
    }
    spec.events.emit({ type: 'connection-closed', conn: `#${id}`, remote: peer.remote, ...info });
  };
  try {
    handler = spec.accept(connection);
  } catch (error) {
    spec.log(`${spec.name}: connection #${id}: internal error on accept: ${describe(error)}`);
    connection.destroy('internal error');
  }
  spec.events.emit({ type: 'connection-accepted', conn: `#${id}`, remote: peer.remote });
  return { peer, connection };
}

/** The connection as protocol code sees it: a reply goes on the stream being served, else on a stream of its own. */
function quicConnection(peer: QuicPeer, id: number, state: ConnectionState): TcpConnection {
  const { pendingWrites } = state;
  const connection: TcpConnection = {
    id,
    remote: peer.remote,
    isOpen: () => peer.isOpen() && state.closeReason === undefined,
    write(data, onFlushed) {
      if (!connection.isOpen()) {
        onFlushed?.(new Error('connection closed'));
        return false;
      }
      // The codec writes JSON lines; the seed's framing is the object alone, one per write.
      const text = (typeof data === 'string' ? data : Buffer.from(data).toString('utf8')).replace(/\n+$/, '');
      let stream: QuicStreamHandle;
      try {
        stream = state.current ?? peer.openStream();
      } catch (error) {
        onFlushed?.(error as Error);
        return false;
      }
      const written = stream.write(text).then(
        () => onFlushed?.(),
        (error: Error) => onFlushed?.(error),
      );
      pendingWrites.add(written);
      void written.then(() => pendingWrites.delete(written));
      if (state.current === undefined) void stream.finish();
      return true;
    },
    end(reason) {
      if (state.closeReason !== undefined) return;
      state.closeReason = { reason, byServer: true };
      void Promise.all(pendingWrites)
        .then(() => new Promise((resolve) => setTimeout(resolve, endGraceMs)))
        .then(() => peer.close({ code: 0, reason }));
    },
    destroy(reason) {
      state.closeReason ??= { reason, byServer: true };
      void peer.close({ code: closeCodeInternal, reason });
    },
  };
  return connection;
}

/** How a connection ended, as the host tells it: the server's own reason when it closed it. */
function closeInfo(spec: TcpHostSpec, event: QuicClosed, closeReason: { reason: string; byServer: boolean } | undefined): CloseInfo {
  return {
    hadError: event.how === 'peer' && event.isApp && event.code !== 0,
    byServer: closeReason?.byServer ?? (event.how === 'local' || event.how === 'idle-timeout'),
    reason: closeReason?.reason ?? (event.how === 'idle-timeout' ? `idle: no traffic within idleTimeoutMs=${spec.limits.idleTimeoutMs}` : event.reason),
  };
}

interface StreamState {
  splitter: JsonObjectSplitter;
  /** bytes that are not a message arrived: the rest of the stream is ignored */
  poisoned: boolean;
  readTimer: ClockTimer | undefined;
}

/** The streams of one connection: each read split into whole JSON objects, handed on as JSON lines. */
class StreamReader {
  private readonly states = new Map<QuicStreamHandle, StreamState>();

  constructor(
    private readonly spec: TcpHostSpec,
    private readonly id: number,
    private readonly serve: (stream: QuicStreamHandle, chunk: Buffer) => void,
    /** the keep-streams-open defect: a stream the client finished is never finished here */
    private readonly keepOpen: boolean,
  ) {}

  take(event: Exclude<QuicEvent, { kind: 'closed' }>): void {
    const stream = event.stream;
    switch (event.kind) {
      case 'data':
        return this.read(stream, event.bytes);
      case 'stream-end': {
        const state = this.states.get(stream);
        this.forget(stream);
        // A stream that ended inside a message: the codec answers the piece as it answers a bad line.
        if (state !== undefined && !state.poisoned && state.splitter.hasPartial()) this.serve(stream, lineOf(state.splitter.takePartial()));
        if (!this.keepOpen) void stream.finish();
        return;
      }
      case 'stream-reset':
        this.forget(stream);
        stream.reset(0);
        return;
      case 'message':
      case 'invalid':
        return; // not sent by a raw-streams peer
    }
  }

  endAll(): void {
    for (const stream of [...this.states.keys()]) this.forget(stream);
  }

  private read(stream: QuicStreamHandle, bytes: Uint8Array): void {
    const { limits } = this.spec;
    let state = this.states.get(stream);
    if (state === undefined) {
      state = { splitter: new JsonObjectSplitter(limits.maxFrameBytes), poisoned: false, readTimer: undefined };
      this.states.set(stream, state);
    }
    if (state.poisoned) return;
    // one-read-one-message: a fresh splitter per read, so an object cut at the read's end is lost
    if (this.spec.readIsMessage === true) state.splitter = new JsonObjectSplitter(limits.maxFrameBytes);
    const lines: string[] = [];
    for (const piece of state.splitter.push(bytes)) {
      if (piece.kind === 'message') {
        lines.push(oneLine(piece.text));
        continue;
      }
      state.poisoned = true;
      this.refuse(stream, piece.reason);
      break;
    }
    if (lines.length > 0) this.serve(stream, Buffer.from(lines.map((l) => `${l}\n`).join('')));
    this.watchPartial(stream, state);
  }

  /** Half an object held past readTimeoutMs: the error reply, and the stream is reset. */
  private watchPartial(stream: QuicStreamHandle, state: StreamState): void {
    const partial = !state.poisoned && this.spec.readIsMessage !== true && state.splitter.hasPartial();
    if (!partial) {
      state.readTimer?.cancel();
      state.readTimer = undefined;
      return;
    }
    if (state.readTimer !== undefined || this.spec.limits.readTimeoutMs <= 0) return;
    state.readTimer = this.spec.clock.setTimer(this.spec.limits.readTimeoutMs, () => {
      state.readTimer = undefined;
      state.poisoned = true;
      this.refuse(stream, `read timeout: message not completed within readTimeoutMs=${this.spec.limits.readTimeoutMs}`);
      setTimeout(() => stream.reset(streamCodeReadTimeout), endGraceMs).unref();
    });
  }

  private refuse(stream: QuicStreamHandle, reason: string): void {
    this.spec.log(`${this.spec.name}: connection #${this.id} stream ${stream.streamId}: ${reason}`);
    const frame = this.spec.errorFrame(reason);
    if (frame === undefined) return;
    const text = (typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')).replace(/\n+$/, '');
    void stream.write(text).catch(() => undefined);
  }

  private forget(stream: QuicStreamHandle): void {
    this.states.get(stream)?.readTimer?.cancel();
    this.states.delete(stream);
  }
}

/** A JSON text on one line: raw newlines in JSON are only whitespace between tokens. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function lineOf(text: string): Buffer {
  return Buffer.from(`${oneLine(text)}\n`);
}
