/**
 * Exhaustive exploration: breadth-first search over the canonical global states of the untimed
 * system (see untimed-system.ts for the state and the time abstraction), with the named bounds
 * `maxStates` and `maxDepth`.
 *
 * What it reports, each with the shortest trace the search can show:
 *  - `deadlock` (quiescent): a state where no event but a fault is enabled while some node is
 *    unfinished and nobody waits for their person. BFS order makes the path a shortest one.
 *  - `invariant:<id>`: a state invariant false in a reached state, or a history property broken
 *    by a transition. Shortest, as above.
 *  - cycles without progress (fair-cycles.ts): a reachable SCC of non-progress transitions that
 *    holds a weakly fair cycle, while every state in it is stalled (some node unfinished, nobody
 *    waiting on a person). Reported as `deadlock` when every unfinished node is tagged `waiting`
 *    (polling for ever: the random simulator's "deadlock by polling"), else as `livelock`. The
 *    trace is a lasso: a shortest path to an entry state of the SCC, then a shortest cycle back to
 *    it (the entry is chosen among the SCC's shallowest states to make the whole lasso short).
 *    Cycles are looked for whenever the number of expanded states has doubled, and at the end.
 *
 * By default the search stops at the first finding; `all` explores the whole bounded space and
 * reports the shortest trace of every distinct finding id. `complete` is true only when every
 * reachable state within the bounds was expanded.
 */
import type { SimConfig } from '../config.js';
import type { Finding } from '../finding.js';
import type { CompiledModel } from '../simulator.js';
import type { FindingKind } from '../trace.js';
import { edgeSource, fairCycleThrough, fairNonProgressComponents, progressBit, type StateGraph } from './fair-cycles.js';
import { noClock, type Clock, type ExploreResult } from './result.js';
import { StateTable } from './state-table.js';
import { LABEL_FAULT, UntimedSystem } from './untimed-system.js';

export interface ExhaustiveOptions {
  /** stop (incomplete) once this many distinct states are stored */
  maxStates: number;
  /** do not expand states at this depth */
  maxDepth: number;
  /** faults the search may inject along a path */
  faultBudget: number;
  /** explore the whole bounded space and report every distinct finding (default: stop at the first) */
  all?: boolean;
  /** remember common steps by their footprint (default true; false is for tests that compare) */
  memo?: boolean;
  clock?: Clock;
  /**
   * Called every `progressEvery` expanded states with the counts so far (the caller measures the
   * time: the explorer reads no clock of its own beyond the injected one).
   */
  onProgress?: (progress: ExhaustiveProgress) => void;
  /** expanded states between two onProgress calls (default 4096) */
  progressEvery?: number;
}

/** What the explorer has done so far. */
export interface ExhaustiveProgress {
  /** distinct states stored */
  states: number;
  /** states expanded (their successors enumerated) */
  expanded: number;
  transitions: number;
  depth: number;
}

interface RawFinding {
  kind: FindingKind;
  id: string;
  summary: string;
  /** choices from the initial state; null until needed, then from `at` and `choice` */
  path: number[] | null;
  /** the state the finding was made in or from (BFS parent pointers give the path) */
  at: number;
  /** the choice taken from `at`, or -1 when the finding is about `at` itself */
  choice: number;
  /** for lassos: the index in `path` where the cycle starts */
  cycleAt: number | null;
}

/** Explores every reachable state within the bounds. */
export function exploreExhaustive(model: CompiledModel, config: SimConfig, options: ExhaustiveOptions): ExploreResult {
  const clock = options.clock ?? noClock;
  const started = clock();
  const sys = new UntimedSystem(model, config, { faultBudget: options.faultBudget, memo: options.memo ?? true });
  const W = sys.layout.width;
  const table = new StateTable(W);
  const wantCycles = config.checks.livelock;
  const stopAtFirst = !(options.all ?? false);

  let parent = new Int32Array(1 << 16);
  let choice = new Uint16Array(1 << 16);
  let edgeStart = new Int32Array(1 << 16);
  let edgeTo = new Int32Array(wantCycles ? 1 << 18 : 0);
  let edgeLabel = new Uint16Array(wantCycles ? 1 << 18 : 0);
  let edgeCount = 0;

  const found = new Map<string, RawFinding>();
  const occurrences: Record<string, number> = {};
  const record = (f: RawFinding): void => {
    occurrences[f.id] = (occurrences[f.id] ?? 0) + 1;
    const prev = found.get(f.id);
    // BFS finds states in order of depth: the first path per id is a shortest one, except for
    // lassos, whose length also counts the cycle.
    if (prev && f.path === null) return;
    if (f.path === null) f.path = f.choice >= 0 ? [...pathTo(f.at), f.choice] : pathTo(f.at);
    if (!prev || f.path.length < prev.path!.length) found.set(f.id, f);
  };
  const pathTo = (s: number): number[] => {
    const out: number[] = [];
    while (s !== 0) {
      out.push(choice[s]!);
      s = parent[s]!;
    }
    return out.reverse();
  };

  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  const levels: number[] = [0];

  table.insert(sys.initial());
  const initialBroken = sys.checkInvariants(sys.initial());
  if (initialBroken) record({ kind: 'invariant', id: initialBroken.id, summary: initialBroken.summary, path: [], at: 0, choice: -1, cycleAt: null });

  let transitions = 0;
  let limitHit: string | null = null;
  let depth = 0;
  let levelEnd = 1;
  let expanded = 0;
  /** edges of the expanded states end here (a state cut short by a bound has no edges yet) */
  let edgesDone = 0;
  let nextCycleCheck = 1024;
  let stop = found.size > 0 && stopAtFirst;
  /** states whose invariant is broken: reported, not expanded */
  let terminal = new Uint8Array(1 << 16);

  const graph = (): StateGraph => ({
    expanded,
    edgeStart,
    edgeTo,
    edgeLabel,
    processCount: sys.processCount,
    faultLabel: LABEL_FAULT,
  });
  const scratch = new Int32Array(W);
  const stalledComponent = (members: readonly number[]): boolean => {
    for (const v of members) {
      table.read(v, scratch);
      if (!sys.stalled(scratch)) return false;
    }
    return true;
  };
  const lookForCycles = (): void => {
    edgeStart[expanded] = edgesDone;
    const g = graph();
    for (const members of fairNonProgressComponents(g, stalledComponent)) {
      const lasso = shortestLasso(g, members, pathTo, levels);
      if (lasso === null) continue;
      table.read(lasso.entry, scratch);
      const names = sys.unfinished(scratch).map((i) => sys.nodeName(i));
      const polling = sys.allUnfinishedWaiting(scratch);
      const list = names.join(', ');
      record({
        kind: polling ? 'deadlock' : 'livelock',
        id: polling ? 'deadlock' : 'livelock',
        summary: polling
          ? `deadlock: ${list} ${names.length === 1 ? 'waits' : 'wait'} for ever, polling without progress (the same states repeat with nothing shown to anyone)`
          : `livelock: ${list} keep${names.length === 1 ? 's' : ''} running through the same states without progress`,
        path: lasso.path,
        at: -1,
        choice: -1,
        cycleAt: lasso.cycleAt,
      });
    }
  };

  const onProgress = options.onProgress;
  const progressEvery = Math.max(1, options.progressEvery ?? 4096);
  // States are expanded in batches: first every successor of the batch's states is computed and
  // staged in the table (their slot reads overlap, see StateTable#stage), then the states are
  // processed one by one in BFS order exactly as without batching, so that counts, parents and
  // findings do not depend on the batch size. Work done for states after a stop is discarded.
  const batch = new Batch(W);
  let s = 0;
  outer: while (!stop && s < table.count) {
    const batchStart = s;
    const batchEnd = Math.min(table.count, s + BATCH_STATES);
    let m = 0;
    for (let t = s; t < batchEnd; t++) {
      const j = t - s;
      const state = batch.state(j);
      table.read(t, state);
      batch.first[j] = m;
      if (terminal[t] === 1) {
        batch.count[j] = 0;
        continue;
      }
      // states from levelEnd on are one level deeper than those before it
      const tDepth = t < levelEnd ? depth : depth + 1;
      const n = sys.enumerate(state, events, labels);
      batch.count[j] = n;
      batch.lastNonFault[j] = sys.lastNonFault;
      if (tDepth >= options.maxDepth) continue;
      batch.reserve(m + n);
      for (let k = 0; k < n; k++, m++) {
        const succ = batch.successor(m);
        for (let x = 0; x < W; x++) succ[x] = state[x]!;
        batch.broke[m] = sys.apply(succ, events[k]!, null);
        batch.label[m] = (labels[k]! & 0x7fff) | (sys.progressFlag ? progressBit : 0);
      }
    }
    // stage the successors that are states (not broken), again from the start after a widening
    for (let staged = false; !staged; ) {
      staged = true;
      for (let x = 0; x < m; x++) {
        if (batch.broke[x]! < 0 && !table.stage(batch.successor(x), x)) {
          staged = false;
          break;
        }
      }
    }
    table.touchStaged(m);

    for (; s < batchEnd; s++) {
      const b = s - batchStart;
      const cur = batch.state(b);
      if (onProgress !== undefined && s > 0 && s % progressEvery === 0) onProgress({ states: table.count, expanded: s, transitions, depth });
      if (s === levelEnd) {
        depth++;
        levels.push(s);
        levelEnd = table.count;
        if (wantCycles && stopAtFirst && expanded >= nextCycleCheck) {
          lookForCycles();
          nextCycleCheck = expanded * 2;
          if (found.size > 0 && stopAtFirst) break outer;
        }
      }
      const curChecked = s !== 0 || initialBroken === null;
      if (s >= edgeStart.length - 1) {
        edgeStart = grow32(edgeStart);
      }
      edgeStart[s] = edgeCount;
      if (terminal[s] === 1) {
        expanded = s + 1;
        edgesDone = edgeCount;
        continue;
      }
      const n = batch.count[b]!;
      if (depth >= options.maxDepth) {
        if (n > 0) {
          limitHit = `maxDepth=${options.maxDepth}`;
          break outer;
        }
        expanded = s + 1;
        edgesDone = edgeCount;
        continue;
      }
      if (batch.lastNonFault[b] === 0 && config.checks.deadlock && sys.stalled(cur)) {
        const names = sys.unfinished(cur).map((i) => sys.nodeName(i));
        record({
          kind: 'deadlock',
          id: 'deadlock',
          summary: `deadlock: nothing can happen any more, and ${names.join(', ')} ${names.length === 1 ? 'has' : 'have'} not finished`,
          path: null,
          at: s,
          choice: -1,
          cycleAt: null,
        });
        if (stopAtFirst) break outer;
      }
      const first = batch.first[b]!;
      for (let k = 0; k < n; k++) {
        const x = first + k;
        const broke = batch.broke[x]!;
        transitions++;
        if (broke >= 0) {
          const v = sys.violation(broke);
          record({ kind: 'invariant', id: v.id, summary: v.summary, path: null, at: s, choice: k, cycleAt: null });
          if (stopAtFirst) {
            stop = true;
            break outer;
          }
          continue;
        }
        const next = batch.successor(x);
        const before = table.count;
        const id = table.insertStaged(x);
        if (id === before) {
          if (id >= parent.length) {
            parent = grow32(parent);
            choice = grow16(choice);
            const t = new Uint8Array(parent.length);
            t.set(terminal);
            terminal = t;
          }
          parent[id] = s;
          choice[id] = k;
          // A state whose node views are its parent's has its parent's verdict: none broken (a
          // broken state is not expanded; the initial one is checked on its own below).
          const broken = curChecked && sys.sameInvariantInputs(cur, next) ? null : sys.checkInvariants(next);
          if (broken !== null) {
            terminal[id] = 1;
            record({ kind: 'invariant', id: broken.id, summary: broken.summary, path: null, at: s, choice: k, cycleAt: null });
            if (stopAtFirst) {
              stop = true;
              break outer;
            }
          }
          if (table.count >= options.maxStates) {
            limitHit = `maxStates=${options.maxStates}`;
            break outer;
          }
        }
        if (wantCycles) {
          if (edgeCount >= edgeTo.length) {
            edgeTo = grow32(edgeTo);
            edgeLabel = grow16(edgeLabel);
          }
          edgeTo[edgeCount] = id;
          edgeLabel[edgeCount] = batch.label[x]!;
          edgeCount++;
        }
      }
      expanded = s + 1;
      edgesDone = edgeCount;
    }
  }
  if (wantCycles && !(stopAtFirst && found.size > 0)) lookForCycles();

  const complete = limitHit === null && !(stopAtFirst && found.size > 0) && expanded === table.count;
  const findings: Finding[] = [...found.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((f) => materialize(sys, f));
  return {
    strategy: 'exhaustive',
    findings,
    stats: {
      states: table.count,
      transitions,
      depth: levels.length - 1,
      elapsedMs: Math.round(clock() - started),
      complete,
      runs: 1,
      limitHit,
      runsWithFinding: occurrences,
    },
    seedStart: 0,
    seedCount: 0,
  };
}

/**
 * The lasso of a fair component: a shortest path to an entry state, then a fair cycle back to it
 * (one that steps every process enabled throughout the component). The entry is the one among the
 * component's shallowest states that gives the shortest lasso.
 */
function shortestLasso(
  graph: StateGraph,
  members: readonly number[],
  pathTo: (s: number) => number[],
  levels: readonly number[],
): { entry: number; path: number[]; cycleAt: number } | null {
  const depthOf = (s: number): number => {
    let lo = 0;
    let hi = levels.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (levels[mid]! <= s) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  let best: { entry: number; edges: number[]; length: number } | null = null;
  // Members are sorted by BFS index, so the first ones are the shallowest.
  for (const v of members.slice(0, 16)) {
    const d = depthOf(v);
    if (best !== null && d >= best.length) break;
    const edges = fairCycleThrough(graph, members, v);
    if (edges === null) continue;
    if (best === null || d + edges.length < best.length) best = { entry: v, edges, length: d + edges.length };
  }
  if (best === null) return null;
  const prefix = pathTo(best.entry);
  const cycle = best.edges.map((e) => e - graph.edgeStart[edgeSource(graph, e)]!);
  return { entry: best.entry, path: [...prefix, ...cycle], cycleAt: prefix.length };
}

/** Replays a choice path and turns a raw finding into a full one (trace, diagnosis, nodes). */
function materialize(sys: UntimedSystem, f: RawFinding): Finding {
  const path = f.path ?? [];
  const replay = replayChoices(sys, path, f.cycleAt);
  const rec = replay.rec;
  rec.trace.push({ k: 'finding', t: rec.t, kind: f.kind, summary: f.summary });
  const view = sys.view(replay.vec);
  return {
    kind: f.kind,
    id: f.id,
    summary: f.summary,
    diagnosis: sys.model.variant.diagnose?.(view, { kind: f.kind, id: f.id }) ?? null,
    nodes: sys.diagnoses(replay.vec, rec),
    seed: 0,
    timeMs: rec.t,
    step: path.length,
    trace: rec.trace,
    cycleStart: replay.cycleTraceIndex,
    path,
  };
}

function replayChoices(sys: UntimedSystem, path: readonly number[], cycleAt: number | null) {
  const vec = sys.initial();
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  const rec = sys.newRecorder();
  let cycleTraceIndex: number | null = null;
  for (let i = 0; i < path.length; i++) {
    if (cycleAt === i) cycleTraceIndex = rec.trace.length;
    const n = sys.enumerate(vec, events, labels);
    const k = path[i]!;
    if (k >= n) throw new PathError(`choice ${i} of the path is ${k}, but only ${n} events are enabled there`);
    rec.t = i + 1;
    const broke = sys.apply(vec, events[k]!, rec);
    if (broke >= 0 && i < path.length - 1) {
      throw new PathError(`the path breaks ${sys.violation(broke).id} at choice ${i}, before its end`);
    }
  }
  return { vec, rec, cycleTraceIndex };
}

/** A choice path that does not fit the scenario (`--path`). */
export class PathError extends Error {}

/**
 * Replays an exhaustive choice path (as printed with a finding) and returns its trace, with the
 * time of each event being its step number.
 */
export function replayPath(model: CompiledModel, config: SimConfig, faultBudget: number, path: readonly number[]) {
  const sys = new UntimedSystem(model, config, { faultBudget });
  const { vec, rec } = replayChoices(sys, path, null);
  return { trace: rec.trace, broken: sys.checkInvariants(vec) };
}

/** States expanded per batch: enough successors for their table reads to overlap. */
const BATCH_STATES = 16;

/** Reused buffers for one batch: the states expanded, and their successors with what `apply` said. */
class Batch {
  private readonly width: number;
  private readonly states: Int32Array[];
  private readonly successors: Int32Array[] = [];
  /** per state of the batch: its first successor, its event count, its non-fault event count */
  readonly first = new Int32Array(BATCH_STATES);
  readonly count = new Int32Array(BATCH_STATES);
  readonly lastNonFault = new Int32Array(BATCH_STATES);
  /** per successor: the broken property's violation index or -1, and its edge label */
  broke = new Int32Array(64);
  label = new Uint16Array(64);

  constructor(width: number) {
    this.width = width;
    this.states = Array.from({ length: BATCH_STATES }, () => new Int32Array(width));
  }

  state(j: number): Int32Array {
    return this.states[j]!;
  }

  successor(m: number): Int32Array {
    return this.successors[m]!;
  }

  /** Makes room for `n` successors. */
  reserve(n: number): void {
    while (this.successors.length < n) this.successors.push(new Int32Array(this.width));
    if (this.broke.length < n) {
      const size = Math.max(n, this.broke.length * 2);
      const broke = new Int32Array(size);
      broke.set(this.broke);
      this.broke = broke;
      const label = new Uint16Array(size);
      label.set(this.label);
      this.label = label;
    }
  }
}

function grow32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}

function grow16(a: Uint16Array): Uint16Array<ArrayBuffer> {
  const b = new Uint16Array(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}
