import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolve } from 'node:path';
import { exploreExhaustive } from '../../src/sim/explore/exhaustive.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import { loadScenarioFile, scenarioFromData } from '../../src/scenario/load.js';
import { models } from '../../src/models/index.js';

const lock = models['lock-alternation']!.variants.faithful!;
const threeClients = (() => {
  const topology = lock.defaults.topology({ clients: 3, rounds: 1 });
  return scenarioFromData({ id: 't/three', title: 'three clients', protocol: 'lock-alternation', nodes: topology.nodes, workload: topology.workload, expect: { violations: 'none' } }, 'test');
})();
const scenarios = [loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml')), threeClients];

describe('the exhaustive counterexample is never longer than a random one', () => {
  for (const scenario of scenarios) {
    it(`${scenario.spec.id}: for every seed, each finding takes at least as many steps as the exhaustive one`, () => {
      const model = new CompiledModel(scenario.model.name, scenario.variant);
      const exhaustive = exploreExhaustive(model, scenario.config, { maxStates: 2_000_000, maxDepth: 10_000, faultBudget: 0, all: true });
      expect(exhaustive.stats.complete).toBe(true);
      const shortest = new Map(exhaustive.findings.map((f) => [f.id, f.step]));
      let compared = 0;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
          for (const f of simulate(model, scenario.config, seed, { trace: false }).findings) {
            compared++;
            // every finding a random run makes, the exhaustive search made too, no longer
            expect(shortest.has(f.id)).toBe(true);
            expect(shortest.get(f.id)!).toBeLessThanOrEqual(f.step);
          }
        }),
        { seed: 42, numRuns: 150 },
      );
      expect(compared).toBeGreaterThan(20);
    });
  }
});
