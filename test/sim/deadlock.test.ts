/**
 * The foundation's headline: the lock-alternation join race deadlocks, and is found; clients
 * started far apart with no faults find nothing.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { evaluateExpectations } from '../../src/scenario/expect.js';
import { exploreRandom } from '../../src/sim/explore/random.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';

describe('lock-alternation deadlock', () => {
  it('is found in scenarios/deadlock.yaml, with both clients waiting for connected=2', () => {
    const s = loadScenarioFile('scenarios/deadlock.yaml');
    const result = exploreRandom(new CompiledModel(s.model.name, s.variant), s.config, { seedStart: 1, seeds: 50 });
    const deadlock = result.findings.find((f) => f.kind === 'deadlock');
    expect(deadlock, 'a deadlock among 50 seeds').toBeDefined();
    const waiting = deadlock!.nodes.filter((n) => n.role === 'client');
    expect(waiting.map((n) => n.waitsFor)).toEqual(['connected=2 (a second client to join)', 'connected=2 (a second client to join)']);
    expect(deadlock!.diagnosis).toMatch(/check-then-set race/);
    expect(deadlock!.cycleStart).not.toBeNull();
    expect(evaluateExpectations(s.expect, result.findings).every((e) => e.ok)).toBe(true);
  });

  it('the shortest deadlock kept is no longer than any other seed that found one', () => {
    const s = loadScenarioFile('scenarios/deadlock.yaml');
    const model = new CompiledModel(s.model.name, s.variant);
    const result = exploreRandom(model, s.config, { seedStart: 1, seeds: 30 });
    const best = result.findings.find((f) => f.kind === 'deadlock')!;
    for (let seed = 1; seed <= 30; seed++) {
      const f = simulate(model, s.config, seed, { trace: false }).findings.find((x) => x.kind === 'deadlock');
      if (f) expect(best.step).toBeLessThanOrEqual(f.step);
    }
  });

  it('clients started far apart, with no faults, report no finding', () => {
    const s = loadScenarioFile('scenarios/lock-alternation/started-apart.yaml');
    const result = exploreRandom(new CompiledModel(s.model.name, s.variant), s.config, { seedStart: 1, seeds: 100 });
    expect(result.findings).toEqual([]);
    // and the messages actually flowed: every typed line was shown to the other client
    const run = simulate(new CompiledModel(s.model.name, s.variant), s.config, 1, { trace: true });
    const shown = run.trace.filter((e) => e.k === 'print' && e.kind === 'message').map((e) => (e as { text: string }).text);
    expect(shown).toEqual(['hello from c1', 'hi c1', 'how are you?', 'fine, thanks', 'bye']);
  });

  it('a crash of the peer is a deadlock the model explains (nobody can rejoin)', () => {
    const s = loadScenarioFile('scenarios/lock-alternation/started-apart.yaml');
    const config = { ...s.config, faults: [{ kind: 'crash' as const, atMs: 1500, node: 'c2', mode: 'reset' as const }] };
    const result = exploreRandom(new CompiledModel(s.model.name, s.variant), config, { seedStart: 1, seeds: 20 });
    const f = result.findings.find((x) => x.kind === 'deadlock');
    expect(f).toBeDefined();
    expect(f!.diagnosis).toMatch(/no way to rejoin/);
  });
});
