/**
 * Faults in the untimed system: the scripted faults, in time order (the untimed search keeps their
 * order, not their times), and the faults the search may inject within its budget, with what ends
 * them; how each fault changes a state; and the network's own losses and duplications.
 *
 * The budget kinds are those the random simulator draws for the scenario's `randomFaults.kinds`
 * (config.ts), in every variant it draws them: a crash kills (connections reset) or vanishes
 * (silent); a restart is a killed node started fresh or with its state kept; a pause freezes a node
 * until it resumes; a partition cuts a node off from every other, both ways or one way, until the
 * network heals; a drop or duplicate hits one message.
 */
import type { NodeId } from '../../models/types.js';
import type { FaultSpec, SimConfig } from '../config.js';
import { CRASHED, crashConnections, partitionLinks, PAUSED, restartConnections, ruleOf, RUNNING } from '../kernel/world-rules.js';
import type { ChannelStore } from './channel-store.js';
import type { Monitors } from './monitors.js';
import type { Observations } from './observations.js';
import {
  E_CRASH,
  E_DUP,
  E_HEAL,
  E_LOSE,
  E_NET_DUP,
  E_NET_LOSE,
  E_PARTITION,
  E_PAUSE,
  E_RESTART,
  E_RESUME,
  K_BLOCKED,
  K_FAULTS,
  K_RULES,
  K_SILENT,
  LABEL_FAULT,
  N_CRASH,
  N_PAUSE,
  N_RESTART_FRESH,
  N_RESTART_KEPT,
  N_RESUME,
  VARIANT_BIT,
  type Local,
  type Recorder,
} from './untimed-model.js';
import type { Topology } from './untimed-topology.js';
import type { UntimedSteps } from './untimed-steps.js';

/** The fault kinds the search may inject within its budget. */
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

/** The parts of the system faults read and change. */
interface FaultParts {
  nodeIds: readonly NodeId[];
  store: ChannelStore;
  monitors: Monitors;
  observations: Observations;
  topology: Topology;
  locals: Local[][];
}

export class FaultEvents {
  /** the steps of the system: node steps, and the `Connections` the kernel's rules act on */
  private readonly sys: UntimedSteps;
  private readonly store: ChannelStore;
  private readonly monitors: Monitors;
  private readonly observations: Observations;
  private readonly topology: Topology;
  private readonly locals: Local[][];
  private readonly nodeIds: readonly NodeId[];
  private readonly n: number;
  readonly scripted: FaultSpec[];
  /** index in `scripted` of the heal that ends the safety phase (resumes paused nodes), or -1 */
  readonly healPhaseIndex: number;
  private readonly budget: number;
  private readonly kinds: BudgetKinds;
  private readonly eligible: boolean[];

  constructor(sys: UntimedSteps, config: SimConfig, budget: number, parts: FaultParts) {
    this.sys = sys;
    this.store = parts.store;
    this.monitors = parts.monitors;
    this.observations = parts.observations;
    this.topology = parts.topology;
    this.locals = parts.locals;
    this.nodeIds = parts.nodeIds;
    this.n = parts.nodeIds.length;
    // scripted faults, in time order (the untimed search keeps their order, not their times)
    const scripted: { f: FaultSpec; healPhase: boolean }[] = config.faults.map((f) => ({ f, healPhase: false }));
    if (config.healAtMs !== null) scripted.push({ f: { kind: 'heal', atMs: config.healAtMs }, healPhase: true });
    scripted.sort((a, b) => a.f.atMs - b.f.atMs);
    this.scripted = scripted.map((s) => s.f);
    this.healPhaseIndex = scripted.findIndex((s) => s.healPhase);
    this.budget = budget;
    const kinds = config.randomFaults?.kinds ?? ['crash', 'restart', 'drop'];
    this.kinds = {
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
  }

  // ---- enumeration --------------------------------------------------------------------------

  /** Appends the fault events enabled in `vec` from index k (see `UntimedSystem.enumerate`); returns the new count. */
  enumerate(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    if (this.budget > 0 && this.store.mget(vec, K_FAULTS) < this.budget) k = this.enumerateBudget(vec, events, labels, k);
    // a budgeted crash may be followed by a restart (free: the pair is one fault); without a budget,
    // crashes are the scenario's own and so are their restarts (a free restart there would be a
    // fault the scenario does not have, e.g. a client restarted with its state kept)
    if (this.kinds.restart && this.budget > 0) {
      for (let i = 0; i < this.n; i++) {
        if (this.eligible[i] && this.locals[i]![vec[i]!]!.status === CRASHED) {
          events[k] = E_RESTART | (i << 4);
          labels[k++] = LABEL_FAULT;
          events[k] = E_RESTART | ((i | VARIANT_BIT) << 4);
          labels[k++] = LABEL_FAULT;
        }
      }
    }
    k = this.enumerateEnds(vec, events, labels, k);
    if (this.topology.anyLossy) k = this.enumerateNetwork(vec, events, labels, k);
    return k;
  }

  /** Faults within the budget: kills, then the other node faults, then losses and duplications. */
  private enumerateBudget(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const bk = this.kinds;
    if (bk.crash) {
      for (let i = 0; i < this.n; i++) {
        if (!this.eligible[i]) continue;
        const st = this.locals[i]![vec[i]!]!.status;
        if (st === RUNNING || st === PAUSED) {
          events[k] = E_CRASH | (i << 4);
          labels[k++] = LABEL_FAULT;
        }
      }
    }
    k = this.enumerateMore(vec, events, labels, k);
    if (bk.drop || bk.duplicate) {
      const store = this.store;
      for (let l = 0; l < this.topology.links; l++) {
        const q = store.q(vec, l);
        if (q === 0) continue;
        const head = store.msgs[store.queues[q]![0]!]!;
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
    return k;
  }

  /**
   * Budget faults beyond kills, losses and duplications (appended after kills, so the enumeration
   * order of scenarios without these kinds is unchanged): silent crashes, pauses, partitions.
   */
  private enumerateMore(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const bk = this.kinds;
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
  private enumerateEnds(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const bk = this.kinds;
    for (let i = 0; bk.pause && i < this.n; i++) {
      if (this.eligible[i] && this.locals[i]![vec[i]!]!.status === PAUSED) {
        events[k] = E_RESUME | (i << 4);
        labels[k++] = LABEL_FAULT;
      }
    }
    if (bk.partition && this.store.mget(vec, K_BLOCKED) !== 0) {
      events[k] = E_HEAL;
      labels[k++] = LABEL_FAULT;
    }
    return k;
  }

  /**
   * Lossy or duplicating links: the network's own choices. A FIFO link loses or duplicates the
   * message at its head (what it loses was lost at any moment before; TCP keeps order). A non-FIFO
   * link may lose or duplicate any message it holds, as the timed simulator decides each message's
   * fate on its own (one choice per distinct message).
   */
  private enumerateNetwork(vec: Int32Array, events: Int32Array, labels: Int32Array, k: number): number {
    const { linkLoss, linkDup, linkFifo, links } = this.topology;
    const store = this.store;
    for (let l = 0; l < links; l++) {
      if (!linkLoss[l] && !linkDup[l]) continue;
      const q = store.q(vec, l);
      if (q === 0) continue;
      const queue = store.queues[q]!;
      const count = linkFifo[l] ? 1 : Math.min(queue.length, 64);
      for (let pos = 0; pos < count; pos++) {
        if (store.msgs[queue[pos]!]!.conn !== null) continue;
        if (queue.indexOf(queue[pos]!) !== pos) continue; // the same message twice: one choice
        if (linkLoss[l]) {
          events[k] = E_NET_LOSE | (((l << 6) | pos) << 4);
          labels[k++] = LABEL_FAULT;
        }
        if (linkDup[l]) {
          events[k] = E_NET_DUP | (((l << 6) | pos) << 4);
          labels[k++] = LABEL_FAULT;
        }
      }
    }
    return k;
  }

  // ---- applying faults ----------------------------------------------------------------------

  /** Applies a fault to `vec` (inside `apply`). Returns a violation index or -1. */
  apply(vec: Int32Array, fault: FaultSpec, healPhase: boolean, rec: Recorder | null): number {
    if (rec) rec.trace.push({ k: 'fault', t: rec.t, fault });
    switch (fault.kind) {
      case 'crash':
        return this.crash(vec, this.nodeIds.indexOf(fault.node), fault.mode, rec);
      case 'restart':
        return this.restart(vec, this.nodeIds.indexOf(fault.node), fault.state, rec);
      case 'pause': {
        const i = this.nodeIds.indexOf(fault.node);
        if (this.locals[i]![vec[i]!]!.status === RUNNING) this.sys.stepNode(vec, i, N_PAUSE, rec);
        return -1;
      }
      case 'resume': {
        const i = this.nodeIds.indexOf(fault.node);
        if (this.locals[i]![vec[i]!]!.status === PAUSED) this.sys.stepNode(vec, i, N_RESUME, rec);
        return -1;
      }
      case 'partition': {
        const set = Uint8Array.from(this.store.blockedSets[this.store.mget(vec, K_BLOCKED)]!);
        for (const [a, b] of partitionLinks(fault, (id) => this.nodeIds.indexOf(id))) set[this.topology.linkOf[a * this.n + b]!] = 1;
        this.store.mset(vec, K_BLOCKED, this.store.internBlocked(set));
        return -1;
      }
      case 'heal': {
        this.store.mset(vec, K_BLOCKED, 0);
        if (healPhase) {
          for (let i = 0; i < this.n; i++) {
            if (this.locals[i]![vec[i]!]!.status === PAUSED) this.sys.stepNode(vec, i, N_RESUME, rec);
          }
        }
        return -1;
      }
      case 'drop':
      case 'duplicate': {
        const rules = [...this.store.ruleSets[this.store.mget(vec, K_RULES)]!, ruleOf(fault, (id) => this.nodeIds.indexOf(id))];
        this.store.mset(vec, K_RULES, this.store.internRules(rules));
        return -1;
      }
    }
  }

  private crash(vec: Int32Array, i: number, mode: 'reset' | 'silent', rec: Recorder | null): number {
    const st = this.locals[i]![vec[i]!]!.status;
    if (st !== RUNNING && st !== PAUSED) return -1;
    this.sys.stepNode(vec, i, N_CRASH, rec);
    if (mode === 'silent') this.store.mset(vec, K_SILENT, this.store.mget(vec, K_SILENT) | (1 << i));
    else this.store.mset(vec, K_SILENT, this.store.mget(vec, K_SILENT) & ~(1 << i));
    const v = this.monitors.observe(vec, this.observations.faultObservation(i, 0));
    if (v >= 0) return v;
    this.sys.enter(vec, rec);
    crashConnections(this.sys, i, mode);
    return -1;
  }

  private restart(vec: Int32Array, i: number, state: 'fresh' | 'kept', rec: Recorder | null): number {
    if (this.locals[i]![vec[i]!]!.status !== CRASHED) return -1;
    this.store.mset(vec, K_SILENT, this.store.mget(vec, K_SILENT) & ~(1 << i));
    this.sys.enter(vec, rec);
    restartConnections(this.sys, i);
    const v = this.monitors.observe(vec, this.observations.faultObservation(i, state === 'fresh' ? 1 : 2));
    if (v >= 0) return v;
    return this.sys.stepNode(vec, i, state === 'fresh' ? N_RESTART_FRESH : N_RESTART_KEPT, rec);
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
}
