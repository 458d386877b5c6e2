/**
 * Progress of a long run on stderr: on a terminal one line rewritten in place (throttled), else a
 * plain line every few percent, so CI logs show progress without a wall of carriage returns.
 * Quiet for the first moment, so short runs print nothing. The clock is injected (tests).
 */

export interface ProgressOptions {
  /** where the text goes (stderr) */
  write: (text: string) => void;
  /** rewrite one line in place (a terminal) or print plain lines */
  isTTY: boolean;
  /** what is counted: `seeds`, `cases` */
  label: string;
  /** milliseconds, monotonic; default performance.now */
  clock?: () => number;
  /** at most one terminal redraw per this many ms (default 100) */
  throttleMs?: number;
  /** without a terminal: a line each time this many percent more are done (default 10) */
  everyPercent?: number;
  /** print nothing before this many ms have passed (default 1000 on a terminal, 3000 otherwise): short runs stay quiet */
  quietMs?: number;
  /** show how many items per second are done (`states 52000/1000000 (5%, 26000/s)`) */
  rate?: boolean;
}

export interface ProgressReporter {
  /**
   * `done` of `total` items; `counters` are running totals shown with their rate
   * (`{ states: 52000 }` shows `52000 states (26000 states/s)`).
   */
  update(done: number, total: number, counters?: Record<string, number>): void;
  /** clears the terminal line, or prints a last plain line when progress was shown */
  finish(): void;
  /** clears the terminal line so other output can be written; the next update draws it again */
  clear(): void;
}

export function createProgress(options: ProgressOptions): ProgressReporter {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const throttleMs = options.throttleMs ?? 100;
  const everyPercent = options.everyPercent ?? 10;
  const quietMs = options.quietMs ?? (options.isTTY ? 1000 : 3000);
  let lastDrawMs = -Infinity;
  let lastStep = 0; // the first plain line comes after the first step, not at 0%
  let shown = false;
  let last: { done: number; total: number; counters: Record<string, number> } | null = null;

  const line = (done: number, total: number, counters: Record<string, number>, now: number): string => {
    const seconds = Math.max(0.001, (now - started) / 1000);
    const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
    const parts = [`${options.label} ${done}/${total} (${pct}%${options.rate === true ? `, ${Math.round(done / seconds)}/s` : ''})`];
    for (const [name, value] of Object.entries(counters)) parts.push(`${value} ${name} (${Math.round(value / seconds)} ${name}/s)`);
    parts.push(`${seconds.toFixed(1)} s`);
    return parts.join(' · ');
  };

  return {
    update(done, total, counters = {}) {
      last = { done, total, counters };
      const now = clock();
      if (now - started < quietMs) return;
      if (options.isTTY) {
        if (now - lastDrawMs < throttleMs && done < total) return;
        lastDrawMs = now;
        options.write(`\r${line(done, total, counters, now)}\u001b[K`);
        shown = true;
        return;
      }
      const step = total > 0 ? Math.floor((done / total) * 100 / everyPercent) : 0;
      if (step === lastStep) return;
      lastStep = step;
      options.write(`${line(done, total, counters, now)}\n`);
      shown = true;
    },
    clear() {
      if (!shown || !options.isTTY) return;
      options.write('\r\u001b[K');
      lastDrawMs = -Infinity;
    },
    finish() {
      if (!shown) return;
      if (options.isTTY) options.write('\r\u001b[K');
      else if (last && last.done === last.total && lastStep !== Math.floor(100 / everyPercent)) options.write(`${line(last.done, last.total, last.counters, clock())}\n`);
    },
  };
}
