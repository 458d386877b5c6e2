/**
 * A test client over a real TCP socket that turns received bytes into messages with a pluggable
 * decoder and lets a test await them one at a time, with a timeout (a timeout is never a pass).
 */
import { connect, type Socket } from 'node:net';

/** Turns a growing byte buffer into messages; returns the messages and the bytes consumed. */
export type StreamDecoder<T> = (buffer: Buffer) => { messages: T[]; consumed: number };

export class StreamClient<T> {
  private buffer = Buffer.alloc(0);
  private readonly inbox: T[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket, private readonly decode: StreamDecoder<T>) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      const { messages, consumed } = this.decode(this.buffer);
      this.buffer = this.buffer.subarray(consumed);
      this.inbox.push(...messages);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open<T>(port: number, decode: StreamDecoder<T>): Promise<StreamClient<T>> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new StreamClient(socket, decode)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  write(data: Uint8Array | string): void {
    this.socket.write(data);
  }

  /** The next message; rejects after `timeoutMs` or when the connection closes first. */
  async next(timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.inbox.shift();
      if (message !== undefined) return message;
      if (this.closed) throw new Error('connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** What arrived and was not read yet, at once (no waiting). */
  unread(): T[] {
    return this.inbox.splice(0);
  }

  /** Resolves with what arrived within `ms` (for "nothing arrives" checks). */
  async drain(ms: number): Promise<T[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.inbox.splice(0);
  }

  /** Resolves true if the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    if (this.closed) return true;
    return Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  }

  end(): void {
    this.socket.end();
  }

  /** Vanish without a goodbye: a TCP reset. */
  reset(): void {
    this.socket.resetAndDestroy();
  }
}

/** JSON lines. */
export const jsonLines: StreamDecoder<Record<string, unknown>> = (buffer) => {
  const messages: Record<string, unknown>[] = [];
  let consumed = 0;
  for (;;) {
    const nl = buffer.indexOf(0x0a, consumed);
    if (nl === -1) break;
    messages.push(JSON.parse(buffer.subarray(consumed, nl).toString('utf8')) as Record<string, unknown>);
    consumed = nl + 1;
  }
  return { messages, consumed };
};

/** Opens a JSON-lines client. */
export function openJsonClient(port: number): Promise<StreamClient<Record<string, unknown>>> {
  return StreamClient.open(port, jsonLines);
}
