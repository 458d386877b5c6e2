/**
 * JUnit XML, as CI systems read it: one `testsuite`, one `testcase` per case (per expectation for
 * model runs), with `failure` (FAIL), `error` (ERROR) or `skipped` (SKIP), and the case summary
 * with its trace in `system-out`. Built with xmlbuilder2 so escaping is never hand-rolled.
 */
import { create } from 'xmlbuilder2';
import type { RunReport } from './run-report.js';
import { isSuiteReport, type SuiteReport } from './case-result.js';
import { suiteFromRun } from './suite-from-run.js';
import { caseSummary } from './trace-summary.js';

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

export function renderJunit(report: RunReport | SuiteReport): string {
  const suite = isSuiteReport(report) ? report : suiteFromRun(report);
  const count = (v: string): number => suite.cases.filter((c) => c.verdict === v).length;
  const totals = {
    tests: String(suite.cases.length),
    failures: String(count('FAIL')),
    errors: String(count('ERROR')),
    skipped: String(count('SKIP')),
    time: seconds(suite.durationMs),
  };
  // Control characters are not allowed in XML 1.0; a live target may print them.
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const root = doc.ele('testsuites', { name: 'protosim', ...totals });
  const ts = root.ele('testsuite', { name: suite.name ?? suite.target, ...totals });
  const props = ts.ele('properties');
  props.ele('property', { name: 'target', value: suite.target });
  props.ele('property', { name: 'score', value: `${suite.score}/${suite.maxScore}` });
  const flaky = suite.cases.filter((c) => c.flaky).map((c) => c.id);
  if (flaky.length > 0) props.ele('property', { name: 'flaky', value: flaky.join(' ') });
  for (const c of suite.cases) {
    const tc = ts.ele('testcase', { classname: c.id, name: c.title, time: seconds(c.durationMs) });
    // A pass on a re-run (protosim grade --retries): marked in the name ([FLAKY]) and here.
    if (c.flaky) tc.ele('properties').ele('property', { name: 'flaky', value: 'true' });
    const message = c.reason;
    if (c.verdict === 'FAIL') tc.ele('failure', { message, type: 'FAIL' }).txt(caseSummary(c));
    else if (c.verdict === 'ERROR') tc.ele('error', { message, type: 'ERROR' }).txt(caseSummary(c));
    else if (c.verdict === 'SKIP') tc.ele('skipped', { message });
    tc.ele('system-out').txt(caseSummary(c));
  }
  return doc.end({ prettyPrint: true }) + '\n';
}
