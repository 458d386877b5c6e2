/**
 * `simulate`: one seed, one run, in up to three passes. Pass 1 runs the seed; a stall (no progress
 * within `stallBoundMs`) is classified by pass 2, a deterministic re-run of the same seed that
 * records the untimed global state after each step since the last progress: a repeated state is a
 * cycle (deadlock by polling when every unfinished node is waiting, livelock otherwise), no repeat
 * is a liveness finding. Pass 3 re-runs the seed to the end of the cycle's first full turn (or to
 * the stall), so the trace is cut there, and records the finding.
 */
import type { SimConfig } from '../config.js';
import type { CompiledModel } from './compiled-model.js';
import type { PassResult, RunControl, RunOptions, RunResult } from './run-types.js';
import { Simulation } from './timed-run.js';

/**
 * Runs one seed. A stall (no progress within `stallBoundMs`) is classified by a deterministic
 * second pass of the same seed that records the untimed global state after each step since the
 * last progress: a repeated state is a cycle (deadlock by polling when every unfinished node is
 * waiting, livelock otherwise), and the trace is cut right after the cycle's first full turn.
 */
export function simulate(model: CompiledModel, config: SimConfig, seed: number, options: RunOptions): RunResult {
  const stopAtFirst = options.stopAtFirstFinding ?? true;
  const first = new Simulation(model, config, seed, options.trace, stopAtFirst, null, null, options);
  const header = first.header;
  const out = first.run();
  if (out.stall === null) {
    return { seed, header, findings: out.findings, endReason: out.endReason, stats: out.stats, trace: out.trace };
  }
  // Pass 2: from the last progress on, find the first repeated untimed state.
  const stallStep = out.stall.step;
  const fromStep = first.progressStep;
  const probe = new Simulation(model, config, seed, false, stopAtFirst, fromStep, stallStep, options);
  const probed = probe.run();
  const { cycleStart, cycleEnd } = firstCycle(probed, fromStep);
  const stopStep = cycleEnd ?? stallStep;
  const final = new Simulation(model, config, seed, options.trace, stopAtFirst, null, stopStep, options);
  const result = final.run();
  // Replace the `end` event the stopped run wrote: the finding comes first, then the end.
  if (options.trace) result.trace.pop();
  const cycleTraceIndex = options.trace && cycleStart !== null ? traceIndexAfterStep(model, config, seed, cycleStart, options) : null;
  result.stats.eventsSimulated = out.stats.steps + probed.stats.steps + result.stats.steps + (cycleTraceIndex !== null ? cycleStart! : 0);
  final.classifyStall(cycleStart, out.stall.timeMs);
  const finding = result.findings[result.findings.length - 1]!;
  finding.cycleStart = cycleTraceIndex;
  if (options.trace) {
    result.trace.push({ k: 'end', t: result.stats.timeMs, reason: 'finding' });
    finding.trace = result.trace.slice(0, -1);
  }
  return { seed, header, findings: result.findings, endReason: 'finding', stats: result.stats, trace: result.trace };
}

/** The steps after which pass 2 saw its first repeated untimed state (both null when none repeated). */
function firstCycle(probed: PassResult, fromStep: number): { cycleStart: number | null; cycleEnd: number | null } {
  const seen = new Map<string, number>();
  for (let i = 0; i < probed.keys.length; i++) {
    const key = probed.keys[i]!;
    const prev = seen.get(key);
    // keys[i] is the state after step fromStep + 1 + i
    if (prev !== undefined) return { cycleStart: fromStep + 1 + prev, cycleEnd: fromStep + 1 + i };
    seen.set(key, i);
  }
  return { cycleStart: null, cycleEnd: null };
}

/** The index in the recorded trace of the first event after `step` (a re-run to `step`). */
function traceIndexAfterStep(model: CompiledModel, config: SimConfig, seed: number, step: number, control: RunControl): number {
  const sim = new Simulation(model, config, seed, true, true, null, step, control);
  const out = sim.run();
  return out.trace.length - 1; // minus the `end` event
}
