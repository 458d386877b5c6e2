/**
 * Exhaustive exploration: breadth-first search over the canonical global states of the untimed
 * system (see untimed-system.ts for the state and the time abstraction), with the named bounds
 * `maxStates` and `maxDepth` (the search itself: exhaustive-search.ts).
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
import { ExhaustiveSearch, type RawFinding } from './exhaustive-search.js';
import { symmetricSearch, type SymmetryStats } from './exhaustive-symmetry.js';
import { HashStore, type MemoryMode, type Omission } from './hash-store.js';
import { noClock, type Clock, type ExploreResult } from './result.js';
import { UntimedSystem } from './untimed-system.js';

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
  /** let history properties forget what can no longer matter (default true; false is for tests that compare) */
  forget?: boolean;
  /**
   * `por`: partial-order reduction (partial-order.ts), then a search without it, bounded by the
   * longest counterexample found, that makes every counterexample a shortest one; `none` (the
   * default): every enabled event of every state.
   */
  reduction?: Reduction;
  /**
   * Stop (incomplete, the limit named) once the search's own tables hold more than this many MiB
   * (the state table, BFS parents and the edges kept for the cycle check; default: no limit).
   */
  maxMemoryMiB?: number;
  /**
   * How visited states are stored (hash-store.ts): `exact` (the default: every state, compressed,
   * nothing missed), `hash-compact` (a 64-bit hash per state) or `bitstate` (k = 3 bits per state in
   * a bit array of 2^hashBits bits); the approximate modes may miss states (the result says how
   * likely) and check safety only (deadlocks and invariants, no cycles), as Spin's do breadth-first.
   */
  memory?: MemoryMode;
  /**
   * Symmetry reduction (exhaustive-symmetry.ts): one state per permutation class of interchangeable
   * nodes, checked to be symmetric as the search goes (else searched again without, and said);
   * counterexamples are concrete, lassos included (cycle-findings.ts); combines with `reduction: 'por'`.
   */
  symmetry?: boolean;
  /** (tests) with `reduction: 'por'`, report the reduced search's own findings and paths, not made shortest by a search without reduction */
  keepReducedPaths?: boolean;
  /** (tests) under symmetry, decide the fairness of every cycle concretely too and fail when it differs from the quotient's verdict */
  checkQuotientFairness?: boolean;
  /** bitstate: log2 of the bit array's size in bits (default 27: 16 MiB) */
  hashBits?: number;
  clock?: Clock;
  /**
   * Called every `progressEvery` expanded states with the counts so far (the caller measures the
   * time: the explorer reads no clock of its own beyond the injected one).
   */
  onProgress?: (progress: ExhaustiveProgress) => void;
  /** expanded states between two onProgress calls (default 4096) */
  progressEvery?: number;
}

export type Reduction = 'none' | 'por';
export type { MemoryMode } from './hash-store.js';
export type { SymmetryStats } from './exhaustive-symmetry.js';

/** How the search stored states (in `ExploreStats.storage`). */
export interface StorageStats {
  memory: MemoryMode;
  /** bytes held by the search's tables at the end (states, parents, edges) */
  tableBytes: number;
  /** of which the visited set (exact: the pairs, their hash table and the halves) */
  stateBytes: number;
  /** exact: distinct half vectors stored (tree compression: a state is a pair of halves) */
  halves?: number;
  /** edge slots kept for the cycle check */
  edges: number;
  /** the approximate modes: how likely states were missed */
  omission?: Omission;
  /** checks the mode could not make (the approximate modes keep no graph for the cycle check) */
  notChecked: string[];
}

/** What the partial-order reduction did (in `ExploreStats.reduction`). */
export interface ReductionStats {
  method: Reduction;
  /** states whose ample set alone was explored */
  reducedStates: number;
  /** states the cycle proviso expanded fully */
  provisoStates: number;
  /** reduced searches started over because who talks to whom grew */
  restarts: number;
  /** states of the search without reduction that shortened the counterexamples (0: none needed) */
  shorteningStates: number;
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

/** Explores every reachable state within the bounds. */
export function exploreExhaustive(model: CompiledModel, config: SimConfig, options: ExhaustiveOptions): ExploreResult {
  const clock = options.clock ?? noClock;
  const started = clock();
  const memory = options.memory ?? 'exact';
  const por = (options.reduction ?? 'none') === 'por';
  if (memory !== 'exact' && por) throw new Error(`partial-order reduction needs --memory exact (its cycle proviso looks states up), not ${memory}`);
  let symmetry: SymmetryStats | undefined;
  if (options.symmetry === true) {
    const run = symmetricSearch(model, config, options, (sys, opts) => searchWith(sys, config, opts, por));
    symmetry = run.stats;
    if ('search' in run) return resultOf(run.sys, run.search, run.found, { reduction: run.reduction, symmetry, memory }, clock() - started);
  }
  const sys = new UntimedSystem(model, config, { faultBudget: options.faultBudget, memo: options.memo ?? true, viewReads: por, forget: options.forget ?? true });
  const { search, found, reduction } = searchWith(sys, config, options, por);
  return resultOf(sys, search, found, { reduction, symmetry, memory }, clock() - started);
}

/** The search, with partial-order reduction (then shortened) or without; `options.symmetry` makes it a search over canonical states. */
export function searchWith(sys: UntimedSystem, config: SimConfig, options: ExhaustiveOptions, por: boolean): SearchOutcome {
  if (!por) {
    const search = runFull(sys, config, options);
    return { search, found: search.found, reduction: undefined };
  }
  const reduced = reducedSearch(sys, config, options);
  const search = reduced.search;
  const shortened = options.keepReducedPaths === true ? { found: search.found, states: 0 } : shorten(sys, config, options, search);
  const reduction: ReductionStats = { method: 'por', reducedStates: search.reducedStates, provisoStates: search.provisoStates, restarts: reduced.restarts, shorteningStates: shortened.states };
  return { search, found: shortened.found, reduction };
}

export interface SearchOutcome {
  search: ExhaustiveSearch;
  found: Map<string, RawFinding>;
  reduction: ReductionStats | undefined;
}

/** The result of a search: its stats, and its findings replayed with traces, sorted by id. */
function resultOf(
  sys: UntimedSystem,
  search: ExhaustiveSearch,
  found: Map<string, RawFinding>,
  extra: { reduction?: ReductionStats | undefined; symmetry?: SymmetryStats | undefined; memory: MemoryMode },
  elapsedMs: number,
): ExploreResult {
  const complete = search.limitHit === null && !(search.stopAtFirst && search.found.size > 0) && search.expanded === search.table.count;
  const storage = storageStats(search, extra.memory, sys.config.checks.livelock);
  const findings: Finding[] = [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((f) => materialize(sys, f));
  return {
    strategy: 'exhaustive',
    findings,
    stats: {
      states: search.table.count,
      transitions: search.transitions,
      depth: search.levels.length - 1,
      complete,
      limitHit: search.limitHit,
      runsWithFinding: search.occurrences,
      storage,
      elapsedMs: Math.round(elapsedMs),
      runs: 1,
      ...(extra.reduction ? { reduction: extra.reduction } : {}),
      ...(extra.symmetry ? { symmetry: extra.symmetry } : {}),
    },
    seedStart: 0,
    seedCount: 0,
  };
}

function storageStats(search: ExhaustiveSearch, memory: MemoryMode, livelock: boolean): StorageStats {
  const table = search.table;
  return {
    memory,
    tableBytes: Math.round(search.bytes),
    stateBytes: table.bytes,
    ...(table instanceof HashStore ? { omission: table.omission() } : { halves: table.halves }),
    edges: search.edgesKept(),
    notChecked: memory !== 'exact' && livelock ? ['cycles without progress (livelock, and deadlock by polling)'] : [],
  };
}

function runFull(sys: UntimedSystem, config: SimConfig, options: ExhaustiveOptions): ExhaustiveSearch {
  const search = new ExhaustiveSearch(sys, config, { ...options, reduction: 'none' });
  search.run();
  return search;
}

/**
 * The search with partial-order reduction, started over whenever what it relies on grew while it
 * ran after it had explored some state by its ample set alone (who talks to whom, learned from the
 * steps computed; the parts of the node views properties read, view-fields.ts) — or without
 * reduction, should an invariant or a history property have read more than the node views.
 */
function reducedSearch(sys: UntimedSystem, config: SimConfig, options: ExhaustiveOptions): { search: ExhaustiveSearch; restarts: number } {
  for (let restarts = 0; ; restarts++) {
    let basis = sys.reductionBasis;
    const search = new ExhaustiveSearch(sys, config, { ...options, reduction: 'por' });
    // (a search that has explored no state by its ample set alone yet is a search without
    // reduction so far: nothing it did rests on the basis, which it takes as it now is)
    const void_ = (): boolean => {
      if (sys.reductionBasis === basis) return false;
      if (search.reducedStates > 0) return true;
      basis = sys.reductionBasis;
      return false;
    };
    search.run(void_);
    if (!search.aborted && sys.reductionBasis === basis) return { search, restarts };
    if (sys.reductionBasis.endsWith('/0')) return { search: runFull(sys, config, options), restarts: restarts + 1 };
  }
}

/**
 * Reduction keeps every finding but not every shortest path to it: a search without reduction,
 * bounded by the longest path found (one level more, so that deadlocks at that depth are seen),
 * finds the shortest of each, in the same BFS order as a search without reduction would. Without
 * `all`, its first finding is the one a search without reduction stops at.
 */
function shorten(sys: UntimedSystem, config: SimConfig, options: ExhaustiveOptions, reduced: ExhaustiveSearch): { found: Map<string, RawFinding>; states: number } {
  if (reduced.found.size === 0) return { found: reduced.found, states: 0 };
  const longest = Math.max(...[...reduced.found.values()].map((f) => f.path!.length));
  const full = runFull(sys, config, { ...options, maxDepth: Math.min(options.maxDepth, longest + 1) });
  if (full.stopAtFirst && full.found.size > 0) return { found: full.found, states: full.table.count };
  const found = new Map(reduced.found);
  for (const [id, f] of full.found) {
    const prev = found.get(id);
    if (prev === undefined || f.path!.length <= prev.path!.length) found.set(id, f);
  }
  return { found, states: full.table.count };
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
