/**
 * One harness client's TCP connection to a stream target (directly or through the fault proxy):
 * writes encoded messages, decodes what arrives into a bounded inbox, and answers "what is the next
 * thing that happened within N ms": a message, bytes that are not one, the connection closing, or
 * nothing (a timeout, which the runner never counts as a pass).
 *
 * Limits (named, reported when hit): `maxInboxMessages` unread messages (a target that floods gets
 * the excess dropped and is told so), `maxReceivedBytes` per connection (beyond it the harness
 * closes the connection: a flood), and the codec's `maxFrameBytes` (a frame that claims to be huge).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Decoded, LiveCodec, StreamDecoder } from './live-codec.js';
import type { QuicTargetOptions } from '../scenario/target-address.js';
import { connectQuic, type QuicEvent, type QuicPeer } from '../transports/quic-transport.js';

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInboxMessages: number;
  maxReceivedBytes: number;
}

/** How long an orderly QUIC close waits for the streams already written to be acknowledged. */
const orderlyCloseFlushMs = 500;

export const defaultConnectionLimits: ConnectionLimits = {
  maxFrameBytes: 1024 * 1024,
  maxInboxMessages: 1000,
  maxReceivedBytes: 16 * 1024 * 1024,
};

/** What the next thing was. */
export type Arrival =
  | { kind: 'message'; msg: unknown }
  | { kind: 'invalid'; reason: string }
  | { kind: 'closed'; how: 'end' | 'reset'; detail: string }
  | { kind: 'timeout'; waitedMs: number };

/** The connection could not be opened at all. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A harness client's connection, whatever carries it (TCP: LiveConnection, QUIC: QuicLiveConnection). */
export interface HarnessConnection {
  readonly name: string;
  readonly isClosed: boolean;
  readonly bytesReceived: number;
  droppedMessages: number;
  limitHit: string | undefined;
  next(withinMs: number): Promise<Arrival>;
  pending(): number;
  write(bytes: Buffer): Promise<void>;
  closedWithin(withinMs: number): Promise<boolean>;
  disconnect(mode: 'close' | 'reset' | 'half-close'): void;
  /** the connection went away without the target being told (QUIC: a vanished client) */
  readonly vanished?: boolean;
}

/**
 * The arrivals of one harness connection, whatever its transport: a bounded inbox (at most
 * `maxInboxMessages` unread; more are counted and named as the limit hit), then its close, read in
 * order by `next`.
 */
abstract class ArrivalInbox {
  protected readonly inbox: Arrival[] = [];
  protected waiter: (() => void) | undefined;
  protected closedArrival: Arrival | undefined;
  /** messages dropped because the inbox was full */
  droppedMessages = 0;
  /** a named limit the target made the harness hit */
  limitHit: string | undefined;

  constructor(private readonly maxInboxMessages: number) {}

  get isClosed(): boolean {
    return this.closedArrival !== undefined;
  }

  protected push(arrival: Arrival): void {
    if (this.inbox.length >= this.maxInboxMessages) {
      this.droppedMessages++;
      this.limitHit = `maxInboxMessages=${this.maxInboxMessages}`;
      return;
    }
    this.inbox.push(arrival);
    this.wake();
  }

  protected wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next arrival within `withinMs`; a close is reported after every message before it. */
  async next(withinMs: number): Promise<Arrival> {
    const started = performance.now();
    for (;;) {
      const head = this.inbox.shift();
      if (head !== undefined) return head;
      if (this.closedArrival !== undefined) return this.closedArrival;
      const left = withinMs - (performance.now() - started);
      if (left <= 0) return { kind: 'timeout', waitedMs: Math.round(performance.now() - started) };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Unread arrivals (for reports). */
  pending(): number {
    return this.inbox.length;
  }
}

export class LiveConnection extends ArrivalInbox implements HarnessConnection {
  private readonly decoder: StreamDecoder;
  private receivedBytes = 0;
  private constructor(
    readonly name: string,
    private readonly socket: Socket,
    codec: LiveCodec,
    private readonly limits: ConnectionLimits,
  ) {
    super(limits.maxInboxMessages);
    this.decoder = codec.decoder(limits.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.closed('end', 'the target closed the connection'));
    socket.on('error', (error: NodeJS.ErrnoException) => this.closed('reset', `connection error: ${error.code ?? error.message}`));
    socket.on('close', (hadError) => this.closed(hadError ? 'reset' : 'end', hadError ? 'the connection was reset' : 'the connection closed'));
  }

  /** Opens a connection; throws ConnectError (refused, timeout) when the target cannot be reached. */
  static open(name: string, host: string, port: number, codec: LiveCodec, limits: ConnectionLimits, timeoutMs: number): Promise<LiveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectError(`no connection to ${host}:${port} within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LiveConnection(name, socket, codec, limits));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectError(`cannot connect to ${host}:${port}: ${error.code ?? error.message}`, error.code));
      });
    });
  }

  /** Bytes the target sent on this connection. */
  get bytesReceived(): number {
    return this.receivedBytes;
  }

  private receive(chunk: Buffer): void {
    if (this.closedArrival !== undefined) return;
    this.receivedBytes += chunk.length;
    if (this.receivedBytes > this.limits.maxReceivedBytes) {
      this.limitHit = `maxReceivedBytes=${this.limits.maxReceivedBytes}`;
      this.push({ kind: 'invalid', reason: `the target sent more than maxReceivedBytes=${this.limits.maxReceivedBytes} on one connection; the harness closed it` });
      this.socket.destroy();
      this.closed('end', `closed by the harness: limit maxReceivedBytes=${this.limits.maxReceivedBytes}`);
      return;
    }
    let events: Decoded[];
    try {
      events = this.decoder.push(chunk);
    } catch (error) {
      events = [{ kind: 'invalid', reason: `undecodable bytes: ${(error as Error).message}`, fatal: true }];
    }
    for (const e of events) {
      if (e.kind === 'message') this.push({ kind: 'message', msg: e.msg });
      else {
        this.push({ kind: 'invalid', reason: e.reason });
        if (e.fatal) {
          // The stream cannot be read past this point; stop reading so a flood costs nothing more.
          this.socket.destroy();
          this.closed('end', `closed by the harness after an unreadable frame`);
          return;
        }
      }
    }
  }

  private closed(how: 'end' | 'reset', detail: string): void {
    if (this.closedArrival !== undefined) return;
    this.closedArrival = { kind: 'closed', how, detail };
    this.wake();
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || this.socket.writableEnded) {
        reject(new Error(this.closedArrival?.kind === 'closed' ? this.closedArrival.detail : 'the connection is closed'));
        return;
      }
      this.socket.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Resolves when the connection has closed, or after `withinMs`. */
  async closedWithin(withinMs: number): Promise<boolean> {
    const started = performance.now();
    while (this.closedArrival === undefined && performance.now() - started < withinMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, withinMs - (performance.now() - started));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.inbox.length = 0;
    }
    return this.closedArrival !== undefined;
  }

  /** `close`: FIN and forget; `reset`: RST, as a killed client; `half-close`: FIN, still reading. */
  disconnect(mode: 'close' | 'reset' | 'half-close'): void {
    if (this.socket.destroyed) return;
    if (mode === 'reset') this.socket.resetAndDestroy();
    else if (mode === 'half-close') this.socket.end();
    else {
      this.socket.end();
      // Give the FIN a moment to leave before the descriptor goes (destroying at once may send RST).
      setTimeout(() => this.socket.destroy(), 200).unref();
    }
  }
}

/**
 * One harness client's QUIC connection (the seed's framing of ping-liveness): each write goes on a
 * new bidirectional stream whose side is then finished, as the seed's client does; what the target
 * writes, on any stream, is read with a JSON object splitter per stream (quic-transport.ts), so
 * replies arrive whatever the target's writes were. (A message split across stream writes, or
 * several in one, is the QUIC message proxy's: proxy/quic-proxy.ts.)
 *
 * Disconnects: `close` is CONNECTION_CLOSE with application code 0 (a client that leaves without
 * logging out); `reset` is a client that vanishes, as a killed process does over QUIC: nothing more
 * is sent, the target learns only by its idle timeout or its heartbeat; `half-close` has no QUIC
 * meaning for a connection (every stream is already finished after its write), so it does nothing.
 */
export class QuicLiveConnection extends ArrivalInbox implements HarnessConnection {
  private receivedBytes = 0;
  vanished = false;

  private constructor(
    readonly name: string,
    private readonly peer: QuicPeer,
    private readonly limits: ConnectionLimits,
  ) {
    super(limits.maxInboxMessages);
    peer.onEvent = (event) => this.receive(event);
  }

  /** Connects; throws ConnectError when no QUIC connection can be made (unreachable, handshake, ALPN). */
  static async open(name: string, host: string, port: number, quic: QuicTargetOptions, limits: ConnectionLimits, timeoutMs: number): Promise<QuicLiveConnection> {
    let ca: string | undefined;
    if (quic.ca !== undefined) {
      try {
        ca = readFileSync(quic.ca, 'utf8');
      } catch (error) {
        throw new ConnectError(`cannot read the QUIC CA file ${quic.ca}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'ECA');
      }
    }
    try {
      const peer = await connectQuic(host, port, {
        ...(quic.alpn !== undefined ? { alpn: quic.alpn } : {}),
        ...(quic.serverName !== undefined ? { serverName: quic.serverName } : {}),
        ...(quic.verify !== undefined ? { verify: quic.verify } : {}),
        ...(ca !== undefined ? { ca } : {}),
        connectTimeoutMs: timeoutMs,
        limits: { maxMessageBytes: limits.maxFrameBytes, maxInboxEvents: limits.maxInboxMessages },
      });
      return new QuicLiveConnection(name, peer, limits);
    } catch (error) {
      throw new ConnectError(`QUIC: ${(error as Error).message}`, 'EQUIC');
    }
  }

  get bytesReceived(): number {
    return this.receivedBytes;
  }

  /** Streams open and opened on this connection, for watching a long run. */
  streamCounts(): { open: number; opened: number } {
    return this.peer.streamCounts();
  }

  private receive(event: QuicEvent): void {
    if (this.closedArrival !== undefined) return;
    switch (event.kind) {
      case 'message':
        this.receivedBytes += Buffer.byteLength(event.text);
        if (this.receivedBytes > this.limits.maxReceivedBytes) {
          this.limitHit = `maxReceivedBytes=${this.limits.maxReceivedBytes}`;
          this.push({ kind: 'invalid', reason: `the target sent more than maxReceivedBytes=${this.limits.maxReceivedBytes} on one connection; the harness closed it` });
          void this.peer.close({ code: 0, reason: 'flood' });
          return;
        }
        return this.push({ kind: 'message', msg: event.value });
      case 'invalid':
        return this.push({ kind: 'invalid', reason: `stream ${event.stream.streamId}: ${event.reason}` });
      case 'stream-end':
        // The target finished a stream: finish ours too, so it ends (a stream the target opened).
        void event.stream.finish();
        return;
      case 'stream-reset':
      case 'data':
        return;
      case 'closed': {
        const orderly = event.how === 'peer' && event.isApp && event.code === 0;
        this.closedArrival = { kind: 'closed', how: orderly || event.how === 'idle-timeout' ? 'end' : 'reset', detail: `QUIC connection ${event.reason}` };
        return this.wake();
      }
    }
  }

  /** One stream: the bytes in one write, then the stream's end. */
  async write(bytes: Buffer): Promise<void> {
    if (this.closedArrival !== undefined || !this.peer.isOpen()) throw new Error(this.closedArrival?.kind === 'closed' ? this.closedArrival.detail : 'the connection is closed');
    const stream = this.peer.openStream();
    try {
      await stream.write(bytes);
    } catch (error) {
      // The target stopped reading this stream (STOP_SENDING): it refused these bytes, which is its
      // answer to them, not a connection gone. Only a closed connection is a failed write.
      if (this.peer.isOpen()) return;
      throw error;
    }
    void stream.finish();
  }

  async closedWithin(withinMs: number): Promise<boolean> {
    if (this.closedArrival !== undefined) return true;
    const closed = await Promise.race([this.peer.closed().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), withinMs).unref())]);
    this.inbox.length = 0;
    return closed;
  }

  disconnect(mode: 'close' | 'reset' | 'half-close'): void {
    if (mode === 'half-close' || !this.peer.isOpen()) return;
    if (mode === 'reset') {
      this.vanished = true;
      void this.peer.vanish();
    } else void this.peer.close({ code: 0, reason: 'client left', flushMs: orderlyCloseFlushMs });
  }
}
