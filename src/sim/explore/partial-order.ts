/**
 * Partial-order reduction for the exhaustive explorer: in a state, an ample set of events that is
 * enough to explore instead of every enabled one (Peled's conditions, as Spin applies them per
 * process): all the enabled events of one node `p`, when
 *
 *  - C1 (persistence): no sequence of other nodes' events can enable another event of `p` or
 *    conflict with one of its events before `p` acts. Other nodes touch `p` only through what
 *    they send it (appended to their link to `p`), the connection counts of their pairs, and the
 *    statuses `p`'s sends read. So: no link into `p` that is empty may get a message (its sender
 *    is not known to send to `p` — spontaneously, or as a reply to a request of `p` still on its
 *    way), no pair `p`'s events touch is touched by the peer, and no peer `p` sends to can change
 *    its status (it is finished, or its machine has no final state). Faults are out of the
 *    picture: the reduction applies only in states from which no fault can happen any more.
 *  - C2 (invisibility): none of `p`'s events changes what the checks see: the parts of `p`'s node
 *    view that state invariants or history properties have read (view-fields.ts, path by path:
 *    `context.myNo`, not all of `context`; while neither reads the messages in flight), its stall
 *    flags, progress, or any monitor state (every observation it makes is neutral, see
 *    `Monitors.neutral`). A property that reads `p`'s view when another node's observation steps
 *    it makes those parts visible too, so an ample event of `p` never changes what such a step
 *    reads (it would not commute with it).
 *  - C3 (the cycle proviso) is the search's: a state with an ample edge that may close a cycle of
 *    states explored by their ample sets alone is expanded fully (cycle-proviso.ts), so every
 *    cycle of the reduced graph has a fully expanded state.
 *
 * Who may send to whom is learned from the node steps computed (`NodeLocals.talks`): every
 * enabled node event's step is computed here, so a reduced search that never meets a new pair
 * has met every pair a full one would; a search that does meet one starts over (exhaustive.ts).
 */
import type { AnyStateMachine } from 'xstate';
import { DONE, RUNNING } from '../kernel/world-rules.js';
import type { ChannelStore } from './channel-store.js';
import type { Invariants } from './invariants.js';
import type { Monitors } from './monitors.js';
import type { NodeLocals } from './node-locals.js';
import type { NodeViews } from './node-views.js';
import { E_DELIVER, E_INPUT, E_TIMER, K_BLOCKED, K_FAULTS, K_RULES, K_SCRIPT, N_DELIVER, N_INPUT, N_QUIT, N_TIMER, type Layout, type Local } from './untimed-model.js';
import type { Topology } from './untimed-topology.js';
import type { ViewFields } from './view-fields.js';

/** The parts of the untimed system the reduction reads. */
export interface ReductionParts {
  layout: Layout;
  topology: Topology;
  http: boolean;
  nodes: NodeLocals;
  store: ChannelStore;
  views: NodeViews;
  monitors: Monitors;
  invariants: Invariants;
  fields: ViewFields;
  faultBudget: number;
  scriptedFaults: number;
}

export class PartialOrder {
  private readonly n: number;
  private readonly p: ReductionParts;
  private readonly locals: Local[][];
  /** per node: its machine has a final state (so its status may still change to done) */
  private readonly mayFinish: boolean[];
  /** per node: the enabled events of the node (indices into the enumeration), and their count */
  private readonly byNode: Int32Array[];
  private readonly counts: Int32Array;
  /** per node: whether the candidate's events touch its pair with that node */
  private readonly touches: Uint8Array;
  /** the candidate nodes found by `candidates`, fewest events first */
  private readonly chosen: Int32Array;

  constructor(parts: ReductionParts) {
    this.p = parts;
    this.n = parts.layout.nodes;
    this.locals = parts.nodes.locals;
    this.mayFinish = parts.nodes.runtimes.map((r) => hasFinalState(r.machine));
    this.byNode = Array.from({ length: this.n }, () => new Int32Array(64));
    this.counts = new Int32Array(this.n);
    this.touches = new Uint8Array(this.n);
    this.chosen = new Int32Array(this.n);
  }

  /**
   * Finds the nodes whose enabled events form an ample set among the `count` enabled events of
   * `vec` (C1 and C2 above), fewest events first, and returns how many (0: every event must be
   * explored); `candidate(c, out)` then gives the events of the c-th. `nonFault`: how many of the
   * events are not faults (the enumeration puts faults last).
   */
  candidates(vec: Int32Array, events: Int32Array, count: number, nonFault: number): number {
    if (count < 2 || nonFault !== count || !this.quiet(vec)) return 0;
    const n = this.n;
    const counts = this.counts;
    counts.fill(0);
    for (let k = 0; k < count; k++) {
      const node = this.nodeOf(events[k]!);
      if (node < 0) return 0;
      let list = this.byNode[node]!;
      if (counts[node]! >= list.length) {
        list = Int32Array.from({ length: list.length * 2 }, (_, x) => list[x] ?? 0);
        this.byNode[node] = list;
      }
      list[counts[node]!++] = k;
    }
    // Every enabled event's step is computed (learning who talks to whom) before one is chosen.
    let found = 0;
    for (let node = 0; node < n; node++) {
      const c = counts[node]!;
      if (c === 0 || c === count || this.locals[node]![vec[node]!]!.status !== RUNNING) continue;
      if (!this.qualifies(vec, events, node)) continue;
      // insertion by size, then node order
      let at = found++;
      while (at > 0 && counts[this.chosen[at - 1]!]! > c) {
        this.chosen[at] = this.chosen[at - 1]!;
        at--;
      }
      this.chosen[at] = node;
    }
    return found;
  }

  /** Writes the indices (ascending) of the events of candidate c into `out`; returns how many. */
  candidate(c: number, out: Int32Array): number {
    const node = this.chosen[c]!;
    const list = this.byNode[node]!;
    for (let x = 0; x < this.counts[node]!; x++) out[x] = list[x]!;
    return this.counts[node]!;
  }

  /** No fault can happen from `vec` on, every node has started and none is crashed or paused, and invariants read only node views. */
  private quiet(vec: Int32Array): boolean {
    const { store, faultBudget, scriptedFaults, topology, invariants, monitors } = this.p;
    if (topology.anyLossy || !invariants.viewsOnly || monitors.readNetwork) return false;
    if (store.mget(vec, K_SCRIPT) < scriptedFaults || store.mget(vec, K_FAULTS) < faultBudget) return false;
    if (store.mget(vec, K_RULES) !== 0 || store.mget(vec, K_BLOCKED) !== 0) return false;
    for (let i = 0; i < this.n; i++) {
      const st = this.locals[i]![vec[i]!]!.status;
      if (st !== RUNNING && st !== DONE) return false;
    }
    return true;
  }

  /** The node an event belongs to, or -1 for an event of no node. */
  private nodeOf(event: number): number {
    const type = event & 15;
    const arg = event >>> 4;
    if (type === E_DELIVER) return this.p.topology.linkTo[arg >>> 6]!;
    if (type === E_TIMER) return arg >>> 6;
    if (type === E_INPUT) return arg;
    return -1;
  }

  /** Whether the enabled events of `node` (in `byNode`) form an ample set (C1 and C2 above). */
  private qualifies(vec: Int32Array, events: Int32Array, node: number): boolean {
    const touches = this.touches;
    touches.fill(0);
    const list = this.byNode[node]!;
    let ok = true;
    // (no early exit: every step is computed, see `ample`)
    for (let x = 0; x < this.counts[node]!; x++) if (!this.invisible(vec, events[list[x]!]!, node)) ok = false;
    return ok && this.undisturbed(vec, node);
  }

  /** C2 for one event of `node`, noting the pairs it touches in `touches`. */
  private invisible(vec: Int32Array, event: number, node: number): boolean {
    const { nodes, store, views, monitors, topology, http } = this.p;
    const type = event & 15;
    const arg = event >>> 4;
    const loc = this.locals[node]![vec[node]!]!;
    let code: number;
    let ok = true;
    if (type === E_DELIVER) {
      const l = arg >>> 6;
      if (!topology.linkFifo[l]) return false;
      const msgId = store.queues[store.q(vec, l)]![arg & 63]!;
      const msg = store.msgs[msgId]!;
      code = N_DELIVER | (msgId << 4);
      if (msg.obs >= 0 && !monitors.neutral(msg.obs)) ok = false;
      if (http && nodes.isServer[msg.from]) this.touches[msg.from] = 1;
    } else if (type === E_TIMER) {
      code = N_TIMER | ((arg & 63) << 4);
    } else {
      code = loc.cursor >= nodes.messages[node]!.length ? N_QUIT : N_INPUT;
    }
    const r = nodes.result(node, vec[node]!, code);
    const next = this.locals[node]![r.next]!;
    if (r.becameDone || r.progress || next.status !== loc.status) ok = false;
    if (next.unfinished !== loc.unfinished || next.idleOnPerson !== loc.idleOnPerson || next.waiting !== loc.waiting) ok = false;
    if (ok && r.next !== vec[node]) {
      const { read, version } = this.p.fields;
      if (views.projection(node, r.next, read, version) !== views.projection(node, vec[node]!, read, version)) ok = false;
    }
    for (let k = 0; k < r.obs.length; k++) if (!monitors.neutral(r.obs[k]!)) ok = false;
    for (let k = 0; k < r.ops.length; k += 2) {
      const peer = r.ops[k] === 0 ? store.msgs[r.ops[k + 1]!]!.to : r.ops[k + 1]!;
      this.touches[peer] = 1;
      // the peer's status decides the send's fate: it must not change
      const st = this.locals[peer]![vec[peer]!]!.status;
      if (st !== DONE && (st !== RUNNING || (this.mayFinish[peer] && !this.frozen(vec, peer, node)))) ok = false;
    }
    return ok;
  }

  /**
   * Node y can do nothing before `node` acts: it has no enabled event, and no node but `node` may
   * send to it (or close it) until then.
   */
  private frozen(vec: Int32Array, y: number, node: number): boolean {
    if (this.counts[y] !== 0) return false;
    for (let x = 0; x < this.n; x++) {
      if (x === y || x === node || this.locals[x]![vec[x]!]!.status === DONE) continue;
      if (this.mayAct(vec, x, y)) return false;
    }
    return true;
  }

  /** Node x may send to (or close) node y before y acts: on its own, or replying to a request of y still on its way. */
  private mayAct(vec: Int32Array, x: number, y: number): boolean {
    const talks = this.p.nodes.talks[x * this.n + y]!;
    return (talks & 1) !== 0 || ((talks & 2) !== 0 && this.p.store.q(vec, this.p.topology.linkOf[y * this.n + x]!) !== 0);
  }

  /** C1: no other node can give `node` a new event or touch a pair its events touch before it acts. */
  private undisturbed(vec: Int32Array, node: number): boolean {
    const { nodes, store, topology, http } = this.p;
    const n = this.n;
    for (let y = 0; y < n; y++) {
      if (y === node || this.locals[y]![vec[y]!]!.status === DONE || this.frozen(vec, y, node)) continue;
      const into = topology.linkOf[y * n + node]!;
      const back = topology.linkOf[node * n + y]!;
      if (!topology.linkFifo[into]) return false;
      const requestsOut = store.q(vec, back) !== 0;
      const mayAct = this.mayAct(vec, y, node);
      if (mayAct && store.q(vec, into) === 0) return false;
      if (this.touches[y] === 1 && (mayAct || (requestsOut && http && nodes.isServer[node]))) return false;
    }
    return true;
  }
}

/** Whether a machine has a final state anywhere (so that a node running it may finish). */
function hasFinalState(machine: AnyStateMachine): boolean {
  const stack: { type: string; states: Record<string, unknown> }[] = [machine.root as unknown as { type: string; states: Record<string, unknown> }];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s.type === 'final') return true;
    for (const child of Object.values(s.states ?? {})) stack.push(child as { type: string; states: Record<string, unknown> });
  }
  return false;
}
