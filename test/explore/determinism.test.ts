import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { checkDeterminism } from '../../src/sim/explore/determinism.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runCli } from '../../src/cli/program.js';
import { nondeterministic, tickerConfig } from '../fixtures/models/nondeterministic.js';

describe('--check-determinism', () => {
  it('catches a model that reads a module-level counter, naming the seed and the trace line', () => {
    const r = checkDeterminism(() => new CompiledModel('ticker', nondeterministic), tickerConfig, 1, 5);
    expect(r.difference).not.toBeNull();
    expect(r.difference!.seed).toBe(1);
    expect(r.difference!.first).toContain('tick');
    expect(r.difference!.first).not.toBe(r.difference!.second);
  });

  it('passes lock-alternation, seed by seed', () => {
    const s = loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml'));
    const r = checkDeterminism(() => new CompiledModel(s.model.name, s.variant), s.config, 1, 25);
    expect(r).toEqual({ checked: 25, difference: null });
  });

  it('from the command line: reported, and exit 0 when every expectation holds', async () => {
    const out: string[] = [];
    const file = resolve(__dirname, '../../scenarios/deadlock.yaml');
    const code = await runCli(['run', file, '--seeds', '10', '--workers', '1', '--check-determinism', '--no-save-trace'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
    expect(code).toBe(0);
    expect(out.join('')).toContain('determinism: 10 seeds run twice, identical traces');
  });
});
