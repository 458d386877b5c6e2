/**
 * Cycles without progress found by the exhaustive search (exhaustive-search.ts), as findings with a
 * lasso: the fair non-progress components of the explored graph (fair-cycles.ts), each with a
 * shortest path to an entry state and a fair cycle back to it (lasso.ts).
 *
 * Under symmetry reduction the explored graph is the quotient: an edge leads to the canonical
 * image of its target, and processes (a node's events, a link's deliveries) are named relative to
 * each state's representative, so weak fairness cannot be read off the quotient. What is sound:
 *
 *  - A component C of the quotient lifts to concrete components, permutations of one another: from
 *    a concrete state over C, lift the quotient's edges inside C (each quotient edge from c is a
 *    concrete event of c; from k(c) it is the permuted event). Going round a quotient cycle from x
 *    leads to h(x) for a permutation h; going round again to h(h(x)), and so on back to x, as h has
 *    finite order, so every state reached this way is in x's concrete component D, and D holds a
 *    state over every member of C. Conversely every concrete component of non-progress edges maps
 *    into one of the quotient. So D is found by exploring, concretely, from one state over C, every
 *    non-progress event whose target's canonical form is in C (at most |C| times the group's size
 *    states), and D's weak fairness is decided on D itself, with concrete processes, exactly as
 *    without symmetry. Its images are fair or not alike, so one suffices.
 *  - The lasso is realised concretely: the cycle is one of D's (its choices are the concrete
 *    enumeration's), and the path to its entry x is the search's path to x's canonical form made
 *    concrete (exhaustive-symmetry.ts) and then carried onto x by the permutation that maps its end
 *    to x (the initial state is fixed by every permutation, so the permuted path starts there too).
 *    BFS depth is the same in the quotient and the concrete graph, so the prefix is a shortest one.
 */
import type { Finding } from '../finding.js';
import { concretePath } from './exhaustive-symmetry.js';
import { edgeSource, fairCycleThrough, fairNonProgressComponents, progressBit, type StateGraph } from './fair-cycles.js';
import { depthOf, shortestLasso } from './lasso.js';
import { QuotientFairness } from './quotient-fairness.js';
import type { RawFinding } from './raw-finding.js';
import type { StateTable } from './state-table.js';
import type { Symmetry } from './symmetry.js';
import { LABEL_FAULT, type UntimedSystem } from './untimed-system.js';
import type { HashStore } from './hash-store.js';

/** The target of an edge that leaves the component (or leads to no state). */
const OUTSIDE = 0x7fffffff;

export interface CycleSearchParts {
  sys: UntimedSystem;
  /** symmetry reduction, or null */
  sym: Symmetry | null;
  table: StateTable | HashStore;
  graph: StateGraph;
  levels: readonly number[];
  pathTo(s: number): number[];
  /** scratch memory for Tarjan (the table's hash table once the search is over; not under symmetry) */
  memory?: Int32Array | undefined;
  /** (tests) decide every candidate component's fairness concretely too, and throw when the two differ */
  crossCheck?: boolean | undefined;
}

/** The fair cycles without progress among the expanded states, each as a finding with a lasso. */
export function cycleFindings(parts: CycleSearchParts): RawFinding[] {
  const { sys, sym, table, graph } = parts;
  const scratch = new Int32Array(sys.layout.width);
  const stalledComponent = (members: readonly number[]): boolean => {
    for (const v of members) {
      table.read(v, scratch);
      if (!sys.stalled(scratch)) return false;
    }
    return true;
  };
  // (under symmetry fairness is decided from the quotient and its edges' permutations:
  // quotient-fairness.ts; the lasso is then found on the concrete component, concreteLasso)
  const quotient = sym === null ? null : new QuotientFairness(sym, sys.processCount);
  const fair =
    quotient === null
      ? undefined
      : (members: readonly number[]): boolean => {
          const verdict = quotient.fair(graph, graph.edgePerm!, members);
          if (parts.crossCheck === true && stalledComponent(members) && weaklyFair(concreteComponent(sys, sym!, table as StateTable, members).graph) !== verdict) {
            throw new Error(`symmetry reduction: the quotient judges a component ${verdict ? '' : 'un'}fair that is not so concretely`);
          }
          return verdict;
        };
  const components = fairNonProgressComponents(graph, stalledComponent, parts.memory, fair);
  const out: RawFinding[] = [];
  for (const members of components) {
    let lasso: { path: number[]; cycleAt: number; entry: Int32Array } | null;
    if (sym === null) {
      const l = shortestLasso(graph, members, parts.pathTo, parts.levels);
      lasso = l === null ? null : { path: l.path, cycleAt: l.cycleAt, entry: readState(table, l.entry, sys.layout.width) };
    } else {
      lasso = concreteLasso(parts, sym, members);
    }
    if (lasso !== null) out.push(finding(sys, lasso));
  }
  return out;
}

function readState(table: StateTable | HashStore, s: number, width: number): Int32Array {
  const out = new Int32Array(width);
  table.read(s, out);
  return out;
}

function finding(sys: UntimedSystem, lasso: { path: number[]; cycleAt: number; entry: Int32Array }): RawFinding {
  const names = sys.unfinished(lasso.entry).map((i) => sys.nodeName(i));
  const polling = sys.allUnfinishedWaiting(lasso.entry);
  const list = names.join(', ');
  const kind: Finding['kind'] = polling ? 'deadlock' : 'livelock';
  return {
    kind,
    id: kind,
    summary: polling
      ? `deadlock: ${list} ${names.length === 1 ? 'waits' : 'wait'} for ever, polling without progress (the same states repeat with nothing shown to anyone)`
      : `livelock: ${list} keep${names.length === 1 ? 's' : ''} running through the same states without progress`,
    path: lasso.path,
    at: -1,
    choice: -1,
    cycleAt: lasso.cycleAt,
  };
}

/** A concrete component: its states (vectors), their canonical ids, and its graph (one edge slot per enabled event). */
interface ConcreteComponent {
  vecs: Int32Array[];
  canon: number[];
  graph: StateGraph;
}

/** The lasso of quotient component `members` realised concretely, or null when its concrete component is not fair. */
function concreteLasso(parts: CycleSearchParts, sym: Symmetry, members: readonly number[]): { path: number[]; cycleAt: number; entry: Int32Array } | null {
  const { sys, table, levels } = parts;
  const d = concreteComponent(sys, sym, table as StateTable, members);
  const all = Array.from(d.vecs.keys());
  // (quotient-fairness.ts found it fair: the concrete component must agree)
  if (!weaklyFair(d.graph)) throw new Error('symmetry reduction: a component fair in the quotient is not fair concretely');
  // entries: the concrete states over the shallowest members, by depth, then canonical id, then discovery
  const order = all.slice().sort((a, b) => depthOf(levels, d.canon[a]!) - depthOf(levels, d.canon[b]!) || d.canon[a]! - d.canon[b]! || a - b);
  let best: { entry: number; edges: number[]; length: number } | null = null;
  for (const v of order.slice(0, 16)) {
    const depth = depthOf(levels, d.canon[v]!);
    if (best !== null && depth >= best.length) break;
    const edges = fairCycleThrough(d.graph, all, v);
    if (edges !== null && (best === null || depth + edges.length < best.length)) best = { entry: v, edges, length: depth + edges.length };
  }
  if (best === null) return null;
  const prefix = pathOnto(sys, sym, parts.pathTo(d.canon[best.entry]!), d.vecs[best.entry]!);
  if (prefix === null) return null;
  const cycle = best.edges.map((e) => e - d.graph.edgeStart[edgeSource(d.graph, e)]!);
  return { path: [...prefix, ...cycle], cycleAt: prefix.length, entry: d.vecs[best.entry]! };
}

/** The concrete component over quotient component `members`, explored from the canonical state of its first member. */
function concreteComponent(sys: UntimedSystem, sym: Symmetry, table: StateTable, members: readonly number[]): ConcreteComponent {
  const inC = new Set(members);
  const width = sys.layout.width;
  const vecs: Int32Array[] = [];
  const canon: number[] = [];
  const index = new Map<string, number>();
  const add = (vec: Int32Array, id: number): number => {
    const key = vec.join(',');
    let at = index.get(key);
    if (at === undefined) {
      at = vecs.length;
      index.set(key, at);
      vecs.push(vec);
      canon.push(id);
    }
    return at;
  };
  add(readState(table, members[0]!, width), members[0]!);
  const edgeStart: number[] = [];
  const edgeTo: number[] = [];
  const edgeLabel: number[] = [];
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  const z = new Int32Array(width);
  for (let x = 0; x < vecs.length; x++) {
    edgeStart.push(edgeTo.length);
    const n = sys.enumerate(vecs[x]!, events, labels);
    const own = events.slice(0, n);
    const ownLabels = labels.slice(0, n);
    for (let k = 0; k < n; k++) {
      const y = vecs[x]!.slice();
      const broke = sys.apply(y, own[k]!, null);
      if (broke >= 0) {
        edgeTo.push(OUTSIDE);
        edgeLabel.push(LABEL_FAULT);
        continue;
      }
      const label = (ownLabels[k]! & 0x7fff) | (sys.progressFlag ? progressBit : 0);
      z.set(y);
      sym.canonicalize(z);
      const id = table.find(z);
      const inside = (label & progressBit) === 0 && inC.has(id);
      edgeTo.push(inside ? add(y, id) : OUTSIDE);
      edgeLabel.push(label);
    }
  }
  edgeStart.push(edgeTo.length);
  const graph: StateGraph = { expanded: vecs.length, edgeStart: Int32Array.from(edgeStart), edgeTo: Int32Array.from(edgeTo), edgeLabel: Uint16Array.from(edgeLabel), processCount: sys.processCount, faultLabel: LABEL_FAULT };
  return { vecs, canon, graph };
}

/**
 * Whether a strongly connected graph (of its non-progress edges to its own states) holds a weakly
 * fair cycle: it has a cycle, and every process enabled in all its states has an edge inside it
 * (the criterion of fair-cycles.ts).
 */
function weaklyFair(g: StateGraph): boolean {
  const enabledIn = new Int32Array(g.processCount);
  const lastState = new Int32Array(g.processCount).fill(-1);
  const taken = new Uint8Array(g.processCount);
  let edgesInside = 0;
  for (let v = 0; v < g.expanded; v++) {
    for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
      const label = g.edgeLabel[e]! & ~progressBit;
      const inside = (g.edgeLabel[e]! & progressBit) === 0 && g.edgeTo[e]! < g.expanded;
      if (inside) edgesInside++;
      if (label === g.faultLabel) continue;
      if (lastState[label] !== v) {
        lastState[label] = v;
        enabledIn[label]!++;
      }
      if (inside) taken[label] = 1;
    }
  }
  if (edgesInside === 0) return false;
  for (let p = 0; p < g.processCount; p++) if (enabledIn[p] === g.expanded && taken[p] === 0) return false;
  return true;
}

/**
 * A concrete path to exactly `target`: the canonical path made concrete (it ends at a permutation
 * of `target`), then carried onto `target` by the permutation that maps its end there. Null when
 * no permutation does (cannot happen in a symmetric system).
 */
function pathOnto(sys: UntimedSystem, sym: Symmetry, canonicalPath: number[], target: Int32Array): number[] | null {
  const states = concreteStates(sys, sym, canonicalPath);
  const end = states[states.length - 1]!;
  const width = sys.layout.width;
  const img = new Int32Array(width);
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  for (let g = 0; g < sym.group.perms.length; g++) {
    if (!equal(sym.permute(end, g, img), target)) continue;
    const out: number[] = [];
    let cur = sym.permute(states[0]!, g, new Int32Array(width));
    if (!equal(cur, sys.initial())) continue;
    for (let i = 1; i < states.length && out.length === i - 1; i++) {
      const want = sym.permute(states[i]!, g, new Int32Array(width));
      const n = sys.enumerate(cur, events, labels);
      const own = events.slice(0, n);
      for (let k = 0; k < n; k++) {
        const y = cur.slice();
        if (sys.apply(y, own[k]!, null) < 0 && equal(y, want)) {
          out.push(k);
          cur = y;
          break;
        }
      }
    }
    if (out.length === states.length - 1) return out;
  }
  return null;
}

/** The concrete states along the concrete form of a canonical path (see exhaustive-symmetry.ts). */
function concreteStates(sys: UntimedSystem, sym: Symmetry, canonicalPath: number[]): Int32Array[] {
  const path = concretePath(sys, sym, canonicalPath).path;
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  const states = [sys.initial()];
  for (const k of path) {
    const y = states[states.length - 1]!.slice();
    sys.enumerate(y, events, labels);
    sys.apply(y, events[k]!, null);
    states.push(y);
  }
  return states;
}

function equal(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
