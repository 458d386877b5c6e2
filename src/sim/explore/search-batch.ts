/**
 * Reused buffers of the exhaustive search (exhaustive-search.ts): one batch of expanded states with
 * their successors and what `apply` said of each, and growth of the typed arrays it keeps per state
 * and per edge.
 */

/** States expanded per batch: enough successors for their table reads to overlap. */
export const BATCH_STATES = 16;

/** Reused buffers for one batch: the states expanded, and their successors with what `apply` said. */
export class Batch {
  private readonly width: number;
  private readonly states: Int32Array[];
  private readonly successors: Int32Array[] = [];
  /** per state of the batch: its first successor, its event count, its non-fault event count */
  readonly first = new Int32Array(BATCH_STATES);
  readonly count = new Int32Array(BATCH_STATES);
  readonly lastNonFault = new Int32Array(BATCH_STATES);
  /** per successor: the broken property's violation index or -1, and its edge label */
  broke = new Int32Array(64);
  label = new Uint16Array(64);

  constructor(width: number) {
    this.width = width;
    this.states = Array.from({ length: BATCH_STATES }, () => new Int32Array(width));
  }

  state(j: number): Int32Array {
    return this.states[j]!;
  }

  successor(m: number): Int32Array {
    return this.successors[m]!;
  }

  /** Makes room for `n` successors. */
  reserve(n: number): void {
    while (this.successors.length < n) this.successors.push(new Int32Array(this.width));
    if (this.broke.length < n) {
      const size = Math.max(n, this.broke.length * 2);
      const broke = new Int32Array(size);
      broke.set(this.broke);
      this.broke = broke;
      const label = new Uint16Array(size);
      label.set(this.label);
      this.label = label;
    }
  }
}

export function grow32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}

export function grow16(a: Uint16Array): Uint16Array<ArrayBuffer> {
  const b = new Uint16Array(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}
