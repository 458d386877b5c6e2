/**
 * The cycle proviso of partial-order reduction (C3) for the exhaustive search's order: every cycle
 * of the reduced graph must hold a fully expanded state, so that no event stays ignored for ever
 * on a cycle of states that each explore only an ample set.
 *
 * The search expands states in the order of their index (breadth-first), so on any cycle one
 * state u is expanded last, and its successor v on the cycle was expanded before it (or is u
 * itself). The rule: a state u keeps its ample set only when no ample edge u -> v may close a cycle
 * of reduced states, where the edge u -> v may close one when v is u, or v was expanded before u
 * (a smaller index), with its ample set alone, and u can be reached from v along the ample edges of
 * states expanded before u (a bounded depth-first walk over the edges kept for the cycle check;
 * when the walk is cut by its bound, or there are no edges, it is taken that it may). Successors
 * not expanded yet (new, or a larger index) never close a cycle at u: a cycle through them is
 * judged when its last state is expanded.
 *
 * Why every cycle of the reduced graph then holds a fully expanded state: were every state of a
 * cycle C reduced, take the last of them expanded, u, and its successor v on C. When u was
 * expanded, v was expanded already, reduced, and the rest of C is a path from v to u along ample
 * edges of states expanded before u: the walk finds u (or gives up), so u was expanded fully after
 * all. This replaces the breadth-first proviso "every ample successor is new or one level deeper",
 * which also expands fully every state with an ample edge sideways or up in a diamond that closes
 * no cycle, or closes one through a state that was expanded fully anyway (a poll loop: the client's
 * timer and its reply are ample, the store serving all the requests is the only event left, a full
 * expansion already).
 */
import { GrowableArray } from './growable-array.js';

/**
 * The edges kept for the cycle check: per state its first edge slot (the next state's is its end),
 * per slot its target; the states below `expanded` have their edges final, and the last of them
 * ends at `edgesDone`.
 */
export interface ProvisoGraph {
  edgeStart: Int32Array;
  edgeTo: Int32Array;
  expanded: number;
  edgesDone: number;
}

/** How many states the walk looks at before it takes that the edge may close a cycle. */
const WALK_BOUND = 256;

export class CycleProviso {
  /** states expanded with an ample set alone (one bit each) */
  private readonly reducedBits = new GrowableArray(Int32Array, 1 << 11);
  private readonly stack = new Int32Array(WALK_BOUND);
  private readonly seen = new Int32Array(WALK_BOUND);

  /** State s was expanded with its ample set alone (told when its visit has decided so). */
  markReduced(s: number): void {
    const bits = this.reducedBits.ensure((s >>> 5) + 1);
    bits[s >>> 5] = bits[s >>> 5]! | (1 << (s & 31));
  }

  private reduced(s: number): boolean {
    const bits = this.reducedBits.array;
    return s >>> 5 < bits.length && (bits[s >>> 5]! & (1 << (s & 31))) !== 0;
  }

  /** Whether the ample edge u -> v may close a cycle of reduced states (`graph`: the edges kept, or null when none are). */
  mayClose(u: number, v: number, graph: ProvisoGraph | null): boolean {
    if (v === u) return true;
    if (v > u || !this.reduced(v)) return false;
    if (graph === null) return true;
    return this.reaches(v, u, graph);
  }

  /** Whether `target` can be reached from `from` along ample edges of reduced states with final edges (true when the walk is cut). */
  private reaches(from: number, target: number, graph: ProvisoGraph): boolean {
    const { edgeStart, edgeTo, expanded, edgesDone } = graph;
    let top = 0;
    let seenCount = 0;
    this.stack[top++] = from;
    this.seen[seenCount++] = from;
    while (top > 0) {
      const w = this.stack[--top]!;
      // (a state not expanded yet, or expanded fully, ends the walk: its edges are no ample edges)
      if (w >= expanded || !this.reduced(w)) continue;
      for (let x = edgeStart[w]!, end = w + 1 < expanded ? edgeStart[w + 1]! : edgesDone; x < end; x++) {
        const y = edgeTo[x]!;
        if (y === target) return true;
        if (y > target || this.inSeen(y, seenCount)) continue;
        if (seenCount === WALK_BOUND) return true;
        this.seen[seenCount++] = y;
        this.stack[top++] = y;
      }
    }
    return false;
  }

  private inSeen(y: number, count: number): boolean {
    const seen = this.seen;
    for (let k = 0; k < count; k++) if (seen[k] === y) return true;
    return false;
  }
}
