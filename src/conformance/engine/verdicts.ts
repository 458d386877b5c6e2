/**
 * The verdict vocabulary of every live case, whichever side is under test:
 *
 *  - PASS: every step held;
 *  - FAIL (`StepFailure`): the program under test did something else; the result names the step,
 *    what was expected and what was observed;
 *  - ERROR (`StepError`): nothing to judge, and why (`ErrorKind`): a timeout, a crash, a target that
 *    could not be reached or started, the case's own time bound, a case that cannot run, a case that
 *    never exchanged anything with the target, or the harness's part failing;
 *  - SKIP (`StepSkip`): the case needs what this target cannot do.
 *
 * Exit codes mean one thing each, whatever the mix (`suiteOutcome`): 0 every required case passed,
 * 1 a required case failed, 3 the target could not be started or reached, 70 an internal error
 * (thrown, never a verdict).
 */
import type { CaseResult } from '../../report/case-result.js';

/** Why a case is an ERROR. */
export type ErrorKind = 'timeout' | 'crash' | 'unreachable' | 'start' | 'case-timeout' | 'suite' | 'no-exchange' | 'harness';

/** The step did not hold: FAIL. */
export class StepFailure extends Error {
  constructor(
    readonly reason: string,
    readonly expected?: string,
    readonly observed?: string,
  ) {
    super(reason);
  }
}

/** Nothing to judge: ERROR, of a kind. */
export class StepError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    readonly expected?: string,
    readonly observed?: string,
  ) {
    super(reason);
  }
}

/** This target cannot run the case: SKIP. */
export class StepSkip extends Error {}

/** What a case ended with, before it becomes a report row. */
export interface CaseOutcome {
  verdict: CaseResult['verdict'];
  reason: string;
  /** the error's kind (null unless ERROR) */
  kind: ErrorKind | null;
  step?: string;
  expected?: string;
  observed?: string;
}

/** The header of a case a result row repeats. */
export interface CaseHeader {
  id: string;
  title: string;
  level: CaseResult['level'];
  points: number;
}

/** A report row from a case's outcome: points only for a PASS. */
export function caseResultOf(c: CaseHeader, outcome: CaseOutcome, durationMs: number): CaseResult {
  return {
    id: c.id,
    title: c.title,
    level: c.level,
    maxPoints: c.points,
    points: outcome.verdict === 'PASS' ? c.points : 0,
    verdict: outcome.verdict,
    reason: outcome.reason,
    ...(outcome.step !== undefined ? { step: outcome.step } : {}),
    ...(outcome.expected !== undefined ? { expected: outcome.expected } : {}),
    ...(outcome.observed !== undefined ? { observed: outcome.observed } : {}),
    durationMs: Math.round(durationMs),
  };
}

/**
 * The outcome a thrown error stands for, or null for an error that is not a verdict (a bug in
 * protosim: the caller lets it through, exit 70).
 */
export function outcomeOfError(error: unknown, step: string | undefined): CaseOutcome | null {
  const at = step !== undefined ? { step } : {};
  if (error instanceof StepFailure) return { verdict: 'FAIL', reason: error.reason, kind: null, ...at, ...detail(error) };
  if (error instanceof StepError) return { verdict: 'ERROR', reason: error.reason, kind: error.kind, ...at, ...detail(error) };
  if (error instanceof StepSkip) return { verdict: 'SKIP', reason: error.message, kind: null, ...at };
  return null;
}

function detail(e: { expected?: string; observed?: string }): { expected?: string; observed?: string } {
  return { ...(e.expected !== undefined ? { expected: e.expected } : {}), ...(e.observed !== undefined ? { observed: e.observed } : {}) };
}

/**
 * Whether a run's failure is the target's trouble (exit 3): it could not be started or reached,
 * and no required case failed (a verdict on the target, exit 1) and not every required case passed.
 */
export function targetTrouble(results: readonly CaseResult[], kinds: readonly (ErrorKind | null)[], ok: boolean): boolean {
  const requiredFailed = results.some((r) => r.level === 'required' && r.verdict === 'FAIL');
  return !ok && !requiredFailed && kinds.some((k) => k === 'unreachable' || k === 'start');
}
