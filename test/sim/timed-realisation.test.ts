/**
 * The refinement property's second half: every exhaustive counterexample replays as a
 * choice-driven timed run that picks delays realising its order, or is labelled untimed-only with
 * the bound its order breaks (src/sim/explore/timed-realisation.ts).
 */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { exploreExhaustive } from '../../src/sim/explore/exhaustive.js';
import { realise, realiseFinding } from '../../src/sim/explore/timed-realisation.js';
import { E_TIMER, UntimedSystem } from '../../src/sim/explore/untimed-system.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile, scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { models } from '../../src/models/index.js';

/** Every flaw scenario whose finding the exhaustive explorer finds (expect: ... found). */
const flaws = [
  'scenarios/deadlock.yaml',
  'scenarios/lock-alternation/leftover-keys.yaml',
  'scenarios/lock-alternation/killed-mid-conversation.yaml',
  'scenarios/lock-alternation/quit-leaves-peer-waiting.yaml',
  'scenarios/status-handshake/race.yaml',
  'scenarios/status-handshake/whitespace.yaml',
  'scenarios/status-handshake/killed-peer-waits.yaml',
  'scenarios/offline-queue/deleted-stale-session.yaml',
  'scenarios/offline-queue/flood-to-dying.yaml',
  'scenarios/offline-queue/catastrophic-pattern-freeze.yaml',
  'scenarios/ping-liveness/version-mismatch.yaml',
];

/** As `protosim run X --strategy exhaustive` sets it up (src/cli/commands/run.ts). */
function explore(file: string) {
  const scenario: Scenario = loadScenarioFile(resolve(file));
  const model = new CompiledModel(scenario.model.name, scenario.variant);
  const faultBudget = scenario.spec.explore?.faultBudget ?? scenario.config.randomFaults?.count ?? 0;
  const result = exploreExhaustive(model, scenario.config, { maxStates: scenario.explore.maxStates, maxDepth: scenario.explore.maxDepth, faultBudget });
  return { scenario, model, faultBudget, result };
}

/** A reason names a bound of the scenario: a delay, a think time, a start, a timer or a fault time. */
const namesABound = /takes at (most|least) \d+ ms|starts (by|at) \d+ ms|fires exactly \d+ ms|happens at \d+ ms exactly/;

describe('timed realisation of exhaustive counterexamples', () => {
  it('realises the shortest counterexample of every flaw scenario, or says which bound its order breaks', () => {
    const rows: string[] = [];
    const verdicts = new Map<string, boolean>();
    for (const file of flaws) {
      const { scenario, model, faultBudget, result } = explore(file);
      expect(result.findings.length, `${file}: the exhaustive explorer finds its flaw`).toBeGreaterThan(0);
      for (const f of result.findings) {
        const out = realiseFinding(model, scenario.config, faultBudget, f);
        if (out.realisable) {
          expect(out.findings[0]!.id, `${file}: the timed run reports the same finding`).toBe(f.id);
          rows.push(`${file.padEnd(56)} ${f.id.padEnd(34)} ${String(f.path!.length).padStart(3)}  realisable (starts ${JSON.stringify(out.derived.startAtMs)}, last step at ${out.timesMs.at(-1)} ms)`);
        } else {
          expect(out.why, `${file}: an untimed-only reason names a bound`).toMatch(namesABound);
          expect(out.why.startsWith('untimed only: ')).toBe(true);
          rows.push(`${file.padEnd(56)} ${f.id.padEnd(34)} ${String(f.path!.length).padStart(3)}  ${out.why.slice(0, 160)}`);
        }
        verdicts.set(file, out.realisable);
      }
    }
    console.log(`scenario${' '.repeat(49)}finding${' '.repeat(28)}steps  timed\n${rows.join('\n')}`);
    // The front door's start race is realisable: both clients start within a few ms of each other.
    expect(verdicts.get('scenarios/deadlock.yaml')).toBe(true);
    expect(verdicts.get('scenarios/ping-liveness/version-mismatch.yaml')).toBe(true);
  });

  it('counterexamples with injected faults of every kind (silent crash, kept restart, pause, partition) are realised or labelled (untimed only, or not decided), never an error', () => {
    let realisedWithFault = 0;
    for (const protocol of Object.keys(models)) {
      const variant = models[protocol]!.variants.faithful!;
      const t = variant.defaults.topology({ clients: 2, rounds: 1 });
      const scenario = scenarioFromData({ id: `${protocol}/check`, title: 'check topology', protocol, nodes: t.nodes, workload: t.workload, expect: { violations: 'none' } }, 'realisation');
      const model = new CompiledModel(protocol, scenario.variant);
      const result = exploreExhaustive(model, scenario.config, { maxStates: 20_000, maxDepth: 200, faultBudget: 1, all: true });
      for (const f of result.findings) {
        const out = realiseFinding(model, scenario.config, 1, f);
        const faults = f.trace.filter((e) => e.k === 'fault');
        if (out.realisable) {
          expect(out.findings[0]!.id, `${protocol}: the timed run reports the same finding`).toBe(f.id);
          if (faults.length > 0) realisedWithFault++;
        } else expect(out.why, `${protocol} ${f.id}`).toMatch(/^(untimed only: |not decided: |the timed run )/);
      }
    }
    // lock-alternation's check: c2 vanishes and comes back with its state kept, a deadlock the timed run reproduces
    expect(realisedWithFault).toBeGreaterThan(0);
  });

  it('a realised lasso is found by the timed run as the same deadlock by polling, from delays within bounds', () => {
    const { scenario, model, faultBudget, result } = explore('scenarios/deadlock.yaml');
    const f = result.findings[0]!;
    const out = realiseFinding(model, scenario.config, faultBudget, f);
    if (!out.realisable) throw new Error(out.why);
    expect(out.findings[0]!.summary).toBe(f.summary);
    for (const d of out.script.delay ?? []) expect(typeof d === 'number' && d >= 1 && d <= 10).toBe(true);
    for (const t of out.script.think ?? []) expect(typeof t === 'number' && t >= 200 && t <= 2000).toBe(true);
    for (const ms of Object.values(out.derived.startAtMs)) expect(ms >= 0 && ms <= 10).toBe(true);
  });

  it('an order that needs a 500 ms poll timer to fire before a 1-10 ms reply arrives is untimed only, with the reason', () => {
    const { scenario, model, faultBudget, result } = explore('scenarios/deadlock.yaml');
    const found = result.findings[0]!.path!;
    // The found path's first 18 steps end with c1 asleep (its poll timer armed at step 18) and the
    // store's VALUE reply to c2 (sent at step 17) in flight; then c1's poll timer fires first.
    const sys = new UntimedSystem(model, scenario.config, { faultBudget });
    const vec = sys.initial();
    const events = new Int32Array(sys.maxEvents);
    const labels = new Int32Array(sys.maxEvents);
    for (const k of found.slice(0, 18)) {
      sys.enumerate(vec, events, labels);
      sys.apply(vec, events[k]!, null);
    }
    const n = sys.enumerate(vec, events, labels);
    const c1 = sys.nodeIds.indexOf('c1');
    const timer = Array.from(events.subarray(0, n)).findIndex((e) => (e & 15) === E_TIMER && e >>> 4 >>> 6 === c1);
    expect(timer).toBeGreaterThanOrEqual(0);
    const out = realise(model, scenario.config, faultBudget, [...found.slice(0, 18), timer], { id: 'deadlock' });
    expect(out.realisable).toBe(false);
    if (out.realisable) return;
    console.log(out.why);
    expect(out.why).toMatch(/^untimed only: VALUE store→c2 sent at step 17 takes at most 10 ms cannot hold/);
    expect(out.why).toContain('the timer poll of c1 (500 ms, armed at step 18) fires exactly 500 ms after step 18');
  });
});
