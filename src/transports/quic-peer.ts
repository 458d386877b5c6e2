/**
 * One QUIC connection, either side's, as quic-transport.ts describes it: streams opened and read
 * (each through its own JSON object splitter, or handed on raw), resets and the connection's end
 * as events, stream counts, and the inbox that holds events for `next(ms)` when no `onEvent` is set.
 * The options both sides give the library (reset codes, the silent logger) are here too.
 */
import type { QUICConnection, QUICStream, events as QuicEventTypes } from '@matrixai/quic';
import { loadedQuic } from './quic-library.js';
import { JsonObjectSplitter } from './json-object-splitter.js';

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
export const closeCodeNormal = 0;

/** No stream can be opened: the peer's limit on open streams is reached. */
export class QuicStreamLimitError extends Error {}

/** A stream reset we asked for, carried through the library's reason-to-code mapping. */
class StreamResetRequest {
  constructor(readonly code: number) {}
}

/** The library's hook from a reset reason to a wire code: ours carry one, anything else is 0. */
export const reasonToCode = (_type: 'read' | 'write', reason?: unknown): number => (reason instanceof StreamResetRequest ? reason.code : 0);

/** A peer's reset arrives as this reason on the stream's reader or writer. */
class StreamResetByPeer extends Error {
  constructor(
    readonly direction: 'read' | 'write',
    readonly code: number,
  ) {
    super(`stream ${direction === 'read' ? 'reset' : 'stopped'} by the peer with code ${code}`);
  }
}
/** The library's hook from a wire code to a reset reason: the peer's reset, with its direction and code. */
export const codeToReason = (type: 'read' | 'write', code: number): StreamResetByPeer => new StreamResetByPeer(type, code);

/** Per stream, how a peer's reset is told (once per direction, whichever path sees it first). */
const resetSeen = new WeakMap<QUICStream, (direction: 'read' | 'write', code: number) => void>();


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
  /** writes not yet taken by the stream, and streams finished here whose peer has not yet finished its side: an orderly close may wait for them */
  private readonly writing = new Set<Promise<void>>();
  private readonly finishing = new Set<Promise<void>>();
  /** while set, no stream is read (the peer's flow control then holds its writes) */
  private readGate: { promise: Promise<void>; open: () => void } | undefined;

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
    connection.addEventListener(loadedQuic().events.EventQUICConnectionStream.name, (event: Event) => {
      this.adopt((event as QuicEventTypes.EventQUICConnectionStream).detail);
    });
    connection.addEventListener(
      loadedQuic().events.EventQUICConnectionClose.name,
      (event: Event) => this.ended((event as QuicEventTypes.EventQUICConnectionClose).detail),
      { once: true },
    );
    // The library reports a close as an error first; the close event above says how it ended.
    connection.addEventListener(loadedQuic().events.EventQUICConnectionError.name, () => undefined);
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

  /**
   * Closes the connection (CONNECTION_CLOSE with an application code); streams are cancelled. With
   * `flushMs`, the writes under way and the streams finished here are first given that long to end
   * both ways (the peer read them and finished its side): QUIC has no FIN behind the data, and a
   * message written just before a close (a logout) is otherwise lost with its stream.
   */
  async close(options: { code?: number; reason?: string; flushMs?: number } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const flushMs = options.flushMs ?? 0;
    if (flushMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.outgoingSettled(), new Promise((resolve) => (timer = setTimeout(resolve, flushMs)))]);
      clearTimeout(timer);
    }
    this.resume(); // a paused read loop must see the streams end, not wait for a resume that never comes
    await this.hooks.destroy({ isApp: true, errorCode: options.code ?? closeCodeNormal, reason: Buffer.from(options.reason ?? '') }).catch(() => undefined);
  }

  /** Resolves once no write is pending and every stream finished here has closed both ways. */
  private async outgoingSettled(): Promise<void> {
    // a write's caller finishes its stream when the write resolves: look again one turn later
    while (this.writing.size > 0 || this.finishing.size > 0) {
      await Promise.allSettled([...this.writing, ...this.finishing]);
      await new Promise((resolve) => setImmediate(resolve));
    }
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

  /** Stops reading every stream (backpressure: QUIC's flow control then stops the peer). */
  pause(): void {
    if (this.readGate !== undefined) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.readGate = { promise, open };
  }

  /** Reads again after `pause`. */
  resume(): void {
    const gate = this.readGate;
    this.readGate = undefined;
    gate?.open();
  }

  isPaused(): boolean {
    return this.readGate !== undefined;
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
    this.resume();
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
    stream.addEventListener(loadedQuic().events.EventQUICStreamError.name, (event: Event) => {
      const error = (event as QuicEventTypes.EventQUICStreamError).detail as Error & { data?: { code?: number } };
      const name = error.constructor.name;
      if (name === 'ErrorQUICStreamPeerWrite') tell('write', error.data?.code ?? 0);
      if (name === 'ErrorQUICStreamPeerRead') tell('read', error.data?.code ?? 0);
    });
    resetSeen.set(stream, tell);
    let finished = false;
    handle = {
      streamId: stream.streamId,
      initiated: stream.initiated,
      write: (data) => {
        const written = writer.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        const settled = written.then(
          () => undefined,
          () => undefined,
        );
        this.writing.add(settled);
        void settled.then(() => this.writing.delete(settled));
        return written;
      },
      finish: async () => {
        if (finished) return;
        finished = true;
        // the exchange is over once the stream closed both ways (the peer read it and finished its side)
        const over = stream.closedP.then(
          () => undefined,
          () => undefined,
        );
        this.finishing.add(over);
        void over.then(() => this.finishing.delete(over));
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
        while (this.readGate !== undefined) await this.readGate.promise;
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
