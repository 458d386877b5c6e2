/**
 * An in-process TCP proxy between the harness and a live target: the one proxy of the TCP
 * transport (issue 14, item 0). Link faults, message operations, choice-driven policies and a
 * controller hook all apply here; fuzzing and schedule control use this proxy and add none.
 *
 * Link faults, on the byte stream, every connection (`set`, `heal`, `cutAfter`, `resetAll`):
 * latency, jitter, a bandwidth limit, slow close, timeout (`blackhole`: nothing forwarded any more),
 * partition and heal (hold, then deliver), cut after N bytes then RST, reset now.
 *
 * Message operations, on whole protocol messages (cut by the codec's `FrameSplitter`; without one,
 * each read is a message), per direction (`to-target`, `from-target` or `both`), for the next
 * `count` messages or, without a count, until cleared; `connection` limits one to one connection:
 *
 *     proxy.hold(direction, { count?, connection? })            kept until release
 *     proxy.release(countOrOptions?): MessageRef[]              oldest first, or { order: [indices | refs] }
 *     proxy.delay(direction, ms, { count?, connection? })       written ms later (what follows waits too: TCP keeps order)
 *     proxy.duplicate(direction, { copies?, count?, ... })      delivered 1 + copies times
 *     proxy.split(direction, { parts?, gapMs?, count?, ... })   one message as `parts` writes, gapMs apart
 *     proxy.merge(direction, { messages?, waitMsMax?, ... })    `messages` messages in one write
 *     proxy.reorder(direction, { overtakenBy?, waitMsMax?, ... }) passed by the next overtakenBy messages
 *     proxy.drop(direction, count)                              never delivered
 *     proxy.apply(direction, op: MessageOp, { count?, connection? })  any of the above as data
 *     proxy.clearMessageOps(direction?, op?)                    held messages stay held
 *
 * Operations of one kind queue up (a second `drop(d, 1)` drops the message after the first's);
 * operations of different kinds combine on one message. A merge that is open takes the messages
 * that follow whole (they are not split); a merge or a reorder waiting for messages that do not
 * come goes out after its `waitMsMax`, or at once when the sender closes. gob type definitions
 * travel with the message after them; a dropped message takes them along only when the stream
 * repeats them with every message.
 *
 * Choice-driven policies (`options.choices` and `setPolicy(direction, MessagePolicy)`): loss,
 * duplicate, reorder, split and merge ratios and a delay distribution, asked of a kernel
 * `ChoiceSource` per message in a fixed order; every answer is recorded in `decisions`
 * (purpose, connection, direction, message index, value), and `replayChoices(decisions)` gives the
 * same decisions again through `ControlledChoices`, stream by stream. `seededChoices(seed)` gives
 * one PRNG per stream, so a stream's draws do not depend on how the streams interleave.
 *
 * Observers and control: `observe(listener)` sees every message (`seen`, with its bytes and the
 * `preview` option's reading), `held`, `released`, `dropped` and every piece `written`;
 * `control({ decide })` decides before operations and policy, so a schedule explorer can hold every
 * message, wait for them (`whenHeld`), look at them (`held()`) and release them in its order.
 *
 * Connections are numbered from 0 in accept order; a message's index counts its stream's messages
 * from 0. Memory stays bounded: each direction of a connection holds at most `maxHeldBytes` (held,
 * reordered, merging and delayed bytes together); beyond it the proxy stops reading from that side
 * (TCP backpressure), so a flooding peer is slowed, not buffered.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { MessageProxy, type MessageProxyOptions } from './proxy/message-proxy.js';
import type { ProxyDirection } from './proxy/proxy-choices.js';
import { Pipe, socketSink, type FrameSplitter } from './proxy/proxy-pipe.js';

export type { FrameSplitter, LinkFaults } from './proxy/proxy-pipe.js';
export type { MessageOp, MessageOpName, MessagePolicy } from './proxy/message-ops.js';
export type { MessageRef, ProxyChoices, ProxyDecision, ProxyDirection, StreamRef } from './proxy/proxy-choices.js';
export { replayChoices, seededChoices, maxRecordedDecisions } from './proxy/proxy-choices.js';
export type { HeldMessage, ProxyController, ProxyEvent, ProxyListener, SeenMessage } from './proxy/proxy-events.js';
export { maxHeldBytes, MessageProxy, ProxyReleaseError, type MessageProxyOptions, type OpScope, type ReleaseOptions } from './proxy/message-proxy.js';

export interface FaultProxyOptions extends MessageProxyOptions {
  targetHost: string;
  targetPort: number;
  /** A splitter per direction and connection, so message operations are codec-aware; none: a read is a message. */
  splitter?: (direction: ProxyDirection) => FrameSplitter | undefined;
}

interface Link {
  client: Socket;
  target: Socket;
  pipes: Pipe[];
}

export class FaultProxy extends MessageProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();

  private constructor(private readonly options: FaultProxyOptions) {
    super(options);
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen();
    return proxy;
  }

  /** New connections go to this address (the target restarted elsewhere). */
  override retarget(host: string, port: number): void {
    this.options.targetHost = host;
    this.options.targetPort = port;
  }

  private listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: 0 }, () => {
        const address = server.address();
        this.port = typeof address === 'object' && address !== null ? address.port : 0;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    const connection = this.accepted++;
    client.on('error', () => undefined);
    if (this.faults.blackhole) {
      // A timed-out link: the connection is accepted and nothing ever comes back.
      client.on('data', () => undefined);
      this.links.add({ client, target: client, pipes: [] });
      return;
    }
    const target = connect({ host: this.options.targetHost, port: this.options.targetPort, allowHalfOpen: true, noDelay: true });
    target.on('error', (error) => (this.upstreamError = error.message));
    target.once('connect', () => this.upstreamConnected++);
    const link: Link = { client, target, pipes: [] };
    this.links.add(link);
    // Both pipes listen at once, so no byte and no FIN of the client is missed; what is written
    // to the target before it has connected waits in its socket.
    for (const [direction, source, dest] of [['to-target', client, target], ['from-target', target, client]] as const) {
      const pipe = new Pipe(this, connection, direction, source, socketSink(dest), this.options.splitter?.(direction));
      source.on('data', (chunk: Buffer) => pipe.receive(chunk));
      source.on('end', () => pipe.sourceEnded());
      link.pipes.push(pipe);
    }
    const forget = (): void => {
      if (!client.destroyed || !target.destroyed) return;
      for (const p of link.pipes) p.stop();
      this.links.delete(link);
    };
    // A reset on one side is passed on as a reset; an orderly close by the pipes.
    target.on('close', (hadError) => {
      if (hadError && !client.destroyed) client.resetAndDestroy();
      else if (!client.destroyed && target.readableEnded && client.writableEnded) client.destroy();
      forget();
    });
    client.on('close', (hadError) => {
      if (hadError && !target.destroyed) target.resetAndDestroy();
      forget();
    });
  }

  /** RST both ways on the connection `pipe` belongs to. */
  resetConnection(pipe: Pipe): void {
    const link = [...this.links].find((l) => l.pipes.includes(pipe));
    if (link !== undefined) this.resetSockets(link.client, link.target);
  }

  /** Resets every connection through the proxy now (RST both ways). */
  resetAll(): void {
    for (const l of [...this.links]) this.resetSockets(l.client, l.target);
  }

  private resetSockets(a: Socket, b: Socket): void {
    for (const s of [a, b]) if (!s.destroyed) s.resetAndDestroy();
    this.forgetCuts();
  }

  protected pipes(): Pipe[] {
    return [...this.links].flatMap((l) => l.pipes);
  }

  async close(): Promise<void> {
    for (const l of this.links) {
      for (const p of l.pipes) p.stop();
      l.client.destroy();
      l.target.destroy();
    }
    this.links.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
