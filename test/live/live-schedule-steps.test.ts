/**
 * The live scenario run's steps (src/conformance/live-scenario/schedule-steps.ts): a schedule
 * compiles into client starts and faults in time order, then the settle step; a scenario and a
 * replay of its trace compile into the same steps.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scheduleOf } from '../../src/cli/live-replay.js';
import { compileLiveSteps, describeLiveStep, liveStepsOf, type LiveStep } from '../../src/conformance/live-scenario/schedule-steps.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { FaultSpec } from '../../src/sim/config.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';

const repoRoot = join(__dirname, '..', '..');

const nodes = [
  { id: 'server', role: 'server', params: {}, startAt: 0 },
  { id: 'c1', role: 'client', params: {}, startAt: 0 },
  { id: 'c2', role: 'client', params: {}, startAt: 0 },
] as unknown as Parameters<typeof compileLiveSteps>[1]['nodes'];

describe('compileLiveSteps', () => {
  it('orders client starts and faults by time, keeps ties in schedule order, heals at healAtMs, settles last', () => {
    const crash: FaultSpec = { kind: 'crash', atMs: 100, node: 'c1', mode: 'reset' };
    const pause: FaultSpec = { kind: 'pause', atMs: 100, node: 'server' };
    const steps = compileLiveSteps({ startAtMs: { server: 0, c1: 100, c2: 20 }, faults: [crash, pause] }, { nodes, healAtMs: 300 });
    expect(steps).toEqual<LiveStep[]>([
      { atMs: 20, do: 'start', node: 'c2' },
      { atMs: 100, do: 'start', node: 'c1' },
      { atMs: 100, do: 'fault', fault: crash },
      { atMs: 100, do: 'fault', fault: pause },
      { atMs: 300, do: 'fault', fault: { kind: 'heal', atMs: 300 } },
      { atMs: 300, do: 'settle' },
    ]);
    expect(steps.map(describeLiveStep)).toContain('fault crash at 100 ms');
  });

  it('starts a node the schedule has no time for at 0, and settles at 0 when nothing is scheduled later', () => {
    expect(compileLiveSteps({ startAtMs: {}, faults: [] }, { nodes, healAtMs: null })).toEqual<LiveStep[]>([
      { atMs: 0, do: 'start', node: 'c1' },
      { atMs: 0, do: 'start', node: 'c2' },
      { atMs: 0, do: 'settle' },
    ]);
  });

  it('compiles a scenario and a replay of its trace into the same steps', () => {
    const scenario = loadScenarioFile(join(repoRoot, 'scenarios/ping-liveness/killed-client-timeout.yaml'));
    const seed = 3;
    const run = simulate(new CompiledModel(scenario.model.name, scenario.variant), scenario.config, seed, { trace: true });
    const fromScenario = liveStepsOf({ config: scenario.config, seed });
    const fromTrace = compileLiveSteps(scheduleOf(run.header, run.trace), scenario.config);
    expect(fromTrace).toEqual(fromScenario);
    expect(fromScenario.map(describeLiveStep)).toEqual(['start c1 at 0 ms', 'fault crash at 3000 ms', 'start c1b at 5000 ms', 'start c1c at 45000 ms', 'settle: watch the run to its end']);
  });
});
