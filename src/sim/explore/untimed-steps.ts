/**
 * How an event changes a global state of the untimed system (untimed-system.ts): a node's start,
 * timer, input or delivery steps the node (its cached outcome, node-locals.ts) and carries out its
 * effects by the kernel's rules (kernel/world-rules.ts), which act on the state through the
 * `Connections` interface implemented here; faults are fault-events.ts's. With a recorder, the
 * trace events a step causes are recorded as it goes.
 */
import type { NodeId } from '../../models/types.js';
import type { SimConfig } from '../config.js';
import type { DropReason } from '../trace.js';
import {
  applyRules,
  arrival,
  closeAll,
  closeConnection,
  openAfterDelivery,
  openAfterSend,
  partitionedArrival,
  refusalNotifies,
  RUNNING,
  sendRefusal,
  type Connections,
} from '../kernel/world-rules.js';
import type { ChannelStore } from './channel-store.js';
import { FaultEvents } from './fault-events.js';
import type { Monitors } from './monitors.js';
import type { NodeLocals } from './node-locals.js';
import type { Observations } from './observations.js';
import type { MemoHost } from './transition-memo.js';
import {
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
  K_BLOCKED,
  K_FAULTS,
  K_RULES,
  K_SCRIPT,
  K_SILENT,
  N_DELIVER,
  N_INPUT,
  N_QUIT,
  N_START,
  N_TIMER,
  type Local,
  type NodeResult,
  type Recorder,
} from './untimed-model.js';
import type { Topology } from './untimed-topology.js';

/** The parts of the system a step reads and writes. */
export interface StepParts {
  nodeIds: readonly NodeId[];
  http: boolean;
  topology: Topology;
  nodes: NodeLocals;
  store: ChannelStore;
  monitors: Monitors;
  observations: Observations;
}

export class UntimedSteps implements Connections, MemoHost {
  private readonly n: number;
  private readonly nodeIds: readonly NodeId[];
  private readonly http: boolean;
  private readonly topo: Topology;
  private readonly nodes: NodeLocals;
  /** the nodes' interned locals (the same table as `nodes.locals`) */
  private readonly locals: Local[][];
  private readonly store: ChannelStore;
  private readonly monitors: Monitors;
  readonly faults: FaultEvents;

  constructor(parts: StepParts, config: SimConfig, faultBudget: number) {
    this.nodeIds = parts.nodeIds;
    this.n = parts.nodeIds.length;
    this.http = parts.http;
    this.topo = parts.topology;
    this.nodes = parts.nodes;
    this.locals = parts.nodes.locals;
    this.store = parts.store;
    this.monitors = parts.monitors;
    this.faults = new FaultEvents(this, config, faultBudget, { ...parts, locals: this.locals });
  }

  /** `apply` step by step, without the memo. */
  applyDirect(vec: Int32Array, event: number, rec: Recorder | null): number {
    const type = event & 15;
    const arg = event >>> 4;
    this.progressFlag = false;
    this.store.beginPairs();
    let violation: number = -1;
    switch (type) {
      case E_START:
        violation = this.stepNode(vec, arg, N_START, rec);
        break;
      case E_DELIVER: {
        const l = arg >>> 6;
        const pos = arg & 63;
        const msgId = this.store.queues[this.store.q(vec, l)]![pos]!;
        const sendId = this.store.linkRemoveAt(vec, l, pos, rec);
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
      case E_INPUT:
        violation = this.input(vec, arg, rec);
        break;
      case E_SCRIPT: {
        const index = this.store.mget(vec, K_SCRIPT);
        this.store.mset(vec, K_SCRIPT, index + 1);
        violation = this.faults.apply(vec, this.faults.scripted[index]!, index === this.faults.healPhaseIndex, rec);
        break;
      }
      case E_CRASH:
      case E_RESTART:
      case E_PAUSE:
      case E_RESUME:
      case E_PARTITION:
      case E_HEAL:
        if (type === E_CRASH || type === E_PAUSE || type === E_PARTITION) this.store.mset(vec, K_FAULTS, this.store.mget(vec, K_FAULTS) + 1);
        violation = this.faults.apply(vec, this.faults.budgetFault(type, arg), false, rec);
        break;
      default:
        this.applyNetworkFault(vec, type, arg, rec);
    }
    this.store.flushPairs(vec);
    return violation;
  }

  /** The person at node i types their next line, or quits when they have none left. */
  private input(vec: Int32Array, i: number, rec: Recorder | null): number {
    const loc = this.locals[i]![vec[i]!]!;
    const lines = this.nodes.messages[i]!;
    const quitting = loc.cursor >= lines.length;
    if (rec) {
      if (quitting) rec.trace.push({ k: 'quit', t: rec.t, node: this.nodeIds[i]! });
      else rec.trace.push({ k: 'input', t: rec.t, node: this.nodeIds[i]!, text: lines[loc.cursor]! });
    }
    return this.stepNode(vec, i, quitting ? N_QUIT : N_INPUT, rec);
  }

  /** A loss or duplication of the message at the head of a link: injected (budget) or the network's own. */
  private applyNetworkFault(vec: Int32Array, type: number, arg: number, rec: Recorder | null): void {
    const store = this.store;
    if (type === E_LOSE || type === E_DUP) store.mset(vec, K_FAULTS, store.mget(vec, K_FAULTS) + 1);
    const l = arg >>> 6;
    // the message's position on its link: the head, but any on a non-FIFO link (E_NET_*)
    const pos = arg & 63;
    if (type === E_LOSE || type === E_NET_LOSE) {
      const msgId = store.queues[store.q(vec, l)]![pos]!;
      const sendId = store.linkRemoveAt(vec, l, pos, rec);
      if (rec) this.recordDrop(rec, msgId, sendId, type === E_LOSE ? 'fault' : 'loss');
      return;
    }
    if (type !== E_DUP && type !== E_NET_DUP) throw new Error(`unknown event type ${type}`);
    const q = store.queues[store.q(vec, l)]!;
    const copy = Array.from(q);
    copy.splice(pos + 1, 0, q[pos]!);
    store.setQ(vec, l, store.internQueue(copy));
    if (rec) {
      const ids = rec.linkIds[l]!;
      ids.splice(pos + 1, 0, ids[pos]!);
      const m = store.msgs[q[pos]!]!;
      rec.trace.push({ k: 'duplicate', t: rec.t, id: ids[pos]!, copy: 1, from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]! });
    }
  }

  /** The node outcome of the last node step taken (for the memo and `lastNodeEffects`). */
  lastNodeResult: NodeResult | null = null;

  /** Set during `apply` when a progress effect happened. */
  progressFlag = false;

  private deliver(vec: Int32Array, l: number, msgId: number, sendId: number, rec: Recorder | null): number {
    const store = this.store;
    const m = store.msgs[msgId]!;
    const i = m.to;
    const loc = this.locals[i]![vec[i]!]!;
    if (m.conn !== null) {
      if (loc.status !== RUNNING) return -1;
      if (rec) rec.trace.push({ k: 'conn', t: rec.t, node: this.nodeIds[i]!, peer: this.nodeIds[m.from]!, event: m.conn });
      return this.stepNode(vec, i, N_DELIVER | (msgId << 4), rec);
    }
    // (a FIFO link under partition holds its data: it is not enumerated until the partition heals)
    if (store.blockedSets[store.mget(vec, K_BLOCKED)]![l] === 1 && partitionedArrival(this.topo.linkFifo[l]!) === 'partition') {
      if (rec) this.recordDrop(rec, msgId, sendId, 'partition');
      return -1;
    }
    // (a paused node's links are not enumerated, but for the loss of a partitioned datagram link above)
    const fate = arrival(loc.status);
    if (fate !== 'deliver' && fate !== 'wait') {
      if (rec) this.recordDrop(rec, msgId, sendId, fate);
      return -1;
    }
    {
      const p = this.topo.pairOf[m.from * this.n + i]!;
      const open = store.open(vec, p);
      const after = openAfterDelivery(this.http, this.nodes.isServer[m.from]!, open);
      if (after !== open) store.setOpen(vec, p, after);
    }
    if (rec) {
      rec.trace.push({ k: 'deliver', t: rec.t, id: sendId, from: this.nodeIds[m.from]!, to: this.nodeIds[i]!, msg: m.msg! });
      rec.lastReceived[i] = { t: rec.t, from: this.nodeIds[m.from]!, msg: m.msg! };
    }
    const v = this.monitors.observe(vec, m.obs);
    if (v >= 0) return v;
    return this.stepNode(vec, i, N_DELIVER | (msgId << 4), rec);
  }

  /** Steps node `i` with a node event and carries out the effects. Returns a violation index or -1. */
  stepNode(vec: Int32Array, i: number, code: number, rec: Recorder | null): number {
    const localId = vec[i]!;
    const r = this.nodes.result(i, localId, code);
    this.lastNodeResult = r;
    vec[i] = r.next;
    if (r.progress) this.progressFlag = true;
    if (rec) return this.applyRecorded(vec, i, r, rec);
    const obs = r.obs;
    for (let k = 0; k < obs.length; k++) {
      const v = this.monitors.observe(vec, obs[k]!);
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
  private applyRecorded(vec: Int32Array, i: number, r: NodeResult, rec: Recorder): number {
    const id = this.nodeIds[i]!;
    const next = this.locals[i]![r.next]!;
    if (r.started !== 0 && next.stateId >= 0) {
      rec.trace.push({ k: 'start', t: rec.t, node: id, role: this.nodes.roles[i]!, state: this.nodes.runtimes[i]!.state(next.stateId).valueText, fresh: r.started === 1 });
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
        const v = this.monitors.observe(vec, ref);
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
    const store = this.store;
    const m = store.msgs[msgId]!;
    const t = m.to;
    let sendId = 0;
    if (rec) {
      sendId = rec.nextSendId++;
      rec.trace.push({ k: 'send', t: rec.t, id: sendId, from: this.nodeIds[i]!, to: this.nodeIds[t]!, msg: m.msg! });
      rec.lastSent[i] = { t: rec.t, to: this.nodeIds[t]!, msg: m.msg! };
    }
    const p = this.topo.pairOf[i * this.n + t]!;
    const target = this.locals[t]![vec[t]!]!.status;
    const open = store.open(vec, p);
    const isServer = this.nodes.isServer;
    const refused = sendRefusal(open > 0, isServer[i]!, isServer[t]!, target);
    if (refused !== null) {
      if (rec) this.recordDrop(rec, msgId, sendId, refused);
      if (refusalNotifies(target, (store.mget(vec, K_SILENT) & (1 << t)) !== 0)) {
        store.linkAppend(vec, this.topo.linkOf[t * this.n + i]!, store.connMsg(t, i, 'refused'), rec, 0);
      }
      return;
    }
    const opened = openAfterSend(this.http, isServer[i]!, open);
    if (opened !== open) store.setOpen(vec, p, opened);
    let copies = 1;
    const rulesId = store.mget(vec, K_RULES);
    if (rulesId !== 0) {
      const applied = applyRules(store.ruleSets[rulesId]!, i, t, m.msg!.type);
      store.mset(vec, K_RULES, store.internRules(applied.rules));
      copies = applied.copies;
      if (copies === 0) {
        if (rec) this.recordDrop(rec, msgId, sendId, 'fault');
        return;
      }
    }
    const l = this.topo.linkOf[i * this.n + t]!;
    for (let c = 0; c < copies; c++) {
      if (c > 0 && rec) rec.trace.push({ k: 'duplicate', t: rec.t, id: sendId, copy: c, from: this.nodeIds[i]!, to: this.nodeIds[t]! });
      store.linkAppend(vec, l, msgId, rec, sendId);
    }
  }

  // ---- the connections, as the kernel's rules see them (kernel/world-rules.ts) ----------------
  //
  // The rules read and change the state being applied to (`cur`, with `curRec` recording), set by
  // `enter` before a rule is called: the `Connections` interface speaks of nodes only.

  private cur: Int32Array = new Int32Array(0);
  private curRec: Recorder | null = null;

  /** Sets the state (and recorder) the kernel's rules act on through `Connections`. */
  enter(vec: Int32Array, rec: Recorder | null): void {
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
    return this.store.open(this.cur, this.topo.pairOf[a * this.n + b]!) > 0;
  }

  setClosed(a: number, b: number): void {
    this.store.setOpen(this.cur, this.topo.pairOf[a * this.n + b]!, 0);
  }

  discardData(a: number, b: number): void {
    this.discardPairData(this.cur, a, b, this.curRec);
  }

  notify(to: number, from: number, event: 'reset' | 'closed'): void {
    this.store.linkAppend(this.cur, this.topo.linkOf[from * this.n + to]!, this.store.connMsg(from, to, event), this.curRec, 0);
  }

  /** Removes the protocol messages in flight between a and b, both ways (their epoch ended). */
  private discardPairData(vec: Int32Array, a: number, b: number, rec: Recorder | null): void {
    const store = this.store;
    for (const l of [this.topo.linkOf[a * this.n + b]!, this.topo.linkOf[b * this.n + a]!]) {
      const q = store.queues[store.q(vec, l)]!;
      if (q.length === 0) continue;
      const keep: number[] = [];
      const keepIds: number[] = [];
      for (let k = 0; k < q.length; k++) {
        const m = store.msgs[q[k]!]!;
        if (m.conn !== null) {
          keep.push(q[k]!);
          if (rec) keepIds.push(rec.linkIds[l]![k]!);
        } else if (rec) {
          this.recordDrop(rec, q[k]!, rec.linkIds[l]![k]!, 'reset');
        }
      }
      store.setQ(vec, l, store.internQueue(keep));
      if (rec) rec.linkIds[l] = keepIds;
    }
  }

  private recordDrop(rec: Recorder, msgId: number, sendId: number, reason: DropReason): void {
    const m = this.store.msgs[msgId]!;
    if (m.msg === null) return;
    rec.trace.push({ k: 'drop', t: rec.t, id: sendId, from: this.nodeIds[m.from]!, to: this.nodeIds[m.to]!, msg: m.msg, reason });
  }
}
