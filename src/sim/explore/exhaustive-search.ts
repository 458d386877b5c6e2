/**
 * The breadth-first search of the exhaustive explorer (exhaustive.ts) over the canonical global
 * states of the untimed system: the state table with BFS parent pointers, the edges kept for the
 * cycle check, the findings made so far with the shortest path to each, and the bounds.
 *
 * States are expanded in batches: first every successor of the batch's states is computed and
 * staged in the table (their slot reads overlap, see StateTable#stage), then the states are
 * processed one by one in BFS order exactly as without batching, so that counts, parents and
 * findings do not depend on the batch size. Work done for states after a stop is discarded.
 */
import type { SimConfig } from '../config.js';
import type { ExhaustiveOptions } from './exhaustive.js';
import { cycleFindings } from './cycle-findings.js';
import { CycleProviso, type ProvisoGraph } from './cycle-proviso.js';
import { progressBit, type StateGraph } from './fair-cycles.js';
import { GrowableArray } from './growable-array.js';
import { HashStore } from './hash-store.js';
import { Batch, BATCH_STATES } from './search-batch.js';
import { StateTable } from './state-table.js';
import type { Symmetry } from './symmetry.js';
import { deadlockSummary, type RawFinding } from './raw-finding.js';

export type { RawFinding } from './raw-finding.js';
import { LABEL_FAULT, type UntimedSystem } from './untimed-system.js';

/** What `take` did with a successor. */
const TAKE_STOP = 0;
const TAKE_NEW = 1;
const TAKE_SEEN = 2;
const TAKE_BROKEN = 3;

/** The target of an edge slot whose event was not explored (no state has this index). */
const NO_STATE = 0x7fffffff;

export class ExhaustiveSearch {
  readonly table: StateTable | HashStore;
  private readonly sys: UntimedSystem;
  private readonly config: SimConfig;
  private readonly options: ExhaustiveOptions;
  private readonly width: number;
  private readonly wantCycles: boolean;
  readonly stopAtFirst: boolean;
  private readonly progressEvery: number;

  /** Per state: BFS parent, choice, first edge slot; per edge slot: target, label (growing in place). */
  private readonly parents = new GrowableArray(Int32Array, 1 << 16);
  private readonly choices = new GrowableArray(Uint16Array, 1 << 16);
  private readonly edgeStarts = new GrowableArray(Int32Array, 1 << 16);
  private readonly edgeTos = new GrowableArray(Int32Array, 1 << 16);
  private readonly edgeLabels = new GrowableArray(Uint16Array, 1 << 16);
  private parent: Int32Array;
  private choice: Uint16Array;
  private edgeStart: Int32Array;
  private edgeTo: Int32Array;
  private edgeLabel: Uint16Array;
  /** under symmetry, per edge slot: the permutation that made its target canonical (quotient-fairness.ts) */
  private readonly edgePerms = new GrowableArray(Uint16Array, 1 << 16);
  private edgePerm: Uint16Array;
  /** the permutation of the successor `take` is given */
  private lastPerm = 0;
  private edgeCount = 0;
  /** states whose invariant is broken (one bit each): reported, not expanded */
  private readonly terminals = new GrowableArray(Int32Array, 1 << 11);

  /** the shortest finding per id, and how often each id was found */
  readonly found = new Map<string, RawFinding>();
  readonly occurrences: Record<string, number> = {};

  private readonly events: Int32Array;
  private readonly labels: Int32Array;
  /** per depth: the index of its first state */
  readonly levels: number[] = [0];
  private readonly initialBroken: { id: string; summary: string } | null;
  transitions = 0;
  limitHit: string | null = null;
  private depth = 0;
  private levelEnd = 1;
  expanded = 0;
  /** edges of the expanded states end here (a state cut short by a bound has no edges yet) */
  private edgesDone = 0;
  private nextCycleCheck = 1024;
  private readonly batch: Batch;
  /** partial-order reduction (partial-order.ts): on, and its buffers */
  private readonly reduce: boolean;
  private readonly ampleOut: Int32Array;
  private readonly loose: Int32Array;
  private readonly isAmple: Uint8Array;
  /** the cycle proviso (cycle-proviso.ts), and the state the last `take` reached (-1: none) */
  readonly proviso = new CycleProviso();
  private lastId = -1;
  private readonly walkGraph: ProvisoGraph = { edgeStart: new Int32Array(0), edgeTo: new Int32Array(0), expanded: 0, edgesDone: 0 };
  /** how many events the last `enumerate` wrote */
  private enumerated = 0;
  /** successors staged for the current batch (staged again if a loose insert widens the table) */
  private batchSuccessors = 0;
  /** the first edge slot of the state being visited (with reduction: one slot per enabled event) */
  private edgeBase = 0;
  /** symmetry reduction (symmetry.ts): successors are made canonical, and invariant verdicts checked */
  private readonly sym: Symmetry | null;
  /** states whose ample set was explored alone, and states the cycle proviso expanded fully */
  reducedStates = 0;
  provisoStates = 0;

  constructor(sys: UntimedSystem, config: SimConfig, options: ExhaustiveOptions) {
    this.sys = sys;
    this.config = config;
    this.options = options;
    this.width = sys.layout.width;
    const memory = options.memory ?? 'exact';
    this.table = memory === 'exact' ? new StateTable(this.width) : new HashStore(this.width, memory, options.hashBits);
    // (the approximate modes keep no index of a state seen before, so no graph: safety only, as Spin's BFS)
    this.sym = options.symmetry === true ? sys.symmetry : null;
    // (under symmetry, an edge leads to a permutation of its target: fairness is decided concretely, cycle-findings.ts)
    this.wantCycles = config.checks.livelock && memory === 'exact';
    this.stopAtFirst = !(options.all ?? false);
    this.progressEvery = Math.max(1, options.progressEvery ?? 4096);
    this.parent = this.parents.array;
    this.choice = this.choices.array;
    this.edgeStart = this.edgeStarts.array;
    this.edgeTo = this.edgeTos.array;
    this.edgeLabel = this.edgeLabels.array;
    this.edgePerm = this.edgePerms.array;
    this.events = new Int32Array(sys.maxEvents);
    this.labels = new Int32Array(sys.maxEvents);
    this.batch = new Batch(this.width);
    this.reduce = options.reduction === 'por';
    this.ampleOut = new Int32Array(this.reduce ? sys.maxEvents : 0);
    this.loose = new Int32Array(this.width);
    this.isAmple = new Uint8Array(this.reduce ? sys.maxEvents : 0);
    this.table.insert(sys.initial());
    this.initialBroken = sys.checkInvariants(sys.initial());
    this.sym?.checkInvariants(sys.initial(), this.initialBroken?.id ?? null);
    const b = this.initialBroken;
    if (b) this.record({ kind: 'invariant', id: b.id, summary: b.summary, path: [], at: 0, choice: -1, cycleAt: null });
  }

  /** Bytes held by the search's tables: states, parents, choices, edges (what `maxMemoryMiB` bounds). */
  get bytes(): number {
    const n = this.table.count;
    return this.table.bytes + this.parents.bytesFor(n) + this.choices.bytesFor(n) + n / 8 + this.edgeStarts.bytesFor(this.wantCycles ? n : 0) + this.edgeTos.bytesFor(this.edgeCount) + this.edgeLabels.bytesFor(this.edgeCount) + (this.sym !== null ? this.edgePerms.bytesFor(this.edgeCount) : 0);
  }

  /** Edge slots kept for the cycle check. */
  readonly edgesKept = (): number => this.edgeCount;

  /** Whether state s broke an invariant (it is then not expanded). */
  private terminal(s: number): boolean {
    return (this.terminals.array[s >>> 5]! & (1 << (s & 31))) !== 0;
  }

  /** Set when `abortIf` stopped the search (its results are void). */
  aborted = false;

  /**
   * Runs the search to its end, a bound, or (without `all`) the first finding; `abortIf` is asked
   * after every batch whether the search is void (it then stops with `aborted` set).
   */
  run(abortIf?: () => boolean): void {
    let s = 0;
    let stop = this.found.size > 0 && this.stopAtFirst;
    while (!stop && s < this.table.count) {
      if (abortIf?.() === true) {
        this.aborted = true;
        return;
      }
      if (this.options.maxMemoryMiB !== undefined && this.bytes > this.options.maxMemoryMiB * 2 ** 20) {
        this.limitHit = `maxMemoryMiB=${this.options.maxMemoryMiB}`;
        break;
      }
      const batchStart = s;
      const batchEnd = Math.min(this.table.count, s + BATCH_STATES);
      if (this.table instanceof HashStore) this.table.release(s);
      this.batchSuccessors = this.expand(s, batchEnd);
      this.stage(s, batchEnd, this.batchSuccessors);
      for (; s < batchEnd; s++) {
        if (!this.visit(s, s - batchStart)) {
          stop = true;
          break;
        }
      }
    }
    // (the search is over: the state table's hash table is scratch memory for the cycle check, but
    // under symmetry that check looks states up)
    if (this.wantCycles && !(this.stopAtFirst && this.found.size > 0)) this.lookForCycles(this.table instanceof StateTable && this.sym === null ? this.table.surrender() : undefined);
  }

  /** Computes the successors of the batch's states (with reduction: of an ample set of events); returns how many. */
  private expand(from: number, batchEnd: number): number {
    const sys = this.sys;
    const batch = this.batch;
    const events = this.events;
    const labels = this.labels;
    let m = 0;
    let kept = 0;
    for (let t = from; t < batchEnd; t++) {
      const j = t - from;
      const state = batch.state(j);
      this.table.read(t, state);
      batch.first[j] = m;
      batch.count[j] = 0;
      batch.enabled[j] = 0;
      batch.reduced[j] = 0;
      if (this.terminal(t)) continue;
      // states from levelEnd on are one level deeper than those before it
      const tDepth = t < this.levelEnd ? this.depth : this.depth + 1;
      const n = sys.enumerate(state, events, labels);
      this.enumerated = n;
      batch.enabled[j] = n;
      batch.lastNonFault[j] = sys.lastNonFault;
      if (tDepth >= this.options.maxDepth) continue;
      if (this.reduce || this.wantCycles) {
        batch.eventsFirst[j] = kept;
        batch.reserveEvents(kept + n);
        for (let k = 0; k < n; k++, kept++) {
          batch.events[kept] = events[k]!;
          batch.eventLabels[kept] = labels[k]!;
        }
      }
      if (this.reduce) {
        const a = this.ample(t, state, m);
        // (-1: there were ample sets, but the cycle proviso took none of them)
        if (a < 0) batch.reduced[j] = 2;
        if (a > 0) {
          batch.reduced[j] = 1;
          batch.count[j] = a;
          m += a;
          continue;
        }
      }
      batch.reserve(m + n);
      for (let k = 0; k < n; k++, m++) this.successorOf(state, m, k);
      batch.count[j] = n;
    }
    return m;
  }

  /**
   * Computes from batch successor m on the successors of state t by an ample set none of whose
   * edges may close a cycle of reduced states as far as can be told before the batch is visited
   * (cycle-proviso.ts; the visit decides again), trying the sets in turn; returns how many (0: there
   * is no ample set, -1: the proviso took none).
   */
  private ample(t: number, state: Int32Array, m: number): number {
    const sets = this.sys.ampleSets(state, this.events, this.enumerated);
    const graph = this.provisoGraph();
    for (let c = 0; c < sets; c++) {
      const a = this.sys.ampleSet(c, this.ampleOut);
      this.batch.reserve(m + a);
      let open = true;
      for (let x = 0; x < a && open; x++) {
        this.successorOf(state, m + x, this.ampleOut[x]!);
        const id = this.batch.broke[m + x]! >= 0 ? -1 : this.table.find(this.batch.successor(m + x));
        if (id >= 0 && this.proviso.mayClose(t, id, graph)) open = false;
      }
      if (open) return a;
    }
    return sets > 0 ? -1 : 0;
  }

  /** Batch successor m of `state`: the enumerated event k applied. */
  private successorOf(state: Int32Array, m: number, k: number): void {
    const batch = this.batch;
    const succ = batch.successor(m);
    const W = this.width;
    for (let x = 0; x < W; x++) succ[x] = state[x]!;
    batch.broke[m] = this.sys.apply(succ, this.events[k]!, null);
    batch.perm[m] = this.sym !== null && batch.broke[m]! < 0 ? this.sym.canonicalize(succ) : 0;
    batch.label[m] = (this.labels[k]! & 0x7fff) | (this.sys.progressFlag ? progressBit : 0);
    batch.choice[m] = k;
  }

  /** Stages the successors that are states (not broken) of the batch's states from state `from` on. */
  private stage(from: number, batchEnd: number, m: number): void {
    const batch = this.batch;
    const table = this.table;
    if (table instanceof StateTable) {
      for (let t = from; t < batchEnd; t++) {
        const j = t - from;
        const parentVec = batch.state(j);
        for (let x = batch.first[j]!, end = x + batch.count[j]!; x < end; x++) if (batch.broke[x]! < 0) table.stageFrom(batch.successor(x), x, t, parentVec);
      }
    } else {
      for (let x = 0; x < m; x++) if (batch.broke[x]! < 0) table.stage(batch.successor(x), x);
    }
    table.touchStaged(m);
  }

  /** Processes state s (batch entry b) in BFS order; false when the search stops. */
  private visit(s: number, b: number): boolean {
    const onProgress = this.options.onProgress;
    if (onProgress !== undefined && s > 0 && s % this.progressEvery === 0) onProgress({ states: this.table.count, expanded: s, transitions: this.transitions, depth: this.depth });
    if (s === this.levelEnd && !this.nextLevel(s)) return false;
    if (this.wantCycles) {
      if (s + 2 > this.edgeStart.length) this.edgeStart = this.edgeStarts.ensure(s + 2);
      this.edgeStart[s] = this.edgeCount;
    }
    if (this.terminal(s)) return this.done(s);
    const n = this.batch.enabled[b]!;
    if (this.depth >= this.options.maxDepth) {
      if (n > 0) {
        this.limitHit = `maxDepth=${this.options.maxDepth}`;
        return false;
      }
      return this.done(s);
    }
    const cur = this.batch.state(b);
    if (this.batch.lastNonFault[b] === 0 && this.config.checks.deadlock && this.sys.stalled(cur)) {
      const summary = deadlockSummary(this.sys.unfinished(cur).map((i) => this.sys.nodeName(i)));
      this.record({ kind: 'deadlock', id: 'deadlock', summary, path: null, at: s, choice: -1, cycleAt: null });
      if (this.stopAtFirst) return false;
    }
    if (!this.successors(s, b, cur)) return false;
    return this.done(s);
  }

  /** State s is expanded: its edges are complete. */
  private done(s: number): true {
    this.expanded = s + 1;
    this.edgesDone = this.edgeCount;
    return true;
  }

  /** A new level of the BFS starts at state s (and, now and then, cycles are looked for); false when the search stops. */
  private nextLevel(s: number): boolean {
    this.depth++;
    this.levels.push(s);
    this.levelEnd = this.table.count;
    if (this.wantCycles && this.stopAtFirst && this.expanded >= this.nextCycleCheck) {
      this.lookForCycles();
      this.nextCycleCheck = this.expanded * 2;
      if (this.found.size > 0 && this.stopAtFirst) return false;
    }
    return true;
  }

  /**
   * Takes the staged successors of state s (batch entry b); false when the search stops. Its edges
   * (kept for the cycle check) take one slot per enabled event, so that the slot is the choice: an
   * event that breaks a property is an edge to no state, of no process (it leads to no state, and
   * fairness does not count it). With reduction, a state with an ample edge that may close a cycle
   * of reduced states is expanded fully (the cycle proviso, cycle-proviso.ts: every cycle of the
   * reduced graph has a fully expanded state), and the events outside its ample set are edges to
   * no state, so that fairness still sees every process enabled there.
   */
  private successors(s: number, b: number, cur: Int32Array): boolean {
    const batch = this.batch;
    const curChecked = s !== 0 || this.initialBroken === null;
    const first = batch.first[b]!;
    const count = batch.count[b]!;
    if (this.wantCycles) this.edgeSlots(b);
    let open = true;
    const graph = batch.reduced[b] === 1 ? this.provisoGraph() : null;
    for (let x = first; x < first + count; x++) {
      this.lastPerm = batch.perm[x]!;
      const r = this.take(s, batch.choice[x]!, cur, batch.successor(x), batch.broke[x]!, batch.label[x]!, x, curChecked);
      if (r === TAKE_STOP) return false;
      if (batch.reduced[b] === 1 && open && this.lastId >= 0 && this.proviso.mayClose(s, this.lastId, graph)) open = false;
    }
    if (batch.reduced[b] === 2) this.provisoStates++;
    if (batch.reduced[b] === 1) {
      if (open) {
        this.proviso.markReduced(s);
        this.reducedStates++;
        return true;
      }
      this.provisoStates++;
      return this.takeRest(s, b, cur, curChecked);
    }
    return true;
  }

  /** The cycle proviso: the successors of state s (batch entry b) by the events outside its ample set. */
  private takeRest(s: number, b: number, cur: Int32Array, curChecked: boolean): boolean {
    const batch = this.batch;
    const n = batch.enabled[b]!;
    const isAmple = this.isAmple;
    isAmple.fill(0, 0, n);
    for (let x = batch.first[b]!; x < batch.first[b]! + batch.count[b]!; x++) isAmple[batch.choice[x]!] = 1;
    const base = batch.eventsFirst[b]!;
    const next = this.loose;
    for (let k = 0; k < n; k++) {
      if (isAmple[k] === 1) continue;
      for (let y = 0; y < this.width; y++) next[y] = cur[y]!;
      const broke = this.sys.apply(next, batch.events[base + k]!, null);
      this.lastPerm = this.sym !== null && broke < 0 ? this.sym.canonicalize(next) : 0;
      const label = (batch.eventLabels[base + k]! & 0x7fff) | (this.sys.progressFlag ? progressBit : 0);
      if (this.take(s, k, cur, next, broke, label, -1, curChecked) === TAKE_STOP) return false;
    }
    return true;
  }

  /** Reserves one edge slot per enabled event of batch entry b, each to no state until taken. */
  private edgeSlots(b: number): void {
    const batch = this.batch;
    const n = batch.enabled[b]!;
    if (this.edgeCount + n > this.edgeTo.length) [this.edgeTo, this.edgeLabel] = [this.edgeTos.ensure(this.edgeCount + n), this.edgeLabels.ensure(this.edgeCount + n)];
    if (this.sym !== null && this.edgeCount + n > this.edgePerm.length) this.edgePerm = this.edgePerms.ensure(this.edgeCount + n);
    this.edgeBase = this.edgeCount;
    const base = batch.eventsFirst[b]!;
    for (let k = 0; k < n; k++) {
      this.edgeTo[this.edgeCount + k] = NO_STATE;
      this.edgeLabel[this.edgeCount + k] = batch.eventLabels[base + k]! & 0x7fff;
    }
    this.edgeCount += n;
  }

  /**
   * One successor `next` of state s by choice k (`staged`: its index in the batch, or -1 when it was
   * not staged): the transition, its finding, its state and its edge.
   */
  private take(s: number, k: number, cur: Int32Array, next: Int32Array, broke: number, label: number, staged: number, curChecked: boolean): number {
    this.transitions++;
    this.lastId = -1;
    if (broke >= 0) {
      const v = this.sys.violation(broke);
      this.record({ kind: 'invariant', id: v.id, summary: v.summary, path: null, at: s, choice: k, cycleAt: null });
      // (with edge slots, the slot stays an edge to no state, of no process: as without a slot)
      if (this.wantCycles) this.edgeLabel[this.edgeBase + k] = LABEL_FAULT;
      return this.stopAtFirst ? TAKE_STOP : TAKE_BROKEN;
    }
    const before = this.table.count;
    const id = staged >= 0 ? this.table.insertStaged(staged) : this.table.insert(next);
    this.lastId = id;
    if (id === before && !this.added(s, k, id, cur, next, curChecked)) return TAKE_STOP;
    if (this.wantCycles) {
      this.edgeTo[this.edgeBase + k] = id;
      this.edgeLabel[this.edgeBase + k] = label;
      if (this.sym !== null) this.edgePerm[this.edgeBase + k] = this.lastPerm;
    }
    return id >= before ? TAKE_NEW : TAKE_SEEN;
  }

  /** A new state `id` (`next`), reached from s by choice k: its parent and its invariants; false when the search stops. */
  private added(s: number, k: number, id: number, cur: Int32Array, next: Int32Array, curChecked: boolean): boolean {
    if (id >= this.parent.length) [this.parent, this.choice] = [this.parents.ensure(id + 1), this.choices.ensure(id + 1)];
    this.parent[id] = s;
    this.choice[id] = k;
    // A state whose node views are its parent's has its parent's verdict: none broken (a
    // broken state is not expanded; the initial one is checked on its own).
    const same = curChecked && this.sys.sameInvariantInputs(cur, next);
    const broken = same ? null : this.sys.checkInvariants(next);
    if (!same) this.sym?.checkInvariants(next, broken?.id ?? null);
    if (broken !== null) {
      const t = this.terminals.ensure((id >>> 5) + 1);
      t[id >>> 5] = t[id >>> 5]! | (1 << (id & 31));
      this.record({ kind: 'invariant', id: broken.id, summary: broken.summary, path: null, at: s, choice: k, cycleAt: null });
      if (this.stopAtFirst) return false;
    }
    if (this.table.count >= this.options.maxStates) {
      this.limitHit = `maxStates=${this.options.maxStates}`;
      return false;
    }
    return true;
  }

  private record(f: RawFinding): void {
    this.occurrences[f.id] = (this.occurrences[f.id] ?? 0) + 1;
    const prev = this.found.get(f.id);
    // BFS finds states in order of depth: the first path per id is a shortest one, except for
    // lassos, whose length also counts the cycle.
    if (prev && f.path === null) return;
    if (f.path === null) f.path = f.choice >= 0 ? [...this.pathTo(f.at), f.choice] : this.pathTo(f.at);
    if (!prev || f.path.length < prev.path!.length) this.found.set(f.id, f);
  }

  private pathTo(s: number): number[] {
    const out: number[] = [];
    while (s !== 0) {
      out.push(this.choice[s]!);
      s = this.parent[s]!;
    }
    return out.reverse();
  }

  /** The edges of the expanded states as the cycle proviso walks them, or null when none are kept. */
  private provisoGraph(): ProvisoGraph | null {
    if (!this.wantCycles) return null;
    const g = this.walkGraph;
    g.edgeStart = this.edgeStart;
    g.edgeTo = this.edgeTo;
    g.expanded = this.expanded;
    g.edgesDone = this.edgesDone;
    return g;
  }

  private graph(): StateGraph {
    return { expanded: this.expanded, edgeStart: this.edgeStart, edgeTo: this.edgeTo, edgeLabel: this.edgeLabel, processCount: this.sys.processCount, faultLabel: LABEL_FAULT, ...(this.sym !== null ? { edgePerm: this.edgePerm } : {}) };
  }

  /** Reports the fair cycles without progress among the expanded states, each as a lasso (cycle-findings.ts). */
  private lookForCycles(memory?: Int32Array): void {
    this.edgeStart[this.expanded] = this.edgesDone;
    const parts = { sys: this.sys, sym: this.sym, table: this.table, graph: this.graph(), levels: this.levels, pathTo: (s: number) => this.pathTo(s), memory, crossCheck: this.options.checkQuotientFairness };
    for (const f of cycleFindings(parts)) this.record(f);
  }
}
