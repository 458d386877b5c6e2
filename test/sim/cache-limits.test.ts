/**
 * The caches a compiled model keeps for its runs (node views, canonical keys, link names) have named
 * limits (`CacheLimits`); a full cache stops caching and never fails. What a run does must not
 * depend on them: with every limit at 0 (nothing cached) or 1 (the caches fill at once), traces and
 * findings are byte-identical to those of a model with the default limits, faults and stalls included.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { SimConfig } from '../../src/sim/config.js';
import { CompiledModel, defaultCacheLimits, simulate } from '../../src/sim/simulator.js';
import { traceToJsonl } from '../../src/sim/trace.js';

const scenario = (path: string) => loadScenarioFile(fileURLToPath(new URL(`../../scenarios/${path}`, import.meta.url)));

/** A run's bytes: its trace and its findings. */
function runText(model: CompiledModel, config: SimConfig, seed: number): string {
  const r = simulate(model, config, seed, { trace: true });
  return traceToJsonl(r.header, r.trace) + JSON.stringify(r.findings.map((f) => [f.id, f.summary, f.step, f.cycleStart]));
}

describe('cache limits', () => {
  it('each cache has a named, positive default limit', () => {
    expect(Object.keys(defaultCacheLimits).sort()).toEqual(['maxCachedKeys', 'maxCachedLinkKeys', 'maxCachedViews']);
    for (const v of Object.values(defaultCacheLimits)) expect(v).toBeGreaterThan(0);
    const s = scenario('lock-alternation/started-apart.yaml');
    expect(new CompiledModel(s.model.name, s.variant, { maxCachedViews: 7 }).limits).toEqual({ ...defaultCacheLimits, maxCachedViews: 7 });
  });

  const cases = ['lock-alternation/started-apart.yaml', 'lock-alternation/killed-mid-conversation.yaml', 'ping-liveness/paused-client-expires.yaml'];
  for (const path of cases) {
    it(`${path}: full caches (limits 0 and 1) change nothing, random faults of every kind included`, () => {
      const s = scenario(path);
      const withFaults: SimConfig = {
        ...s.config,
        randomFaults: { count: 3, kinds: ['crash', 'restart', 'pause', 'partition', 'drop', 'duplicate'], windowStartMs: 0, windowEndMs: 3000, nodes: null },
      };
      const roomy = new CompiledModel(s.model.name, s.variant);
      const none = new CompiledModel(s.model.name, s.variant, { maxCachedKeys: 0, maxCachedLinkKeys: 0, maxCachedViews: 0 });
      const one = new CompiledModel(s.model.name, s.variant, { maxCachedKeys: 1, maxCachedLinkKeys: 1, maxCachedViews: 1 });
      for (const config of [s.config, withFaults]) {
        for (let seed = 1; seed <= 25; seed++) {
          const expected = runText(roomy, config, seed);
          expect(runText(none, config, seed)).toBe(expected);
          expect(runText(one, config, seed)).toBe(expected);
        }
      }
    });
  }
});
