/**
 * Random exploration: one simulated run per seed over a seed range. Runs without traces (fast),
 * keeps the shortest run per finding id, then re-runs those seeds with traces for the report.
 *
 * The untraced part produces a `SeedSummary`, which merges associatively: the swarm runs it on
 * worker threads over chunks of the seed range, shards run it on other machines, and merging the
 * summaries gives exactly what one process over the whole range gives (ties between equally short
 * runs go to the lowest seed, whoever ran them).
 */
import type { SimConfig } from '../config.js';
import type { Finding } from '../finding.js';
import { CompiledModel, simulate } from '../simulator.js';
import { noClock, type Clock, type ExploreResult } from './result.js';

export interface RandomOptions {
  seedStart: number;
  seeds: number;
  /** distance between consecutive seeds (shards: seedStart = start + K - 1, stride = N) */
  stride?: number;
  clock?: Clock;
  /** called every `progressEvery` seeds (progress display), with the events simulated so far */
  onProgress?: (done: number, total: number, info: { transitions: number }) => void;
  progressEvery?: number;
}

/** What the untraced runs of some seeds found: mergeable across workers and shards. */
export interface SeedSummary {
  runs: number;
  /** simulated events (every pass of every run) */
  transitions: number;
  /** longest run, in events */
  depth: number;
  /** per finding id, the shortest run that found it (fewest steps, then lowest seed) */
  best: Record<string, { seed: number; steps: number }>;
  /** per finding id, how many runs found it */
  runsWithFinding: Record<string, number>;
}

export function emptySummary(): SeedSummary {
  return { runs: 0, transitions: 0, depth: 0, best: {}, runsWithFinding: {} };
}

/** Runs `count` seeds from `seedStart`, `stride` apart, without traces. */
export function summarizeSeeds(
  model: CompiledModel,
  config: SimConfig,
  seedStart: number,
  count: number,
  stride = 1,
  onProgress?: (done: number, info: { transitions: number }) => void,
  progressEvery = 100,
): SeedSummary {
  const out = emptySummary();
  for (let i = 0; i < count; i++) {
    const seed = seedStart + i * stride;
    const result = simulate(model, config, seed, { trace: false });
    out.runs++;
    out.transitions += result.stats.eventsSimulated;
    if (result.stats.steps > out.depth) out.depth = result.stats.steps;
    for (const f of result.findings) {
      out.runsWithFinding[f.id] = (out.runsWithFinding[f.id] ?? 0) + 1;
      keepBest(out.best, f.id, seed, f.step);
    }
    if (onProgress && ((i + 1) % progressEvery === 0 || i + 1 === count)) onProgress(i + 1, { transitions: out.transitions });
  }
  return out;
}

function keepBest(best: SeedSummary['best'], id: string, seed: number, steps: number): void {
  const prev = best[id];
  if (!prev || steps < prev.steps || (steps === prev.steps && seed < prev.seed)) best[id] = { seed, steps };
}

/** Merges summaries; the result does not depend on their order. */
export function mergeSummaries(parts: readonly SeedSummary[]): SeedSummary {
  const out = emptySummary();
  for (const p of parts) {
    out.runs += p.runs;
    out.transitions += p.transitions;
    out.depth = Math.max(out.depth, p.depth);
    for (const [id, n] of Object.entries(p.runsWithFinding)) out.runsWithFinding[id] = (out.runsWithFinding[id] ?? 0) + n;
    for (const [id, b] of Object.entries(p.best)) keepBest(out.best, id, b.seed, b.steps);
  }
  return out;
}

/** Re-runs the best seed of every finding id with a trace: the findings of a summary, by id. */
export function findingsOf(model: CompiledModel, config: SimConfig, summary: SeedSummary): Finding[] {
  const findings: Finding[] = [];
  for (const [id, { seed }] of Object.entries(summary.best).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const traced = simulate(model, config, seed, { trace: true });
    const f = traced.findings.find((x) => x.id === id);
    if (f) findings.push(f);
  }
  return findings;
}

/** Builds the explore result of a (merged) summary. */
export function resultOf(model: CompiledModel, config: SimConfig, summary: SeedSummary, elapsedMs: number, seedStart: number, seedCount: number): ExploreResult {
  const findings = findingsOf(model, config, summary);
  let states = 0;
  for (const r of model.runtimes.values()) states += r.stateCount;
  return {
    strategy: 'random',
    findings,
    stats: {
      states,
      transitions: summary.transitions,
      depth: summary.depth,
      elapsedMs,
      complete: false,
      runs: summary.runs,
      limitHit: null,
      runsWithFinding: summary.runsWithFinding,
    },
    seedStart,
    seedCount,
  };
}

export function exploreRandom(model: CompiledModel, config: SimConfig, options: RandomOptions): ExploreResult {
  const clock = options.clock ?? noClock;
  const started = clock();
  const progress = options.onProgress;
  const summary = summarizeSeeds(
    model,
    config,
    options.seedStart,
    options.seeds,
    options.stride ?? 1,
    progress ? (done, info) => progress(done, options.seeds, info) : undefined,
    options.progressEvery ?? 100,
  );
  return resultOf(model, config, summary, Math.round(clock() - started), options.seedStart, options.seeds);
}
