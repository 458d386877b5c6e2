/**
 * A set of fixed-width integer vectors (global states) with dense indices, for the exhaustive
 * explorer. Vectors live in chunked typed arrays (no object per state, nothing for the GC to trace),
 * and an open-addressing hash table maps a vector to its index. Lookups compare the whole vector,
 * so a hash collision never merges two states.
 *
 * Indices are given out in insertion order; a breadth-first search inserts in BFS order, so the
 * index doubles as the queue position.
 */

/** States per arena chunk (a power of two). */
const chunkBits = 16;
const chunkStates = 1 << chunkBits;
const chunkMask = chunkStates - 1;

export class StateTable {
  readonly width: number;
  /**
   * Entries are stored two to an int (16 bits each) while every value fits: half the memory and
   * half the cache misses. The first value that does not fit switches the table to one int per
   * entry, re-inserting what it holds in the same order, so indices do not change.
   */
  private packed = true;
  /** ints per stored vector */
  private stride: number;
  private chunks: Int32Array[] = [];
  /**
   * Open addressing, two ints per slot: (index + 1, hash). Keeping the hash next to the index
   * means a probe costs one cache miss, and the arena is only touched when the hashes match.
   */
  private slots = new Int32Array(2 << 12);
  private mask = (1 << 12) - 1;
  private n = 0;
  private readonly key: Int32Array;
  /** staged vectors (packed as stored) and their hashes */
  private staged = new Int32Array(0);
  private stagedHash = new Int32Array(0);
  /** what the touching reads saw (kept so that they are not optimised away) */
  private sink = 0;

  constructor(width: number) {
    if (width < 1) throw new Error('StateTable: width must be at least 1');
    this.width = width;
    this.stride = (width + 1) >> 1;
    this.key = new Int32Array(width);
  }

  /** Number of distinct vectors inserted. */
  get count(): number {
    return this.n;
  }

  /** Whether vectors are stored two entries to an int. */
  get compact(): boolean {
    return this.packed;
  }

  /** Bytes held by the arena and the hash table (for reports). */
  get bytes(): number {
    return this.chunks.length * chunkStates * this.stride * 4 + this.slots.byteLength;
  }

  /**
   * Returns the index of `vec` (its first `width` entries), inserting it when new.
   * A new vector gets index `count - 1` after the call, which is how callers tell new from seen.
   */
  insert(vec: Int32Array): number {
    if (!this.pack(vec, this.key, 0)) {
      this.widen();
      return this.insert(vec);
    }
    return this.insertKey(this.key, 0, hashAt(this.key, 0, this.stride));
  }

  /**
   * Prepares `vec` as staged vector `j` for `insertStaged(j)`: packs it, hashes it, and reads its
   * home slot. A search stages a batch of successors before inserting them one by one in order:
   * the slot reads of the batch, which mostly miss the cache in a big table, then overlap instead
   * of stalling one after the other. Returns false when the table had to switch to wide storage
   * (a value did not fit in 16 bits): the vectors staged before are void, stage them again.
   */
  stage(vec: Int32Array, j: number): boolean {
    const stride = this.stride;
    if ((j + 1) * stride > this.staged.length) {
      const bigger = new Int32Array(Math.max(64 * stride, (j + 1) * stride * 2));
      bigger.set(this.staged);
      this.staged = bigger;
      const hashes = new Int32Array(bigger.length / stride);
      hashes.set(this.stagedHash.subarray(0, Math.min(this.stagedHash.length, hashes.length)));
      this.stagedHash = hashes;
    }
    const off = j * stride;
    if (!this.pack(vec, this.staged, off)) {
      this.widen();
      return false;
    }
    this.stagedHash[j] = hashAt(this.staged, off, stride);
    return true;
  }

  /**
   * Reads the home slots of staged vectors 0..count-1, then the stored vectors they most likely
   * equal (the first in the home slot with the same hash), in two tight loops: the reads are
   * independent of each other, so the processor overlaps their cache misses, and the inserts that
   * follow find what they compare in the cache. (Vectors that were not staged are read harmlessly.)
   */
  touchStaged(count: number): void {
    const slots = this.slots;
    const mask = this.mask;
    const hashes = this.stagedHash;
    count = Math.min(count, hashes.length);
    let sink = 0;
    for (let j = 0; j < count; j++) sink += slots[2 * (hashes[j]! & mask)]!;
    const stride = this.stride;
    for (let j = 0; j < count; j++) {
      const h = hashes[j]!;
      const at = 2 * (h & mask);
      const s = slots[at]!;
      if (s === 0 || slots[at + 1] !== h) continue;
      const index = s - 1;
      sink += this.chunks[index >>> chunkBits]![(index & chunkMask) * stride]!;
    }
    this.sink ^= sink;
  }

  /** The index of `vec`, or -1 when it is not stored (nothing is inserted). */
  find(vec: Int32Array): number {
    if (!this.pack(vec, this.key, 0)) return -1; // a value that does not fit is in no packed vector
    const h = hashAt(this.key, 0, this.stride);
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[2 * i]!;
      if (s === 0) return -1;
      if (slots[2 * i + 1] === h && this.equals(s - 1, this.key, 0)) return s - 1;
    }
  }

  /** `insert` for staged vector `j` (staged since the last switch to wide storage). */
  insertStaged(j: number): number {
    return this.insertKey(this.staged, j * this.stride, this.stagedHash[j]!);
  }

  /** Packs `vec` into `out` at `off` in the current storage; false when a value does not fit. */
  private pack(vec: Int32Array, out: Int32Array, off: number): boolean {
    const w = this.width;
    if (this.packed) {
      let k = off;
      let j = 0;
      for (; j + 1 < w; j += 2) {
        const a = vec[j]!;
        const b = vec[j + 1]!;
        // negative values have high bits set too
        if ((a | b) >>> 16 !== 0) return false;
        out[k++] = a | (b << 16);
      }
      if (j < w) {
        const a = vec[j]!;
        if (a >>> 16 !== 0) return false;
        out[k] = a;
      }
    } else {
      for (let j = 0; j < w; j++) out[off + j] = vec[j]!;
    }
    return true;
  }

  private insertKey(key: Int32Array, off: number, h: number): number {
    const stride = this.stride;
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = slots[2 * i]!;
      if (s === 0) break;
      if (slots[2 * i + 1] === h && this.equals(s - 1, key, off)) return s - 1;
      i = (i + 1) & mask;
    }
    const index = this.n;
    const chunkIndex = index >>> chunkBits;
    let chunk = this.chunks[chunkIndex];
    if (chunk === undefined) {
      chunk = new Int32Array(chunkStates * stride);
      this.chunks.push(chunk);
    }
    const start = (index & chunkMask) * stride;
    for (let k = 0; k < stride; k++) chunk[start + k] = key[off + k]!;
    slots[2 * i] = index + 1;
    slots[2 * i + 1] = h;
    this.n = index + 1;
    // Keep the load factor at most one half: probes stay short.
    if (this.n * 2 > mask + 1) this.grow();
    return index;
  }

  /** Copies vector `index` into `out` (from `outOff`). */
  read(index: number, out: Int32Array, outOff = 0): void {
    const w = this.width;
    const stride = this.stride;
    const chunk = this.chunks[index >>> chunkBits]!;
    const start = (index & chunkMask) * stride;
    // Plain loops: TypedArray#set and subarray cost more than copying a few dozen ints.
    if (this.packed) {
      let j = 0;
      let k = start;
      for (; j + 1 < w; j += 2) {
        const v = chunk[k++]!;
        out[outOff + j] = v & 0xffff;
        out[outOff + j + 1] = v >>> 16;
      }
      if (j < w) out[outOff + j] = chunk[k]! & 0xffff;
    } else {
      for (let k = 0; k < w; k++) out[outOff + k] = chunk[start + k]!;
    }
  }

  private equals(index: number, key: Int32Array, off: number): boolean {
    const stride = this.stride;
    const chunk = this.chunks[index >>> chunkBits]!;
    const start = (index & chunkMask) * stride;
    for (let k = 0; k < stride; k++) if (chunk[start + k] !== key[off + k]) return false;
    return true;
  }

  /** Switches to one int per entry, re-inserting every vector in order (indices are kept). */
  private widen(): void {
    const old = { chunks: this.chunks, n: this.n };
    const tmp = new Int32Array(this.width);
    const reader = { chunks: old.chunks };
    this.packed = false;
    this.stride = this.width;
    this.chunks = [];
    this.slots = new Int32Array(2 << 12);
    this.mask = (1 << 12) - 1;
    this.n = 0;
    const packedStride = (this.width + 1) >> 1;
    for (let index = 0; index < old.n; index++) {
      const chunk = reader.chunks[index >>> chunkBits]!;
      const start = (index & chunkMask) * packedStride;
      for (let k = 0, j = 0; j < this.width; k++, j += 2) {
        const v = chunk[start + k]!;
        tmp[j] = v & 0xffff;
        if (j + 1 < this.width) tmp[j + 1] = v >>> 16;
      }
      this.insert(tmp);
    }
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const old = this.slots;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let j = 0; j < old.length; j += 2) {
      const s = old[j]!;
      if (s === 0) continue;
      const h = old[j + 1]!;
      let i = h & mask;
      while (slots[2 * i] !== 0) i = (i + 1) & mask;
      slots[2 * i] = s;
      slots[2 * i + 1] = h;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** MurmurHash3-style mixing of the first `width` entries. */
export function hashVector(vec: Int32Array, width: number): number {
  return hashAt(vec, 0, width);
}

function hashAt(vec: Int32Array, off: number, width: number): number {
  let h = 0x9747b28c ^ width;
  for (let k = 0; k < width; k++) {
    let x = Math.imul(vec[off + k]!, 0xcc9e2d51);
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
