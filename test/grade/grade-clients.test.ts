/**
 * `protosim grade` over client programs (examples/submissions/lock-alternation): the seed's client
 * (adapter file) loses the check-then-set race case, the fixed client (inline adapter) passes.
 * Two cases keep it to ~5 s.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import type { SuiteReport } from '../../src/report/case-result.js';
import { parseCsv } from './csv.js';

const root = resolve(__dirname, '../..');

/** Folders made by the tests, removed at the end (nothing is left in the temp folder). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('protosim grade: client programs', () => {
  it('scores the seed client and the fixed client through their adapters', async () => {
    const out = mkdtempSync(join(tmpdir(), 'protosim-grade-clients-'));
    made.push(out);
    let stdout = '';
    let stderr = '';
    const happy = 'lock-alternation/client/happy-path';
    const race = 'lock-alternation/client/simultaneous-start';
    const code = await runCli(['grade', 'examples/submissions/lock-alternation', '--suite', 'scenarios/conformance/lock-alternation/clients.yaml', '--case', `${happy},${race}`, '--out', out, '--jobs', '2'], {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      cwd: root,
    });
    expect(code, stderr).toBe(0);
    const report = (name: string): SuiteReport => JSON.parse(readFileSync(join(out, name, 'report.json'), 'utf8')) as SuiteReport;
    const fixed = report('fixed-client');
    const seed = report('seed-client');
    expect(fixed.cases.map((c) => [c.id, c.verdict])).toEqual([
      [happy, 'PASS'],
      [race, 'PASS'],
    ]);
    expect(fixed.score).toBe(4);
    expect(seed.cases.map((c) => [c.id, c.verdict])).toEqual([
      [happy, 'PASS'],
      [race, 'FAIL'],
    ]);
    expect(seed.score).toBe(2);
    // The failure carries the model's diagnosis, as `protosim run` shows it.
    expect(seed.cases[1]!.reason).toMatch(/both wait for connected=2/);
    expect(seed.target).toMatch(/lock-alternation-example/);
    expect(fixed.target).toMatch(/fixed-client/);
    const rows = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'));
    expect(rows.slice(1).map((r) => [r[0], r[1], r.at(-2), r.at(-1)])).toEqual([
      ['fixed-client', '4', '2', '2'],
      ['seed-client', '2', '2', '0'],
    ]);
    expect(stdout).toMatch(/^ {2}seed-client +2\/4 +50 +✓ F$/m);
  }, 60_000);
});
