/**
 * `protosim grade` over the example server submissions (examples/submissions/register-exit): the
 * reference gets full marks, the planted defect loses the case that catches it, the crash, the hang
 * and the flood get ERRORs that say why, and grading goes on. One grading run (three cases, short
 * time limit) is shared by the checks; it takes ~8 s on two cores.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { runCli } from '../../src/cli/program.js';
import { workerKillGraceMs } from '../../src/conformance/grading/grade-submissions.js';
import type { SuiteReport } from '../../src/report/case-result.js';
import { summaryCsvColumns } from '../../src/report/grade-summary.js';
import { parseCsv } from './csv.js';

const root = resolve(__dirname, '../..');
const cases = ['re/route', 're/spoofed-from', 're/exit'];
/** room for a sandboxed start on a loaded machine before the hang's first 3 s reply timeout ends */
const timeLimitMs = 8000;
const names = ['crash-at-start', 'flood', 'hang', 'reference', 'spoofable'];

let out: string;
let code: number;
let stdout = '';
let stderr = '';
const reports = new Map<string, SuiteReport>();
/** processes of the submissions seen while grading ran (so the check after it is not vacuous) */
let seenWhileGrading = 0;

/**
 * Processes whose working directory is inside `dir` (a submission's server runs in its folder), and
 * grading workers of these submissions (their job names the folder).
 */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cwd.startsWith(dir) || (args.includes('grade-worker.js') && args.includes(dir))) found.push(`${pid} ${cwd}: ${args}`);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'protosim-grade-'));
  const sampler = setInterval(() => (seenWhileGrading = Math.max(seenWhileGrading, processesOf(join(root, 'examples/submissions/register-exit')).length)), 200);
  code = await runCli(
    ['grade', 'examples/submissions/register-exit', '--suite', 'scenarios/conformance/register-exit', '--case', cases.join(','), '--time-limit-ms', String(timeLimitMs), '--reply-timeout-ms', '3000', '--jobs', '2', '--retries', '0', '--out', out],
    { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: root, isTTY: false, stderrIsTTY: false },
  );
  clearInterval(sampler);
  for (const name of names) reports.set(name, JSON.parse(readFileSync(join(out, name, 'report.json'), 'utf8')) as SuiteReport);
}, 60_000);

// The reports folder goes with the test: nothing is left in the temp folder.
afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

const verdicts = (name: string): string[] => reports.get(name)!.cases.map((c) => c.verdict);

describe('protosim grade: server submissions', () => {
  it('completes with exit 0 although submissions failed, and prints the table', () => {
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/grading 5 submissions with conformance\/register-exit .*3 cases, 2 at a time/);
    expect(stdout).toMatch(/^ {2}reference +3\/3 +100 +✓ ✓ ✓$/m);
    expect(stdout).toMatch(/^ {2}spoofable +2\/3 +67 +✓ F ✓$/m);
    expect(stdout).toMatch(/^ {6}FAIL re\/spoofed-from: /m);
    expect(stdout).toMatch(/graded 5 submissions in .*: 1 with full marks, 3 with errors/);
  });

  it('gives the reference full marks and takes the catching case from the defect', () => {
    expect(verdicts('reference')).toEqual(['PASS', 'PASS', 'PASS']);
    expect(reports.get('reference')!.score).toBe(3);
    const spoofable = reports.get('spoofable')!;
    expect(verdicts('spoofable')).toEqual(['PASS', 'FAIL', 'PASS']);
    expect(spoofable.score).toBe(2);
    expect(spoofable.cases[1]!.reason).toMatch(/From: expected "alice\w+", got "carol\w+"/);
  });

  it('marks every case of a server that crashes at start ERROR, with its exit code', () => {
    const r = reports.get('crash-at-start')!;
    expect(verdicts('crash-at-start')).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(r.cases[0]!.reason).toMatch(/could not be started: the target exited before it was ready \(exit code 1\)/);
    expect(r.cases[0]!.observed).toMatch(/config\.json/); // its stderr says what went wrong
    expect(r.cases[2]!.reason).toMatch(/not run: the target could not be started \(2 attempts\)/);
  });

  it('stops a hanging server at its time limit: a timeout, then the time limit, never a pass', () => {
    const r = reports.get('hang')!;
    expect(verdicts('hang')).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(r.cases[0]!.reason).toMatch(/^timeout: .*nothing arrived within 3000 ms/);
    expect(r.cases.some((c) => new RegExp(`time limit timeLimitMs=${timeLimitMs} was reached during this case`).test(c.reason))).toBe(true);
    expect(r.cases.at(-1)!.reason).toMatch(new RegExp(`time limit timeLimitMs=${timeLimitMs}`));
    // The run did not wait for the hang past its limit (plus the kill's grace).
    expect(r.durationMs).toBeGreaterThanOrEqual(timeLimitMs - 50);
    expect(r.durationMs).toBeLessThan(timeLimitMs + 2 * workerKillGraceMs + 500);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { submissions: { name: string; outcome: string }[] };
    expect(summary.submissions.find((s) => s.name === 'hang')!.outcome).toBe('time-limit');
  });

  it('kills a server that floods its output, bounded, and says so', () => {
    const r = reports.get('flood')!;
    expect(verdicts('flood')).toEqual(['ERROR', 'ERROR', 'ERROR']);
    for (const c of r.cases) expect(c.reason).toMatch(/killed by SIGKILL: it printed more than maxOutputBytes=8388608 bytes of output/);
    // What is kept of the output is the 4 KiB tails, not the flood.
    for (const c of r.cases) expect((c.observed ?? '').length).toBeLessThan(2 * 4096 + 200);
    expect(r.durationMs).toBeLessThan(timeLimitMs);
  });

  it('leaves no process of any submission behind', () => {
    expect(seenWhileGrading).toBeGreaterThan(0);
    expect(processesOf(join(root, 'examples/submissions/register-exit'))).toEqual([]);
  });

  it('grades submissions in parallel: two of them overlapped in time', () => {
    const spans = names.map((n) => ({ n, start: Date.parse(reports.get(n)!.startedAt!), end: Date.parse(reports.get(n)!.finishedAt!) }));
    for (const s of spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
    const overlapping = spans.some((a, i) => spans.some((b, j) => i < j && a.start < b.end && b.start < a.end));
    expect(overlapping).toBe(true);
    // and never more than --jobs at once
    for (const s of spans) expect(spans.filter((o) => o.start <= s.start && s.start < o.end).length).toBeLessThanOrEqual(2);
  });

  it('writes summary.csv with the header and a row of points per submission', () => {
    const rows = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'));
    expect(rows[0]).toEqual([...summaryCsvColumns, ...cases]);
    expect(rows.slice(1).map((r) => r[0])).toEqual(names);
    const row = (name: string): Record<string, string> => Object.fromEntries(rows[0]!.map((h, i) => [h, rows.find((r) => r[0] === name)![i]!]));
    expect(row('reference')).toMatchObject({ score: '3', max_score: '3', percent: '100', passed: '3', outcome: 'completed', 're/route': '1', 're/spoofed-from': '1', 're/exit': '1' });
    expect(row('spoofable')).toMatchObject({ score: '2', failed: '1', 're/spoofed-from': '0', 're/exit': '1' });
    expect(row('hang')).toMatchObject({ score: '0', errors: '3', outcome: 'time-limit' });
  });

  it('writes each submission\'s reports: HTML, JUnit that parses back, Gradescope results.json', () => {
    for (const name of names) {
      for (const f of ['report.html', 'junit.xml', 'results.json', 'report.json']) expect(existsSync(join(out, name, f)), `${name}/${f}`).toBe(true);
    }
    const junit = create(readFileSync(join(out, 'spoofable', 'junit.xml'), 'utf8')).end({ format: 'object' }) as {
      testsuites: { testsuite: { '@tests': string; '@failures': string; testcase: { '@classname': string; '@name': string; failure?: unknown; error?: unknown }[] } };
    };
    const suite = junit.testsuites.testsuite;
    expect(suite['@tests']).toBe('3');
    expect(suite['@failures']).toBe('1');
    expect(suite.testcase.map((t) => t['@classname'])).toEqual(cases);
    expect(suite.testcase.filter((t) => t.failure !== undefined).map((t) => t['@classname'])).toEqual(['re/spoofed-from']);
    const hangJunit = readFileSync(join(out, 'hang', 'junit.xml'), 'utf8');
    expect(hangJunit.match(/<error /g)?.length).toBe(3);

    const gradescope = JSON.parse(readFileSync(join(out, 'spoofable', 'results.json'), 'utf8')) as { score: number; tests: { name: string; score: number; max_score: number; status: string; output: string }[] };
    expect(gradescope.score).toBe(2);
    expect(gradescope.tests).toHaveLength(3);
    for (const t of gradescope.tests) {
      expect(Object.keys(t)).toEqual(expect.arrayContaining(['name', 'score', 'max_score', 'status', 'output']));
      expect(['passed', 'failed']).toContain(t.status);
    }
    expect(gradescope.tests.map((t) => t.status)).toEqual(['passed', 'failed', 'passed']);
    const html = readFileSync(join(out, 'spoofable', 'report.html'), 'utf8');
    expect(html).toMatch(/<!doctype html>/i);
    expect(html).toContain('re/spoofed-from');
  });

  it('shows progress as plain lines when stderr is not a terminal', () => {
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(stderr).not.toMatch(/[\r\u001b]/);
    const progress = lines.filter((l) => /^submissions \d+\/5 \(\d+%\) · \d+ cases \(\d+ cases\/s\) · [\d.]+ s$/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toMatch(/^submissions 5\/5 \(100%\) · 15 cases/);
    expect(stdout).toMatch(/^ {2}\[5\/5\] \S+: \d\/3/m);
  });
});
