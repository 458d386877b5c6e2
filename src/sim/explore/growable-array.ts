/**
 * Typed arrays that grow in place, for the exhaustive search's per-state and per-edge tables
 * (parents, choices, edges, the state arena). Growing a plain typed array copies it: for a moment
 * the old and the new array are both resident, which at the end of a search of millions of states
 * is what sets the peak memory. A resizable ArrayBuffer reserves address space once and commits
 * pages as they are touched, so growth copies nothing and the resident size is what is used.
 * Where resizable buffers are refused (an address-space limit), it falls back to copying.
 */

type TypedArray = Int32Array | Uint16Array | Uint8Array;

interface TypedArrayClass<T extends TypedArray> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A resizable ArrayBuffer (ES2024; Node 20 has it, the project's lib does not declare it yet). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
  readonly maxByteLength: number;
}
const Resizable = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/**
 * Address space reserved per array: 4 GiB, V8's largest resizable buffer (beyond it, copying
 * takes over). Reserved, not committed: only the pages written become resident.
 */
const reserveBytes = 2 ** 32;

export class GrowableArray<T extends TypedArray> {
  /** The current view: re-read it after `ensure`, which may replace it. */
  array: T;
  private readonly ctor: TypedArrayClass<T>;
  private buffer: ResizableBuffer | null;

  constructor(ctor: TypedArrayClass<T>, initialLength: number) {
    this.ctor = ctor;
    this.buffer = null;
    try {
      this.buffer = new Resizable(initialLength * ctor.BYTES_PER_ELEMENT, { maxByteLength: reserveBytes });
      this.array = new ctor(this.buffer, 0, initialLength);
    } catch {
      this.array = new ctor(initialLength);
    }
  }

  /** Makes index `n - 1` valid (at least doubling the length when it grows); returns the array. */
  ensure(n: number): T {
    const length = this.array.length;
    if (n <= length) return this.array;
    const size = Math.max(n, length * 2, 16);
    const bytes = size * this.ctor.BYTES_PER_ELEMENT;
    const buffer = this.buffer;
    if (buffer !== null && bytes <= buffer.maxByteLength) {
      try {
        buffer.resize(bytes);
        this.array = new this.ctor(buffer, 0, size);
        return this.array;
      } catch {
        // out of address space: copy as a plain array does
      }
    }
    const bigger = new this.ctor(size);
    bigger.set(this.array);
    this.buffer = null;
    this.array = bigger;
    return bigger;
  }

  /** Bytes in use by `used` entries (what is resident, not what is reserved). */
  bytesFor(used: number): number {
    return used * this.ctor.BYTES_PER_ELEMENT;
  }
}

