/**
 * The exhaustive explorer remembers common steps by their footprint (untimed-system.ts, "the
 * transition memo"). It must never change a result: these tests explore with and without it and
 * compare everything the search reports, on lock-alternation with faults of every kind, and with
 * history properties that read the global view (whose verdicts depend on the state in the middle
 * of a step, so that the memo has to give up and redo the step directly).
 */
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import type { HistoryProperty, ModelVariant } from '../../src/models/types.js';
import { scenarioFromData } from '../../src/scenario/load.js';
import type { SimConfig } from '../../src/sim/config.js';
import { exploreExhaustive, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { pingPong, pingPongConfig } from '../fixtures/models/ping-pong.js';

const faithful = models['lock-alternation']!.variants.faithful!;

function config(clients: number, rounds: number, extra: Record<string, unknown> = {}): SimConfig {
  const t = faithful.defaults.topology({ clients, rounds });
  return scenarioFromData({ id: 'memo', title: 'memo', protocol: 'lock-alternation', nodes: t.nodes, workload: t.workload, ...extra, expect: { violations: 'none' } }, 'memo')
    .config;
}

function both(variant: ModelVariant, cfg: SimConfig, options: Omit<ExhaustiveOptions, 'memo'>) {
  const run = (memo: boolean) => {
    const r = exploreExhaustive(new CompiledModel('lock-alternation', variant), cfg, { ...options, memo });
    return { ...r, stats: { ...r.stats, elapsedMs: 0 } };
  };
  return { without: run(false), with: run(true) };
}

/** Looks at the messages in flight when a message is shown (from the second on); broken when there are none. */
const busyWhenShown: HistoryProperty<{ shown: number }> = {
  id: 'busy-when-shown',
  description: 'some message is in flight when a message is shown',
  initial: { shown: 0 },
  observe(state, obs, view) {
    if (obs.kind !== 'print' || obs.params.kind !== 'message') return { state };
    // from the second message on only, so that the first read comes late, on a remembered step
    if (state.shown === 0) return { state: { shown: 1 } };
    // read in the middle of the step: the sends that follow the print are not in flight yet
    const inFlight = view.inFlight.length;
    if (inFlight === 0) return { violation: `nothing in flight as ${obs.node} is shown a message` };
    return { state: { shown: Math.min(state.shown + 1, 3) } };
  },
};

/** Reads the node views on every delivery of a reply: some node is running. */
const someoneRunning: HistoryProperty<null> = {
  id: 'someone-running',
  description: 'some node runs when a reply arrives',
  initial: null,
  observe(state, obs, view) {
    if (obs.kind === 'deliver' && obs.from === 'store' && !Object.values(view.nodes).some((n) => n.status === 'running')) {
      return { violation: 'nobody runs' };
    }
    return { state };
  },
};

/**
 * Remembers the receiver's state as each message is delivered, which the node views show before the
 * receiver has taken the message (the monitor steps before the node does).
 */
const receiverBefore: HistoryProperty<{ last: string }> = {
  id: 'receiver-before',
  description: 'remembers the state each message finds its receiver in',
  initial: { last: '' },
  observe(state, obs, view) {
    if (obs.kind !== 'deliver') return { state };
    const to = view.nodes[obs.to]!;
    return { state: { last: `${obs.to}:${String(to.context.myNo ?? '')}:${to.tags.join(',')}` } };
  },
};

/**
 * Counts the PINGs the server is given (up to two) and, from the second on, remembers whether the
 * sender waited. The server never changes, so its steps are remembered with the count at zero and
 * replayed with the count at one: the first look at the view comes on a replayed step.
 */
const secondPing: HistoryProperty<{ count: number; waiting: boolean }> = {
  id: 'second-ping',
  description: 'remembers, from the second PING on, whether its sender waited',
  initial: { count: 0, waiting: false },
  observe(state, obs, view) {
    if (obs.kind !== 'deliver' || obs.msg.type !== 'PING') return { state };
    if (state.count === 0) return { state: { count: 1, waiting: false } };
    return { state: { count: 2, waiting: view.nodes[obs.from]!.tags.includes('waiting') } };
  },
};

/** Counts PINGs up to three (steps before `secondPing`: its step must be undone when the memo gives up). */
const pingCount: HistoryProperty<number> = {
  id: 'ping-count',
  description: 'counts PINGs',
  initial: 0,
  observe: (state, obs) => ({ state: obs.kind === 'deliver' && obs.msg.type === 'PING' ? Math.min(state + 1, 3) : state }),
};

describe('the transition memo changes no result', () => {
  it.each([
    ['3 clients, 1 round, no faults', config(3, 1), 0],
    ['2 clients, 2 rounds, one crash/restart or drop or duplicate', config(2, 2, { randomFaults: { count: 1, kinds: ['crash', 'restart', 'drop', 'duplicate'], windowMs: [0, 10] } }), 1],
    ['2 clients, 1 round, scripted partition, pause and heal', config(2, 1, { faults: [{ kind: 'pause', atMs: 5, node: 'c2' }, { kind: 'partition', atMs: 10, from: ['c1'], to: ['store'] }], healAtMs: 50 }), 0],
    ['2 clients, 1 round, a drop and a duplicate rule, lossy link', config(2, 1, { faults: [{ kind: 'drop', atMs: 0, from: 'c1', msgType: 'SET', count: 1 }, { kind: 'duplicate', atMs: 0, to: 'c2', count: 1 }], network: { links: [{ from: 'store', to: 'c1', lossRatio: 0.1 }] } }), 0],
  ] as const)('%s', (_name, cfg, faultBudget) => {
    const r = both(faithful, cfg, { maxStates: 300_000, maxDepth: 10_000, faultBudget, all: true });
    expect(r.with.stats.complete).toBe(true);
    expect(r.with).toEqual(r.without);
  });

  it('with history properties that read the global view mid-step (the memo gives up, results unchanged)', () => {
    const variant: ModelVariant = { ...faithful, name: 'faithful', properties: [...faithful.properties, busyWhenShown, someoneRunning, receiverBefore] };
    const cfg = config(2, 2, { randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 10] } });
    const r = both(variant, cfg, { maxStates: 300_000, maxDepth: 10_000, faultBudget: 1, all: true });
    expect(r.with).toEqual(r.without);
    // the property that reads the network in the middle of a step does break somewhere
    expect(r.with.findings.map((f) => f.id)).toContain('invariant:busy-when-shown');
  });

  it('with a property that reads the view only when a message is shown (the memo gives up late, on a remembered step)', () => {
    const variant: ModelVariant = { ...faithful, name: 'faithful', properties: [...faithful.properties, busyWhenShown] };
    const r = both(variant, config(2, 2), { maxStates: 300_000, maxDepth: 10_000, faultBudget: 0, all: true });
    expect(r.with).toEqual(r.without);
  });

  it('with a property that first reads the view late, on a step the memo replays (ping-pong)', () => {
    const variant: ModelVariant = { ...pingPong.faithful, properties: [pingCount, secondPing] };
    const run = (memo: boolean) => {
      const r = exploreExhaustive(new CompiledModel('ping-pong', variant), pingPongConfig('faithful', 2, 2), { maxStates: 100_000, maxDepth: 1_000, faultBudget: 0, all: true, memo });
      return { ...r, stats: { ...r.stats, elapsedMs: 0 } };
    };
    const without = run(false);
    expect(run(true)).toEqual(without);
    expect(without.stats.complete).toBe(true);
  });

  it('stopping at the first finding, and cut by maxStates', () => {
    const cfg = config(3, 2, { randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 10] } });
    const first = both(faithful, cfg, { maxStates: 300_000, maxDepth: 10_000, faultBudget: 1 });
    expect(first.with).toEqual(first.without);
    const cut = both(faithful, cfg, { maxStates: 20_000, maxDepth: 10_000, faultBudget: 1, all: true });
    expect(cut.with.stats.limitHit).toBe('maxStates=20000');
    expect(cut.with).toEqual(cut.without);
  });
});
