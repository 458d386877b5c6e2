/**
 * Minimal JSON and JUnit renderings of a conformance `SuiteReport`, until the report layer's full
 * renderers (reports branch: junit.ts, gradescope.ts, html.ts) are on main; then `protosim run`
 * switches to those and this file goes.
 */
import type { SuiteReport } from './case-result.js';

export function renderSuiteJson(report: SuiteReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** XML 1.0 text: escaped, with characters XML cannot hold replaced (a live target may send anything). */
function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** JUnit XML: one testsuite, one testcase per case, failure/error/skipped as the verdict says. */
export function renderSuiteJunit(report: SuiteReport): string {
  const count = (v: string): number => report.cases.filter((c) => c.verdict === v).length;
  const totals = `tests="${report.cases.length}" failures="${count('FAIL')}" errors="${count('ERROR')}" skipped="${count('SKIP')}" time="${seconds(report.durationMs)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="protosim" ${totals}>`,
    `  <testsuite name="${xml(report.name ?? report.target)}" ${totals}>`,
    '    <properties>',
    `      <property name="target" value="${xml(report.target)}"/>`,
    `      <property name="score" value="${report.score}/${report.maxScore}"/>`,
    '    </properties>',
  ];
  for (const c of report.cases) {
    const detail = [c.reason, c.step ? `step: ${c.step}` : '', c.expected !== undefined ? `expected: ${c.expected}` : '', c.observed !== undefined ? `observed: ${c.observed}` : '']
      .filter(Boolean)
      .join('\n');
    lines.push(`    <testcase classname="${xml(c.id)}" name="${xml(c.title)}" time="${seconds(c.durationMs)}">`);
    if (c.verdict === 'FAIL') lines.push(`      <failure message="${xml(c.reason)}" type="FAIL">${xml(detail)}</failure>`);
    else if (c.verdict === 'ERROR') lines.push(`      <error message="${xml(c.reason)}" type="ERROR">${xml(detail)}</error>`);
    else if (c.verdict === 'SKIP') lines.push(`      <skipped message="${xml(c.reason)}"/>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return `${lines.join('\n')}\n`;
}
