/**
 * The visited set of the exhaustive search's approximate memory modes, after Spin's hash-compact
 * (-DHC) and bitstate (-DBITSTATE) storage: a state is remembered by hashes of its vector, never by
 * the vector itself, so a state that collides with one seen before is taken as seen and not
 * explored. What the search reports is then still true (every counterexample replays), but it may
 * miss some; `omission` says how likely, as Spin does.
 *
 *  - `hash-compact`: a 64-bit hash per state in an open-addressing table (8 bytes a slot, at most
 *    three quarters full). Two distinct states are merged only when their 64-bit hashes are equal.
 *  - `bitstate`: a bit array of 2^bits bits and k = 3 bit positions per state (a Bloom filter,
 *    Holzmann's supertrace); the hash factor is bits per stored state.
 *
 * Only the states still to be expanded (the breadth-first frontier) are kept whole, in a queue that
 * drops what the search has expanded (`release`). State indices are still given out in insertion
 * order, for the BFS parent pointers that rebuild counterexamples; a state found seen has no index
 * (`SEEN`), which is why these modes keep no graph for the cycle check.
 */
import { GrowableArray } from './growable-array.js';
import { hashVector } from './state-table.js';

export type MemoryMode = 'exact' | 'hash-compact' | 'bitstate';

/** What `insert` returns for a state seen before (its index is not kept). */
export const SEEN = -1;

/** Bit positions per state in bitstate mode (Spin's default -k3). */
const bitstateHashes = 3;

/** How likely the search missed states, in Spin's terms. */
export interface Omission {
  /** hash-compact: hash bits per state; bitstate: bits of the bit array */
  hashBits: number;
  /** bitstate: bits of the array per stored state (Spin: "hash factor"; above 100 is good) */
  hashFactor: number | null;
  /**
   * hash-compact: the probability that any two of the stored states share a hash (one was then
   * not explored); bitstate: the probability that a new state reached at the end of the search is
   * taken as seen (the Bloom filter's false positive rate)
   */
  missedStateProbability: number;
  /** the expected number of states not explored because of collisions */
  expectedMissedStates: number;
}

export class HashStore {
  readonly width: number;
  readonly mode: 'hash-compact' | 'bitstate';
  readonly keepsStates = false;
  /** the frontier: vectors of states base .. n - 1 */
  private readonly queue = new GrowableArray(Int32Array, 1 << 14);
  private base = 0;
  private n = 0;
  /** hash-compact: slots of (low, high) 32-bit halves, (0, 0) free */
  private slots = new Int32Array(2 << 12);
  private mask = (1 << 12) - 1;
  private used = 0;
  /** bitstate: the bit array */
  private readonly bits: Int32Array;
  private readonly bitMask: number;
  private readonly log2Bits: number;
  /** hashes of staged vectors (2 per vector) and the vectors */
  private staged = new Int32Array(128);
  private stagedVecs = new Int32Array(0);
  private readonly key = new Int32Array(2);
  /** bitstate: sum over insertions of the false positive rate when each was inserted (expected misses) */
  private expectedMisses = 0;

  constructor(width: number, mode: 'hash-compact' | 'bitstate', log2Bits = 27) {
    this.width = width;
    this.mode = mode;
    this.log2Bits = mode === 'bitstate' ? Math.max(10, Math.min(32, log2Bits)) : 64;
    const words = mode === 'bitstate' ? 2 ** this.log2Bits / 32 : 0;
    this.bits = new Int32Array(words);
    this.bitMask = mode === 'bitstate' ? 2 ** this.log2Bits - 1 : 0;
  }

  get count(): number {
    return this.n;
  }

  /** Bytes held: the visited set and the frontier. */
  get bytes(): number {
    return this.bits.byteLength + this.slots.byteLength + this.queue.bytesFor((this.n - this.base) * this.width);
  }

  /** The index of `vec` when new (it is then stored), or `SEEN`. */
  insert(vec: Int32Array): number {
    hash64(vec, this.width, this.key, 0);
    return this.insertHashed(vec, 0, this.key, 0);
  }

  stage(vec: Int32Array, j: number): boolean {
    const w = this.width;
    if (2 * j + 2 > this.staged.length) {
      const bigger = new Int32Array(Math.max(128, 4 * j + 4));
      bigger.set(this.staged);
      this.staged = bigger;
    }
    if ((j + 1) * w > this.stagedVecs.length) {
      const bigger = new Int32Array(Math.max(64 * w, 2 * (j + 1) * w));
      bigger.set(this.stagedVecs);
      this.stagedVecs = bigger;
    }
    for (let k = 0; k < w; k++) this.stagedVecs[j * w + k] = vec[k]!;
    hash64(vec, w, this.staged, 2 * j);
    return true;
  }

  touchStaged(count: number): void {
    void count; // (nothing to read ahead: a probe is one slot)
  }

  insertStaged(j: number): number {
    return this.insertHashed(this.stagedVecs, j * this.width, this.staged, 2 * j);
  }

  /** Whether `vec` was seen (`SEEN`), else -1 as for a state not stored; there are no indices to give. */
  find(vec: Int32Array): number {
    void vec;
    throw new Error(`the ${this.mode} memory mode cannot look states up by index (partial-order reduction needs --memory exact)`);
  }

  /** Copies vector `index` into `out`; only states not released yet are kept. */
  read(index: number, out: Int32Array, outOff = 0): void {
    if (index < this.base || index >= this.n) throw new Error(`state ${index} is not kept (${this.mode} keeps only the frontier)`);
    const w = this.width;
    const q = this.queue.array;
    const at = (index - this.base) * w;
    for (let k = 0; k < w; k++) out[outOff + k] = q[at + k]!;
  }

  /** States below `index` will not be read again: their vectors are dropped once they are half the queue. */
  release(index: number): void {
    const drop = index - this.base;
    if (drop < 4096 || drop * 2 < this.n - this.base) return;
    const w = this.width;
    const q = this.queue.array;
    q.copyWithin(0, drop * w, (this.n - this.base) * w);
    this.base = index;
  }

  /** How likely states were missed, given the states stored. */
  omission(): Omission {
    const n = this.n;
    if (this.mode === 'hash-compact') {
      const pairs = (n * (n - 1)) / 2;
      const expected = pairs / 2 ** 64;
      return { hashBits: 64, hashFactor: null, missedStateProbability: -Math.expm1(-expected), expectedMissedStates: expected };
    }
    const m = 2 ** this.log2Bits;
    return { hashBits: this.log2Bits, hashFactor: n === 0 ? m : m / n, missedStateProbability: falsePositive(n, m), expectedMissedStates: this.expectedMisses };
  }

  private insertHashed(vec: Int32Array, off: number, key: Int32Array, at: number): number {
    const lo = key[at]!;
    const hi = key[at + 1]!;
    if (this.mode === 'bitstate' ? !this.setBits(lo, hi) : !this.addHash(lo === 0 && hi === 0 ? 1 : lo, hi)) return SEEN;
    const index = this.n;
    const w = this.width;
    const q = this.queue.ensure((index + 1 - this.base) * w);
    const to = (index - this.base) * w;
    for (let k = 0; k < w; k++) q[to + k] = vec[off + k]!;
    this.n = index + 1;
    return index;
  }

  /** Adds the 64-bit hash (lo, hi); false when it was there. */
  private addHash(lo: number, hi: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const a = slots[2 * i]!;
      const b = slots[2 * i + 1]!;
      if (a === 0 && b === 0) break;
      if (a === lo && b === hi) return false;
      i = (i + 1) & mask;
    }
    slots[2 * i] = lo;
    slots[2 * i + 1] = hi;
    this.used++;
    if (this.used * 4 > (mask + 1) * 3) this.grow();
    return true;
  }

  /** Sets the state's k bits (double hashing: lo + i * hi); false when all were set already. */
  private setBits(lo: number, hi: number): boolean {
    const bits = this.bits;
    const m = this.bitMask;
    const step = hi | 1;
    let fresh = false;
    for (let i = 0; i < bitstateHashes; i++) {
      const p = ((lo >>> 0) + i * (step >>> 0)) % (m + 1);
      const word = p >>> 5;
      const bit = 1 << (p & 31);
      if ((bits[word]! & bit) === 0) {
        bits[word] = bits[word]! | bit;
        fresh = true;
      }
    }
    if (fresh) this.expectedMisses += falsePositive(this.n, m + 1);
    return fresh;
  }

  private grow(): void {
    const old = this.slots;
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let j = 0; j < old.length; j += 2) {
      const lo = old[j]!;
      const hi = old[j + 1]!;
      if (lo === 0 && hi === 0) continue;
      let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
      while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = lo;
      slots[2 * i + 1] = hi;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** The false positive rate of a Bloom filter of m bits, k = 3, holding n states. */
function falsePositive(n: number, m: number): number {
  return (-Math.expm1((-bitstateHashes * n) / m)) ** bitstateHashes;
}

/** Two independent 32-bit hashes of the vector into out[at], out[at + 1]. */
function hash64(vec: Int32Array, width: number, out: Int32Array, at: number): void {
  out[at] = hashVector(vec, width);
  let h = 0x2545f491 ^ width;
  for (let k = 0; k < width; k++) {
    h = Math.imul(h ^ vec[k]!, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 16;
  out[at + 1] = h;
}
