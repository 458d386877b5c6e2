/**
 * The clients of one `explore --target` schedule: each has its own message proxy (its transport's:
 * TCP, src/conformance/fault-proxy.ts; QUIC, the terminating proxy of proxy/quic-proxy.ts) whose
 * controller holds every message the client sends, a connection through it, and a place in its script. A client writes its next message once the one
 * before was released and the replies settled, and only when the message can be written: a
 * message that names what a reply has not bound yet (`$s2`) waits (the client waits for a reply,
 * it is not waiting to send).
 */
import type { QuicTargetOptions } from '../../scenario/target-address.js';
import { FaultProxy } from '../fault-proxy.js';
import { EncodeError, type LiveCodec } from '../live-codec.js';
import { LiveConnection, QuicLiveConnection, type ConnectionLimits, type HarnessConnection } from '../live-connection.js';
import type { MessageProxy } from '../proxy/message-proxy.js';
import { QuicFaultProxy } from '../proxy/quic-proxy.js';
import { fillTemplate, PatternError, type Captures } from '../message-pattern.js';
import { named, type ScriptItem, type TargetWorkload } from './target-workload.js';

/** How long a written message may take to be held at its proxy (a local write: at once, but under load...). */
export const holdBoundMs = 3000;

/** One explored client. */
export class ExploredClient {
  /** the index of the next script item */
  next = 0;
  /** the message written and held at the proxy, waiting for the explorer's decision */
  held: { wire: unknown; template: unknown } | undefined;
  /** why it does nothing more: killed, it left, its connection closed, or it cannot write */
  gone: string | undefined;
  /** its last message names what no reply bound yet */
  waitingFor: string | undefined;
  /** messages of its script the codec could not carry (passed over) */
  readonly unencodable: string[] = [];
  private closed = false;
  /** its connection was ended (FIN or RST) by the explorer */
  private ended = false;

  private constructor(
    readonly name: string,
    readonly user: number,
    readonly proxy: MessageProxy,
    readonly conn: HarnessConnection,
    private readonly script: readonly ScriptItem[],
  ) {}

  /**
   * A proxy in front of the target that holds every message to it, and a connection through it.
   * Over QUIC (`target.quic`), the client connects to protosim's own proxy without verifying it;
   * the proxy reaches the target as the target says.
   */
  static async open(name: string, user: number, script: readonly ScriptItem[], target: { host: string; port: number; quic?: QuicTargetOptions }, codec: LiveCodec, limits: ConnectionLimits, timeoutMs: number): Promise<ExploredClient> {
    const quic = target.quic;
    const proxy: MessageProxy =
      quic !== undefined
        ? await QuicFaultProxy.start({ targetHost: target.host, targetPort: target.port, quic, maxMessageBytes: limits.maxFrameBytes, connectTimeoutMs: timeoutMs })
        : await FaultProxy.start({ targetHost: target.host, targetPort: target.port, splitter: (direction) => codec.splitter(direction, limits.maxFrameBytes) });
    proxy.control({ decide: (m) => (m.direction === 'to-target' ? 'hold' : 'pass') });
    try {
      const toProxy = { ...(quic?.alpn !== undefined ? { alpn: quic.alpn } : {}), verify: false };
      const conn = quic !== undefined ? await QuicLiveConnection.open(name, proxy.host, proxy.port, toProxy, limits, timeoutMs) : await LiveConnection.open(name, proxy.host, proxy.port, codec, limits, timeoutMs);
      return new ExploredClient(name, user, proxy, conn, script);
    } catch (error) {
      await proxy.close();
      throw error;
    }
  }

  /** What it does next, if anything. */
  get upcoming(): ScriptItem | undefined {
    return this.gone === undefined ? this.script[this.next] : undefined;
  }

  /** It has something for the explorer to decide on: a message held, or a leave. */
  get offering(): boolean {
    return this.gone === undefined && (this.held !== undefined || this.upcoming?.kind === 'leave');
  }

  /** Items of its script it never got to. */
  get unsent(): number {
    return this.script.length - this.next;
  }

  /**
   * Writes its next message (filled from the captures so far) and waits for it to be held. False
   * when it has none to write now, or its proxy did not hold it within `holdBoundMs`. A message the
   * codec cannot carry is passed over (counted in `unencodable`).
   */
  async writeNext(workload: TargetWorkload, codec: LiveCodec, captures: Captures, vars: Readonly<Record<string, unknown>>, renderState: Map<string, unknown>): Promise<boolean> {
    let bytes: Buffer | undefined;
    let wire: unknown;
    let template: unknown;
    while (bytes === undefined) {
      const item = this.upcoming;
      if (this.held !== undefined || item?.kind !== 'send') return false;
      template = named(workload, item.template, this.user);
      try {
        // the generator's hooks render on a copy: what they learn counts once the message is released
        const resolved = workload.hooks?.resolve !== undefined ? workload.hooks.resolve(template, this.user, structuredClone(renderState)) : template;
        wire = fillTemplate(resolved, captures, vars);
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        this.waitingFor = error.message;
        return false;
      }
      this.waitingFor = undefined;
      try {
        bytes = codec.encode(wire);
      } catch (error) {
        if (!(error instanceof EncodeError)) throw error;
        this.unencodable.push(error.message);
        this.next++;
      }
    }
    try {
      await this.conn.write(bytes);
    } catch (error) {
      this.gone = `could not write: ${(error as Error).message}`;
      return false;
    }
    this.held = { wire, template };
    try {
      await this.proxy.whenHeld(1, holdBoundMs, { direction: 'to-target' });
    } catch {
      this.held = undefined;
      this.gone = `its message was not held at its proxy within ${holdBoundMs} ms${this.conn.isClosed ? ' (its connection had closed)' : ''}`;
      return false;
    }
    return true;
  }

  /** Lets its held message go to the target; what it was. */
  release(workload: TargetWorkload, renderState: Map<string, unknown>): unknown {
    const held = this.held!;
    this.proxy.release({ direction: 'to-target' });
    this.held = undefined;
    this.next++;
    workload.hooks?.resolve?.(held.template, this.user, renderState);
    if (workload.hooks?.leaves?.(held.template) === true) this.gone = 'it sent a message that ends its connection';
    return held.wire;
  }

  /** Leaves as its script says (FIN, or RST as a killed client). */
  leave(mode: 'close' | 'reset'): void {
    this.next++;
    this.gone = mode === 'reset' ? 'it left (reset)' : 'it left';
    this.ended = true;
    this.conn.disconnect(mode);
  }

  /** Killed by the explorer: its connection reset both ways at its proxy; a held message is lost. */
  kill(): void {
    this.gone = 'killed';
    this.held = undefined;
    this.ended = true;
    this.proxy.resetAll();
    this.conn.disconnect('reset');
  }

  /**
   * Closes its connection and its proxy: FIN, then up to `waitMs` for the target to close it too;
   * one with a message still held (the FIN would wait behind it) is reset. A connection that was
   * half-closed is never reset afterwards (a TCP handle cannot be reset once shut down).
   */
  async close(waitMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ended && !this.conn.isClosed) {
      this.ended = true;
      if (this.held !== undefined) this.conn.disconnect('reset');
      else {
        this.conn.disconnect('half-close');
        await this.conn.closedWithin(waitMs);
        this.conn.disconnect('close');
      }
    }
    await this.proxy.close();
  }
}
