/**
 * The exhaustive search with symmetry reduction (`symmetry: true`, symmetry.ts): the search over
 * canonical states, then, for each finding, a concrete counterexample with concrete node names.
 *
 * The search's path to a finding is a path of canonical states: each step is an event of the
 * canonical state, whose successor was then permuted. The concrete path is found again step by
 * step from the initial state: at each concrete state (a permutation of the canonical one) it takes
 * the first enabled event whose successor has the same canonical state as the search's next one
 * (for the last step of a broken history property, the first event that breaks the same property).
 * One exists because the system is symmetric, and the concrete path has the same length, so
 * counterexamples stay the shortest; their summaries are computed again on the concrete state, so
 * they name the nodes of the path that is shown and replayed.
 *
 * Cycles without progress are looked for in the quotient and decided concretely (cycle-findings.ts):
 * their lassos are concrete already. With partial-order reduction (`searchWith`), ample sets are
 * computed on the stored canonical state, which is itself a concrete state, and the cycle proviso
 * (cycle-proviso.ts) works on the quotient's edges, to canonical successors: an ample edge that may
 * close a cycle of reduced states of the quotient marks its state for full expansion, so every
 * cycle of the reduced quotient has a fully expanded state, which is what the proof of the
 * ample-set conditions needs (the quotient is a
 * transition system in its own right; paths from a canonical state in it lift to concrete paths
 * from that state, so conditions C1 and C2 checked on the concrete state hold for them too; and
 * who talks to whom, C1's basis, is learned closed under the group, since the symmetry check
 * computes every permuted step).
 */
import type { SimConfig } from '../config.js';
import type { CompiledModel } from '../simulator.js';
import type { ExhaustiveOptions, ReductionStats } from './exhaustive.js';
import type { ExhaustiveSearch } from './exhaustive-search.js';
import { deadlockSummary, type RawFinding } from './raw-finding.js';
import { SymmetryBroken, type Symmetry } from './symmetry.js';
import { symmetryGroup } from './symmetry-group.js';
import { UntimedSystem } from './untimed-system.js';

/** What symmetry reduction did (in `ExploreStats.symmetry`). */
export interface SymmetryStats {
  /** the classes of interchangeable nodes, by name (empty when none) */
  classes: string[][];
  /** permutations in the group (1: no reduction) */
  permutations: number;
  /** why the search ran without symmetry after all, or null when it ran with it */
  refused: string | null;
  /** candidate nodes left out, and why */
  notes: string[];
  /** outcomes compared with their permutations while searching (the on-the-fly symmetry check) */
  checks: number;
}

/** The search (with or without partial-order reduction) over the states `options` asks for. */
export type SearchWith = (sys: UntimedSystem, options: ExhaustiveOptions) => { search: ExhaustiveSearch; found: Map<string, RawFinding>; reduction: ReductionStats | undefined };

export interface SymmetricRun {
  sys: UntimedSystem;
  search: ExhaustiveSearch;
  reduction: ReductionStats | undefined;
  /** the findings, with concrete paths and summaries */
  found: Map<string, RawFinding>;
  stats: SymmetryStats;
}

/** The search with symmetry reduction, or why it cannot be made (the caller then searches without). */
export function symmetricSearch(model: CompiledModel, config: SimConfig, options: ExhaustiveOptions, searchWith: SearchWith): SymmetricRun | { stats: SymmetryStats } {
  const names = config.nodes.map((x) => x.id);
  let group;
  try {
    group = symmetryGroup(model, config, options.faultBudget);
  } catch (e) {
    return { stats: { classes: [], permutations: 1, refused: (e as Error).message, notes: [], checks: 0 } };
  }
  const stats: SymmetryStats = { classes: group.classes.map((c) => c.map((i) => names[i]!)), permutations: group.perms.length, refused: null, notes: group.notes, checks: 0 };
  if (group.classes.length === 0) return { stats: { ...stats, refused: 'no interchangeable nodes (same role, parameters, start times, faults and workload shape)' } };
  const sys = new UntimedSystem(model, config, { faultBudget: options.faultBudget, memo: options.memo ?? true, viewReads: options.reduction === 'por', forget: options.forget ?? true });
  const sym = sys.enableSymmetry(group);
  try {
    const { search, found: canonical, reduction } = searchWith(sys, { ...options, symmetry: true });
    const found = new Map<string, RawFinding>();
    for (const [id, f] of canonical) found.set(id, f.cycleAt === null ? concretize(sys, sym, f) : f);
    return { sys, search, found, reduction, stats: { ...stats, checks: sym.checks } };
  } catch (e) {
    if (!(e instanceof SymmetryBroken)) throw e;
    return { stats: { ...stats, refused: `the nodes are not symmetric: ${e.message}`, checks: sym.checks } };
  }
}

/** The finding `f` of the search over canonical states, with a concrete path and a summary of it. */
export function concretize(sys: UntimedSystem, sym: Symmetry, f: RawFinding): RawFinding {
  const { path, end: conc, lastBroke } = concretePath(sys, sym, f.path ?? [], f.id);
  let summary = f.summary;
  if (f.kind === 'deadlock') summary = deadlockSummary(sys.unfinished(conc).map((i) => sys.nodeName(i)));
  else if (lastBroke >= 0) summary = sys.violation(lastBroke).summary;
  else summary = sys.checkInvariants(conc)?.summary ?? summary;
  return { ...f, path, summary };
}

/** The concrete path (choices) that a path of canonical states stands for, the state it ends in, and the violation of its last step (or -1). */
export function concretePath(sys: UntimedSystem, sym: Symmetry, path: readonly number[], what = 'a cycle'): { path: number[]; end: Int32Array; lastBroke: number } {
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  let canon = sys.initial();
  let conc = sys.initial();
  let lastBroke = -1;
  const out: number[] = [];
  for (let i = 0; i < path.length; i++) {
    sys.enumerate(canon, events, labels);
    const next = canon.slice();
    const broke = sys.apply(next, events[path[i]!]!, null);
    if (broke < 0) sym.canonicalize(next);
    const step = matchingStep(sys, sym, conc, next, broke, events, labels);
    if (step === null) throw new SymmetryBroken(`no concrete step matches step ${i + 1} of the counterexample for ${what}`);
    out.push(step.choice);
    canon = next;
    conc = step.vec;
    // (the concrete step's own violation: its summary names the concrete nodes)
    lastBroke = step.broke;
  }
  return { path: out, end: conc, lastBroke };
}

/** The first event of `conc` whose successor is a permutation of `next` (or breaks the same property as `broke`). */
function matchingStep(sys: UntimedSystem, sym: Symmetry, conc: Int32Array, next: Int32Array, broke: number, events: Int32Array, labels: Int32Array): { choice: number; vec: Int32Array; broke: number } | null {
  const n = sys.enumerate(conc, events, labels);
  const own = events.slice(0, n);
  for (let k = 0; k < n; k++) {
    const y = conc.slice();
    const b = sys.apply(y, own[k]!, null);
    if (broke >= 0) {
      if (b >= 0 && sys.violation(b).id === sys.violation(broke).id) return { choice: k, vec: y, broke: b };
      continue;
    }
    if (b >= 0) continue;
    const z = y.slice();
    sym.canonicalize(z);
    if (z.every((v, x) => v === next[x])) return { choice: k, vec: y, broke: -1 };
  }
  return null;
}
