/**
 * The packed network part of a global state: per node pair one interned channel (the interned
 * queues of its two links and its open-connection count), and the interned tuple of the fault
 * bookkeeping (misc). Queues are interned tuples of interned messages, with their append and pop
 * cached; partitions (sets of blocked links) and drop/duplicate rule sets are interned too.
 *
 * While `apply` runs, the channels it changes are kept decoded here (per pair: two queues, open
 * count; valid when `chanStamp[p] === epoch`) and interned once at its end (`flushPairs`).
 */
import type { NodeId, ProtocolMessage } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { MessageRule } from '../kernel/world-rules.js';
import type { Observations } from './observations.js';
import { TupleInterner } from './tuple-interner.js';
import { MISC_WIDTH, type Layout, type MsgRec, type Recorder } from './untimed-model.js';
import type { Topology } from './untimed-topology.js';

export class ChannelStore {
  private readonly chanBase: number;
  private readonly miscAt: number;
  private readonly linkPair: Int32Array;
  private readonly linkDir: Int32Array;
  private readonly nodeIds: readonly NodeId[];
  private readonly observations: Observations;

  /** channels: (queue of the lower node's link, queue of the higher node's link, open count) */
  readonly chans = new TupleInterner(3, 1024);
  private readonly chanScratch = new Int32Array(3);
  private readonly chanQueues: Int32Array;
  private readonly chanOpen: Int32Array;
  private readonly chanStamp: Int32Array;
  private readonly dirtyPairs: Int32Array;
  private dirtyCount = 0;
  private epoch = 1;
  /** misc tuples: K_SCRIPT, K_FAULTS, K_SILENT, K_BLOCKED, K_RULES */
  private readonly miscs = new TupleInterner(MISC_WIDTH);
  private readonly miscScratch = new Int32Array(MISC_WIDTH);

  // interned messages and link queues
  readonly msgs: MsgRec[] = [];
  private readonly msgByKey = new Map<string, number>();
  readonly queues: Int32Array[] = [new Int32Array(0)];
  private readonly queueByKey = new Map<string, number>([['', 0]]);
  /** per queue: message id -> the queue with it appended */
  private readonly appendCache: number[][] = [[]];
  private readonly popCache: number[] = [-1];

  // partition and rule sets
  readonly blockedSets: Uint8Array[] = [];
  private readonly blockedByKey = new Map<string, number>();
  readonly ruleSets: MessageRule<number>[][] = [[]];
  private readonly ruleByKey = new Map<string, number>([['', 0]]);

  constructor(layout: Layout, topology: Topology, nodeIds: readonly NodeId[], observations: Observations) {
    this.chanBase = layout.chanBase;
    this.miscAt = layout.misc;
    this.linkPair = topology.linkPair;
    this.linkDir = topology.linkDir;
    this.nodeIds = nodeIds;
    this.observations = observations;
    const pairs = layout.pairs;
    this.chanQueues = new Int32Array(2 * pairs);
    this.chanOpen = new Int32Array(pairs);
    this.chanStamp = new Int32Array(pairs);
    this.dirtyPairs = new Int32Array(pairs);
    // the empty channel and the initial misc tuple are id 0: the initial state is all zeros
    this.chans.intern(this.chanScratch);
    this.miscs.intern(this.miscScratch);
  }

  // ---- the packed parts of the vector --------------------------------------------------------

  /** The queue of link `l`. */
  q(vec: Int32Array, l: number): number {
    const p = this.linkPair[l]!;
    if (this.chanStamp[p] === this.epoch) return this.chanQueues[2 * p + this.linkDir[l]!]!;
    return this.chans.data[vec[this.chanBase + p]! * 3 + this.linkDir[l]!]!;
  }

  setQ(vec: Int32Array, l: number, q: number): void {
    const p = this.linkPair[l]!;
    this.decodePair(vec, p);
    this.chanQueues[2 * p + this.linkDir[l]!] = q;
  }

  /** The open-connection count of pair `p`. */
  open(vec: Int32Array, p: number): number {
    if (this.chanStamp[p] === this.epoch) return this.chanOpen[p]!;
    return this.chans.data[vec[this.chanBase + p]! * 3 + 2]!;
  }

  setOpen(vec: Int32Array, p: number, v: number): void {
    this.decodePair(vec, p);
    this.chanOpen[p] = v;
  }

  /** Makes pair `p` writable for this `apply`: decoded into the scratch arrays, interned at the end. */
  private decodePair(vec: Int32Array, p: number): void {
    if (this.chanStamp[p] === this.epoch) return;
    const at = vec[this.chanBase + p]! * 3;
    const d = this.chans.data;
    this.chanQueues[2 * p] = d[at]!;
    this.chanQueues[2 * p + 1] = d[at + 1]!;
    this.chanOpen[p] = d[at + 2]!;
    this.chanStamp[p] = this.epoch;
    this.dirtyPairs[this.dirtyCount++] = p;
  }

  /** Starts a scratch epoch: no pair is decoded. */
  beginPairs(): void {
    this.dirtyCount = 0;
    if (++this.epoch >= 0x3fffffff) {
      this.chanStamp.fill(0);
      this.epoch = 1;
    }
  }

  /** Interns the pairs this `apply` changed into `vec`, and ends the scratch epoch. */
  flushPairs(vec: Int32Array): void {
    const t = this.chanScratch;
    const base = this.chanBase;
    for (let k = 0; k < this.dirtyCount; k++) {
      const p = this.dirtyPairs[k]!;
      t[0] = this.chanQueues[2 * p]!;
      t[1] = this.chanQueues[2 * p + 1]!;
      t[2] = this.chanOpen[p]!;
      vec[base + p] = this.chans.intern(t);
    }
    this.beginPairs();
  }

  /** Field `k` of the misc tuple (K_SCRIPT, K_FAULTS, K_SILENT, K_BLOCKED, K_RULES). */
  mget(vec: Int32Array, k: number): number {
    const m = this.miscs;
    return m.data[vec[this.miscAt]! * m.width + k]!;
  }

  mset(vec: Int32Array, k: number, v: number): void {
    const m = this.miscs;
    const w = m.width;
    const at = vec[this.miscAt]! * w;
    const d = m.data;
    if (d[at + k] === v) return;
    const t = this.miscScratch;
    for (let j = 0; j < w; j++) t[j] = d[at + j]!;
    t[k] = v;
    vec[this.miscAt] = m.intern(t);
  }

  /** The misc tuple `id` (read-only), and the id of a misc tuple (symmetry reduction). */
  miscTuple(id: number): Int32Array {
    const m = this.miscs;
    return m.data.subarray(id * m.width, (id + 1) * m.width);
  }

  internMisc(t: Int32Array): number {
    return this.miscs.intern(t);
  }

  // ---- links --------------------------------------------------------------------------------

  linkAppend(vec: Int32Array, l: number, msgId: number, rec: Recorder | null, sendId: number): void {
    const q = this.q(vec, l);
    const row = this.appendCache[q]!;
    let next = row[msgId];
    if (next === undefined) {
      const arr = Array.from(this.queues[q]!);
      arr.push(msgId);
      next = this.internQueue(arr);
      row[msgId] = next;
    }
    this.setQ(vec, l, next);
    if (rec) rec.linkIds[l]!.push(sendId);
  }

  /** Removes the message at `pos` of link `l`; returns its trace send id (0 without a recorder). */
  linkRemoveAt(vec: Int32Array, l: number, pos: number, rec: Recorder | null): number {
    const q = this.q(vec, l);
    if (pos === 0) {
      let next = this.popCache[q]!;
      if (next === -1) {
        next = this.internQueue(Array.from(this.queues[q]!.subarray(1)));
        this.popCache[q] = next;
      }
      this.setQ(vec, l, next);
    } else {
      const arr = Array.from(this.queues[q]!);
      arr.splice(pos, 1);
      this.setQ(vec, l, this.internQueue(arr));
    }
    if (rec) return rec.linkIds[l]!.splice(pos, 1)[0] ?? 0;
    return 0;
  }

  internQueue(ids: number[]): number {
    const key = ids.join(',');
    let q = this.queueByKey.get(key);
    if (q === undefined) {
      q = this.queues.length;
      this.queues.push(Int32Array.from(ids));
      this.popCache.push(-1);
      this.appendCache.push([]);
      this.queueByKey.set(key, q);
    }
    return q;
  }

  // ---- interned messages, partitions and rule sets --------------------------------------------

  internMsg(from: number, to: number, msg: ProtocolMessage): number {
    const text = canonicalJson(msg);
    const key = `${from}>${to}:${text}`;
    let id = this.msgByKey.get(key);
    if (id === undefined) {
      id = this.msgs.length;
      const event = { ...msg, from: this.nodeIds[from]! };
      this.msgs.push({ conn: null, from, to, msg, event, eventKey: canonicalJson(event), obs: -1 });
      this.msgByKey.set(key, id);
      this.msgs[id]!.obs = this.observations.intern({ kind: 'deliver', from: this.nodeIds[from]!, to: this.nodeIds[to]!, msg });
    }
    return id;
  }

  connMsg(from: number, to: number, conn: 'reset' | 'closed' | 'refused'): number {
    const key = `${from}>${to}!${conn}`;
    let id = this.msgByKey.get(key);
    if (id === undefined) {
      id = this.msgs.length;
      const event = { type: `conn.${conn}`, peer: this.nodeIds[from]! };
      this.msgs.push({ conn, from, to, msg: null, event, eventKey: canonicalJson(event), obs: -1 });
      this.msgByKey.set(key, id);
    }
    return id;
  }

  internBlocked(set: Uint8Array): number {
    const key = set.join('');
    let id = this.blockedByKey.get(key);
    if (id === undefined) {
      id = this.blockedSets.length;
      this.blockedSets.push(set);
      this.blockedByKey.set(key, id);
    }
    return id;
  }

  internRules(rules: MessageRule<number>[]): number {
    const key = rules.length === 0 ? '' : canonicalJson(rules);
    let id = this.ruleByKey.get(key);
    if (id === undefined) {
      id = this.ruleSets.length;
      this.ruleSets.push(rules);
      this.ruleByKey.set(key, id);
    }
    return id;
  }
}
