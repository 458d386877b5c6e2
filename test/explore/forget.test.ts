/**
 * History properties that forget (the `forget` hook, src/models/types.ts; src/sim/explore/presence.ts)
 * must report exactly what the whole history reports. `no-message-shown-twice` keeps the messages
 * each client was shown; it now drops those whose text is nowhere in the state any more. Here the
 * old monitor (kept below as it was, without the hook) and the new one are run side by side, on
 * every model and variant that uses the property, with a crash (and a fresh or kept restart) of any
 * client: the same finding ids with the same shortest counterexample lengths, without and with
 * partial-order reduction and symmetry. status-handshake's `no-own-message` (the writer of every
 * text) forgets the same way and is compared the same way. A monitor that forgets too much is shown
 * to fail the comparison.
 */
import { describe, expect, it, vi } from 'vitest';
import { resolve } from 'node:path';
import { models } from '../../src/models/index.js';
import { noMessageShownTwice } from '../../src/models/lock-alternation/invariants.js';
import { noOwnMessage } from '../../src/models/status-handshake/properties.js';
import type { HistoryProperty, ModelVariant, Observation } from '../../src/models/types.js';
import { loadScenarioFile, scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { exploreExhaustive, replayPath, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import { Presence } from '../../src/sim/explore/presence.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { CompiledModel } from '../../src/sim/simulator.js';

/** The monitor as it was before it could forget: every (client, text) shown, for ever. */
const wholeHistory: HistoryProperty<{ shown: string[] }> = {
  id: 'no-message-shown-twice',
  description: 'no message is shown twice',
  initial: { shown: [] },
  observe(state, obs: Observation) {
    if (obs.kind !== 'print' || obs.params.kind !== 'message') return { state };
    const key = `${obs.node}|${obs.params.text}`;
    if (state.shown.includes(key)) {
      return { violation: `${obs.node} was shown ${JSON.stringify(obs.params.text)} a second time` };
    }
    return { state: { shown: [...state.shown, key].sort() } };
  },
  renameNodes: (state, rename) => ({ shown: rename(state.shown).sort() }),
};

/** status-handshake's no-own-message before it could forget: the writer of every text written, for ever (its `observe` is unchanged). */
const { forget: _forget, ...everyWriter } = noOwnMessage;
const wholeHistories: HistoryProperty<any>[] = [wholeHistory, everyWriter];

/** Known bad: forgets every message shown, though it may be shown again. */
const forgetsTooMuch: HistoryProperty<{ shown: string[] }> = {
  ...noMessageShownTwice,
  forget: (state) => (state.shown.length === 0 ? state : { shown: [] }),
};

/** `variant` with its properties of the ids of `props` replaced by them. */
function withMonitor(variant: ModelVariant, ...props: HistoryProperty<any>[]): ModelVariant {
  expect(variant.properties.some((p) => p.id === props[0]!.id)).toBe(true);
  return { ...variant, properties: variant.properties.map((p) => props.find((q) => q.id === p.id) ?? p) };
}

/**
 * The `check` topology, `clients` clients and `rounds` rounds, with a crash (and a fresh or kept
 * restart) of any client; `without`: nodes left out (status-handshake's third client); `lines`:
 * other lines for the people to type.
 */
function scenario(protocol: string, variant: string, clients: number, rounds: number, without: string[] = [], lines?: Record<string, string[]>): Scenario {
  const t = models[protocol]!.variants[variant]!.defaults.topology({ clients, rounds });
  const nodes = t.nodes.filter((x) => !without.includes(x.id));
  const workload = t.workload.filter((w) => !without.includes(w.node)).map((w) => ({ ...w, messages: lines?.[w.node] ?? w.messages }));
  const randomFaults = { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000], nodes: nodes.filter((x) => x.role === 'client').map((x) => x.id) };
  return scenarioFromData({ id: 'forget', title: 'forget', protocol, variant, nodes, workload, randomFaults, expect: { violations: 'none' } }, 'forget');
}

function explore(s: Scenario, variant: ModelVariant, options: Partial<ExhaustiveOptions>): ExploreResult {
  return exploreExhaustive(new CompiledModel(s.model.name, variant), s.config, { maxStates: 400_000, maxDepth: 100_000, faultBudget: 1, all: true, ...options });
}

const summary = (r: ExploreResult): string[] => r.findings.map((f) => `${f.id}:${f.step}`);

/** Old against new on one scenario; returns both results. */
function compare(s: Scenario, options: Partial<ExhaustiveOptions>): { old: ExploreResult; now: ExploreResult } {
  const old = explore(s, withMonitor(s.variant, ...wholeHistories), options);
  const now = explore(s, s.variant, options);
  // (within a depth bound, both searches cover every state up to it: the same findings up to it)
  const limit = options.maxDepth !== undefined ? `maxDepth=${options.maxDepth}` : null;
  expect(old.stats.limitHit).toBe(limit);
  expect(now.stats.limitHit).toBe(limit);
  if (limit === null) expect(old.stats.complete && now.stats.complete).toBe(true);
  expect(summary(now)).toEqual(summary(old));
  expect(now.stats.runsWithFinding['invariant:no-message-shown-twice'] !== undefined).toBe(old.stats.runsWithFinding['invariant:no-message-shown-twice'] !== undefined);
  expect(now.stats.states).toBeLessThanOrEqual(old.stats.states);
  for (const f of now.findings) expect(replayPath(new CompiledModel(s.model.name, s.variant), s.config, 1, f.path!).trace.length).toBeGreaterThan(0);
  return { old, now };
}

describe('no-message-shown-twice: forgetting keeps every finding and every shortest length', () => {
  const deadlock = loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml'));
  const apart = loadScenarioFile(resolve(__dirname, '../../scenarios/lock-alternation/started-apart.yaml'));

  it('the models that use it', () => {
    const users = Object.entries(models).flatMap(([name, m]) =>
      Object.entries(m.variants).filter(([, v]) => v.properties.some((p) => p.id === 'no-message-shown-twice')).map(([vn]) => `${name}/${vn}`),
    );
    expect(users.sort()).toEqual(['lock-alternation/faithful', 'lock-alternation/fixed', 'status-handshake/faithful', 'status-handshake/fixed']);
  });

  it('deadlock.yaml and started-apart.yaml (lock-alternation, 2 clients), one fault: the property is broken, found the same', () => {
    for (const s of [deadlock, apart]) expect(summary(compare(s, {}).old)).toContain('invariant:no-message-shown-twice:33');
  });

  it('the same with partial-order reduction, and with symmetry', () => {
    compare(deadlock, { reduction: 'por' });
    compare(apart, { reduction: 'por', keepReducedPaths: true });
    compare(apart, { symmetry: true });
  });

  for (const variant of ['faithful', 'fixed']) {
    // (the fixed clients' leases make spaces far bigger: searched 30 steps deep)
    const rounds = variant === 'fixed' ? 1 : 2;
    const bound = variant === 'fixed' ? { maxDepth: 30 } : {};
    it(`lock-alternation ${variant}, 2 clients, ${rounds} rounds, one fault (with and without reduction)`, () => {
      const s = scenario('lock-alternation', variant, 2, rounds);
      compare(s, { ...bound });
      compare(s, { reduction: 'por', ...bound });
    });

    it(`status-handshake ${variant}, 2 clients, ${rounds} rounds, one fault`, () => {
      const s = scenario('status-handshake', variant, 2, rounds, ['third']);
      compare(s, { reduction: 'por', ...bound });
      compare(s, { symmetry: true, ...bound });
    });

    it(`status-handshake ${variant}, lines with white space around them (shown trimmed), one fault`, () => {
      const s = scenario('status-handshake', variant, 2, rounds, ['third'], variant === 'fixed' ? { c1: [' hi '], c2: ['hi'] } : { c1: [' hi ', 'hi'], c2: ['  ', 'hi  '] });
      compare(s, { reduction: 'por', ...bound });
    });
  }

  it('lock-alternation, 3 clients, 1 round, a crash of any client, symmetry and reduction: fewer states, the same findings', () => {
    const s = scenario('lock-alternation', 'faithful', 3, 1);
    const { old, now } = compare(s, { symmetry: true, reduction: 'por' });
    expect(summary(old)).toContain('invariant:no-message-shown-twice:33');
    expect(now.stats.states).toBeLessThan(old.stats.states);
  });

  it('lock-alternation, 3 clients, 3 rounds, no faults, symmetry and reduction: the same, fewer states', () => {
    const s = scenario('lock-alternation', 'faithful', 3, 3);
    const { old, now } = compare(s, { symmetry: true, reduction: 'por', faultBudget: 0 });
    expect(now.stats.states).toBeLessThan(old.stats.states);
  });

  it('known bad: a monitor that forgets what may still be shown misses the finding, and the comparison says so', () => {
    const s = loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml'));
    const old = explore(s, withMonitor(s.variant, wholeHistory), {});
    const bad = explore(s, withMonitor(s.variant, forgetsTooMuch), {});
    expect(summary(old)).toContain('invariant:no-message-shown-twice:33');
    expect(summary(bad)).not.toEqual(summary(old));
    // and it is forgetting that misses it: the same monitor with forgetting off finds it
    expect(summary(explore(s, withMonitor(s.variant, forgetsTooMuch), { forget: false }))).toEqual(summary(old));
  });

  it('known bad: presence blind to the nodes (the store holding a text shown before) misses the finding', () => {
    const s = loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml'));
    const spy = vi.spyOn(Presence.prototype as unknown as { localSet: () => Set<string> }, 'localSet').mockReturnValue(new Set());
    try {
      const blind = explore(s, s.variant, {});
      expect(summary(blind)).not.toContain('invariant:no-message-shown-twice:33');
    } finally {
      spy.mockRestore();
    }
    expect(summary(explore(s, s.variant, {}))).toContain('invariant:no-message-shown-twice:33');
  });
});
