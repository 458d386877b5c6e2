/**
 * A set of fixed-width integer vectors (global states) with dense indices, for the exhaustive
 * explorer, stored exactly in about 8 bytes per state plus its hash slot.
 *
 * Tree compression (as LTSmin's): a vector is cut in two halves, each half is interned as a tuple
 * (tuple-interner.ts), and the state is the pair of half ids. Halves repeat far more than whole
 * states (a node's local state and its channels recur under many combinations of the others), so
 * the halves tables stay small and a stored state costs two int32 in the arena, which grows in
 * place (growable-array.ts), plus one int32 slot of an open-addressing table over a typed array.
 * Lookups compare the pair, so a hash collision never merges two states.
 *
 * Indices are given out in insertion order; a breadth-first search inserts in BFS order, so the
 * index doubles as the queue position.
 */
import { GrowableArray } from './growable-array.js';
import { TupleInterner } from './tuple-interner.js';

export class StateTable {
  readonly width: number;
  /** the first half is entries 0 .. split - 1, the second split .. width - 1 (maybe empty) */
  private readonly split: number;
  private readonly left: TupleInterner;
  private readonly right: TupleInterner | null;
  /** state i is the pair (arena[2i], arena[2i + 1]) of half ids */
  private readonly arena = new GrowableArray(Int32Array, 1 << 16);
  /** open addressing: state index + 1, or 0 for a free slot (the pair is in the arena) */
  private readonly slotStore = new GrowableArray(Int32Array, 1 << 12);
  private slots: Int32Array = this.slotStore.array;
  private mask = (1 << 12) - 1;
  private n = 0;
  /** staged pairs (2 per staged vector) and their hashes */
  private staged = new Int32Array(128);
  private stagedHash = new Int32Array(64);
  /** what the touching reads saw (kept so that they are not optimised away) */
  private sink = 0;
  /** set by `surrender`: no inserts or lookups any more */
  private closed = false;

  constructor(width: number) {
    if (width < 1) throw new Error('StateTable: width must be at least 1');
    this.width = width;
    this.split = (width + 1) >> 1;
    this.left = new TupleInterner(this.split, 1024);
    this.right = width > this.split ? new TupleInterner(width - this.split, 1024) : null;
  }

  /** Number of distinct vectors inserted. */
  get count(): number {
    return this.n;
  }

  /** Bytes held by the arena, the hash table and the halves (for reports and `maxMemoryMiB`). */
  get bytes(): number {
    return this.arena.bytesFor(2 * this.n) + this.slots.byteLength + this.left.bytes + (this.right?.bytes ?? 0);
  }

  /** Distinct halves stored (for reports). */
  get halves(): number {
    return this.left.count + (this.right?.count ?? 0);
  }

  /**
   * Returns the index of `vec` (its first `width` entries), inserting it when new.
   * A new vector gets index `count - 1` after the call, which is how callers tell new from seen.
   */
  insert(vec: Int32Array): number {
    if (this.closed) throw new Error('StateTable: insert after surrender');
    const a = this.left.internAt(vec, 0);
    const b = this.right === null ? 0 : this.right.internAt(vec, this.split);
    return this.insertPair(a, b, hashPair(a, b));
  }

  /**
   * Prepares `vec` as staged vector `j` for `insertStaged(j)`: interns its halves, hashes the pair,
   * and (in `touchStaged`) reads its home slot. A search stages a batch of successors before
   * inserting them one by one in order: the slot reads of the batch, which mostly miss the cache in
   * a big table, then overlap instead of stalling one after the other. (Always true: the table
   * never changes its storage.)
   */
  stage(vec: Int32Array, j: number): boolean {
    if (2 * j + 2 > this.staged.length) {
      const bigger = new Int32Array(Math.max(128, 4 * j + 4));
      bigger.set(this.staged);
      this.staged = bigger;
      const hashes = new Int32Array(bigger.length >> 1);
      hashes.set(this.stagedHash);
      this.stagedHash = hashes;
    }
    const a = this.left.internAt(vec, 0);
    const b = this.right === null ? 0 : this.right.internAt(vec, this.split);
    this.staged[2 * j] = a;
    this.staged[2 * j + 1] = b;
    this.stagedHash[j] = hashPair(a, b);
    return true;
  }

  /**
   * `stage` for a successor `vec` of stored state `parent` (whose vector is `parentVec`): a half
   * equal to the parent's takes the parent's half id without hashing it (an event changes one node,
   * one channel and perhaps a monitor: one half is often untouched).
   */
  stageFrom(vec: Int32Array, j: number, parent: number, parentVec: Int32Array): boolean {
    if (2 * j + 2 > this.staged.length) return this.stage(vec, j);
    const split = this.split;
    const arena = this.arena.array;
    let k = 0;
    while (k < split && vec[k] === parentVec[k]) k++;
    const a = k === split ? arena[2 * parent]! : this.left.internAt(vec, 0);
    let b = 0;
    if (this.right !== null) {
      const w = this.width;
      k = split;
      while (k < w && vec[k] === parentVec[k]) k++;
      b = k === w ? arena[2 * parent + 1]! : this.right.internAt(vec, split);
    }
    this.staged[2 * j] = a;
    this.staged[2 * j + 1] = b;
    this.stagedHash[j] = hashPair(a, b);
    return true;
  }

  /**
   * Reads the home slots of staged vectors 0..count-1, then the stored pairs they point to, in two
   * tight loops: the reads are independent of each other, so the processor overlaps their cache
   * misses, and the inserts that follow find what they compare in the cache.
   */
  touchStaged(count: number): void {
    const slots = this.slots;
    const mask = this.mask;
    const hashes = this.stagedHash;
    const arena = this.arena.array;
    count = Math.min(count, hashes.length);
    let sink = 0;
    for (let j = 0; j < count; j++) sink += slots[hashes[j]! & mask]!;
    for (let j = 0; j < count; j++) {
      const s = slots[hashes[j]! & mask]!;
      if (s !== 0) sink += arena[2 * (s - 1)]!;
    }
    this.sink ^= sink;
  }

  /** `insert` for staged vector `j`. */
  insertStaged(j: number): number {
    return this.insertPair(this.staged[2 * j]!, this.staged[2 * j + 1]!, this.stagedHash[j]!);
  }

  /** The index of `vec`, or -1 when it is not stored (nothing is inserted). */
  find(vec: Int32Array): number {
    if (this.closed) throw new Error('StateTable: find after surrender');
    const a = this.left.findAt(vec, 0);
    if (a < 0) return -1;
    const b = this.right === null ? 0 : this.right.findAt(vec, this.split);
    if (b < 0) return -1;
    const slots = this.slots;
    const mask = this.mask;
    const arena = this.arena.array;
    for (let i = hashPair(a, b) & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      const at = 2 * (s - 1);
      if (arena[at] === a && arena[at + 1] === b) return s - 1;
    }
  }

  private insertPair(a: number, b: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let arena = this.arena.array;
    let i = h & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) break;
      const at = 2 * (s - 1);
      if (arena[at] === a && arena[at + 1] === b) return s - 1;
      i = (i + 1) & mask;
    }
    const index = this.n;
    if (2 * index + 2 > arena.length) arena = this.arena.ensure(2 * index + 2);
    arena[2 * index] = a;
    arena[2 * index + 1] = b;
    slots[i] = index + 1;
    this.n = index + 1;
    // Keep the load factor at most one half: probes stay short.
    if (this.n * 2 > mask + 1) this.grow();
    return index;
  }

  /**
   * Gives up the hash table (at least 2 * count ints) for the caller to use as scratch memory, once
   * no state will be inserted or looked up any more (`read` still works). The search's cycle check
   * at its end takes it: what it needs is then memory already resident, not a new peak.
   */
  surrender(): Int32Array {
    const slots = this.slots;
    this.slots = new Int32Array(1);
    this.mask = 0;
    this.closed = true;
    return slots;
  }

  /** Copies vector `index` into `out` (from `outOff`). */
  read(index: number, out: Int32Array, outOff = 0): void {
    const arena = this.arena.array;
    const w = this.split;
    const left = this.left.data;
    const a = arena[2 * index]! * w;
    // Plain loops: TypedArray#set and subarray cost more than copying a few ints.
    for (let k = 0; k < w; k++) out[outOff + k] = left[a + k]!;
    if (this.right === null) return;
    const rw = this.width - w;
    const right = this.right.data;
    const b = arena[2 * index + 1]! * rw;
    for (let k = 0; k < rw; k++) out[outOff + w + k] = right[b + k]!;
  }

  /**
   * Doubles the hash table in place and re-fills it from the arena, in index order (read in order):
   * no second table, and no freed one left behind.
   */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    this.slots = this.slotStore.ensure(size);
    const slots = this.slots;
    slots.fill(0);
    const mask = size - 1;
    this.mask = mask;
    const arena = this.arena.array;
    for (let index = 0; index < this.n; index++) {
      let i = hashPair(arena[2 * index]!, arena[2 * index + 1]!) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = index + 1;
    }
  }
}

/** Murmur3's finaliser over the pair of half ids. */
function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x85ebca6b, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** MurmurHash3-style mixing of the first `width` entries. */
export function hashVector(vec: Int32Array, width: number): number {
  let h = 0x9747b28c ^ width;
  for (let k = 0; k < width; k++) {
    let x = Math.imul(vec[k]!, 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, 0x1b873593);
    h ^= x;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
