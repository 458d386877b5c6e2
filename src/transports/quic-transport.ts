/**
 * QUIC as a message transport, with the framing of the seed's ping-liveness implementation
 * (docs/protocols.md §3): TLS 1.3 with an ALPN (`echo-protocol`), one JSON object per stream write and
 * no delimiter. Built on `@matrixai/quic` (Cloudflare's quiche, prebuilt); nothing of QUIC is
 * written here.
 *
 * One connection, either side, is a `QuicPeer` (quic-peer.ts):
 * - `send(text)` opens a new bidirectional stream and writes the message in one write (the seed's
 *   way); `openStream()` gives a stream to write pieces on, finish or reset (framing faults);
 * - every stream, opened by either side, is read through its own `JsonObjectSplitter`
 *   (json-object-splitter.ts), so a message is delivered whole whether it came in one write,
 *   several to a write, or split across writes; a message event carries its stream, so a server
 *   answers on the stream the request came on;
 * - a stream the peer resets, bytes that are not JSON, and the connection's end (by the peer, by
 *   us, or an idle timeout) are events too, in the order they happened;
 * - streams are counted (open now, opened in total) per connection and per server, so a test can
 *   watch a long run for streams that never end.
 *
 * Events go to `onEvent` when it is set, otherwise they wait in a bounded inbox for `next(ms)`.
 *
 * Only loopback addresses: clients refuse any other host, servers listen on 127.0.0.1 or ::1.
 *
 * Layering: this folder is the `src/transports` layer, below both `src/servers` (the generic host
 * plugs `quicStreamTransport` in as a `StreamTransport`) and `src/conformance` (the live engine
 * uses `connectQuic` where it opens a TCP socket today). It imports packages and node:* only.
 * This file holds the two sides (`connectQuic`, `listenQuic`) and is the entry of the layer: it
 * exports the framing (json-object-splitter.ts), the certificates (quic-certificate.ts) and one
 * connection (quic-peer.ts) too.
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { QUICClient, events as QuicEventTypes } from '@matrixai/quic';
import { loadQuic } from './quic-library.js';
import { makeSelfSignedCertificate, type QuicCertificate } from './quic-certificate.js';
import { closeCodeNormal, codeToReason, defaultQuicLimits, QuicPeer, reasonToCode, type QuicLimits, type QuicStreamCounts } from './quic-peer.js';

export { JsonObjectSplitter } from './json-object-splitter.js';
export { loadCertificate, makeSelfSignedCertificate, type QuicCertificate } from './quic-certificate.js';
export {
  defaultQuicLimits,
  QuicPeer,
  QuicStreamLimitError,
  type QuicClosed,
  type QuicEvent,
  type QuicLimits,
  type QuicPeerHooks,
  type QuicStreamCounts,
  type QuicStreamHandle,
} from './quic-peer.js';

// ------------------------------------------------------------------------------------ client side

export interface QuicConnectOptions {
  /** ALPN protocols offered. Default `['echo-protocol']` (the seed's). */
  alpn?: string[];
  /** TLS server name (SNI, and the name checked when verifying). Default `localhost`. */
  serverName?: string;
  /** Verify the server's certificate. Default false: loopback test servers make theirs at start. */
  verify?: boolean;
  /** PEM of the CA to verify with (implies `verify`). */
  ca?: string;
  /** No connection within this long is an error. Default 5000. */
  connectTimeoutMs?: number;
  /** PING frames this often keep an idle connection open (QUIC level, not the protocol's PING). */
  keepAliveIntervalMs?: number;
  limits?: Partial<QuicLimits>;
  /** Streams are handed on as reads (`data` events), not split into messages (a proxy that frames itself). */
  rawStreams?: boolean;
}

/** The connection could not be made (unreachable, handshake or ALPN refused, timeout). */
export class QuicConnectError extends Error {}

/** Loopback only: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** Connects to a QUIC server on a loopback address. */
export async function connectQuic(host: string, port: number, options: QuicConnectOptions = {}): Promise<QuicPeer> {
  if (!isLoopback(host)) throw new QuicConnectError(`QUIC target ${host}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed`);
  const limits = { ...defaultQuicLimits, ...options.limits };
  const target = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
  const verify = options.verify === true || options.ca !== undefined;
  const timeoutMs = options.connectTimeoutMs ?? 5000;
  const { QUICClient, silentLogger } = await loadQuic();
  let client: QUICClient;
  try {
    client = await QUICClient.createQUICClient(
      {
        host: target,
        port,
        localHost: isIP(target) === 6 ? '::1' : '127.0.0.1',
        serverName: options.serverName ?? 'localhost',
        crypto: { ops: { randomBytes: async (data: ArrayBuffer) => void randomFillSync(new Uint8Array(data)) } },
        config: {
          applicationProtos: options.alpn ?? ['echo-protocol'],
          verifyPeer: verify,
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
          maxIdleTimeout: limits.idleTimeoutMs,
          ...(options.keepAliveIntervalMs !== undefined ? { keepAliveIntervalTime: options.keepAliveIntervalMs } : {}),
        },
        reasonToCode,
        codeToReason,
        logger: silentLogger,
      },
      { timer: timeoutMs },
    );
  } catch (error) {
    const e = error as Error & { data?: { errorCode?: number } };
    const code = e.data?.errorCode !== undefined ? ` (code ${e.data.errorCode})` : '';
    throw new QuicConnectError(`no QUIC connection to ${host}:${port} within ${timeoutMs} ms: ${e.message}${code}`);
  }
  // Muting replaces the socket's send: the library's own way out always sends CONNECTION_CLOSE.
  const socket = (client as unknown as { socket: { send_: (...args: unknown[]) => Promise<number> } }).socket;
  return new QuicPeer('client', `${target}:${port}`, client.connection, limits, {
    destroy: (opts) => client.destroy({ ...opts, force: true }),
    mute: () => void (socket.send_ = async () => 0),
    ...(options.rawStreams === true ? { rawStreams: true } : {}),
  });
}

// ------------------------------------------------------------------------------------ server side

export interface QuicListenOptions {
  /** 127.0.0.1 (default) or ::1. */
  host?: string;
  /** UDP port; 0 (default) picks one. */
  port?: number;
  /** ALPN protocols accepted. Default `['echo-protocol']`. */
  alpn?: string[];
  /** Default: a self-signed certificate made at start. */
  certificate?: QuicCertificate;
  /** Connections held at once; more are closed at once with application code 0x101 (busy). */
  maxConnections?: number;
  limits?: Partial<QuicLimits>;
  /** Streams are handed on as reads (`data` events), not split into messages (a host that frames itself). */
  rawStreams?: boolean;
  /** A connection refused because maxConnections is reached (before it is closed). */
  onRefused?: (remote: string, reason: string) => void;
}

/** A listening QUIC server. */
export interface QuicListener {
  host: string;
  port: number;
  /** The certificate it presents (a verifying client passes `cert` as its CA). */
  certificate: QuicCertificate;
  connectionCount(): number;
  /** Streams over every connection, for watching open streams over a long run. */
  streamCounts(): QuicStreamCounts;
  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Application error code for a connection refused because maxConnections is reached. */
export const closeCodeBusy = 0x101;

/** Listens on a loopback address; `accept` gets every new connection before any of its events. */
export async function listenQuic(options: QuicListenOptions, accept: (peer: QuicPeer) => void): Promise<QuicListener> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) || host === 'localhost') throw new Error(`QUIC server host ${host}: listen on 127.0.0.1 or ::1 only`);
  const limits = { ...defaultQuicLimits, ...options.limits };
  const certificate = options.certificate ?? (await makeSelfSignedCertificate());
  // Retry tokens are signed with a key made here; the peer never sees it.
  const tokenKey = new Uint8Array(32);
  randomFillSync(tokenKey);
  const sign = (key: ArrayBuffer, data: ArrayBuffer): ArrayBuffer => {
    const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
    return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength);
  };
  const { QUICServer, events: quicEvents, silentLogger } = await loadQuic();
  const server = new QUICServer({
    crypto: {
      key: tokenKey.buffer,
      ops: {
        sign: async (key, data) => sign(key, data),
        verify: async (key, data, sig) => {
          const expected = Buffer.from(sign(key, data));
          const given = Buffer.from(sig);
          return expected.length === given.length && timingSafeEqual(expected, given);
        },
      },
    },
    config: {
      key: certificate.key,
      cert: certificate.cert,
      applicationProtos: options.alpn ?? ['echo-protocol'],
      verifyPeer: false,
      maxIdleTimeout: limits.idleTimeoutMs,
    },
    reasonToCode,
    codeToReason,
    logger: silentLogger,
  });
  const peers = new Set<QuicPeer>();
  const counts: QuicStreamCounts = { open: 0, opened: 0 };
  let nextId = 1;
  let closing: Promise<void> | undefined;
  server.addEventListener(quicEvents.EventQUICServerConnection.name, (event: Event) => {
    const connection = (event as QuicEventTypes.EventQUICServerConnection).detail;
    const id = `#${nextId++}`;
    const remote = `${connection.remoteHost}:${connection.remotePort}`.replace(/^::ffff:/, '');
    const peer = new QuicPeer(id, remote, connection, limits, {
      destroy: (opts) => connection.stop({ ...opts, force: true }),
      onStreamCount: (delta) => {
        counts.open += delta.open;
        counts.opened += delta.opened;
      },
      ...(options.rawStreams === true ? { rawStreams: true } : {}),
    });
    if (closing !== undefined || peers.size >= (options.maxConnections ?? 4096)) {
      const reason = closing ? 'server closing' : `server busy: limit maxConnections=${options.maxConnections} reached`;
      if (closing === undefined) options.onRefused?.(remote, reason);
      void peer.close({ code: closeCodeBusy, reason });
      return;
    }
    peers.add(peer);
    void peer.closed().then(() => peers.delete(peer));
    accept(peer);
  });
  server.addEventListener(quicEvents.EventQUICServerError.name, () => undefined);
  await server.start({ host, port: options.port ?? 0 });
  return {
    host,
    port: server.port,
    certificate,
    connectionCount: () => peers.size,
    streamCounts: () => ({ ...counts }),
    close() {
      closing ??= server.stop({ isApp: true, errorCode: closeCodeNormal, force: true }).catch(() => undefined);
      return closing;
    },
  };
}
