/**
 * `protosim/testing`: protosim's runs as functions, for a protocol package's own tests (the vitest
 * file `protosim init protocol` writes): run a scenario file and check what it expects, or run a
 * package's default check. Random exploration over seeds, in this thread, as `protosim run` does
 * below its worker threshold; the result says what was expected, what was found, and the command
 * that replays each finding.
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtocolPackage } from '../models/package.js';
import { protocolNamed, registerProtocol } from '../models/registry.js';
import { defaultCheckSpec } from '../scenario/check-scenario.js';
import { evaluateExpectations, type ExpectationCheck } from '../scenario/expect.js';
import { loadScenarioFile, scenarioFromData, type Scenario } from '../scenario/load.js';
import { loadScenarioProtocol } from '../scenario/protocol-module.js';
import { exploreRandom } from '../sim/explore/random.js';
import { CompiledModel } from '../sim/simulator.js';

export { defineProtocol } from '../models/public.js';

/** What a run found and whether the scenario's expectations hold. */
export interface TestRun {
  ok: boolean;
  expectations: ExpectationCheck[];
  /** the shortest finding per id: its summary, the model's diagnosis, the seed that shows it */
  findings: { id: string; kind: string; summary: string; diagnosis: string | null; seed: number }[];
  /** seeds explored */
  seeds: { start: number; count: number };
  /** how to see the first finding in full */
  replay: string | null;
}

export interface RunOptions {
  /** seeds to explore (default: the scenario's, else 200) */
  seeds?: number;
  /** first seed (default: the scenario's, else 1) */
  seedStart?: number;
  /** run exactly this seed */
  seed?: number;
}

function run(scenario: Scenario, options: RunOptions, replayOf: (seed: number) => string): TestRun {
  const model = new CompiledModel(scenario.model.name, scenario.variant);
  const pinned = options.seed ?? (options.seeds === undefined ? scenario.explore.seed : null) ?? null;
  const seedStart = pinned ?? options.seedStart ?? scenario.explore.seedStart;
  const count = pinned !== null ? 1 : (options.seeds ?? scenario.explore.seeds);
  const result = exploreRandom(model, scenario.config, { seedStart, seeds: count });
  const expectations = evaluateExpectations(scenario.expect, result.findings);
  const first = result.findings[0];
  return {
    ok: expectations.every((e) => e.ok),
    expectations,
    findings: result.findings.map((f) => ({ id: f.id, kind: f.kind, summary: f.summary, diagnosis: f.diagnosis, seed: f.seed })),
    seeds: { start: seedStart, count },
    replay: first === undefined ? null : replayOf(first.seed),
  };
}

/** Runs a scenario file (a path, or a `new URL('./scenario.yaml', import.meta.url)`) and checks its `expect`. */
export async function runScenarioFile(file: string | URL, options: RunOptions = {}): Promise<TestRun> {
  const path = typeof file === 'string' ? resolve(file) : fileURLToPath(file);
  const shown = relative(process.cwd(), path) || path;
  await loadScenarioProtocol(path, shown);
  const scenario = loadScenarioFile(path, shown);
  return run(scenario, options, (seed) => `npx protosim run ${shown} --seed ${seed}`);
}

/** Runs a package's default check (`protosim check`): its default topology and faults, expecting nothing found. */
export function checkProtocol(pkg: ProtocolPackage, options: RunOptions & { variant?: string; clients?: number; rounds?: number } = {}): TestRun {
  if (protocolNamed(pkg.name) !== pkg) {
    const clash = registerProtocol(pkg);
    if (clash !== null) throw new Error(clash);
  }
  const check = defaultCheckSpec(pkg, options.variant ?? 'faithful', { ...(options.clients !== undefined ? { clients: options.clients } : {}), ...(options.rounds !== undefined ? { rounds: options.rounds } : {}) });
  if ('problem' in check) throw new Error(check.problem);
  const scenario = scenarioFromData(check.spec, `${pkg.name} defaults`);
  return run(scenario, options, (seed) => `npx protosim check ${pkg.name} --seed ${seed}`);
}
