/**
 * `--shard auto` (issue 18, item 5): the shard from the environment of Kubernetes Indexed Jobs,
 * GitLab `parallel` and GitHub Actions matrices. The end-to-end part reads the Kubernetes manifest,
 * the GitHub Actions workflow and the GitLab CI file from docs/explorers.md, runs each one's
 * command lines with the environment that engine and its manifest set, every shard a process of
 * its own (`node bin/protosim.js`, as the built binary), merges the reports with the documented
 * merge lines, and checks the merged report equals one unsharded run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { shardEnvVariables, shardFromEnv } from '../../src/runner/shard-env.js';

const root = resolve(__dirname, '../..');
const bin = join(root, 'bin', 'protosim.js');
const seeds = 240;

describe('shardFromEnv', () => {
  it('reads each engine', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '0', PROTOSIM_SHARD_COUNT: '4' })).toMatchObject({ index: 1, count: 4 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3', PROTOSIM_SHARD_COUNT: '4' })).toMatchObject({ index: 4, count: 4 });
    expect(shardFromEnv({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '5' })).toMatchObject({ index: 2, count: 5 });
    expect(shardFromEnv({ PROTOSIM_SHARD_INDEX: '3', PROTOSIM_SHARD_COUNT: '3' })).toMatchObject({ index: 3, count: 3 });
    // GitLab without `parallel`: CI_NODE_TOTAL=1 and no index, the whole range
    expect(shardFromEnv({ CI_NODE_TOTAL: '1' })).toMatchObject({ index: 1, count: 1 });
    // agreeing sources are fine
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '1', PROTOSIM_SHARD_INDEX: '2', PROTOSIM_SHARD_COUNT: '2' })).toMatchObject({ index: 2, count: 2 });
  });

  it('names the variables when none is set, half is set, they disagree or are out of range', () => {
    const err = (env: Record<string, string>): string => {
      try {
        shardFromEnv(env);
      } catch (e) {
        expect((e as { exitCode: number }).exitCode).toBe(2);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    const none = err({});
    for (const v of shardEnvVariables) expect(none).toContain(v);
    expect(err({ JOB_COMPLETION_INDEX: '1' })).toMatch(/Kubernetes sets no count: set PROTOSIM_SHARD_COUNT/);
    expect(err({ CI_NODE_TOTAL: '4' })).toMatch(/no index is set/);
    expect(err({ JOB_COMPLETION_INDEX: '0', CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' })).toMatch(/index variables disagree: JOB_COMPLETION_INDEX=0 \(shard 1, 0-based\) but CI_NODE_INDEX=2/);
    expect(err({ PROTOSIM_SHARD_INDEX: '1', PROTOSIM_SHARD_COUNT: '3', CI_NODE_TOTAL: '4' })).toMatch(/count variables disagree: PROTOSIM_SHARD_COUNT=3, CI_NODE_TOTAL=4/);
    expect(err({ JOB_COMPLETION_INDEX: '4', PROTOSIM_SHARD_COUNT: '4' })).toMatch(/JOB_COMPLETION_INDEX=4 is outside 0\.\.3/);
    expect(err({ PROTOSIM_SHARD_INDEX: '0', PROTOSIM_SHARD_COUNT: '4' })).toMatch(/PROTOSIM_SHARD_INDEX=0 is outside 1\.\.4/);
    expect(err({ CI_NODE_INDEX: 'two', CI_NODE_TOTAL: '4' })).toMatch(/CI_NODE_INDEX="two" is not a whole number/);
  });
});

/** The environment of a fresh machine: none of the shard variables (this test may itself run in CI). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of shardEnvVariables) delete env[v];
  return { ...env, ...extra };
}

/** A documented command line, made to run here: the built binary, fewer seeds, local folders. */
function localize(line: string, reports: string): string {
  return line
    .replace(/npx protosim/g, `node ${JSON.stringify(bin)}`)
    .replace(/--seeds \d+/g, `--seeds ${seeds}`)
    .replace(/\/reports\//g, `${reports}/`);
}

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(line: string, cwd: string, env: NodeJS.ProcessEnv, shell: string[] = ['sh', '-c']): Promise<Done> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(shell[0]!, [...shell.slice(1), line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** A scratch folder with the repository's scenarios, as a checkout would have them. */
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-shard-auto-'));
  symlinkSync(join(root, 'scenarios'), join(dir, 'scenarios'));
  return dir;
}

const docs = readFileSync(join(root, 'docs', 'explorers.md'), 'utf8');
const yamlBlocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseAllDocuments(m[1]!).map((d) => d.toJS() as Record<string, unknown>));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** What one engine would run: per shard, its env and lines; then the merge lines. */
interface EnginePlan {
  shards: { env: Record<string, string>; lines: string[] }[];
  merge: string[];
  shell: string[];
}

function kubernetesPlan(): EnginePlan {
  const docsOf = yamlBlocks.find((b) => b.some((d: Any) => d?.kind === 'Job' && d?.spec?.completionMode === 'Indexed'))!;
  expect(docsOf, 'docs/explorers.md has a Kubernetes Indexed Job').toBeDefined();
  const job: Any = docsOf.find((d: Any) => d.spec?.completionMode === 'Indexed');
  const mergeJob: Any = docsOf.find((d: Any) => d.kind === 'Job' && d !== job);
  const container = job.spec.template.spec.containers[0];
  expect(container.command).toEqual(['sh', '-c']);
  const manifestEnv = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, String(e.value)]));
  const completions = job.spec.completions as number;
  expect(manifestEnv.PROTOSIM_SHARD_COUNT).toBe(String(completions));
  return {
    shell: ['sh', '-c'],
    // Kubernetes sets JOB_COMPLETION_INDEX, 0-based, in each pod.
    shards: Array.from({ length: completions }, (_, i) => ({ env: { ...manifestEnv, JOB_COMPLETION_INDEX: String(i) }, lines: [container.args[0] as string] })),
    merge: [mergeJob.spec.template.spec.containers[0].args[0] as string],
  };
}

function githubPlan(): EnginePlan {
  const wf: Any = yamlBlocks.flat().find((d: Any) => d?.jobs?.shard?.strategy?.matrix);
  expect(wf, 'docs/explorers.md has a GitHub Actions workflow with a matrix').toBeDefined();
  const matrix = wf.jobs.shard.strategy.matrix.shard as number[];
  const runs = (job: Any): string[] => (job.steps as { run?: string }[]).flatMap((s) => (s.run !== undefined && s.run.trim() !== 'npm ci' ? [s.run] : []));
  // GitHub evaluates ${{ }} in env before the shell sees it.
  const expr = (value: string, shard: number): string =>
    value.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, String(shard)).replace(/\$\{\{\s*strategy\.job-total\s*\}\}/g, String(matrix.length));
  return {
    shell: ['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c'],
    shards: matrix.map((shard) => ({
      env: Object.fromEntries(Object.entries(wf.jobs.shard.env as Record<string, string>).map(([k, v]) => [k, expr(String(v), shard)])),
      lines: runs(wf.jobs.shard),
    })),
    merge: runs(wf.jobs.merge),
  };
}

function gitlabPlan(): EnginePlan {
  const ci: Any = yamlBlocks.flat().find((d: Any) => d?.['protosim-shard']?.parallel);
  expect(ci, 'docs/explorers.md has a GitLab CI file with parallel').toBeDefined();
  const n = ci['protosim-shard'].parallel as number;
  const script = (job: Any): string[] => (job.script as string[]).filter((l) => l.trim() !== 'npm ci');
  return {
    shell: ['sh', '-c'],
    // GitLab sets CI_NODE_INDEX (1-based) and CI_NODE_TOTAL in each parallel job.
    shards: Array.from({ length: n }, (_, i) => ({ env: { CI_NODE_INDEX: String(i + 1), CI_NODE_TOTAL: String(n) }, lines: script(ci['protosim-shard']) })),
    merge: script(ci['protosim-merge']),
  };
}

const key = (r: Any) => ({
  ok: r.ok,
  findings: r.findings.map((f: { id: string; seed: number; step: number }) => [f.id, f.seed, f.step]),
  runs: r.stats.runs,
  transitions: r.stats.transitions,
  runsWithFinding: r.stats.runsWithFinding,
  expectations: r.expectations,
  seeds: r.seeds,
});

describe('--shard auto on Kubernetes, GitHub Actions and GitLab, as documented', () => {
  let whole: Any;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('these tests run the built binary: npm run build first (npm test does)');
    const dir = workdir();
    const r = spawnSync(process.execPath, [bin, 'run', 'scenarios/deadlock.yaml', '--seeds', String(seeds), '--format', 'json', '--no-save-trace'], { cwd: dir, env: cleanEnv({}), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    whole = JSON.parse(r.stdout);
    expect(whole.findings.length).toBeGreaterThan(0);
  });

  for (const [engine, plan] of [['Kubernetes Indexed Job', kubernetesPlan], ['GitHub Actions matrix', githubPlan], ['GitLab parallel', gitlabPlan]] as const) {
    it(`${engine}: the shards' reports merge to the unsharded report`, async () => {
      const p = plan();
      expect(p.shards.length).toBeGreaterThan(1);
      const dir = workdir();
      // The shards run at once, as the engine runs them, each command line in a process of its own.
      await Promise.all(
        p.shards.map(async (shard) => {
          for (const line of shard.lines) {
            const done = await sh(localize(line, dir), dir, cleanEnv(shard.env), p.shell);
            expect(done.code, `${line}\n${done.stderr}`).toBe(0);
          }
        }),
      );
      let last: Done | null = null;
      for (const line of p.merge) {
        last = await sh(localize(line, dir), dir, cleanEnv({}), p.shell);
        expect(last.code, `${line}\n${last.stderr}`).toBe(0);
      }
      expect(last?.stdout).toContain('deadlock'); // the text verdict of the last merge line
      const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8'));
      expect(key(merged)).toEqual(key(whole));
      // every shard report says which shard it was
      const shardReports = p.shards.map((_, i) => JSON.parse(readFileSync(join(dir, `shard-${engine.startsWith('Kubernetes') ? i : i + 1}.json`), 'utf8')));
      expect(shardReports.map((r: Any) => r.shard)).toEqual(p.shards.map((_, i) => ({ index: i + 1, count: p.shards.length })));
    }, 300_000);
  }

  it('exits 2 naming the variables when none is set, and when they disagree', () => {
    const dir = workdir();
    const none = spawnSync(process.execPath, [bin, 'run', 'scenarios/deadlock.yaml', '--seeds', '4', '--shard', 'auto', '--no-save-trace'], { cwd: dir, env: cleanEnv({}), encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--shard auto: none of PROTOSIM_SHARD_INDEX, JOB_COMPLETION_INDEX, CI_NODE_INDEX, PROTOSIM_SHARD_COUNT, CI_NODE_TOTAL is set/);
    const clash = spawnSync(process.execPath, [bin, 'run', 'scenarios/deadlock.yaml', '--seeds', '4', '--shard', 'auto', '--no-save-trace'], {
      cwd: dir,
      env: cleanEnv({ JOB_COMPLETION_INDEX: '0', PROTOSIM_SHARD_COUNT: '2', CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' }),
      encoding: 'utf8',
    });
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/index variables disagree: JOB_COMPLETION_INDEX=0 \(shard 1, 0-based\) but CI_NODE_INDEX=2/);
  }, 120_000);
});
