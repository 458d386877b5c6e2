/**
 * Random exploration: one simulated run per seed over a seed range. Runs without traces (fast),
 * keeps the shortest run per finding id, then re-runs those seeds with traces for the report.
 */
import type { SimConfig } from '../config.js';
import type { Finding } from '../finding.js';
import { CompiledModel, simulate } from '../simulator.js';
import { noClock, type Clock, type ExploreResult } from './result.js';

export interface RandomOptions {
  seedStart: number;
  seeds: number;
  clock?: Clock;
  /** called every `progressEvery` seeds (progress display), with the events simulated so far */
  onProgress?: (done: number, total: number, info: { transitions: number }) => void;
  progressEvery?: number;
}

export function exploreRandom(model: CompiledModel, config: SimConfig, options: RandomOptions): ExploreResult {
  const clock = options.clock ?? noClock;
  const started = clock();
  const best = new Map<string, { seed: number; steps: number }>();
  const runsWithFinding: Record<string, number> = {};
  let transitions = 0;
  let depth = 0;
  const every = options.progressEvery ?? 100;
  for (let i = 0; i < options.seeds; i++) {
    const seed = options.seedStart + i;
    const result = simulate(model, config, seed, { trace: false });
    transitions += result.stats.steps;
    depth = Math.max(depth, result.stats.steps);
    for (const f of result.findings) {
      runsWithFinding[f.id] = (runsWithFinding[f.id] ?? 0) + 1;
      const prev = best.get(f.id);
      if (!prev || f.step < prev.steps) best.set(f.id, { seed, steps: f.step });
    }
    if (options.onProgress && ((i + 1) % every === 0 || i + 1 === options.seeds)) options.onProgress(i + 1, options.seeds, { transitions });
  }
  const findings: Finding[] = [];
  for (const [id, { seed }] of [...best.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const traced = simulate(model, config, seed, { trace: true });
    const f = traced.findings.find((x) => x.id === id);
    if (f) findings.push(f);
  }
  let states = 0;
  for (const r of model.runtimes.values()) states += r.stateCount;
  return {
    strategy: 'random',
    findings,
    stats: {
      states,
      transitions,
      depth,
      elapsedMs: Math.round(clock() - started),
      complete: false,
      runs: options.seeds,
      limitHit: null,
      runsWithFinding,
    },
    seedStart: options.seedStart,
    seedCount: options.seeds,
  };
}
