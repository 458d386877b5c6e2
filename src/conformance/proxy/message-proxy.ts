/**
 * What every message proxy shares, whatever carries its messages (TCP: fault-proxy.ts; QUIC:
 * quic-proxy.ts): the operations set on whole messages and the choice-driven policies (deciding:
 * message-ops.ts, proxy-choices.ts), the held messages and their release, the link faults the pipes
 * carry out, observers and the controller hook (proxy-events.ts). A transport's proxy adds how it
 * accepts and connects, its pipes (proxy-pipe.ts) and how a connection is reset.
 */
import { applyPolicy, MessageRules, planOf, plainPlan, type MessageOp, type MessageOpName, type MessagePlan, type MessagePolicy } from './message-ops.js';
import { maxRecordedDecisions, sourceFor, StreamChooser, type MessageRef, type ProxyChoices, type ProxyDecision, type ProxyDirection } from './proxy-choices.js';
import type { HeldMessage, ProxyController, ProxyEvent, ProxyListener, SeenMessage } from './proxy-events.js';
import type { HeldEntry, LinkFaults, Pipe, PipeHost, Unit } from './proxy-pipe.js';

export const noFaults: LinkFaults = { latencyMs: 0, jitterMs: 0, bytesPerSecond: 0, slowCloseMs: 0, blackhole: false, partitioned: false };

/** Bytes one direction of a connection may hold (held, delayed, paced or partitioned) before it stops reading. */
export const maxHeldBytes = 1024 * 1024;

/** What every message proxy takes. */
export interface MessageProxyOptions {
  /** Jitter's randomness (seeded by the caller for reproducible runs). */
  random?: () => number;
  /** What policies ask (a kernel choice source, or one per stream). */
  choices?: ProxyChoices;
  /** Policies from the start, per direction. */
  policy?: Partial<Record<ProxyDirection, MessagePolicy>>;
  /** A short reading of a message for observers and controllers (a decoder's view). */
  preview?: (direction: ProxyDirection, bytes: Buffer) => string | undefined;
  /** Default `maxHeldBytes` (1 MiB). */
  maxHeldBytes?: number;
}

/** Which messages a message operation takes. */
export interface OpScope {
  /** how many messages (default: until cleared) */
  count?: number;
  /** only this connection's (default: every connection's) */
  connection?: number;
}

/** Which held messages `release` delivers, and in what order. */
export interface ReleaseOptions {
  direction?: ProxyDirection;
  connection?: number;
  /** how many, oldest first (default: all that match) */
  count?: number;
  /** an explicit order: message indices (naming one held message among those that match) or refs */
  order?: readonly (number | MessageRef)[];
}

/** A release names a message that is not held, or an index several held messages share. */
export class ProxyReleaseError extends Error {}

const both: readonly ProxyDirection[] = ['to-target', 'from-target'];
const directionsOf = (d: ProxyDirection | 'both'): readonly ProxyDirection[] => (d === 'both' ? both : [d]);

/** The message operations, policies, held messages and observers of a proxy; its transport's part is abstract. */
export abstract class MessageProxy implements PipeHost {
  faults: LinkFaults = { ...noFaults };
  readonly host = '127.0.0.1';
  port = 0;
  readonly maxHeldBytes: number;
  private readonly rules = new MessageRules();
  private readonly policies: Partial<Record<ProxyDirection, MessagePolicy>>;
  private readonly choosers = new Map<string, StreamChooser>();
  private readonly listeners = new Set<ProxyListener>();
  private controller: ProxyController | undefined;
  private readonly cuts: Record<ProxyDirection, number | undefined> = { 'to-target': undefined, 'from-target': undefined };
  private heldSeq = 0;
  /** every answer the policies were given, in order (up to `maxRecordedDecisions`) */
  readonly decisions: ProxyDecision[] = [];
  /** answers given beyond `maxRecordedDecisions`, not recorded */
  decisionsUnrecorded = 0;
  /** connections accepted, for reports */
  accepted = 0;
  /** connections the target accepted through this proxy (an exchange with the target) */
  upstreamConnected = 0;
  /** why the last connection to the target failed (ECONNREFUSED...) */
  upstreamError: string | undefined;

  protected constructor(private readonly baseOptions: MessageProxyOptions) {
    this.maxHeldBytes = baseOptions.maxHeldBytes ?? maxHeldBytes;
    this.policies = { ...baseOptions.policy };
    for (const d of both) if (this.policies[d] !== undefined) this.requireChoices();
  }

  /** The pipes of every connection now. */
  protected abstract pipes(): Pipe[];

  abstract close(): Promise<void>;

  /**
   * Waits, at most `boundMs`, until no pipe has a message on its way (a delayed write, the next
   * part of a split message, a reorder slot, an open merge): a close then loses none of what a
   * sender wrote before it, as a TCP FIN behind the data would not.
   */
  protected async drainWithin(boundMs: number): Promise<void> {
    const until = performance.now() + boundMs;
    while (this.pipes().some((p) => p.inFlight()) && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  /** New connections go to this address (the target restarted elsewhere). */
  abstract retarget(host: string, port: number): void;

  random(): number {
    return (this.baseOptions.random ?? Math.random)();
  }

  plan(unit: Unit): MessagePlan {
    const seen: SeenMessage = { ...unit.ref, bytes: unit.prefix.length > 0 ? Buffer.concat([unit.prefix, unit.body]) : unit.body };
    if (this.listeners.size > 0 || this.controller !== undefined) {
      const preview = this.baseOptions.preview?.(unit.ref.direction, seen.bytes);
      if (preview !== undefined) seen.preview = preview;
      this.emit({ kind: 'seen', ...seen });
    }
    let plan: MessagePlan;
    if (this.controller?.decide(seen) === 'hold') plan = { ...plainPlan(), hold: true };
    else {
      const decided = planOf(this.rules.take(unit.ref));
      plan = decided.plan;
      const policy = this.policies[unit.ref.direction];
      if (policy !== undefined) applyPolicy(plan, decided.decided, policy, this.chooser(unit.ref), unit.ref);
    }
    if (plan.hold && !plan.drop) this.emit({ kind: 'held', ...unit.ref, bytes: seen.bytes.length, ...(seen.preview !== undefined ? { preview: seen.preview } : {}) });
    return plan;
  }

  emit(event: ProxyEvent): void {
    for (const l of this.listeners) l(event);
  }

  nextHeldSeq(): number {
    return this.heldSeq++;
  }

  cutBudget(direction: ProxyDirection): number | undefined {
    return this.cuts[direction];
  }

  spend(direction: ProxyDirection, bytes: number): void {
    const budget = this.cuts[direction];
    if (budget !== undefined) this.cuts[direction] = Math.max(0, budget - bytes);
  }

  /** Resets the connection `pipe` belongs to, both ways (TCP: RST; QUIC: CONNECTION_CLOSE with an error). */
  abstract resetConnection(pipe: Pipe): void;

  /** Resets every connection through the proxy now. */
  abstract resetAll(): void;

  /** A reset ends the cuts that caused it. */
  protected forgetCuts(): void {
    this.cuts['to-target'] = undefined;
    this.cuts['from-target'] = undefined;
  }

  private chooser(stream: MessageRef): StreamChooser {
    const key = `${stream.connection}/${stream.direction}`;
    let chooser = this.choosers.get(key);
    if (chooser === undefined) {
      const choices = this.requireChoices();
      chooser = new StreamChooser(sourceFor(choices, { connection: stream.connection, direction: stream.direction }), (d) => {
        if (this.decisions.length < maxRecordedDecisions) this.decisions.push(d);
        else this.decisionsUnrecorded++;
      });
      this.choosers.set(key, chooser);
    }
    return chooser;
  }

  private requireChoices(): ProxyChoices {
    if (this.baseOptions.choices === undefined) {
      throw new Error('fault proxy: a message policy asks a choice source; give FaultProxyOptions.choices or QuicProxyOptions.choices (seededChoices(seed), or replayChoices(decisions) to replay)');
    }
    return this.baseOptions.choices;
  }

  // ---- link faults ------------------------------------------------------------------------------

  /** Changes delay, pacing and close faults; held data is rescheduled. */
  set(change: Partial<LinkFaults>): void {
    this.faults = { ...this.faults, ...change };
    if (change.blackhole === true) for (const p of this.pipes()) p.discard();
    this.pumpAll();
  }

  /** Forward `bytes` more in `direction` (0: none), then reset the connection when more comes. */
  cutAfter(direction: ProxyDirection, bytes: number): void {
    this.cuts[direction] = bytes;
  }

  heal(): void {
    this.set({ partitioned: false });
  }

  /** Back to a clean link: no faults, operations or policies; what is held is delivered, oldest first. */
  clear(): void {
    this.rules.clear();
    for (const d of both) delete this.policies[d];
    this.forgetCuts();
    this.set({ ...noFaults });
    this.release();
  }

  // ---- message operations -----------------------------------------------------------------------

  /** Applies `op` to the next `count` messages in `direction` (default: until cleared). */
  apply(direction: ProxyDirection | 'both', op: MessageOp, scope: OpScope = {}): void {
    for (const d of directionsOf(direction)) this.rules.add(d, op, scope.count ?? Infinity, scope.connection);
  }

  hold(direction: ProxyDirection | 'both', scope: OpScope = {}): void {
    this.apply(direction, { op: 'hold' }, scope);
  }

  delay(direction: ProxyDirection | 'both', ms: number, scope: OpScope = {}): void {
    this.apply(direction, { op: 'delay', ms }, scope);
  }

  duplicate(direction: ProxyDirection | 'both', options: OpScope & { copies?: number } = {}): void {
    this.apply(direction, { op: 'duplicate', ...(options.copies !== undefined ? { copies: options.copies } : {}) }, options);
  }

  split(direction: ProxyDirection | 'both', options: OpScope & { parts?: number; gapMs?: number } = {}): void {
    this.apply(direction, { op: 'split', parts: options.parts ?? 2, ...(options.gapMs !== undefined ? { gapMs: options.gapMs } : {}) }, options);
  }

  merge(direction: ProxyDirection | 'both', options: OpScope & { messages?: number; waitMsMax?: number } = {}): void {
    this.apply(direction, { op: 'merge', messages: options.messages ?? 2, ...(options.waitMsMax !== undefined ? { waitMsMax: options.waitMsMax } : {}) }, options);
  }

  reorder(direction: ProxyDirection | 'both', options: OpScope & { overtakenBy?: number; waitMsMax?: number } = {}): void {
    this.apply(direction, { op: 'reorder', overtakenBy: options.overtakenBy ?? 1, ...(options.waitMsMax !== undefined ? { waitMsMax: options.waitMsMax } : {}) }, options);
  }

  /** Drop the next `count` messages in `direction`. */
  drop(direction: ProxyDirection, count: number): void {
    this.rules.add(direction, { op: 'drop' }, count);
  }

  /** Number of messages still to drop in a direction. */
  pendingDrops(direction: ProxyDirection): number {
    return this.rules.pending(direction, 'drop');
  }

  /** Counts one message as dropped (kept for callers of the earlier proxy). */
  takeDrop(direction: ProxyDirection): boolean {
    return this.rules.consume(direction, 'drop');
  }

  /** Ends operations (of one kind, in one direction, or all); what they hold stays held until released. */
  clearMessageOps(direction?: ProxyDirection, op?: MessageOpName): void {
    this.rules.clear(direction, op);
  }

  /** Sets (or, with undefined, ends) the choice-driven policy of a direction. */
  setPolicy(direction: ProxyDirection | 'both', policy: MessagePolicy | undefined): void {
    if (policy !== undefined) this.requireChoices();
    for (const d of directionsOf(direction)) {
      if (policy === undefined) delete this.policies[d];
      else this.policies[d] = policy;
    }
  }

  // ---- held messages ----------------------------------------------------------------------------

  private entries(filter: { direction?: ProxyDirection; connection?: number } = {}): HeldEntry[] {
    const out: HeldEntry[] = [];
    for (const p of this.pipes()) {
      if (filter.direction !== undefined && p.direction !== filter.direction) continue;
      if (filter.connection !== undefined && p.connection !== filter.connection) continue;
      out.push(...p.held);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** The messages held now, oldest first. */
  held(filter: { direction?: ProxyDirection; connection?: number } = {}): HeldMessage[] {
    return this.entries(filter).map((e) => {
      const bytes = Buffer.concat([e.unit.prefix, e.unit.body]);
      const preview = this.baseOptions.preview?.(e.unit.ref.direction, bytes);
      return { ...e.unit.ref, bytes: bytes.length, ...(preview !== undefined ? { preview } : {}) };
    });
  }

  /**
   * Delivers held messages: all that match, oldest first; `count` of them; or those named in
   * `order`, in that order. Returns what it released.
   */
  release(options: ReleaseOptions | number = {}): MessageRef[] {
    const o: ReleaseOptions = typeof options === 'number' ? { count: options } : options;
    const matching = this.entries(o);
    let chosen: HeldEntry[];
    if (o.order !== undefined) chosen = o.order.map((n) => pickHeld(matching, n));
    else chosen = matching.slice(0, o.count ?? matching.length);
    for (const e of chosen) e.pipe.release(e);
    return chosen.map((e) => e.unit.ref);
  }

  /** Resolves with the held messages once at least `count` are held; rejects after `timeoutMs`. */
  whenHeld(count: number, timeoutMs: number, filter: { direction?: ProxyDirection; connection?: number } = {}): Promise<HeldMessage[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.entries(filter).length < count) return false;
        done();
        resolve(this.held(filter));
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fault proxy: ${this.entries(filter).length} of ${count} messages held within timeoutMs=${timeoutMs}`));
      }, timeoutMs);
      const off = this.observe((e) => void (e.kind === 'held' && queueMicrotask(check)));
      const done = (): void => {
        clearTimeout(timer);
        off();
      };
      check();
    });
  }

  // ---- observers and control --------------------------------------------------------------------

  /** Calls `listener` for every event; returns what stops it. */
  observe(listener: ProxyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lets a controller decide about every message first (undefined: no controller). */
  control(controller: ProxyController | undefined): void {
    this.controller = controller;
  }

  /** Bytes held now over every connection, and the most one direction of one connection held at once. */
  bufferedBytes(): { now: number; peakPerStream: number } {
    let now = 0;
    let peakPerStream = 0;
    for (const p of this.pipes()) {
      now += p.buffered();
      peakPerStream = Math.max(peakPerStream, p.peakBufferedBytes);
    }
    return { now, peakPerStream };
  }

  protected pumpAll(): void {
    for (const p of this.pipes()) p.pump();
  }
}

/** The held message `n` names among `matching`: a ref, or an index only one of them has. */
function pickHeld(matching: readonly HeldEntry[], n: number | MessageRef): HeldEntry {
  const found = matching.filter((e) =>
    typeof n === 'number' ? e.unit.ref.index === n : e.unit.ref.index === n.index && e.unit.ref.connection === n.connection && e.unit.ref.direction === n.direction,
  );
  const name = typeof n === 'number' ? `message ${n}` : `message ${n.index} (connection ${n.connection}, ${n.direction})`;
  if (found.length === 0) throw new ProxyReleaseError(`fault proxy: ${name} is not held; held: ${matching.map((e) => `${e.unit.ref.connection}/${e.unit.ref.direction}#${e.unit.ref.index}`).join(', ') || 'none'}`);
  if (found.length > 1) throw new ProxyReleaseError(`fault proxy: ${name} is held on ${found.length} streams; name the direction and connection, or give a ref`);
  return found[0]!;
}
