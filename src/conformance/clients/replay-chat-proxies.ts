/**
 * The proxies of a chat replay on client programs: one fault proxy (../fault-proxy.ts, the one TCP
 * proxy) between each program and protosim's reference server, holding every message both ways
 * until the replay lets it through. Each message is read with the program's codec (one decoder per
 * stream, in stream order) and named by its effect (the package's `clientReplay`). What a release
 * lets through to a program goes in one write: the proxy's merge, flushed as soon as the release is
 * done.
 */
import type { ClientReplayMapping } from '../../models/live-types.js';
import type { ProtocolMessage } from '../../models/types.js';
import { FaultProxy, type MessageRef, type ProxyEvent } from '../fault-proxy.js';
import type { LiveCodec, StreamDecoder } from '../live-codec.js';
import { defaultConnectionLimits } from '../live-connection.js';

/** The first message a decoder reads in `bytes`; undefined when it reads none or throws (bytes it cannot make sense of). */
function pushed(decoder: StreamDecoder, bytes: Buffer): { kind: 'message'; msg: unknown } | undefined {
  try {
    const out = decoder.push(bytes).find((d) => d.kind === 'message');
    return out?.kind === 'message' ? out : undefined;
  } catch {
    return undefined;
  }
}

/** A message between a program and the server, as the model reads it. */
export interface ProxiedMessage {
  node: string;
  ref: MessageRef;
  /** from the program to the server */
  toServer: boolean;
  msg: ProtocolMessage;
  effect: string;
  /** the proxy wrote it on (to the server or to the program) */
  written?: boolean;
  /** when the proxy read it (performance.now()) */
  seenAtMs: number;
  /** when the proxy wrote it on */
  writtenAtMs?: number;
}

/** One entry of a program's conversation (`ChatProxies.conversation`). */
export interface ConversationEntry {
  sent: boolean;
  msg: ProtocolMessage;
  atMs: number;
}

/** Everything released in one go is written as one: no message count ends the merge, its wait (0 ms) does. */
const oneWrite = { messages: Number.MAX_SAFE_INTEGER, waitMsMax: 0 };

const max = defaultConnectionLimits.maxFrameBytes;

const keyOf = (r: MessageRef): string => `${r.connection}/${r.direction}/${r.index}`;

export class ChatProxies {
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly decoders = new Map<string, StreamDecoder>();
  private readonly messages = new Map<string, ProxiedMessage>();
  private readonly held = new Map<string, ProxiedMessage[]>();
  private readonly sentBy = new Map<string, ProxiedMessage[]>();
  private readonly writtenTo = new Map<string, ProxiedMessage[]>();

  constructor(
    private readonly serverPort: number,
    private readonly codec: LiveCodec,
    private readonly mapping: ClientReplayMapping,
    private readonly onHeld: (m: ProxiedMessage) => void,
    private readonly onChange: () => void,
    /** a program's message, as soon as the proxy has read it (before it is held) */
    private readonly onSent: (m: ProxiedMessage) => void = () => undefined,
  ) {}

  /** The port `node`'s program connects to: its proxy's. */
  async portFor(node: string): Promise<number> {
    let proxy = this.proxies.get(node);
    if (proxy === undefined) {
      proxy = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: this.serverPort, splitter: (direction) => this.codec.splitter(direction, max) });
      proxy.hold('both');
      proxy.merge('from-target', oneWrite);
      proxy.observe((e) => this.onEvent(node, e));
      this.proxies.set(node, proxy);
    }
    return proxy.port;
  }

  private onEvent(node: string, e: ProxyEvent): void {
    const key = `${node}/${keyOf(e)}`;
    if (e.kind === 'seen') {
      const msg = this.decode(node, e, e.bytes);
      const m: ProxiedMessage = { node, ref: { connection: e.connection, direction: e.direction, index: e.index }, toServer: e.direction === 'to-target', msg, effect: this.mapping.effect(msg), seenAtMs: performance.now() };
      this.messages.set(key, m);
      if (m.toServer) {
        this.listOf(this.sentBy, node).push(m);
        queueMicrotask(() => this.onSent(m)); // before it is held (the proxy says so next)
      }
      return;
    }
    const m = this.messages.get(key);
    if (m === undefined) return;
    if (e.kind === 'held') {
      if (!m.toServer) this.listOf(this.held, node).push(m);
      // the proxy puts it in its held list right after saying so
      queueMicrotask(() => this.onHeld(m));
    } else if (e.kind === 'released') {
      const list = this.listOf(this.held, node);
      if (list.includes(m)) list.splice(list.indexOf(m), 1);
    } else if (e.kind === 'written' && e.copy === 0 && e.part === e.parts - 1) {
      m.written = true;
      m.writtenAtMs = performance.now();
      if (!m.toServer) this.listOf(this.writtenTo, node).push(m);
      this.onChange();
    }
  }

  /**
   * The message in `bytes`, read by the stream's decoder; else by a fresh one (the types sent again
   * with it), else by one that learnt the codec's types from a message of its own (gob type
   * definitions that came in a read of their own pass the proxy unseen).
   */
  private decode(node: string, ref: MessageRef, bytes: Buffer): ProtocolMessage {
    const stream = `${node}/${ref.connection}/${ref.direction}`;
    const side = ref.direction === 'to-target' ? 'request' : 'reply';
    const tries = [(): StreamDecoder => this.decoders.get(stream) ?? this.codec.decoder(max, side), (): StreamDecoder => this.codec.decoder(max, side), (): StreamDecoder => this.primed()];
    for (const make of tries) {
      const decoder = make();
      const out = pushed(decoder, bytes);
      if (out === undefined) continue;
      this.decoders.set(stream, decoder);
      const msg = this.mapping.messageOfWire(out.msg);
      if (msg !== null) return msg;
    }
    return { type: `(unreadable ${this.codec.name} message of ${bytes.length} bytes)` } as ProtocolMessage;
  }

  /** A decoder that has read one message of the codec's own (its type definitions, for gob). */
  private primed(): StreamDecoder {
    const decoder = this.codec.decoder(max);
    try {
      decoder.push(this.codec.encode({}));
    } catch {
      // a codec that cannot encode an empty message needs no priming
    }
    return decoder;
  }

  private listOf(map: Map<string, ProxiedMessage[]>, node: string): ProxiedMessage[] {
    let list = map.get(node);
    if (list === undefined) map.set(node, (list = []));
    return list;
  }

  /** The server's messages held for `node`'s program, in the order the server wrote them. */
  heldFor(node: string): ProxiedMessage[] {
    return [...(this.held.get(node) ?? [])].sort((a, b) => a.ref.connection - b.ref.connection || a.ref.index - b.ref.index);
  }

  /** How many connections `node`'s program has opened to its proxy (a program up and connected opened one more). */
  connections(node: string): number {
    return this.proxies.get(node)?.accepted ?? 0;
  }

  sent(node: string): readonly ProxiedMessage[] {
    return this.sentBy.get(node) ?? [];
  }

  written(node: string): readonly ProxiedMessage[] {
    return this.writtenTo.get(node) ?? [];
  }

  /**
   * `m`'s program's conversation on `m`'s connection before `m`: what it sent before (in its
   * order) and what was written to it before the proxy read `m` (all it can have read), by time.
   */
  conversation(m: ProxiedMessage): ConversationEntry[] {
    const same = (x: ProxiedMessage): boolean => x.ref.connection === m.ref.connection;
    const sent = this.sent(m.node).filter((x) => same(x) && x.ref.index < m.ref.index).map((x) => ({ sent: true, msg: x.msg, atMs: x.seenAtMs }));
    const written = this.written(m.node).filter((x) => same(x) && (x.writtenAtMs ?? Infinity) <= m.seenAtMs).map((x) => ({ sent: false, msg: x.msg, atMs: x.writtenAtMs! }));
    // at one instant, what was written goes first: the program may have read it
    return [...sent, ...written].sort((a, b) => a.atMs - b.atMs || Number(a.sent) - Number(b.sent));
  }

  /** Lets `messages` of `node`'s link through (to the program: in one write). */
  release(node: string, messages: readonly ProxiedMessage[]): void {
    const proxy = this.proxies.get(node);
    if (proxy === undefined || messages.length === 0) return;
    const held = new Set(proxy.held().map(keyOf));
    proxy.release({ order: messages.filter((m) => held.has(keyOf(m.ref))).map((m) => m.ref) });
  }

  /** The schedule is over: nothing is held any more, and what was goes now (to each program in one write). */
  releaseAll(): void {
    for (const proxy of this.proxies.values()) {
      proxy.clearMessageOps();
      proxy.release({});
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close().catch(() => undefined)));
  }
}
