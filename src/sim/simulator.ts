/**
 * The deterministic simulator: one seed and one config give one run, byte for byte.
 *
 * Virtual time is an integer number of milliseconds; events wait in a queue ordered by
 * (time, sequence). Nodes are role machines stepped purely (see RoleRuntime); the simulator carries
 * out their effects: messages go through the network model (delay, loss, duplication, reordering,
 * FIFO connections, partitions), timers go into the queue, prints are checked against the workload.
 * Faults and workload are data (see config.ts). Nothing here reads the clock, Math.random, timers,
 * or does I/O: a tidy test enforces it.
 */
import type {
  Effect,
  GlobalView,
  InFlightView,
  ModelVariant,
  NodeId,
  NodeStatus,
  NodeView,
  Observation,
  ProtocolMessage,
} from '../models/types.js';
import { canonicalJson } from './canonical-json.js';
import type { Distribution, FaultSpec, LinkConfig, SimConfig } from './config.js';
import { EventQueue, type Scheduled } from './event-queue.js';
import type { Finding, NodeDiagnosis } from './finding.js';
import { Prng } from './prng.js';
import { PrngChoices, sample, type ChoiceSource } from './kernel/choice.js';
import {
  applyRules,
  arrival,
  closeAll,
  closeConnection,
  crashConnections,
  findingText,
  isIdleOnPerson,
  isServerRole,
  isUnfinished,
  isWaiting,
  openAfterDelivery,
  openAfterSend,
  partitionLinks,
  partitionedArrival,
  refusalNotifies,
  restartConnections,
  ruleOf,
  sendRefusal,
  statusCodes,
  type Connections,
  type MessageRule,
} from './kernel/world-rules.js';
import { RoleRuntime, type StepResult } from './role-runtime.js';
import type { DerivedOptions, DropReason, EndReason, FindingKind, TraceEvent, TraceHeader } from './trace.js';


/**
 * Canonical keys of the events machines receive, cached by object: effects are cached by the role
 * runtimes, so the same message and timer-event objects come back run after run, and their
 * canonical JSON (the transition cache key) is computed once rather than on every step.
 */
const deliveryEvents = new WeakMap<ProtocolMessage, Map<NodeId, { event: { type: string; [k: string]: unknown }; key: string }>>();
const eventKeys = new WeakMap<object, string>();
const messageKeys = new WeakMap<ProtocolMessage, string>();
const inputKeys = new Map<string, string>();

function deliveryEvent(msg: ProtocolMessage, from: NodeId): { event: { type: string; [k: string]: unknown }; key: string } {
  let perFrom = deliveryEvents.get(msg);
  if (perFrom === undefined) {
    perFrom = new Map();
    deliveryEvents.set(msg, perFrom);
  }
  let entry = perFrom.get(from);
  if (entry === undefined) {
    const event = { ...msg, from };
    entry = { event, key: canonicalJson(event) };
    perFrom.set(from, entry);
  }
  return entry;
}

function eventKey(event: object): string {
  let key = eventKeys.get(event);
  if (key === undefined) {
    key = canonicalJson(event);
    eventKeys.set(event, key);
  }
  return key;
}

function messageKey(msg: ProtocolMessage): string {
  let key = messageKeys.get(msg);
  if (key === undefined) {
    key = canonicalJson(msg);
    messageKeys.set(msg, key);
  }
  return key;
}

function inputKey(text: string): string {
  let key = inputKeys.get(text);
  if (key === undefined) {
    key = canonicalJson({ type: 'user.input', text });
    if (inputKeys.size < 100_000) inputKeys.set(text, key);
  }
  return key;
}

/** A model variant with its role runtimes; build once, run many seeds (the caches are shared). */
export class CompiledModel {
  readonly protocol: string;
  readonly variant: ModelVariant;
  readonly runtimes: ReadonlyMap<string, RoleRuntime>;

  constructor(protocol: string, variant: ModelVariant) {
    this.protocol = protocol;
    this.variant = variant;
    const runtimes = new Map<string, RoleRuntime>();
    for (const [role, def] of Object.entries(variant.roles)) runtimes.set(role, new RoleRuntime(role, def.machine));
    this.runtimes = runtimes;
  }

  /** Node views per node, status and interned state (shared by every run of this model). */
  private readonly views = new Map<NodeId, Map<number, NodeView>>();

  /** The (immutable) view of a node in a status and state; built once, then shared. */
  nodeView(id: NodeId, role: string, status: NodeStatus, runtime: RoleRuntime, stateId: number): NodeView {
    let perNode = this.views.get(id);
    if (perNode === undefined) {
      perNode = new Map();
      this.views.set(id, perNode);
    }
    const key = (stateId + 1) * 8 + statusCodes[status];
    let view = perNode.get(key);
    if (view === undefined) {
      const st = stateId >= 0 ? runtime.state(stateId) : null;
      view = { id, role, status, value: st ? st.snapshot.value : null, context: st ? st.context : {}, tags: st ? st.tags : [] };
      perNode.set(key, view);
    }
    return view;
  }

  get xstateCalls(): number {
    let n = 0;
    for (const r of this.runtimes.values()) n += r.xstateCalls;
    return n;
  }
}

export interface RunOptions extends RunControl {
  /** record every event (needed for reports and replay); off for fast swarm runs */
  trace: boolean;
  /** stop at the first finding (default true) */
  stopAtFirstFinding?: boolean;
}

/**
 * Who makes a run's choices. By default the seed does (its PRNG streams, and the start times and
 * fault plan drawn from it); a controlled run is given its choices instead, to replay or impose a
 * schedule. `choices` is a factory: a run may be simulated more than once (a stall is classified
 * by re-running it), and every pass must be given the same answers.
 */
export interface RunControl {
  choices?: () => ChoiceSource;
  derived?: DerivedOptions;
}

export interface RunStats {
  steps: number;
  /** events simulated in all passes (a stall is classified by re-running the seed) */
  eventsSimulated: number;
  timeMs: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesDropped: number;
}

export interface RunResult {
  seed: number;
  header: TraceHeader;
  findings: Finding[];
  endReason: EndReason;
  stats: RunStats;
  trace: TraceEvent[];
}

type SimEvent =
  | { kind: 'start'; node: NodeId }
  | { kind: 'deliver'; id: number; from: NodeId; to: NodeId; msg: ProtocolMessage; epoch: number }
  | { kind: 'conn'; node: NodeId; peer: NodeId; event: 'reset' | 'closed' | 'refused'; epoch: number }
  | { kind: 'timer'; node: NodeId; id: string; event: { type: string; [k: string]: unknown } }
  | { kind: 'input'; node: NodeId }
  | { kind: 'quit'; node: NodeId }
  | { kind: 'fault'; fault: FaultSpec };

interface SimNode {
  id: NodeId;
  role: string;
  runtime: RoleRuntime;
  input: Record<string, unknown>;
  stateId: number;
  status: NodeStatus;
  /**
   * armed timers by id; a fired or cancelled one is kept as `null` rather than deleted (the ids are
   * few and recur, and deleting from a small Map reallocates it: the swarm's hot path)
   */
  timers: Map<string, Scheduled<SimEvent> | null>;
  /**
   * when each timer id was last armed from unarmed (a counter): the order a crash saves pending
   * timers in, as when fired timers were deleted and re-armed ones went to the end of the Map
   */
  timerArmedAt: Map<string, number>;
  timerClock: number;
  /** timers pending at a crash, re-armed by a restart that keeps state */
  savedTimers: { id: string; remainingMs: number; event: { type: string; [k: string]: unknown } }[];
  /** events that arrived while paused, delivered on resume */
  inbox: SimEvent[];
  /** workload cursor */
  nextMessage: number;
  messages: string[];
  think: Distribution | null;
  quitAfter: boolean;
  inputPending: boolean;
  lastSent: NodeDiagnosis['lastSent'];
  lastReceived: NodeDiagnosis['lastReceived'];
}


export { sample };

/** Everything drawn from the seed before the run starts (printed first, STYLE 2). */
export function deriveOptions(config: SimConfig, seed: number): DerivedOptions {
  const startPrng = Prng.derive(seed, 'start');
  const startAtMs: Record<NodeId, number> = {};
  for (const n of config.nodes) startAtMs[n.id] = sample(startPrng, n.startAt);
  const faults: FaultSpec[] = [...config.faults];
  const rf = config.randomFaults;
  if (rf && rf.count > 0 && rf.kinds.length > 0) {
    const prng = Prng.derive(seed, 'faults');
    const eligible = rf.nodes ?? config.nodes.map((n) => n.id);
    const all = config.nodes.map((n) => n.id);
    for (let i = 0; i < rf.count; i++) {
      const kind = prng.pick(rf.kinds);
      const atMs = prng.int(rf.windowStartMs, rf.windowEndMs);
      const node = prng.pick(eligible);
      switch (kind) {
        case 'crash':
          faults.push({ kind: 'crash', atMs, node, mode: prng.chance(0.5) ? 'reset' : 'silent' });
          break;
        case 'restart':
          faults.push({ kind: 'crash', atMs, node, mode: 'reset' });
          faults.push({ kind: 'restart', atMs: atMs + prng.int(100, 2000), node, state: prng.chance(0.5) ? 'fresh' : 'kept' });
          break;
        case 'pause':
          faults.push({ kind: 'pause', atMs, node });
          faults.push({ kind: 'resume', atMs: atMs + prng.int(100, 5000), node });
          break;
        case 'partition': {
          const rest = all.filter((x) => x !== node);
          faults.push({ kind: 'partition', atMs, from: [node], to: rest, direction: prng.chance(0.5) ? 'both' : 'one-way' });
          faults.push({ kind: 'heal', atMs: atMs + prng.int(100, 5000) });
          break;
        }
        case 'drop':
        case 'duplicate':
          faults.push({ kind, atMs, from: node, to: null, msgType: null, count: 1 });
          break;
      }
    }
  }
  // Scheduled order is (time, listed order): a stable sort keeps ties as written.
  faults.sort((a, b) => a.atMs - b.atMs);
  return { startAtMs, faults };
}

const linkKeys = new Map<NodeId, Map<NodeId, string>>();
const pairKeys = new Map<NodeId, Map<NodeId, string>>();

/** `from>to`, memoized: built on every send and delivery otherwise. */
function linkKey(from: NodeId, to: NodeId): string {
  let m = linkKeys.get(from);
  if (m === undefined) {
    m = new Map();
    linkKeys.set(from, m);
  }
  let k = m.get(to);
  if (k === undefined) {
    k = `${from}>${to}`;
    m.set(to, k);
  }
  return k;
}

/** `a|b` with a < b, memoized. */
function pairKey(a: NodeId, b: NodeId): string {
  let m = pairKeys.get(a);
  if (m === undefined) {
    m = new Map();
    pairKeys.set(a, m);
  }
  let k = m.get(b);
  if (k === undefined) {
    k = a < b ? `${a}|${b}` : `${b}|${a}`;
    m.set(b, k);
  }
  return k;
}

/**
 * A run's global view: reads the live run. A class, with its getters on the prototype: as an object
 * literal with getter closures over the run, it kept every finished run reachable to the
 * young-generation GC until a full GC (each run copied and promoted: most of the swarm's GC time;
 * test/sim/young-gc.test.ts).
 */
class LiveView implements GlobalView {
  constructor(private readonly sim: Simulation) {}
  get timeMs(): number {
    return this.sim.viewTime;
  }
  get nodes(): Readonly<Record<NodeId, NodeView>> {
    return this.sim.viewNodes;
  }
  get inFlight(): InFlightView[] {
    return this.sim.viewInFlight();
  }
}

/**
 * One run. Construct, then `run()`. Internal: use `simulate()`.
 */
class Simulation implements Connections {
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly nodeOrder: NodeId[];
  private readonly nodesByRole: Record<string, NodeId[]> = {};
  /** who answers what the world leaves open: delays, losses, think times (see kernel/choice.ts) */
  private readonly choices: ChoiceSource;
  private readonly links = new Map<string, LinkConfig>();
  private readonly lastDeliveryMs = new Map<string, number>();
  private readonly epochs = new Map<string, number>();
  /**
   * open connections (1 open, 0 closed); for `http` transport, the number of requests awaiting a
   * reply. Closing sets 0 rather than deleting: the pairs are few and open and close all the time,
   * and deleting from a small Map reallocates it (the swarm's hot path).
   */
  private readonly open = new Map<string, number>();
  private readonly nodeIndex = new Map<NodeId, number>();
  private readonly blocked = new Set<string>();
  private readonly held = new Map<string, SimEvent[]>();
  private rules: MessageRule<NodeId>[] = [];
  private readonly monitors: unknown[];
  private readonly nodeViews: Record<NodeId, NodeView> = {};
  private now = 0;
  private step = 0;
  private nextMessageId = 1;
  private lastProgressMs = 0;
  private lastProgressStep = 0;
  private readonly trace: TraceEvent[] = [];
  private readonly findings: Finding[] = [];
  private readonly stats: RunStats = { steps: 0, eventsSimulated: 0, timeMs: 0, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0 };
  private stopped = false;
  private readonly derived: DerivedOptions;
  /** pass 2 of a stall: the abstract state after each step from this step on */
  private readonly keys: string[] = [];
  private readonly keySeen = new Map<string, number>();
  /** canonical JSON of the monitor states, kept until one of them changes */
  private monitorsKey: string | null = null;

  constructor(
    private readonly model: CompiledModel,
    private readonly config: SimConfig,
    private readonly seed: number,
    private readonly record: boolean,
    private readonly stopAtFirstFinding: boolean,
    /** when set, record abstract state keys from this step on (pass 2 of stall classification) */
    private readonly recordKeysFrom: number | null,
    private readonly stopAtStep: number | null,
    control: RunControl,
  ) {
    this.choices = control.choices?.() ?? new PrngChoices(seed);
    this.derived = control.derived ?? deriveOptions(config, seed);
    this.monitors = model.variant.properties.map((p) => p.initial);
    this.nodeOrder = config.nodes.map((n) => n.id);
    this.nodeOrder.forEach((id, i) => this.nodeIndex.set(id, i));
    for (const n of config.nodes) (this.nodesByRole[n.role] ??= []).push(n.id);
    for (const n of config.nodes) {
      const def = model.variant.roles[n.role];
      const runtime = model.runtimes.get(n.role);
      if (!def || !runtime) throw new Error(`node ${n.id}: role ${n.role} is not in ${model.protocol}/${model.variant.name}`);
      const workload = config.workload.find((w) => w.node === n.id);
      const node: SimNode = {
        id: n.id,
        role: n.role,
        runtime,
        input: def.input({ self: n.id, nodesByRole: this.nodesByRole, params: n.params }),
        stateId: -1,
        status: 'not-started',
        timers: new Map(),
        timerArmedAt: new Map(),
        timerClock: 0,
        savedTimers: [],
        inbox: [],
        nextMessage: 0,
        messages: workload?.messages ?? [],
        think: workload?.think ?? null,
        quitAfter: workload?.quitAfter ?? false,
        inputPending: false,
        lastSent: null,
        lastReceived: null,
      };
      this.nodes.set(n.id, node);
      this.queue.push(this.derived.startAtMs[n.id] ?? 0, { kind: 'start', node: n.id });
    }
    for (const f of this.derived.faults) this.queue.push(f.atMs, { kind: 'fault', fault: f });
    if (config.healAtMs !== null) this.queue.push(config.healAtMs, { kind: 'fault', fault: { kind: 'heal', atMs: config.healAtMs } });
  }

  get header(): TraceHeader {
    return { k: 'header', protosim: 1, seed: this.seed, config: this.config, derived: this.derived };
  }

  run(): { endReason: EndReason; findings: Finding[]; trace: TraceEvent[]; stats: RunStats; stall: { step: number; timeMs: number } | null; keys: string[] } {
    const { limits, checks } = this.config;
    let endReason: EndReason = 'quiescent';
    let stall: { step: number; timeMs: number } | null = null;
    for (;;) {
      if (this.stopped) {
        endReason = 'finding';
        break;
      }
      if (this.stopAtStep !== null && this.step >= this.stopAtStep) {
        endReason = 'finding';
        break;
      }
      const next = this.queue.peek();
      if (next === undefined) {
        endReason = this.onQuiescent();
        break;
      }
      // Liveness: no progress within the bound while someone is unfinished.
      if (next.timeMs - this.lastProgressMs > checks.stallBoundMs && this.stopAtStep === null) {
        const verdict = this.onStall();
        if (verdict === 'settled') {
          this.now = this.lastProgressMs + checks.stallBoundMs;
          endReason = 'settled';
          break;
        }
        if (verdict === 'stall') {
          stall = { step: this.step, timeMs: this.lastProgressMs + checks.stallBoundMs };
          endReason = 'finding';
          break;
        }
        // Nothing was stuck (nobody unfinished, or a node still to start or a fault still to come
        // may change everything): the stall clock starts again from here.
        this.lastProgressMs = next.timeMs;
        this.lastProgressStep = this.step;
      }
      if (next.timeMs > limits.maxTimeMs) {
        endReason = 'limit:maxTimeMs';
        break;
      }
      if (this.step >= limits.maxSteps) {
        endReason = 'limit:maxSteps';
        break;
      }
      if (this.queue.size > limits.maxInFlight) {
        endReason = 'limit:maxInFlight';
        break;
      }
      this.queue.pop();
      this.now = next.timeMs;
      this.step++;
      this.process(next.item);
      if (this.recordKeysFrom !== null && this.step > this.recordKeysFrom) {
        // Pass 2 looks for the first repeated untimed state; once found, the rest is not needed.
        const key = this.abstractKey();
        if (this.keySeen.has(key)) {
          this.keys.push(key);
          break;
        }
        this.keySeen.set(key, this.keys.length);
        this.keys.push(key);
      }
    }
    this.stats.steps = this.step;
    this.stats.eventsSimulated = this.step;
    this.stats.timeMs = this.now;
    if (this.record) this.trace.push({ k: 'end', t: this.now, reason: endReason });
    return { endReason, findings: this.findings, trace: this.trace, stats: this.stats, stall, keys: this.keys };
  }

  // ---- events -------------------------------------------------------------------------------

  private process(ev: SimEvent): void {
    switch (ev.kind) {
      case 'start':
        this.startNode(this.node(ev.node), true);
        return;
      case 'deliver':
        this.deliver(ev);
        return;
      case 'conn': {
        const node = this.node(ev.node);
        if (node.status === 'paused') {
          node.inbox.push(ev);
          return;
        }
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'conn', t: this.now, node: ev.node, peer: ev.peer, event: ev.event });
        const connEvent = { type: `conn.${ev.event}`, peer: ev.peer };
        this.stepNode(node, connEvent, canonicalJson(connEvent));
        return;
      }
      case 'timer': {
        const node = this.node(ev.node);
        node.timers.set(ev.id, null);
        if (node.status === 'paused') {
          node.inbox.push(ev);
          return;
        }
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'timer', t: this.now, node: ev.node, event: ev.event.type });
        this.stepNode(node, ev.event);
        return;
      }
      case 'input': {
        const node = this.node(ev.node);
        node.inputPending = false;
        if (node.status === 'paused') {
          // The person types into a frozen terminal: the line is read when the program resumes.
          node.inbox.push(ev);
          node.inputPending = true;
          return;
        }
        if (node.status !== 'running') return; // the program is gone; the line is not consumed
        const text = node.messages[node.nextMessage];
        if (text === undefined) return;
        node.nextMessage++;
        if (this.record) this.trace.push({ k: 'input', t: this.now, node: node.id, text });
        this.stepNode(node, { type: 'user.input', text }, inputKey(text));
        return;
      }
      case 'quit': {
        const node = this.node(ev.node);
        node.inputPending = false;
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'quit', t: this.now, node: node.id });
        this.stepNode(node, { type: 'user.quit' }, '{"type":"user.quit"}');
        return;
      }
      case 'fault':
        this.applyFault(ev.fault);
        return;
    }
  }

  private node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  private startNode(node: SimNode, fresh: boolean): void {
    node.status = 'running';
    node.inputPending = false;
    if (fresh) {
      const result = node.runtime.start(node.input);
      node.stateId = result.next;
      this.updateView(node);
      if (this.record) {
        const st = node.runtime.state(node.stateId);
        this.trace.push({ k: 'start', t: this.now, node: node.id, role: node.role, state: st.valueText, fresh: true });
      }
      this.applyEffects(node, result);
    } else {
      this.updateView(node);
      if (this.record) {
        const st = node.runtime.state(node.stateId);
        this.trace.push({ k: 'start', t: this.now, node: node.id, role: node.role, state: st.valueText, fresh: false });
      }
      for (const t of node.savedTimers) {
        this.armTimer(node, t.id, this.now + t.remainingMs, t.event);
      }
      node.savedTimers = [];
      // A person at a restarted program with kept state still sees its prompt.
      if (node.runtime.state(node.stateId).tags.includes('awaitingUser')) this.scheduleInput(node);
    }
    this.checkInvariants();
  }

  private deliver(ev: Extract<SimEvent, { kind: 'deliver' }>): void {
    const pk = pairKey(ev.from, ev.to);
    if ((this.epochs.get(pk) ?? 0) !== ev.epoch) {
      this.dropped(ev, 'reset');
      return;
    }
    if (this.blocked.has(linkKey(ev.from, ev.to))) {
      if (partitionedArrival(this.link(ev.from, ev.to).fifo) === 'hold') {
        // TCP retransmits: the message waits for the partition to heal.
        const lk = linkKey(ev.from, ev.to);
        const list = this.held.get(lk) ?? [];
        list.push(ev);
        this.held.set(lk, list);
      } else {
        this.dropped(ev, 'partition');
      }
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
    const open = this.open.get(pk) ?? 0;
    const after = openAfterDelivery(this.model.variant.transport === 'http', this.roleIsServer(ev.from), open);
    if (after !== open) this.open.set(pk, after);
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
    const delivery = deliveryEvent(ev.msg, ev.from);
    this.stepNode(node, delivery.event, delivery.key);
  }

  private roleIsServer(id: NodeId): boolean {
    return isServerRole(this.node(id).role);
  }

  private dropped(ev: Extract<SimEvent, { kind: 'deliver' }>, reason: DropReason): void {
    this.stats.messagesDropped++;
    if (this.record) this.trace.push({ k: 'drop', t: this.now, id: ev.id, from: ev.from, to: ev.to, msg: ev.msg, reason });
  }

  // ---- stepping and effects -------------------------------------------------------------------

  private stepNode(node: SimNode, event: { type: string; [k: string]: unknown }, key?: string): void {
    const before = node.stateId;
    const result = node.runtime.step(before, event, key ?? eventKey(event));
    node.stateId = result.next;
    if (result.next !== before) {
      this.updateView(node);
      if (this.record) {
        const text = node.runtime.state(result.next).valueText;
        // Only changes of the state value are events; context-only changes (store data) are not.
        if (text !== node.runtime.state(before).valueText) this.trace.push({ k: 'state', t: this.now, node: node.id, state: text });
      }
    }
    this.applyEffects(node, result);
    if (result.next !== before) this.checkInvariants();
  }

  private applyEffects(node: SimNode, result: StepResult): void {
    for (const effect of result.effects) {
      if (this.stopped) return;
      this.applyEffect(node, effect);
    }
    const st = node.runtime.state(node.stateId);
    if (st.done && node.status === 'running') {
      node.status = 'done';
      this.cancelTimers(node);
      this.updateView(node);
      // A program that exits closes its connections.
      if (this.model.variant.transport === 'tcp') closeAll(this, this.indexOf(node.id));
    }
  }

  private applyEffect(node: SimNode, effect: Effect): void {
    switch (effect.type) {
      case 'send':
        this.send(node, effect.to, effect.msg);
        return;
      case 'print': {
        const p = effect.params;
        if (this.record) this.trace.push({ k: 'print', t: this.now, node: node.id, kind: p.kind, text: p.text });
        if (this.model.variant.isProgress(node.id, effect)) {
          this.lastProgressMs = this.now;
          this.lastProgressStep = this.step;
        }
        this.observe({ kind: 'print', node: node.id, params: p });
        if (p.kind === 'prompt') this.scheduleInput(node);
        return;
      }
      case 'close':
        closeConnection(this, this.indexOf(node.id), this.indexOf(effect.peer));
        return;
      case 'timer.start': {
        const existing = node.timers.get(effect.id);
        if (existing) this.queue.cancel(existing);
        this.armTimer(node, effect.id, this.now + effect.delayMs, effect.event);
        return;
      }
      case 'timer.cancel': {
        const existing = node.timers.get(effect.id);
        if (existing) {
          this.queue.cancel(existing);
          node.timers.set(effect.id, null);
        }
        return;
      }
    }
  }

  /** Arms (or re-arms) a node's timer; the caller has cancelled an armed one with the same id. */
  private armTimer(node: SimNode, id: string, atMs: number, event: { type: string; [k: string]: unknown }): void {
    if ((node.timers.get(id) ?? null) === null) node.timerArmedAt.set(id, node.timerClock++);
    node.timers.set(id, this.queue.push(atMs, { kind: 'timer', node: node.id, id, event }));
  }

  private scheduleInput(node: SimNode): void {
    if (node.inputPending || node.think === null) return;
    if (node.nextMessage < node.messages.length) {
      node.inputPending = true;
      this.queue.push(this.now + this.choices.sample('think', node.think), { kind: 'input', node: node.id });
    } else if (node.quitAfter) {
      node.inputPending = true;
      this.queue.push(this.now + this.choices.sample('think', node.think), { kind: 'quit', node: node.id });
    }
  }

  private link(from: NodeId, to: NodeId): LinkConfig {
    const key = linkKey(from, to);
    let link = this.links.get(key);
    if (!link) {
      link = { ...this.config.network.default };
      for (const o of this.config.network.links) {
        if ((o.from === from || o.from === '*') && (o.to === to || o.to === '*')) {
          const { from: _f, to: _t, ...rest } = o;
          link = { ...link, ...rest };
        }
      }
      this.links.set(key, link);
    }
    return link;
  }

  private send(node: SimNode, to: NodeId, msg: ProtocolMessage): void {
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
    const pk = pairKey(from, to);
    const link = this.link(from, to);
    if (!target) {
      this.dropped({ kind: 'deliver', id, from, to, msg, epoch: 0 }, 'not-started');
      return;
    }
    const open = this.open.get(pk) ?? 0;
    const fromServer = this.roleIsServer(from);
    const targetStatus = statusCodes[target.status];
    const refused = sendRefusal(open > 0, fromServer, this.roleIsServer(to), targetStatus);
    if (refused !== null) {
      this.dropped({ kind: 'deliver', id, from, to, msg, epoch: 0 }, refused);
      if (refusalNotifies(targetStatus, this.silentlyCrashed.has(to))) {
        this.queue.push(this.now + this.choices.sample('delay', link.delay), { kind: 'conn', node: from, peer: to, event: 'refused', epoch: this.epochs.get(pk) ?? 0 });
      }
      return;
    }
    const opened = openAfterSend(this.model.variant.transport === 'http', fromServer, open);
    if (opened !== open) this.open.set(pk, opened);
    const epoch = this.epochs.get(pk) ?? 0;
    // Scripted drop/duplicate faults match first.
    let copies = 1;
    if (this.rules.length > 0) {
      const applied = applyRules(this.rules, from, to, msg.type);
      this.rules = applied.rules;
      copies = applied.copies;
      if (copies === 0) {
        this.dropped({ kind: 'deliver', id, from, to, msg, epoch }, 'fault');
        return;
      }
    }
    if (this.choices.chance('loss', link.lossRatio)) {
      this.dropped({ kind: 'deliver', id, from, to, msg, epoch }, 'loss');
      return;
    }
    if (this.choices.chance('duplicate', link.duplicateRatio)) copies = 2;
    for (let c = 0; c < copies; c++) {
      if (c > 0 && this.record) this.trace.push({ k: 'duplicate', t: this.now, id, copy: c, from, to });
      this.scheduleOnLink(link, from, to, { kind: 'deliver', id, from, to, msg, epoch });
    }
  }

  private scheduleOnLink(link: LinkConfig, from: NodeId, to: NodeId, ev: SimEvent): void {
    let at = this.now + this.choices.sample('delay', link.delay);
    if (link.fifo) {
      const lk = linkKey(from, to);
      at = Math.max(at, this.lastDeliveryMs.get(lk) ?? 0);
      this.lastDeliveryMs.set(lk, at);
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
    return (this.open.get(pairKey(this.nodeOrder[a]!, this.nodeOrder[b]!)) ?? 0) > 0;
  }

  setClosed(a: number, b: number): void {
    this.open.set(pairKey(this.nodeOrder[a]!, this.nodeOrder[b]!), 0);
  }

  /** The connection's epoch ends: what is in flight on it is dropped when it arrives (`reset`). */
  discardData(a: number, b: number): void {
    const pk = pairKey(this.nodeOrder[a]!, this.nodeOrder[b]!);
    this.epochs.set(pk, (this.epochs.get(pk) ?? 0) + 1);
  }

  notify(to: number, from: number, event: 'reset' | 'closed'): void {
    const toId = this.nodeOrder[to]!;
    const fromId = this.nodeOrder[from]!;
    const epoch = this.epochs.get(pairKey(fromId, toId)) ?? 0;
    const ev: SimEvent = { kind: 'conn', node: toId, peer: fromId, event, epoch };
    // A FIN comes after anything already on the link (FIFO); a reset comes when it comes.
    if (event === 'closed') this.scheduleOnLink(this.link(fromId, toId), fromId, toId, ev);
    else this.queue.push(this.now + this.choices.sample('delay', this.link(fromId, toId).delay), ev);
  }

  private indexOf(id: NodeId): number {
    const i = this.nodeIndex.get(id);
    if (i === undefined) throw new Error(`unknown node ${id}`);
    return i;
  }

  private cancelTimers(node: SimNode): void {
    for (const t of node.timers.values()) if (t !== null) this.queue.cancel(t);
    node.timers.clear();
  }

  // ---- faults ---------------------------------------------------------------------------------

  private readonly silentlyCrashed = new Set<NodeId>();

  private applyFault(fault: FaultSpec): void {
    if (this.record) this.trace.push({ k: 'fault', t: this.now, fault });
    switch (fault.kind) {
      case 'crash': {
        const node = this.node(fault.node);
        if (node.status !== 'running' && node.status !== 'paused') return;
        node.savedTimers = [...node.timers]
          .filter((e): e is [string, Scheduled<SimEvent>] => e[1] !== null && !e[1].cancelled)
          .sort((a, b) => node.timerArmedAt.get(a[0])! - node.timerArmedAt.get(b[0])!)
          .map(([id, t]) => ({ id, remainingMs: Math.max(0, t.timeMs - this.now), event: (t.item as { event: { type: string } }).event }));
        this.cancelTimers(node);
        node.status = 'crashed';
        node.inbox = [];
        node.inputPending = false;
        this.updateView(node);
        if (fault.mode === 'silent') this.silentlyCrashed.add(node.id);
        else this.silentlyCrashed.delete(node.id);
        this.observe({ kind: 'crash', node: node.id });
        crashConnections(this, this.indexOf(node.id), fault.mode);
        this.checkInvariants();
        return;
      }
      case 'restart': {
        const node = this.node(fault.node);
        if (node.status !== 'crashed') return;
        this.silentlyCrashed.delete(node.id);
        restartConnections(this, this.indexOf(node.id));
        this.observe({ kind: 'restart', node: node.id, fresh: fault.state === 'fresh' });
        if (fault.state === 'fresh') node.savedTimers = [];
        this.startNode(node, fault.state === 'fresh');
        return;
      }
      case 'pause': {
        const node = this.node(fault.node);
        if (node.status !== 'running') return;
        node.status = 'paused';
        this.updateView(node);
        return;
      }
      case 'resume': {
        const node = this.node(fault.node);
        if (node.status !== 'paused') return;
        node.status = 'running';
        this.updateView(node);
        const inbox = node.inbox;
        node.inbox = [];
        for (const ev of inbox) {
          if (this.stopped || node.status !== 'running') break;
          this.process(ev);
        }
        return;
      }
      case 'partition': {
        for (const [a, b] of partitionLinks(fault, (id) => this.indexOf(id))) this.blocked.add(linkKey(this.nodeOrder[a]!, this.nodeOrder[b]!));
        return;
      }
      case 'heal': {
        this.blocked.clear();
        for (const [, list] of [...this.held.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          for (const ev of list) {
            if (ev.kind !== 'deliver') continue;
            this.scheduleOnLink(this.link(ev.from, ev.to), ev.from, ev.to, ev);
          }
        }
        this.held.clear();
        // The heal phase also resumes paused nodes (VOPR: after the safety phase, liveness must hold).
        if (this.config.healAtMs !== null && this.now >= this.config.healAtMs) {
          for (const id of this.nodeOrder) {
            if (this.node(id).status === 'paused') this.applyFault({ kind: 'resume', atMs: this.now, node: id });
          }
        }
        return;
      }
      case 'drop':
      case 'duplicate':
        this.rules = [...this.rules, ruleOf(fault, (id) => id)];
        return;
    }
  }

  // ---- checks ---------------------------------------------------------------------------------

  private updateView(node: SimNode): void {
    this.nodeViews[node.id] = this.model.nodeView(node.id, node.role, node.status, node.runtime, node.stateId);
  }

  /** One view object per run, reading the live state (built per check, it was a hot allocation). */
  private readonly globalView: GlobalView = new LiveView(this);

  private view(): GlobalView {
    return this.globalView;
  }

  /** The time, the node views and the messages in flight, for the run's global view. */
  get viewTime(): number {
    return this.now;
  }

  get viewNodes(): Readonly<Record<NodeId, NodeView>> {
    return this.nodeViews;
  }

  viewInFlight(): InFlightView[] {
    return this.queue
      .entries()
      .filter((e) => e.item.kind === 'deliver')
      .map((e) => {
        const d = e.item as Extract<SimEvent, { kind: 'deliver' }>;
        return { from: d.from, to: d.to, msg: d.msg };
      });
  }

  private enabled(id: string): boolean {
    const list = this.config.checks.invariants;
    return list === null || list.includes(id);
  }

  private checkInvariants(): void {
    if (this.stopped) return;
    const invariants = this.model.variant.invariants;
    if (invariants.length === 0) return;
    const view = this.view();
    for (const inv of invariants) {
      if (!this.enabled(inv.id)) continue;
      const reason = inv.check(view);
      if (reason !== null) {
        this.addFinding('invariant', `invariant:${inv.id}`, findingText.invariant(inv.id, inv.description, reason), null);
        return;
      }
    }
  }

  private observe(obs: Observation): void {
    const props = this.model.variant.properties;
    if (props.length === 0 || this.stopped) return;
    const view = this.view();
    for (let i = 0; i < props.length; i++) {
      const prop = props[i]!;
      if (!this.enabled(prop.id)) continue;
      const out = prop.observe(this.monitors[i], obs, view);
      if ('violation' in out) {
        this.addFinding('invariant', `invariant:${prop.id}`, findingText.invariant(prop.id, prop.description, out.violation), null);
        return;
      }
      if (this.monitors[i] !== out.state) this.monitorsKey = null;
      this.monitors[i] = out.state;
    }
  }

  /** A node is unfinished when it is running (or paused) and not waiting for its person. */
  private unfinished(): SimNode[] {
    const out: SimNode[] = [];
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      if (n.stateId >= 0 && isUnfinished(statusCodes[n.status], n.runtime.state(n.stateId))) out.push(n);
    }
    return out;
  }

  /** Some live node waits for its person with nothing more to type: the system waits on a human. */
  private waitingOnPerson(): boolean {
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      if (n.stateId >= 0 && isIdleOnPerson(statusCodes[n.status], n.runtime.state(n.stateId), n.inputPending)) return true;
    }
    return false;
  }

  private onQuiescent(): EndReason {
    if (!this.config.checks.deadlock) return 'quiescent';
    const stuck = this.unfinished();
    if (stuck.length === 0 || this.waitingOnPerson()) return 'quiescent';
    this.addFinding('deadlock', 'deadlock', findingText.quiescentDeadlock(stuck.map((n) => n.id)), null);
    return 'finding';
  }

  /** Returns `settled` (waiting on a person), `stall` (pass 2 will classify), or `ignore`. */
  private onStall(): 'settled' | 'stall' | 'ignore' {
    if (this.externalPending()) return 'ignore';
    const stuck = this.unfinished();
    if (stuck.length === 0) return 'ignore';
    if (this.waitingOnPerson()) return 'settled';
    if (!this.config.checks.livelock) return 'settled';
    return 'stall';
  }

  /** A node still to start, a person still to type, or a scheduled fault (or heal) is in the queue. */
  private externalPending(): boolean {
    for (const e of this.queue.entries()) {
      const k = e.item.kind;
      if (k === 'start' || k === 'fault' || k === 'input' || k === 'quit') return true;
    }
    return false;
  }

  /** The state without time: node states, timers, in-flight messages, monitors, network. */
  private abstractKey(): string {
    const parts: string[] = [];
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      parts.push(`${id}:${n.status}:${n.stateId}:${[...n.timers].filter(([, t]) => t !== null).map(([k]) => k).sort().join(',')}:${n.nextMessage}:${n.inputPending ? 1 : 0}:${n.inbox.length}`);
    }
    const flight: string[] = [];
    for (const e of this.queue.entries()) {
      const item = e.item;
      if (item.kind === 'deliver') flight.push(`${item.from}>${item.to}:${messageKey(item.msg)}`);
      else if (item.kind === 'conn') flight.push(`${item.peer}>${item.node}:conn.${item.event}`);
      // Something from outside is still to come (a scheduled start or fault, a person typing): the
      // untimed state cannot be a cycle that lasts for ever, so the key is made unique.
      else if (item.kind === 'fault' || item.kind === 'start' || item.kind === 'input' || item.kind === 'quit') return `pending-schedule@${this.step}`;
    }
    flight.sort();
    parts.push(flight.join(';'));
    this.monitorsKey ??= canonicalJson(this.monitors);
    parts.push(this.monitorsKey);
    parts.push([...this.blocked].sort().join(','));
    return parts.join('\n');
  }

  addFinding(kind: FindingKind, id: string, summary: string, cycleStart: number | null): void {
    const view = this.view();
    const nodes: NodeDiagnosis[] = this.nodeOrder.map((nid) => {
      const n = this.node(nid);
      const st = n.stateId >= 0 ? n.runtime.state(n.stateId) : null;
      return {
        id: n.id,
        role: n.role,
        status: n.status,
        state: st ? st.valueText : '(not started)',
        waitsFor: st && (n.status === 'running' || n.status === 'paused') && !st.done ? st.waitsFor : null,
        lastSent: n.lastSent && { ...n.lastSent },
        lastReceived: n.lastReceived && { ...n.lastReceived },
      };
    });
    const diagnosis = this.model.variant.diagnose?.(view, { kind, id }) ?? null;
    if (this.record) this.trace.push({ k: 'finding', t: this.now, kind, summary });
    this.findings.push({
      kind,
      id,
      summary,
      diagnosis,
      nodes,
      seed: this.seed,
      timeMs: this.now,
      step: this.step,
      trace: this.record ? [...this.trace] : [],
      cycleStart,
      path: null,
    });
    if (this.stopAtFirstFinding) this.stopped = true;
  }

  /** Used by pass 2: records the classification of a stall as a finding at the current step. */
  classifyStall(cycleStartStep: number | null, stallTimeMs: number): void {
    // cycleStartStep only decides the kind; the caller maps it to a trace index.
    const stuck = this.unfinished();
    const ids = stuck.map((n) => n.id);
    if (cycleStartStep === null) {
      this.addFinding('liveness', 'liveness', findingText.liveness(ids, this.config.checks.stallBoundMs, stallTimeMs), null);
      return;
    }
    if (stuck.every((n) => isWaiting(n.runtime.state(n.stateId)))) this.addFinding('deadlock', 'deadlock', findingText.pollingDeadlock(ids), null);
    else this.addFinding('livelock', 'livelock', findingText.livelock(ids), null);
  }

  /** The step of the last progress event so far. */
  get progressStep(): number {
    return this.lastProgressStep;
  }
}

/**
 * Runs one seed. A stall (no progress within `stallBoundMs`) is classified by a deterministic
 * second pass of the same seed that records the untimed global state after each step since the
 * last progress: a repeated state is a cycle (deadlock by polling when every unfinished node is
 * waiting, livelock otherwise), and the trace is cut right after the cycle's first full turn.
 */
export function simulate(model: CompiledModel, config: SimConfig, seed: number, options: RunOptions): RunResult {
  const stopAtFirst = options.stopAtFirstFinding ?? true;
  const first = new Simulation(model, config, seed, options.trace, stopAtFirst, null, null, options);
  const header = first.header;
  const out = first.run();
  if (out.stall === null) {
    return { seed, header, findings: out.findings, endReason: out.endReason, stats: out.stats, trace: out.trace };
  }
  // Pass 2: from the last progress on, find the first repeated untimed state.
  const stallStep = out.stall.step;
  const fromStep = first.progressStep;
  const probe = new Simulation(model, config, seed, false, stopAtFirst, fromStep, stallStep, options);
  const probed = probe.run();
  const seen = new Map<string, number>();
  let cycleStart: number | null = null;
  let cycleEnd: number | null = null;
  for (let i = 0; i < probed.keys.length; i++) {
    const key = probed.keys[i]!;
    const prev = seen.get(key);
    if (prev !== undefined) {
      // keys[i] is the state after step fromStep + 1 + i
      cycleStart = fromStep + 1 + prev;
      cycleEnd = fromStep + 1 + i;
      break;
    }
    seen.set(key, i);
  }
  const stopStep = cycleEnd ?? stallStep;
  const final = new Simulation(model, config, seed, options.trace, stopAtFirst, null, stopStep, options);
  const result = final.run();
  // Replace the `end` event the stopped run wrote: the finding comes first, then the end.
  if (options.trace) result.trace.pop();
  const cycleTraceIndex = options.trace && cycleStart !== null ? traceIndexAfterStep(model, config, seed, cycleStart, options) : null;
  result.stats.eventsSimulated = out.stats.steps + probed.stats.steps + result.stats.steps + (cycleTraceIndex !== null ? cycleStart! : 0);
  final.classifyStall(cycleStart, out.stall.timeMs);
  const finding = result.findings[result.findings.length - 1]!;
  finding.cycleStart = cycleTraceIndex;
  if (options.trace) {
    result.trace.push({ k: 'end', t: result.stats.timeMs, reason: 'finding' });
    finding.trace = result.trace.slice(0, -1);
  }
  return { seed, header, findings: result.findings, endReason: 'finding', stats: result.stats, trace: result.trace };
}

/** The index in the recorded trace of the first event after `step` (a re-run to `step`). */
function traceIndexAfterStep(model: CompiledModel, config: SimConfig, seed: number, step: number, control: RunControl): number {
  const sim = new Simulation(model, config, seed, true, true, null, step, control);
  const out = sim.run();
  return out.trace.length - 1; // minus the `end` event
}
