/**
 * An in-process UDP proxy between the harness and a QUIC target: the QUIC transport's link faults.
 * QUIC encrypts every packet, so the proxy cannot see protocol messages: its "messages" are
 * datagrams, and QUIC recovers from what it does to them (a dropped datagram is sent again, a
 * duplicate is discarded, a reordered one is put back in order). What the protocol sees is delay.
 *
 * The decisions are the TCP proxy's (message-ops.ts, proxy-choices.ts, proxy-events.ts) over
 * datagrams: `drop`, `delay`, `duplicate`, `reorder` and `hold`/`release` per direction, for the
 * next `count` datagrams or until cleared; policies (loss, duplicate, reorder ratios and a delay
 * distribution) asked of a kernel choice source per datagram, every answer recorded in `decisions`
 * and replayable with `replayChoices`; observers see every datagram seen, held, released, dropped
 * and written. `split` and `merge` do not exist for datagrams (a datagram is one QUIC packet) and
 * are refused; the QUIC message proxy (quic-proxy.ts) splits and merges messages, on QUIC streams,
 * and can sit in front of this proxy.
 *
 * Link faults: latency and jitter (jitter reorders, as UDP may), partition (datagrams held, both
 * ways, and delivered in order at `heal`), blackhole (everything dropped: a timeout).
 *
 * A flow is one client address; flows are numbered from 0 in the order their first datagram came
 * (as connections are in the TCP proxy), each with its own socket towards the target. Limits:
 * `maxFlows` flows, `maxHeldDatagrams` held (partition or hold) per proxy; beyond it datagrams are
 * dropped, as a full router queue drops them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { applyPolicy, MessageRules, planOf, type MessageOp, type MessagePolicy } from './message-ops.js';
import { maxRecordedDecisions, sourceFor, StreamChooser, type MessageRef, type ProxyChoices, type ProxyDecision, type ProxyDirection } from './proxy-choices.js';
import type { ProxyEvent, ProxyListener } from './proxy-events.js';
import { PrngChoices } from '../../sim/kernel/choice.js';

export interface UdpLinkFaults {
  latencyMs: number;
  jitterMs: number;
  /** datagrams held both ways until `heal` */
  partitioned: boolean;
  /** every datagram dropped */
  blackhole: boolean;
}

export interface UdpProxyOptions {
  targetHost: string;
  targetPort: number;
  choices?: ProxyChoices;
  policy?: Partial<Record<ProxyDirection, MessagePolicy>>;
  /** jitter's randomness */
  random?: () => number;
  maxFlows?: number;
  maxHeldDatagrams?: number;
}

/** An operation datagrams cannot take (split, merge). */
export class UdpProxyOpError extends Error {}

export const defaultMaxFlows = 64;
/** How long a closing proxy keeps forwarding after it flushed what it held (the target's answers to it). */
export const closeFlushMs = 100;
export const defaultMaxHeldDatagrams = 10_000;

interface Flow {
  index: number;
  address: string;
  port: number;
  upstream: Socket;
  sent: Record<ProxyDirection, number>;
  choosers: Partial<Record<ProxyDirection, StreamChooser>>;
  /** datagrams waiting to be overtaken, per direction */
  waiting: Record<ProxyDirection, { bytes: Buffer; ref: MessageRef; remaining: number; timer: NodeJS.Timeout; copies: number }[]>;
  heardFromTarget: boolean;
}

interface Held {
  flow: Flow;
  ref: MessageRef;
  bytes: Buffer;
  /** held by a partition (delivered at heal) or by a hold operation (delivered at release) */
  by: 'partition' | 'hold';
}

export class UdpFaultProxy {
  readonly host = '127.0.0.1';
  port = 0;
  faults: UdpLinkFaults = { latencyMs: 0, jitterMs: 0, partitioned: false, blackhole: false };
  /** every answer the policies were given */
  readonly decisions: ProxyDecision[] = [];
  /** datagrams dropped because a limit was reached (maxFlows, maxHeldDatagrams) */
  limitDrops = 0;
  private readonly rules = new MessageRules();
  private readonly policies: Partial<Record<ProxyDirection, MessagePolicy>>;
  private readonly flows = new Map<string, Flow>();
  private readonly held: Held[] = [];
  /** delayed sends, each with its send, so a close can flush them */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly listeners = new Set<ProxyListener>();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private options: UdpProxyOptions,
  ) {
    this.policies = { ...options.policy };
    socket.on('message', (bytes, from) => this.fromClient(bytes, from.address, from.port));
    socket.on('error', () => undefined);
  }

  static async start(options: UdpProxyOptions): Promise<UdpFaultProxy> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const proxy = new UdpFaultProxy(socket, options);
    proxy.port = socket.address().port;
    return proxy;
  }

  /** A target restarted elsewhere: datagrams go there from now on (the flows' QUIC connections do not survive it). */
  retarget(host: string, port: number): void {
    this.options = { ...this.options, targetHost: host, targetPort: port };
  }

  /** Flows that got a datagram back from the target. */
  get upstreamConnected(): number {
    return [...this.flows.values()].filter((f) => f.heardFromTarget).length;
  }

  set(faults: Partial<UdpLinkFaults>): void {
    this.faults = { ...this.faults, ...faults };
    if (this.faults.partitioned === false) this.deliverHeld('partition');
  }

  /** Ends the partition and the blackhole; held datagrams go out in the order they came. */
  heal(): void {
    this.set({ partitioned: false, blackhole: false });
  }

  /** One operation on the next `count` datagrams of a direction (or both), until cleared without one. */
  apply(direction: ProxyDirection | 'both', op: MessageOp, scope: { count?: number; connection?: number } = {}): void {
    if (op.op === 'split' || op.op === 'merge') {
      throw new UdpProxyOpError(`${op.op} does not apply to datagrams (a datagram is one QUIC packet, encrypted): split and merge messages with the QUIC message proxy (quic-proxy.ts) instead`);
    }
    for (const d of direction === 'both' ? (['to-target', 'from-target'] as const) : [direction]) this.rules.add(d, op, scope.count ?? Infinity, scope.connection);
  }

  setPolicy(direction: ProxyDirection, policy: MessagePolicy): void {
    if ((policy.splitRatio ?? 0) > 0 || (policy.mergeRatio ?? 0) > 0) throw new UdpProxyOpError('split and merge ratios do not apply to datagrams');
    this.policies[direction] = policy;
  }

  clearMessageOps(direction?: ProxyDirection): void {
    this.rules.clear(direction);
  }

  /** Held datagrams (by `hold`), oldest first. */
  heldDatagrams(): MessageRef[] {
    return this.held.filter((h) => h.by === 'hold').map((h) => h.ref);
  }

  /** Delivers datagrams held by `hold`, oldest first (`count` of them, default all). */
  release(count = Infinity): MessageRef[] {
    const out: MessageRef[] = [];
    for (const h of this.held.filter((x) => x.by === 'hold').slice(0, count)) {
      this.held.splice(this.held.indexOf(h), 1);
      this.emit({ kind: 'released', ...h.ref });
      this.write(h.flow, h.ref, h.bytes, 0);
      out.push(h.ref);
    }
    return out;
  }

  observe(listener: ProxyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Closes the proxy. What it still delays, holds or keeps waiting goes out first, both ways: a
   * client's CONNECTION_CLOSE written just before must reach the target, as a TCP proxy's close
   * ends the target's connection.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.faults = { latencyMs: 0, jitterMs: 0, partitioned: false, blackhole: false };
    for (const [timer, send] of this.timers) {
      clearTimeout(timer);
      send();
    }
    this.timers.clear();
    for (const h of this.held.splice(0)) this.write(h.flow, h.ref, h.bytes, 0);
    for (const flow of this.flows.values()) for (const d of ['to-target', 'from-target'] as const) for (const w of [...flow.waiting[d]]) this.unwait(flow, d, w);
    await new Promise((resolve) => setTimeout(resolve, closeFlushMs));
    this.closed = true;
    for (const [timer] of this.timers) clearTimeout(timer);
    for (const flow of this.flows.values()) {
      for (const list of Object.values(flow.waiting)) for (const w of list) clearTimeout(w.timer);
      flow.upstream.close();
    }
    this.flows.clear();
    this.held.length = 0;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private fromClient(bytes: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const key = `${address}:${port}`;
    let flow = this.flows.get(key);
    if (flow === undefined) {
      if (this.flows.size >= (this.options.maxFlows ?? defaultMaxFlows)) {
        this.limitDrops++;
        return;
      }
      flow = this.openFlow(address, port);
      this.flows.set(key, flow);
    }
    this.forward(flow, 'to-target', bytes);
  }

  private openFlow(address: string, port: number): Flow {
    const upstream = createSocket('udp4');
    const flow: Flow = { index: this.flows.size, address, port, upstream, sent: { 'to-target': 0, 'from-target': 0 }, choosers: {}, waiting: { 'to-target': [], 'from-target': [] }, heardFromTarget: false };
    upstream.on('error', () => undefined);
    upstream.on('message', (bytes) => {
      flow.heardFromTarget = true;
      this.forward(flow, 'from-target', bytes);
    });
    upstream.bind(0, '127.0.0.1');
    return flow;
  }

  private chooser(flow: Flow, direction: ProxyDirection): StreamChooser {
    const known = flow.choosers[direction];
    if (known !== undefined) return known;
    const source = this.options.choices !== undefined ? sourceFor(this.options.choices, { connection: flow.index, direction }) : new PrngChoices(flow.index * 2 + (direction === 'to-target' ? 1 : 2));
    const made = new StreamChooser(source, (decision) => {
      if (this.decisions.length < maxRecordedDecisions) this.decisions.push(decision);
    });
    flow.choosers[direction] = made;
    return made;
  }

  /** One datagram's fate: the link faults, then the operations and the policy. */
  private forward(flow: Flow, direction: ProxyDirection, bytes: Buffer): void {
    if (this.closed) return;
    const ref: MessageRef = { connection: flow.index, direction, index: flow.sent[direction]++ };
    this.emit({ kind: 'seen', ...ref, bytes });
    if (this.faults.blackhole) return this.emit({ kind: 'dropped', ...ref });
    if (this.faults.partitioned) return this.keep({ flow, ref, bytes, by: 'partition' });
    const { plan, decided } = planOf(this.rules.take(ref));
    const policy = this.policies[direction];
    if (policy !== undefined) applyPolicy(plan, decided, policy, this.chooser(flow, direction), ref);
    if (plan.drop) return this.emit({ kind: 'dropped', ...ref });
    if (plan.hold) return this.keep({ flow, ref, bytes, by: 'hold' });
    this.overtake(flow, direction);
    if (plan.reorderOvertakenBy > 0) {
      const entry = { bytes, ref, remaining: plan.reorderOvertakenBy, copies: plan.copies, timer: undefined as unknown as NodeJS.Timeout };
      entry.timer = setTimeout(() => this.unwait(flow, direction, entry), plan.reorderWaitMsMax);
      flow.waiting[direction].push(entry);
      return;
    }
    for (let copy = 0; copy < plan.copies; copy++) this.write(flow, ref, bytes, plan.delayMs, copy);
  }

  /** A datagram passed: those waiting to be overtaken count it, and go once overtaken enough. */
  private overtake(flow: Flow, direction: ProxyDirection): void {
    for (const entry of [...flow.waiting[direction]]) if (--entry.remaining <= 0) this.unwait(flow, direction, entry);
  }

  private unwait(flow: Flow, direction: ProxyDirection, entry: Flow['waiting'][ProxyDirection][number]): void {
    const list = flow.waiting[direction];
    const at = list.indexOf(entry);
    if (at === -1) return;
    list.splice(at, 1);
    clearTimeout(entry.timer);
    // after the datagram that overtook it has gone out
    for (let copy = 0; copy < entry.copies; copy++) this.write(flow, entry.ref, entry.bytes, 1, copy);
  }

  private keep(h: Held): void {
    if (this.held.length >= (this.options.maxHeldDatagrams ?? defaultMaxHeldDatagrams)) {
      this.limitDrops++;
      return this.emit({ kind: 'dropped', ...h.ref });
    }
    this.held.push(h);
    this.emit({ kind: 'held', ...h.ref, bytes: h.bytes.length });
  }

  private deliverHeld(by: Held['by']): void {
    for (const h of this.held.filter((x) => x.by === by)) {
      this.held.splice(this.held.indexOf(h), 1);
      this.emit({ kind: 'released', ...h.ref });
      this.write(h.flow, h.ref, h.bytes, 0);
    }
  }

  /** Sends after the operation's delay plus the link's latency and jitter. */
  private write(flow: Flow, ref: MessageRef, bytes: Buffer, delayMs: number, copy = 0): void {
    const jitter = this.faults.jitterMs > 0 ? (this.options.random ?? Math.random)() * this.faults.jitterMs : 0;
    const ms = delayMs + this.faults.latencyMs + jitter;
    const send = (): void => {
      if (this.closed) return;
      if (ref.direction === 'to-target') flow.upstream.send(bytes, this.options.targetPort, this.options.targetHost);
      else this.socket.send(bytes, flow.port, flow.address);
      this.emit({ kind: 'written', ...ref, copy, part: 0, parts: 1, bytes: bytes.length });
    };
    if (ms <= 0) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, ms);
    this.timers.set(timer, send);
  }

  private emit(event: ProxyEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
