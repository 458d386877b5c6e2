/**
 * Symmetry reduction (src/sim/explore/symmetry.ts) must not change what the exhaustive search
 * reports: on every protocol whose roles have interchangeable nodes, with faults, full and reduced
 * searches report the same finding ids with the same shortest counterexample lengths, in fewer
 * states, and every reduced counterexample is a concrete path that replays (replayPath), naming the
 * nodes it shows. Cycles without progress are checked too (every check is on): a lasso found under
 * symmetry is a concrete path that ends in a state it went through before. The same holds with
 * partial-order reduction on top. The comparison itself is shown to fail on a known-bad pair, and a
 * model that is not symmetric is caught and searched without symmetry.
 */
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import type { ModelVariant } from '../../src/models/types.js';
import { scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { exploreExhaustive, replayPath, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { deadlockSummary } from '../../src/sim/explore/raw-finding.js';
import { UntimedSystem } from '../../src/sim/explore/untimed-system.js';
import { CompiledModel } from '../../src/sim/simulator.js';

/**
 * The `check` topology of a protocol's variant, `clients` clients, `rounds` rounds, with a crash (and
 * restart) of any client; `without`: nodes left out (status-handshake's third client).
 */
function scenarioOf(protocol: string, clients: number, rounds = 1, variant = 'faithful', faults = true, without: string[] = []): Scenario {
  const v = models[protocol]!.variants[variant]!;
  const t = v.defaults.topology({ clients, rounds });
  const nodes = t.nodes.filter((x) => !without.includes(x.id));
  const workload = t.workload.filter((w) => !without.includes(w.node));
  const clientIds = nodes.filter((x) => x.role === 'client').map((x) => x.id);
  const randomFaults = faults ? { randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000], nodes: clientIds } } : {};
  return scenarioFromData({ id: 'sym', title: 'sym', protocol, variant, nodes, workload, ...randomFaults, expect: { violations: 'none' } }, 'symmetry');
}

function explore(s: Scenario, options: Partial<ExhaustiveOptions>, variant?: ModelVariant): ExploreResult {
  // (under symmetry, every cycle's fairness is decided from the quotient and concretely, and the two must agree)
  return exploreExhaustive(new CompiledModel(s.model.name, variant ?? s.variant), s.config, { maxStates: 400_000, maxDepth: 100_000, faultBudget: 1, all: true, checkQuotientFairness: true, ...options });
}

/** Finding ids with their lengths, as the differential compares them. */
const summary = (r: ExploreResult): string[] => r.findings.map((f) => `${f.id}:${f.step}`);

/** Full against reduced: same findings and lengths, fewer states, every reduced path replays concretely. */
function differential(s: Scenario, faultBudget: number, maxDepth?: number): { full: ExploreResult; reduced: ExploreResult } {
  const bound = maxDepth !== undefined ? { maxDepth } : {};
  const full = explore(s, { faultBudget, ...bound });
  const reduced = explore(s, { faultBudget, symmetry: true, ...bound });
  // (within a depth bound, both searches cover every state up to it: the same findings up to it)
  expect(full.stats.limitHit ?? 'none').toBe(maxDepth !== undefined ? `maxDepth=${maxDepth}` : 'none');
  expect(reduced.stats.limitHit).toBe(full.stats.limitHit);
  expect(reduced.stats.symmetry!.refused).toBeNull();
  expect(reduced.stats.states).toBeLessThan(full.stats.states);
  expect(summary(reduced)).toEqual(summary(full));
  expectReplays(s, faultBudget, reduced);
  return { full, reduced };
}

/** Every counterexample of `reduced` is a concrete path: it replays, and its trace and summary name the scenario's nodes. */
function expectReplays(s: Scenario, faultBudget: number, reduced: ExploreResult): void {
  const ids = new Set(s.config.nodes.map((x) => x.id));
  for (const f of reduced.findings) {
    const replay = replayPath(new CompiledModel(s.model.name, s.variant), s.config, faultBudget, f.path!);
    expect(replay.trace.length).toBeGreaterThan(0);
    // the trace shown is the concrete path's: it names nodes of the scenario, and a state invariant it breaks is broken at its end
    for (const e of f.trace) if ('node' in e) expect(ids.has(String(e.node))).toBe(true);
    if (f.kind === 'invariant' && replay.broken !== null) expect(replay.broken.id).toBe(f.id);
    // the summary is the one the system without symmetry gives at the end of this concrete path
    expect(summaryAtEnd(s, faultBudget, f.kind, f.path!, f.cycleStart !== null)).toBe(f.summary);
  }
}

/** The states of the system without symmetry along `path`, each as a string. */
function statesAlong(s: Scenario, faultBudget: number, path: readonly number[]): string[] {
  const sys = new UntimedSystem(new CompiledModel(s.model.name, s.variant), s.config, { faultBudget });
  const vec = sys.initial();
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  const out = [vec.join(',')];
  for (const k of path) {
    sys.enumerate(vec, events, labels);
    sys.apply(vec, events[k]!, null);
    out.push(vec.join(','));
  }
  return out;
}

/** The summary of a finding of `kind` at the end of `path`, by a system without symmetry. */
function summaryAtEnd(s: Scenario, faultBudget: number, kind: string, path: readonly number[], lasso: boolean): string | null {
  const sys = new UntimedSystem(new CompiledModel(s.model.name, s.variant), s.config, { faultBudget });
  const vec = sys.initial();
  const events = new Int32Array(sys.maxEvents);
  const labels = new Int32Array(sys.maxEvents);
  let broke = -1;
  for (const k of path) {
    sys.enumerate(vec, events, labels);
    broke = sys.apply(vec, events[k]!, null);
  }
  if (lasso) {
    // a lasso: the path ends where its cycle began, a state it went through before
    const states = statesAlong(s, faultBudget, path);
    expect(states.indexOf(states[states.length - 1]!)).toBeLessThan(states.length - 1);
    const names = sys.unfinished(vec).map((i) => sys.nodeName(i)).join(', ');
    return kind === 'deadlock' ? `deadlock: ${names} wait${names.includes(',') ? '' : 's'} for ever, polling without progress (the same states repeat with nothing shown to anyone)` : `livelock: ${names} keep${names.includes(',') ? '' : 's'} running through the same states without progress`;
  }
  if (kind === 'deadlock') return deadlockSummary(sys.unfinished(vec).map((i) => sys.nodeName(i)));
  return broke >= 0 ? sys.violation(broke).summary : (sys.checkInvariants(vec)?.summary ?? null);
}

/** The full search of lock-alternation with 3 clients and a crash (about 500,000 states), made once. */
let threeClients: ExploreResult | null = null;
const fullThreeClients = (): ExploreResult => (threeClients ??= explore(scenarioOf('lock-alternation', 3), { maxStates: 600_000 }));

describe('symmetry reduction: the same findings, the same shortest lengths, fewer states', () => {
  it('lock-alternation, 3 clients, one crash among them, --all', () => {
    const s = scenarioOf('lock-alternation', 3);
    const full = fullThreeClients();
    const reduced = explore(s, { symmetry: true });
    expect(full.stats.complete && reduced.stats.complete).toBe(true);
    expect(summary(reduced)).toEqual(summary(full));
    expectReplays(s, 1, reduced);
    expect(reduced.stats.symmetry!.classes).toEqual([['c1', 'c2', 'c3']]);
    expect(reduced.findings.length).toBeGreaterThan(0);
    expect(reduced.stats.states * 3).toBeLessThan(full.stats.states);
  });

  it('lock-alternation fixed, 2 clients, one crash, 30 steps deep', () => {
    differential(scenarioOf('lock-alternation', 2, 1, 'fixed'), 1, 30);
  });

  it('status-handshake, 2 clients (without the third, who is not like them), one crash', () => {
    const { reduced } = differential(scenarioOf('status-handshake', 2, 1, 'faithful', true, ['third']), 1);
    expect(reduced.stats.symmetry!.classes).toEqual([['c1', 'c2']]);
    expect(reduced.findings.length).toBeGreaterThan(0);
  });

  it('status-handshake fixed, 2 clients, one crash, 30 steps deep', () => {
    differential(scenarioOf('status-handshake', 2, 1, 'fixed', true, ['third']), 1, 30);
  });

  for (const protocol of ['offline-queue', 'ping-liveness', 'register-exit']) {
    it(`${protocol}: the clients are not symmetric (each is a user of its own), the search says so and is the search without it`, () => {
      const s = scenarioOf(protocol, 2);
      const full = explore(s, { faultBudget: 1, maxStates: 50_000 });
      const reduced = explore(s, { faultBudget: 1, maxStates: 50_000, symmetry: true });
      const sym = reduced.stats.symmetry!;
      // their users are told apart by data that is not a node name (user names, accounts): when
      // that becomes a name set of its own, this turns into a differential test as above
      expect(sym.refused).toEqual(expect.any(String));
      expect(summary(reduced)).toEqual(summary(full));
      expect(reduced.stats.states).toBe(full.stats.states);
      for (const f of reduced.findings) expect(replayPath(new CompiledModel(s.model.name, s.variant), s.config, 1, f.path!).trace.length).toBeGreaterThan(0);
    });
  }

  it('without --all, the first finding is at the depth of the full search\'s first', () => {
    const s = scenarioOf('lock-alternation', 3);
    const full = explore(s, { all: false });
    const reduced = explore(s, { all: false, symmetry: true });
    expect(reduced.findings.map((f) => f.step)).toEqual(full.findings.map((f) => f.step));
  });
});

describe('symmetry reduction: what it refuses', () => {
  it('the comparison can fail: a search cut shallower than a finding is told apart', () => {
    const s = scenarioOf('lock-alternation', 3);
    const full = fullThreeClients();
    const deepest = Math.max(...full.findings.map((f) => f.step));
    const cut = explore(s, { symmetry: true, maxDepth: deepest - 1 });
    expect(summary(cut)).not.toEqual(summary(full));
  });

  it('a model that treats one client by its name is not symmetric: caught, and searched without symmetry', () => {
    const s = scenarioOf('lock-alternation', 3, 1, 'faithful', false);
    const base = s.variant;
    // the property reads names: c1 may never write a message (a rule no permutation keeps)
    const biased: ModelVariant = {
      ...base,
      properties: [
        ...base.properties,
        {
          id: 'c1-silent',
          description: 'c1 never writes a message',
          initial: {},
          observe: (st, obs) => (obs.kind === 'deliver' && obs.from === 'c1' && obs.msg.type === 'SET' && obs.msg.key === 'message' ? { violation: 'c1 wrote' } : { state: st }),
        },
      ],
    };
    const full = explore(s, { faultBudget: 0 }, biased);
    const reduced = explore(s, { faultBudget: 0, symmetry: true }, biased);
    expect(reduced.stats.symmetry!.refused).toMatch(/not symmetric/);
    expect(summary(reduced)).toEqual(summary(full));
    expect(reduced.stats.states).toBe(full.stats.states);
  });

  it('nodes the scenario treats differently are not put in a class', () => {
    const s = scenarioOf('status-handshake', 2, 1, 'faithful', false);
    const reduced = explore(s, { faultBudget: 0, symmetry: true, maxStates: 20_000, all: false });
    expect(reduced.stats.symmetry!.classes.flat()).not.toContain('third');
  });

  it('cycles without progress are checked under symmetry: a polling deadlock, found as a concrete lasso', () => {
    const v = models['lock-alternation']!.variants.faithful!;
    const t = v.defaults.topology({ clients: 3, rounds: 1 });
    const s = scenarioFromData({ id: 'sym', title: 'sym', protocol: 'lock-alternation', nodes: t.nodes, workload: t.workload, expect: { violations: 'none' } }, 'symmetry');
    const full = explore(s, { faultBudget: 0 });
    const reduced = explore(s, { faultBudget: 0, symmetry: true });
    expect(reduced.stats.storage!.notChecked).toEqual([]);
    expect(summary(reduced)).toEqual(summary(full));
    // the deadlock is a polling cycle, not a quiescent state: only the cycle check finds it
    const cycle = reduced.findings.find((f) => f.id === 'deadlock')!;
    expect(cycle.cycleStart).not.toBeNull();
    expectReplays(s, 0, reduced);
  });
});

describe('symmetry and partial-order reduction together', () => {
  it('lock-alternation, 3 clients, one crash among them, --all: the findings and lengths of the full search, fewer states than either alone', () => {
    const s = scenarioOf('lock-alternation', 3);
    const full = fullThreeClients();
    const both = explore(s, { symmetry: true, reduction: 'por' });
    expect(both.stats.complete).toBe(true);
    expect(both.stats.symmetry!.refused).toBeNull();
    expect(summary(both)).toEqual(summary(full));
    expectReplays(s, 1, both);
    expect(both.stats.states).toBeLessThan(explore(s, { symmetry: true }).stats.states);
  });

  it('lock-alternation, 3 clients, 2 rounds, no faults, --all and first stop', () => {
    const v = models['lock-alternation']!.variants.faithful!;
    const t = v.defaults.topology({ clients: 3, rounds: 2 });
    const s = scenarioFromData({ id: 'sym', title: 'sym', protocol: 'lock-alternation', nodes: t.nodes, workload: t.workload, expect: { violations: 'none' } }, 'symmetry');
    const full = explore(s, { faultBudget: 0 });
    const both = explore(s, { faultBudget: 0, symmetry: true, reduction: 'por' });
    expect(summary(both)).toEqual(summary(full));
    expectReplays(s, 0, both);
    const first = explore(s, { faultBudget: 0, all: false });
    const firstBoth = explore(s, { faultBudget: 0, all: false, symmetry: true, reduction: 'por' });
    expect(summary(firstBoth)).toEqual(summary(first));
  });

  for (const variant of ['faithful', 'fixed']) {
    it(`status-handshake ${variant}, 2 clients, one crash`, () => {
      const s = scenarioOf('status-handshake', 2, 1, variant, true, ['third']);
      const full = explore(s, {});
      const both = explore(s, { symmetry: true, reduction: 'por' });
      expect(summary(both)).toEqual(summary(full));
      expectReplays(s, 1, both);
      // (two searches of 400,000 states and a reduced one started over as who-talks-to-whom grows:
      // about 25 s on a quiet 2-core machine, more on a shared one)
    }, 180_000);
  }
});
