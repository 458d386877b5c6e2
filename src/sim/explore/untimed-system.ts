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
 * A global state is a short vector of integers (see `Layout`): per node an interned "local" state
 * (status, interned machine state — which for the store includes its data —, armed timers,
 * workload cursor, whether the person has a line ready), per node pair an interned channel (the
 * interned queues of interned messages of its two links, and its open-connection count), per
 * history property an interned monitor state, and one interned tuple of the scripted-fault cursor,
 * faults used, silent-crash bits, partition and scripted drop/duplicate rules. Node transitions are
 * computed once per (local state, event) and cached; monitor transitions once per (monitor state,
 * observation); invariants once per tuple of node views; and common steps are remembered whole by
 * their footprint (the transition memo, below). The hot loop therefore works on integers and
 * cached results.
 *
 * The same `apply` records a normal trace (`TraceEvent[]`, `t` = step number) when given a
 * recorder, so findings render like the random simulator's.
 */
import type {
  Effect,
  GlobalView,
  HistoryProperty,
  InFlightView,
  Invariant,
  NodeId,
  NodeStatus,
  NodeView,
  Observation,
  PrintParams,
  ProtocolMessage,
} from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { Distribution, FaultSpec, SimConfig } from '../config.js';
import type { NodeDiagnosis } from '../finding.js';
import type { RoleRuntime, StepResult } from '../role-runtime.js';
import type { CompiledModel } from '../simulator.js';
import type { DropReason, TraceEvent } from '../trace.js';
import {
  applyRules,
  arrival,
  closeAll,
  closeConnection,
  crashConnections,
  CRASHED,
  isIdleOnPerson,
  isServerRole,
  isUnfinished,
  isWaiting,
  NOT_STARTED,
  openAfterDelivery,
  openAfterSend,
  partitionedArrival,
  partitionLinks,
  PAUSED,
  refusalNotifies,
  restartConnections,
  ruleOf,
  RUNNING,
  DONE,
  sendRefusal,
  statusNames,
  type Connections,
  type MessageRule,
} from '../kernel/world-rules.js';
import { FlatIntMap } from './flat-int-map.js';
import { StepCache } from './step-cache.js';
import { TupleInterner } from './tuple-interner.js';


// ---- node-level event kinds (low 4 bits of a node event code) -------------------------------
const N_START = 0;
const N_INPUT = 1;
const N_QUIT = 2;
const N_CRASH = 3;
const N_RESTART_FRESH = 4;
const N_RESTART_KEPT = 5;
const N_PAUSE = 6;
const N_RESUME = 7;
const N_TIMER = 8;
const N_DELIVER = 9;

// ---- global event types (low 4 bits of an event) --------------------------------------------
export const E_START = 1;
export const E_DELIVER = 2;
export const E_TIMER = 3;
export const E_INPUT = 4;
export const E_SCRIPT = 5;
export const E_CRASH = 6;
export const E_RESTART = 7;
export const E_LOSE = 8;
export const E_DUP = 9;
export const E_NET_LOSE = 10;
export const E_NET_DUP = 11;
/** budget faults the random simulator also draws: pause (resume is free), partition (heal is free) */
export const E_PAUSE = 12;
export const E_RESUME = 13;
export const E_PARTITION = 14;
export const E_HEAL = 15;
/** in the argument of E_CRASH (silent), E_RESTART (state kept), E_PARTITION (one-way): the variant bit */
export const VARIANT_BIT = 32;

/** Fairness label of events no process is obliged to take (faults, losses). */
export const LABEL_FAULT = 0x7fff;

/**
 * Where each part of the global state sits in the vector: `nodes` node locals from 0, then one
 * channel per node pair from `chanBase` (the interned tuple of its two link queues and its
 * open-connection count), then one interned monitor state per history property from
 * `monitorBase`, then at `misc` the interned tuple of the fault bookkeeping (scripted-fault
 * cursor, faults used, silent-crash bits, partition, drop/duplicate rules), which rarely changes.
 */
export interface Layout {
  nodes: number;
  links: number;
  pairs: number;
  chanBase: number;
  monitorBase: number;
  misc: number;
  width: number;
}

// fields of the misc tuple
const K_SCRIPT = 0;
const K_FAULTS = 1;
const K_SILENT = 2;
const K_BLOCKED = 3;
const K_RULES = 4;
const MISC_WIDTH = 5;

/** A node's local state: everything about it that is not on the network. */
interface Local {
  status: number;
  stateId: number;
  /** armed timers, sorted by id */
  timers: TimerRec[];
  cursor: number;
  inputPending: boolean;
  key: string;
  /** running (or paused), not final, not a server: it still has something to do */
  unfinished: boolean;
  /** running, waiting for its person, and the person has nothing ready: the system waits on a human */
  idleOnPerson: boolean;
  /** tagged `waiting` (waits for another node) */
  waiting: boolean;
  /** its node view's id, once computed (invariants are cached by node views) */
  viewId: number;
  /** cached outcomes of node events: deliveries by message id, other events by event code */
  delivered: NodeResult[];
  other: NodeResult[];
}

interface TimerRec {
  id: string;
  event: { type: string; [k: string]: unknown };
  eventKey: string;
}

/** An interned message on a link: a protocol message or a connection event. */
interface MsgRec {
  conn: 'reset' | 'closed' | 'refused' | null;
  from: number;
  to: number;
  msg: ProtocolMessage | null;
  /** the event the receiving machine gets */
  event: { type: string; [k: string]: unknown };
  eventKey: string;
  /** observation id of its delivery (protocol messages) */
  obs: number;
}

/** The cached outcome of one node event. */
interface NodeResult {
  next: number;
  /** observation ids, in order */
  obs: Int32Array;
  /** network operations, in order: (op, arg) pairs; op 0 = send message id, 1 = close to peer */
  ops: Int32Array;
  progress: boolean;
  becameDone: boolean;
  /** for recording: effects in order, with the id each maps to (message, observation or peer) */
  effects: readonly Effect[];
  refs: Int32Array;
  /** the new state value text when it changed, for `state` trace events */
  stateText: string | null;
  /** the person's line that was consumed, for `input` trace events */
  text: string | null;
  /** 1 when the node (re)started fresh, 2 when it restarted with its state kept, else 0 */
  started: number;
}

/** Records a path as a normal trace, and what each node last sent and got. */
export interface Recorder {
  trace: TraceEvent[];
  t: number;
  nextSendId: number;
  /** per link, the trace send ids of the messages on it (mirrors the queue) */
  linkIds: number[][];
  lastSent: NodeDiagnosis['lastSent'][];
  lastReceived: NodeDiagnosis['lastReceived'][];
}

/**
 * The fault kinds the search may inject within its budget: those the random simulator draws for the
 * scenario's `randomFaults.kinds` (config.ts), in every variant it draws them: a crash kills
 * (connections reset) or vanishes (silent); a restart is a killed node started fresh or with its
 * state kept; a pause freezes a node until it resumes; a partition cuts a node off from every other,
 * both ways or one way, until the network heals; a drop or duplicate hits one message.
 */
interface BudgetKinds {
  /** kill a node (connections reset) */
  crash: boolean;
  /** a node's host vanishes (nothing said to its peers) */
  silentCrash: boolean;
  restart: boolean;
  pause: boolean;
  partition: boolean;
  drop: boolean;
  duplicate: boolean;
}

export interface UntimedOptions {
  /** faults the search may inject (crash, drop, duplicate; a restart after a crash is free) */
  faultBudget: number;
  /** remember common steps by their footprint (default true; false computes every step, for tests) */
  memo?: boolean;
}

const PAIR_NONE = -1;

/** Most peers a memoised step may involve (more: computed directly each time). */
const MEMO_PEERS = 3;

export class UntimedSystem implements Connections {
  readonly layout: Layout;
  readonly nodeIds: readonly NodeId[];
  readonly config: SimConfig;
  readonly model: CompiledModel;
  private readonly n: number;
  private readonly roles: string[];
  private readonly runtimes: RoleRuntime[];
  private readonly inputs: Record<string, unknown>[];
  private readonly isServer: boolean[];
  private readonly messages: string[][];
  private readonly quitAfter: boolean[];
  private readonly hasWorkload: boolean[];
  private readonly http: boolean;
  private readonly linkFifo: boolean[];
  private readonly linkLoss: boolean[];
  private readonly linkDup: boolean[];
  /** link index of (from, to), or -1 */
  private readonly linkOf: Int32Array;
  private readonly linkFrom: Int32Array;
  private readonly linkTo: Int32Array;
  private readonly pairOf: Int32Array;
  /** nodes that must have started before node i may start (their latest start precedes its earliest) */
  private readonly startAfter: Int32Array[];
  /** some link loses or duplicates on its own */
  private readonly anyLossy: boolean;
  private readonly statusScratch: Int32Array;
  private readonly readyScratch: Int32Array;
  private readonly scripted: FaultSpec[];
  /** index in `scripted` of the heal that ends the safety phase (resumes paused nodes), or -1 */
  private readonly healPhaseIndex: number;
  private readonly budget: number;
  private readonly budgetKinds: BudgetKinds;
  private readonly eligible: boolean[];

  // interned node locals, per node
  private readonly locals: Local[][] = [];
  private readonly localByKey: Map<string, number>[] = [];

  /** per link: its pair, and its direction in the pair's channel (0 when from < to) */
  private readonly linkPair: Int32Array;
  private readonly linkDir: Int32Array;
  /** channels: (queue of the lower node's link, queue of the higher node's link, open count) */
  private readonly chans = new TupleInterner(3, 1024);
  private readonly chanScratch = new Int32Array(3);
  /**
   * While `apply` runs, the channels it changes are kept decoded here (per pair: two queues, open
   * count; valid when `chanStamp[p] === epoch`) and interned once at its end.
   */
  private readonly chanQueues: Int32Array;
  private readonly chanOpen: Int32Array;
  private readonly chanStamp: Int32Array;
  private readonly dirtyPairs: Int32Array;
  private dirtyCount = 0;
  private epoch = 1;
  /** misc tuples: K_SCRIPT, K_FAULTS, K_SILENT, K_BLOCKED, K_RULES */
  private readonly miscs = new TupleInterner(MISC_WIDTH);
  private readonly miscScratch = new Int32Array(MISC_WIDTH);

  // interned messages and link queues
  private readonly msgs: MsgRec[] = [];
  private readonly msgByKey = new Map<string, number>();
  private readonly queues: Int32Array[] = [new Int32Array(0)];
  private readonly queueByKey = new Map<string, number>([['', 0]]);
  /** per queue: message id -> the queue with it appended */
  private readonly appendCache: number[][] = [[]];
  private readonly popCache: number[] = [-1];

  // observations and monitors
  private readonly observations: Observation[] = [];
  /** per node and kind (crash, fresh restart, kept restart): its observation id, once interned */
  private readonly faultObservations: number[] = [];
  private readonly obsByKey = new Map<string, number>();
  private readonly props: HistoryProperty<unknown>[];
  private readonly propEnabled: boolean[];
  private readonly monStates: unknown[][];
  private readonly monByKey: Map<string, number>[];
  /** per property: (monitor state, observation id) -> next monitor state, or a violation as -(index + 1) */
  private readonly monCache: StepCache[];
  /** per property that reads the node views: (monitor state, observation, view tuple) -> verdict, zigzag-coded */
  private readonly monViewCache: (FlatIntMap | undefined)[] = [];
  private readonly monViewKey = new Int32Array(3);
  private readonly violations: { id: string; summary: string }[] = [];
  private readonly violationByKey = new Map<string, number>();

  // invariants
  private readonly invariants: Invariant[];
  private readonly nodeViewIds: Map<number, number>[] = [];
  private readonly nodeViews: NodeView[] = [];
  /** interned tuples of node view ids, and the invariants' verdict per tuple (violation index or -1) */
  private readonly viewTuples: TupleInterner;
  private readonly viewScratch: Int32Array;
  private readonly invariantCache: number[] = [];
  private invariantsCacheable = true;

  // partition and rule sets
  private readonly blockedSets: Uint8Array[] = [];
  private readonly blockedByKey = new Map<string, number>();
  private readonly ruleSets: MessageRule<number>[][] = [[]];
  private readonly ruleByKey = new Map<string, number>([['', 0]]);

  // the transition memo (see applyMemo)
  private memoOn = true;
  /** first level: (event, acting local, link channel, misc) -> index in memoPeers */
  private readonly memo1 = new FlatIntMap(4, 4096);
  private readonly memoKey1 = new Int32Array(4);
  /** per first-level key: the peers involved, or null when the step is not memoised */
  private readonly memoPeers: (Int32Array | null)[] = [];
  /** second level: (first-level index, then per peer its status and channel) -> offset in memoPool */
  private readonly memo2 = new FlatIntMap(1 + 2 * MEMO_PEERS, 4096);
  private readonly memoKey2 = new Int32Array(1 + 2 * MEMO_PEERS);
  private memoPool = new Int32Array(1 << 16);
  private memoUsed = 0;
  private readonly memoBefore: Int32Array;
  private readonly monitorUndo: Int32Array;
  /** while computing a memo entry: observations are collected here instead of stepping monitors */
  private deferObs = false;
  private readonly deferred: number[] = [];
  private lastNodeResult: NodeResult | null = null;
  /** how often a monitor read the global view (its verdict is then not cached, nor memoised) */
  private monitorViewReads = 0;

  /** global views handed to monitors and invariants, reused (they read them synchronously) */
  private readonly monitorProbe = new ViewProbe(this);
  private readonly invariantProbe = new ViewProbe(this);

  /** counts for reports: how many node transitions were computed (cache misses) */
  nodeTransitionsComputed = 0;

  constructor(model: CompiledModel, config: SimConfig, options: UntimedOptions) {
    this.model = model;
    this.config = config;
    const variant = model.variant;
    const n = config.nodes.length;
    this.n = n;
    this.nodeIds = config.nodes.map((x) => x.id);
    this.roles = config.nodes.map((x) => x.role);
    const nodesByRole: Record<string, NodeId[]> = {};
    for (const x of config.nodes) (nodesByRole[x.role] ??= []).push(x.id);
    this.runtimes = config.nodes.map((x) => {
      const r = model.runtimes.get(x.role);
      if (!r) throw new Error(`node ${x.id}: role ${x.role} is not in ${model.protocol}/${variant.name}`);
      return r;
    });
    this.inputs = config.nodes.map((x) => variant.roles[x.role]!.input({ self: x.id, nodesByRole, params: x.params }));
    this.isServer = this.roles.map(isServerRole);
    const workload = config.nodes.map((x) => config.workload.find((w) => w.node === x.id));
    this.messages = workload.map((w) => w?.messages ?? []);
    this.quitAfter = workload.map((w) => w?.quitAfter ?? false);
    this.hasWorkload = workload.map((w) => w !== undefined);
    this.http = variant.transport === 'http';

    // links: every ordered pair of distinct nodes
    this.linkOf = new Int32Array(n * n).fill(-1);
    const from: number[] = [];
    const to: number[] = [];
    this.linkFifo = [];
    this.linkLoss = [];
    this.linkDup = [];
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        if (a === b) continue;
        this.linkOf[a * n + b] = from.length;
        from.push(a);
        to.push(b);
        const link = linkConfig(config, this.nodeIds[a]!, this.nodeIds[b]!);
        this.linkFifo.push(link.fifo);
        this.linkLoss.push(link.lossRatio > 0);
        this.linkDup.push(link.duplicateRatio > 0);
      }
    }
    this.linkFrom = Int32Array.from(from);
    this.linkTo = Int32Array.from(to);
    this.pairOf = new Int32Array(n * n).fill(PAIR_NONE);
    let pairs = 0;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        this.pairOf[a * n + b] = pairs;
        this.pairOf[b * n + a] = pairs;
        pairs++;
      }
    }

    // start order: node i waits for j when j's latest start is before i's earliest
    const range = config.nodes.map((x) => startRange(x.startAt));
    // (equal times start in node order, as the simulator's queue breaks ties by insertion)
    this.startAfter = range.map(([minI], i) => Int32Array.from(range.flatMap(([, maxJ], j) => (j !== i && (maxJ < minI || (maxJ === minI && j < i)) ? [j] : []))));
    this.anyLossy = this.linkLoss.some((x) => x) || this.linkDup.some((x) => x);
    this.viewTuples = new TupleInterner(n, 1024);
    this.viewScratch = new Int32Array(n);
    this.statusScratch = new Int32Array(n);
    this.readyScratch = new Int32Array(n);

    // scripted faults, in time order (the untimed search keeps their order, not their times)
    const scripted: { f: FaultSpec; healPhase: boolean }[] = config.faults.map((f) => ({ f, healPhase: false }));
    if (config.healAtMs !== null) scripted.push({ f: { kind: 'heal', atMs: config.healAtMs }, healPhase: true });
    scripted.sort((a, b) => a.f.atMs - b.f.atMs);
    this.scripted = scripted.map((s) => s.f);
    this.healPhaseIndex = scripted.findIndex((s) => s.healPhase);

    this.budget = options.faultBudget;
    this.memoOn = options.memo ?? true;
    const kinds = config.randomFaults?.kinds ?? ['crash', 'restart', 'drop'];
    this.budgetKinds = {
      crash: kinds.includes('crash') || kinds.includes('restart'),
      silentCrash: kinds.includes('crash'),
      restart: kinds.includes('restart'),
      pause: kinds.includes('pause'),
      partition: kinds.includes('partition'),
      drop: kinds.includes('drop'),
      duplicate: kinds.includes('duplicate'),
    };
    const eligibleIds = config.randomFaults?.nodes ?? this.nodeIds;
    this.eligible = this.nodeIds.map((id) => eligibleIds.includes(id));

    const checked = config.checks.invariants;
    this.props = variant.properties as HistoryProperty<unknown>[];
    this.propEnabled = this.props.map((p) => checked === null || checked.includes(p.id));
    this.monStates = this.props.map((p) => [p.initial]);
    this.monByKey = this.props.map((p) => new Map([[canonicalJson(p.initial), 0]]));
    this.monCache = this.props.map(() => new StepCache(64, 64));
    this.invariants = variant.invariants.filter((inv) => checked === null || checked.includes(inv.id));

    const links = from.length;
    const m = this.props.length;
    this.layout = { nodes: n, links, pairs, chanBase: n, monitorBase: n + pairs, misc: n + pairs + m, width: n + pairs + m + 1 };
    this.memoBefore = new Int32Array(this.layout.width);
    this.monitorUndo = new Int32Array(m);
    this.chanQueues = new Int32Array(2 * pairs);
    this.chanOpen = new Int32Array(pairs);
    this.chanStamp = new Int32Array(pairs);
    this.dirtyPairs = new Int32Array(pairs);
    this.linkPair = new Int32Array(links);
    this.linkDir = new Int32Array(links);
    for (let l = 0; l < links; l++) {
      const a = from[l]!;
      const b = to[l]!;
      this.linkPair[l] = this.pairOf[a * n + b]!;
      this.linkDir[l] = a < b ? 0 : 1;
    }
    // the empty channel and the initial misc tuple are id 0: the initial state is all zeros
    this.chans.intern(this.chanScratch);
    this.miscs.intern(this.miscScratch);
    if (n > 30) throw new Error(`the exhaustive explorer handles at most 30 nodes, got ${n}`);

    for (let i = 0; i < n; i++) {
      this.locals.push([]);
      this.localByKey.push(new Map());
      this.nodeViewIds.push(new Map());
      this.internLocal(i, { status: NOT_STARTED, stateId: -1, timers: [], cursor: 0, inputPending: false });
    }
    this.internBlocked(new Uint8Array(links));
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

  // ---- enumeration --------------------------------------------------------------------------

  /**
   * Writes the events enabled in `vec` into `events` and their fairness labels into `labels`.
   * Returns how many, and puts the number of non-fault events (those that count for deadlock) in
   * `this.lastProgressCapable`.
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
    let k = 0;
    // starts
    for (let i = 0; notStarted && i < n; i++) {
      if (status[i] !== NOT_STARTED) continue;
      let ok = true;
      const after = this.startAfter[i]!;
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
    // deliveries (enumerate runs outside `apply`: the channels are read straight from the vector)
    const blockedId = this.mget(vec, K_BLOCKED);
    const blocked = this.blockedSets[blockedId]!;
    const chans = this.chans.data;
    const chanBase = this.layout.chanBase;
    for (let l = 0; l < links; l++) {
      const c = vec[chanBase + this.linkPair[l]!]!;
      if (c === 0) continue; // the empty channel
      const q = chans[c * 3 + this.linkDir[l]!]!;
      if (q === 0) continue;
      if (status[this.linkTo[l]!] === PAUSED) continue;
      if (this.linkFifo[l]!) {
        if (blockedId !== 0 && blocked[l] === 1) continue; // TCP holds the data until the partition heals
        events[k] = E_DELIVER | ((l << 6) << 4);
        labels[k++] = n + l;
        continue;
      }
      const queue = this.queues[q]!;
      const count = Math.min(queue.length, 64);
      for (let pos = 0; pos < count; pos++) {
        if (queue.indexOf(queue[pos]!) !== pos) continue; // same message twice: one choice
        events[k] = E_DELIVER | (((l << 6) | pos) << 4);
        labels[k++] = n + l;
      }
    }
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
    if (this.mget(vec, K_SCRIPT) < this.scripted.length) {
      events[k] = E_SCRIPT;
      labels[k++] = 3 * n + links;
    }
    this.lastNonFault = k;
    // faults within the budget
    if (this.budget > 0 && this.mget(vec, K_FAULTS) < this.budget) {
      const bk = this.budgetKinds;
      if (bk.crash) {
        for (let i = 0; i < n; i++) {
          if (!this.eligible[i]) continue;
          const st = this.locals[i]![vec[i]!]!.status;
          if (st === RUNNING || st === PAUSED) {
            events[k] = E_CRASH | (i << 4);
            labels[k++] = LABEL_FAULT;
          }
        }
      }
      k = this.enumerateMoreFaults(vec, events, labels, k);
      if (bk.drop || bk.duplicate) {
        for (let l = 0; l < links; l++) {
          const q = this.q(vec, l);
          if (q === 0) continue;
          const head = this.msgs[this.queues[q]![0]!]!;
          if (head.conn !== null) continue;
          if (bk.drop) {
            events[k] = E_LOSE | ((l << 6) << 4);
            labels[k++] = LABEL_FAULT;
          }
          if (bk.duplicate) {
            events[k] = E_DUP | ((l << 6) << 4);
            labels[k++] = LABEL_FAULT;
          }
        }
      }
    }
    // a budgeted crash may be followed by a restart (free: the pair is one fault)
    if (this.budgetKinds.restart) {
      for (let i = 0; i < n; i++) {
        if (this.eligible[i] && this.locals[i]![vec[i]!]!.status === CRASHED) {
          events[k] = E_RESTART | (i << 4);
          labels[k++] = LABEL_FAULT;
          events[k] = E_RESTART | ((i | VARIANT_BIT) << 4);
          labels[k++] = LABEL_FAULT;
        }
      }
    }
    k = this.enumerateEndsOfFaults(vec, events, labels, k);
    // lossy or duplicating links: the network's own choices
    for (let l = 0; this.anyLossy && l < links; l++) {
      if (!this.linkLoss[l] && !this.linkDup[l]) continue;
      const q = this.q(vec, l);
      if (q === 0) continue;
      if (this.msgs[this.queues[q]![0]!]!.conn !== null) continue;
      if (this.linkLoss[l]) {
        events[k] = E_NET_LOSE | ((l << 6) << 4);
        labels[k++] = LABEL_FAULT;
      }
      if (this.linkDup[l]) {
        events[k] = E_NET_DUP | ((l << 6) << 4);
        labels[k++] = LABEL_FAULT;
      }
    }
    return k;
  }

  /**
   * Budget faults beyond kills, losses and duplications (appended after them, so the enumeration
   * order of scenarios without these kinds is unchanged): silent crashes, pauses, partitions.
   */
  private enumerateMoreFaults(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const bk = this.budgetKinds;
    const n = this.n;
    for (let i = 0; bk.silentCrash && i < n; i++) {
      const st = this.locals[i]![vec[i]!]!.status;
      if (this.eligible[i] && (st === RUNNING || st === PAUSED)) {
        events[k] = E_CRASH | ((i | VARIANT_BIT) << 4);
        labels[k++] = LABEL_FAULT;
      }
    }
    for (let i = 0; bk.pause && i < n; i++) {
      if (this.eligible[i] && this.locals[i]![vec[i]!]!.status === RUNNING) {
        events[k] = E_PAUSE | (i << 4);
        labels[k++] = LABEL_FAULT;
      }
    }
    for (let i = 0; bk.partition && i < n; i++) {
      if (!this.eligible[i]) continue;
      events[k] = E_PARTITION | (i << 4);
      labels[k++] = LABEL_FAULT;
      events[k] = E_PARTITION | ((i | VARIANT_BIT) << 4);
      labels[k++] = LABEL_FAULT;
    }
    return k;
  }

  /**
   * What ends a budget fault, free of budget (the random simulator always ends them): a paused node
   * resumes, a partitioned network heals. (They may also end a scripted pause or partition early:
   * the search then covers more orders than the script, never fewer.)
   */
  private enumerateEndsOfFaults(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const bk = this.budgetKinds;
    for (let i = 0; bk.pause && i < this.n; i++) {
      if (this.eligible[i] && this.locals[i]![vec[i]!]!.status === PAUSED) {
        events[k] = E_RESUME | (i << 4);
        labels[k++] = LABEL_FAULT;
      }
    }
    if (bk.partition && this.mget(vec, K_BLOCKED) !== 0) {
      events[k] = E_HEAL;
      labels[k++] = LABEL_FAULT;
    }
    return k;
  }

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
    if (rec === null && this.memoOn) {
      const type = event & 15;
      if (type === E_DELIVER || type === E_TIMER || type === E_INPUT || type === E_START) return this.applyMemo(vec, event);
    }
    return this.applyDirect(vec, event, rec);
  }

  /** `apply` step by step, without the memo. */
  private applyDirect(vec: Int32Array, event: number, rec: Recorder | null): number {
    const L = this.layout;
    const type = event & 15;
    const arg = event >>> 4;
    this.progressFlag = false;
    this.beginPairs();
    let violation: number = -1;
    switch (type) {
      case E_START: {
        const i = arg;
        violation = this.stepNode(vec, i, N_START, rec);
        break;
      }
      case E_DELIVER: {
        const l = arg >>> 6;
        const pos = arg & 63;
        const msgId = this.queues[this.q(vec, l)]![pos]!;
        const sendId = this.linkRemoveAt(vec, l, pos, rec);
        violation = this.deliver(vec, l, msgId, sendId, rec);
        break;
      }
      case E_TIMER: {
        const i = arg >>> 6;
        const slot = arg & 63;
        if (rec) {
          const timer = this.locals[i]![vec[i]!]!.timers[slot]!;
          rec.trace.push({ k: 'timer', t: rec.t, node: this.nodeIds[i]!, event: timer.event.type });
        }
        violation = this.stepNode(vec, i, N_TIMER | (slot << 4), rec);
        break;
      }
      case E_INPUT: {
        const i = arg;
        const loc = this.locals[i]![vec[i]!]!;
        const quitting = loc.cursor >= this.messages[i]!.length;
        if (rec) {
          if (quitting) rec.trace.push({ k: 'quit', t: rec.t, node: this.nodeIds[i]! });
          else rec.trace.push({ k: 'input', t: rec.t, node: this.nodeIds[i]!, text: this.messages[i]![loc.cursor]! });
        }
        violation = this.stepNode(vec, i, quitting ? N_QUIT : N_INPUT, rec);
        break;
      }
      case E_SCRIPT: {
        const index = this.mget(vec, K_SCRIPT);
        this.mset(vec, K_SCRIPT, index + 1);
        violation = this.applyFault(vec, this.scripted[index]!, index === this.healPhaseIndex, rec);
        break;
      }
      case E_CRASH:
      case E_RESTART:
      case E_PAUSE:
      case E_RESUME:
      case E_PARTITION:
      case E_HEAL: {
        if (type === E_CRASH || type === E_PAUSE || type === E_PARTITION) this.mset(vec, K_FAULTS, this.mget(vec, K_FAULTS) + 1);
        violation = this.applyFault(vec, this.budgetFault(type, arg), false, rec);
        break;
      }
      case E_LOSE:
      case E_NET_LOSE: {
        if (type === E_LOSE) this.mset(vec, K_FAULTS, this.mget(vec, K_FAULTS) + 1);
        const l = arg >>> 6;
        const msgId = this.queues[this.q(vec, l)]![0]!;
        const sendId = this.linkRemoveAt(vec, l, 0, rec);
        if (rec) this.recordDrop(rec, msgId, sendId, type === E_LOSE ? 'fault' : 'loss');
        break;
      }
      case E_DUP:
      case E_NET_DUP: {
        if (type === E_DUP) this.mset(vec, K_FAULTS, this.mget(vec, K_FAULTS) + 1);
        const l = arg >>> 6;
        const q = this.queues[this.q(vec, l)]!;
        const copy = Array.from(q);
        copy.splice(1, 0, q[0]!);
        this.setQ(vec, l, this.internQueue(copy));
        if (rec) {
          const ids = rec.linkIds[l]!;
          ids.splice(1, 0, ids[0]!);
          const m = this.msgs[q[0]!]!;
          rec.trace.push({ k: 'duplicate', t: rec.t, id: ids[0]!, copy: 1, from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]! });
        }
        break;
      }
      default:
        throw new Error(`unknown event type ${type}`);
    }
    this.flushPairs(vec);
    return violation;
  }

  // ---- the transition memo ------------------------------------------------------------------
  //
  // A node's start, timer, input or delivery reads and writes little of the global state: the
  // acting node's local state, the channel of the delivering link, the fault bookkeeping (misc),
  // and for each peer the node sends to or closes (or every peer, when a TCP node finishes) that
  // peer's status and their channel. The monitors only see the observations the step makes. So
  // such a step is computed once per distinct footprint and remembered as the slots it writes and
  // the observations it makes; the monitors then step through the observations as usual.
  //
  // The footprint is found in two levels: (event, acting local, link channel, misc) decides the
  // node's outcome and so which peers matter; their (status, channel) pairs complete the key. A
  // step computed for the memo runs the ordinary code with the observations set aside (so it runs
  // to its end even where a monitor would stop it; the state is then discarded by the caller, as
  // it is on a violation anyway). Should a monitor ever read the global view (its verdict then
  // depends on more than the observations), the step is redone without the memo, which is off
  // from then on.

  private applyMemo(vec: Int32Array, event: number): number {
    const type = event & 15;
    const arg = event >>> 4;
    let i: number;
    let chan = 0;
    if (type === E_DELIVER) {
      const l = arg >>> 6;
      i = this.linkTo[l]!;
      chan = vec[this.layout.chanBase + this.linkPair[l]!]!;
    } else {
      i = type === E_TIMER ? arg >>> 6 : arg;
    }
    const k1 = this.memoKey1;
    k1[0] = event;
    k1[1] = vec[i]!;
    k1[2] = chan;
    k1[3] = vec[this.layout.misc]!;
    let id1 = this.memo1.get(k1);
    if (id1 < 0) {
      // The first step of this kind: compute it, then learn which peers its outcome involves.
      const at = this.computeMemo(vec, event);
      const peers = this.peersOf(type, arg, i, this.lastNodeResult);
      id1 = this.memoPeers.length;
      this.memoPeers.push(peers);
      this.memo1.set(k1, id1);
      if (peers !== null) this.memo2.set(this.memoKey2Of(this.memoBefore, id1, i, peers), at);
      return this.finishMemo(vec, event, at, false);
    }
    const peers = this.memoPeers[id1]!;
    if (peers === null) return this.applyDirect(vec, event, null);
    const at = this.memo2.get(this.memoKey2Of(vec, id1, i, peers));
    if (at < 0) {
      const computed = this.computeMemo(vec, event);
      this.memo2.set(this.memoKey2Of(this.memoBefore, id1, i, peers), computed);
      return this.finishMemo(vec, event, computed, false);
    }
    // replay: [progress, writes, (slot, value)..., observations, obs...], keeping what it overwrites
    const pool = this.memoPool;
    const undo = this.memoBefore;
    this.progressFlag = pool[at] === 1;
    const writes = pool[at + 1]!;
    for (let w = 0, x = at + 2; w < writes; w++, x += 2) {
      const slot = pool[x]!;
      undo[w] = vec[slot]!;
      vec[slot] = pool[x + 1]!;
    }
    return this.finishMemo(vec, event, at, true);
  }

  /**
   * Steps the monitors through a memo entry's observations; redoes the step directly if one of
   * them reads the global view. `replayed`: `memoBefore` holds the overwritten values of the
   * entry's writes, in order (else the whole vector before the step).
   */
  private finishMemo(vec: Int32Array, event: number, at: number, replayed: boolean): number {
    const pool = this.memoPool;
    const writes = pool[at + 1]!;
    const obsAt = at + 2 + 2 * writes;
    const count = pool[obsAt]!;
    const reads = this.monitorViewReads;
    const monitors = this.layout.monitorBase;
    const monitorUndo = this.monitorUndo;
    for (let p = 0; p < monitorUndo.length; p++) monitorUndo[p] = vec[monitors + p]!;
    for (let k = 0; k < count; k++) {
      const v = this.observe(vec, pool[obsAt + 1 + k]!);
      if (this.monitorViewReads !== reads) {
        this.memoOn = false;
        const before = this.memoBefore;
        if (replayed) {
          for (let w = 0, x = at + 2; w < writes; w++, x += 2) vec[pool[x]!] = before[w]!;
          for (let p = 0; p < monitorUndo.length; p++) vec[monitors + p] = monitorUndo[p]!;
        } else {
          const W = this.layout.width;
          for (let y = 0; y < W; y++) vec[y] = before[y]!;
        }
        // undo the monitor steps taken so far, then the whole step without the memo
        return this.applyDirect(vec, event, null);
      }
      if (v >= 0) return v;
    }
    return -1;
  }

  /** Runs a step with the observations set aside and stores its writes; returns its pool offset. */
  private computeMemo(vec: Int32Array, event: number): number {
    const W = this.layout.width;
    for (let x = 0; x < W; x++) this.memoBefore[x] = vec[x]!;
    this.deferObs = true;
    this.deferred.length = 0;
    this.lastNodeResult = null;
    try {
      this.applyDirect(vec, event, null);
    } finally {
      this.deferObs = false;
    }
    const before = this.memoBefore;
    const monitors = this.layout.monitorBase;
    const misc = this.layout.misc;
    let writes = 0;
    for (let x = 0; x < W; x++) if (vec[x] !== before[x]) writes++;
    const size = 3 + 2 * writes + this.deferred.length;
    if (this.memoUsed + size > this.memoPool.length) {
      const bigger = new Int32Array(Math.max(this.memoPool.length * 2, this.memoUsed + size));
      bigger.set(this.memoPool);
      this.memoPool = bigger;
    }
    const pool = this.memoPool;
    const at = this.memoUsed;
    pool[at] = this.progressFlag ? 1 : 0;
    pool[at + 1] = writes;
    let y = at + 2;
    for (let x = 0; x < W; x++) {
      if (vec[x] === before[x]) continue;
      // monitors are stepped from the observations, never written by a deferred step
      if (x >= monitors && x < misc) throw new Error('memo: a deferred step wrote a monitor');
      pool[y++] = x;
      pool[y++] = vec[x]!;
    }
    pool[y++] = this.deferred.length;
    for (const obs of this.deferred) pool[y++] = obs;
    this.memoUsed = y;
    return at;
  }

  /** The peers whose status and channel a step with node outcome `r` reads (sorted), or null when too many. */
  private peersOf(type: number, arg: number, i: number, r: NodeResult | null): Int32Array | null {
    const set = new Set<number>();
    if (type === E_DELIVER) set.add(this.linkFrom[arg >>> 6]!);
    if (r !== null) {
      for (let k = 0; k < r.ops.length; k += 2) set.add(r.ops[k] === 0 ? this.msgs[r.ops[k + 1]!]!.to : r.ops[k + 1]!);
      if (r.becameDone && !this.http) for (let p = 0; p < this.n; p++) if (p !== i) set.add(p);
    }
    if (set.size > MEMO_PEERS) return null;
    return Int32Array.from([...set].sort((a, b) => a - b));
  }

  private memoKey2Of(vec: Int32Array, id1: number, i: number, peers: Int32Array): Int32Array {
    const k2 = this.memoKey2;
    k2[0] = id1;
    let x = 1;
    for (let k = 0; k < peers.length; k++) {
      const t = peers[k]!;
      k2[x++] = this.locals[t]![vec[t]!]!.status;
      k2[x++] = vec[this.layout.chanBase + this.pairOf[i * this.n + t]!]!;
    }
    while (x < k2.length) k2[x++] = -1;
    return k2;
  }

  /**
   * The effects (sends, prints, timers armed or cancelled, closes) of the last node step `apply`
   * took, in order, when it ran with a recorder (without one, a remembered step may not run the node
   * at all). For the timed realisation of a path: which step armed which timer.
   */
  lastNodeEffects(): readonly Effect[] | null {
    return this.lastNodeResult?.effects ?? null;
  }

  /** The finding id and summary of a violation index returned by `apply`. */
  violation(index: number): { id: string; summary: string } {
    return this.violations[index]!;
  }

  /** Set during `apply` when a progress effect happened. */
  progressFlag = false;

  private deliver(vec: Int32Array, l: number, msgId: number, sendId: number, rec: Recorder | null): number {
    const m = this.msgs[msgId]!;
    const i = m.to;
    const loc = this.locals[i]![vec[i]!]!;
    if (m.conn !== null) {
      if (loc.status !== RUNNING) return -1;
      if (rec) rec.trace.push({ k: 'conn', t: rec.t, node: this.nodeIds[i]!, peer: this.nodeIds[m.from]!, event: m.conn });
      return this.stepNode(vec, i, N_DELIVER | (msgId << 4), rec);
    }
    // (a FIFO link under partition holds its data: it is not enumerated until the partition heals)
    if (this.blockedSets[this.mget(vec, K_BLOCKED)]![l] === 1 && partitionedArrival(this.linkFifo[l]!) === 'partition') {
      if (rec) this.recordDrop(rec, msgId, sendId, 'partition');
      return -1;
    }
    // (a paused node's links are not enumerated: it reads nothing until it resumes)
    const fate = arrival(loc.status);
    if (fate !== 'deliver' && fate !== 'wait') {
      if (rec) this.recordDrop(rec, msgId, sendId, fate);
      return -1;
    }
    {
      const p = this.pairOf[m.from * this.n + i]!;
      const open = this.open(vec, p);
      const after = openAfterDelivery(this.http, this.isServer[m.from]!, open);
      if (after !== open) this.setOpen(vec, p, after);
    }
    if (rec) {
      rec.trace.push({ k: 'deliver', t: rec.t, id: sendId, from: this.nodeIds[m.from]!, to: this.nodeIds[i]!, msg: m.msg! });
      rec.lastReceived[i] = { t: rec.t, from: this.nodeIds[m.from]!, msg: m.msg! };
    }
    const v = this.observe(vec, m.obs);
    if (v >= 0) return v;
    return this.stepNode(vec, i, N_DELIVER | (msgId << 4), rec);
  }

  /** Steps node `i` with a node event and carries out the effects. Returns a violation index or -1. */
  private stepNode(vec: Int32Array, i: number, code: number, rec: Recorder | null): number {
    const localId = vec[i]!;
    const loc = this.locals[i]![localId]!;
    // Deliveries are keyed by message id on their own: codes of deliveries are large and sparse.
    const delivery = (code & 15) === N_DELIVER;
    const row = delivery ? loc.delivered : loc.other;
    const key = delivery ? code >>> 4 : code;
    let r = row[key];
    if (r === undefined) {
      r = this.computeNode(i, localId, code);
      row[key] = r;
    }
    this.lastNodeResult = r;
    vec[i] = r.next;
    if (r.progress) this.progressFlag = true;
    if (rec) return this.applyRecorded(vec, i, localId, r, rec);
    const obs = r.obs;
    for (let k = 0; k < obs.length; k++) {
      const v = this.observe(vec, obs[k]!);
      if (v >= 0) return v;
    }
    const ops = r.ops;
    if (ops.length === 0 && !r.becameDone) return -1;
    this.enter(vec, null);
    for (let k = 0; k < ops.length; k += 2) {
      if (ops[k] === 0) this.send(vec, i, ops[k + 1]!, null);
      else closeConnection(this, i, ops[k + 1]!);
    }
    if (r.becameDone && !this.http) closeAll(this, i);
    return -1;
  }

  /** The same as the fast path of `stepNode`, effect by effect in order, recording as it goes. */
  private applyRecorded(vec: Int32Array, i: number, before: number, r: NodeResult, rec: Recorder): number {
    const id = this.nodeIds[i]!;
    const next = this.locals[i]![r.next]!;
    if (r.started !== 0 && next.stateId >= 0) {
      rec.trace.push({ k: 'start', t: rec.t, node: id, role: this.roles[i]!, state: this.runtimes[i]!.state(next.stateId).valueText, fresh: r.started === 1 });
    } else if (r.stateText !== null) {
      rec.trace.push({ k: 'state', t: rec.t, node: id, state: r.stateText });
    }
    for (let k = 0; k < r.effects.length; k++) {
      const e = r.effects[k]!;
      const ref = r.refs[k]!;
      if (e.type === 'send') this.send(vec, i, ref, rec);
      else if (e.type === 'close') {
        this.enter(vec, rec);
        closeConnection(this, i, ref);
      }
      else if (e.type === 'print') {
        rec.trace.push({ k: 'print', t: rec.t, node: id, kind: e.params.kind, text: e.params.text });
        const v = this.observe(vec, ref);
        if (v >= 0) return v;
      }
    }
    if (r.becameDone && !this.http) {
      this.enter(vec, rec);
      closeAll(this, i);
    }
    return -1;
  }

  private send(vec: Int32Array, i: number, msgId: number, rec: Recorder | null): void {
    const L = this.layout;
    const m = this.msgs[msgId]!;
    const t = m.to;
    let sendId = 0;
    if (rec) {
      sendId = rec.nextSendId++;
      rec.trace.push({ k: 'send', t: rec.t, id: sendId, from: this.nodeIds[i]!, to: this.nodeIds[t]!, msg: m.msg! });
      rec.lastSent[i] = { t: rec.t, to: this.nodeIds[t]!, msg: m.msg! };
    }
    const p = this.pairOf[i * this.n + t]!;
    const target = this.locals[t]![vec[t]!]!.status;
    const open = this.open(vec, p);
    const refused = sendRefusal(open > 0, this.isServer[i]!, this.isServer[t]!, target);
    if (refused !== null) {
      if (rec) this.recordDrop(rec, msgId, sendId, refused);
      if (refusalNotifies(target, (this.mget(vec, K_SILENT) & (1 << t)) !== 0)) {
        this.linkAppend(vec, this.linkOf[t * this.n + i]!, this.connMsg(t, i, 'refused'), rec, 0);
      }
      return;
    }
    const opened = openAfterSend(this.http, this.isServer[i]!, open);
    if (opened !== open) this.setOpen(vec, p, opened);
    let copies = 1;
    const rulesId = this.mget(vec, K_RULES);
    if (rulesId !== 0) {
      const applied = applyRules(this.ruleSets[rulesId]!, i, t, m.msg!.type);
      this.mset(vec, K_RULES, this.internRules(applied.rules));
      copies = applied.copies;
      if (copies === 0) {
        if (rec) this.recordDrop(rec, msgId, sendId, 'fault');
        return;
      }
    }
    const l = this.linkOf[i * this.n + t]!;
    for (let c = 0; c < copies; c++) {
      if (c > 0 && rec) rec.trace.push({ k: 'duplicate', t: rec.t, id: sendId, copy: c, from: this.nodeIds[i]!, to: this.nodeIds[t]! });
      this.linkAppend(vec, l, msgId, rec, sendId);
    }
  }

  // ---- the connections, as the kernel's rules see them (kernel/world-rules.ts) ----------------
  //
  // The rules read and change the state being applied to (`cur`, with `curRec` recording), set by
  // `enter` before a rule is called: the `Connections` interface speaks of nodes only.

  private cur: Int32Array = new Int32Array(0);
  private curRec: Recorder | null = null;

  private enter(vec: Int32Array, rec: Recorder | null): void {
    this.cur = vec;
    this.curRec = rec;
  }

  get nodeCount(): number {
    return this.n;
  }

  status(i: number): number {
    return this.locals[i]![this.cur[i]!]!.status;
  }

  isOpen(a: number, b: number): boolean {
    return this.open(this.cur, this.pairOf[a * this.n + b]!) > 0;
  }

  setClosed(a: number, b: number): void {
    this.setOpen(this.cur, this.pairOf[a * this.n + b]!, 0);
  }

  discardData(a: number, b: number): void {
    this.discardPairData(this.cur, a, b, this.curRec);
  }

  notify(to: number, from: number, event: 'reset' | 'closed'): void {
    this.linkAppend(this.cur, this.linkOf[from * this.n + to]!, this.connMsg(from, to, event), this.curRec, 0);
  }

  private applyFault(vec: Int32Array, fault: FaultSpec, healPhase: boolean, rec: Recorder | null): number {
    const L = this.layout;
    if (rec) rec.trace.push({ k: 'fault', t: rec.t, fault });
    switch (fault.kind) {
      case 'crash': {
        const i = this.nodeIds.indexOf(fault.node);
        const st = this.locals[i]![vec[i]!]!.status;
        if (st !== RUNNING && st !== PAUSED) return -1;
        this.stepNode(vec, i, N_CRASH, rec);
        if (fault.mode === 'silent') this.mset(vec, K_SILENT, this.mget(vec, K_SILENT) | (1 << i));
        else this.mset(vec, K_SILENT, this.mget(vec, K_SILENT) & ~(1 << i));
        const v = this.observe(vec, this.faultObservation(i, 0));
        if (v >= 0) return v;
        this.enter(vec, rec);
        crashConnections(this, i, fault.mode);
        return -1;
      }
      case 'restart': {
        const i = this.nodeIds.indexOf(fault.node);
        if (this.locals[i]![vec[i]!]!.status !== CRASHED) return -1;
        this.mset(vec, K_SILENT, this.mget(vec, K_SILENT) & ~(1 << i));
        this.enter(vec, rec);
        restartConnections(this, i);
        const v = this.observe(vec, this.faultObservation(i, fault.state === 'fresh' ? 1 : 2));
        if (v >= 0) return v;
        return this.stepNode(vec, i, fault.state === 'fresh' ? N_RESTART_FRESH : N_RESTART_KEPT, rec);
      }
      case 'pause': {
        const i = this.nodeIds.indexOf(fault.node);
        if (this.locals[i]![vec[i]!]!.status === RUNNING) this.stepNode(vec, i, N_PAUSE, rec);
        return -1;
      }
      case 'resume': {
        const i = this.nodeIds.indexOf(fault.node);
        if (this.locals[i]![vec[i]!]!.status === PAUSED) this.stepNode(vec, i, N_RESUME, rec);
        return -1;
      }
      case 'partition': {
        const set = Uint8Array.from(this.blockedSets[this.mget(vec, K_BLOCKED)]!);
        for (const [a, b] of partitionLinks(fault, (id) => this.nodeIds.indexOf(id))) set[this.linkOf[a * this.n + b]!] = 1;
        this.mset(vec, K_BLOCKED, this.internBlocked(set));
        return -1;
      }
      case 'heal': {
        this.mset(vec, K_BLOCKED, 0);
        if (healPhase) {
          for (let i = 0; i < this.n; i++) {
            if (this.locals[i]![vec[i]!]!.status === PAUSED) this.stepNode(vec, i, N_RESUME, rec);
          }
        }
        return -1;
      }
      case 'drop':
      case 'duplicate': {
        const rules = [...this.ruleSets[this.mget(vec, K_RULES)]!, ruleOf(fault, (id) => this.nodeIds.indexOf(id))];
        this.mset(vec, K_RULES, this.internRules(rules));
        return -1;
      }
    }
  }

  /** The fault a budget event injects, as the random simulator would draw it. */
  budgetFault(type: number, arg: number): FaultSpec {
    const node = this.nodeIds[arg & (VARIANT_BIT - 1)]!;
    const variant = (arg & VARIANT_BIT) !== 0;
    switch (type) {
      case E_CRASH:
        return { kind: 'crash', atMs: 0, node, mode: variant ? 'silent' : 'reset' };
      case E_RESTART:
        return { kind: 'restart', atMs: 0, node, state: variant ? 'kept' : 'fresh' };
      case E_PAUSE:
        return { kind: 'pause', atMs: 0, node };
      case E_RESUME:
        return { kind: 'resume', atMs: 0, node };
      case E_PARTITION:
        return { kind: 'partition', atMs: 0, from: [node], to: this.nodeIds.filter((x) => x !== node), direction: variant ? 'one-way' : 'both' };
      case E_HEAL:
        return { kind: 'heal', atMs: 0 };
      default:
        throw new Error(`not a budget fault: event type ${type}`);
    }
  }

  /** Removes the protocol messages in flight between a and b, both ways (their epoch ended). */
  private discardPairData(vec: Int32Array, a: number, b: number, rec: Recorder | null): void {
    for (const l of [this.linkOf[a * this.n + b]!, this.linkOf[b * this.n + a]!]) {
      const q = this.queues[this.q(vec, l)]!;
      if (q.length === 0) continue;
      const keep: number[] = [];
      const keepIds: number[] = [];
      for (let k = 0; k < q.length; k++) {
        const m = this.msgs[q[k]!]!;
        if (m.conn !== null) {
          keep.push(q[k]!);
          if (rec) keepIds.push(rec.linkIds[l]![k]!);
        } else if (rec) {
          this.recordDrop(rec, q[k]!, rec.linkIds[l]![k]!, 'reset');
        }
      }
      this.setQ(vec, l, this.internQueue(keep));
      if (rec) rec.linkIds[l] = keepIds;
    }
  }

  private recordDrop(rec: Recorder, msgId: number, sendId: number, reason: DropReason): void {
    const m = this.msgs[msgId]!;
    if (m.msg === null) return;
    rec.trace.push({ k: 'drop', t: rec.t, id: sendId, from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]!, msg: m.msg, reason });
  }

  // ---- the packed parts of the vector --------------------------------------------------------

  /** The queue of link `l`. */
  private q(vec: Int32Array, l: number): number {
    const p = this.linkPair[l]!;
    if (this.chanStamp[p] === this.epoch) return this.chanQueues[2 * p + this.linkDir[l]!]!;
    return this.chans.data[vec[this.layout.chanBase + p]! * 3 + this.linkDir[l]!]!;
  }

  private setQ(vec: Int32Array, l: number, q: number): void {
    const p = this.linkPair[l]!;
    this.decodePair(vec, p);
    this.chanQueues[2 * p + this.linkDir[l]!] = q;
  }

  /** The open-connection count of pair `p`. */
  private open(vec: Int32Array, p: number): number {
    if (this.chanStamp[p] === this.epoch) return this.chanOpen[p]!;
    return this.chans.data[vec[this.layout.chanBase + p]! * 3 + 2]!;
  }

  private setOpen(vec: Int32Array, p: number, v: number): void {
    this.decodePair(vec, p);
    this.chanOpen[p] = v;
  }

  /** Makes pair `p` writable for this `apply`: decoded into the scratch arrays, interned at the end. */
  private decodePair(vec: Int32Array, p: number): void {
    if (this.chanStamp[p] === this.epoch) return;
    const at = vec[this.layout.chanBase + p]! * 3;
    const d = this.chans.data;
    this.chanQueues[2 * p] = d[at]!;
    this.chanQueues[2 * p + 1] = d[at + 1]!;
    this.chanOpen[p] = d[at + 2]!;
    this.chanStamp[p] = this.epoch;
    this.dirtyPairs[this.dirtyCount++] = p;
  }

  /** Starts a scratch epoch: no pair is decoded. */
  private beginPairs(): void {
    this.dirtyCount = 0;
    if (++this.epoch >= 0x3fffffff) {
      this.chanStamp.fill(0);
      this.epoch = 1;
    }
  }

  /** Interns the pairs this `apply` changed into `vec`, and ends the scratch epoch. */
  private flushPairs(vec: Int32Array): void {
    const t = this.chanScratch;
    const base = this.layout.chanBase;
    for (let k = 0; k < this.dirtyCount; k++) {
      const p = this.dirtyPairs[k]!;
      t[0] = this.chanQueues[2 * p]!;
      t[1] = this.chanQueues[2 * p + 1]!;
      t[2] = this.chanOpen[p]!;
      vec[base + p] = this.chans.intern(t);
    }
    this.beginPairs();
  }

  /** Field `k` of the misc tuple (K_SCRIPT, K_FAULTS, K_SILENT, K_BLOCKED, K_RULES). */
  private mget(vec: Int32Array, k: number): number {
    const m = this.miscs;
    return m.data[vec[this.layout.misc]! * m.width + k]!;
  }

  private mset(vec: Int32Array, k: number, v: number): void {
    const m = this.miscs;
    const w = m.width;
    const at = vec[this.layout.misc]! * w;
    const d = m.data;
    if (d[at + k] === v) return;
    const t = this.miscScratch;
    for (let j = 0; j < w; j++) t[j] = d[at + j]!;
    t[k] = v;
    vec[this.layout.misc] = m.intern(t);
  }

  // ---- links --------------------------------------------------------------------------------

  private linkAppend(vec: Int32Array, l: number, msgId: number, rec: Recorder | null, sendId: number): void {
    const q = this.q(vec, l);
    const row = this.appendCache[q]!;
    let next = row[msgId];
    if (next === undefined) {
      const arr = Array.from(this.queues[q]!);
      arr.push(msgId);
      next = this.internQueue(arr);
      row[msgId] = next;
    }
    this.setQ(vec, l, next);
    if (rec) rec.linkIds[l]!.push(sendId);
  }

  /** Removes the message at `pos` of link `l`; returns its trace send id (0 without a recorder). */
  private linkRemoveAt(vec: Int32Array, l: number, pos: number, rec: Recorder | null): number {
    const q = this.q(vec, l);
    if (pos === 0) {
      let next = this.popCache[q]!;
      if (next === -1) {
        next = this.internQueue(Array.from(this.queues[q]!.subarray(1)));
        this.popCache[q] = next;
      }
      this.setQ(vec, l, next);
    } else {
      const arr = Array.from(this.queues[q]!);
      arr.splice(pos, 1);
      this.setQ(vec, l, this.internQueue(arr));
    }
    if (rec) return rec.linkIds[l]!.splice(pos, 1)[0] ?? 0;
    return 0;
  }

  private internQueue(ids: number[]): number {
    const key = ids.join(',');
    let q = this.queueByKey.get(key);
    if (q === undefined) {
      q = this.queues.length;
      this.queues.push(Int32Array.from(ids));
      this.popCache.push(-1);
      this.appendCache.push([]);
      this.queueByKey.set(key, q);
    }
    return q;
  }

  private internMsg(from: number, to: number, msg: ProtocolMessage): number {
    const text = canonicalJson(msg);
    const key = `${from}>${to}:${text}`;
    let id = this.msgByKey.get(key);
    if (id === undefined) {
      id = this.msgs.length;
      const event = { ...msg, from: this.nodeIds[from]! };
      this.msgs.push({ conn: null, from, to, msg, event, eventKey: canonicalJson(event), obs: -1 });
      this.msgByKey.set(key, id);
      this.msgs[id]!.obs = this.internObservation({ kind: 'deliver', from: this.nodeIds[from]!, to: this.nodeIds[to]!, msg });
    }
    return id;
  }

  private connMsg(from: number, to: number, conn: 'reset' | 'closed' | 'refused'): number {
    const key = `${from}>${to}!${conn}`;
    let id = this.msgByKey.get(key);
    if (id === undefined) {
      id = this.msgs.length;
      const event = { type: `conn.${conn}`, peer: this.nodeIds[from]! };
      this.msgs.push({ conn, from, to, msg: null, event, eventKey: canonicalJson(event), obs: -1 });
      this.msgByKey.set(key, id);
    }
    return id;
  }

  private internBlocked(set: Uint8Array): number {
    const key = set.join('');
    let id = this.blockedByKey.get(key);
    if (id === undefined) {
      id = this.blockedSets.length;
      this.blockedSets.push(set);
      this.blockedByKey.set(key, id);
    }
    return id;
  }

  private internRules(rules: UntimedSystem['ruleSets'][number]): number {
    const key = rules.length === 0 ? '' : canonicalJson(rules);
    let id = this.ruleByKey.get(key);
    if (id === undefined) {
      id = this.ruleSets.length;
      this.ruleSets.push(rules);
      this.ruleByKey.set(key, id);
    }
    return id;
  }

  // ---- monitors and invariants --------------------------------------------------------------

  /** The observation of node i's crash (kind 0) or restart, fresh (1) or with its state kept (2). */
  private faultObservation(i: number, kind: number): number {
    const at = 3 * i + kind;
    let id = this.faultObservations[at];
    if (id === undefined) {
      const node = this.nodeIds[i]!;
      id = this.internObservation(kind === 0 ? { kind: 'crash', node } : { kind: 'restart', node, fresh: kind === 1 });
      this.faultObservations[at] = id;
    }
    return id;
  }

  private internObservation(obs: Observation): number {
    const key = canonicalJson(obs);
    let id = this.obsByKey.get(key);
    if (id === undefined) {
      id = this.observations.length;
      this.observations.push(obs);
      this.obsByKey.set(key, id);
    }
    return id;
  }

  /** Feeds an observation to every enabled history property. Returns a violation index or -1. */
  private observe(vec: Int32Array, obsId: number): number {
    if (this.deferObs) {
      this.deferred.push(obsId);
      return -1;
    }
    for (let p = 0; p < this.props.length; p++) {
      if (!this.propEnabled[p]) continue;
      const ms = vec[this.layout.monitorBase + p]!;
      const cache = this.monCache[p]!;
      let r = cache.get(ms, obsId);
      const byView = this.monViewCache[p];
      if (r === StepCache.MISSING && byView !== undefined) {
        // a monitor that reads the node views: its verdicts are cached by the views too
        const key = this.monViewKey;
        key[0] = ms;
        key[1] = obsId;
        key[2] = this.viewTupleOf(vec);
        const z = byView.get(key);
        if (z >= 0) {
          r = z & 1 ? -((z + 1) >>> 1) : z >>> 1;
          this.viewDependent();
        }
      }
      if (r === StepCache.MISSING) {
        const probe = this.monitorProbe.reset(vec);
        const before = this.monStates[p]![ms];
        const out = this.props[p]!.observe(before, this.observations[obsId]!, probe.view);
        if ('violation' in out) {
          const prop = this.props[p]!;
          r = -1 - this.internViolation(`invariant:${prop.id}`, `invariant ${prop.id} (${prop.description}) broken: ${out.violation}`);
        } else {
          // most observations leave a monitor as it was: the same object needs no canonical text
          r = out.state === before ? ms : this.internMonitorState(p, out.state);
        }
        // A monitor that looked at the global view depends on more than its state: cached by the
        // node views when it read only those, not at all when it read the messages in flight.
        if (!probe.touched()) cache.set(ms, obsId, r);
        else {
          if (!probe.touchedNetwork()) {
            let map = byView;
            if (map === undefined) {
              map = new FlatIntMap(3, 4096);
              this.monViewCache[p] = map;
            }
            const key = this.monViewKey;
            key[0] = ms;
            key[1] = obsId;
            key[2] = this.viewTupleOf(vec);
            map.set(key, r >= 0 ? 2 * r : -2 * r - 1);
          }
          this.viewDependent();
        }
      }
      if (r < 0) return -1 - r;
      vec[this.layout.monitorBase + p] = r;
    }
    return -1;
  }

  private internMonitorState(p: number, state: unknown): number {
    const key = canonicalJson(state);
    const map = this.monByKey[p]!;
    let id = map.get(key);
    if (id === undefined) {
      id = this.monStates[p]!.length;
      this.monStates[p]!.push(state);
      map.set(key, id);
    }
    return id;
  }

  private internViolation(id: string, summary: string): number {
    const key = `${id}\n${summary}`;
    let v = this.violationByKey.get(key);
    if (v === undefined) {
      v = this.violations.length;
      this.violations.push({ id, summary });
      this.violationByKey.set(key, v);
    }
    return v;
  }

  /** Checks the state invariants in `vec`; returns the broken one, or null. */
  /**
   * A monitor's verdict depended on the global view, not only on its state and the observation:
   * the transition memo (which steps monitors after the whole step) can no longer be used.
   */
  private viewDependent(): void {
    this.monitorViewReads++;
    this.memoOn = false;
  }

  /** The interned tuple of the node views of `vec` (what invariants and view-reading monitors see). */
  private viewTupleOf(vec: Int32Array): number {
    const t = this.viewScratch;
    for (let i = 0; i < this.n; i++) {
      const loc = this.locals[i]![vec[i]!]!;
      t[i] = loc.viewId >= 0 ? loc.viewId : this.nodeViewId(i, vec[i]!);
    }
    return this.viewTuples.intern(t);
  }

  checkInvariants(vec: Int32Array): { id: string; summary: string } | null {
    if (this.invariants.length === 0) return null;
    let key = -1;
    if (this.invariantsCacheable) {
      // The node views decide the verdict: the tuple of their ids is the cache key.
      key = this.viewTupleOf(vec);
      const hit = this.invariantCache[key];
      if (hit !== undefined) return hit < 0 ? null : this.violations[hit]!;
    }
    const probe = this.invariantProbe.reset(vec);
    let result = -1;
    for (const inv of this.invariants) {
      const reason = inv.check(probe.view);
      if (reason !== null) {
        result = this.internViolation(`invariant:${inv.id}`, `invariant ${inv.id} (${inv.description}) broken: ${reason}`);
        break;
      }
    }
    if (probe.touchedNetwork()) this.invariantsCacheable = false;
    else if (this.invariantsCacheable) this.invariantCache[key] = result;
    return result < 0 ? null : this.violations[result]!;
  }

  private nodeViewId(i: number, localId: number): number {
    const loc = this.locals[i]![localId]!;
    if (loc.viewId >= 0) return loc.viewId;
    const k = loc.status * 1048576 + (loc.stateId + 1);
    let id = this.nodeViewIds[i]!.get(k);
    if (id === undefined) {
      id = this.nodeViews.length;
      const st = loc.stateId >= 0 ? this.runtimes[i]!.state(loc.stateId) : null;
      this.nodeViews.push({
        id: this.nodeIds[i]!,
        role: this.roles[i]!,
        status: statusNames[loc.status]!,
        value: st ? st.snapshot.value : null,
        context: st ? st.context : {},
        tags: st ? st.tags : [],
      });
      this.nodeViewIds[i]!.set(k, id);
    }
    loc.viewId = id;
    return id;
  }

  /** Node views of `vec`, by node id (for the global view). */
  nodesOf(vec: Int32Array): Record<NodeId, NodeView> {
    const nodes: Record<NodeId, NodeView> = {};
    for (let i = 0; i < this.n; i++) nodes[this.nodeIds[i]!] = this.nodeViews[this.nodeViewId(i, vec[i]!)]!;
    return nodes;
  }

  /** Messages in flight in `vec`, for the global view. */
  inFlightOf(vec: Int32Array): InFlightView[] {
    return this.inFlight(vec);
  }

  /**
   * Whether the invariants' verdict on `b` is the one on `a` without evaluating them: every node
   * has the same view in both, and no invariant has read more than the node views (the verdict is
   * then cached by the node views, so this is what `checkInvariants` would find).
   */
  sameInvariantInputs(a: Int32Array, b: Int32Array): boolean {
    if (!this.invariantsCacheable) return false;
    for (let i = 0; i < this.n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      const lx = this.locals[i]![x]!;
      const ly = this.locals[i]![y]!;
      const vx = lx.viewId >= 0 ? lx.viewId : this.nodeViewId(i, x);
      const vy = ly.viewId >= 0 ? ly.viewId : this.nodeViewId(i, y);
      if (vx !== vy) return false;
    }
    return true;
  }

  private inFlight(vec: Int32Array): InFlightView[] {
    const out: InFlightView[] = [];
    for (let l = 0; l < this.layout.links; l++) {
      for (const id of this.queues[this.q(vec, l)]!) {
        const m = this.msgs[id]!;
        if (m.msg !== null) out.push({ from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]!, msg: m.msg });
      }
    }
    return out;
  }

  /** The global view of a state, for diagnoses. */
  view(vec: Int32Array): GlobalView {
    const nodes: Record<NodeId, NodeView> = {};
    for (let i = 0; i < this.n; i++) nodes[this.nodeIds[i]!] = this.nodeViews[this.nodeViewId(i, vec[i]!)]!;
    return { timeMs: 0, nodes, inFlight: this.inFlight(vec) };
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
      const st = loc.stateId >= 0 ? this.runtimes[i]!.state(loc.stateId) : null;
      return {
        id,
        role: this.roles[i]!,
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

  // ---- node locals and their cached transitions ---------------------------------------------

  private internLocal(i: number, l: { status: number; stateId: number; timers: TimerRec[]; cursor: number; inputPending: boolean }): number {
    const key = `${l.status}|${l.stateId}|${l.timers.map((t) => t.id).join(',')}|${l.cursor}|${l.inputPending ? 1 : 0}`;
    const map = this.localByKey[i]!;
    let id = map.get(key);
    if (id === undefined) {
      id = this.locals[i]!.length;
      const st = l.stateId >= 0 ? this.runtimes[i]!.state(l.stateId) : null;
      this.locals[i]!.push({
        ...l,
        key,
        unfinished: isUnfinished(l.status, st),
        idleOnPerson: isIdleOnPerson(l.status, st, l.inputPending),
        waiting: isWaiting(st),
        viewId: -1,
        delivered: [],
        other: [],
      });
      map.set(key, id);
    }
    return id;
  }

  /** Computes a node event's outcome from scratch (xstate through the role runtime's own caches). */
  private computeNode(i: number, localId: number, code: number): NodeResult {
    this.nodeTransitionsComputed++;
    const loc = this.locals[i]![localId]!;
    const kind = code & 15;
    const arg = code >>> 4;
    const runtime = this.runtimes[i]!;
    let status = loc.status;
    let stateId = loc.stateId;
    let timers = loc.timers;
    let cursor = loc.cursor;
    let inputPending = loc.inputPending;
    let step: StepResult | null = null;
    let text: string | null = null;
    const scheduleInput = (): void => {
      if (inputPending || !this.hasWorkload[i]) return;
      if (cursor < this.messages[i]!.length || this.quitAfter[i]) inputPending = true;
    };
    switch (kind) {
      case N_START:
      case N_RESTART_FRESH:
        step = runtime.start(this.inputs[i]!);
        status = RUNNING;
        timers = [];
        inputPending = false;
        break;
      case N_RESTART_KEPT:
        status = RUNNING;
        inputPending = false;
        if (runtime.state(stateId).tags.includes('awaitingUser')) scheduleInput();
        break;
      case N_CRASH:
        // Timers stay with the local state: they are the ones a restart with kept state re-arms.
        status = CRASHED;
        inputPending = false;
        break;
      case N_PAUSE:
        status = PAUSED;
        break;
      case N_RESUME:
        status = RUNNING;
        break;
      case N_INPUT:
        inputPending = false;
        text = this.messages[i]![cursor]!;
        cursor++;
        step = runtime.step(stateId, { type: 'user.input', text } as { type: string }, canonicalJson({ type: 'user.input', text }));
        break;
      case N_QUIT:
        inputPending = false;
        step = runtime.step(stateId, { type: 'user.quit' }, '{"type":"user.quit"}');
        break;
      case N_TIMER: {
        const timer = timers[arg]!;
        timers = timers.filter((_, k) => k !== arg);
        step = runtime.step(stateId, timer.event, timer.eventKey);
        break;
      }
      case N_DELIVER: {
        const m = this.msgs[arg]!;
        step = runtime.step(stateId, m.event, m.eventKey);
        break;
      }
      default:
        throw new Error(`unknown node event ${kind}`);
    }
    const obs: number[] = [];
    const ops: number[] = [];
    const refs: number[] = [];
    let progress = false;
    let stateText: string | null = null;
    const effects = step?.effects ?? [];
    if (step !== null) {
      const before = stateId;
      stateId = step.next;
      if (kind !== N_START && kind !== N_RESTART_FRESH && before >= 0) {
        const now = runtime.state(stateId).valueText;
        if (stateId !== before && now !== runtime.state(before).valueText) stateText = now;
      }
      for (const e of effects) {
        switch (e.type) {
          case 'send': {
            const to = this.nodeIds.indexOf(e.to);
            if (to < 0) throw new Error(`node ${this.nodeIds[i]} sent to unknown node ${e.to}`);
            const id = this.internMsg(i, to, e.msg);
            ops.push(0, id);
            refs.push(id);
            break;
          }
          case 'close': {
            const peer = this.nodeIds.indexOf(e.peer);
            ops.push(1, peer);
            refs.push(peer);
            break;
          }
          case 'print': {
            const id = this.internObservation({ kind: 'print', node: this.nodeIds[i]!, params: e.params as PrintParams });
            obs.push(id);
            refs.push(id);
            if (this.model.variant.isProgress(this.nodeIds[i]!, e)) progress = true;
            if (e.params.kind === 'prompt') scheduleInput();
            break;
          }
          case 'timer.start': {
            const eventKey = canonicalJson(e.event);
            timers = [...timers.filter((t) => t.id !== e.id), { id: e.id, event: e.event, eventKey }].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
            refs.push(-1);
            break;
          }
          case 'timer.cancel':
            timers = timers.filter((t) => t.id !== e.id);
            refs.push(-1);
            break;
        }
      }
    }
    let becameDone = false;
    if (status === RUNNING && stateId >= 0 && runtime.state(stateId).done) {
      status = DONE;
      timers = [];
      inputPending = false;
      becameDone = true;
    }
    const next = this.internLocal(i, { status, stateId, timers, cursor, inputPending });
    return {
      next,
      obs: Int32Array.from(obs),
      ops: Int32Array.from(ops),
      progress,
      becameDone,
      effects,
      refs: Int32Array.from(refs),
      stateText,
      text,
      started: kind === N_START || kind === N_RESTART_FRESH ? 1 : kind === N_RESTART_KEPT ? 2 : 0,
    };
  }
}

/**
 * The global view of a state, built on demand for a property or invariant, which records whether it
 * looked at the nodes or the network (what it read decides whether its verdict can be cached).
 * One per use site, reset for each state: properties read their view synchronously.
 */
class ViewProbe {
  private vec: Int32Array = new Int32Array(0);
  private nodesTouched = false;
  private networkTouched = false;
  private nodes: Record<NodeId, NodeView> | null = null;
  readonly view: GlobalView;

  constructor(sys: UntimedSystem) {
    const probe = this;
    this.view = {
      // Time is abstracted away: always 0 here, so reading it adds no dependence on the state.
      get timeMs(): number {
        return 0;
      },
      get nodes(): Readonly<Record<NodeId, NodeView>> {
        probe.nodesTouched = true;
        if (probe.nodes === null) probe.nodes = sys.nodesOf(probe.vec);
        return probe.nodes;
      },
      get inFlight(): readonly InFlightView[] {
        probe.networkTouched = true;
        return sys.inFlightOf(probe.vec);
      },
    };
  }

  reset(vec: Int32Array): this {
    this.vec = vec;
    this.nodesTouched = false;
    this.networkTouched = false;
    this.nodes = null;
    return this;
  }

  touched(): boolean {
    return this.nodesTouched || this.networkTouched;
  }

  touchedNetwork(): boolean {
    return this.networkTouched;
  }
}

function linkConfig(config: SimConfig, from: NodeId, to: NodeId): { fifo: boolean; lossRatio: number; duplicateRatio: number } {
  let link = { ...config.network.default };
  for (const o of config.network.links) {
    if ((o.from === from || o.from === '*') && (o.to === to || o.to === '*')) {
      const { from: _f, to: _t, ...rest } = o;
      link = { ...link, ...rest };
    }
  }
  return link;
}

function startRange(d: Distribution): [number, number] {
  switch (d.kind) {
    case 'fixed':
      return [d.ms, d.ms];
    case 'uniform':
      return [d.minMs, d.maxMs];
    case 'exponential':
      return [0, d.maxMs];
  }
}
