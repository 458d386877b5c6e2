/**
 * Refinement, first half: every random (timed) run is a path of the exhaustive explorer's untimed
 * state space (DESIGN.md, "One kernel, three drivers"; issue 12, item 3).
 *
 * The timed run is simulated with its trace; the untimed system is built for the run's own fault
 * plan (the header's `derived.faults` as scripted faults, in their time order, no random faults, no
 * fault budget). Then the timed trace is walked: each event that is a step of the world (a start,
 * a delivery, a drop on delivery, a timer, a person's input or quit, a scripted fault, a connection
 * event delivered to a running node) must be matched by one event the untimed system has enabled
 * in the current untimed state, which, applied with a recorder, records the same events (same
 * deliveries, sends, drops, prints, state changes, in order; times and message ids ignored).
 *
 * What the timed run decides at other moments than the untimed system, and how it is matched:
 *  - a loss or a duplication by a lossy link is decided at send time in the timed run; the untimed
 *    system has `E_NET_LOSE` / `E_NET_DUP` when the message is at the head of its link. The timed
 *    `drop (loss)` / `duplicate` right after the send are skipped, and the untimed step is taken
 *    as an internal step as soon as that message reaches the head of its link;
 *  - data discarded because its connection was reset (a crash, a restart): the untimed system
 *    discards it at the crash (recording `drop (reset)` there), the timed run when it arrives. The
 *    untimed drops are kept in a pool; a later timed `drop (reset)` of the same message is matched
 *    by the pool, without an untimed step;
 *  - a connection event (or a message nobody ever delivers) that reaches a node that is not
 *    running vanishes in the timed run without a trace event; the untimed system keeps it on its
 *    link until delivered (and then records nothing, or a drop). These are internal steps too,
 *    taken eagerly when the timed trace shows the message has no later fate, else searched for
 *    (bounded) when the next timed event cannot be matched otherwise;
 *  - the heal that ends the safety phase resumes paused nodes: the timed run records a `fault
 *    (resume)` per node, the untimed heal does it inside its own step.
 *
 * Node states are compared after every matched step, soundly: the timed run is simulated with its
 * role runtimes wrapped, so that the state id each timed node step produced is logged (the k-th
 * runtime call belongs to the k-th start/deliver/conn/timer/input/quit event of the trace); the
 * untimed node views (value, context, status) must equal the views of those states, with the
 * status the timed trace implies (started, crashed, paused, resumed, done).
 */
import type { NodeId, NodeStatus, NodeView } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { SimConfig } from '../config.js';
import { PrngChoices } from '../kernel/choice.js';
import type { RoleRuntime } from '../role-runtime.js';
import { simulate, type CompiledModel } from '../simulator.js';
import type { DerivedOptions, TraceEvent } from '../trace.js';
import { E_DELIVER, E_NET_DUP, E_NET_LOSE, UntimedSystem, type Recorder } from './untimed-system.js';
import { linkConfig } from './untimed-topology.js';
import { candidateEvents, compareStep, eventName, notLive, show, spyModel, type Trial } from './refinement-step.js';

export type RefinementResult =
  | {
      ok: true;
      steps: number;
      /**
       * The timed run ends with an invariant finding the untimed state at that point does not have
       * (a property that reads the time: the untimed system's view has time 0). The path refines;
       * the verdicts differ.
       */
      timedOnlyFinding?: string;
    }
  | { ok: false; step: number; event: TraceEvent; why: string; enabled: string[] };

/** Per runtime-calling trace event of the timed run (start fresh, deliver, conn, timer, input, quit), the state id it led to. */
export type TimedStates = readonly number[];

/** Internal steps searched for between two matched steps, at most. */
const MAX_INTERNAL = 3;

/** Simulates `seed` and checks that its trace is a path of the untimed system. */
export function checkRefinement(model: CompiledModel, config: SimConfig, seed: number): RefinementResult {
  const passes: number[][] = [];
  const spy = spyModel(model, (next) => passes[passes.length - 1]!.push(next));
  const run = simulate(spy, config, seed, {
    trace: true,
    choices: () => {
      passes.push([]);
      return new PrngChoices(seed);
    },
  });
  // Every pass of a run (a stall is classified by re-running it) is a prefix of the same run: the longest log covers the trace.
  const log = passes.reduce((a, b) => (b.length > a.length ? b : a), [] as number[]);
  return checkTraceRefinement(model, config, run.header.derived, run.trace, log);
}

/**
 * Checks a timed trace (of `config` with the drawn `derived` options) against the untimed system.
 * `states`: the timed node states (see `TimedStates`), or null to compare recorded events only.
 */
export function checkTraceRefinement(
  model: CompiledModel,
  config: SimConfig,
  derived: DerivedOptions,
  trace: readonly TraceEvent[],
  states: TimedStates | null,
): RefinementResult {
  return new Walk(model, config, derived, trace, states).run();
}

class Walk {
  private readonly sys: UntimedSystem;
  private readonly n: number;
  private vec: Int32Array;
  private rec: Recorder;
  private readonly events: Int32Array;
  private readonly labels: Int32Array;
  /** untimed send id <-> timed message id */
  private readonly u2t = new Map<number, number>();
  /** timed ids the network lost / duplicated at send time, not yet done in the untimed state */
  private readonly lost = new Map<number, number>();
  private readonly duplicated = new Set<number>();
  /** timed ids the untimed system discarded at a reset (its timed drop comes later) */
  private readonly resetPool = new Map<number, number>();
  /** timed ids that are delivered or dropped somewhere in the timed trace */
  private readonly fated = new Set<number>();
  /** per node: the timed status, and the timed state id (-1 unknown) */
  private readonly status: NodeStatus[];
  private readonly stateIds: number[];
  private readonly runtimes: RoleRuntime[];
  private nextLog = 0;
  private lastFault: TraceEvent | null = null;

  constructor(
    private readonly model: CompiledModel,
    private readonly config: SimConfig,
    derived: DerivedOptions,
    private readonly trace: readonly TraceEvent[],
    private readonly states: TimedStates | null,
  ) {
    this.sys = new UntimedSystem(model, { ...config, faults: derived.faults, randomFaults: null }, { faultBudget: 0, memo: false });
    this.n = config.nodes.length;
    this.vec = this.sys.initial();
    this.rec = this.sys.newRecorder();
    this.events = new Int32Array(this.sys.maxEvents);
    this.labels = new Int32Array(this.sys.maxEvents);
    for (const e of trace) if (e.k === 'deliver' || e.k === 'drop') this.fated.add(e.id);
    this.status = config.nodes.map(() => 'not-started');
    this.stateIds = config.nodes.map(() => -1);
    this.runtimes = config.nodes.map((x) => model.runtimes.get(x.role)!);
  }

  run(): RefinementResult {
    let steps = 0;
    let pendingViolation: string | null = null;
    for (let at = 0; at < this.trace.length; ) {
      const ev = this.trace[at]!;
      if (ev.k === 'end') break;
      if (ev.k === 'finding') {
        if (ev.kind !== 'invariant') break;
        const untimed = pendingViolation ?? this.sys.checkInvariants(this.vec)?.summary ?? null;
        if (untimed !== ev.summary) return { ok: true, steps, timedOnlyFinding: `${ev.summary} (the untimed state ${untimed === null ? 'breaks nothing' : `breaks "${untimed}"`})` };
        break;
      }
      if (pendingViolation !== null) return this.fail(steps, ev, `the untimed step before broke "${pendingViolation}", the timed run went on`);
      // a timed drop of data the untimed system discarded at a reset already
      if (ev.k === 'drop' && ev.reason === 'reset' && this.takeReset(ev.id)) {
        at++;
        steps++;
        continue;
      }
      // the heal that ends the safety phase resumed this node inside the untimed heal step
      if (ev.k === 'fault' && ev.fault.kind === 'resume' && this.absorbedResume(ev.fault.node)) {
        this.status[this.idx(ev.fault.node)] = 'running';
        at++;
        continue;
      }
      this.eagerInternal(at);
      const trial = this.matchWithInternal(at);
      if (trial.next < 0) return this.fail(steps, ev, trial.why);
      this.accept(trial);
      if (trial.broke >= 0) pendingViolation = this.sys.violation(trial.broke).summary;
      for (let k = at; k < trial.next; k++) if (this.trace[k]!.k === 'fault') this.lastFault = this.trace[k]!;
      at = trial.next;
      steps++;
    }
    return { ok: true, steps };
  }

  /** Takes one copy of timed message `x` from the reset pool (copies of a duplicated message count apart). */
  private takeReset(x: number): boolean {
    const c = this.resetPool.get(x);
    if (c === undefined) return false;
    if (c > 1) this.resetPool.set(x, c - 1);
    else this.resetPool.delete(x);
    return true;
  }

  private fail(step: number, event: TraceEvent, why: string): RefinementResult {
    return { ok: false, step, event, why, enabled: this.describeEnabled(this.vec, this.rec) };
  }

  private idx(node: NodeId): number {
    return this.sys.nodeIds.indexOf(node);
  }

  private absorbedResume(node: NodeId): boolean {
    const last = this.lastFault;
    if (last === null || last.k !== 'fault' || last.fault.kind !== 'heal' || last.fault.atMs !== this.config.healAtMs) return false;
    return this.status[this.idx(node)] === 'paused' && this.sys.nodesOf(this.vec)[node]!.status === 'running';
  }

  // ---- internal steps ---------------------------------------------------------------------

  private linkOf(a: number, b: number): number {
    return a * (this.n - 1) + (b < a ? b : b - 1);
  }

  /** Link heads: per link, the untimed send id at its head (0 for a connection event), or null when empty. */
  private head(l: number, rec: Recorder): number | null {
    const ids = rec.linkIds[l]!;
    return ids.length === 0 ? null : ids[0]!;
  }

  /**
   * Takes the internal steps that are certainly right: losing or duplicating, at the head of its
   * link, a message the timed network lost or duplicated at send time; dropping a message no
   * timed event ever delivers or drops, or a connection event the timed trace never delivers
   * again, when it reaches a node that is not running.
   */
  private eagerInternal(at: number): void {
    const views = (): Record<NodeId, NodeView> => this.sys.nodesOf(this.vec);
    for (let changed = true; changed; ) {
      changed = false;
      for (let l = 0; l < this.sys.layout.links; l++) {
        // a FIFO link's network choices are at its head; a non-FIFO link's at any message it holds
        const positions = this.fifo(l) ? Math.min(1, this.rec.linkIds[l]!.length) : Math.min(64, this.rec.linkIds[l]!.length);
        for (let pos = 0; pos < positions; pos++) {
        const u = this.rec.linkIds[l]![pos]!;
        const to = this.sys.nodeIds[this.linkTo(l)]!;
        let event = 0;
        let done: Set<number> | null = null;
        const x = u === 0 ? undefined : this.u2t.get(u);
        if (u !== 0) {
          if (x === undefined) continue;
          // (a message the link holds twice is offered at its first copy: the same choice)
          const at = this.sys.firstSameMessage(this.vec, l, pos);
          if (this.lost.has(x)) event = E_NET_LOSE | (((l << 6) | at) << 4);
          else if (this.duplicated.has(x)) [event, done] = [E_NET_DUP | (((l << 6) | at) << 4), this.duplicated];
          else if (pos === 0 && !this.fated.has(x) && notLive(views()[to]!.status)) event = E_DELIVER | ((l << 6) << 4);
          else continue;
        } else {
          // a connection event (its kind is only seen when delivered to a running node)
          if (pos !== 0) continue;
          const from = this.sys.nodeIds[this.linkFrom(l)]!;
          const kind = this.sys.connKindAt(this.vec, l, 0);
          if (!notLive(views()[to]!.status) || this.connLater(at, to, from, kind)) continue;
          event = E_DELIVER | ((l << 6) << 4);
        }
        if (!this.enabled(this.vec, event)) continue;
        if (done !== null) done.delete(x!);
        if ((event & 15) === E_NET_LOSE) {
          const left = this.lost.get(x!)! - 1;
          if (left > 0) this.lost.set(x!, left);
          else this.lost.delete(x!);
        }
        const rec = this.copyRec(this.rec);
        this.sys.apply(this.vec, event, rec);
        this.rec = rec;
        changed = true;
        break; // the link's queue changed: its positions are read again
        }
      }
    }
  }

  /** Whether link `l` is FIFO (the scenario's link config). */
  private fifo(l: number): boolean {
    return linkConfig(this.config, this.sys.nodeIds[this.linkFrom(l)]!, this.sys.nodeIds[this.linkTo(l)]!).fifo;
  }

  private linkTo(l: number): number {
    const a = Math.floor(l / (this.n - 1));
    const r = l % (this.n - 1);
    return r < a ? r : r + 1;
  }

  private linkFrom(l: number): number {
    return Math.floor(l / (this.n - 1));
  }

  /** Whether the timed trace delivers a connection event from `conn.peer` to `to` from `at` on. */
  private connLater(at: number, to: NodeId, peer: NodeId, kind: string | null): boolean {
    for (let k = at; k < this.trace.length; k++) {
      const e = this.trace[k]!;
      if (e.k === 'conn' && e.node === to && e.peer === peer && (kind === null || e.event === kind)) return true;
    }
    return false;
  }

  private enabled(vec: Int32Array, e: number): boolean {
    const count = this.sys.enumerate(vec, this.events, this.labels);
    for (let k = 0; k < count; k++) if (this.events[k] === e) return true;
    return false;
  }

  /** Events that record nothing the timed run shows: a connection event reaching a node that is not running. */
  private internalCandidates(vec: Int32Array, rec: Recorder): number[] {
    const out: number[] = [];
    const views = this.sys.nodesOf(vec);
    for (let l = 0; l < this.sys.layout.links; l++) {
      if (this.head(l, rec) !== 0) continue;
      if (notLive(views[this.sys.nodeIds[this.linkTo(l)]!]!.status)) out.push(E_DELIVER | ((l << 6) << 4));
    }
    return out;
  }

  /** Matches the timed step at `at`, with up to MAX_INTERNAL internal steps before it if needed. */
  private matchWithInternal(at: number): Trial {
    const direct = this.match(this.vec, this.rec, at);
    if (direct.next >= 0) return direct;
    let frontier: { vec: Int32Array; rec: Recorder }[] = [{ vec: this.vec, rec: this.rec }];
    for (let depth = 0; depth < MAX_INTERNAL && frontier.length > 0; depth++) {
      const nextFrontier: typeof frontier = [];
      for (const s of frontier) {
        for (const e of this.internalCandidates(s.vec, s.rec)) {
          const vec = Int32Array.from(s.vec);
          const rec = this.copyRec(s.rec);
          this.sys.apply(vec, e, rec);
          if (rec.trace.length !== s.rec.trace.length) continue;
          const t = this.match(vec, rec, at);
          if (t.next >= 0) return t;
          nextFrontier.push({ vec, rec });
        }
      }
      frontier = nextFrontier;
    }
    return direct;
  }

  // ---- matching one step ------------------------------------------------------------------

  /** The enabled untimed event that does what the timed step at `at` does, or the closest miss. */
  private match(vec: Int32Array, rec: Recorder, at: number): Trial {
    const ev = this.trace[at]!;
    let best: Trial | null = null;
    for (const e of this.candidates(vec, rec, ev)) {
      const t = this.tryEvent(vec, rec, e, at);
      if (t.next >= 0) return t;
      if (best === null || t.matched > best.matched) best = t;
    }
    const what = best === null ? 'no enabled untimed event is of its kind' : `closest: ${this.describe(best)}: ${best.why}`;
    return { ...(best ?? this.emptyTrial(vec, rec)), next: -1, why: `no enabled untimed event does ${show(ev)} (${what})` };
  }

  private emptyTrial(vec: Int32Array, rec: Recorder): Trial {
    return {
      event: 0,
      vec,
      rec,
      broke: -1,
      next: -1,
      why: '',
      matched: 0,
      pairs: [],
      lost: [],
      duplicated: [],
      resetDropped: [],
      status: this.status.slice(),
      stateIds: this.stateIds.slice(),
      nextLog: this.nextLog,
    };
  }

  /** The enabled events that could match a timed event of this kind (on its node or link). */
  private candidates(vec: Int32Array, rec: Recorder, ev: TraceEvent): number[] {
    const count = this.sys.enumerate(vec, this.events, this.labels);
    return candidateEvents(this.events.subarray(0, count), ev, rec, (id) => this.idx(id), (a, b) => this.linkOf(a, b), this.u2t);
  }

  private copyRec(rec: Recorder): Recorder {
    return {
      trace: [],
      t: rec.t + 1,
      nextSendId: rec.nextSendId,
      linkIds: rec.linkIds.map((ids) => ids.slice()),
      lastSent: rec.lastSent.slice(),
      lastReceived: rec.lastReceived.slice(),
    };
  }

  /** Applies `e` to a copy and compares what it records with the timed trace from `at` (-1: do not compare). */
  private tryEvent(vec: Int32Array, rec: Recorder, e: number, at: number): Trial {
    const copy = Int32Array.from(vec);
    const r = this.copyRec(rec);
    const broke = this.sys.apply(copy, e, r);
    const t: Trial = { ...this.emptyTrial(copy, r), event: e, broke };
    if (at >= 0) this.compare(t, at);
    return t;
  }

  /** Compares what `t` recorded with the timed trace from `at` (refinement-step.ts). */
  private compare(t: Trial, at: number): void {
    compareStep(this.trace, this.u2t, t, at, (from, to) => this.compareStates(t, from, to));
  }

  private accept(t: Trial): void {
    this.vec = t.vec;
    const rec = t.rec;
    this.rec = rec;
    for (const [u, x] of t.pairs) this.u2t.set(u, x);
    for (const x of t.lost) this.lost.set(x, (this.lost.get(x) ?? 0) + 1);
    for (const x of t.duplicated) this.duplicated.add(x);
    for (const x of t.resetDropped) {
      // discarded before its network duplication reached the head of its link: both timed copies drop
      const copies = this.duplicated.delete(x) ? 2 : 1;
      this.resetPool.set(x, (this.resetPool.get(x) ?? 0) + copies);
    }
    this.status.splice(0, this.n, ...t.status);
    this.stateIds.splice(0, this.n, ...t.stateIds);
    this.nextLog = t.nextLog;
  }

  // ---- node states ------------------------------------------------------------------------

  /** Updates the trial's timed node states with the timed events [from, to) and compares the untimed views with them. */
  private compareStates(t: Trial, from: number, to: number): string | null {
    for (let k = from; k < to; k++) this.timedStatus(t, this.trace[k]!);
    const views = this.sys.nodesOf(t.vec);
    for (let i = 0; i < this.n; i++) {
      const id = this.sys.nodeIds[i]!;
      const v = views[id]!;
      if (v.status !== t.status[i]) return `after it, ${id} is ${v.status} in the untimed state, ${t.status[i]} in the timed run`;
      const s = t.stateIds[i]!;
      if (s < 0) continue;
      const st = this.runtimes[i]!.state(s);
      if (v.value !== st.snapshot.value && canonicalJson(v.value) !== canonicalJson(st.snapshot.value)) {
        return `after it, ${id} is in ${canonicalJson(v.value)} in the untimed state, ${st.valueText} in the timed run`;
      }
      if (v.context !== st.context && canonicalJson(v.context) !== canonicalJson(st.context)) {
        return `after it, ${id}'s context is ${canonicalJson(v.context)} in the untimed state, ${canonicalJson(st.context)} in the timed run`;
      }
    }
    return null;
  }

  /** What one timed event does to the timed node statuses and states (in the trial). */
  private timedStatus(t: Trial, e: TraceEvent): void {
    const logged = (i: number): void => {
      if (this.states === null) return;
      const s = this.states[t.nextLog++];
      if (s === undefined) return;
      t.stateIds[i] = s;
      if (this.runtimes[i]!.state(s).done && t.status[i] === 'running') t.status[i] = 'done';
    };
    if (e.k === 'start') {
      const i = this.idx(e.node);
      t.status[i] = 'running';
      if (e.fresh) logged(i);
      else if (t.stateIds[i]! >= 0 && this.runtimes[i]!.state(t.stateIds[i]!).done) t.status[i] = 'done';
    } else if (e.k === 'conn' || e.k === 'timer' || e.k === 'input' || e.k === 'quit') {
      logged(this.idx(e.node));
    } else if (e.k === 'deliver') {
      logged(this.idx(e.to));
    } else if (e.k === 'fault' && (e.fault.kind === 'crash' || e.fault.kind === 'pause' || e.fault.kind === 'resume')) {
      const i = this.idx(e.fault.node);
      const st = t.status[i];
      if (e.fault.kind === 'crash' && (st === 'running' || st === 'paused')) t.status[i] = 'crashed';
      if (e.fault.kind === 'pause' && st === 'running') t.status[i] = 'paused';
      if (e.fault.kind === 'resume' && st === 'paused') t.status[i] = 'running';
    }
  }

  // ---- reports ----------------------------------------------------------------------------

  private describe(t: Trial): string {
    const first = t.rec.trace[0];
    return `${eventName(t.event)}${first ? ` [${show(first)}${t.rec.trace.length > 1 ? ', ...' : ''}]` : ''}`;
  }

  private describeEnabled(vec: Int32Array, rec: Recorder): string[] {
    const count = this.sys.enumerate(vec, this.events, this.labels);
    const events = Array.from(this.events.subarray(0, count));
    return events.map((e) => this.describe(this.tryEvent(vec, rec, e, -1)));
  }
}

