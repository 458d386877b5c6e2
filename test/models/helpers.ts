/**
 * Helpers shared by the model tests: load scenarios, build a model's default check the way
 * `protosim check` does, and explore with the random explorer.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { models } from '../../src/models/index.js';
import type { ModelVariant } from '../../src/models/types.js';
import { scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { looksLikeSuite } from '../../src/scenario/load-suite.js';
import { exploreRandom } from '../../src/sim/explore/random.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import type { SimConfig } from '../../src/sim/config.js';

export const scenariosDir = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** Every model scenario file under scenarios/, sorted (conformance suites, files with `cases:`, are not). */
export function allScenarioFiles(dir = scenariosDir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allScenarioFiles(p));
    else if (/\.ya?ml$/.test(name) && !looksLikeSuite(readFileSync(p, 'utf8'))) out.push(p);
  }
  return out;
}

/** The scenario `protosim check <protocol> --variant <variant>` builds from the model's defaults. */
export function defaultCheck(protocol: string, variant: string, scale: { clients?: number; rounds?: number } = {}): Scenario {
  const v = models[protocol]!.variants[variant]!;
  const d = v.defaults;
  const clients = scale.clients ?? d.clients;
  const rounds = scale.rounds ?? d.rounds;
  const topology = d.topology({ clients, rounds });
  return scenarioFromData(
    {
      id: `check/${protocol}`,
      title: `default check of ${protocol}`,
      protocol,
      variant,
      nodes: topology.nodes,
      workload: topology.workload,
      ...(d.scenario ?? {}),
      expect: { violations: 'none' },
    },
    `${protocol} defaults`,
  );
}

/** Explores `config` under `variant` over seeds [seedStart, seedStart + seeds). */
export function explore(protocol: string, variant: ModelVariant, config: SimConfig, seedStart: number, seeds: number): ExploreResult {
  const compiled = new CompiledModel(protocol, variant);
  return exploreRandom(compiled, { ...config, variant: variant.name }, { seedStart, seeds });
}

/** Explores a loaded scenario at its pinned seed, or over its seed range. */
export function exploreScenario(s: Scenario, variant: ModelVariant = s.variant, configPatch: Partial<SimConfig> = {}): ExploreResult {
  const pinned = s.explore.seed;
  return explore(s.model.name, variant, { ...s.config, ...configPatch }, pinned ?? s.explore.seedStart, pinned !== null ? 1 : s.explore.seeds);
}
