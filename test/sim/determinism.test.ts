/**
 * Determinism contract (STYLE 12): for any seed, running a scenario twice gives byte-identical
 * traces, and a trace replays to itself through the same path `protosim replay` uses.
 * Runs over every registered model's default check and over every shipped scenario.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { scenarioFromData, loadScenarioFile } from '../../src/scenario/load.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import { traceToJsonl } from '../../src/sim/trace.js';
import { findScenarioFiles } from '../../src/cli/scenario-files.js';

function defaultScenario(protocol: string, variant: string) {
  const model = models[protocol]!;
  const v = model.variants[variant]!;
  const topology = v.defaults.topology({ clients: v.defaults.clients, rounds: v.defaults.rounds });
  return scenarioFromData(
    { id: `check/${protocol}`, title: 't', protocol, variant, nodes: topology.nodes, workload: topology.workload, ...(v.defaults.scenario ?? {}), expect: { violations: 'none' } },
    protocol,
  );
}

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe('determinism', () => {
  for (const model of Object.values(models)) {
    for (const variant of Object.keys(model.variants)) {
      it(`${model.name} (${variant}): same seed, same bytes; the trace replays to itself`, () => {
        const scenario = defaultScenario(model.name, variant);
        fc.assert(
          fc.property(seed, (s) => {
            // Fresh compiled models: caches must not change behaviour.
            const a = simulate(new CompiledModel(model.name, scenario.variant), scenario.config, s, { trace: true });
            const shared = new CompiledModel(model.name, scenario.variant);
            simulate(shared, scenario.config, s + 1, { trace: true });
            const b = simulate(shared, scenario.config, s, { trace: true });
            const textA = traceToJsonl(a.header, a.trace);
            expect(traceToJsonl(b.header, b.trace)).toBe(textA);
            // Replay: the header alone (config + seed) re-creates the run.
            const header = JSON.parse(textA.split('\n', 1)[0]!);
            const again = simulate(new CompiledModel(model.name, scenario.variant), header.config, header.seed, { trace: true });
            expect(traceToJsonl(again.header, again.trace)).toBe(textA);
          }),
          { numRuns: 25 },
        );
      });
    }
  }

  it('every shipped scenario is deterministic at its first seed', () => {
    const files = findScenarioFiles('scenarios');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const s = loadScenarioFile(file);
      const seedToUse = s.explore.seed ?? s.explore.seedStart;
      const a = simulate(new CompiledModel(s.model.name, s.variant), s.config, seedToUse, { trace: true });
      const b = simulate(new CompiledModel(s.model.name, s.variant), s.config, seedToUse, { trace: true });
      expect(traceToJsonl(b.header, b.trace), file).toBe(traceToJsonl(a.header, a.trace));
    }
  });

  it('different seeds give different runs (the seed is actually used)', () => {
    const s = loadScenarioFile('scenarios/deadlock.yaml');
    const texts = new Set(
      [1, 2, 3, 4, 5].map((x) => {
        const r = simulate(new CompiledModel(s.model.name, s.variant), s.config, x, { trace: true });
        return traceToJsonl(r.header, r.trace);
      }),
    );
    expect(texts.size).toBeGreaterThan(1);
  });
});
