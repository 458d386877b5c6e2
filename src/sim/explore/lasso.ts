/**
 * The lasso of a fair component found by the exhaustive search: a shortest path to an entry state,
 * then a fair cycle back to it (one that steps every process enabled throughout the component).
 */
import { edgeSource, fairCycleThrough, type StateGraph } from './fair-cycles.js';

/**
 * The lasso of a fair component. The entry is the one among the component's shallowest states that
 * gives the shortest lasso; `levels[d]` is the index of the first state at depth d (BFS order).
 */
export function shortestLasso(
  graph: StateGraph,
  members: readonly number[],
  pathTo: (s: number) => number[],
  levels: readonly number[],
): { entry: number; path: number[]; cycleAt: number } | null {
  let best: { entry: number; edges: number[]; length: number } | null = null;
  // Members are sorted by BFS index, so the first ones are the shallowest.
  for (const v of members.slice(0, 16)) {
    const d = depthOf(levels, v);
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

/** The depth of state s: the last level that starts at or before it. */
export function depthOf(levels: readonly number[], s: number): number {
  let lo = 0;
  let hi = levels.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (levels[mid]! <= s) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
