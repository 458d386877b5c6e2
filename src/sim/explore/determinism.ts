/**
 * `--check-determinism`: runs every seed twice, each time on a freshly compiled model (so the
 * transition caches cannot hide a machine that reads hidden state), and compares the two traces
 * line by line. One difference is a failure: a run that cannot be replayed is worth nothing.
 */
import type { SimConfig } from '../config.js';
import { simulate, type CompiledModel } from '../simulator.js';
import { traceToJsonl } from '../trace.js';

export interface DeterminismDifference {
  seed: number;
  /** 1-based line of the trace (line 1 is the header) */
  line: number;
  first: string;
  second: string;
}

export interface DeterminismResult {
  /** seeds run twice */
  checked: number;
  /** the first difference, or null when every pair of runs was identical */
  difference: DeterminismDifference | null;
}

/** Runs `count` seeds from `seedStart`, `stride` apart, twice each. `compile` must build a fresh model. */
export function checkDeterminism(
  compile: () => CompiledModel,
  config: SimConfig,
  seedStart: number,
  count: number,
  stride = 1,
): DeterminismResult {
  const a = compile();
  const b = compile();
  for (let i = 0; i < count; i++) {
    const seed = seedStart + i * stride;
    const first = simulate(a, config, seed, { trace: true });
    const second = simulate(b, config, seed, { trace: true });
    const x = traceToJsonl(first.header, first.trace);
    const y = traceToJsonl(second.header, second.trace);
    if (x === y) continue;
    const xs = x.split('\n');
    const ys = y.split('\n');
    for (let line = 0; line < Math.max(xs.length, ys.length); line++) {
      if (xs[line] !== ys[line]) {
        return { checked: i + 1, difference: { seed, line: line + 1, first: xs[line] ?? '(end of trace)', second: ys[line] ?? '(end of trace)' } };
      }
    }
  }
  return { checked: count, difference: null };
}
