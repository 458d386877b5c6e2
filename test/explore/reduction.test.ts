/**
 * Partial-order reduction (src/sim/explore/partial-order.ts) must not change what the exhaustive
 * search reports: on every protocol, with faults, full and reduced searches report the same finding
 * ids with the same shortest counterexample lengths, and every reduced counterexample replays. The
 * comparison itself is shown to fail on a known-bad pair (a search cut shallower than a finding).
 * The reduced search's own findings (before a search without reduction makes them shortest) are
 * compared too, and two small models (test/fixtures/models/reduction-probes.ts) show that a
 * reduction blind to what the invariants read, or without its cycle proviso, misses a finding.
 */
import { describe, expect, it, vi } from 'vitest';
import { models } from '../../src/models/index.js';
import type { HistoryProperty, Observation } from '../../src/models/types.js';
import { scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { exploreExhaustive, replayPath, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { neutralProbe } from '../../src/sim/explore/monitors.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { CycleProviso } from '../../src/sim/explore/cycle-proviso.js';
import { NodeViews } from '../../src/sim/explore/node-views.js';
import { probeConfig, reductionProbes } from '../fixtures/models/reduction-probes.js';

/** The `check` topology of a protocol's variant with its default faults, `clients` clients, 1 round. */
function scenarioOf(protocol: string, variant: string, clients?: number): Scenario {
  return scenarioFromData(scenarioData(protocol, clients, 1, variant), 'reduction');
}

function scenarioData(protocol: string, clients: number | undefined, rounds: number, variant = 'faithful') {
  const d = models[protocol]!.variants[variant]!.defaults;
  const t = d.topology({ clients: clients ?? d.clients, rounds });
  return { id: 'por', title: 'por', protocol, variant, nodes: t.nodes, workload: t.workload, ...(d.scenario ?? {}), expect: { violations: 'none' } };
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

/** Finding ids alone: what the reduced search must find by itself, before its paths are made shortest. */
const ids = (r: ExploreResult): string[] => r.findings.map((f) => f.id);

describe("the reduced search's own findings (not made shortest by a search without reduction)", () => {
  // The search without reduction that shortens counterexamples finds every finding within the
  // longest counterexample's depth by itself: comparing only the shortened findings would not see
  // a reduction that misses one. Here the reduced search's findings stand alone.
  const cases: [string, Scenario, number][] = [
    ['lock-alternation, 3 clients, 1 round, no faults', scenarioOf('lock-alternation', 'faithful', 3), 0],
    ['lock-alternation, 2 clients, one crash of a client', scenarioOf('lock-alternation', 'faithful', 2), 1],
    ['lock-alternation, 2 clients, 2 rounds, one crash of a client', scenarioFromData(scenarioData('lock-alternation', 2, 2), 'reduction'), 1],
  ];
  for (const [name, s, faultBudget] of cases) {
    it(name, () => {
      const full = explore(s, { reduction: 'none', faultBudget });
      const reduced = explore(s, { reduction: 'por', faultBudget, keepReducedPaths: true });
      expect(full.stats.complete).toBe(true);
      expect(reduced.stats.complete).toBe(true);
      expect(ids(reduced)).toEqual(ids(full));
      // (the reduced paths are paths of the full system: they replay)
      for (const f of reduced.findings) expect(replayPath(new CompiledModel(s.model.name, s.variant), s.config, faultBudget, f.path!).trace.length).toBeGreaterThan(0);
    });
  }

  it('lock-alternation, 3 clients, 2 rounds, no faults: far fewer states than without reduction', () => {
    const s = scenarioFromData(scenarioData('lock-alternation', 3, 2), 'reduction');
    const full = explore(s, { reduction: 'none', faultBudget: 0, maxStates: 200_000 });
    const reduced = explore(s, { reduction: 'por', faultBudget: 0, maxStates: 200_000, keepReducedPaths: true });
    expect(ids(reduced)).toEqual(ids(full));
    // 69,506 -> 25,867 states when this was written (symmetric: 11,722 -> 4,372): a reduction at
    // least this strong (the counts are deterministic)
    expect(reduced.stats.states * 2.5).toBeLessThan(full.stats.states);
    // and with symmetry on top: the quotient's findings, by the reduced quotient alone
    const both = explore(s, { reduction: 'por', faultBudget: 0, maxStates: 200_000, keepReducedPaths: true, symmetry: true });
    expect(both.stats.symmetry!.refused).toBe(null);
    expect(ids(both)).toEqual(ids(full));
    expect(both.stats.states * 2.5).toBeLessThan(explore(s, { reduction: 'none', faultBudget: 0, maxStates: 200_000, symmetry: true }).stats.states);
  });
});

describe('models where an unsound reduction misses a finding', () => {
  const probe = (name: keyof typeof reductionProbes, reduction: 'none' | 'por'): ExploreResult =>
    exploreExhaustive(new CompiledModel('reduction-probe', reductionProbes[name]), probeConfig(name), { maxStates: 10_000, maxDepth: 1000, faultBudget: 0, all: true, reduction, keepReducedPaths: true });

  it('order: each flip is visible (each order breaks its own invariant), the warm-ups are not (the path context.noise is read by nothing)', () => {
    const full = probe('order', 'none');
    const reduced = probe('order', 'por');
    expect(ids(full)).toEqual(['invariant:a-first', 'invariant:b-first']);
    expect(ids(reduced)).toEqual(ids(full));
    expect(reduced.stats.reduction!.reducedStates).toBeGreaterThan(0);
    expect(reduced.stats.states).toBeLessThan(full.stats.states);
  });

  it('known bad: a reduction blind to what the invariants read explores one order of the flips and misses a finding', () => {
    const blind = vi.spyOn(NodeViews.prototype, 'projection').mockReturnValue(0);
    try {
      expect(ids(probe('order', 'por'))).toHaveLength(1);
    } finally {
      blind.mockRestore();
    }
  });

  it('ignoring: the spinner cycles by itself, and the cycle proviso still lets the flipper flip', () => {
    const full = probe('ignoring', 'none');
    const reduced = probe('ignoring', 'por');
    expect(ids(full)).toEqual(['invariant:never-flipped']);
    expect(ids(reduced)).toEqual(ids(full));
    expect(reduced.stats.reduction!.reducedStates).toBeGreaterThan(0);
    expect(reduced.stats.reduction!.provisoStates).toBeGreaterThan(0);
  });

  it("watched: a history property that reads p's view makes what it reads visible", () => {
    const full = probe('watched', 'none');
    const reduced = probe('watched', 'por');
    // (once both are through, p waits for ever: a deadlock, found either way)
    expect(ids(full)).toEqual(['deadlock', 'invariant:looked-too-early']);
    expect(ids(reduced)).toEqual(ids(full));
    // (p's warm-up changes nothing the property reads: it is still reduced)
    expect(reduced.stats.reduction!.reducedStates).toBeGreaterThan(0);
  });

  it('known bad: without the cycle proviso the reduction spins for ever and never flips f', () => {
    const never = vi.spyOn(CycleProviso.prototype, 'mayClose').mockReturnValue(false);
    try {
      expect(ids(probe('ignoring', 'por'))).toEqual([]);
    } finally {
      never.mockRestore();
    }
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
