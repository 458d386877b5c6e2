/**
 * One connection through the QUIC message proxy (quic-proxy.ts): the harness client's QUIC
 * connection, accepted by the proxy, and the proxy's own connection to the target. Each stream one
 * side opens is paired with a stream the proxy opens on the other side when the first message of
 * it is written there; what a stream carries is cut into messages by its own JSON object splitter
 * (the seed's framing: one JSON object per stream write) and goes through the direction's pipe
 * (proxy-pipe.ts), whose sink routes each write to the paired stream of its first message:
 *
 * - several messages merged into one write go on the stream of the first; the streams of the others
 *   are never opened on the far side (their sender's side is finished once nothing of them is left);
 * - a stream's end (FIN) is passed on once none of its messages is left in the pipe (held, delayed,
 *   merging); a stream whose every message was dropped is never opened on the far side;
 * - a stream reset by one side is reset on the other, with its code;
 * - a connection closed by one side is closed on the other once its pipe has delivered what it
 *   holds, with the same application code (0: an orderly close); a reset of the link closes both
 *   with `linkResetCode`.
 */
import { JsonObjectSplitter, type QuicEvent, type QuicPeer, type QuicStreamHandle } from '../../transports/quic-transport.js';
import type { MessageRef, ProxyDirection } from './proxy-choices.js';
import type { Piece, Pipe, PipeSink, PipeSource } from './proxy-pipe.js';

/** The application code a link reset closes both connections with (the harness reads it as a reset). */
export const linkResetCode = 1;

/** How long an orderly close waits for the streams already written to be acknowledged. */
const orderlyFlushMs = 500;

type Side = 'client' | 'target';

interface StreamPair {
  client: QuicStreamHandle | undefined;
  target: QuicStreamHandle | undefined;
  /** per direction: the source side's stream ended (FIN) */
  ended: Record<ProxyDirection, boolean>;
  /** per direction: the end was passed on (or there is nothing to pass it to) */
  finished: Record<ProxyDirection, boolean>;
  splitters: Record<ProxyDirection, JsonObjectSplitter>;
  routes: string[];
}

const sourceOf = (d: ProxyDirection): Side => (d === 'to-target' ? 'client' : 'target');
const destOf = (d: ProxyDirection): Side => (d === 'to-target' ? 'target' : 'client');
const directionFrom = (side: Side): ProxyDirection => (side === 'client' ? 'to-target' : 'from-target');
const routeKey = (ref: MessageRef): string => `${ref.direction}#${ref.index}`;

export class QuicLink {
  target: QuicPeer | undefined;
  readonly pipes = {} as Record<ProxyDirection, Pipe>;
  private readonly pairs = new Map<QuicStreamHandle, StreamPair>();
  private readonly routes = new Map<string, StreamPair>();
  /** writes towards a target not yet connected, in order */
  private backlog: (() => void)[] = [];
  /** how each side closed: passed on to the other once its pipe is empty */
  private readonly closedWith: Partial<Record<Side, { code: number; reason: string }>> = {};
  private done = false;

  constructor(
    readonly connection: number,
    readonly client: QuicPeer,
    private readonly maxMessageBytes: number,
  ) {}

  /** The direction's source, for the pipe's backpressure. */
  source(d: ProxyDirection): PipeSource {
    const peer = (): QuicPeer | undefined => (sourceOf(d) === 'client' ? this.client : this.target);
    return { pause: () => peer()?.pause(), resume: () => peer()?.resume(), isPaused: () => peer()?.isPaused() ?? false };
  }

  /** The direction's sink: each write on the paired stream of its first message. */
  sink(d: ProxyDirection): PipeSink {
    let written = 0;
    return {
      get destroyed() {
        return false;
      },
      get bytesWritten() {
        return written;
      },
      write: (data, pieces) => {
        written += data.length;
        this.whenTarget(d, () => this.write(d, data, pieces));
      },
      drained: (callback) => void setImmediate(callback),
      end: () => this.whenTarget(d, () => this.endSide(destOf(d))),
    };
  }

  /** The target is connected: what waited for it goes now. */
  connected(target: QuicPeer): void {
    this.target = target;
    target.onEvent = (event) => this.onEvent('target', event);
    // one by one: a stream's end waits while a write of it is still in the backlog
    while (this.backlog.length > 0) this.backlog.shift()!();
    this.settle('to-target');
  }

  onEvent(side: Side, event: QuicEvent): void {
    const d = directionFrom(side);
    switch (event.kind) {
      case 'data': {
        const pair = this.pairOf(side, event.stream);
        return this.receive(d, pair, pair.splitters[d].push(event.bytes).map((p) => (p.kind === 'message' ? Buffer.from(p.text, 'utf8') : p.bytes)));
      }
      case 'stream-end': {
        const pair = this.pairOf(side, event.stream);
        pair.ended[d] = true;
        if (pair.splitters[d].hasPartial()) this.receive(d, pair, [Buffer.from(pair.splitters[d].takePartial(), 'utf8')]);
        return this.settle(d);
      }
      case 'stream-reset': {
        const pair = this.pairOf(side, event.stream);
        this.resetPair(pair, event.code);
        return;
      }
      case 'closed':
        this.closedWith[side] = { code: event.isApp && event.code !== undefined ? event.code : event.how === 'peer' ? linkResetCode : 0, reason: event.reason };
        return this.pipes[d].sourceEnded();
    }
  }

  /** The stream a message came on, reset both ways (the message is not delivered). */
  resetStreamOf(ref: MessageRef, code: number): void {
    const pair = this.routes.get(routeKey(ref));
    if (pair !== undefined) this.resetPair(pair, code);
  }

  /** Closes both connections (a reset of the link: code `linkResetCode`; the proxy closing: 0). */
  close(code: number, reason: string): Promise<void> {
    if (this.done) return this.closing;
    this.done = true;
    for (const p of Object.values(this.pipes)) p.stop();
    // an orderly close (code 0) lets what was already written reach its side first
    const flushMs = code === 0 ? orderlyFlushMs : 0;
    this.closing = Promise.all([this.client.close({ code, reason, flushMs }), this.target?.close({ code, reason, flushMs })]).then(() => undefined);
    return this.closing;
  }

  /** both connections' closes, once `close` was called */
  private closing: Promise<void> = Promise.resolve();

  get isDone(): boolean {
    return this.done;
  }

  private whenTarget(d: ProxyDirection, write: () => void): void {
    if (d === 'to-target' && this.target === undefined) this.backlog.push(write);
    else write();
  }

  private receive(d: ProxyDirection, pair: StreamPair, frames: Buffer[]): void {
    if (frames.length === 0) return;
    const pipe = this.pipes[d];
    // the pipe plans and may write at once: the messages' routes are known before
    for (let i = 0; i < frames.length; i++) {
      const key = routeKey({ connection: this.connection, direction: d, index: pipe.nextMessageIndex + i });
      this.routes.set(key, pair);
      pair.routes.push(key);
    }
    pipe.receiveFrames(frames);
  }

  private write(d: ProxyDirection, data: Buffer, pieces: readonly Piece[]): void {
    const pair = pieces.length > 0 ? this.routes.get(routeKey(pieces[0]!.ref)) : undefined;
    if (pair === undefined || this.done) return;
    const stream = this.streamTowards(pair, destOf(d));
    if (stream !== undefined) void stream.write(data).catch(() => undefined);
    this.settle(d);
  }

  /** The pair's stream on `side`, opened when it has none yet. */
  private streamTowards(pair: StreamPair, side: Side): QuicStreamHandle | undefined {
    const known = pair[side];
    if (known !== undefined) return known;
    const peer = side === 'client' ? this.client : this.target;
    if (peer === undefined || !peer.isOpen()) return undefined;
    try {
      const opened = peer.openStream();
      pair[side] = opened;
      this.pairs.set(opened, pair);
      return opened;
    } catch {
      return undefined;
    }
  }

  /** Passes on the end of every stream of direction `d` whose messages have all left the pipe. */
  settle(d: ProxyDirection): void {
    // writes waiting for the target are not yet on a stream
    if (d === 'to-target' && this.backlog.length > 0) return;
    for (const pair of new Set(this.pairs.values())) {
      if (!pair.ended[d] || pair.finished[d]) continue;
      if (this.pipes[d].carries((ref) => this.routes.get(routeKey(ref)) === pair)) continue;
      pair.finished[d] = true;
      const far = pair[destOf(d)];
      if (far !== undefined) void far.finish();
      else {
        // never opened on the far side: nothing comes back on it either
        const reverse: ProxyDirection = d === 'to-target' ? 'from-target' : 'to-target';
        pair.finished[reverse] = true;
        void pair[sourceOf(d)]?.finish();
      }
      if (pair.finished['to-target'] && pair.finished['from-target']) this.forget(pair);
    }
  }

  private pairOf(side: Side, stream: QuicStreamHandle): StreamPair {
    let pair = this.pairs.get(stream);
    if (pair === undefined) {
      const splitter = (): JsonObjectSplitter => new JsonObjectSplitter(this.maxMessageBytes);
      pair = { client: undefined, target: undefined, ended: { 'to-target': false, 'from-target': false }, finished: { 'to-target': false, 'from-target': false }, splitters: { 'to-target': splitter(), 'from-target': splitter() }, routes: [] };
      pair[side] = stream;
      this.pairs.set(stream, pair);
    }
    return pair;
  }

  private resetPair(pair: StreamPair, code: number): void {
    pair.finished['to-target'] = pair.finished['from-target'] = true;
    pair.client?.reset(code);
    pair.target?.reset(code);
    this.forget(pair);
  }

  private forget(pair: StreamPair): void {
    for (const key of pair.routes) this.routes.delete(key);
    for (const side of ['client', 'target'] as const) {
      const s = pair[side];
      if (s !== undefined) this.pairs.delete(s);
    }
  }

  /** The other side closed and its pipe delivered everything: close this side the same way. */
  private endSide(side: Side): void {
    const other: Side = side === 'client' ? 'target' : 'client';
    const how = this.closedWith[other] ?? { code: 0, reason: 'closed' };
    const peer = side === 'client' ? this.client : this.target;
    void peer?.close({ code: how.code, reason: how.reason, flushMs: how.code === 0 ? orderlyFlushMs : 0 });
  }
}
