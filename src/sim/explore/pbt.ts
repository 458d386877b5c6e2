/**
 * Property-based exploration with shrinking: fault plans and workloads are fast-check arbitraries,
 * the property is "this run finds nothing", and a failure shrinks to a small plan.
 *
 * A plan is the simulation seed, an explicit list of faults (each one step: a crash, a restart,
 * a drop...) and, per workload entry, the lines the person types. fast-check shrinks the plan
 * (fewer faults, fewer lines, smaller seeds and times); then a final pass removes single steps
 * while the same finding id still appears, until no single fault or workload line can be removed:
 * the plan returned is 1-minimal. fast-check runs from an explicit seed, so the search itself is
 * deterministic.
 */
import fc from 'fast-check';
import type { NodeId } from '../../models/types.js';
import type { FaultSpec, SimConfig } from '../config.js';
import { simulate, type CompiledModel } from '../simulator.js';
import { noClock, type Clock, type ExploreResult } from './result.js';

/** A fault plan and workload: what a counterexample consists of. */
export interface FaultPlan {
  /** the simulation seed (network delays, start times) */
  seed: number;
  /** faults, each a single step, in addition to the scenario's scripted ones */
  faults: FaultSpec[];
  /** per workload entry of the config, in order, the lines the person types */
  workload: string[][];
}

export interface Counterexample extends FaultPlan {
  /** the finding the plan produces */
  findingId: string;
}

export interface PbtOptions {
  /** fast-check's seed (the search is reproducible) */
  seed: number;
  /** plans to try before giving up */
  runs: number;
  /** most faults in one plan (0: the scenario's randomFaults.count, else 3) */
  faultBudget: number;
  clock?: Clock;
}

/** The config a plan runs with: the scenario's scripted faults plus the plan's, no random faults. */
export function configOfPlan(config: SimConfig, plan: FaultPlan): SimConfig {
  return {
    ...config,
    faults: [...config.faults, ...plan.faults],
    randomFaults: null,
    workload: config.workload.map((w, i) => ({ ...w, messages: plan.workload[i] ?? w.messages })),
  };
}

/** The finding id a plan produces (the first finding of its run), or null. */
export function planFinding(model: CompiledModel, config: SimConfig, plan: FaultPlan): string | null {
  const result = simulate(model, configOfPlan(config, plan), plan.seed, { trace: false });
  return result.findings[0]?.id ?? null;
}

/** The arbitrary of plans for a scenario: its fault kinds, nodes and window, and its workload. */
export function planArbitrary(config: SimConfig, maxFaults: number): fc.Arbitrary<FaultPlan> {
  const rf = config.randomFaults;
  const nodes: NodeId[] = rf?.nodes ?? config.nodes.map((n) => n.id);
  const all = config.nodes.map((n) => n.id);
  const kinds = rf?.kinds ?? ['crash', 'restart', 'drop'];
  const [from, to] = rf ? [rf.windowStartMs, rf.windowEndMs] : [0, 5000];
  const atMs = fc.integer({ min: from, max: Math.max(from, to) });
  const node = fc.constantFrom(...nodes);
  const options: fc.Arbitrary<FaultSpec>[] = [];
  if (kinds.includes('crash') || kinds.includes('restart')) {
    options.push(fc.record({ kind: fc.constant('crash' as const), atMs, node, mode: fc.constantFrom('reset' as const, 'silent' as const) }));
  }
  if (kinds.includes('restart')) {
    options.push(fc.record({ kind: fc.constant('restart' as const), atMs, node, state: fc.constantFrom('fresh' as const, 'kept' as const) }));
  }
  if (kinds.includes('pause')) {
    options.push(fc.record({ kind: fc.constant('pause' as const), atMs, node }));
    options.push(fc.record({ kind: fc.constant('resume' as const), atMs, node }));
  }
  if (kinds.includes('partition')) {
    options.push(
      fc.record({ atMs, node, direction: fc.constantFrom('both' as const, 'one-way' as const) }).map(
        ({ atMs: at, node: n, direction }): FaultSpec => ({ kind: 'partition', atMs: at, from: [n], to: all.filter((x) => x !== n), direction }),
      ),
    );
    options.push(fc.record({ kind: fc.constant('heal' as const), atMs }));
  }
  for (const kind of ['drop', 'duplicate'] as const) {
    if (!kinds.includes(kind)) continue;
    options.push(
      fc.record({ atMs, node }).map(({ atMs: at, node: n }): FaultSpec => ({ kind, atMs: at, from: n, to: null, msgType: null, count: 1 })),
    );
  }
  const faults = options.length > 0 && maxFaults > 0 ? fc.array(fc.oneof(...options), { maxLength: maxFaults }) : fc.constant([] as FaultSpec[]);
  const workload = fc.tuple(...config.workload.map((w) => fc.subarray(w.messages)));
  return fc.record({ seed: fc.integer({ min: 1, max: 0x7fffffff }), faults, workload: config.workload.length > 0 ? workload : fc.constant([]) });
}

/** Removes single steps (faults, then workload lines) while the plan still gives `findingId`. */
export function minimizePlan(model: CompiledModel, config: SimConfig, plan: FaultPlan, findingId: string): { plan: FaultPlan; runs: number } {
  let current = plan;
  let runs = 0;
  let changed = true;
  while (changed) {
    changed = false;
    for (const candidate of singleStepRemovals(current)) {
      runs++;
      if (planFinding(model, config, candidate) === findingId) {
        current = candidate;
        changed = true;
        break;
      }
    }
  }
  return { plan: current, runs };
}

/** Every plan with exactly one fault or one workload line removed. */
export function singleStepRemovals(plan: FaultPlan): FaultPlan[] {
  const out: FaultPlan[] = [];
  for (let j = 0; j < plan.faults.length; j++) out.push({ ...plan, faults: plan.faults.filter((_, k) => k !== j) });
  plan.workload.forEach((lines, w) => {
    for (let j = 0; j < lines.length; j++) {
      out.push({ ...plan, workload: plan.workload.map((l, x) => (x === w ? l.filter((_, k) => k !== j) : l)) });
    }
  });
  return out;
}

/** Searches plans for a failure and shrinks the first one found. */
export function explorePbt(model: CompiledModel, config: SimConfig, options: PbtOptions): ExploreResult {
  const clock = options.clock ?? noClock;
  const started = clock();
  const maxFaults = options.faultBudget > 0 ? options.faultBudget : config.randomFaults ? Math.max(1, config.randomFaults.count * 2) : 3;
  let runs = 0;
  let transitions = 0;
  let depth = 0;
  const runsWithFinding: Record<string, number> = {};
  const property = fc.property(planArbitrary(config, maxFaults), (plan) => {
    const result = simulate(model, configOfPlan(config, plan), plan.seed, { trace: false });
    runs++;
    transitions += result.stats.steps;
    depth = Math.max(depth, result.stats.steps);
    const id = result.findings[0]?.id;
    if (id !== undefined) runsWithFinding[id] = (runsWithFinding[id] ?? 0) + 1;
    return id === undefined;
  });
  const details = fc.check(property, { seed: options.seed, numRuns: options.runs });
  let counterexample: Counterexample | null = null;
  const findings = [];
  if (details.failed && details.counterexample) {
    const shrunk = details.counterexample[0];
    const id = planFinding(model, config, shrunk);
    if (id !== null) {
      const minimal = minimizePlan(model, config, shrunk, id);
      runs += minimal.runs;
      counterexample = { ...minimal.plan, findingId: id };
      const traced = simulate(model, configOfPlan(config, minimal.plan), minimal.plan.seed, { trace: true });
      const f = traced.findings.find((x) => x.id === id);
      if (f) findings.push(f);
    }
  }
  return {
    strategy: 'pbt',
    findings,
    stats: {
      states: [...model.runtimes.values()].reduce((n, r) => n + r.stateCount, 0),
      transitions,
      depth,
      elapsedMs: Math.round(clock() - started),
      complete: false,
      runs,
      limitHit: null,
      runsWithFinding,
    },
    seedStart: options.seed,
    seedCount: options.runs,
    counterexample,
  };
}
