/**
 * Interns small fixed-width integer tuples as dense ids (0, 1, 2, ... in order of first sight), for
 * the parts of an exhaustive search's global state that are tuples themselves: a node pair's two
 * link queues and connection count, the monitor states with the fault bookkeeping, (local state,
 * event) cache keys. Tuples live in one flat `Int32Array` (`data`, tuple `id` at `id * width`), and
 * an open-addressing table over a typed array finds them; no object per tuple, nothing to collect.
 * Both grow in place (growable-array.ts): the table is re-filled from the tuples, so growing leaves
 * no freed generations behind in malloc's heap.
 */
import { GrowableArray } from './growable-array.js';

export class TupleInterner {
  readonly width: number;
  /** tuple `id` is `data[id * width .. id * width + width - 1]`; reallocated as it grows, so re-read it */
  data: Int32Array;
  private readonly dataStore: GrowableArray<Int32Array>;
  /** open addressing: id + 1, or 0 for a free slot */
  private slots: Int32Array;
  private readonly slotStore: GrowableArray<Int32Array>;
  private mask: number;
  private n = 0;
  private readonly scratch: Int32Array;

  constructor(width: number, initialCapacity = 64) {
    if (width < 1) throw new Error('TupleInterner: width must be at least 1');
    this.width = width;
    this.scratch = new Int32Array(width);
    let size = 16;
    while (size < initialCapacity * 2) size *= 2;
    this.slotStore = new GrowableArray(Int32Array, size);
    this.slots = this.slotStore.array;
    this.mask = size - 1;
    this.dataStore = new GrowableArray(Int32Array, width * Math.max(16, initialCapacity));
    this.data = this.dataStore.array;
  }

  /** Number of distinct tuples. */
  get count(): number {
    return this.n;
  }

  /** The id of the tuple in the first `width` entries of `t`, interning it when new. */
  intern(t: Int32Array): number {
    const w = this.width;
    const h = hashTuple(t, w);
    const slots = this.slots;
    const mask = this.mask;
    const data = this.data;
    let i = h & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) break;
      const at = (s - 1) * w;
      let k = 0;
      while (k < w && data[at + k] === t[k]) k++;
      if (k === w) return s - 1;
      i = (i + 1) & mask;
    }
    return this.add(t, i);
  }

  /** The id of the tuple in `t[off .. off + width - 1]`, interning it when new. */
  internAt(t: Int32Array, off: number): number {
    const w = this.width;
    const h = hashTupleAt(t, off, w);
    const slots = this.slots;
    const mask = this.mask;
    const data = this.data;
    let i = h & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) break;
      const at = (s - 1) * w;
      let k = 0;
      while (k < w && data[at + k] === t[off + k]) k++;
      if (k === w) return s - 1;
      i = (i + 1) & mask;
    }
    const scratch = this.scratch;
    for (let k = 0; k < w; k++) scratch[k] = t[off + k]!;
    return this.add(scratch, i);
  }

  /** The id of the tuple in `t[off .. off + width - 1]`, or -1 when it was never interned. */
  findAt(t: Int32Array, off: number): number {
    const w = this.width;
    const slots = this.slots;
    const mask = this.mask;
    const data = this.data;
    for (let i = hashTupleAt(t, off, w) & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      const at = (s - 1) * w;
      let k = 0;
      while (k < w && data[at + k] === t[off + k]) k++;
      if (k === w) return s - 1;
    }
  }

  /** Bytes held (tuples and table). */
  get bytes(): number {
    return this.dataStore.bytesFor(this.n * this.width) + this.slots.byteLength;
  }

  /** The id of the pair (a, b) for width-2 interners, interning it when new (no scratch array). */
  intern2(a: number, b: number): number {
    const h = hash2(a, b);
    const slots = this.slots;
    const mask = this.mask;
    const data = this.data;
    let i = h & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) break;
      const at = (s - 1) * 2;
      if (data[at] === a && data[at + 1] === b) return s - 1;
      i = (i + 1) & mask;
    }
    const t = pairScratch;
    t[0] = a;
    t[1] = b;
    return this.add(t, i);
  }

  /** The id of the pair (a, b), or -1 when it was never interned. */
  find2(a: number, b: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const data = this.data;
    let i = hash2(a, b) & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) return -1;
      const at = (s - 1) * 2;
      if (data[at] === a && data[at + 1] === b) return s - 1;
      i = (i + 1) & mask;
    }
  }

  private add(t: Int32Array, slot: number): number {
    const w = this.width;
    const id = this.n;
    if ((id + 1) * w > this.data.length) this.data = this.dataStore.ensure((id + 1) * w);
    const at = id * w;
    for (let k = 0; k < w; k++) this.data[at + k] = t[k]!;
    this.slots[slot] = id + 1;
    this.n = id + 1;
    if (this.n * 2 > this.mask + 1) this.rehash();
    return id;
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    const slots = this.slotStore.ensure(size);
    slots.fill(0);
    const mask = size - 1;
    const w = this.width;
    const view = new Int32Array(w);
    for (let id = 0; id < this.n; id++) {
      for (let k = 0; k < w; k++) view[k] = this.data[id * w + k]!;
      let i = hashTuple(view, w) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

const pairScratch = new Int32Array(2);

/** A multiply/xorshift mix of the first `w` entries. */
function hashTuple(t: Int32Array, w: number): number {
  return hashTupleAt(t, 0, w);
}

function hashTupleAt(t: Int32Array, off: number, w: number): number {
  if (w === 2) return hash2(t[off]!, t[off + 1]!);
  let h = 0x2545f491 ^ w;
  for (let k = 0; k < w; k++) {
    h = Math.imul(h ^ t[off + k]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x2545f491, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h ^ b, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
