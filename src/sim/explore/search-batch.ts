/**
 * Reused buffers of the exhaustive search (exhaustive-search.ts): one batch of expanded states with
 * their successors and what `apply` said of each (the per-state and per-edge tables grow in place:
 * growable-array.ts).
 */

/** States expanded per batch: enough successors for their table reads to overlap. */
export const BATCH_STATES = 16;

/** Reused buffers for one batch: the states expanded, and their successors with what `apply` said. */
export class Batch {
  private readonly width: number;
  private readonly states: Int32Array[];
  private readonly successors: Int32Array[] = [];
  /** per state of the batch: its first successor, its successors computed, its event count, its non-fault event count */
  readonly first = new Int32Array(BATCH_STATES);
  readonly count = new Int32Array(BATCH_STATES);
  readonly enabled = new Int32Array(BATCH_STATES);
  readonly lastNonFault = new Int32Array(BATCH_STATES);
  /** with partial-order reduction: whether only an ample set was computed, and where its events are kept */
  readonly reduced = new Uint8Array(BATCH_STATES);
  readonly eventsFirst = new Int32Array(BATCH_STATES);
  /** with partial-order reduction: every enabled event of the batch's states, and its fairness label */
  events = new Int32Array(256);
  eventLabels = new Int32Array(256);
  /** per successor: the broken property's violation index or -1, its edge label, and its choice (event index) */
  broke = new Int32Array(64);
  label = new Uint16Array(64);
  choice = new Int32Array(64);
  /** under symmetry: the permutation that made the successor canonical */
  perm = new Uint16Array(64);

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
      const choice = new Int32Array(size);
      choice.set(this.choice);
      this.choice = choice;
      const perm = new Uint16Array(size);
      perm.set(this.perm);
      this.perm = perm;
    }
  }

  /** Makes room for `n` kept events. */
  reserveEvents(n: number): void {
    if (this.events.length >= n) return;
    const size = Math.max(n, this.events.length * 2);
    const events = new Int32Array(size);
    events.set(this.events);
    this.events = events;
    const labels = new Int32Array(size);
    labels.set(this.eventLabels);
    this.eventLabels = labels;
  }
}
