/**
 * The time a reference server runs on: what the rules are told is "now", their timers (a heartbeat,
 * a delivery confirmation, a defect's pause) and the host's idle and read timeouts. Real by default;
 * a test that is about time (a timeout fires, a lease holds) gives the server a `ManualClock` and
 * moves it itself, so it neither sleeps nor depends on how loaded the machine is.
 */

/** A timer started on a clock. */
export interface ClockTimer {
  /** Stops it; nothing happens if it already fired. */
  cancel(): void;
  /** Starts it again from now, with the same delay (an idle timeout on activity). */
  refresh(): void;
}

export interface Clock {
  /** Milliseconds, only ever compared with other values of the same clock. */
  now(): number;
  /** Runs `fire` once, `afterMs` from now. A real timer never keeps the process alive. */
  setTimer(afterMs: number, fire: () => void): ClockTimer;
}

/**
 * The wall clock and Node's timers (unref'd: a server's timers never hold a process open). A timer
 * that falls due fires only after the input already waiting has been read: a server stalled for a
 * moment (a loaded machine) must not drop a session whose ping sat unread in its socket — Node runs
 * due timers before it reads sockets, so the firing waits one turn (`setImmediate`), and a refresh
 * or cancel in that turn (the ping read) stops it.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(afterMs, fire) {
    let pending: NodeJS.Immediate | undefined;
    const stopPending = (): void => {
      if (pending !== undefined) clearImmediate(pending);
      pending = undefined;
    };
    const timer = setTimeout(() => {
      // not unref'd: an unref'd immediate lets the loop block in its poll for I/O, and it would
      // wait for the next message to fire at all
      pending = setImmediate(() => {
        pending = undefined;
        fire();
      });
    }, afterMs);
    timer.unref();
    return {
      cancel: () => {
        clearTimeout(timer);
        stopPending();
      },
      refresh: () => {
        stopPending();
        timer.refresh();
      },
    };
  },
};

interface ManualEntry {
  dueMs: number;
  seq: number;
  afterMs: number;
  fire: () => void;
  live: boolean;
}

/**
 * A clock that moves only when told (`advance`). Timers fire in order of due time, then of when
 * they were set, synchronously inside `advance`; a timer set by a firing timer fires in the same
 * `advance` when it falls due within it.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly entries = new Set<ManualEntry>();

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(afterMs: number, fire: () => void): ClockTimer {
    const entry: ManualEntry = { dueMs: this.nowMs + afterMs, seq: this.seq++, afterMs, fire, live: true };
    this.entries.add(entry);
    return {
      cancel: () => {
        entry.live = false;
        this.entries.delete(entry);
      },
      refresh: () => {
        entry.dueMs = this.nowMs + entry.afterMs;
        entry.seq = this.seq++;
        if (!entry.live) {
          entry.live = true;
          this.entries.add(entry);
        }
      },
    };
  }

  /** Timers not yet fired nor cancelled. */
  pendingTimers(): number {
    return this.entries.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advance: expected a duration in ms >= 0, got ${ms}`);
    const target = this.nowMs + ms;
    for (;;) {
      let next: ManualEntry | undefined;
      for (const e of this.entries) if (e.dueMs <= target && (next === undefined || e.dueMs < next.dueMs || (e.dueMs === next.dueMs && e.seq < next.seq))) next = e;
      if (next === undefined) break;
      this.entries.delete(next);
      next.live = false;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.fire();
    }
    this.nowMs = target;
  }
}
