/**
 * A binary min-heap of events ordered by (time, sequence number). The sequence number is assigned
 * at insertion, so events at the same virtual time run in the order they were scheduled: ties break
 * deterministically, never by object identity or insertion luck.
 */
export interface Scheduled<T> {
  timeMs: number;
  seq: number;
  item: T;
  /** Set by `cancel`; cancelled entries are skipped when popped (lazy deletion). */
  cancelled: boolean;
}

export class EventQueue<T> {
  private heap: Scheduled<T>[] = [];
  private nextSeq = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(timeMs: number, item: T): Scheduled<T> {
    const entry: Scheduled<T> = { timeMs, seq: this.nextSeq++, item, cancelled: false };
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
    this.live++;
    return entry;
  }

  cancel(entry: Scheduled<T>): void {
    if (!entry.cancelled) {
      entry.cancelled = true;
      this.live--;
    }
  }

  /** The next live entry without removing it. */
  peek(): Scheduled<T> | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  pop(): Scheduled<T> | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.live--;
    return top;
  }

  /** Live entries in (time, seq) order; for state snapshots and reports, not the hot path. */
  entries(): Scheduled<T>[] {
    return this.heap.filter((e) => !e.cancelled).sort((x, y) => (before(x, y) ? -1 : 1));
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
  }

  private removeTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before<T>(x: Scheduled<T>, y: Scheduled<T>): boolean {
  return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq);
}
