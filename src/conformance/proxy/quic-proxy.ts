/**
 * The message proxy of the QUIC transport: a terminating proxy between the harness and a QUIC
 * target. protosim owns both ends (it plays the clients), so the proxy accepts the harness client's
 * QUIC connection with protosim's own self-signed certificate (the client does not verify it) and
 * opens its own QUIC connection to the target with the ALPN, server name and verification the target
 * says (`QuicTargetOptions`). Between the two it sees every message in the clear, cut per stream by
 * the seed's framing (one JSON object per stream write), and offers everything the TCP proxy does
 * (message-proxy.ts, the same code): hold/release, delay, drop, duplicate, reorder, merge several
 * messages into one stream write, split one message across writes, in either direction, choice-driven
 * policies with their decisions recorded, observers and the controller hook; byte-level link faults
 * (bandwidth, cut after N bytes, slow close) apply to the stream writes.
 *
 * QUIC's own: `resetStreams(direction, count)` resets the streams of the next messages both ways
 * instead of delivering them (a message lost with its stream); `resetAll()` closes both connections
 * with `linkResetCode` (the QUIC counterpart of an RST). How streams and closes are passed on:
 * quic-proxy-link.ts. Datagram-level faults (latency, jitter, partition, a timeout) belong to the UDP
 * proxy (udp-proxy.ts), which can sit between this proxy and the target.
 *
 * Connections are numbered from 0 in accept order; a message's index counts the messages of its
 * direction on its connection (every stream together) from 0.
 */
import { readFileSync } from 'node:fs';
import type { QuicTargetOptions } from '../../scenario/target-address.js';
import { connectQuic, defaultQuicLimits, listenQuic, makeSelfSignedCertificate, type QuicCertificate, type QuicListener, type QuicPeer } from '../../transports/quic-transport.js';
import { plainPlan, type MessagePlan } from './message-ops.js';
import { MessageProxy, type MessageProxyOptions } from './message-proxy.js';
import type { ProxyDirection } from './proxy-choices.js';
import type { ProxyEvent } from './proxy-events.js';
import { Pipe, type Unit } from './proxy-pipe.js';
import { linkResetCode, QuicLink } from './quic-proxy-link.js';

export { linkResetCode } from './quic-proxy-link.js';

export interface QuicProxyOptions extends MessageProxyOptions {
  targetHost: string;
  targetPort: number;
  /** How to reach the target: ALPN (also what the proxy accepts), server name, verification, CA file. */
  quic?: QuicTargetOptions;
  /** No connection to the target within this long closes the client's (default 5000). */
  connectTimeoutMs?: number;
  /** Longest message (one JSON object) the proxy cuts; longer ones pass as they came. */
  maxMessageBytes?: number;
}

/** The longest a close waits for messages still on their way through the proxy. */
const closeDrainMs = 1000;

/** The application code a reset stream gets (`resetStreams`). */
export const streamResetCode = 2;

let sharedCertificate: Promise<QuicCertificate> | undefined;

export class QuicFaultProxy extends MessageProxy {
  private listener: QuicListener | undefined;
  private readonly links = new Map<number, QuicLink>();
  private readonly streamResets: Record<ProxyDirection, number> = { 'to-target': 0, 'from-target': 0 };
  private readonly ca: string | undefined;
  private closed = false;

  private constructor(private readonly options: QuicProxyOptions) {
    super(options);
    if (options.quic?.ca !== undefined) this.ca = readFileSync(options.quic.ca, 'utf8');
  }

  static async start(options: QuicProxyOptions): Promise<QuicFaultProxy> {
    const proxy = new QuicFaultProxy(options);
    // one certificate for every proxy of the process: made once, never verified by the harness
    sharedCertificate ??= makeSelfSignedCertificate();
    proxy.listener = await listenQuic({ certificate: await sharedCertificate, rawStreams: true, ...(options.quic?.alpn !== undefined ? { alpn: options.quic.alpn } : {}) }, (peer) => proxy.accept(peer));
    proxy.port = proxy.listener.port;
    return proxy;
  }

  /** New connections go to this address (the target restarted elsewhere). */
  override retarget(host: string, port: number): void {
    this.options.targetHost = host;
    this.options.targetPort = port;
  }

  /** The next `count` messages in `direction` are not delivered: their streams are reset, both ways. */
  resetStreams(direction: ProxyDirection, count = 1): void {
    this.streamResets[direction] += count;
  }

  /** Closes every connection through the proxy now, both ways, with `linkResetCode`. */
  resetAll(): void {
    for (const link of this.links.values()) this.resetLink(link);
  }

  resetConnection(pipe: Pipe): void {
    const link = this.links.get(pipe.connection);
    if (link !== undefined) this.resetLink(link);
  }

  override plan(unit: Unit): MessagePlan {
    const d = unit.ref.direction;
    if (this.streamResets[d] > 0) {
      this.streamResets[d]--;
      this.links.get(unit.ref.connection)?.resetStreamOf(unit.ref, streamResetCode);
      return { ...plainPlan(), drop: true };
    }
    return super.plan(unit);
  }

  override emit(event: ProxyEvent): void {
    super.emit(event);
    // a message that leaves without a write may let its stream's end go on
    if (event.kind === 'dropped') this.links.get(event.connection)?.settle(event.direction);
  }

  protected pipes(): Pipe[] {
    return [...this.links.values()].flatMap((l) => Object.values(l.pipes));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // QUIC has no FIN behind the data: what is still on its way (a split message's last part, a
    // delayed write) goes first, so a logout written just before the close reaches the target
    await this.drainWithin(closeDrainMs);
    // awaited: the target has the close before the next case (on the same address) logs in again
    const closing = [...this.links.values()].map((link) => link.close(0, 'proxy closing'));
    this.links.clear();
    await Promise.all(closing);
    await this.listener?.close();
  }

  private resetLink(link: QuicLink): void {
    void link.close(linkResetCode, 'reset by the fault proxy');
    this.links.delete(link.connection);
    this.forgetCuts();
  }

  private accept(client: QuicPeer): void {
    if (this.closed) return void client.close({ code: linkResetCode, reason: 'proxy closing' });
    const connection = this.accepted++;
    const link = new QuicLink(connection, client, this.options.maxMessageBytes ?? defaultQuicLimits.maxMessageBytes);
    for (const d of ['to-target', 'from-target'] as const) link.pipes[d] = new Pipe(this, connection, d, link.source(d), link.sink(d), undefined);
    this.links.set(connection, link);
    client.onEvent = (event) => link.onEvent('client', event);
    void client.closed().then(() => this.forgetWhenDone(link));
    void this.connectUpstream(link);
  }

  private async connectUpstream(link: QuicLink): Promise<void> {
    const quic = this.options.quic ?? {};
    let target: QuicPeer;
    try {
      target = await connectQuic(this.options.targetHost, this.options.targetPort, {
        ...(quic.alpn !== undefined ? { alpn: quic.alpn } : {}),
        ...(quic.serverName !== undefined ? { serverName: quic.serverName } : {}),
        ...(quic.verify !== undefined ? { verify: quic.verify } : {}),
        ...(this.ca !== undefined ? { ca: this.ca } : {}),
        connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
        rawStreams: true,
      });
    } catch (error) {
      this.upstreamError = (error as Error).message;
      void link.close(linkResetCode, 'the target could not be reached');
      this.links.delete(link.connection);
      return;
    }
    // the client may have gone (and the link been forgotten) while the proxy was still connecting:
    // the target must not be left with a connection nobody uses
    if (link.isDone || this.closed || !this.links.has(link.connection) || !link.client.isOpen()) return void target.close({ code: 0, reason: 'proxy closing' });
    this.upstreamConnected++;
    link.connected(target);
    void target.closed().then(() => this.forgetWhenDone(link));
  }

  /** A link whose two connections have both ended is forgotten. */
  private forgetWhenDone(link: QuicLink): void {
    if (link.client.isOpen() || link.target?.isOpen() === true) return;
    for (const p of Object.values(link.pipes)) p.stop();
    this.links.delete(link.connection);
  }
}
