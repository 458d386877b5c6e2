/**
 * A map from fixed-width integer keys to non-negative integers, for hot caches: open addressing
 * over one typed array whose slots hold the key and the value side by side, so a lookup that hits
 * reads a single cache line and no second array.
 */
export class FlatIntMap {
  readonly width: number;
  /** slot s: key at s * stride .. + width - 1, value + 1 at s * stride + width (0: free) */
  private slots: Int32Array;
  private readonly stride: number;
  private mask: number;
  private n = 0;

  constructor(width: number, initialCapacity = 1024) {
    if (width < 1) throw new Error('FlatIntMap: width must be at least 1');
    this.width = width;
    this.stride = width + 1;
    let size = 16;
    while (size < initialCapacity * 2) size *= 2;
    this.slots = new Int32Array(size * this.stride);
    this.mask = size - 1;
  }

  get size(): number {
    return this.n;
  }

  /** The value stored for the key in `key[0 .. width - 1]`, or -1. */
  get(key: Int32Array): number {
    const w = this.width;
    const stride = this.stride;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashKey(key, w) & mask;
    for (;;) {
      const at = i * stride;
      const v = slots[at + w]!;
      if (v === 0) return -1;
      let k = 0;
      while (k < w && slots[at + k] === key[k]) k++;
      if (k === w) return v - 1;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` (at least 0) for the key, replacing what was there. */
  set(key: Int32Array, value: number): void {
    const w = this.width;
    const stride = this.stride;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashKey(key, w) & mask;
    for (;;) {
      const at = i * stride;
      const v = slots[at + w]!;
      if (v === 0) {
        for (let k = 0; k < w; k++) slots[at + k] = key[k]!;
        slots[at + w] = value + 1;
        this.n++;
        if (this.n * 2 > mask + 1) this.grow();
        return;
      }
      let k = 0;
      while (k < w && slots[at + k] === key[k]) k++;
      if (k === w) {
        slots[at + w] = value + 1;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const w = this.width;
    const stride = this.stride;
    const old = this.slots;
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(size * stride);
    const mask = size - 1;
    for (let at = 0; at < old.length; at += stride) {
      if (old[at + w] === 0) continue;
      let i = hashAt(old, at, w) & mask;
      while (slots[i * stride + w] !== 0) i = (i + 1) & mask;
      slots.set(old.subarray(at, at + stride), i * stride);
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function hashKey(key: Int32Array, w: number): number {
  return hashAt(key, 0, w);
}

/** Multiply/xorshift mixing of `w` entries from `off`. */
function hashAt(a: Int32Array, off: number, w: number): number {
  let h = 0x2545f491;
  for (let k = 0; k < w; k++) {
    h = Math.imul(h ^ a[off + k]!, 0x9e3779b1);
    h ^= h >>> 16;
  }
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}
