/**
 * Livelock detection over an explored state graph: the strongly connected components of the
 * graph of non-progress transitions that contain a weakly fair cycle.
 *
 * A cycle is weakly fair when every process (a node's start, timers or input, a link's deliveries,
 * the scripted faults) that is enabled in every state of the cycle also takes a step in it: a real
 * scheduler does not starve a process for ever. Faults and losses are no process's duty and never
 * count. Within one SCC a cycle through every state and every internal edge exists, so an SCC holds
 * a fair cycle exactly when, for every process, it is disabled in some state of the SCC or has an
 * edge inside the SCC. This rules out, for example, "c2 polls for ever while c1's person never
 * types": c1's input is enabled throughout and never taken inside the cycle.
 */
import { GrowableArray } from './growable-array.js';

/** The explored graph in compressed sparse row form (only expanded states have edges). */
export interface StateGraph {
  /** states 0..expanded-1 have their complete edge lists */
  expanded: number;
  /** edges of state s are edgeStart[s] .. edgeStart[s + 1] - 1 */
  edgeStart: Int32Array;
  edgeTo: Int32Array;
  /** fairness label (process id, or `faultLabel`) in the low 15 bits; bit 15 marks a progress edge */
  edgeLabel: Uint16Array;
  processCount: number;
  faultLabel: number;
  /** under symmetry reduction: per edge, the permutation that made its target canonical */
  edgePerm?: Uint16Array;
}

export const progressBit = 0x8000;

/**
 * Every SCC of non-progress edges among the expanded states that has a cycle and is weakly fair.
 * `accept` filters SCCs further (e.g. every state stalled). Components come in no particular order.
 * `fair`, when given, decides weak fairness instead of the labels of `graph` (under symmetry
 * reduction, where the labels are relative to each state's representative: cycle-findings.ts).
 */
export function fairNonProgressComponents(graph: StateGraph, accept: (states: readonly number[]) => boolean, scratch?: Int32Array, fair?: (states: readonly number[]) => boolean): number[][] {
  const { expanded, edgeStart, edgeTo, edgeLabel } = graph;
  // Eight bytes a state, as this runs over every state when the search holds the most: index[v]
  // is v's DFS number + 1 (0: not visited); low[v] is Tarjan's low-link while v is on the stack,
  // and -2 - its component's number once its component is complete (so no on-stack flags and no
  // component array). The stacks grow as deep as the DFS goes (growable-array.ts). `scratch`, when
  // given (2 * expanded ints at least), holds both and no memory is taken.
  const borrowed = scratch !== undefined && scratch.length >= 2 * expanded;
  if (borrowed) scratch.fill(0, 0, 2 * expanded);
  const index = borrowed ? scratch.subarray(0, expanded) : new Int32Array(expanded);
  const low = borrowed ? scratch.subarray(expanded, 2 * expanded) : new Int32Array(expanded);
  const stacks = { stack: new GrowableArray(Int32Array, 1024), node: new GrowableArray(Int32Array, 1024), edge: new GrowableArray(Int32Array, 1024) };
  let stack = stacks.stack.array;
  let callNode = stacks.node.array;
  let callEdge = stacks.edge.array;
  let sp = 0;
  let counter = 1;
  const out: number[][] = [];
  let compCount = 0;
  const comp = (w: number): number => -2 - low[w]!;
  const enabledIn = new Int32Array(graph.processCount);
  const lastState = new Int32Array(graph.processCount);
  const taken = new Uint8Array(graph.processCount);

  const inGraph = (e: number): boolean => (edgeLabel[e]! & progressBit) === 0 && edgeTo[e]! < expanded;

  for (let root = 0; root < expanded; root++) {
    if (index[root] !== 0) continue;
    let depth = 0;
    callNode[0] = root;
    callEdge[0] = edgeStart[root]!;
    index[root] = low[root] = counter++;
    stack[sp++] = root;
    while (depth >= 0) {
      const v = callNode[depth]!;
      const end = edgeStart[v + 1]!;
      let e = callEdge[depth]!;
      let descended = false;
      while (e < end) {
        const w = edgeTo[e]!;
        // only non-progress edges to expanded states (inGraph, spelled out: this loop is hot)
        if ((edgeLabel[e]! & progressBit) !== 0 || w >= expanded) {
          e++;
          continue;
        }
        e++;
        if (index[w] === 0) {
          callEdge[depth] = e;
          depth++;
          if (depth >= callNode.length || sp >= stack.length) {
            callNode = stacks.node.ensure(depth + 1);
            callEdge = stacks.edge.ensure(depth + 1);
            stack = stacks.stack.ensure(sp + 1);
          }
          callNode[depth] = w;
          callEdge[depth] = edgeStart[w]!;
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          descended = true;
          break;
        } else if (low[w]! >= 0 && index[w]! < low[v]!) {
          // (w is on the stack: its component is not complete)
          low[v] = index[w]!;
        }
      }
      if (descended) continue;
      callEdge[depth] = e;
      if (low[v] === index[v] && stack[sp - 1] === v && !selfLoop(v)) {
        // A single state without a non-progress edge to itself has no cycle: most components
        // are such, and need no member list.
        sp--;
        low[v] = -2 - compCount++;
      } else if (low[v] === index[v]) {
        const members: number[] = [];
        let w: number;
        do {
          w = stack[--sp]!;
          low[w] = -2 - compCount;
          members.push(w);
        } while (w !== v);
        const c = compCount++;
        if (hasCycle(members, c) && (fair === undefined ? isFair(members, c) : fair(members)) && accept(members)) out.push(members.sort((a, b) => a - b));
      }
      depth--;
      if (depth >= 0) {
        const parent = callNode[depth]!;
        if (low[v]! >= 0 && low[v]! < low[parent]!) low[parent] = low[v]!;
      }
    }
  }
  return out;

  function selfLoop(v: number): boolean {
    for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) if (edgeTo[e] === v && inGraph(e)) return true;
    return false;
  }

  function hasCycle(members: number[], c: number): boolean {
    if (members.length > 1) return true;
    const v = members[0]!;
    for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) if (inGraph(e) && edgeTo[e] === v && comp(v) === c) return true;
    return false;
  }

  function isFair(members: number[], c: number): boolean {
    enabledIn.fill(0);
    lastState.fill(-1);
    taken.fill(0);
    for (const v of members) {
      for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) {
        const label = edgeLabel[e]! & ~progressBit;
        if (label === graph.faultLabel) continue;
        if (lastState[label] !== v) {
          lastState[label] = v;
          enabledIn[label]!++;
        }
        if (inGraph(e) && comp(edgeTo[e]!) === c) taken[label] = 1;
      }
    }
    for (let p = 0; p < graph.processCount; p++) {
      if (enabledIn[p] === members.length && taken[p] === 0) return false;
    }
    return true;
  }
}

/**
 * The shortest cycle through `from` using non-progress edges inside `members`: the edge indices
 * in order, or null when there is none.
 */
export function shortestCycleThrough(graph: StateGraph, members: ReadonlySet<number>, from: number): number[] | null {
  const { edgeStart, edgeTo, edgeLabel } = graph;
  const viaEdge = new Map<number, number>();
  const queue: number[] = [from];
  const seen = new Set<number>([from]);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi]!;
    for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) {
      if ((edgeLabel[e]! & progressBit) !== 0) continue;
      const w = edgeTo[e]!;
      if (!members.has(w)) continue;
      if (w === from) {
        const edges = [e];
        let x = v;
        while (x !== from) {
          const pe = viaEdge.get(x)!;
          edges.push(pe);
          x = edgeSource(graph, pe);
        }
        return edges.reverse();
      }
      if (seen.has(w)) continue;
      seen.add(w);
      viaEdge.set(w, e);
      queue.push(w);
    }
  }
  return null;
}

/** The state an edge leaves from (binary search over edgeStart). */
export function edgeSource(graph: StateGraph, e: number): number {
  let lo = 0;
  let hi = graph.expanded - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (graph.edgeStart[mid]! <= e) lo = mid;
    else hi = mid - 1;
  }
  // Skip states without edges that share the same start offset.
  while (lo + 1 < graph.expanded && graph.edgeStart[lo + 1]! <= e) lo++;
  return lo;
}

/**
 * A fair cycle through `from` inside the component `members`: it takes a step of every process
 * that is enabled in every state of the component (so the trace does not suggest that, say, a
 * message in flight is never delivered), then returns to `from`. Edge indices in order, or null.
 */
export function fairCycleThrough(graph: StateGraph, members: readonly number[], from: number): number[] | null {
  const { edgeStart, edgeTo, edgeLabel } = graph;
  const set = new Set(members);
  const inside = (e: number): boolean => (edgeLabel[e]! & progressBit) === 0 && set.has(edgeTo[e]!);
  // processes enabled in every state of the component
  const enabledIn = new Map<number, number>();
  for (const v of members) {
    const seen = new Set<number>();
    for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) {
      const label = edgeLabel[e]! & ~progressBit;
      if (label === graph.faultLabel || seen.has(label)) continue;
      seen.add(label);
      enabledIn.set(label, (enabledIn.get(label) ?? 0) + 1);
    }
  }
  const required = new Set([...enabledIn.entries()].filter(([, n]) => n === members.length).map(([label]) => label));
  // Breadth-first inside the component from `start` to the first edge that `goal` accepts.
  const walk = (start: number, goal: (e: number) => boolean): number[] | null => {
    const via = new Map<number, number>();
    const queue = [start];
    const seen = new Set([start]);
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi]!;
      for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) {
        if (!inside(e)) continue;
        if (goal(e)) {
          const out = [e];
          let x = v;
          while (x !== start) {
            const pe = via.get(x)!;
            out.push(pe);
            x = edgeSource(graph, pe);
          }
          return out.reverse();
        }
        const w = edgeTo[e]!;
        if (seen.has(w)) continue;
        seen.add(w);
        via.set(w, e);
        queue.push(w);
      }
    }
    return null;
  };
  // A cycle that steps every required process; then, if some process is enabled all along that
  // cycle without stepping (weak fairness of the cycle itself), require it too and build again.
  for (let round = 0; round <= graph.processCount; round++) {
    const edges: number[] = [];
    const taken = new Set<number>();
    let at = from;
    for (const label of [...required].sort((a, b) => a - b)) {
      if (taken.has(label)) continue;
      const part = walk(at, (e) => (edgeLabel[e]! & ~progressBit) === label);
      if (part === null) return null;
      for (const e of part) {
        edges.push(e);
        taken.add(edgeLabel[e]! & ~progressBit);
      }
      at = edgeTo[part[part.length - 1]!]!;
    }
    if (at !== from || edges.length === 0) {
      const back = walk(at, (e) => edgeTo[e] === from);
      if (back === null) return null;
      for (const e of back) {
        edges.push(e);
        taken.add(edgeLabel[e]! & ~progressBit);
      }
    }
    const counts = new Map<number, number>();
    const states = new Set(edges.map((e) => edgeSource(graph, e)));
    for (const v of states) {
      const seen = new Set<number>();
      for (let e = edgeStart[v]!; e < edgeStart[v + 1]!; e++) {
        const label = edgeLabel[e]! & ~progressBit;
        if (label === graph.faultLabel || seen.has(label)) continue;
        seen.add(label);
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
    }
    const missing = [...counts.entries()].filter(([label, n]) => n === states.size && !taken.has(label)).map(([label]) => label);
    if (missing.length === 0) return edges;
    for (const label of missing) required.add(label);
  }
  return null;
}
