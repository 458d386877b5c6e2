/**
 * The untimed semantics of a scenario, over compact global states, for the exhaustive explorer.
 *
 * Time is abstracted away: in a state, every pending event may be the next one — any node's start
 * (subject to the start order its start times force), any armed timer, the delivery of the message
 * at the head of any link (links are FIFO queues: per link, order is kept; non-FIFO links may
 * deliver any message they hold), any input the person at a node has ready, the next scripted
 * fault, and, within the fault budget, crashes, restarts, losses and duplications. So a poll timer
 * may fire before a reply that in timed runs always arrives first: the explorer covers every
 * ordering a real network and scheduler could produce, including ones a particular delay
 * distribution makes unlikely.
 *
 * A global state is a short vector of integers (see `Layout`, untimed-model.ts): per node an
 * interned "local" state (node-locals.ts), per node pair an interned channel (channel-store.ts),
 * per history property an interned monitor state (monitors.ts), and one interned tuple of the
 * fault bookkeeping (fault-events.ts). Node transitions are computed once per (local state, event)
 * and cached; monitor transitions once per (monitor state, observation); invariants once per tuple
 * of node views (invariants.ts); and common steps are remembered whole by their footprint (the
 * transition memo, transition-memo.ts). The hot loop therefore works on integers and cached
 * results. The world's rules themselves are the kernel's (kernel/world-rules.ts), which this
 * system serves through the `Connections` interface.
 *
 * The same `apply` records a normal trace (`TraceEvent[]`, `t` = step number) when given a
 * recorder, so findings render like the random simulator's.
 */
import type { Effect, GlobalView, InFlightView, NodeId, NodeView } from '../../models/types.js';
import type { FaultSpec, SimConfig } from '../config.js';
import type { NodeDiagnosis } from '../finding.js';
import { NOT_STARTED, PAUSED, RUNNING, statusNames } from '../kernel/world-rules.js';
import type { CompiledModel } from '../simulator.js';
import { ChannelStore } from './channel-store.js';
import type { FaultEvents } from './fault-events.js';
import { Invariants } from './invariants.js';
import { Monitors } from './monitors.js';
import { NodeLocals } from './node-locals.js';
import { NodeViews } from './node-views.js';
import { Observations } from './observations.js';
import { PartialOrder } from './partial-order.js';
import { Presence } from './presence.js';
import { Symmetry } from './symmetry.js';
import type { SymmetryGroup } from './symmetry-group.js';
import { TransitionMemo, type StepMemo } from './transition-memo.js';
import { E_DELIVER, E_INPUT, E_SCRIPT, E_START, E_TIMER, K_BLOCKED, K_SCRIPT, type Layout, type Local, type Recorder, type UntimedOptions } from './untimed-model.js';
import { UntimedSteps } from './untimed-steps.js';
import { ViewFields } from './view-fields.js';
import { buildTopology, type Topology } from './untimed-topology.js';

export {
  E_CRASH,
  E_DELIVER,
  E_DUP,
  E_HEAL,
  E_INPUT,
  E_LOSE,
  E_NET_DUP,
  E_NET_LOSE,
  E_PARTITION,
  E_PAUSE,
  E_RESTART,
  E_RESUME,
  E_SCRIPT,
  E_START,
  E_TIMER,
  LABEL_FAULT,
  VARIANT_BIT,
  type Layout,
  type Recorder,
  type UntimedOptions,
} from './untimed-model.js';

export class UntimedSystem {
  readonly layout: Layout;
  readonly nodeIds: readonly NodeId[];
  readonly config: SimConfig;
  readonly model: CompiledModel;
  private readonly n: number;
  private readonly http: boolean;
  private readonly topo: Topology;
  private readonly nodes: NodeLocals;
  /** the nodes' interned locals (the same table as `nodes.locals`) */
  private readonly locals: Local[][];
  private readonly store: ChannelStore;
  private readonly observations: Observations;
  private readonly views: NodeViews;
  private readonly monitors: Monitors;
  private readonly invariants: Invariants;
  private readonly steps: UntimedSteps;
  private readonly faults: FaultEvents;
  /** the transition memo, or null when steps are always computed */
  private readonly memo: StepMemo | null;
  private readonly statusScratch: Int32Array;
  private readonly readyScratch: Int32Array;
  private readonly faultBudget: number;
  private reduction: PartialOrder | null = null;
  /** the parts of the node views that invariants and history properties have been seen to read, when noted (`viewReads`) */
  private readonly viewFields = new ViewFields();
  private readonly viewReads: boolean;
  /** which strings a state holds, for history properties that forget (null: none does, or `forget` is off) */
  private readonly presence: Presence | null;

  constructor(model: CompiledModel, config: SimConfig, options: UntimedOptions) {
    this.model = model;
    this.config = config;
    const n = config.nodes.length;
    this.n = n;
    this.nodeIds = config.nodes.map((x) => x.id);
    this.http = model.variant.transport === 'http';
    const topo = buildTopology(config, this.nodeIds);
    this.topo = topo;
    this.statusScratch = new Int32Array(n);
    this.readyScratch = new Int32Array(n);
    const m = model.variant.properties.length;
    const pairs = topo.pairs;
    this.layout = { nodes: n, links: topo.links, pairs, chanBase: n, monitorBase: n + pairs, misc: n + pairs + m, width: n + pairs + m + 1 };
    this.observations = new Observations(this.nodeIds);
    this.store = new ChannelStore(this.layout, topo, this.nodeIds, this.observations);
    this.nodes = new NodeLocals(model, config, this.store, this.observations);
    this.locals = this.nodes.locals;
    this.views = new NodeViews(this.nodeIds, this.nodes.roles, this.nodes.runtimes, this.locals);
    const fields = options.viewReads === true ? this.viewFields : null;
    this.monitors = new Monitors(model, config, this.layout.monitorBase, this.observations, this.views, this, fields);
    this.invariants = new Invariants(model, config, this.observations, this.views, this, fields);
    const parts = { nodeIds: this.nodeIds, http: this.http, topology: topo, nodes: this.nodes, store: this.store, monitors: this.monitors, observations: this.observations };
    this.steps = new UntimedSteps(parts, config, options.faultBudget);
    this.faults = this.steps.faults;
    this.memo = (options.memo ?? true) ? new TransitionMemo(this.steps, this.layout, topo, this.locals, this.store.msgs, this.monitors, this.http) : null;
    this.faultBudget = options.faultBudget;
    this.viewReads = options.viewReads === true;
    this.presence = (options.forget ?? true) && this.monitors.forgets ? new Presence(this.layout, this.nodes, this.store) : null;
    if (n > 30) throw new Error(`the exhaustive explorer handles at most 30 nodes, got ${n}`);
    for (let i = 0; i < n; i++) this.nodes.addNode(i, { status: NOT_STARTED, stateId: -1, timers: [], cursor: 0, inputPending: false });
    this.store.internBlocked(new Uint8Array(topo.links));
  }

  /** Number of fairness labels (processes) events carry; `LABEL_FAULT` is outside this range. */
  get processCount(): number {
    return 3 * this.n + this.layout.links + 1;
  }

  /** The initial global state. */
  initial(): Int32Array {
    const vec = new Int32Array(this.layout.width);
    return vec;
  }

  /** Counts for reports: how many node transitions were computed (cache misses). */
  get nodeTransitionsComputed(): number {
    return this.nodes.computed;
  }

  // ---- enumeration --------------------------------------------------------------------------

  /**
   * Writes the events enabled in `vec` into `events` and their fairness labels into `labels`.
   * Returns how many, and puts the number of non-fault events (those that count for deadlock) in
   * `this.lastNonFault`.
   */
  enumerate(vec: Int32Array, events: Int32Array, labels: Int32Array): number {
    const n = this.n;
    const links = this.layout.links;
    const locals = this.locals;
    const status = this.statusScratch;
    // per node: its status, and while running its armed timers (low bits) and a ready input (bit 16)
    const ready = this.readyScratch;
    let notStarted = false;
    for (let i = 0; i < n; i++) {
      const loc = locals[i]![vec[i]!]!;
      const st = loc.status;
      status[i] = st;
      if (st === NOT_STARTED) notStarted = true;
      ready[i] = st === RUNNING ? loc.timers.length | (loc.inputPending ? 0x10000 : 0) : 0;
    }
    let k = notStarted ? this.enumerateStarts(events, labels, 0) : 0;
    k = this.enumerateDeliveries(vec, events, labels, k);
    // timers
    for (let i = 0; i < n; i++) {
      const timers = ready[i]! & 0xffff;
      for (let s = 0; s < timers; s++) {
        events[k] = E_TIMER | (((i << 6) | s) << 4);
        labels[k++] = n + links + i;
      }
    }
    // the people's input
    for (let i = 0; i < n; i++) {
      if ((ready[i]! & 0x10000) === 0) continue;
      events[k] = E_INPUT | (i << 4);
      labels[k++] = 2 * n + links + i;
    }
    // the next scripted fault
    if (this.store.mget(vec, K_SCRIPT) < this.faults.scripted.length) {
      events[k] = E_SCRIPT;
      labels[k++] = 3 * n + links;
    }
    this.lastNonFault = k;
    return this.faults.enumerate(vec, events, labels, k);
  }

  /** Starts of nodes whose start-order predecessors have all started (statuses in `statusScratch`). */
  private enumerateStarts(events: Int32Array, labels: Int32Array, k: number): number {
    const status = this.statusScratch;
    for (let i = 0; i < this.n; i++) {
      if (status[i] !== NOT_STARTED) continue;
      let ok = true;
      const after = this.topo.startAfter[i]!;
      for (let a = 0; a < after.length; a++) {
        if (status[after[a]!] === NOT_STARTED) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      events[k] = E_START | (i << 4);
      labels[k++] = i;
    }
    return k;
  }

  /** Deliveries (read straight from the vector: enumerate runs outside `apply`). */
  private enumerateDeliveries(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const status = this.statusScratch;
    const n = this.n;
    const topo = this.topo;
    const store = this.store;
    const blockedId = store.mget(vec, K_BLOCKED);
    const blocked = store.blockedSets[blockedId]!;
    const chans = store.chans.data;
    const chanBase = this.layout.chanBase;
    for (let l = 0; l < topo.links; l++) {
      const c = vec[chanBase + topo.linkPair[l]!]!;
      if (c === 0) continue; // the empty channel
      const q = chans[c * 3 + topo.linkDir[l]!]!;
      if (q === 0) continue;
      // A paused node reads nothing until it resumes; but a partitioned datagram link to it still
      // loses what it carries (the timed network decides the partition first), so those are offered.
      const paused = status[topo.linkTo[l]!] === PAUSED;
      if (paused && (topo.linkFifo[l]! || blockedId === 0 || blocked[l] !== 1)) continue;
      if (topo.linkFifo[l]!) {
        if (blockedId !== 0 && blocked[l] === 1) continue; // TCP holds the data until the partition heals
        events[k] = E_DELIVER | ((l << 6) << 4);
        labels[k++] = n + l;
        continue;
      }
      const queue = store.queues[q]!;
      const count = Math.min(queue.length, 64);
      for (let pos = 0; pos < count; pos++) {
        if (queue.indexOf(queue[pos]!) !== pos) continue; // same message twice: one choice
        if (paused && store.msgs[queue[pos]!]!.conn !== null) continue; // waits for the resume
        events[k] = E_DELIVER | (((l << 6) | pos) << 4);
        labels[k++] = n + l;
      }
    }
    return k;
  }

  /**
   * Partial-order reduction (partial-order.ts): how many nodes' enabled events, among the `count`
   * events `enumerate` just wrote for `vec`, form an ample set (0: every event must be explored);
   * `ampleSet(c, out)` writes the event indices of the c-th, fewest events first.
   */
  ampleSets(vec: Int32Array, events: Int32Array, count: number): number {
    // (without the reads of the node views noted, nothing is known invisible)
    if (!this.viewReads) return 0;
    this.reduction ??= new PartialOrder({
      layout: this.layout,
      topology: this.topo,
      http: this.http,
      nodes: this.nodes,
      store: this.store,
      views: this.views,
      monitors: this.monitors,
      invariants: this.invariants,
      fields: this.viewFields,
      faultBudget: this.faultBudget,
      scriptedFaults: this.faults.scripted.length,
    });
    return this.reduction.candidates(vec, events, count, this.lastNonFault);
  }

  /** The event indices of ample set c found by `ampleSets`; returns how many. */
  ampleSet(c: number, out: Int32Array): number {
    return this.reduction!.candidate(c, out);
  }

  /**
   * What may invalidate a reduced search: who talks to whom grew, invariants or history properties
   * were seen to depend on more fields of the node views, or read more than the node views.
   */
  get reductionBasis(): string {
    return `${this.nodes.talkVersion}/${this.viewFields.version}/${this.invariants.viewsOnly && !this.monitors.readNetwork ? 1 : 0}`;
  }

  /** Symmetry reduction (symmetry.ts) over the interchangeable nodes of `group`, checked as the search goes. */
  enableSymmetry(group: SymmetryGroup): Symmetry {
    this.symmetry ??= new Symmetry({
      group,
      layout: this.layout,
      topology: this.topo,
      nodeIds: this.nodeIds,
      nodes: this.nodes,
      store: this.store,
      monitors: this.monitors,
      observations: this.observations,
      views: this.views,
      invariantId: (vec) => this.invariants.check(vec)?.id ?? null,
      invariantsViewsOnly: () => this.invariants.viewsOnly,
    });
    return this.symmetry;
  }

  symmetry: Symmetry | null = null;

  /** Set by `enumerate`: the events before this index are not faults (they count for deadlock). */
  lastNonFault = 0;

  /** Upper bound on the number of events one state can enable (for sizing buffers). */
  get maxEvents(): number {
    return 64 * (this.n + this.layout.links) * 2 + 8 * this.n + 16;
  }

  // ---- applying events ----------------------------------------------------------------------

  /**
   * Applies `event` to `vec` in place. With a recorder, appends the trace events it causes.
   * Returns the index of the broken history property's violation (see `violation`), or -1;
   * `progressFlag` then says whether a progress effect happened. (Numbers, not an object: this
   * runs millions of times a second and must not allocate.)
   */
  apply(vec: Int32Array, event: number, rec: Recorder | null): number {
    // (the memo is used while monitors have seen only observations, never the global view)
    const memo = this.memo;
    const type = event & 15;
    const memoised = rec === null && memo !== null && this.monitors.viewReads === 0 && (type === E_DELIVER || type === E_TIMER || type === E_INPUT || type === E_START);
    const v = memoised ? memo.apply(vec, event) : this.steps.applyDirect(vec, event, rec);
    // histories drop what can no longer matter (`forget`, presence.ts), on every path alike
    if (v < 0 && this.presence !== null) this.monitors.forget(vec, this.presence.reset(vec).has);
    return v;
  }

  /** Set during `apply` when a progress effect happened. */
  get progressFlag(): boolean {
    return this.steps.progressFlag;
  }

  /**
   * The effects (sends, prints, timers armed or cancelled, closes) of the last node step `apply`
   * took, in order, when it ran with a recorder (without one, a remembered step may not run the node
   * at all). For the timed realisation of a path: which step armed which timer.
   */
  lastNodeEffects(): readonly Effect[] | null {
    return this.steps.lastNodeResult?.effects ?? null;
  }

  /** The finding id and summary of a violation index returned by `apply`. */
  violation(index: number): { id: string; summary: string } {
    return this.observations.violation(index);
  }

  /** The fault a budget event injects, as the random simulator would draw it. */
  budgetFault(type: number, arg: number): FaultSpec {
    return this.faults.budgetFault(type, arg);
  }

  // ---- views and invariants ------------------------------------------------------------------

  /** Checks the state invariants in `vec`; returns the broken one, or null. */
  checkInvariants(vec: Int32Array): { id: string; summary: string } | null {
    return this.invariants.check(vec);
  }

  /**
   * Whether the invariants' verdict on `b` is the one on `a` without evaluating them: every node
   * has the same view in both, and no invariant has read more than the node views (the verdict is
   * then cached by the node views, so this is what `checkInvariants` would find).
   */
  sameInvariantInputs(a: Int32Array, b: Int32Array): boolean {
    return this.invariants.sameInputs(a, b);
  }

  /** Node views of `vec`, by node id (for the global view). */
  nodesOf(vec: Int32Array): Record<NodeId, NodeView> {
    return this.views.nodesOf(vec);
  }

  /** Messages in flight in `vec`, for the global view. */
  inFlightOf(vec: Int32Array): InFlightView[] {
    const store = this.store;
    const out: InFlightView[] = [];
    for (let l = 0; l < this.layout.links; l++) {
      for (const id of store.queues[store.q(vec, l)]!) {
        const m = store.msgs[id]!;
        if (m.msg !== null) out.push({ from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]!, msg: m.msg });
      }
    }
    return out;
  }

  /** The global view of a state, for diagnoses. */
  view(vec: Int32Array): GlobalView {
    return { timeMs: 0, nodes: this.views.nodesOf(vec), inFlight: this.inFlightOf(vec) };
  }

  /** How many connection events of a kind (`closed`, `reset`, `refused`) wait on link `l` in `vec`. */
  queuedConnEvents(vec: Int32Array, l: number, kind: 'closed' | 'reset' | 'refused'): number {
    const store = this.store;
    let count = 0;
    for (const id of store.queues[store.q(vec, l)]!) if (store.msgs[id]!.conn === kind) count++;
    return count;
  }

  /** The kind of the connection event at position `pos` of link `l` (null: a protocol message). */
  connKindAt(vec: Int32Array, l: number, pos: number): 'closed' | 'reset' | 'refused' | null {
    const queue = this.store.queues[this.store.q(vec, l)]!;
    return pos < queue.length ? this.store.msgs[queue[pos]!]!.conn : null;
  }

  /**
   * The first position on link `l` that holds the same message as position `pos` (the network's
   * choices are offered once per distinct message: losing or duplicating either copy is one choice).
   */
  firstSameMessage(vec: Int32Array, l: number, pos: number): number {
    const queue = this.store.queues[this.store.q(vec, l)]!;
    return pos < queue.length ? queue.indexOf(queue[pos]!) : pos;
  }

  // ---- per-state facts for the checkers -----------------------------------------------------

  /** Nodes still with something to do (running or paused, not final, not a server). */
  unfinished(vec: Int32Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.locals[i]![vec[i]!]!.unfinished) out.push(i);
    return out;
  }

  /** Some running node waits for its person, who has nothing more to type. */
  waitingOnPerson(vec: Int32Array): boolean {
    for (let i = 0; i < this.n; i++) if (this.locals[i]![vec[i]!]!.idleOnPerson) return true;
    return false;
  }

  /** The system is stuck unless something happens: some node unfinished, nobody waiting on a person. */
  stalled(vec: Int32Array): boolean {
    let unfinished = false;
    for (let i = 0; i < this.n; i++) {
      const loc = this.locals[i]![vec[i]!]!;
      if (loc.idleOnPerson) return false;
      if (loc.unfinished) unfinished = true;
    }
    return unfinished;
  }

  /** Every unfinished node is tagged `waiting` (polling or blocked on another node). */
  allUnfinishedWaiting(vec: Int32Array): boolean {
    for (let i = 0; i < this.n; i++) {
      const loc = this.locals[i]![vec[i]!]!;
      if (loc.unfinished && !loc.waiting) return false;
    }
    return true;
  }

  nodeName(i: number): NodeId {
    return this.nodeIds[i]!;
  }

  /** Per node, what it is doing in `vec` (for findings). */
  diagnoses(vec: Int32Array, rec: Recorder): NodeDiagnosis[] {
    return this.nodeIds.map((id, i) => {
      const loc = this.locals[i]![vec[i]!]!;
      const st = loc.stateId >= 0 ? this.nodes.runtimes[i]!.state(loc.stateId) : null;
      return {
        id,
        role: this.nodes.roles[i]!,
        status: statusNames[loc.status]!,
        state: st ? st.valueText : '(not started)',
        waitsFor: st && (loc.status === RUNNING || loc.status === PAUSED) && !st.done ? st.waitsFor : null,
        lastSent: rec.lastSent[i] ?? null,
        lastReceived: rec.lastReceived[i] ?? null,
      };
    });
  }

  newRecorder(): Recorder {
    return {
      trace: [],
      t: 0,
      nextSendId: 1,
      linkIds: Array.from({ length: this.layout.links }, () => []),
      lastSent: this.nodeIds.map(() => null),
      lastReceived: this.nodeIds.map(() => null),
    };
  }

  /** Distinct node-local states interned so far (all nodes). */
  get localStateCount(): number {
    let c = 0;
    for (const l of this.locals) c += l.length;
    return c;
  }
}
