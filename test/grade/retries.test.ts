/**
 * Grades that don't flicker (issue 19 item 4): a case that FAILs or ERRORs is re-run up to
 * `retries` times before it counts; one that passes on a re-run is a PASS marked FLAKY (in its title
 * and reason, so every report shows it, and in GradedSubmission.flaky); one that never passes keeps
 * its first verdict. The workers here are stand-ins that speak the worker protocol: the first run
 * of a case fails, a re-run passes (or fails again).
 */
import { describe, expect, it } from 'vitest';
import { flakyMark, gradeSubmissions, workerLinePrefix } from '../../src/conformance/grading/grade-submissions.js';
import type { GradedCase } from '../../src/conformance/grading/grading-suite.js';
import type { Submission } from '../../src/conformance/grading/load-submissions.js';

const cases: GradedCase[] = [
  { id: 'c/steady', title: 'always passes', level: 'required', points: 1 },
  { id: 'c/flaky', title: 'fails once', level: 'required', points: 2 },
  { id: 'c/broken', title: 'always fails', level: 'required', points: 1 },
];

const submission = { kind: 'server', name: 's', dir: '/nonexistent', manifest: 's/protosim.yaml', manifestPath: '/nonexistent/protosim.yaml', server: { command: ['x', '{port}'] } } as unknown as Submission;

/** A stand-in worker: prints a result per case; `rerun` says whether it is a re-run. */
function worker(caseIds: readonly string[] | undefined): string[] {
  const script = `
const ids = ${JSON.stringify(caseIds ?? cases.map((c) => c.id))};
const rerun = ${caseIds !== undefined};
const cases = ${JSON.stringify(cases)};
for (const c of cases.filter((c) => ids.includes(c.id))) {
  const pass = c.id === 'c/steady' || (c.id === 'c/flaky' && rerun);
  const r = { id: c.id, title: c.title, level: c.level, maxPoints: c.points, points: pass ? c.points : 0, verdict: pass ? 'PASS' : 'FAIL', reason: pass ? 'ok' : 'expected 1, got 2 (run ' + (rerun ? 'again' : 'first') + ')', durationMs: 5 };
  process.stdout.write(${JSON.stringify(workerLinePrefix)} + JSON.stringify({ case: r }) + '\\n');
}
process.stdout.write(${JSON.stringify(workerLinePrefix)} + JSON.stringify({ done: { target: 'stand-in' } }) + '\\n');
`;
  return [process.execPath, '-e', script];
}

describe('protosim grade: --retries', () => {
  it('re-runs failing cases; one that passes on a re-run is a PASS marked FLAKY, one that never does keeps its FAIL', async () => {
    const runs: (readonly string[] | undefined)[] = [];
    const [g] = await gradeSubmissions({
      submissions: [submission],
      cases,
      suiteName: 'stand-in',
      jobs: 1,
      timeLimitMs: 20_000,
      retries: 2,
      workerCommand: (_s, caseIds) => {
        runs.push(caseIds);
        return worker(caseIds);
      },
    });
    // first run: all cases; re-run 1: the two failing ones; re-run 2: only the one still failing
    expect(runs).toEqual([undefined, ['c/flaky', 'c/broken'], ['c/broken']]);
    expect(g!.flaky).toEqual(['c/flaky']);
    const byId = new Map(g!.report.cases.map((c) => [c.id, c]));
    expect(byId.get('c/flaky')!.verdict).toBe('PASS');
    expect(byId.get('c/flaky')!.points).toBe(2);
    expect(byId.get('c/flaky')!.title).toBe(`fails once [${flakyMark}]`);
    expect(byId.get('c/flaky')!.reason).toMatch(/^FLAKY: FAIL on the first run \(expected 1, got 2 \(run first\)\), PASS on re-run 1 of 2$/);
    expect(byId.get('c/broken')!.verdict).toBe('FAIL');
    expect(byId.get('c/broken')!.reason).toMatch(/run first/); // the first verdict counts
    expect(g!.report.score).toBe(3);
    expect(g!.report.cases.map((c) => c.id)).toEqual(cases.map((c) => c.id));
    expect(g!.containment).toBe('no sandbox');
  });

  it('with --retries 0 a failing case counts at once', async () => {
    let runs = 0;
    const [g] = await gradeSubmissions({
      submissions: [submission],
      cases,
      suiteName: 'stand-in',
      jobs: 1,
      timeLimitMs: 20_000,
      retries: 0,
      workerCommand: (_s, caseIds) => {
        runs++;
        return worker(caseIds);
      },
    });
    expect(runs).toBe(1);
    expect(g!.flaky).toEqual([]);
    expect(g!.report.cases.map((c) => c.verdict)).toEqual(['PASS', 'FAIL', 'FAIL']);
    expect(g!.report.score).toBe(1);
  });
});
