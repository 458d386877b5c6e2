/**
 * The strings a timed run computes again and again, cached for every run of one compiled model
 * (they were module-level caches without a size limit): the canonical JSON of the events machines
 * receive (the role runtimes' transition-cache key), of messages (pass 2 of a stall), of typed
 * lines, and the names of links (`a>b`) and node pairs (`a|b`).
 *
 * Effects are cached by the role runtimes, so the same message and timer-event objects come back run
 * after run; their keys are computed once rather than on every step. Each cache has a named limit
 * (`CacheLimits`): when it is full, nothing more is cached and each key is computed when asked for.
 * A full cache slows a run down; it never changes what a run does, and never fails.
 */
import type { NodeId, ProtocolMessage } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';

/** An event a machine receives (a message with its sender, a timer's event, a typed line). */
export type MachineEvent = { type: string; [k: string]: unknown };

/** A delivered message as its receiver's machine sees it, with its canonical key. */
export interface DeliveryEvent {
  event: MachineEvent;
  key: string;
}

/**
 * How many entries each cache of a compiled model may hold. The weak caches (keyed by message and
 * event objects) count what they were given, an upper bound of what they hold.
 */
export interface CacheLimits {
  /** each of the caches of event keys, message keys, delivered-message events and typed-line keys */
  maxCachedKeys: number;
  /** link names and pair names, each */
  maxCachedLinkKeys: number;
  /** node views (per node, status and state) */
  maxCachedViews: number;
}

export const defaultCacheLimits: Readonly<CacheLimits> = {
  maxCachedKeys: 100_000,
  maxCachedLinkKeys: 10_000,
  maxCachedViews: 100_000,
};

/** The key caches of one compiled model, shared by its runs. */
export class KeyCache {
  private readonly deliveries = new WeakMap<ProtocolMessage, Map<NodeId, DeliveryEvent>>();
  private readonly events = new WeakMap<object, string>();
  private readonly messages = new WeakMap<ProtocolMessage, string>();
  private readonly inputs = new Map<string, string>();
  private readonly links = new Map<NodeId, Map<NodeId, string>>();
  private readonly pairs = new Map<NodeId, Map<NodeId, string>>();
  private deliveryCount = 0;
  private eventCount = 0;
  private messageCount = 0;
  private linkCount = 0;
  private pairCount = 0;

  constructor(private readonly limits: Readonly<CacheLimits>) {}

  /** The event `msg` from `from` is to its receiver, and its canonical key. */
  delivery(msg: ProtocolMessage, from: NodeId): DeliveryEvent {
    let perFrom = this.deliveries.get(msg);
    let entry = perFrom?.get(from);
    if (entry !== undefined) return entry;
    const event = { ...msg, from };
    entry = { event, key: canonicalJson(event) };
    if (this.deliveryCount < this.limits.maxCachedKeys) {
      this.deliveryCount++;
      if (perFrom === undefined) {
        perFrom = new Map();
        this.deliveries.set(msg, perFrom);
      }
      perFrom.set(from, entry);
    }
    return entry;
  }

  /** The canonical key of an event object (a timer's event). */
  event(event: object): string {
    let key = this.events.get(event);
    if (key === undefined) {
      key = canonicalJson(event);
      if (this.eventCount < this.limits.maxCachedKeys) {
        this.eventCount++;
        this.events.set(event, key);
      }
    }
    return key;
  }

  /** The canonical key of a message. */
  message(msg: ProtocolMessage): string {
    let key = this.messages.get(msg);
    if (key === undefined) {
      key = canonicalJson(msg);
      if (this.messageCount < this.limits.maxCachedKeys) {
        this.messageCount++;
        this.messages.set(msg, key);
      }
    }
    return key;
  }

  /** The canonical key of the event of a typed line. */
  input(text: string): string {
    let key = this.inputs.get(text);
    if (key === undefined) {
      key = canonicalJson({ type: 'user.input', text });
      if (this.inputs.size < this.limits.maxCachedKeys) this.inputs.set(text, key);
    }
    return key;
  }

  /** `from>to`: the name of a directed link. */
  link(from: NodeId, to: NodeId): string {
    let m = this.links.get(from);
    let k = m?.get(to);
    if (k !== undefined) return k;
    k = `${from}>${to}`;
    if (this.linkCount < this.limits.maxCachedLinkKeys) {
      this.linkCount++;
      if (m === undefined) {
        m = new Map();
        this.links.set(from, m);
      }
      m.set(to, k);
    }
    return k;
  }

  /** `a|b` with a < b: the name of a pair of nodes (their connection). */
  pair(a: NodeId, b: NodeId): string {
    let m = this.pairs.get(a);
    let k = m?.get(b);
    if (k !== undefined) return k;
    k = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (this.pairCount < this.limits.maxCachedLinkKeys) {
      this.pairCount++;
      if (m === undefined) {
        m = new Map();
        this.pairs.set(a, m);
      }
      m.set(b, k);
    }
    return k;
  }
}
