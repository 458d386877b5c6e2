/**
 * Symmetry reduction for the exhaustive search: a global state stands for every state that differs
 * from it only by a permutation of interchangeable nodes (symmetry-group.ts), and the search stores
 * one of them, the canonical one: the least vector, in the order of its integers, among the images
 * of the state by every permutation of the group.
 *
 * The image of a state by permutation g moves node i's local state to node g(i), renamed (its
 * machine context and its timers' events with node names swapped, re-interned in g(i)'s table), the
 * channel of pair (a, b) to pair (g(a), g(b)) (its two queues swapped when the pair's order flips,
 * every message renamed and re-addressed), each monitor state renamed, and the fault bookkeeping's
 * per-node and per-link bits permuted. Images are computed once per (g, id) and remembered.
 *
 * The reduction is sound when the system is symmetric: permuting a state and then stepping it is
 * stepping it and then permuting. The scenario's side is checked once (symmetry-group.ts); the
 * model's is checked as the search goes, on everything it computes afresh: every node event outcome
 * is compared with the outcome of the permuted event in the permuted local state (next state, sends,
 * closes, observations, progress), every monitor step with the permuted step, and the invariants'
 * verdict on every new tuple of node views with their verdict on its permutations. A difference
 * throws `SymmetryBroken`, and the explorer searches again without symmetry, saying why.
 */
import type { NodeId } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { ChannelStore } from './channel-store.js';
import type { Monitors } from './monitors.js';
import type { NodeLocals } from './node-locals.js';
import type { NodeViews } from './node-views.js';
import type { Observations } from './observations.js';
import type { SymmetryGroup } from './symmetry-group.js';
import { K_BLOCKED, K_SILENT, N_DELIVER, N_TIMER, type Layout, type NodeResult } from './untimed-model.js';
import type { Topology } from './untimed-topology.js';

/** The system is not symmetric after all: what differed. */
export class SymmetryBroken extends Error {}

export interface SymmetryParts {
  group: SymmetryGroup;
  layout: Layout;
  topology: Topology;
  nodeIds: readonly NodeId[];
  nodes: NodeLocals;
  store: ChannelStore;
  monitors: Monitors;
  observations: Observations;
  views: NodeViews;
  /** the invariants' verdict on a state (a finding id, or null) */
  invariantId(vec: Int32Array): string | null;
  /** no invariant has read more than the node views (their verdict is then a function of them) */
  invariantsViewsOnly(): boolean;
}

/** id -> image id, -1 until computed. */
class ImageMap {
  private a = new Int32Array(64).fill(-1);
  get(id: number): number {
    return id < this.a.length ? this.a[id]! : -1;
  }
  set(id: number, v: number): void {
    if (id >= this.a.length) {
      let size = this.a.length * 2;
      while (size <= id) size *= 2;
      const b = new Int32Array(size).fill(-1);
      b.set(this.a);
      this.a = b;
    }
    this.a[id] = v;
  }
}

export class Symmetry {
  readonly group: SymmetryGroup;
  private readonly p: SymmetryParts;
  private readonly G: number;
  private readonly n: number;
  private readonly width: number;
  /** per permutation: images of node locals (per node), messages, queues, channels (kept, flipped), monitor states (per property), miscs, observations */
  private readonly localImg: ImageMap[][];
  private readonly msgImg: ImageMap[];
  private readonly queueImg: ImageMap[];
  private readonly chanImg: ImageMap[][];
  private readonly monImg: ImageMap[][];
  private readonly miscImg: ImageMap[];
  private readonly obsImg: ImageMap[];
  /** per permutation, per vector index j: the index whose image lands at j, and (pairs) whether the pair's order flips */
  private readonly source: Int32Array[];
  private readonly flips: Uint8Array[];
  private readonly best: Int32Array;
  private readonly cand: Int32Array;
  private readonly scratch: Int32Array;
  private readonly invScratch: Int32Array;
  private readonly chanTuple = new Int32Array(3);
  /** set while a check computes permuted outcomes (they are not checked in turn: see `checkNode`) */
  private checking = false;
  /** view tuples whose invariant verdict was checked against its permutations */
  private readonly checkedViews = new Set<number>();
  /** outcomes compared (node events, monitor steps, view tuples), for the report */
  checks = 0;

  constructor(parts: SymmetryParts) {
    this.p = parts;
    this.group = parts.group;
    this.G = parts.group.perms.length;
    this.n = parts.layout.nodes;
    this.width = parts.layout.width;
    const per = <T>(f: () => T): T[] => Array.from({ length: this.G }, f);
    this.localImg = per(() => Array.from({ length: this.n }, () => new ImageMap()));
    this.msgImg = per(() => new ImageMap());
    this.queueImg = per(() => new ImageMap());
    this.chanImg = per(() => [new ImageMap(), new ImageMap()]);
    this.monImg = per(() => Array.from({ length: parts.layout.misc - parts.layout.monitorBase }, () => new ImageMap()));
    this.miscImg = per(() => new ImageMap());
    this.obsImg = per(() => new ImageMap());
    this.source = [];
    this.flips = [];
    for (const perm of this.group.perms) this.placement(perm);
    this.best = new Int32Array(this.width);
    this.cand = new Int32Array(this.width);
    this.scratch = new Int32Array(this.width);
    this.invScratch = new Int32Array(this.width);
    parts.nodes.onComputed = (i, localId, code, r) => this.checkNode(i, localId, code, r);
    parts.monitors.onStep = (mp, vec, ms, obsId, r) => this.checkMonitor(mp, vec, ms, obsId, r);
  }

  /** Where each index of the image by `perm` comes from. */
  private placement(perm: Int32Array): void {
    const { layout, topology } = this.p;
    const n = this.n;
    const inv = new Int32Array(n);
    for (let i = 0; i < n; i++) inv[perm[i]!] = i;
    const src = new Int32Array(this.width);
    const flip = new Uint8Array(this.width);
    for (let j = 0; j < this.width; j++) src[j] = j;
    for (let j = 0; j < n; j++) src[j] = inv[j]!;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        // the pair (a, b) of the image holds the channel of (inv a, inv b)
        const q = topology.pairOf[inv[a]! * n + inv[b]!]!;
        const j = layout.chanBase + topology.pairOf[a * n + b]!;
        src[j] = layout.chanBase + q;
        flip[j] = inv[a]! > inv[b]! ? 1 : 0;
      }
    }
    this.source.push(src);
    this.flips.push(flip);
  }

  /** Makes `vec` canonical in place: the least of its images. Returns the permutation taken (0: none). */
  canonicalize(vec: Int32Array): number {
    const W = this.width;
    const best = this.best;
    const cand = this.cand;
    best.set(vec);
    let bestG = 0;
    for (let g = 1; g < this.G; g++) {
      let order = 0;
      for (let j = 0; j < W; j++) {
        const v = this.component(g, j, vec);
        if (order === 0) {
          if (v > best[j]!) break;
          if (v < best[j]!) order = 1;
        }
        cand[j] = v;
        if (j === W - 1 && order === 1) {
          best.set(cand);
          bestG = g;
        }
      }
    }
    if (bestG !== 0) vec.set(best);
    return bestG;
  }

  /** The image of `vec` by permutation g, into `out`. */
  permute(vec: Int32Array, g: number, out: Int32Array): Int32Array {
    for (let j = 0; j < this.width; j++) out[j] = this.component(g, j, vec);
    return out;
  }

  /** Index j of the image of `vec` by permutation g. */
  private component(g: number, j: number, vec: Int32Array): number {
    const layout = this.p.layout;
    const s = this.source[g]![j]!;
    const id = vec[s]!;
    if (j < this.n) return this.localImage(g, s, id);
    if (j < layout.monitorBase) return this.chanImage(g, this.flips[g]![j]!, id);
    if (j < layout.misc) return this.monitorImage(g, j - layout.monitorBase, id);
    return this.miscImage(g, id);
  }

  /**
   * The image by permutation g of fairness label p (a process: a node's start, a link's
   * deliveries, a node's timers, a node's input, the scripted faults; see UntimedSystem#enumerate).
   */
  processImage(g: number, p: number): number {
    const n = this.n;
    const { layout, topology } = this.p;
    const links = layout.links;
    const perm = this.group.perms[g]!;
    if (p < n) return perm[p]!;
    if (p < n + links) return n + topology.linkOf[perm[topology.linkFrom[p - n]!]! * n + perm[topology.linkTo[p - n]!]!]!;
    if (p < 2 * n + links) return n + links + perm[p - n - links]!;
    if (p < 3 * n + links) return 2 * n + links + perm[p - 2 * n - links]!;
    return p;
  }

  // ---- images of the parts ------------------------------------------------------------------

  /** Node i's local `id`, renamed by g, in node g(i)'s table. */
  localImage(g: number, i: number, id: number): number {
    if (g === 0) return id;
    const map = this.localImg[g]![i]!;
    let v = map.get(id);
    if (v >= 0) return v;
    const { nodes, group } = this.p;
    const loc = nodes.locals[i]![id]!;
    const stateId = loc.stateId < 0 ? -1 : nodes.runtimes[i]!.renamed(loc.stateId, (c) => group.rename(g, c) as Record<string, unknown>);
    const timers = loc.timers
      .map((t) => {
        const event = group.rename(g, t.event) as typeof t.event;
        return { id: group.rename(g, t.id) as string, event, eventKey: canonicalJson(event) };
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    v = nodes.intern(group.perms[g]![i]!, { status: loc.status, stateId, timers, cursor: loc.cursor, inputPending: loc.inputPending });
    map.set(id, v);
    return v;
  }

  msgImage(g: number, id: number): number {
    const map = this.msgImg[g]!;
    let v = map.get(id);
    if (v >= 0) return v;
    const { store, group } = this.p;
    const m = store.msgs[id]!;
    const perm = group.perms[g]!;
    v = m.msg === null ? store.connMsg(perm[m.from]!, perm[m.to]!, m.conn!) : store.internMsg(perm[m.from]!, perm[m.to]!, group.rename(g, m.msg) as typeof m.msg);
    map.set(id, v);
    return v;
  }

  private queueImage(g: number, q: number): number {
    if (q === 0) return 0;
    const map = this.queueImg[g]!;
    let v = map.get(q);
    if (v >= 0) return v;
    const store = this.p.store;
    v = store.internQueue(Array.from(store.queues[q]!, (m) => this.msgImage(g, m)));
    map.set(q, v);
    return v;
  }

  private chanImage(g: number, flip: number, id: number): number {
    if (id === 0) return 0;
    const map = this.chanImg[g]![flip]!;
    let v = map.get(id);
    if (v >= 0) return v;
    const chans = this.p.store.chans;
    const at = id * 3;
    const q0 = this.queueImage(g, chans.data[at]!);
    const q1 = this.queueImage(g, chans.data[at + 1]!);
    const t = this.chanTuple;
    t[0] = flip ? q1 : q0;
    t[1] = flip ? q0 : q1;
    t[2] = chans.data[at + 2]!;
    v = chans.intern(t);
    map.set(id, v);
    return v;
  }

  private monitorImage(g: number, mp: number, ms: number): number {
    const map = this.monImg[g]![mp]!;
    let v = map.get(ms);
    if (v >= 0) return v;
    v = this.p.monitors.renamedState(mp, ms, <T>(s: T) => this.group.rename(g, s) as T);
    map.set(ms, v);
    return v;
  }

  private miscImage(g: number, id: number): number {
    const map = this.miscImg[g]!;
    let v = map.get(id);
    if (v >= 0) return v;
    const { store, topology } = this.p;
    const perm = this.group.perms[g]!;
    const t = Int32Array.from(store.miscTuple(id));
    let silent = 0;
    for (let i = 0; i < this.n; i++) if ((t[K_SILENT]! & (1 << i)) !== 0) silent |= 1 << perm[i]!;
    t[K_SILENT] = silent;
    if (t[K_BLOCKED] !== 0) {
      const set = store.blockedSets[t[K_BLOCKED]!]!;
      const out = new Uint8Array(set.length);
      for (let l = 0; l < set.length; l++) if (set[l] === 1) out[topology.linkOf[perm[topology.linkFrom[l]!]! * this.n + perm[topology.linkTo[l]!]!]!] = 1;
      t[K_BLOCKED] = store.internBlocked(out);
    }
    v = store.internMisc(t);
    map.set(id, v);
    return v;
  }

  private obsImage(g: number, id: number): number {
    const map = this.obsImg[g]!;
    let v = map.get(id);
    if (v >= 0) return v;
    const obs = this.p.observations;
    v = obs.intern(this.group.rename(g, obs.list[id]) as (typeof obs.list)[number]);
    map.set(id, v);
    return v;
  }

  // ---- checking that the system is symmetric --------------------------------------------------

  /**
   * Node i's outcome `r` of event `code` in local `localId`, against the outcome of the permuted
   * event in the permuted local, for every permutation. The permuted outcomes are not checked in
   * turn: each is the image of this one, so the whole orbit is consistent once this one is.
   */
  private checkNode(i: number, localId: number, code: number, r: NodeResult): void {
    if (this.checking) return;
    this.checking = true;
    try {
      for (let g = 1; g < this.G; g++) this.checkNodeBy(g, i, localId, code, r);
    } finally {
      this.checking = false;
    }
  }

  private checkNodeBy(g: number, i: number, localId: number, code: number, r: NodeResult): void {
    this.checks++;
    const { nodes, nodeIds } = this.p;
    const perm = this.group.perms[g]!;
    const j = perm[i]!;
    const image = this.localImage(g, i, localId);
    const kind = code & 15;
    let imageCode = code;
    if (kind === N_DELIVER) imageCode = (this.msgImage(g, code >>> 4) << 4) | N_DELIVER;
    else if (kind === N_TIMER) {
      const timerId = this.group.rename(g, nodes.locals[i]![localId]!.timers[code >>> 4]!.id);
      const slot = nodes.locals[j]![image]!.timers.findIndex((t) => t.id === timerId);
      if (slot < 0) throw new SymmetryBroken(`${nodeIds[i]} and ${nodeIds[j]} do not arm the same timers with the names swapped`);
      imageCode = (slot << 4) | N_TIMER;
    }
    const s = nodes.result(j, image, imageCode);
    const where = `${nodeIds[i]} and ${nodeIds[j]} (node event ${kind})`;
    if (s.next !== this.localImage(g, i, r.next)) throw new SymmetryBroken(`${where} do not reach the same state with the names swapped`);
    if (s.progress !== r.progress || s.becameDone !== r.becameDone || s.started !== r.started || s.ops.length !== r.ops.length || s.obs.length !== r.obs.length) {
      throw new SymmetryBroken(`${where} do not do the same with the names swapped`);
    }
    for (let k = 0; k < r.ops.length; k += 2) {
      const arg = r.ops[k] === 0 ? this.msgImage(g, r.ops[k + 1]!) : perm[r.ops[k + 1]!]!;
      if (s.ops[k] !== r.ops[k] || s.ops[k + 1] !== arg) throw new SymmetryBroken(`${where} do not send the same messages with the names swapped`);
    }
    for (let k = 0; k < r.obs.length; k++) if (s.obs[k] !== this.obsImage(g, r.obs[k]!)) throw new SymmetryBroken(`${where} do not show the same with the names swapped`);
  }

  /** Monitor mp's fresh step, against the permuted step in the permuted state, for every permutation. */
  private checkMonitor(mp: number, vec: Int32Array, ms: number, obsId: number, r: number): void {
    if (this.checking) return;
    const { monitors, observations } = this.p;
    if (monitors.lastReadNetwork) throw new SymmetryBroken('a history property reads the messages in flight (not checked for symmetry)');
    this.checking = true;
    try {
      const pv = this.scratch;
      for (let g = 1; g < this.G; g++) {
        this.checks++;
        // (the property reads the node views at most: the node slots are all that must be permuted)
        pv.set(vec);
        for (let i = 0; i < this.n; i++) pv[this.group.perms[g]![i]!] = this.localImage(g, i, vec[i]!);
        const s = monitors.evaluate(mp, pv, this.monitorImage(g, mp, ms), this.obsImage(g, obsId));
        if (monitors.lastReadNetwork) throw new SymmetryBroken('a history property reads the messages in flight (not checked for symmetry)');
        const same = r < 0 ? s < 0 && observations.violation(-1 - s).id === observations.violation(-1 - r).id : s === this.monitorImage(g, mp, r);
        if (!same) throw new SymmetryBroken(`a history property${r < 0 ? ` (${observations.violation(-1 - r).id})` : ''} does not judge the same with the node names swapped`);
      }
    } finally {
      this.checking = false;
    }
  }

  /** The invariants' verdict on `vec` (a finding id or null), checked against its permutations once per tuple of node views. */
  checkInvariants(vec: Int32Array, id: string | null): void {
    const tuple = this.p.invariantsViewsOnly() ? this.p.views.tupleOf(vec) : -1;
    if (this.checkedViews.has(tuple)) return;
    const pv = this.invScratch;
    for (let g = 1; g < this.G; g++) {
      this.checks++;
      if (this.p.invariantId(this.permute(vec, g, pv)) !== id) throw new SymmetryBroken(`an invariant${id !== null ? ` (${id})` : ''} does not judge the same with the node names swapped`);
    }
    if (tuple >= 0) this.checkedViews.add(tuple);
  }
}
