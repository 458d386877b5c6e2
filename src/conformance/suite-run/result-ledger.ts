/**
 * The results of a suite run, case by case, with the last one held back: a case's result is handed
 * on (onCase) only once the next case has heard from the target, or the run ends, so a target that
 * dies after a case's clients left is charged to that case ("after case X ended"), not the next.
 */
import type { CaseResult } from '../../report/case-result.js';
import type { ErrorKind } from '../engine/verdicts.js';
import { describeExit, type ExitInfo, type ManagedProcess } from '../managed-process.js';
import type { RunSuiteOptions } from './suite-options.js';

export class ResultLedger {
  readonly results: CaseResult[] = [];
  readonly kinds: (ErrorKind | null)[] = [];
  /** the exit of the target already charged to a case */
  chargedExit: ExitInfo | undefined;
  /**
   * A case's result is handed on when the next case starts (or the run ends), afterCaseSettleMs
   * later: a target that dies after the case's clients left is charged to that case ("after case
   * X ended"), not the next.
   */
  held: number | undefined;

  constructor(
    private readonly managed: ManagedProcess | undefined,
    private readonly options: RunSuiteOptions,
  ) {}

  /** Hands on the held result, if any (a function of its own: cases call it when they hear from the target). */
  readonly release = (): void => {
    if (this.held !== undefined) this.options.onCase?.(this.results[this.held]!);
    this.held = undefined;
  };

  /** A command target that exited unexpectedly since: its crash is charged to the held case. */
  chargeLateCrash(): void {
    const managed = this.managed;
    const exit = managed?.exit;
    const held = this.held;
    if (held === undefined || managed === undefined || exit === undefined || exit.expected || exit === this.chargedExit) return;
    this.chargedExit = exit;
    const r = this.results[held]!;
    const what = `the target crashed after case ${r.id} ended (${describeExit(exit)})`;
    this.results[held] =
      r.verdict === 'PASS' || r.verdict === 'SKIP'
        ? { ...r, verdict: 'ERROR', points: 0, reason: what, step: `after case ${r.id} ended`, observed: managed.tails() }
        : { ...r, reason: `${r.reason}; then ${what}` };
    if (r.verdict === 'PASS' || r.verdict === 'SKIP') this.kinds[held] = 'crash';
  }

  /** A case's result: the one held before is handed on, and this one is held. */
  record(result: CaseResult, kind: ErrorKind | null): void {
    this.chargeLateCrash();
    this.release();
    this.results.push(result);
    this.kinds.push(kind);
    this.held = this.results.length - 1;
  }
}
