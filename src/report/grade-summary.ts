/**
 * The summary of a grading run: one row per submission, one column per case. As CSV (points per
 * case, for a spreadsheet or a gradebook import) and as a terminal table (a verdict letter per case,
 * the score, and the first problem of each submission in words).
 */
import type { CaseVerdict, SuiteReport } from './case-result.js';

/** One graded submission as the summary sees it. */
export interface GradeSummaryRow {
  name: string;
  report: SuiteReport;
  /** `completed`, `time-limit` (killed at its time limit), `worker-failed` */
  outcome: string;
}

export interface GradeSummaryCase {
  id: string;
  title: string;
  points: number;
}

/**
 * The fixed columns of summary.csv, before one column per case id. `passed` counts FLAKY cases
 * (passes on a re-run), and `flaky` names them. Nothing in it varies from one grading of the same
 * submissions to the next (no times: summary.json has them).
 */
export const summaryCsvColumns = ['submission', 'score', 'max_score', 'percent', 'passed', 'failed', 'errors', 'skipped', 'flaky', 'outcome'] as const;

/** summary.csv: a header, then a row per submission; case columns hold the points earned. */
export function renderSummaryCsv(cases: readonly GradeSummaryCase[], rows: readonly GradeSummaryRow[]): string {
  const lines = [[...summaryCsvColumns, ...cases.map((c) => c.id)].map(csvField).join(',')];
  for (const row of rows) {
    const r = row.report;
    const byId = new Map(r.cases.map((c) => [c.id, c]));
    const fields = [
      row.name,
      String(r.score),
      String(r.maxScore),
      String(percentOf(r)),
      String(count(r, 'PASS')),
      String(count(r, 'FAIL')),
      String(count(r, 'ERROR')),
      String(count(r, 'SKIP')),
      flakyIds(r).join(' '),
      row.outcome,
      ...cases.map((c) => String(byId.get(c.id)?.points ?? 0)),
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * RFC 4180: quoted when it holds a comma, a quote or a line break. A value a spreadsheet would run
 * as a formula (it starts with =, +, -, @, a tab or a carriage return, as a folder named `=1+1`
 * may) gets a leading `'`, so it is shown as text (OWASP's CSV injection advice); numbers stay
 * numbers.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^[+-]?\d+(\.\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The ids of the cases that passed only on a re-run (FLAKY), in suite order. */
export function flakyIds(r: SuiteReport): string[] {
  return r.cases.filter((c) => c.flaky).map((c) => c.id);
}

const letter: Record<CaseVerdict, string> = { PASS: '✓', FAIL: 'F', ERROR: 'E', SKIP: '-' };
/** The letter of a FLAKY case (a PASS on a re-run). */
const flakyLetter = '~';
const colour: Record<CaseVerdict, string> = { PASS: '32', FAIL: '31', ERROR: '35', SKIP: '33' };

/**
 * The terminal table: per submission its score and a letter per case (✓ pass, ~ pass on a re-run
 * (FLAKY), F fail, E error, - skip), numbered as in the legend below it, and its first problem.
 */
export function renderSummaryTable(cases: readonly GradeSummaryCase[], rows: readonly GradeSummaryRow[], options: { color?: boolean; width?: number } = {}): string {
  const paint = (v: CaseVerdict, s: string): string => (options.color ? `\u001b[${colour[v]}m${s}\u001b[0m` : s);
  const nameWidth = Math.max(10, ...rows.map((r) => r.name.length));
  const scores = rows.map((r) => `${r.report.score}/${r.report.maxScore}`);
  const scoreWidth = Math.max(5, ...scores.map((s) => s.length));
  const digits = String(cases.length).length;
  const out: string[] = [];
  const caseHeader = cases.map((_, i) => String(i + 1).padStart(digits)).join(' ');
  out.push(`  ${'submission'.padEnd(nameWidth)}  ${'score'.padStart(scoreWidth)}     %  ${caseHeader}`);
  rows.forEach((row, i) => {
    const r = row.report;
    const byId = new Map(r.cases.map((c) => [c.id, c]));
    const letters = cases.map((c) => {
      const v = byId.get(c.id)?.verdict ?? 'ERROR';
      return paint(v, (byId.get(c.id)?.flaky ? flakyLetter : letter[v]).padStart(digits));
    });
    out.push(`  ${row.name.padEnd(nameWidth)}  ${scores[i]!.padStart(scoreWidth)}  ${String(percentOf(r)).padStart(4)}  ${letters.join(' ')}`);
    // The first problem in words, under the row, cut to the width (the reports have the rest).
    const first = r.cases.find((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR') ?? r.cases.find((c) => c.flaky);
    if (first !== undefined) {
      // a flaky case's reason starts with FLAKY
      const note = `      ${first.flaky ? '' : `${first.verdict} `}${first.id}: ${oneLine(first.reason)}`;
      const width = options.width ?? 100;
      out.push(note.length > width ? `${note.slice(0, width - 1)}…` : note);
    }
  });
  out.push('');
  // The legend, wrapped to the width.
  const width = options.width ?? 100;
  let legend = '  cases:';
  for (const [i, c] of cases.entries()) {
    const item = `${i + 1} ${c.id} (${c.points} pt${c.points === 1 ? '' : 's'})`;
    const sep = legend.endsWith(':') ? ' ' : ' · ';
    if (legend.length + sep.length + item.length > width && !legend.endsWith(':')) {
      out.push(legend + ' ·');
      legend = `         ${item}`;
    } else legend += sep + item;
  }
  out.push(legend);
  const anyFlaky = rows.some((row) => row.report.cases.some((c) => c.flaky));
  out.push(`  ✓ pass · ${anyFlaky ? `${flakyLetter} pass on a re-run (FLAKY) · ` : ''}F fail · E error (hang, crash, time limit, flood...) · - skipped`);
  return out.join('\n') + '\n';
}

function count(r: SuiteReport, v: CaseVerdict): number {
  return r.cases.filter((c) => c.verdict === v).length;
}

/** The score as a whole percentage of the maximum (0 when the maximum is 0). */
export function percentOf(r: SuiteReport): number {
  return r.maxScore > 0 ? Math.round((r.score / r.maxScore) * 100) : 0;
}

function oneLine(s: string): string {
  return s.split('\n')[0]!.replace(/\s+/g, ' ');
}
