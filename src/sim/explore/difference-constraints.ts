/**
 * Difference constraints over integer unknowns, `x[v] >= x[u] + c`, solved for their least
 * solution with every unknown at least `x[0]` = 0 (Bellman-Ford over longest paths from unknown 0).
 * When there is none, the constraints on a positive cycle are the ones that cannot all hold: they
 * are returned, with by how much they miss, so the caller can say which bounds clash.
 */

export interface Constraint<L> {
  /** x[to] >= x[from] + c */
  from: number;
  to: number;
  c: number;
  /** what the constraint means, for the explanation of a clash */
  label: L;
}

export type Solution<L> =
  | { feasible: true; x: number[] }
  | { feasible: false; cycle: Constraint<L>[]; excessMs: number };

export class DifferenceConstraints<L> {
  private readonly list: Constraint<L>[] = [];
  private count = 1;

  /** A new unknown (unknown 0 is the origin of time). */
  unknown(): number {
    return this.count++;
  }

  /** x[to] - x[from] >= c */
  atLeast(from: number, to: number, c: number, label: L): void {
    this.list.push({ from, to, c, label });
  }

  /** x[to] - x[from] <= c */
  atMost(from: number, to: number, c: number, label: L): void {
    this.list.push({ from: to, to: from, c: -c, label });
  }

  /** x[to] - x[from] == c */
  exactly(from: number, to: number, c: number, label: L): void {
    this.atLeast(from, to, c, label);
    this.atMost(from, to, c, label);
  }

  get size(): number {
    return this.count;
  }

  solve(): Solution<L> {
    const n = this.count;
    const x = new Array<number>(n).fill(0);
    const via = new Array<Constraint<L> | null>(n).fill(null);
    let changed: number = -1;
    for (let round = 0; round <= n; round++) {
      changed = -1;
      for (const k of this.list) {
        const v = x[k.from]! + k.c;
        if (v > x[k.to]!) {
          x[k.to] = v;
          via[k.to] = k;
          changed = k.to;
        }
      }
      if (changed < 0) break;
      // the origin itself may not move: a positive cycle through it
      if (x[0] !== 0) break;
    }
    if (changed < 0 && x[0] === 0) return { feasible: true, x };
    // Walk back along the constraints that raised each time. From the origin (pushed after itself),
    // the walk ends at a time never raised, which sits at its implicit bound (not before the origin):
    // the constraints walked are the ones that cannot all hold. From a time still changing after n
    // rounds, the walk enters a positive cycle: the part from the first time seen twice.
    const walked: Constraint<L>[] = [];
    const at = new Map<number, number>();
    let u = x[0] !== 0 ? 0 : changed;
    while (!at.has(u)) {
      const k = via[u];
      if (k === null || k === undefined) break;
      at.set(u, walked.length);
      walked.push(k);
      u = k.from;
    }
    const cycle = (at.has(u) ? walked.slice(at.get(u)!) : walked).reverse();
    return { feasible: false, cycle, excessMs: cycle.reduce((s, k) => s + k.c, 0) };
  }
}
