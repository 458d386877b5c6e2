/**
 * The generic host every stream protocol's reference server runs on. It owns what is not the
 * protocol: a transport (TCP today, see `StreamTransport`), framing and decoding through the
 * protocol's codec, the limits and timeouts (in the transport), connection identity (a connection is
 * known by the id the host gives it, `#N`, never by anything a client writes), error replies for bad
 * frames, and logging. The protocol plug-in (`StreamProtocol`) brings its codec and a `RulesRunner`
 * that steps the protocol's pure server rules from src/models/<protocol>/ and sends what they say.
 *
 * Adding a transport is writing another `StreamTransport`: a function that listens and hands the
 * host `StreamConnection`s; nothing here or in a protocol changes. QUIC (quic-host.ts: one JSON
 * object per stream write, replies on the request's stream) is the second one.
 */
import type { Clock } from './clock.js';
import type { ServerEvents } from './server-events.js';
import type { ServerHandle, ServerLimits } from './server-options.js';
import { startTcpHost, tcpServerHandle, type CloseInfo, type TcpConnection, type TcpHost, type TcpHostSpec } from './tcp-host.js';

/** One connection as the host sees it, whatever carries it. */
export type StreamConnection = TcpConnection;
export type { CloseInfo };

/** A transport plug-in: listens, accepts connections, enforces the connection-level limits. */
export type StreamTransport = (spec: TcpHostSpec) => Promise<TcpHost>;

export const tcpTransport: StreamTransport = startTcpHost;

/** What the keep-connection-buffers defect keeps for every connection: its read buffers, 256 KiB. */
const keptBufferBytes = 256 * 1024;

/** What a codec makes of received bytes: requests, or a problem (fatal ones close the connection). */
export type Decoded<Req> = { kind: 'request'; request: Req } | { kind: 'error'; reason: string; fatal: boolean };

export interface StreamDecoder<Req> {
  push(chunk: Buffer): Decoded<Req>[];
  /** True while a frame is half received; the read timeout runs only then. */
  hasPartialFrame(): boolean;
}

export interface StreamCodec<Req, Out> {
  /** A decoder for one connection. */
  decoder(limits: ServerLimits): StreamDecoder<Req>;
  encode(out: Out): Uint8Array | string;
  /** The protocol's error reply for a problem the host found (bad frame, limit, timeout), if it has one. */
  errorReply(text: string): Out | undefined;
}

/** What a rules runner may do: the host's side of the plug-in interface. */
export interface HostApi<Out> {
  /** Writes `out` to connection `conn`; false (and `onFlushed(error)`) when it is gone. */
  send(conn: string, out: Out, onFlushed?: (error?: Error) => void): boolean;
  /** Closes `conn` in order, after what was written. */
  close(conn: string, reason: string): void;
  /** Kills the whole server at once, telling no one (a defect's crash). */
  crash(error: Error): void;
  log(line: string): void;
  /** The server's time: what the rules are told is now, and their timers. */
  clock: Clock;
  /** Where the runner tells what its rules did (a write flushed, a timer fired). */
  events: ServerEvents;
}

/** A protocol's rules running on the host: told of connections and requests, answers through `HostApi`. */
export interface RulesRunner<Req> {
  opened?(conn: string): void;
  /** Bytes arrived on `conn` (before they are decoded). */
  heard?(conn: string): void;
  request(conn: string, request: Req): void;
  closed(conn: string, info: CloseInfo): void;
  /** The server is shutting down (connections are still open). */
  shutdown?(): void;
}

export interface StreamProtocol<Req, Out> {
  name: string;
  codec: StreamCodec<Req, Out>;
  /** A host-level variation (a defect): which of the requests decoded from one read are served. */
  perRead?(decoded: Decoded<Req>[]): Decoded<Req>[];
  /** A host-level variation (a defect): each read decoded by a fresh decoder, a frame cut at its end lost. */
  readIsMessage?: boolean;
  /** A host-level variation (a defect): a connection the client closed is forgotten, its socket never closed. */
  keepClosedConnections?: boolean;
  /** A host-level variation (a defect): every connection's read buffers (256 KiB) are kept after it closed. */
  keepConnectionBuffers?: boolean;
  rules(host: HostApi<Out>): RulesRunner<Req>;
}

export interface StreamHostConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
  clock: Clock;
  events: ServerEvents;
  transport?: StreamTransport;
}

/** Starts `protocol` on the host and resolves once it listens. */
export async function startStreamServer<Req, Out>(protocol: StreamProtocol<Req, Out>, config: StreamHostConfig): Promise<ServerHandle> {
  const { codec, name } = protocol;
  const connections = new Map<string, StreamConnection>();
  const keptBuffers: Buffer[] = [];
  const encodeError = (text: string): Uint8Array | string | undefined => {
    const out = codec.errorReply(text);
    return out === undefined ? undefined : codec.encode(out);
  };
  let transportHost: TcpHost | undefined;
  const api: HostApi<Out> = {
    send(conn, out, onFlushed) {
      const connection = connections.get(conn);
      if (connection === undefined) {
        onFlushed?.(new Error('connection closed'));
        return false;
      }
      return connection.write(codec.encode(out), onFlushed);
    },
    close: (conn, reason) => connections.get(conn)?.end(reason),
    crash: (error) => transportHost?.crash(error),
    log: config.log,
    clock: config.clock,
    events: config.events,
  };
  const rules = protocol.rules(api);
  transportHost = await (config.transport ?? tcpTransport)({
    name,
    host: config.host,
    port: config.port,
    limits: config.limits,
    log: config.log,
    events: config.events,
    clock: config.clock,
    errorFrame: encodeError,
    accept(connection) {
      const conn = `#${connection.id}`;
      connections.set(conn, connection);
      // keep-connection-buffers (a defect): read buffers per connection, filled (so their pages are
      // resident) and never let go; the memory-returned bound's known-bad server
      if (protocol.keepConnectionBuffers === true) keptBuffers.push(Buffer.alloc(keptBufferBytes, 0x5a));
      const decoder = codec.decoder(config.limits);
      rules.opened?.(conn);
      return {
        onData(chunk) {
          rules.heard?.(conn);
          const decoded = (protocol.readIsMessage === true ? codec.decoder(config.limits) : decoder).push(chunk);
          for (const event of protocol.perRead ? protocol.perRead(decoded) : decoded) {
            if (!connection.isOpen()) return;
            if (event.kind === 'request') {
              rules.request(conn, event.request);
              config.events.emit({ type: 'request-applied', conn, request: event.request });
              continue;
            }
            const frame = encodeError(event.reason);
            if (frame !== undefined) connection.write(frame);
            if (event.fatal) {
              config.log(`${name}: connection ${conn}: ${event.reason}`);
              connection.end(event.reason);
              return;
            }
          }
        },
        hasPartialFrame: () => decoder.hasPartialFrame(),
        onClose(info) {
          connections.delete(conn);
          rules.closed(conn, info);
        },
      };
    },
    beforeClose: () => rules.shutdown?.(),
    ...(protocol.readIsMessage === true ? { readIsMessage: true } : {}),
    ...(protocol.keepClosedConnections === true ? { keepClosedConnections: true } : {}),
  });
  return tcpServerHandle(name, transportHost, config.defect);
}
