/**
 * A timed run's network: links (delay, loss, duplication, reordering, FIFO), connections and their
 * epochs, partitions and what they hold back, scripted drop/duplicate rules. What happens to a
 * message when it is written and when it arrives is decided by the kernel's rules (world-rules.ts);
 * the delays and chances are asked of the run's choice source (choice.ts).
 */
import type { NodeId, ProtocolMessage } from '../../models/types.js';
import type { FaultSpec, LinkConfig } from '../config.js';
import type { DropReason } from '../trace.js';
import type { MachineEvent } from './key-cache.js';
import { RunChecks } from './run-checks.js';
import type { DeliverEvent, SimEvent, SimNode } from './run-types.js';
import {
  applyRules,
  arrival,
  isServerRole,
  openAfterDelivery,
  openAfterSend,
  partitionLinks,
  partitionedArrival,
  refusalNotifies,
  ruleOf,
  sendRefusal,
  statusCodes,
  type Connections,
  type MessageRule,
} from './world-rules.js';

/** A directed link of one run: its name, its settings, and when its last message is due (FIFO). */
interface LinkState {
  readonly key: string;
  readonly config: LinkConfig;
  lastDeliveryMs: number;
  /** the connection between the two nodes (one object for both directions) */
  readonly pair: PairState;
}

/**
 * A connection between two nodes: its epoch (a reset or crash ends one; what was in flight in an
 * older epoch is dropped when it arrives) and whether it is open (1 open, 0 closed; for `http`
 * transport, the number of requests awaiting a reply).
 */
interface PairState {
  epoch: number;
  open: number;
}

export abstract class NetworkRun extends RunChecks implements Connections {
  /** by sender, then receiver (two Map reads on the hot path, no key string built) */
  private readonly links = new Map<NodeId, Map<NodeId, LinkState>>();
  /** the connections, by pair name (`a|b`), reached through their links on the hot path */
  private readonly pairs = new Map<string, PairState>();
  private readonly blocked = new Set<string>();
  private readonly held = new Map<string, SimEvent[]>();
  private rules: MessageRule<NodeId>[] = [];
  private readonly http = this.model.variant.transport === 'http';
  private nextMessageId = 1;
  /** nodes crashed without a trace (a refused write to them tells the writer nothing) */
  protected readonly silentlyCrashed = new Set<NodeId>();

  /** Steps a node with an event; `key` is the event's canonical key when the caller has it. */
  protected abstract stepNode(node: SimNode, event: MachineEvent, key?: string): void;

  // ---- delivering -----------------------------------------------------------------------------

  /** TCP retransmits: what arrives on a partitioned FIFO link waits there for the partition to heal. */
  private hold(from: NodeId, to: NodeId, ev: SimEvent): void {
    const lk = this.keys.link(from, to);
    const list = this.held.get(lk) ?? [];
    list.push(ev);
    this.held.set(lk, list);
  }

  /**
   * A connection event (a reset, a FIN, a refusal) travels on its link like data: on a partitioned
   * FIFO link it is held until the heal (the untimed system holds the link's whole queue). Returns
   * whether it was held.
   */
  protected heldByPartition(ev: Extract<SimEvent, { kind: 'conn' }>): boolean {
    if (this.blocked.size === 0 || !this.blocked.has(this.keys.link(ev.peer, ev.node))) return false;
    if (partitionedArrival(this.link(ev.peer, ev.node).fifo) !== 'hold') return false;
    this.hold(ev.peer, ev.node, ev);
    return true;
  }

  protected deliver(ev: DeliverEvent): void {
    const pair = this.linkState(ev.from, ev.to).pair;
    if (pair.epoch !== ev.epoch) {
      this.dropped(ev, 'reset');
      return;
    }
    if (this.blocked.size > 0 && this.blocked.has(this.keys.link(ev.from, ev.to))) {
      if (partitionedArrival(this.link(ev.from, ev.to).fifo) === 'hold') this.hold(ev.from, ev.to, ev);
      else this.dropped(ev, 'partition');
      return;
    }
    const node = this.node(ev.to);
    const fate = arrival(statusCodes[node.status]);
    if (fate === 'wait') {
      node.inbox.push(ev);
      return;
    }
    if (fate !== 'deliver') {
      this.dropped(ev, fate);
      return;
    }
    this.stats.messagesDelivered++;
    if (this.http) {
      pair.open = openAfterDelivery(true, isServerRole(this.node(ev.from).role), pair.open);
    }
    if (this.record) this.trace.push({ k: 'deliver', t: this.now, id: ev.id, from: ev.from, to: ev.to, msg: ev.msg });
    // Updated in place (one object per node, copied into a finding's diagnosis): the hot path.
    const received = node.lastReceived;
    if (received === null) node.lastReceived = { t: this.now, from: ev.from, msg: ev.msg };
    else {
      received.t = this.now;
      received.from = ev.from;
      received.msg = ev.msg;
    }
    this.observe({ kind: 'deliver', from: ev.from, to: ev.to, msg: ev.msg });
    if (this.stopped) return;
    const delivery = this.keys.delivery(ev.msg, ev.from);
    this.stepNode(node, delivery.event, delivery.key);
  }

  private dropped(ev: DeliverEvent, reason: DropReason): void {
    this.stats.messagesDropped++;
    if (this.record) this.trace.push({ k: 'drop', t: this.now, id: ev.id, from: ev.from, to: ev.to, msg: ev.msg, reason });
  }

  // ---- sending --------------------------------------------------------------------------------

  private link(from: NodeId, to: NodeId): LinkConfig {
    return this.linkState(from, to).config;
  }

  private linkState(from: NodeId, to: NodeId): LinkState {
    let byTo = this.links.get(from);
    let state = byTo?.get(to);
    if (state !== undefined) return state;
    let config: LinkConfig = { ...this.config.network.default };
    for (const o of this.config.network.links) {
      if ((o.from === from || o.from === '*') && (o.to === to || o.to === '*')) {
        const { from: _f, to: _t, ...rest } = o;
        config = { ...config, ...rest };
      }
    }
    const pairKey = this.keys.pair(from, to);
    let pair = this.pairs.get(pairKey);
    if (pair === undefined) {
      pair = { epoch: 0, open: 0 };
      this.pairs.set(pairKey, pair);
    }
    state = { key: this.keys.link(from, to), config, lastDeliveryMs: 0, pair };
    if (byTo === undefined) {
      byTo = new Map();
      this.links.set(from, byTo);
    }
    byTo.set(to, state);
    return state;
  }

  send(node: SimNode, to: NodeId, msg: ProtocolMessage): void {
    const id = this.nextMessageId++;
    const from = node.id;
    this.stats.messagesSent++;
    const sent = node.lastSent;
    if (sent === null) node.lastSent = { t: this.now, to, msg };
    else {
      sent.t = this.now;
      sent.to = to;
      sent.msg = msg;
    }
    if (this.record) this.trace.push({ k: 'send', t: this.now, id, from, to, msg });
    const target = this.nodes.get(to);
    const state = this.linkState(from, to);
    const pair = state.pair;
    const link = state.config;
    if (!target) {
      this.dropped({ kind: 'deliver', id, from, to, msg, epoch: 0 }, 'not-started');
      return;
    }
    const open = pair.open;
    const fromServer = isServerRole(node.role);
    const targetStatus = statusCodes[target.status];
    const refused = sendRefusal(open > 0, fromServer, isServerRole(target.role), targetStatus);
    if (refused !== null) {
      this.dropped({ kind: 'deliver', id, from, to, msg, epoch: 0 }, refused);
      if (refusalNotifies(targetStatus, this.silentlyCrashed.has(to))) {
        // The refusal comes back on the link from the target, behind what that link still carries
        // (as in the untimed system, where it joins the link's queue); one delay drawn, as ever.
        this.queue.push(this.connEventAt(this.linkState(to, from), link), { kind: 'conn', node: from, peer: to, event: 'refused', epoch: pair.epoch });
      }
      return;
    }
    const opened = openAfterSend(this.http, fromServer, open);
    pair.open = opened;
    this.carry(state, { kind: 'deliver', id, from, to, msg, epoch: pair.epoch });
  }

  /** A message written on an open connection: scripted rules, then the link's loss and duplication. */
  private carry(state: LinkState, ev: DeliverEvent): void {
    const { id, from, to } = ev;
    const link = state.config;
    // Scripted drop/duplicate faults match first.
    let copies = 1;
    if (this.rules.length > 0) {
      const applied = applyRules(this.rules, from, to, ev.msg.type);
      this.rules = applied.rules;
      copies = applied.copies;
      if (copies === 0) {
        this.dropped(ev, 'fault');
        return;
      }
    }
    if (this.choices.chance('loss', link.lossRatio)) {
      this.dropped(ev, 'loss');
      return;
    }
    if (this.choices.chance('duplicate', link.duplicateRatio)) copies = 2;
    for (let c = 0; c < copies; c++) {
      if (c > 0 && this.record) this.trace.push({ k: 'duplicate', t: this.now, id, copy: c, from, to });
      this.scheduleOnLink(state, c === 0 ? ev : { ...ev });
    }
  }

  /**
   * When a reset or a refusal carried by link `state` arrives: one delay drawn (from `delayOf`'s
   * settings), and on a FIFO link not before what the link already carries (the untimed system
   * queues it behind). No reordering is drawn: the draws are those of a direct event.
   */
  private connEventAt(state: LinkState, delayOf: LinkConfig): number {
    let at = this.now + this.choices.sample('delay', delayOf.delay);
    if (state.config.fifo) {
      if (state.lastDeliveryMs > at) at = state.lastDeliveryMs;
      state.lastDeliveryMs = at;
    }
    return at;
  }

  private scheduleOnLink(state: LinkState, ev: SimEvent): void {
    const link = state.config;
    let at = this.now + this.choices.sample('delay', link.delay);
    if (link.fifo) {
      if (state.lastDeliveryMs > at) at = state.lastDeliveryMs;
      state.lastDeliveryMs = at;
    } else if (this.choices.chance('reorder', link.reorderRatio)) {
      at += this.choices.sample('reorder-delay', link.delay) + 1;
    }
    this.queue.push(at, ev);
  }

  // ---- the connections, as the kernel's rules see them (kernel/world-rules.ts) ----------------

  get nodeCount(): number {
    return this.nodeOrder.length;
  }

  status(i: number): number {
    return statusCodes[this.node(this.nodeOrder[i]!).status];
  }

  isOpen(a: number, b: number): boolean {
    return this.linkState(this.nodeOrder[a]!, this.nodeOrder[b]!).pair.open > 0;
  }

  setClosed(a: number, b: number): void {
    this.linkState(this.nodeOrder[a]!, this.nodeOrder[b]!).pair.open = 0;
  }

  /** The connection's epoch ends: what is in flight on it is dropped when it arrives (`reset`). */
  discardData(a: number, b: number): void {
    this.linkState(this.nodeOrder[a]!, this.nodeOrder[b]!).pair.epoch++;
  }

  notify(to: number, from: number, event: 'reset' | 'closed'): void {
    const toId = this.nodeOrder[to]!;
    const fromId = this.nodeOrder[from]!;
    const epoch = this.linkState(fromId, toId).pair.epoch;
    const ev: SimEvent = { kind: 'conn', node: toId, peer: fromId, event, epoch };
    // A FIN comes after anything already on the link (FIFO); a reset comes when it comes.
    if (event === 'closed') this.scheduleOnLink(this.linkState(fromId, toId), ev);
    else {
      const state = this.linkState(fromId, toId);
      this.queue.push(this.connEventAt(state, state.config), ev);
    }
  }

  // ---- network faults -------------------------------------------------------------------------

  /** A partition: the links it cuts hold (FIFO) or drop what arrives until the heal. */
  protected partition(fault: Extract<FaultSpec, { kind: 'partition' }>): void {
    for (const [a, b] of partitionLinks(fault, (id) => this.indexOf(id))) this.blocked.add(this.keys.link(this.nodeOrder[a]!, this.nodeOrder[b]!));
  }

  /** Every partition heals: what the links held is sent on again, link by link in name order. */
  protected healPartitions(): void {
    this.blocked.clear();
    for (const [, list] of [...this.held.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const ev of list) {
        if (ev.kind === 'deliver') this.scheduleOnLink(this.linkState(ev.from, ev.to), ev);
        else if (ev.kind === 'conn') this.scheduleOnLink(this.linkState(ev.peer, ev.node), ev);
      }
    }
    this.held.clear();
  }

  /** A scripted drop or duplicate rule, matched by the messages sent from now on. */
  protected addRule(fault: Extract<FaultSpec, { kind: 'drop' | 'duplicate' }>): void {
    this.rules = [...this.rules, ruleOf(fault, (id) => id)];
  }

  protected override blockedLinks(): string[] {
    return [...this.blocked].sort();
  }
}
