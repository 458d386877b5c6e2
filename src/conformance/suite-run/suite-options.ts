/** The options of a suite run against a live target, and what the run gives back. */
import type { CaseResult, SuiteReport } from '../../report/case-result.js';
import type { ConnectionLimits } from '../live-connection.js';
import type { LiveTargetOverrides } from '../live-target.js';

export interface RunSuiteOptions extends LiveTargetOverrides {
  /** run only these case ids */
  caseIds?: readonly string[];
  /** run only cases with one of these tags */
  tags?: readonly string[];
  /** `--var name=value` over the suite's vars */
  vars?: Readonly<Record<string, string | number>>;
  /** working directory for a command target */
  cwd?: string;
  limits?: Partial<ConnectionLimits>;
  /** each case's result as soon as it has one (progress) */
  onCase?: (result: CaseResult) => void;
  /** overall bound of one case when it sets none */
  caseTimeoutMs?: number;
  /**
   * The `{run}` token of a case (names unique to it); default: random per run of a case. Grading
   * gives one derived from the case id, so grading the same submission twice gives the same reasons.
   */
  runToken?: (caseId: string) => string;
}

export interface SuiteRun {
  report: SuiteReport;
  /** no case got to talk to the target at all (exit 3) */
  unreachable: boolean;
}
