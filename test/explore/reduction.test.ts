/**
 * Partial-order reduction (src/sim/explore/partial-order.ts) must not change what the exhaustive
 * search reports: on every protocol, with faults, full and reduced searches report the same finding
 * ids with the same shortest counterexample lengths, and every reduced counterexample replays. The
 * comparison itself is shown to fail on a known-bad pair (a search cut shallower than a finding).
 */
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import type { HistoryProperty, Observation } from '../../src/models/types.js';
import { scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { exploreExhaustive, replayPath, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { neutralProbe } from '../../src/sim/explore/monitors.js';
import { CompiledModel } from '../../src/sim/simulator.js';

/** The `check` topology of a protocol's variant with its default faults, `clients` clients, 1 round. */
function scenarioOf(protocol: string, variant: string, clients?: number): Scenario {
  const v = models[protocol]!.variants[variant]!;
  const d = v.defaults;
  const t = d.topology({ clients: clients ?? d.clients, rounds: 1 });
  return scenarioFromData(
    { id: 'por', title: 'por', protocol, variant, nodes: t.nodes, workload: t.workload, ...(d.scenario ?? {}), expect: { violations: 'none' } },
    'reduction',
  );
}

function explore(s: Scenario, options: Partial<ExhaustiveOptions>): ExploreResult {
  return exploreExhaustive(new CompiledModel(s.model.name, s.variant), s.config, { maxStates: 60_000, maxDepth: 100_000, faultBudget: 1, all: true, ...options });
}

/** Finding ids with their lengths, as the differential compares them. */
const summary = (r: ExploreResult): string[] => r.findings.map((f) => `${f.id}:${f.step}`);

/** A crash (and perhaps a restart) of any node: faults every protocol's topology takes. */
const oneCrash = { randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000] } };

function withCrash(protocol: string, variant: string): Scenario {
  const d = models[protocol]!.variants[variant]!.defaults;
  const t = d.topology({ clients: d.clients, rounds: 1 });
  return scenarioFromData({ id: 'por', title: 'por', protocol, variant, nodes: t.nodes, workload: t.workload, ...oneCrash, expect: { violations: 'none' } }, 'reduction');
}

const protocols = ['lock-alternation', 'status-handshake', 'offline-queue', 'ping-liveness', 'register-exit'];

describe('partial-order reduction: the same findings, the same shortest lengths', () => {
  it('lock-alternation, 2 clients, one fault, --all, the whole space', () => {
    const s = scenarioOf('lock-alternation', 'faithful', 2);
    const full = explore(s, { reduction: 'none' });
    const reduced = explore(s, { reduction: 'por' });
    expect(full.stats.complete).toBe(true);
    expect(reduced.stats.complete).toBe(true);
    expect(summary(reduced)).toEqual(summary(full));
    expect(reduced.stats.states).toBeLessThan(full.stats.states);
    for (const f of reduced.findings) {
      // the counterexample is a path of the full system that replays as printed
      expect(replayPath(new CompiledModel(s.model.name, s.variant), s.config, 1, f.path!).trace.length).toBeGreaterThan(0);
    }
  });

  for (const protocol of protocols) {
    it(`${protocol}, one crash, stopping at the first finding: the finding and path of the search without reduction`, () => {
      const s = withCrash(protocol, 'faithful');
      const full = explore(s, { reduction: 'none', all: false, maxStates: 80_000 });
      const reduced = explore(s, { reduction: 'por', all: false, maxStates: 80_000 });
      expect(full.findings.length).toBe(1);
      expect(reduced.findings.map((f) => [f.id, f.step, f.path])).toEqual(full.findings.map((f) => [f.id, f.step, f.path]));
    });
  }

  it('lock-alternation, 3 clients, no faults: fewer states, same findings, first stop the same', () => {
    const s = scenarioOf('lock-alternation', 'faithful', 3);
    const full = explore(s, { reduction: 'none', faultBudget: 0 });
    const reduced = explore(s, { reduction: 'por', faultBudget: 0 });
    expect(reduced.stats.complete).toBe(true);
    expect(reduced.stats.states).toBeLessThan(full.stats.states);
    expect(reduced.stats.reduction!.reducedStates).toBeGreaterThan(0);
    expect(summary(reduced)).toEqual(summary(full));
    const firstFull = explore(s, { reduction: 'none', faultBudget: 0, all: false });
    const firstReduced = explore(s, { reduction: 'por', faultBudget: 0, all: false });
    expect(firstReduced.findings.map((f) => [f.id, f.path])).toEqual(firstFull.findings.map((f) => [f.id, f.path]));
  });

  it('known bad: a search cut shallower than a finding does not compare equal', () => {
    const s = scenarioOf('lock-alternation', 'faithful', 2);
    const full = explore(s, { reduction: 'none' });
    const cut = explore(s, { reduction: 'por', maxDepth: Math.max(...full.findings.map((f) => f.step)) - 1 });
    expect(summary(cut)).not.toEqual(summary(full));
  });
});

describe('monitor neutrality (what lets an observation commute with every other)', () => {
  const deliver: Observation = { kind: 'deliver', from: 'c1', to: 'store', msg: { type: 'GET', key: 'lock' } };
  const print: Observation = { kind: 'print', node: 'c1', params: { kind: 'message', text: 'hi' } };

  it('an observation the property ignores without looking at its state is neutral; one it reads the state for is not', () => {
    const countPrints: HistoryProperty<{ n: number }> = {
      id: 'count-prints',
      description: 'counts prints',
      initial: { n: 0 },
      observe: (state, obs) => (obs.kind === 'print' ? { state: { n: state.n + 1 } } : { state }),
    };
    expect(neutralProbe(countPrints as HistoryProperty<unknown>, deliver)).toBe(true);
    // known bad: the print changes the state
    expect(neutralProbe(countPrints as HistoryProperty<unknown>, print)).toBe(false);
    const readsView: HistoryProperty<null> = { id: 'v', description: 'v', initial: null, observe: (state, _obs, view) => (Object.keys(view.nodes).length > 9 ? { violation: 'x' } : { state }) };
    expect(neutralProbe(readsView as HistoryProperty<unknown>, deliver)).toBe(false);
    // the models' own: lock-alternation's properties ignore a GET without looking, not a message shown
    for (const p of models['lock-alternation']!.variants.faithful!.properties) {
      expect(neutralProbe(p as HistoryProperty<unknown>, deliver)).toBe(true);
    }
    expect(models['lock-alternation']!.variants.faithful!.properties.some((p) => !neutralProbe(p as HistoryProperty<unknown>, print))).toBe(true);
  });
});

describe('the memory limit', () => {
  it('stops the search with the limit named, not a crash', () => {
    const s = scenarioOf('lock-alternation', 'faithful', 3);
    const r = explore(s, { faultBudget: 0, maxMemoryMiB: 1 });
    expect(r.stats.complete).toBe(false);
    expect(r.stats.limitHit).toBe('maxMemoryMiB=1');
    // known bad: with room enough it completes
    expect(explore(scenarioOf('lock-alternation', 'faithful', 2), { faultBudget: 0, maxMemoryMiB: 1024 }).stats.limitHit).toBe(null);
  });
});
