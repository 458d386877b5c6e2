/**
 * The result of one conformance case and of a whole suite: what live conformance (and later
 * `protosim grade`) produces, and what the JUnit, Gradescope and HTML renderers draw from. Model
 * runs are adapted into the same shape (`suiteFromRun`), so every suite renderer serves both.
 */
import type { TraceEvent } from '../sim/trace.js';

/** PASS, FAIL (expected vs observed), ERROR (timeout, crash, unreachable: never a pass), SKIP. */
export type CaseVerdict = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface CaseResult {
  /** stable case id, e.g. `lock-alternation/deadlock` */
  id: string;
  title: string;
  level: 'required' | 'recommended';
  /** points earned */
  points: number;
  /** points the case is worth */
  maxPoints: number;
  verdict: CaseVerdict;
  /** one line saying why: `expected VALUE, got nothing within 2000 ms`, `target crashed`... */
  reason: string;
  expected?: string;
  observed?: string;
  /** the step of the case where it went wrong (`step 3: c2 types "hi"`) */
  step?: string;
  durationMs: number;
  /** what happened, in the simulator's event kinds (live runs record the same kinds) */
  trace?: TraceEvent[];
  /** index into `trace` where a repeating cycle starts, when there is one */
  cycleStart?: number | null;
  /** the trace is untimed (an exhaustive search's): its times are step numbers, not ms */
  steps?: boolean;
  /** the command that replays this case, when there is one */
  replay?: string;
  /**
   * `protosim grade --retries`: it FAILed or ERRORed, then passed on a re-run. A PASS with its
   * points; every report marks it FLAKY (title, reason, and this flag).
   */
  flaky?: boolean;
}

export interface SuiteReport {
  /** every required case passed */
  ok: boolean;
  /** what was tested: `tcp://127.0.0.1:8080`, `model lock-alternation (faithful)`, a submission dir */
  target: string;
  /** a name for the suite (the scenario file or directory); defaults to the target */
  name?: string;
  cases: CaseResult[];
  score: number;
  maxScore: number;
  durationMs: number;
  /** wall-clock start and end (ISO 8601), when the run recorded them (grading does) */
  startedAt?: string;
  finishedAt?: string;
}

/** Sums points into a suite report; `ok` when no required case failed or errored. */
export function makeSuiteReport(target: string, cases: CaseResult[], durationMs: number, name?: string): SuiteReport {
  const score = roundPoints(cases.reduce((s, c) => s + c.points, 0));
  const maxScore = roundPoints(cases.reduce((s, c) => s + c.maxPoints, 0));
  const ok = cases.every((c) => c.level !== 'required' || c.verdict === 'PASS' || c.verdict === 'SKIP');
  return { ok, target, ...(name !== undefined ? { name } : {}), cases, score, maxScore, durationMs };
}

/** Points are shown with at most two decimals (a case split three ways is worth 0.33). */
export function roundPoints(n: number): number {
  return Math.round(n * 100) / 100;
}

export function isSuiteReport(r: object): r is SuiteReport {
  return Array.isArray((r as { cases?: unknown }).cases);
}
