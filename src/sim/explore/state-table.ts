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
  private readonly chunks: Int32Array[] = [];
  /**
   * Open addressing, two ints per slot: (index + 1, hash). Keeping the hash next to the index
   * means a probe costs one cache miss, and the arena is only touched when the hashes match.
   */
  private slots = new Int32Array(2 << 12);
  private mask = (1 << 12) - 1;
  private n = 0;

  constructor(width: number) {
    if (width < 1) throw new Error('StateTable: width must be at least 1');
    this.width = width;
  }

  /** Number of distinct vectors inserted. */
  get count(): number {
    return this.n;
  }

  /** Bytes held by the arena and the hash table (for reports). */
  get bytes(): number {
    return this.chunks.length * chunkStates * this.width * 4 + this.slots.byteLength;
  }

  /**
   * Returns the index of `vec` (its first `width` entries), inserting it when new.
   * A new vector gets index `count - 1` after the call, which is how callers tell new from seen.
   */
  insert(vec: Int32Array): number {
    const w = this.width;
    const h = hashVector(vec, w);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = slots[2 * i]!;
      if (s === 0) break;
      if (slots[2 * i + 1] === h && this.equals(s - 1, vec)) return s - 1;
      i = (i + 1) & mask;
    }
    const index = this.n;
    const chunkIndex = index >>> chunkBits;
    let chunk = this.chunks[chunkIndex];
    if (chunk === undefined) {
      chunk = new Int32Array(chunkStates * w);
      this.chunks.push(chunk);
    }
    const start = (index & chunkMask) * w;
    for (let k = 0; k < w; k++) chunk[start + k] = vec[k]!;
    slots[2 * i] = index + 1;
    slots[2 * i + 1] = h;
    this.n = index + 1;
    // Keep the load factor at most one half: probes stay short.
    if (this.n * 2 > mask + 1) this.grow();
    return index;
  }

  /** Copies vector `index` into `out`. */
  read(index: number, out: Int32Array): void {
    const w = this.width;
    const chunk = this.chunks[index >>> chunkBits]!;
    const start = (index & chunkMask) * w;
    // A plain loop: TypedArray#set and subarray cost more than copying a few dozen ints.
    for (let k = 0; k < w; k++) out[k] = chunk[start + k]!;
  }

  /** One entry of vector `index`. */
  at(index: number, position: number): number {
    return this.chunks[index >>> chunkBits]![(index & chunkMask) * this.width + position]!;
  }

  private equals(index: number, vec: Int32Array): boolean {
    const w = this.width;
    const chunk = this.chunks[index >>> chunkBits]!;
    const start = (index & chunkMask) * w;
    for (let k = 0; k < w; k++) if (chunk[start + k] !== vec[k]) return false;
    return true;
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
