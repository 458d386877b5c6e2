/**
 * `--report` end to end, in-process (runCli): every format written, repeatable, bad specs are
 * usage errors; `--trace-style`; progress on stderr.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { runCli } from '../../src/cli/program.js';

const scenario = fileURLToPath(new URL('../../scenarios/deadlock.yaml', import.meta.url));
const dirs: string[] = [];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-cli-report-'));
  dirs.push(dir);
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: dir });
  return { code, stdout, stderr, dir };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('protosim run --report', () => {
  it('writes every format asked for, repeated --report included', async () => {
    const r = await cli([
      'run', scenario, '--seed', '2', '--no-save-trace',
      '--report', 'html=out/report.html',
      '--report', 'junit=out/junit.xml',
      '--report', 'gradescope=out/results.json',
      '--report', 'json=out/report.json',
      '--report', 'mermaid=out/trace.md',
      '--report', 'mermaid=out/trace.mmd',
    ]);
    expect(r.code).toBe(0);
    for (const f of ['report.html', 'junit.xml', 'results.json', 'report.json', 'trace.md', 'trace.mmd']) {
      expect(existsSync(join(r.dir, 'out', f)), f).toBe(true);
      expect(r.stderr).toContain(`out/${f}`);
    }
    const html = readFileSync(join(r.dir, 'out/report.html'), 'utf8');
    expect(html).toContain('data-verdict="PASS"');
    expect(html).toContain('<svg class="sequence"');
    const junit = create(readFileSync(join(r.dir, 'out/junit.xml'), 'utf8')).end({ format: 'object' }) as { testsuites: { '@tests': string } };
    expect(junit.testsuites['@tests']).toBe('1');
    const gs = JSON.parse(readFileSync(join(r.dir, 'out/results.json'), 'utf8')) as { score: number; tests: { status: string }[] };
    expect(gs.score).toBe(1);
    expect(gs.tests[0]!.status).toBe('passed');
    const json = JSON.parse(readFileSync(join(r.dir, 'out/report.json'), 'utf8')) as { ok: boolean; findings: { seed: number }[] };
    expect(json.ok).toBe(true);
    expect(json.findings[0]!.seed).toBe(2);
    expect(readFileSync(join(r.dir, 'out/trace.md'), 'utf8')).toContain('```mermaid\nsequenceDiagram');
    expect(readFileSync(join(r.dir, 'out/trace.mmd'), 'utf8')).toMatch(/^sequenceDiagram\n/);
  });

  it('rejects an unknown format with a usage error listing the formats', async () => {
    const r = await cli(['run', scenario, '--report', 'pdf=x.pdf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown format "pdf"');
    expect(r.stderr).toContain('html, json, junit, gradescope, mermaid');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const noFile = await cli(['check', 'lock-alternation', '--report', 'html']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('expected html=FILE');
  });

  it('prints the counterexample as a diagram, or as a list with --trace-style list', async () => {
    const diagram = await cli(['run', scenario, '--seed', '2', '--no-save-trace']);
    expect(diagram.stdout).toMatch(/│◀─+ GET key=connected ─+┤/);
    expect(diagram.stdout).toContain('from here the same states repeat for ever');
    const list = await cli(['run', scenario, '--seed', '2', '--no-save-trace', '--trace-style', 'list']);
    expect(list.stdout).toContain('c2 → store  GET key=connected');
    expect(list.stdout).not.toContain('┬');
    expect(list.stdout).toContain('from here the same states repeat for ever');
    const bad = await cli(['run', scenario, '--trace-style', 'boxes']);
    expect(bad.code).toBe(2);
  });

  it('check takes --report too and exits 1 with the report written', async () => {
    const r = await cli(['check', 'lock-alternation', '--seeds', '40', '--no-save-trace', '--report', 'junit=j.xml', '--report', 'html=r.html']);
    expect(r.code).toBe(1);
    const xml = readFileSync(join(r.dir, 'j.xml'), 'utf8');
    expect(xml).toContain('<failure');
    expect(readFileSync(join(r.dir, 'r.html'), 'utf8')).toContain('data-verdict="FAIL"');
  });
});
