/**
 * Gradescope's autograder `results.json`: one test per case with its score, maximum, status and
 * output (the case summary and trace), plus the total score, execution time and an overview.
 * `protosim grade` writes one per submission with this same renderer.
 */
import type { RunReport } from './run-report.js';
import { isSuiteReport, roundPoints, type CaseResult, type SuiteReport } from './case-result.js';
import { suiteFromRun } from './suite-from-run.js';
import { caseSummary } from './trace-summary.js';

export interface GradescopeTest {
  name: string;
  score: number;
  max_score: number;
  status: 'passed' | 'failed';
  output: string;
  /** Gradescope shows tests by number when given; ours follow the suite order */
  number?: string;
}

export interface GradescopeResults {
  score: number;
  /** seconds */
  execution_time: number;
  output: string;
  tests: GradescopeTest[];
}

export function gradescopeResults(report: RunReport | SuiteReport): GradescopeResults {
  const suite = isSuiteReport(report) ? report : suiteFromRun(report);
  const tests = suite.cases.map((c, i): GradescopeTest => ({
    name: `${c.level === 'recommended' ? '(recommended) ' : ''}${c.id}: ${c.title}`,
    score: roundPoints(c.points),
    max_score: roundPoints(c.maxPoints),
    // Gradescope knows passed and failed only: a SKIP or an ERROR earned nothing, the output says which.
    status: c.verdict === 'PASS' ? 'passed' : 'failed',
    output: caseSummary(c, { maxEvents: 40 }),
    number: String(i + 1),
  }));
  const by = (v: CaseResult['verdict']): number => suite.cases.filter((c) => c.verdict === v).length;
  const flaky = suite.cases.filter((c) => c.flaky).map((c) => c.id);
  const output =
    `${suite.ok ? 'PASS' : 'FAIL'}: ${suite.score} / ${suite.maxScore} points against ${suite.target}. ` +
    `${by('PASS')} passed, ${by('FAIL')} failed, ${by('ERROR')} errors, ${by('SKIP')} skipped.` +
    (flaky.length > 0 ? ` FLAKY (passed on a re-run): ${flaky.join(', ')}.` : '');
  return {
    score: roundPoints(tests.reduce((s, t) => s + t.score, 0)),
    execution_time: Math.round(suite.durationMs) / 1000,
    output,
    tests,
  };
}

export function renderGradescope(report: RunReport | SuiteReport): string {
  return JSON.stringify(gradescopeResults(report), null, 2) + '\n';
}
