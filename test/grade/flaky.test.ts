/**
 * FLAKY in every output of `protosim grade` (issue 19 item 4): a server submission that fails a case
 * on its first run and passes it on the re-run (`--retries`) is a PASS marked FLAKY in summary.csv
 * (the `flaky` column), summary.json, the terminal (its line and the table's `~`), and its
 * report.json, junit.xml, results.json and report.html, which all name the same case. The
 * submission keeps a marker in its own folder to know it already ran once, so it is graded with
 * --no-sandbox (a sandbox gives each run a fresh copy of the folder).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { runCli } from '../../src/cli/program.js';
import type { SuiteReport } from '../../src/report/case-result.js';
import type { GradescopeResults } from '../../src/report/gradescope.js';
import { parseCsv } from './csv.js';

const root = resolve(__dirname, '../..');
const cases = ['re/route', 're/spoofed-from'];

/** Its first run starts the reference server with a planted defect (re/spoofed-from FAILs), later runs without. */
const flakyServer = `
import fs from 'node:fs';
import { spawn } from 'node:child_process';
const [port, ...protosim] = process.argv.slice(2);
const first = !fs.existsSync('ran-once');
fs.writeFileSync('ran-once', '');
const child = spawn(protosim[0], [...protosim.slice(1), 'serve', 'register-exit', '--port', port, ...(first ? ['--defect', 'trust-sender-field'] : [])], { stdio: 'inherit' });
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;

let work: string;
let out: string;
let code = -1;
let stdout = '';
let stderr = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'protosim-flaky-'));
  const subs = join(work, 'subs');
  out = join(work, 'grades');
  mkdirSync(join(subs, 'flaky'), { recursive: true });
  writeFileSync(join(subs, 'flaky', 'protosim.yaml'), "server:\n  command: ['{node}', flaky.mjs, '{port}', '{protosim}']\n  ready: { stdout: 'listening on (\\S+)' }\n");
  writeFileSync(join(subs, 'flaky', 'flaky.mjs'), flakyServer);
  cpSync(join(root, 'examples/submissions/register-exit/reference'), join(subs, 'steady'), { recursive: true });
  code = await runCli(['grade', subs, '--suite', 'scenarios/conformance/register-exit', '--case', cases.join(','), '--retries', '1', '--no-sandbox', '--jobs', '2', '--time-limit-ms', '30000', '--no-progress', '--out', out], {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    cwd: root,
    isTTY: false,
    stderrIsTTY: false,
  });
}, 90_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('protosim grade: a case that passes on a re-run is FLAKY in every output', () => {
  it('summary.csv: a flaky column naming it; the pass counts, with its points', () => {
    expect(code, stderr + stdout).toBe(0);
    const rows = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'));
    const header = rows[0]!;
    const row = (name: string): Record<string, string> => Object.fromEntries(header.map((h, i) => [h, rows.find((r) => r[0] === name)![i]!]));
    expect(row('flaky')).toMatchObject({ score: '2', max_score: '2', passed: '2', failed: '0', flaky: 're/spoofed-from', 're/spoofed-from': '1' });
    expect(row('reference')).toMatchObject({ score: '2', flaky: '' });
  });

  it('summary.json: in the submission\'s flaky list and marked on the case', () => {
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { submissions: { name: string; flaky: string[]; cases: { id: string; verdict: string; flaky?: boolean }[] }[] };
    const flaky = summary.submissions.find((s) => s.name === 'flaky')!;
    expect(flaky.flaky).toEqual(['re/spoofed-from']);
    expect(flaky.cases.filter((c) => c.flaky).map((c) => [c.id, c.verdict])).toEqual([['re/spoofed-from', 'PASS']]);
    expect(summary.submissions.find((s) => s.name === 'reference')!.flaky).toEqual([]);
  });

  it('the terminal: FLAKY on its line, ~ in the table, and the legend says what ~ is', () => {
    expect(stdout).toMatch(/\] flaky: 2\/2 \(100%\) · FLAKY: re\/spoofed-from/);
    expect(stdout).toMatch(/^ {2}flaky +2\/2 +100 +✓ ~$/m);
    expect(stdout).toMatch(/^ {6}re\/spoofed-from: FLAKY: FAIL on the first run/m);
    expect(stdout).toMatch(/~ pass on a re-run \(FLAKY\)/);
  });

  it('report.json, junit.xml, results.json and report.html mark the same case', () => {
    const report = JSON.parse(readFileSync(join(out, 'flaky', 'report.json'), 'utf8')) as SuiteReport;
    const c = report.cases.find((x) => x.id === 're/spoofed-from')!;
    expect(c).toMatchObject({ verdict: 'PASS', flaky: true, points: 1 });
    expect(c.title).toMatch(/\[FLAKY\]$/);
    expect(c.reason).toMatch(/^FLAKY: FAIL on the first run \(.*From: expected .*\), PASS on re-run 1 of 1$/);
    expect(report.cases.filter((x) => x.flaky).map((x) => x.id)).toEqual(['re/spoofed-from']);

    const junit = create(readFileSync(join(out, 'flaky', 'junit.xml'), 'utf8')).end({ format: 'object' }) as {
      testsuites: { testsuite: { '@failures': string; testcase: { '@classname': string; '@name': string; failure?: unknown; properties?: { property: { '@name': string; '@value': string } } }[] } };
    };
    const tc = junit.testsuites.testsuite.testcase.find((t) => t['@classname'] === 're/spoofed-from')!;
    expect(tc['@name']).toMatch(/\[FLAKY\]$/);
    expect(tc.failure).toBeUndefined();
    expect(tc.properties?.property).toEqual({ '@name': 'flaky', '@value': 'true' });
    expect(junit.testsuites.testsuite['@failures']).toBe('0');

    const gradescope = JSON.parse(readFileSync(join(out, 'flaky', 'results.json'), 'utf8')) as GradescopeResults;
    const test = gradescope.tests.find((t) => t.name.startsWith('re/spoofed-from'))!;
    expect(test).toMatchObject({ status: 'passed', score: 1 });
    expect(test.name).toMatch(/\[FLAKY\]$/);
    expect(test.output).toMatch(/^PASS: FLAKY: /);
    expect(gradescope.output).toMatch(/FLAKY \(passed on a re-run\): re\/spoofed-from\./);

    const html = readFileSync(join(out, 'flaky', 'report.html'), 'utf8');
    expect(html.match(/data-flaky="true"/g)).toHaveLength(1);
    expect(html).toMatch(/<span class="pill FLAKY"[^>]*>FLAKY<\/span><\/span><span class="case-title">[^<]*\[FLAKY\]<small>re\/spoofed-from — FLAKY: /);
    expect(html).toMatch(/2 passed \(1 FLAKY: passed on a re-run\)/);
    // the steady submission's reports say nothing of FLAKY
    expect(readFileSync(join(out, 'reference', 'report.html'), 'utf8')).not.toMatch(/data-flaky|class="pill FLAKY"|\[FLAKY\]/);
    expect(readFileSync(join(out, 'reference', 'junit.xml'), 'utf8')).not.toMatch(/flaky/i);
  });
});
