/**
 * An in-process TCP proxy between the harness and a live target that injects network faults:
 * latency, jitter, a bandwidth limit, slow close, timeout (stop forwarding for good), reset, cut
 * after N bytes, partition and heal (hold, then deliver), and dropping whole messages (codec-aware,
 * through a frame splitter). The faults apply to every connection through this proxy; the harness
 * runs one proxy per client it injects faults for.
 *
 * Memory stays bounded: each direction holds at most `maxHeldBytes`; beyond it the proxy stops
 * reading from that side (TCP backpressure), so a flooding target is slowed, not buffered.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyDirection = 'to-target' | 'from-target';

/** Splits a byte stream into protocol messages, so `drop` removes exactly one. */
export interface FrameSplitter {
  /** Complete frames in order; a partial frame is kept for the next push. */
  push(chunk: Buffer): Buffer[];
  /** Whether a frame counts as a message for `drop` (gob type definitions do not). */
  isMessage?(frame: Buffer): boolean;
}

export interface LinkFaults {
  latencyMs: number;
  jitterMs: number;
  /** 0: unlimited */
  bytesPerSecond: number;
  slowCloseMs: number;
  /** timeout: nothing is forwarded any more, in either direction */
  blackhole: boolean;
  /** partition: held until heal */
  partitioned: boolean;
}

const noFaults: LinkFaults = { latencyMs: 0, jitterMs: 0, bytesPerSecond: 0, slowCloseMs: 0, blackhole: false, partitioned: false };

/** Bytes one direction may hold (delayed, paced or partitioned) before it stops reading. */
export const maxHeldBytes = 1024 * 1024;

/** How long a cut waits after the last forwarded bytes before its RST. */
const resetAfterDataMs = 20;

interface Scheduled {
  data: Buffer;
  atMs: number;
}

/** One direction of one proxied connection. */
class Pipe {
  private queue: Scheduled[] = [];
  private heldBytes = 0;
  private lastReleaseMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private closing = false;
  private readonly splitter: FrameSplitter | undefined;
  /** a message with its own type definitions has passed (dropped or not) */
  private definedBefore = false;

  constructor(
    private readonly proxy: FaultProxy,
    readonly direction: ProxyDirection,
    private readonly source: Socket,
    private readonly dest: Socket,
    splitter: FrameSplitter | undefined,
    private readonly random: () => number,
  ) {
    this.splitter = splitter;
    source.on('data', (chunk: Buffer) => this.receive(chunk));
    source.on('end', () => {
      this.ended = true;
      this.pump();
    });
  }

  private receive(chunk: Buffer): void {
    const faults = this.proxy.faults;
    if (faults.blackhole) return;
    let frames: Buffer[] = [chunk];
    if (this.splitter !== undefined) frames = this.splitter.push(chunk);
    else if (this.proxy.pendingDrops(this.direction) > 0 && chunk.length > 0) frames = [chunk];
    const kept: Buffer[] = [];
    // where the frames that are not messages (gob type definitions) before the next message begin
    let groupStart = 0;
    for (const frame of frames) {
      const counts = this.splitter?.isMessage?.(frame) ?? true;
      if (!counts) {
        kept.push(frame);
        continue;
      }
      const defines = kept.length > groupStart;
      if (this.proxy.takeDrop(this.direction)) {
        // A stream that sends its type definitions again with every message (gob with a new
        // encoder per message, as the seed) loses them with the message: the receiver would
        // otherwise read them twice. A stream that defined its types once keeps them.
        if (defines && this.definedBefore) kept.length = groupStart;
      } else kept.push(frame);
      if (defines) this.definedBefore = true;
      groupStart = kept.length;
    }
    if (kept.length === 0) return;
    // Frames from one read stay in one write, so back-to-back messages stay back to back.
    let data = kept.length === 1 ? kept[0]! : Buffer.concat(kept);
    const cut = this.proxy.cutBudget(this.direction);
    let resetAfter = false;
    if (cut !== undefined && data.length >= cut) {
      data = data.subarray(0, cut);
      resetAfter = true;
    }
    this.proxy.spend(this.direction, data.length);
    const now = performance.now();
    let atMs = now + faults.latencyMs + (faults.jitterMs > 0 ? this.random() * faults.jitterMs : 0);
    atMs = Math.max(atMs, this.lastReleaseMs); // jitter never reorders a byte stream
    // A narrow link: the chunk leaves after the previous one has, taking its own time on the wire.
    if (faults.bytesPerSecond > 0) atMs = Math.max(atMs, this.lastReleaseMs) + (data.length * 1000) / faults.bytesPerSecond;
    this.lastReleaseMs = atMs;
    if (data.length > 0) {
      this.queue.push({ data: Buffer.from(data), atMs });
      this.heldBytes += data.length;
    }
    if (resetAfter) this.queue.push({ data: Buffer.alloc(0), atMs: -1 }); // marker: reset once delivered
    if (this.heldBytes > maxHeldBytes) this.source.pause();
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const faults = this.proxy.faults;
    if (faults.partitioned || faults.blackhole) return;
    const now = performance.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.atMs === -1) {
        this.queue.shift();
        // After what was forwarded has reached the peer: a reset right behind fresh data is seen
        // on Linux as a plain close, not an RST.
        if (this.dest.destroyed || this.dest.bytesWritten === 0) this.proxy.resetConnection(this.source, this.dest);
        else this.dest.write(Buffer.alloc(0), () => setTimeout(() => this.proxy.resetConnection(this.source, this.dest), resetAfterDataMs));
        return;
      }
      if (head.atMs > now) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(head.atMs - now));
        return;
      }
      this.queue.shift();
      this.heldBytes -= head.data.length;
      if (!this.dest.destroyed) this.dest.write(head.data);
    }
    if (this.heldBytes <= maxHeldBytes / 2 && this.source.isPaused()) this.source.resume();
    if (this.ended && !this.closing) {
      this.closing = true;
      const end = (): void => {
        if (!this.dest.destroyed) this.dest.end();
      };
      if (faults.slowCloseMs > 0) setTimeout(end, faults.slowCloseMs);
      else end();
    }
  }

  /** Drops everything held (timeout). */
  discard(): void {
    this.queue = [];
    this.heldBytes = 0;
    if (this.source.isPaused()) this.source.resume();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.queue = [];
  }
}

export interface FaultProxyOptions {
  targetHost: string;
  targetPort: number;
  /** A splitter per direction and connection, so `drop` is codec-aware; none: drop takes whole reads. */
  splitter?: (direction: ProxyDirection) => FrameSplitter | undefined;
  /** Jitter's randomness (seeded by the caller for reproducible runs). */
  random?: () => number;
}

export class FaultProxy {
  faults: LinkFaults = { ...noFaults };
  readonly host = '127.0.0.1';
  port = 0;
  private server: Server | undefined;
  private readonly links = new Set<{ client: Socket; target: Socket; pipes: Pipe[] }>();
  private readonly drops: Record<ProxyDirection, number> = { 'to-target': 0, 'from-target': 0 };
  private readonly cuts: Record<ProxyDirection, number | undefined> = { 'to-target': undefined, 'from-target': undefined };
  /** connections accepted, for reports */
  accepted = 0;
  /** connections the target accepted through this proxy (an exchange with the target) */
  upstreamConnected = 0;
  /** why the last connection to the target failed (ECONNREFUSED...) */
  upstreamError: string | undefined;

  private constructor(private readonly options: FaultProxyOptions) {}

  /** New connections go to this address (the target restarted elsewhere). */
  retarget(host: string, port: number): void {
    this.options.targetHost = host;
    this.options.targetPort = port;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen();
    return proxy;
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
    this.accepted++;
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
    const link = { client, target, pipes: [] as Pipe[] };
    this.links.add(link);
    const random = this.options.random ?? Math.random;
    // Both pipes listen at once, so no byte and no FIN of the client is missed; what is written
    // to the target before it has connected waits in its socket.
    link.pipes.push(new Pipe(this, 'to-target', client, target, this.options.splitter?.('to-target'), random));
    link.pipes.push(new Pipe(this, 'from-target', target, client, this.options.splitter?.('from-target'), random));
    const forget = (): void => {
      if (client.destroyed && target.destroyed) this.links.delete(link);
    };
    // A reset on one side is passed on as a reset; an orderly close by the pipes above.
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

  /** Number of messages still to drop in a direction. */
  pendingDrops(direction: ProxyDirection): number {
    return this.drops[direction];
  }

  takeDrop(direction: ProxyDirection): boolean {
    if (this.drops[direction] === 0) return false;
    this.drops[direction]--;
    return true;
  }

  cutBudget(direction: ProxyDirection): number | undefined {
    return this.cuts[direction];
  }

  spend(direction: ProxyDirection, bytes: number): void {
    const budget = this.cuts[direction];
    if (budget !== undefined) this.cuts[direction] = Math.max(0, budget - bytes);
  }

  resetConnection(a: Socket, b: Socket): void {
    for (const s of [a, b]) if (!s.destroyed) s.resetAndDestroy();
    this.cuts['to-target'] = undefined;
    this.cuts['from-target'] = undefined;
  }

  /** Changes delay, pacing and close faults; held data is rescheduled. */
  set(change: Partial<LinkFaults>): void {
    this.faults = { ...this.faults, ...change };
    if (change.blackhole === true) for (const l of this.links) for (const p of l.pipes) p.discard();
    this.pumpAll();
  }

  /** Drop the next `count` messages in `direction`. */
  drop(direction: ProxyDirection, count: number): void {
    this.drops[direction] += count;
  }

  /** Forward `bytes` more in `direction` (0: none), then reset the connection when more comes. */
  cutAfter(direction: ProxyDirection, bytes: number): void {
    this.cuts[direction] = bytes;
  }

  /** Resets every connection through the proxy now (RST both ways). */
  resetAll(): void {
    for (const l of [...this.links]) this.resetConnection(l.client, l.target);
  }

  heal(): void {
    this.set({ partitioned: false });
  }

  /** Back to a clean link (held data is delivered). */
  clear(): void {
    this.drops['to-target'] = 0;
    this.drops['from-target'] = 0;
    this.cuts['to-target'] = undefined;
    this.cuts['from-target'] = undefined;
    this.set({ ...noFaults });
  }

  private pumpAll(): void {
    for (const l of this.links) for (const p of l.pipes) p.pump();
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
