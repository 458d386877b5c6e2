/**
 * One direction of one proxied connection: it splits what it reads into messages, asks its host
 * what to do with each (a plan), and carries the plan out with the link's byte-level faults
 * (latency, jitter, bandwidth, partition, cut, slow close) on the way to the peer. What it reads
 * from and writes to is a `PipeSource` and a `PipeSink`: a TCP socket (fault-proxy.ts), or the
 * streams of a QUIC connection (quic-proxy.ts), whose sink routes each write by its messages.
 *
 * A message is held in one of four places until it is written: the held list (until released),
 * a reorder slot (until overtaken), the open merge (until complete) or the write queue (until its
 * time). All four count towards the host's `maxHeldBytes`; beyond it the pipe stops reading its
 * source (TCP backpressure), and reads again below half of it.
 */
import type { Socket } from 'node:net';
import { splitBytes, type MessagePlan } from './message-ops.js';
import type { MessageRef, ProxyDirection } from './proxy-choices.js';
import type { ProxyEvent } from './proxy-events.js';

/** Splits a byte stream into protocol messages, so message operations take exactly one. */
export interface FrameSplitter {
  /** Complete frames in order; a partial frame is kept for the next push. */
  push(chunk: Buffer): Buffer[];
  /** Whether a frame counts as a message (gob type definitions do not: they go with the next one). */
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

/** A message: the frames that are not messages before it (gob type definitions), then its own. */
export interface Unit {
  ref: MessageRef;
  prefix: Buffer;
  body: Buffer;
}

/** Where a pipe reads: it stops reading when too much is held (backpressure). */
export interface PipeSource {
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

/** Where a pipe writes. */
export interface PipeSink {
  readonly destroyed: boolean;
  /** bytes written so far */
  readonly bytesWritten: number;
  /** One write; `pieces` are the messages (or parts of them) in it, in order. */
  write(data: Buffer, pieces: readonly Piece[]): void;
  /** Calls back once what was written before has been handed on. */
  drained(callback: () => void): void;
  /** No more writes (TCP: FIN). */
  end(): void;
}

/** A TCP socket as a pipe's sink. */
export function socketSink(socket: Socket): PipeSink {
  return {
    get destroyed() {
      return socket.destroyed;
    },
    get bytesWritten() {
      return socket.bytesWritten;
    },
    write: (data) => void socket.write(data),
    drained: (callback) => void socket.write(Buffer.alloc(0), callback),
    end: () => void socket.end(),
  };
}

/** What the pipe needs of its proxy. */
export interface PipeHost {
  readonly faults: LinkFaults;
  readonly maxHeldBytes: number;
  random(): number;
  /** What to do with a message (emits `seen` and asks controller, operations and policy). */
  plan(unit: Unit): MessagePlan;
  emit(event: ProxyEvent): void;
  /** A number for each held message, increasing across the proxy, so release can go oldest first. */
  nextHeldSeq(): number;
  cutBudget(direction: ProxyDirection): number | undefined;
  spend(direction: ProxyDirection, bytes: number): void;
  /** Resets the connection the pipe belongs to (both ways). */
  resetConnection(pipe: Pipe): void;
}

/** A message, or a part or copy of one, in a write. */
export interface Piece {
  ref: MessageRef;
  copy: number;
  part: number;
  parts: number;
  bytes: number;
}

interface Write {
  data: Buffer;
  atMs: number;
  pieces: Piece[];
  /** the read whose plain messages may join this write (one read stays one write); -1: none */
  joinRead: number;
  /** reset the connection once what came before is delivered */
  reset?: true;
}

export interface HeldEntry {
  seq: number;
  unit: Unit;
  plan: MessagePlan;
  pipe: Pipe;
}

interface ReorderSlot {
  unit: Unit;
  plan: MessagePlan;
  remaining: number;
  timer: NodeJS.Timeout;
}

interface OpenMerge {
  parts: Buffer[];
  pieces: Piece[];
  remaining: number;
  delayMs: number;
  timer: NodeJS.Timeout;
}

/** How long a cut waits after the last forwarded bytes before its RST. */
const resetAfterDataMs = 20;

export class Pipe {
  private queue: Write[] = [];
  private queueBytes = 0;
  readonly held: HeldEntry[] = [];
  private heldBytes = 0;
  private reordered: ReorderSlot[] = [];
  private merge: OpenMerge | undefined;
  private slotBytes = 0;
  private lastReleaseMs = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private ended = false;
  private closing = false;
  private stopped = false;
  private nextIndex = 0;
  private reads = 0;
  /** a message with its own type definitions has passed (dropped or not) */
  private definedBefore = false;
  /** the most bytes this pipe has held at once, for reports and the backpressure test */
  peakBufferedBytes = 0;

  constructor(
    private readonly host: PipeHost,
    readonly connection: number,
    readonly direction: ProxyDirection,
    private readonly source: PipeSource,
    private readonly dest: PipeSink,
    private readonly splitter: FrameSplitter | undefined,
  ) {}

  /** The source ended (TCP: FIN; QUIC: its connection closed): what waits for followers goes now. */
  sourceEnded(): void {
    this.ended = true;
    this.flushReordered();
    this.flushMerge();
    this.pump();
  }

  /** The index the next message read gets. */
  get nextMessageIndex(): number {
    return this.nextIndex;
  }

  /** Whether a message that `matches` is still somewhere in the pipe (held, reordered, merging or queued). */
  carries(matches: (ref: MessageRef) => boolean): boolean {
    return (
      this.held.some((e) => matches(e.unit.ref)) ||
      this.reordered.some((s) => matches(s.unit.ref)) ||
      (this.merge?.pieces.some((p) => matches(p.ref)) ?? false) ||
      this.queue.some((w) => w.pieces.some((p) => matches(p.ref)))
    );
  }

  /**
   * Whether something is still on its way: queued behind a delay or a split part's pause, waiting
   * in a reorder slot or an open merge. Held messages (released only when told) and a partitioned
   * or blackholed link do not count: nothing moves them by itself.
   */
  inFlight(): boolean {
    const faults = this.host.faults;
    if (this.stopped || faults.partitioned || faults.blackhole) return false;
    return this.queue.length > 0 || this.reordered.length > 0 || this.merge !== undefined;
  }

  /** Bytes held in this pipe (held, reordered, merging, queued). */
  buffered(): number {
    return this.queueBytes + this.heldBytes + this.slotBytes;
  }

  /** One read of the source: cut into frames by the splitter (none: the read is one frame). */
  receive(chunk: Buffer): void {
    if (this.host.faults.blackhole || this.stopped) return;
    this.receiveFrames(this.splitter !== undefined ? this.splitter.push(chunk) : [chunk]);
  }

  /** One read of the source, already cut into frames (QUIC: by a splitter per stream). */
  receiveFrames(frames: readonly Buffer[]): void {
    if (this.host.faults.blackhole || this.stopped) return;
    this.reads++;
    let prefix: Buffer[] = [];
    for (const frame of frames) {
      if (!(this.splitter?.isMessage?.(frame) ?? true)) {
        prefix.push(frame);
        continue;
      }
      const ref: MessageRef = { connection: this.connection, direction: this.direction, index: this.nextIndex++ };
      this.accept({ ref, prefix: Buffer.concat(prefix), body: Buffer.from(frame) });
      prefix = [];
    }
    // Frames that are not messages at the end of a read (type definitions alone) pass as they are.
    if (prefix.length > 0) this.enqueue(Buffer.concat(prefix), [], 0, this.reads);
    this.flow();
    this.pump();
  }

  private accept(unit: Unit): void {
    const plan = this.host.plan(unit);
    const defines = unit.prefix.length > 0;
    if (plan.drop) {
      // A stream that sends its type definitions again with every message (gob with a new
      // encoder per message, as the seed) loses them with the message: the receiver would
      // otherwise read them twice. A stream that defines its types once keeps them.
      if (defines && !this.definedBefore) this.enqueue(unit.prefix, [], 0, this.reads);
      this.host.emit({ kind: 'dropped', ...unit.ref });
    } else if (plan.hold) {
      this.held.push({ seq: this.host.nextHeldSeq(), unit, plan: { ...plan, hold: false }, pipe: this });
      this.heldBytes += size(unit);
    } else this.dispatch(unit, plan);
    if (defines) this.definedBefore = true;
  }

  /** Delivers a held message now (with the rest of its plan). */
  release(entry: HeldEntry): void {
    const at = this.held.indexOf(entry);
    if (at === -1) return;
    this.held.splice(at, 1);
    this.heldBytes -= size(entry.unit);
    this.host.emit({ kind: 'released', ...entry.unit.ref });
    this.dispatch(entry.unit, entry.plan);
    this.pump();
  }

  private dispatch(unit: Unit, plan: MessagePlan): void {
    if (plan.reorderOvertakenBy > 0) {
      const slot: ReorderSlot = { unit, plan: { ...plan, reorderOvertakenBy: 0 }, remaining: plan.reorderOvertakenBy, timer: undefined! };
      slot.timer = this.later(() => this.releaseReordered(slot), plan.reorderWaitMsMax);
      this.reordered.push(slot);
      this.slotBytes += size(unit);
      return;
    }
    this.deliver(unit, plan);
    // This message has overtaken the ones reordered before it.
    for (const slot of [...this.reordered]) if (--slot.remaining <= 0) this.releaseReordered(slot);
  }

  private releaseReordered(slot: ReorderSlot): void {
    const at = this.reordered.indexOf(slot);
    if (at === -1) return;
    this.reordered.splice(at, 1);
    this.cancel(slot.timer);
    this.slotBytes -= size(slot.unit);
    this.dispatch(slot.unit, slot.plan);
    this.pump();
  }

  private flushReordered(): void {
    for (const slot of [...this.reordered]) this.releaseReordered(slot);
  }

  /** Writes a message's copies: into the open merge, as a new merge, in parts, or as they are. */
  private deliver(unit: Unit, plan: MessagePlan): void {
    const copies: Buffer[] = [];
    for (let c = 0; c < plan.copies; c++) copies.push(c === 0 ? Buffer.concat([unit.prefix, unit.body]) : unit.body);
    const piece = (copy: number, part = 0, parts = 1): Piece => ({ ref: unit.ref, copy, part, parts, bytes: copies[copy]!.length });
    if (this.merge !== undefined || plan.mergeMessages > 1) {
      if (this.merge === undefined) {
        const merge: OpenMerge = { parts: [], pieces: [], remaining: plan.mergeMessages, delayMs: plan.delayMs, timer: this.later(() => this.flushMerge(), plan.mergeWaitMsMax) };
        this.merge = merge;
      }
      const merge = this.merge;
      copies.forEach((bytes, c) => {
        merge.parts.push(bytes);
        merge.pieces.push(piece(c));
        this.slotBytes += bytes.length;
      });
      if (--merge.remaining <= 0) this.flushMerge();
      return;
    }
    copies.forEach((bytes, c) => {
      if (plan.splitParts <= 1) {
        this.enqueue(bytes, [piece(c)], plan.delayMs, plan.delayMs === 0 ? this.reads : -1);
        return;
      }
      const parts = splitBytes(bytes, plan.splitParts);
      parts.forEach((part, p) => {
        const gap = p === 0 ? plan.delayMs : plan.splitGapMs;
        this.enqueue(part, [{ ...piece(c, p, parts.length), bytes: part.length }], gap, -1, p > 0);
      });
    });
  }

  private flushMerge(): void {
    const merge = this.merge;
    if (merge === undefined) return;
    this.merge = undefined;
    this.cancel(merge.timer);
    const data = Buffer.concat(merge.parts);
    this.slotBytes -= data.length;
    this.enqueue(data, merge.pieces, merge.delayMs, -1);
    this.pump();
  }

  /**
   * Schedules bytes for the peer. `extraMs` is added to the link's latency, or, `afterPrevious`,
   * to the time of the write before (a split message's gap). A TCP stream keeps order: no write
   * leaves before the one queued before it.
   */
  private enqueue(bytes: Buffer, pieces: Piece[], extraMs: number, joinRead: number, afterPrevious = false): void {
    let data = bytes;
    const cut = this.host.cutBudget(this.direction);
    const reset = cut !== undefined && data.length >= cut;
    if (reset) data = data.subarray(0, cut);
    this.host.spend(this.direction, data.length);
    const tail = this.queue[this.queue.length - 1];
    const faults = this.host.faults;
    if (data.length > 0 && joinRead !== -1 && tail !== undefined && tail.joinRead === joinRead && tail.reset === undefined) {
      // Frames from one read stay in one write, so back-to-back messages stay back to back.
      tail.data = Buffer.concat([tail.data, data]);
      tail.pieces.push(...pieces);
      if (faults.bytesPerSecond > 0) tail.atMs += (data.length * 1000) / faults.bytesPerSecond;
      this.lastReleaseMs = Math.max(this.lastReleaseMs, tail.atMs);
    } else if (data.length > 0) {
      const now = performance.now();
      let atMs = afterPrevious ? this.lastReleaseMs + extraMs : now + faults.latencyMs + extraMs + (faults.jitterMs > 0 ? this.host.random() * faults.jitterMs : 0);
      atMs = Math.max(atMs, this.lastReleaseMs); // jitter never reorders a byte stream
      // A narrow link: the chunk leaves after the previous one has, taking its own time on the wire.
      if (faults.bytesPerSecond > 0) atMs = Math.max(atMs, this.lastReleaseMs) + (data.length * 1000) / faults.bytesPerSecond;
      this.lastReleaseMs = atMs;
      this.queue.push({ data: Buffer.from(data), atMs, pieces, joinRead });
    }
    this.queueBytes += data.length;
    if (reset) this.queue.push({ data: Buffer.alloc(0), atMs: 0, pieces: [], joinRead: -1, reset: true });
  }

  pump(): void {
    if (this.pumpTimer !== undefined) {
      this.cancel(this.pumpTimer);
      this.pumpTimer = undefined;
    }
    const faults = this.host.faults;
    if (faults.partitioned || faults.blackhole || this.stopped) return;
    const now = performance.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.reset === true) {
        this.queue.shift();
        this.resetBehind();
        return;
      }
      if (head.atMs > now) {
        this.pumpTimer = this.later(() => this.pump(), Math.ceil(head.atMs - now));
        return;
      }
      this.queue.shift();
      this.queueBytes -= head.data.length;
      if (!this.dest.destroyed) this.dest.write(head.data, head.pieces);
      for (const p of head.pieces) this.host.emit({ kind: 'written', ...p.ref, copy: p.copy, part: p.part, parts: p.parts, bytes: p.bytes });
    }
    this.flow();
    this.endWhenDone();
  }

  /** A reset after what was forwarded has reached the peer: right behind fresh data, Linux shows a plain close, not an RST. */
  private resetBehind(): void {
    if (this.dest.destroyed || this.dest.bytesWritten === 0) this.host.resetConnection(this);
    else this.dest.drained(() => this.later(() => this.host.resetConnection(this), resetAfterDataMs));
  }

  /** The source's FIN is passed on once nothing of it is held any more. */
  private endWhenDone(): void {
    if (!this.ended || this.closing || this.buffered() > 0 || this.held.length > 0) return;
    this.closing = true;
    const end = (): void => {
      if (!this.dest.destroyed) this.dest.end();
    };
    if (this.host.faults.slowCloseMs > 0) this.later(end, this.host.faults.slowCloseMs);
    else end();
  }

  /** Stops reading above `maxHeldBytes`, reads again below half of it. */
  flow(): void {
    const buffered = this.buffered();
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, buffered);
    if (buffered > this.host.maxHeldBytes) this.source.pause();
    else if (buffered <= this.host.maxHeldBytes / 2 && this.source.isPaused() && !this.stopped) this.source.resume();
  }

  /** Drops everything held (timeout). */
  discard(): void {
    for (const slot of this.reordered) this.cancel(slot.timer);
    if (this.merge !== undefined) this.cancel(this.merge.timer);
    for (const e of this.held) this.host.emit({ kind: 'dropped', ...e.unit.ref });
    this.queue = [];
    this.held.length = 0;
    this.reordered = [];
    this.merge = undefined;
    this.queueBytes = this.heldBytes = this.slotBytes = 0;
    this.flow();
  }

  /** Ends every timer and forgets what is held (the proxy is closing). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pumpTimer = undefined;
    this.queue = [];
    this.held.length = 0;
    this.reordered = [];
    this.merge = undefined;
    this.queueBytes = this.heldBytes = this.slotBytes = 0;
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

function size(unit: Unit): number {
  return unit.prefix.length + unit.body.length;
}
