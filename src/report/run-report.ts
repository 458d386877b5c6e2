/**
 * The data of one `protosim run` / `check`: what every renderer (text, JSON, JUnit, HTML...) draws
 * from. Plain data; `--format json` prints it as it is.
 */
import type { Finding } from '../sim/finding.js';
import type { ExploreStats, Strategy } from '../sim/explore/result.js';
import type { EndReason, TraceEvent, TraceHeader } from '../sim/trace.js';

export interface ExpectationResult {
  what: string;
  expected: string;
  observed: string;
  ok: boolean;
}

export interface RunReport {
  /** every expectation met */
  ok: boolean;
  scenario: {
    id: string;
    title: string;
    file: string | null;
    protocol: string;
    variant: string;
    tags: string[];
    /** what the scenario is worth when graded (scenario `points`, default 1) */
    points?: number;
    /** scenario `level`, default required */
    level?: 'required' | 'recommended';
  };
  strategy: Strategy;
  seeds: { start: number; count: number; pinned: number | null };
  expectations: ExpectationResult[];
  findings: (Finding & { replay: ReplayHint; timed?: TimedRealisation })[];
  stats: ExploreStats;
  /** the header of the shortest finding's trace (config and derived options), when there is one */
  header: TraceHeader | null;
  /** `--shard K/N`: which part of the seed range this report covers (random strategy) */
  shard?: { index: number; count: number } | null;
  /** `--check-determinism`: seeds run twice, and the first difference in their traces */
  determinism?: { checked: number; difference: { seed: number; line: number; first: string; second: string } | null } | null;
  /** live mode: the run was against a live server, not the model (docs/conformance.md) */
  live?: {
    /** the server as reached or started */
    target: string;
    /** real ms per model ms */
    timeScale: number;
    endReason: EndReason;
    /** faults that could not be carried out live, and other remarks */
    notes: string[];
    /** where the scenario's own server model stopped explaining the live server, if it did */
    unexplained: string | null;
    /** the whole live run */
    trace: TraceEvent[];
  } | null;
  /** pbt: the shrunk counterexample, and the scenario file it was saved to */
  counterexample?: { seed: number; faults: unknown[]; workload: string[][]; findingId: string; file: string | null } | null;
}

/**
 * Exhaustive strategy: whether the timed simulator takes a finding's untimed order with delays
 * inside the scenario's bounds (and reports the same finding), or why not (untimed-only).
 */
export type TimedRealisation = { realisable: true; lastEventMs: number } | { realisable: false; why: string };

export interface ReplayHint {
  /** the one command that replays the finding */
  command: string;
  /** the trace file written for `protosim replay`, when one was written */
  traceFile: string | null;
}
