/**
 * How a trace time reads. Simulated and live runs count milliseconds; the exhaustive search is
 * untimed, and its traces number the steps instead (`t` is the step), which must not read as ms.
 */

/** `12 ms`, or `step 12` for an untimed (exhaustive) trace. */
export function timeText(t: number, steps: boolean | undefined): string {
  return steps ? `step ${t}` : `${t} ms`;
}

/** A diagram's tick label: `12 ms`, or `#12` for a step. */
export function timeTick(t: number, steps: boolean | undefined): string {
  return steps ? `#${t}` : `${t} ms`;
}

/** The short form for a diagram's time column: `12 ms`, or `#12`, right-aligned to `width + 3`. */
export function timeColumn(t: number, width: number, steps: boolean | undefined): string {
  return steps ? timeTick(t, true).padStart(width + 3) : `${String(t).padStart(width)} ms`;
}
