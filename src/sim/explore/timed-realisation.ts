/**
 * Timed realisation of an exhaustive counterexample (the refinement property's second half: every
 * exhaustive counterexample replays as a choice-driven timed run, or is labelled untimed-only).
 *
 * The exhaustive explorer works on an untimed abstraction: any enabled event may come next. A path
 * it prints is an order of events; this module asks whether some choice of delays, think times and
 * start times within the scenario's bounds makes the timed simulator take exactly that order:
 *
 * 1. the path is replayed through `UntimedSystem` with a recorder, and every event the timed
 *    simulator would queue is named (a start, a message copy, a connection event, a timer, a
 *    person's line, a fault), with the step that created it and the step that consumes it;
 * 2. the time of each is an unknown, tied by difference constraints: steps in the path's order
 *    (strictly later when the timed queue's tie-break, insertion order, would reverse them), a
 *    message within its link's delay after its send (FIFO links in order), a timer exactly its delay
 *    after the step that armed it, a line within the think time after its prompt, a start within
 *    its bounds, a scripted fault at its time; whatever is still pending (or was cancelled) comes
 *    after the step that left it behind. The least solution is found by Bellman-Ford; a positive
 *    cycle is the set of bounds that cannot all hold, said in words;
 * 3. from the times, the answers the timed run will ask for (`ChoiceScript`, per purpose, in the
 *    order the simulator asks) and the start times and fault plan (`derived`); the timed simulator
 *    runs with them, and the run must show the same world events in the same order and report the
 *    same finding.
 *
 * A lasso (a cycle without progress) is unrolled until the timed run's stall bound is crossed.
 *
 * Not modelled exactly (the check by running decides, and says so): partitions (held TCP data is
 * sent again at the heal), pauses (an inbox delivered on resume), restarts with kept state (their
 * timers re-armed with the time left), and a network loss or duplication of one copy of a message
 * that was already duplicated.
 */
import type { SimConfig } from '../config.js';
import type { Finding } from '../finding.js';
import { ChoiceScriptExhausted, ControlledChoices, PrngChoices, type ChoiceScript } from '../kernel/choice.js';
import { simulate, type CompiledModel } from '../simulator.js';
import type { DerivedOptions, TraceEvent } from '../trace.js';
import type { Constraint } from './difference-constraints.js';
import type { Label } from './realisation-items.js';
import { Unmodelled, Walk } from './realisation-walk.js';
import { UntimedSystem } from './untimed-system.js';

export type Realisation =
  | { realisable: true; derived: DerivedOptions; script: ChoiceScript; trace: TraceEvent[]; findings: Finding[]; timesMs: number[] }
  | { realisable: false; why: string };

/** What is expected of the timed run: the finding's id, and for a lasso where its cycle starts (a step index of the path). */
export interface RealiseExpectation {
  id?: string;
  cycleAt?: number | null;
}

/** Realises the counterexample of a finding of the exhaustive explorer (its path and, for a lasso, its cycle). */
export function realiseFinding(model: CompiledModel, config: SimConfig, faultBudget: number, finding: Finding): Realisation {
  const path = finding.path ?? [];
  let cycleAt: number | null = null;
  if (finding.cycleStart !== null) {
    const sys = new UntimedSystem(model, config, { faultBudget });
    const rec = sys.newRecorder();
    const vec = sys.initial();
    const events = new Int32Array(sys.maxEvents);
    const labels = new Int32Array(sys.maxEvents);
    for (let i = 0; i < path.length; i++) {
      if (rec.trace.length === finding.cycleStart) {
        cycleAt = i;
        break;
      }
      sys.enumerate(vec, events, labels);
      rec.t = i + 1;
      sys.apply(vec, events[path[i]!]!, rec);
    }
  }
  return realise(model, config, faultBudget, path, { id: finding.id, cycleAt });
}

/**
 * Finds delays within the scenario's bounds that make the timed simulator take the path's order,
 * and runs it; or says which bounds the order cannot meet.
 */
export function realise(model: CompiledModel, config: SimConfig, faultBudget: number, path: readonly number[], expect: RealiseExpectation = {}): Realisation {
  const cycleAt = expect.cycleAt ?? null;
  const lasso = cycleAt !== null && cycleAt < path.length;
  let repeats = lasso ? 2 : 1;
  for (let attempt = 0; attempt < 3; attempt++) {
    const unrolled = lasso ? [...path.slice(0, cycleAt), ...Array.from({ length: repeats }, () => path.slice(cycleAt)).flat()] : [...path];
    const walk = new Walk(model, config, faultBudget);
    try {
      walk.run(unrolled);
    } catch (error) {
      if (error instanceof Unmodelled) return { realisable: false, why: `not decided: the realisation does not follow ${error.message}` };
      throw error;
    }
    const solved = walk.constraints.solve();
    if (!solved.feasible) return { realisable: false, why: explain(solved.cycle, solved.excessMs) };
    const x = solved.x;
    if (lasso) {
      // The stall bound must be crossed: enough turns of the cycle for stallBoundMs to pass.
      const first = walk.stepVar(cycleAt + (path.length - cycleAt));
      const last = walk.stepVar(unrolled.length);
      const turn = repeats > 1 ? (x[last]! - x[first]!) / (repeats - 1) : 0;
      const needed = turn > 0 ? Math.ceil(config.checks.stallBoundMs / turn) + 3 : repeats;
      if (turn <= 0) return { realisable: false, why: `the cycle from step ${cycleAt + 1} takes no time, so a timed run would repeat it at one instant until maxSteps rather than for stallBoundMs` };
      if (needed > repeats && attempt < 2) {
        repeats = needed;
        continue;
      }
    }
    const { script, derived } = walk.script(x);
    const expected = expect.id ?? walk.findingId();
    let result;
    try {
      // The fallback answers only what the run asks after the path's last step (it stops there).
      result = simulate(model, config, 0, { trace: true, choices: () => new ControlledChoices(script, new PrngChoices(0)), derived });
    } catch (error) {
      if (error instanceof ChoiceScriptExhausted) return { realisable: false, why: `the timed run went past the path: ${error.message}` };
      throw error;
    }
    const timed = result.trace.filter(isWorldEvent).map(worldKey);
    const untimed = walk.trace.filter(isWorldEvent).map(worldKey);
    const upTo = lasso ? Math.min(timed.length, untimed.length) : untimed.length;
    for (let i = 0; i < upTo; i++) {
      if (timed[i] !== untimed[i]) {
        return { realisable: false, why: `the timed run with the chosen delays took another order at world event ${i + 1}: ${timed[i] ?? '(end)'} instead of ${untimed[i]} (${walk.unmodelled() ?? 'a rule of the timed world the realisation does not model'})` };
      }
    }
    const got = result.findings[0];
    if (got === undefined || got.id !== expected) {
      return { realisable: false, why: `the timed run followed the order but reported ${got ? got.id : `no finding (${result.endReason})`} instead of ${expected}` };
    }
    return { realisable: true, derived, script, trace: result.trace, findings: result.findings, timesMs: walk.stepTimes(x, path.length) };
  }
  return { realisable: false, why: 'the cycle could not be unrolled far enough to cross the stall bound' };
}

/** Events the path's order is about (drops, sends, prints and states follow from them). */
function isWorldEvent(e: TraceEvent): boolean {
  if (e.k === 'fault') return e.fault.kind !== 'drop' && e.fault.kind !== 'duplicate';
  return e.k === 'start' || e.k === 'deliver' || e.k === 'timer' || e.k === 'input' || e.k === 'quit' || e.k === 'conn';
}

function worldKey(e: TraceEvent): string {
  switch (e.k) {
    case 'start':
      return `start ${e.node}`;
    case 'deliver':
      return `${e.msg.type} ${e.from}→${e.to}`;
    case 'timer':
      return `timer ${e.event} of ${e.node}`;
    case 'input':
      return `input "${e.text}" at ${e.node}`;
    case 'quit':
      return `quit at ${e.node}`;
    case 'conn':
      return `conn.${e.event} ${e.peer}→${e.node}`;
    case 'fault':
      return `fault ${e.fault.kind} ${'node' in e.fault ? e.fault.node : ''}`.trim();
    default:
      return e.k;
  }
}

/**
 * The bounds on a cycle that cannot all hold, in words: the first upper bound of the scenario on
 * it (a delay, a think time, a start, a timer, a fault's time) cannot hold, because of the rest.
 */
function explain(cycle: Constraint<Label>[], excessMs: number): string {
  const uniq = (xs: string[]): string[] => [...new Set(xs)];
  const upper = cycle.filter((k) => k.label.kind === 'bound' && k.c <= 0);
  const head = upper[0] ?? cycle.find((k) => k.label.kind === 'bound') ?? cycle[0]!;
  const rest = uniq(cycle.filter((k) => k !== head && k.label.text !== head.label.text).map((k) => k.label.text));
  const shown = rest.length > 6 ? [...rest.slice(0, 6), `${rest.length - 6} more`] : rest;
  return `untimed only: ${head.label.text} cannot hold, as the path also needs ${shown.join(', ')} (short by ${excessMs} ms)`;
}
