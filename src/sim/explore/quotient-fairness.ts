/**
 * Weak fairness of a component of the quotient graph that symmetry reduction explores
 * (cycle-findings.ts), decided exactly from the quotient and the permutation of each edge.
 *
 * An edge of the quotient from canonical state c by event e leads to c' = g(y), where y is e's
 * concrete successor of c and g the permutation that made it canonical (kept per edge slot). From
 * a concrete state k(c) the same event, permuted, leads to k(y) = (k g⁻¹)(c'). Lifting the
 * component C from its first member s0 (k = identity) along a spanning tree gives each member c a
 * permutation k_c; every other edge c -> c' (permutation g) closes a loop h = k_c g⁻¹ k_c'⁻¹.
 * The concrete component D of s0 is then exactly { h k_c (c) : c in C, h in H }, H the group the
 * loops generate: every lifted path from s0 multiplies loops onto a tree path (by induction on its
 * length), and every loop maps D onto itself (it maps a state of D to the target of an edge inside
 * D). Every concrete component over C is an image of D, fair or not alike.
 *
 * D holds a weakly fair cycle (C has a cycle, so D has one) when every process is disabled in some
 * state of D or steps inside D (fair-cycles.ts). In state k(c) the process k(p) is enabled exactly
 * when p is in c, and steps along an edge inside D exactly when the quotient edge of p leaves c
 * inside C without progress. So: D is fair when the images, by every k in H k_c, of the processes
 * disabled in c and of those stepping inside C from c, over every member c, cover every process.
 */
import { progressBit, type StateGraph } from './fair-cycles.js';
import type { Symmetry } from './symmetry.js';

export class QuotientFairness {
  private readonly G: number;
  private readonly P: number;
  private readonly perms: Int32Array[];
  private readonly byKey = new Map<string, number>();
  private readonly inverse: Int32Array;
  /** process images: procImage[g * P + p] */
  private readonly procImage: Int32Array;
  private readonly composed = new Map<number, number>();
  /** scratch: per state, its position among the members of the component being judged, or -1 */
  private pos = new Int32Array(0);
  private readonly covered: Uint8Array;
  private readonly enabled: Uint8Array;
  private readonly steps: Uint8Array;

  constructor(sym: Symmetry, processCount: number) {
    this.perms = sym.group.perms;
    this.G = this.perms.length;
    this.P = processCount;
    this.perms.forEach((p, g) => this.byKey.set(p.join(','), g));
    this.inverse = new Int32Array(this.G);
    for (let g = 0; g < this.G; g++) {
      const perm = this.perms[g]!;
      const inv = new Int32Array(perm.length);
      for (let i = 0; i < perm.length; i++) inv[perm[i]!] = i;
      this.inverse[g] = this.byKey.get(inv.join(','))!;
    }
    this.procImage = new Int32Array(this.G * this.P);
    for (let g = 0; g < this.G; g++) for (let p = 0; p < this.P; p++) this.procImage[g * this.P + p] = sym.processImage(g, p);
    this.covered = new Uint8Array(this.P);
    this.enabled = new Uint8Array(this.P);
    this.steps = new Uint8Array(this.P);
  }

  /** The index of a∘b (b first). */
  private compose(a: number, b: number): number {
    if (a === 0) return b;
    if (b === 0) return a;
    const key = a * this.G + b;
    let c = this.composed.get(key);
    if (c === undefined) {
      const pa = this.perms[a]!;
      const pb = this.perms[b]!;
      c = this.byKey.get(Array.from(pb, (x) => pa[x]!).join(','))!;
      this.composed.set(key, c);
    }
    return c;
  }

  /** Whether the concrete components over quotient component `members` (strongly connected, with a cycle) are weakly fair. */
  fair(g: StateGraph, edgePerm: Uint16Array, members: readonly number[]): boolean {
    if (this.pos.length < g.expanded) this.pos = new Int32Array(Math.max(g.expanded, 2 * this.pos.length)).fill(-1);
    const pos = this.pos;
    for (let i = 0; i < members.length; i++) pos[members[i]!] = i;
    try {
      return this.judge(g, edgePerm, members);
    } finally {
      for (let i = 0; i < members.length; i++) pos[members[i]!] = -1;
    }
  }

  private judge(g: StateGraph, edgePerm: Uint16Array, members: readonly number[]): boolean {
    const pos = this.pos;
    const k = new Int32Array(members.length).fill(-1);
    k[0] = 0;
    const loops = new Set<number>();
    const queue = [0];
    const inside = (e: number): number => ((g.edgeLabel[e]! & progressBit) !== 0 || g.edgeTo[e]! >= g.expanded ? -1 : pos[g.edgeTo[e]!]!);
    for (let qi = 0; qi < queue.length; qi++) {
      const i = queue[qi]!;
      const v = members[i]!;
      for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
        const j = inside(e);
        if (j < 0) continue;
        const lifted = this.compose(k[i]!, this.inverse[edgePerm[e]!]!);
        if (k[j] === -1) {
          k[j] = lifted;
          queue.push(j);
        } else {
          const h = this.compose(lifted, this.inverse[k[j]!]!);
          if (h !== 0) loops.add(h);
        }
      }
    }
    const group = this.generated([...loops]);
    const P = this.P;
    const { covered, enabled, steps } = this;
    covered.fill(0);
    for (let i = 0; i < members.length; i++) {
      const v = members[i]!;
      enabled.fill(0);
      steps.fill(0);
      for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
        const label = g.edgeLabel[e]! & ~progressBit;
        if (label === g.faultLabel) continue;
        enabled[label] = 1;
        if (inside(e) >= 0) steps[label] = 1;
      }
      for (const h of group) {
        const at = this.compose(h, k[i]!) * P;
        for (let p = 0; p < P; p++) if (enabled[p] === 0 || steps[p] === 1) covered[this.procImage[at + p]!] = 1;
      }
    }
    return covered.every((c) => c === 1);
  }

  /** The elements of the group generated by `gens` (with the identity). */
  private generated(gens: number[]): number[] {
    const out = [0];
    const seen = new Set(out);
    for (let x = 0; x < out.length; x++) {
      for (const h of gens) {
        const y = this.compose(h, out[x]!);
        if (!seen.has(y)) {
          seen.add(y);
          out.push(y);
        }
      }
    }
    return out;
  }
}
