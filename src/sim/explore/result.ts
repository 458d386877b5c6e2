/**
 * The one result shape every explorer returns (random, exhaustive, pbt, swarm), so reports and
 * expectations do not care which explorer ran.
 */
import type { Finding } from '../finding.js';
import type { FaultSpec } from '../config.js';
import type { ReductionStats, StorageStats, SymmetryStats } from './exhaustive.js';

export type Strategy = 'random' | 'exhaustive' | 'pbt';

export interface ExploreStats {
  /** distinct states seen (exhaustive: global states; random: distinct node states interned) */
  states: number;
  /** transitions taken (random: simulated events) */
  transitions: number;
  /** deepest run or BFS level */
  depth: number;
  elapsedMs: number;
  /** true only when the search covered everything within its bounds */
  complete: boolean;
  /** random and pbt: seeds (runs) explored */
  runs: number;
  /** the bound that stopped the search, when one did (`maxStates=1000000`) */
  limitHit: string | null;
  /** per finding id, how many runs found it */
  runsWithFinding: Record<string, number>;
  /** exhaustive with a reduction: what it did */
  reduction?: ReductionStats;
  /** exhaustive with `symmetry`: the interchangeable nodes, or why there was no reduction */
  symmetry?: SymmetryStats;
  /** exhaustive: how states were stored, and for the approximate modes how likely some were missed */
  storage?: StorageStats;
}

export interface ExploreResult {
  strategy: Strategy;
  /** shortest finding per finding id */
  findings: Finding[];
  stats: ExploreStats;
  /** what was explored, for the replay command and reports */
  seedStart: number;
  seedCount: number;
  /** pbt: the shrunk plan that fails (seed, explicit faults, workload lines), when one was found */
  counterexample?: { seed: number; faults: FaultSpec[]; workload: string[][]; findingId: string } | null;
}

/** A wall clock injected by the caller (the simulator never reads one itself). */
export type Clock = () => number;
export const noClock: Clock = () => 0;
