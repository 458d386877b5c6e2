import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exploreSwarm, shardSeeds, workerEntry } from '../../src/runner/swarm.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runCli } from '../../src/cli/program.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';

const file = resolve(__dirname, '../../scenarios/deadlock.yaml');
const scenario = loadScenarioFile(file);
const compile = (): CompiledModel => new CompiledModel(scenario.model.name, scenario.variant);
const essence = (r: ExploreResult) => ({
  findings: r.findings.map((f) => ({ id: f.id, seed: f.seed, step: f.step, trace: f.trace.length })),
  runs: r.stats.runs,
  transitions: r.stats.transitions,
  depth: r.stats.depth,
  runsWithFinding: r.stats.runsWithFinding,
});

beforeAll(() => {
  if (!existsSync(fileURLToPath(workerEntry))) throw new Error(`the swarm worker loads ${fileURLToPath(workerEntry)}: run \`npm run build\` first (npm test does)`);
});

describe('swarm', () => {
  it('N workers give exactly the single-worker result for the same seed range', async () => {
    const one = await exploreSwarm({ model: compile(), config: scenario.config, seedStart: 1, seeds: 60, workers: 1, shard: null });
    const two = await exploreSwarm({ model: compile(), config: scenario.config, seedStart: 1, seeds: 60, workers: 2, shard: null, chunkSize: 7 });
    const three = await exploreSwarm({ model: compile(), config: scenario.config, seedStart: 1, seeds: 60, workers: 3, shard: null, chunkSize: 5 });
    expect(one.findings.length).toBeGreaterThan(0);
    expect(essence(two)).toEqual(essence(one));
    expect(essence(three)).toEqual(essence(one));
  });

  it('shards K/N over every K cover the seed range exactly once', () => {
    for (const [start, count, n] of [[1, 200, 8], [5, 7, 3], [0, 2, 5]] as const) {
      const seen: number[] = [];
      for (let k = 1; k <= n; k++) {
        const s = shardSeeds(start, count, { index: k, count: n });
        for (let i = 0; i < s.count; i++) seen.push(s.start + i * s.stride);
      }
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => start + i));
    }
  });

  it('a finding from a worker replays on its own with --seed', async () => {
    const r = await exploreSwarm({ model: compile(), config: scenario.config, seedStart: 1, seeds: 20, workers: 2, shard: null, chunkSize: 3 });
    const f = r.findings[0]!;
    const out: string[] = [];
    const code = await runCli(['run', file, '--seed', String(f.seed), '--no-save-trace', '--format', 'json'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
    expect(code).toBe(0);
    const report = JSON.parse(out.join(''));
    expect(report.findings.map((x: { id: string; step: number }) => [x.id, x.step])).toContainEqual([f.id, f.step]);
  });
});

describe('protosim merge', () => {
  it('merging the reports of shards 1/3, 2/3, 3/3 gives the unsharded report (findings by id, counts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-merge-'));
    const io = (sink: string[]) => ({ stdout: (s: string) => sink.push(s), stderr: (s: string) => sink.push(s), cwd: dir });
    const runJson = async (extra: string[]): Promise<string> => {
      const out: string[] = [];
      await runCli(['run', file, '--seeds', '45', '--workers', '2', '--no-save-trace', '--format', 'json', ...extra], io(out));
      return out.join('');
    };
    const whole = JSON.parse(await runJson([]));
    for (let k = 1; k <= 3; k++) writeFileSync(join(dir, `shard${k}.json`), await runJson(['--shard', `${k}/3`]));
    const out: string[] = [];
    const code = await runCli(['merge', 'shard1.json', 'shard2.json', 'shard3.json', '--format', 'json'], io(out));
    const merged = JSON.parse(out.join(''));
    expect(code).toBe(0);
    const key = (r: typeof whole) => ({
      ok: r.ok,
      findings: r.findings.map((f: { id: string; seed: number; step: number }) => [f.id, f.seed, f.step]),
      runs: r.stats.runs,
      transitions: r.stats.transitions,
      runsWithFinding: r.stats.runsWithFinding,
      expectations: r.expectations,
      seeds: r.seeds,
    });
    expect(key(merged)).toEqual(key(whole));
  });

  it('refuses reports of different scenarios, with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-merge-'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ scenario: { id: 'a', variant: 'faithful' }, strategy: 'random', findings: [], stats: {}, expectations: [], seeds: {} }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ scenario: { id: 'b', variant: 'faithful' }, strategy: 'random', findings: [], stats: {}, expectations: [], seeds: {} }));
    const err: string[] = [];
    const code = await runCli(['merge', 'a.json', 'b.json'], { stdout: () => {}, stderr: (s) => err.push(s), cwd: dir });
    expect(code).toBe(2);
    expect(err.join('')).toContain('cannot be merged');
  });
});
