import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { explorePbt, planFinding, singleStepRemovals } from '../../src/sim/explore/pbt.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runCli } from '../../src/cli/program.js';

// Started a second apart, the happy path finds nothing without faults; crashes and restarts break it.
const file = resolve(__dirname, '../../scenarios/lock-alternation/started-apart.yaml');
const base = loadScenarioFile(file);
const config = { ...base.config, randomFaults: { count: 2, kinds: ['crash' as const, 'restart' as const], windowStartMs: 0, windowEndMs: 4000, nodes: null } };

describe('pbt: shrinking fault plans', () => {
  const model = new CompiledModel(base.model.name, base.variant);
  const result = explorePbt(model, config, { seed: 7, runs: 200, faultBudget: 4 });
  const cx = result.counterexample!;

  it('finds a counterexample and reports it in the shared finding shape', () => {
    expect(cx).toBeTruthy();
    expect(result.findings.map((f) => f.id)).toEqual([cx.findingId]);
    expect(result.stats.runs).toBeGreaterThan(1);
  });

  it('the shrunk plan still fails with the same finding', () => {
    expect(planFinding(model, config, cx)).toBe(cx.findingId);
  });

  it('no single step (fault or typed line) can be removed without the failure disappearing', () => {
    const removals = singleStepRemovals(cx);
    expect(removals.length).toBe(cx.faults.length + cx.workload.reduce((n, w) => n + w.length, 0));
    for (const smaller of removals) expect(planFinding(model, config, smaller)).not.toBe(cx.findingId);
  });

  it('is deterministic: the same fast-check seed gives the same counterexample', () => {
    const again = explorePbt(new CompiledModel(base.model.name, base.variant), config, { seed: 7, runs: 200, faultBudget: 4 });
    expect(again.counterexample).toEqual(cx);
  });
});

describe('pbt from the command line: --save-counterexample writes a scenario that reproduces it', () => {
  it('protosim run on the saved file finds the same finding at its pinned seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-pbt-'));
    const out: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => out.push(s), cwd: dir };
    const code = await runCli(['check', 'lock-alternation', '--strategy', 'pbt', '--seeds', '300', '--save-counterexample', 'cx.yaml', '--no-save-trace', '--format', 'json'], io);
    expect(code).toBe(1);
    const report = JSON.parse(out.join(''));
    expect(report.counterexample.file).toBe('cx.yaml');
    const saved = readFileSync(join(dir, 'cx.yaml'), 'utf8');
    expect(saved).not.toContain('randomFaults');
    // A scenario of the current format: it loads without a warning.
    expect(saved).toMatch(/^(#.*\n)+kind: scenario\nversion: 1\nid: /);
    out.length = 0;
    const replayed = await runCli(['run', 'cx.yaml', '--no-save-trace', '--format', 'json'], io);
    expect(replayed).toBe(0);
    const rerun = JSON.parse(out.join(''));
    expect(rerun.findings.map((f: { id: string }) => f.id)).toContain(report.counterexample.findingId);
    expect(rerun.seeds.pinned).toBe(report.counterexample.seed);
  });
});
