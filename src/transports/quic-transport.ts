/**
 * QUIC as a message transport, with the framing of the seed's ping-liveness implementation
 * (docs/protocols.md §3): TLS 1.3 with an ALPN (`echo-protocol`), one JSON object per stream write and
 * no delimiter. Built on `@matrixai/quic` (Cloudflare's quiche, prebuilt); nothing of QUIC is
 * written here.
 *
 * One connection, either side, is a `QuicPeer`:
 * - `send(text)` opens a new bidirectional stream and writes the message in one write (the seed's
 *   way); `openStream()` gives a stream to write pieces on, finish or reset (framing faults);
 * - every stream, opened by either side, is read through its own `JsonObjectSplitter`, so a message
 *   is delivered whole whether it came in one write, several to a write, or split across writes;
 *   a message event carries its stream, so a server answers on the stream the request came on;
 * - a stream the peer resets, bytes that are not JSON, and the connection's end (by the peer, by
 *   us, or an idle timeout) are events too, in the order they happened;
 * - streams are counted (open now, opened in total) per connection and per server, so a test can
 *   watch a long run for streams that never end.
 *
 * Events go to `onEvent` when it is set, otherwise they wait in a bounded inbox for `next(ms)`.
 *
 * Only loopback addresses: clients refuse any other host, servers listen on 127.0.0.1 or ::1.
 *
 * Layering: this file is the `src/transports` layer, below both `src/servers` (the generic host
 * plugs `quicStreamTransport` in as a `StreamTransport`) and `src/conformance` (the live engine
 * uses `connectQuic` where it opens a TCP socket today). It imports packages and node:* only.
 * Framing, certificates and the two sides are in one file until the tidy test knows this layer
 * (a relative import inside an unknown layer is reported); they split along the section lines.
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { QUICClient, QUICServer, events as quicEvents, type QUICConnection, type QUICStream } from '@matrixai/quic';
import Logger, { LogLevel } from '@matrixai/logger';
import { generate as generateCertificate } from 'selfsigned';

// ------------------------------------------------------------------------------------ framing

/**
 * Splits a byte stream of concatenated JSON objects (no delimiter) into whole objects. It tracks
 * brace depth outside strings, so `{"a":1}{"b":2}` gives two and `{"a":` + `1}` gives one.
 * Whitespace between objects is skipped; anything else outside an object is an error.
 */
export class JsonObjectSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  /** Scan state, kept across pushes so a long message is scanned once. */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Whole messages (their text) and problems found in `chunk`, in order. */
  push(chunk: Uint8Array): ({ kind: 'message'; text: string } | { kind: 'invalid'; reason: string })[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const out: ({ kind: 'message'; text: string } | { kind: 'invalid'; reason: string })[] = [];
    while (this.scanned < this.buffer.length) {
      const byte = this.buffer[this.scanned]!;
      if (this.depth === 0) {
        if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
          this.buffer = this.buffer.subarray(this.scanned + 1);
          this.scanned = 0;
          continue;
        }
        if (byte !== 0x7b) {
          const rest = this.buffer.toString('utf8', 0, Math.min(this.buffer.length, 40));
          out.push({ kind: 'invalid', reason: `bytes outside a JSON object: ${JSON.stringify(rest)}` });
          this.reset();
          return out;
        }
      }
      this.scanned++;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
      } else if (byte === 0x22) this.inString = true;
      else if (byte === 0x7b || byte === 0x5b) this.depth++;
      else if (byte === 0x7d || byte === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push({ kind: 'message', text: this.buffer.toString('utf8', 0, this.scanned) });
          this.buffer = this.buffer.subarray(this.scanned);
          this.scanned = 0;
        }
      }
      if (this.scanned > this.maxMessageBytes) {
        out.push({ kind: 'invalid', reason: `a message longer than maxMessageBytes=${this.maxMessageBytes}` });
        this.reset();
        return out;
      }
    }
    return out;
  }

  /** True while a message is half received. */
  hasPartial(): boolean {
    return this.buffer.length > 0;
  }

  /** The half-received message's text, and forgets it (a stream ended inside a message). */
  takePartial(): string {
    const text = this.buffer.toString('utf8');
    this.reset();
    return text;
  }

  private reset(): void {
    this.buffer = Buffer.alloc(0);
    this.scanned = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}

// ------------------------------------------------------------------------------------ certificates

/** A certificate chain and its private key, PEM. */
export interface QuicCertificate {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for `localhost` and 127.0.0.1/::1 (ECDSA P-256, valid one day), made
 * at start with `selfsigned`. It is also the CA a verifying client needs (`ca: cert`).
 */
export async function makeSelfSignedCertificate(): Promise<QuicCertificate> {
  const pems = await generateCertificate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A certificate chain and key from PEM files. */
export function loadCertificate(certFile: string, keyFile: string): QuicCertificate {
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

// ------------------------------------------------------------------------------------ one connection

/** One stream, either side's, as a writer. */
export interface QuicStreamHandle {
  readonly streamId: number;
  /** Who opened it. */
  readonly initiated: 'local' | 'peer';
  /** One stream write. Rejects if the stream or connection is gone. */
  write(data: string | Uint8Array): Promise<void>;
  /** Finishes our side (FIN): the peer reads the end of the stream. Idempotent. */
  finish(): Promise<void>;
  /** Resets the stream both ways with an application error code (RESET_STREAM + STOP_SENDING). */
  reset(code?: number): void;
}

/** How a connection ended. */
export interface QuicClosed {
  kind: 'closed';
  /** `local`: we closed it; `peer`: the peer sent CONNECTION_CLOSE; `idle-timeout`: nothing heard in time. */
  how: 'local' | 'peer' | 'idle-timeout';
  /** The application (or transport) error code of the close, when there was one. */
  code: number | undefined;
  /** True when the code is an application code (CONNECTION_CLOSE of type 0x1d). */
  isApp: boolean;
  reason: string;
}

export type QuicEvent =
  | { kind: 'message'; text: string; value: unknown; stream: QuicStreamHandle }
  /** One read of a stream, as it came (only on a peer made with `rawStreams`: the reader splits). */
  | { kind: 'data'; bytes: Uint8Array; stream: QuicStreamHandle }
  | { kind: 'invalid'; reason: string; stream: QuicStreamHandle }
  /** The peer reset the stream (or stopped reading it); `code` is its application error code. */
  | { kind: 'stream-reset'; stream: QuicStreamHandle; code: number; direction: 'read' | 'write' }
  /** The peer finished its side of a stream (FIN); `insideMessage` when a message was half sent. */
  | { kind: 'stream-end'; stream: QuicStreamHandle; insideMessage: boolean }
  | QuicClosed;

/** Stream counts, for watching a long run. */
export interface QuicStreamCounts {
  /** Streams not yet ended both ways. */
  open: number;
  /** Streams opened in total, by either side. */
  opened: number;
}

/** Limits with names, reported when hit. */
export interface QuicLimits {
  /** Longest message (one JSON object), in bytes. */
  maxMessageBytes: number;
  /** Unread events held in the inbox; beyond it events are dropped and counted. */
  maxInboxEvents: number;
  /** A connection with no packet from the peer for this long is closed (0: never). */
  idleTimeoutMs: number;
}

export const defaultQuicLimits: Readonly<QuicLimits> = { maxMessageBytes: 64 * 1024, maxInboxEvents: 1000, idleTimeoutMs: 30_000 };

/** Application error code used when a connection is closed by `close()` without one. */
const closeCodeNormal = 0;

/** No stream can be opened: the peer's limit on open streams is reached. */
export class QuicStreamLimitError extends Error {}

/** A stream reset we asked for, carried through the library's reason-to-code mapping. */
class StreamResetRequest {
  constructor(readonly code: number) {}
}

/** The library's hook from a reset reason to a wire code: ours carry one, anything else is 0. */
const reasonToCode = (_type: 'read' | 'write', reason?: unknown): number => (reason instanceof StreamResetRequest ? reason.code : 0);

/** A peer's reset arrives as this reason on the stream's reader or writer. */
class StreamResetByPeer extends Error {
  constructor(
    readonly direction: 'read' | 'write',
    readonly code: number,
  ) {
    super(`stream ${direction === 'read' ? 'reset' : 'stopped'} by the peer with code ${code}`);
  }
}
const codeToReason = (type: 'read' | 'write', code: number): StreamResetByPeer => new StreamResetByPeer(type, code);

/** Per stream, how a peer's reset is told (once per direction, whichever path sees it first). */
const resetSeen = new WeakMap<QUICStream, (direction: 'read' | 'write', code: number) => void>();

const silentLogger = new Logger('quic', LogLevel.SILENT);

/** @internal How a `QuicPeer` acts on its connection; given by `connectQuic` and `listenQuic`. */
export interface QuicPeerHooks {
  /** Closes the connection with CONNECTION_CLOSE. */
  destroy: (options: { errorCode: number; reason: Uint8Array; isApp: true }) => Promise<void>;
  /** Stops sending anything at all (client side): what follows is never put on the wire. */
  mute?: () => void;
  onStreamCount?: (delta: { open: number; opened: number }) => void;
  /** Streams are not split into messages: each read is a `data` event. */
  rawStreams?: boolean;
}

/** One QUIC connection, client or server side. */
export class QuicPeer {
  /** Events as they happen; when unset, events wait in the inbox for `next`. */
  onEvent: ((event: QuicEvent) => void) | undefined;
  /** Events dropped because the inbox was full (limit maxInboxEvents). */
  droppedEvents = 0;
  private readonly inbox: QuicEvent[] = [];
  private waiter: (() => void) | undefined;
  private closedEvent: QuicClosed | undefined;
  private readonly closedWaiters: ((closed: QuicClosed) => void)[] = [];
  private openStreams = 0;
  private openedStreams = 0;
  private closing = false;

  /** @internal built by `connectQuic` and `listenQuic` */
  constructor(
    /** Per-connection identity: `#N` on a server (never anything the peer writes), `client` on a client. */
    readonly id: string,
    /** `127.0.0.1:PORT` of the other side. */
    readonly remote: string,
    private readonly connection: QUICConnection,
    private readonly limits: QuicLimits,
    private readonly hooks: QuicPeerHooks,
  ) {
    connection.addEventListener(quicEvents.EventQUICConnectionStream.name, (event: Event) => {
      this.adopt((event as quicEvents.EventQUICConnectionStream).detail);
    });
    connection.addEventListener(
      quicEvents.EventQUICConnectionClose.name,
      (event: Event) => this.ended((event as quicEvents.EventQUICConnectionClose).detail),
      { once: true },
    );
    // The library reports a close as an error first; the close event above says how it ended.
    connection.addEventListener(quicEvents.EventQUICConnectionError.name, () => undefined);
    void connection.closedP.then(() => this.ended(undefined));
  }

  /** Writes `message` on a new stream in one write, then finishes our side unless `finish: false`. */
  async send(message: string | Uint8Array, options: { finish?: boolean } = {}): Promise<QuicStreamHandle> {
    const stream = this.openStream();
    await stream.write(message);
    // Not awaited: closing the writer resolves only once the peer acknowledged the FIN (an ack
    // delay, ~25 ms a message), and nothing here depends on it.
    if (options.finish !== false) void stream.finish();
    return stream;
  }

  /** Opens a bidirectional stream; what the peer writes back on it comes as events. */
  openStream(): QuicStreamHandle {
    if (this.closedEvent !== undefined) throw new Error(`connection ${this.id} is closed: ${this.closedEvent.reason}`);
    let stream: QUICStream;
    try {
      stream = this.connection.newStream('bidi');
    } catch (error) {
      // The peer's MAX_STREAMS credit is used up: streams it never ends, or too many at once.
      if ((error as Error).constructor.name === 'ErrorQUICStreamLimit') {
        throw new QuicStreamLimitError(`connection ${this.id}: the peer allows no more open streams (${this.openStreams} open, ${this.openedStreams} opened; streams end when both sides finish them)`);
      }
      throw error;
    }
    return this.adopt(stream);
  }

  /** The next event within `timeoutMs`, or `timeout`. Only when `onEvent` is unset. */
  next(timeoutMs: number): Promise<QuicEvent | { kind: 'timeout'; waitedMs: number }> {
    const ready = this.inbox.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve({ kind: 'timeout', waitedMs: timeoutMs });
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(this.inbox.shift()!);
      };
    });
  }

  /** Closes the connection (CONNECTION_CLOSE with an application code); streams are cancelled. */
  async close(options: { code?: number; reason?: string } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.hooks.destroy({ isApp: true, errorCode: options.code ?? closeCodeNormal, reason: Buffer.from(options.reason ?? '') }).catch(() => undefined);
  }

  /**
   * Goes away as a killed process does: nothing more is sent, not even CONNECTION_CLOSE, so the
   * peer learns of it only by its idle timeout (or its protocol's heartbeat). Client side only.
   */
  async vanish(): Promise<void> {
    if (this.hooks.mute === undefined) throw new Error(`connection ${this.id}: only a client can vanish`);
    if (this.closing) return;
    this.hooks.mute();
    await this.close({ code: closeCodeNormal, reason: 'vanished' });
  }

  /** Resolves once the connection has ended, however it ended. */
  closed(): Promise<QuicClosed> {
    if (this.closedEvent !== undefined) return Promise.resolve(this.closedEvent);
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  isOpen(): boolean {
    return this.closedEvent === undefined && !this.closing;
  }

  streamCounts(): QuicStreamCounts {
    return { open: this.openStreams, opened: this.openedStreams };
  }

  private emit(event: QuicEvent): void {
    if (this.onEvent !== undefined) {
      this.onEvent(event);
      return;
    }
    if (this.inbox.length >= this.limits.maxInboxEvents && event.kind !== 'closed') {
      this.droppedEvents++;
      return;
    }
    this.inbox.push(event);
    this.waiter?.();
  }

  private ended(error: unknown): void {
    if (this.closedEvent !== undefined) return;
    const data = (error as { data?: { errorCode?: number; isApp?: boolean; reason?: Uint8Array } } | undefined)?.data;
    const name = (error as Error | undefined)?.constructor?.name ?? '';
    const how: QuicClosed['how'] = name.includes('IdleTimeout') ? 'idle-timeout' : name.includes('Peer') ? 'peer' : 'local';
    const text = data?.reason !== undefined && data.reason.length > 0 ? Buffer.from(data.reason).toString('utf8') : '';
    const reason =
      how === 'idle-timeout'
        ? `idle timeout: nothing heard for idleTimeoutMs=${this.limits.idleTimeoutMs}`
        : `${how === 'peer' ? 'closed by the peer' : 'closed here'}${data?.errorCode !== undefined ? ` with ${data.isApp ? 'application' : 'transport'} code ${data.errorCode}` : ''}${text ? `: ${text}` : ''}`;
    this.closedEvent = { kind: 'closed', how, code: data?.errorCode, isApp: data?.isApp ?? false, reason };
    this.emit(this.closedEvent);
    for (const resolve of this.closedWaiters.splice(0)) resolve(this.closedEvent);
  }

  /** Counts a stream, reads it to its end and wraps its writer. */
  private adopt(stream: QUICStream): QuicStreamHandle {
    this.openStreams++;
    this.openedStreams++;
    this.hooks.onStreamCount?.({ open: 1, opened: 1 });
    void stream.closedP.then(() => {
      this.openStreams--;
      this.hooks.onStreamCount?.({ open: -1, opened: 0 });
    });
    const writer = stream.writable.getWriter();
    let handle!: QuicStreamHandle;
    writer.closed.catch(() => undefined);
    // RESET_STREAM (read side) and STOP_SENDING (write side) from the peer, each told once.
    const told = new Set<'read' | 'write'>();
    const tell = (direction: 'read' | 'write', code: number): void => {
      if (told.has(direction)) return;
      told.add(direction);
      this.emit({ kind: 'stream-reset', stream: handle, code, direction });
    };
    stream.addEventListener(quicEvents.EventQUICStreamError.name, (event: Event) => {
      const error = (event as quicEvents.EventQUICStreamError).detail as Error & { data?: { code?: number } };
      const name = error.constructor.name;
      if (name === 'ErrorQUICStreamPeerWrite') tell('write', error.data?.code ?? 0);
      if (name === 'ErrorQUICStreamPeerRead') tell('read', error.data?.code ?? 0);
    });
    resetSeen.set(stream, tell);
    let finished = false;
    handle = {
      streamId: stream.streamId,
      initiated: stream.initiated,
      write: (data) => writer.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
      finish: async () => {
        if (finished) return;
        finished = true;
        await writer.close().catch(() => undefined);
      },
      reset: (code = 1) => {
        finished = true;
        stream.cancel(new StreamResetRequest(code));
      },
    };
    void this.read(stream, handle);
    return handle;
  }

  private async read(stream: QUICStream, handle: QuicStreamHandle): Promise<void> {
    const splitter = new JsonObjectSplitter(this.limits.maxMessageBytes);
    const reader = stream.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.hooks.rawStreams === true) {
          this.emit({ kind: 'data', bytes: value, stream: handle });
          continue;
        }
        for (const piece of splitter.push(value)) {
          if (piece.kind === 'invalid') {
            this.emit({ kind: 'invalid', reason: piece.reason, stream: handle });
            continue;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(piece.text);
          } catch (error) {
            this.emit({ kind: 'invalid', reason: `not JSON: ${(error as Error).message}`, stream: handle });
            continue;
          }
          this.emit({ kind: 'message', text: piece.text, value: parsed, stream: handle });
        }
      }
      this.emit({ kind: 'stream-end', stream: handle, insideMessage: splitter.hasPartial() });
    } catch (error) {
      if (error instanceof StreamResetByPeer) resetSeen.get(stream)?.(error.direction, error.code);
      // Anything else is the connection going away, reported once by its close event.
    }
  }
}

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
    const connection = (event as quicEvents.EventQUICServerConnection).detail;
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
