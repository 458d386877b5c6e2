/**
 * Refinement, first half (issue 12, item 3): every random (timed) run is a path of the exhaustive
 * explorer's untimed state space, for all five protocols, with faults on. See
 * src/sim/explore/refinement.ts for how a timed trace is matched step by step.
 *
 * The properties run the protocols' scenario files and default topologies under random faults
 * (crash, restart, drop, duplicate, pause, partition) and lossy, duplicating links. Where the two
 * drivers apply different rules, a property fails with fast-check's shrunk counterexample, and
 * the pinned cases below name each known mismatch with a scenario and a seed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { models } from '../../src/models/index.js';
import { loadScenarioFile, scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import type { RandomFaultsConfig, SimConfig } from '../../src/sim/config.js';
import { checkRefinement, checkTraceRefinement } from '../../src/sim/explore/refinement.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import type { TraceEvent } from '../../src/sim/trace.js';

const root = resolve(__dirname, '../..');
const allKinds: RandomFaultsConfig['kinds'] = ['crash', 'restart', 'drop', 'duplicate', 'pause', 'partition'];

function scenariosOf(protocol: string): Scenario[] {
  const dir = resolve(root, 'scenarios', protocol);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const variant = models[protocol]!.variants.faithful!;
  const t = variant.defaults.topology({ clients: 2, rounds: 1 });
  const check = scenarioFromData({ id: `${protocol}/check`, title: 'check topology', protocol, nodes: t.nodes, workload: t.workload, expect: { violations: 'none' } }, 'refinement');
  return [check, ...files.map((f) => loadScenarioFile(resolve(dir, f)))];
}

interface Faults {
  kinds: RandomFaultsConfig['kinds'];
  count: number;
  loss: number;
  dup: number;
  fifo: boolean;
}

function withFaults(config: SimConfig, f: Faults): SimConfig {
  return {
    ...config,
    randomFaults: { count: f.count, kinds: f.kinds, windowStartMs: 0, windowEndMs: 5000, nodes: null },
    network: { ...config.network, default: { ...config.network.default, lossRatio: f.loss, duplicateRatio: f.dup, fifo: f.fifo } },
  };
}

const faultsArb = (fifo: fc.Arbitrary<boolean>): fc.Arbitrary<Faults> =>
  fc.record({
    kinds: fc.subarray(allKinds, { minLength: 1 }),
    count: fc.integer({ min: 1, max: 3 }),
    loss: fc.constantFrom(0, 0, 0.1, 0.3),
    dup: fc.constantFrom(0, 0, 0.1, 0.3),
    fifo,
  });

const compiled = new Map<Scenario, CompiledModel>();
function modelOf(s: Scenario): CompiledModel {
  let m = compiled.get(s);
  if (m === undefined) {
    m = new CompiledModel(s.model.name, s.variant);
    compiled.set(s, m);
  }
  return m;
}

/**
 * `npm run refinement:sweep` runs the same properties 40 times longer from other seeds
 * (PROTOSIM_REFINEMENT_SEED, PROTOSIM_REFINEMENT_TIMES); the default is the fixed-seed subset.
 */
const sweepSeed = Number(process.env.PROTOSIM_REFINEMENT_SEED ?? 20_261_202);
const sweepTimes = Number(process.env.PROTOSIM_REFINEMENT_TIMES ?? 1);

function refinementProperty(scenarios: Scenario[], fifo: fc.Arbitrary<boolean>, numRuns: number): void {
  fc.assert(
    fc.property(fc.nat(scenarios.length - 1), fc.integer({ min: 1, max: 1_000_000 }), faultsArb(fifo), (k, seed, faults) => {
      const s = scenarios[k]!;
      const r = checkRefinement(modelOf(s), withFaults(s.config, faults), seed);
      if (!r.ok) throw new Error(`${s.spec.id} seed ${seed}: step ${r.step}, ${JSON.stringify(r.event)}: ${r.why}`);
    }),
    { seed: sweepSeed, numRuns: numRuns * sweepTimes, endOnFailure: false },
  );
}

describe('every timed run is a path of the untimed state space', () => {
  for (const protocol of Object.keys(models)) {
    const scenarios = scenariosOf(protocol);

    it(`${protocol}: the check topology and the first scenario files, without extra faults`, () => {
      for (const s of scenarios.slice(0, 5)) {
        for (const seed of [1]) {
          const r = checkRefinement(modelOf(s), s.config, seed);
          expect(r.ok ? 'refines' : `${s.spec.id} seed ${seed}: step ${r.step}: ${r.why}`).toBe('refines');
        }
      }
    });

    it(`${protocol}: random faults (crash, restart, drop, duplicate, pause, partition), lossy and duplicating TCP links`, () => {
      refinementProperty(scenarios, fc.constant(true), 30);
    });
  }

  it('non-FIFO links that lose and duplicate (every protocol)', () => {
    refinementProperty(Object.keys(models).flatMap(scenariosOf), fc.constant(false), 60);
  });
});

/**
 * The rules found to differ between the simulator and the untimed system, each with the run that
 * showed it. The first four were fixed in the kernel (kernel/world-rules.ts and the two drivers), the
 * last two in the checker: each run must now refine.
 */
describe('mismatches found between the two drivers', () => {
  const six = { kinds: allKinds, count: 2, loss: 0, dup: 0, fifo: true };
  const fixed: { name: string; file: string; seed: number; faults: Faults }[] = [
    { name: 'connection events wait on a partitioned TCP link for the heal, in both drivers', file: 'lock-alternation/started-apart.yaml', seed: 3, faults: six },
    { name: 'a line typed before a crash is not read after a kept-state restart, in both drivers', file: 'ping-liveness/happy-path.yaml', seed: 6, faults: six },
    { name: 'a non-FIFO link may lose or duplicate any message it holds, in both drivers', file: 'register-exit/flood.yaml', seed: 2, faults: { ...six, loss: 0.1, dup: 0.1, fifo: false } },
  ];
  for (const c of fixed) {
    it(`fixed: ${c.name} (${c.file}, seed ${c.seed})`, () => {
      const s = loadScenarioFile(resolve(root, 'scenarios', c.file));
      const r = checkRefinement(modelOf(s), withFaults(s.config, c.faults), c.seed);
      expect(r.ok ? 'refines' : `step ${r.step}, ${JSON.stringify(r.event)}: ${r.why}`).toBe('refines');
    });
  }

  it('fixed: a server writing to a client with no open connection is refused in both drivers (register-exit, seed 1)', () => {
    const s = loadScenarioFile(resolve(root, 'scenarios/register-exit/killed-client-kills-server.yaml'));
    const r = checkRefinement(modelOf(s), withFaults(s.config, six), 1);
    expect(r.ok ? 'refines' : `step ${r.step}: ${r.why}`).toBe('refines');
  });

  // Both were first thought to be drivers disagreeing; the drivers agreed, and the checker was wrong:
  // it took every reset drop in an untimed step for a message discarded at a crash, so a write refused
  // at once (a server answering a client whose connection is gone) went unmatched.
  it('fixed: over HTTP, a duplicated request\'s second reply closes the request, and the next answer is refused in both drivers (lock-alternation/quit-leaves-peer-waiting.yaml, seed 4)', () => {
    const s = loadScenarioFile(resolve(root, 'scenarios/lock-alternation/quit-leaves-peer-waiting.yaml'));
    const r = checkRefinement(modelOf(s), withFaults(s.config, six), 4);
    expect(r.ok ? 'refines' : `step ${r.step}: ${r.why}`).toBe('refines');
  });

  it('fixed: offline-queue, a push to a client restarted with kept state is refused in both drivers (offline-queue/silent-death.yaml, seed 418755)', () => {
    const s = loadScenarioFile(resolve(root, 'scenarios/offline-queue/silent-death.yaml'));
    const r = checkRefinement(modelOf(s), withFaults(s.config, { kinds: ['restart', 'partition'], count: 2, loss: 0, dup: 0, fifo: true }), 418755);
    expect(r.ok ? 'refines' : `step ${r.step}: ${r.why}`).toBe('refines');
  });

  it('properties that read the time: the path refines, but only the timed run breaks lockout-ends-within-bound', () => {
    const s = loadScenarioFile(resolve(root, 'scenarios/ping-liveness/killed-client-no-ping.yaml'));
    const r = checkRefinement(modelOf(s), s.config, 1);
    expect(r.ok).toBe(true);
    expect(r.ok && r.timedOnlyFinding).toMatch(/lockout-ends-within-bound/);
  });
});

describe('the checker can fail', () => {
  const s = loadScenarioFile(resolve(root, 'scenarios/lock-alternation/started-apart.yaml'));
  const run = simulate(modelOf(s), s.config, 1, { trace: true });
  const check = (trace: TraceEvent[]) => checkTraceRefinement(modelOf(s), s.config, run.header.derived, trace, null);

  it('the unmutated trace refines', () => {
    expect(check(run.trace)).toMatchObject({ ok: true });
  });

  it('two deliveries on one FIFO link swapped', () => {
    const trace = [...run.trace];
    // two messages in flight together on one link: c1 sends twice before the first arrives (or any such pair)
    let pair: [number, number] | null = null;
    for (let i = 0; i < trace.length && pair === null; i++) {
      const a = trace[i]!;
      if (a.k !== 'deliver') continue;
      for (let j = i + 1; j < trace.length; j++) {
        const b = trace[j]!;
        if (b.k === 'deliver' && b.from === a.from && b.to === a.to && JSON.stringify(b.msg) !== JSON.stringify(a.msg)) {
          const sentB = trace.findIndex((e) => e.k === 'send' && e.id === b.id);
          if (sentB < i) pair = [i, j];
          break;
        }
      }
    }
    if (pair === null) {
      // no two messages were in flight together on one link: swap the first two deliveries on one link
      const i = trace.findIndex((e) => e.k === 'deliver');
      const a = trace[i] as Extract<TraceEvent, { k: 'deliver' }>;
      const j = trace.findIndex((e, k) => k > i && e.k === 'deliver' && e.from === a.from && e.to === a.to && JSON.stringify(e.msg) !== JSON.stringify(a.msg));
      pair = [i, j];
    }
    const [i, j] = pair;
    [trace[i], trace[j]] = [trace[j]!, trace[i]!];
    const r = check(trace);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.event).toBe(trace[i]);
      expect(r.why).toMatch(/no enabled untimed event does .*deliver/);
      expect(r.enabled.length).toBeGreaterThan(0);
    }
  });

  it('a message delivered that was never sent', () => {
    const trace = [...run.trace];
    const at = trace.findIndex((e) => e.k === 'deliver' && e.to === 'store');
    const forged: TraceEvent = { k: 'deliver', t: trace[at]!.t, id: 9999, from: 'c2', to: 'store', msg: { type: 'SET', key: 'lock', value: '2' } };
    trace.splice(at, 0, forged);
    const r = check(trace);
    expect(r).toMatchObject({ ok: false, event: forged });
    if (!r.ok) expect(r.why).toMatch(/no enabled untimed event does/);
  });
});
