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
import { connect, type Socket } from 'node:net';
import type { Decoded, LiveCodec, StreamDecoder } from './live-codec.js';

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInboxMessages: number;
  maxReceivedBytes: number;
}

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

export class LiveConnection {
  private readonly inbox: Arrival[] = [];
  private waiter: (() => void) | undefined;
  private closedArrival: Arrival | undefined;
  private readonly decoder: StreamDecoder;
  private receivedBytes = 0;
  /** messages dropped because the inbox was full */
  droppedMessages = 0;
  /** a named limit the target made the harness hit */
  limitHit: string | undefined;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
    codec: LiveCodec,
    private readonly limits: ConnectionLimits,
  ) {
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

  get isClosed(): boolean {
    return this.closedArrival !== undefined;
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

  private push(arrival: Arrival): void {
    if (this.inbox.length >= this.limits.maxInboxMessages) {
      this.droppedMessages++;
      this.limitHit = `maxInboxMessages=${this.limits.maxInboxMessages}`;
      return;
    }
    this.inbox.push(arrival);
    this.wake();
  }

  private closed(how: 'end' | 'reset', detail: string): void {
    if (this.closedArrival !== undefined) return;
    this.closedArrival = { kind: 'closed', how, detail };
    this.wake();
  }

  private wake(): void {
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
