/**
 * The transition memo: a speed-up of the untimed system, which works the same without it.
 *
 * A node's start, timer, input or delivery reads and writes little of the global state: the
 * acting node's local state, the channel of the delivering link, the fault bookkeeping (misc),
 * and for each peer the node sends to or closes (or every peer, when a TCP node finishes) that
 * peer's status and their channel. The monitors only see the observations the step makes. So
 * such a step is computed once per distinct footprint and remembered as the slots it writes and
 * the observations it makes; the monitors then step through the observations as usual.
 *
 * The footprint is found in two levels: (event, acting local, link channel, misc) decides the
 * node's outcome and so which peers matter; their (status, channel) pairs complete the key. A
 * step computed for the memo runs the ordinary code with the observations set aside (so it runs
 * to its end even where a monitor would stop it; the state is then discarded by the caller, as
 * it is on a violation anyway). Should a monitor ever read the global view (its verdict then
 * depends on more than the observations), the step is redone without the memo, which is off
 * from then on (the system stops asking it once `Monitors.viewReads` is not 0).
 */
import type { Monitors } from './monitors.js';
import { FlatIntMap } from './flat-int-map.js';
import { E_DELIVER, E_TIMER, type Layout, type Local, type MsgRec, type NodeResult } from './untimed-model.js';
import type { Topology } from './untimed-topology.js';

/** A remembered way to apply node steps (start, timer, input, delivery) without a recorder. */
export interface StepMemo {
  /** Applies `event` to `vec` in place, as `MemoHost.applyDirect` would; returns a violation index or -1. */
  apply(vec: Int32Array, event: number): number;
}

/** What the memo needs of the system it remembers steps of. */
export interface MemoHost {
  /** applies a step without the memo */
  applyDirect(vec: Int32Array, event: number, rec: null): number;
  /** whether the last step made progress (set by `applyDirect`, and by the memo on a replay) */
  progressFlag: boolean;
  /** the node outcome of the last node step taken */
  lastNodeResult: NodeResult | null;
}

/** Most peers a memoised step may involve (more: computed directly each time). */
const MEMO_PEERS = 3;

export class TransitionMemo implements StepMemo {
  private readonly host: MemoHost;
  private readonly monitors: Monitors;
  private readonly locals: Local[][];
  private readonly msgs: MsgRec[];
  private readonly linkFrom: Int32Array;
  private readonly linkTo: Int32Array;
  private readonly linkPair: Int32Array;
  private readonly pairOf: Int32Array;
  private readonly n: number;
  private readonly http: boolean;
  private readonly width: number;
  private readonly chanBase: number;
  private readonly monitorBase: number;
  private readonly misc: number;
  /** first level: (event, acting local, link channel, misc) -> index in peers */
  private readonly memo1 = new FlatIntMap(4, 4096);
  private readonly key1 = new Int32Array(4);
  /** per first-level key: the peers involved, or null when the step is not memoised */
  private readonly peers: (Int32Array | null)[] = [];
  /** second level: (first-level index, then per peer its status and channel) -> offset in pool */
  private readonly memo2 = new FlatIntMap(1 + 2 * MEMO_PEERS, 4096);
  private readonly key2 = new Int32Array(1 + 2 * MEMO_PEERS);
  private pool = new Int32Array(1 << 16);
  private used = 0;
  private readonly before: Int32Array;
  private readonly monitorUndo: Int32Array;

  constructor(host: MemoHost, layout: Layout, topology: Topology, locals: Local[][], msgs: MsgRec[], monitors: Monitors, http: boolean) {
    this.host = host;
    this.monitors = monitors;
    this.locals = locals;
    this.msgs = msgs;
    this.linkFrom = topology.linkFrom;
    this.linkTo = topology.linkTo;
    this.linkPair = topology.linkPair;
    this.pairOf = topology.pairOf;
    this.n = layout.nodes;
    this.http = http;
    this.width = layout.width;
    this.chanBase = layout.chanBase;
    this.monitorBase = layout.monitorBase;
    this.misc = layout.misc;
    this.before = new Int32Array(layout.width);
    this.monitorUndo = new Int32Array(layout.misc - layout.monitorBase);
  }

  apply(vec: Int32Array, event: number): number {
    const type = event & 15;
    const arg = event >>> 4;
    let i: number;
    let chan = 0;
    if (type === E_DELIVER) {
      const l = arg >>> 6;
      i = this.linkTo[l]!;
      chan = vec[this.chanBase + this.linkPair[l]!]!;
    } else {
      i = type === E_TIMER ? arg >>> 6 : arg;
    }
    const k1 = this.key1;
    k1[0] = event;
    k1[1] = vec[i]!;
    k1[2] = chan;
    k1[3] = vec[this.misc]!;
    let id1 = this.memo1.get(k1);
    if (id1 < 0) {
      // The first step of this kind: compute it, then learn which peers its outcome involves.
      const at = this.compute(vec, event);
      const peers = this.peersOf(type, arg, i, this.host.lastNodeResult);
      id1 = this.peers.length;
      this.peers.push(peers);
      this.memo1.set(k1, id1);
      if (peers !== null) this.memo2.set(this.key2Of(this.before, id1, i, peers), at);
      return this.finish(vec, event, at, false);
    }
    const peers = this.peers[id1]!;
    if (peers === null) return this.host.applyDirect(vec, event, null);
    const at = this.memo2.get(this.key2Of(vec, id1, i, peers));
    if (at < 0) {
      const computed = this.compute(vec, event);
      this.memo2.set(this.key2Of(this.before, id1, i, peers), computed);
      return this.finish(vec, event, computed, false);
    }
    // replay: [progress, writes, (slot, value)..., observations, obs...], keeping what it overwrites
    const pool = this.pool;
    const undo = this.before;
    this.host.progressFlag = pool[at] === 1;
    const writes = pool[at + 1]!;
    for (let w = 0, x = at + 2; w < writes; w++, x += 2) {
      const slot = pool[x]!;
      undo[w] = vec[slot]!;
      vec[slot] = pool[x + 1]!;
    }
    return this.finish(vec, event, at, true);
  }

  /**
   * Steps the monitors through a memo entry's observations; redoes the step directly if one of
   * them reads the global view. `replayed`: `before` holds the overwritten values of the entry's
   * writes, in order (else the whole vector before the step).
   */
  private finish(vec: Int32Array, event: number, at: number, replayed: boolean): number {
    const pool = this.pool;
    const writes = pool[at + 1]!;
    const obsAt = at + 2 + 2 * writes;
    const count = pool[obsAt]!;
    const monitors = this.monitors;
    const reads = monitors.viewReads;
    const base = this.monitorBase;
    const monitorUndo = this.monitorUndo;
    for (let p = 0; p < monitorUndo.length; p++) monitorUndo[p] = vec[base + p]!;
    for (let k = 0; k < count; k++) {
      const v = monitors.observe(vec, pool[obsAt + 1 + k]!);
      if (monitors.viewReads !== reads) {
        const before = this.before;
        if (replayed) {
          for (let w = 0, x = at + 2; w < writes; w++, x += 2) vec[pool[x]!] = before[w]!;
          for (let p = 0; p < monitorUndo.length; p++) vec[base + p] = monitorUndo[p]!;
        } else {
          const W = this.width;
          for (let y = 0; y < W; y++) vec[y] = before[y]!;
        }
        // undo the monitor steps taken so far, then the whole step without the memo
        return this.host.applyDirect(vec, event, null);
      }
      if (v >= 0) return v;
    }
    return -1;
  }

  /** Runs a step with the observations set aside and stores its writes; returns its pool offset. */
  private compute(vec: Int32Array, event: number): number {
    const W = this.width;
    const before = this.before;
    for (let x = 0; x < W; x++) before[x] = vec[x]!;
    const monitors = this.monitors;
    monitors.deferring = true;
    monitors.deferred.length = 0;
    this.host.lastNodeResult = null;
    try {
      this.host.applyDirect(vec, event, null);
    } finally {
      monitors.deferring = false;
    }
    let writes = 0;
    for (let x = 0; x < W; x++) if (vec[x] !== before[x]) writes++;
    const deferred = monitors.deferred;
    const at = this.reserve(3 + 2 * writes + deferred.length);
    const pool = this.pool;
    pool[at] = this.host.progressFlag ? 1 : 0;
    pool[at + 1] = writes;
    let y = at + 2;
    for (let x = 0; x < W; x++) {
      if (vec[x] === before[x]) continue;
      // monitors are stepped from the observations, never written by a deferred step
      if (x >= this.monitorBase && x < this.misc) throw new Error('memo: a deferred step wrote a monitor');
      pool[y++] = x;
      pool[y++] = vec[x]!;
    }
    pool[y++] = deferred.length;
    for (const obs of deferred) pool[y++] = obs;
    this.used = y;
    return at;
  }

  /** Room for `size` more entries in the pool; returns where they start. */
  private reserve(size: number): number {
    if (this.used + size > this.pool.length) {
      const bigger = new Int32Array(Math.max(this.pool.length * 2, this.used + size));
      bigger.set(this.pool);
      this.pool = bigger;
    }
    return this.used;
  }

  /** The peers whose status and channel a step with node outcome `r` reads (sorted), or null when too many. */
  private peersOf(type: number, arg: number, i: number, r: NodeResult | null): Int32Array | null {
    const set = new Set<number>();
    if (type === E_DELIVER) set.add(this.linkFrom[arg >>> 6]!);
    if (r !== null) {
      for (let k = 0; k < r.ops.length; k += 2) set.add(r.ops[k] === 0 ? this.msgs[r.ops[k + 1]!]!.to : r.ops[k + 1]!);
      if (r.becameDone && !this.http) for (let p = 0; p < this.n; p++) if (p !== i) set.add(p);
    }
    if (set.size > MEMO_PEERS) return null;
    return Int32Array.from([...set].sort((a, b) => a - b));
  }

  private key2Of(vec: Int32Array, id1: number, i: number, peers: Int32Array): Int32Array {
    const k2 = this.key2;
    k2[0] = id1;
    let x = 1;
    for (let k = 0; k < peers.length; k++) {
      const t = peers[k]!;
      k2[x++] = this.locals[t]![vec[t]!]!.status;
      k2[x++] = vec[this.chanBase + this.pairOf[i * this.n + t]!]!;
    }
    while (x < k2.length) k2[x++] = -1;
    return k2;
  }
}
