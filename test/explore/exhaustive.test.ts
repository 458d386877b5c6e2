import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { exploreExhaustive, replayPath } from '../../src/sim/explore/exhaustive.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { pingPong, pingPongConfig } from '../fixtures/models/ping-pong.js';

const bounds = { maxStates: 100_000, maxDepth: 1_000, faultBudget: 0, all: true };

describe('exhaustive search on models counted by hand', () => {
  it.each([1, 2, 3, 5])('one pinger, %i rounds: 3 + 2k states, 2 + 2k transitions, complete, nothing found', (k) => {
    const r = exploreExhaustive(new CompiledModel('ping-pong', pingPong.faithful), pingPongConfig('faithful', 1, k), bounds);
    // not started -> server up -> PING 1 in flight, then per round: PONG in flight, next PING in flight (or done)
    expect(r.stats).toMatchObject({ states: 3 + 2 * k, transitions: 2 + 2 * k, depth: 2 + 2 * k, complete: true, limitHit: null });
    expect(r.findings).toEqual([]);
  });

  it('two independent pingers of one round: 1 + 4 x 4 states, 25 transitions, depth 7', () => {
    // each pinger: not started, PING in flight, PONG in flight, done; independent of the other
    const r = exploreExhaustive(new CompiledModel('ping-pong', pingPong.faithful), pingPongConfig('faithful', 2, 1), bounds);
    expect(r.stats).toMatchObject({ states: 17, transitions: 25, depth: 7, complete: true });
  });

  it('a server that never answers: a quiescent deadlock after exactly 3 steps', () => {
    const r = exploreExhaustive(new CompiledModel('ping-pong', pingPong.mute), pingPongConfig('mute', 1, 1), { ...bounds, all: false });
    expect(r.findings.map((f) => [f.id, f.step])).toEqual([['deadlock', 3]]);
    const f = r.findings[0]!;
    expect(f.summary).toContain('nothing can happen any more');
    expect(f.path).toHaveLength(3);
    expect(r.stats.complete).toBe(false); // stopped at the first finding
    expect(f.trace.filter((e) => e.k === 'deliver')).toHaveLength(1);
    expect(f.nodes.find((n) => n.id === 'p1')?.waitsFor).toBe('a PONG');
  });

  it('an invariant broken in 3 steps is reported with a 3-step path that replays to the violation', () => {
    const model = new CompiledModel('ping-pong', pingPong.exclusive);
    const config = pingPongConfig('exclusive', 2, 1);
    const r = exploreExhaustive(model, config, { ...bounds, all: false });
    expect(r.findings.map((f) => [f.id, f.step])).toEqual([['invariant:one-pinger-waits', 3]]);
    const replay = replayPath(model, config, 0, r.findings[0]!.path!);
    expect(replay.broken?.id).toBe('invariant:one-pinger-waits');
  });

  it('names the bound it hits: maxStates and maxDepth', () => {
    const model = new CompiledModel('ping-pong', pingPong.faithful);
    const byStates = exploreExhaustive(model, pingPongConfig('faithful', 2, 2), { ...bounds, maxStates: 10 });
    expect(byStates.stats).toMatchObject({ complete: false, limitHit: 'maxStates=10', states: 10 });
    const byDepth = exploreExhaustive(model, pingPongConfig('faithful', 1, 3), { ...bounds, maxDepth: 4 });
    expect(byDepth.stats).toMatchObject({ complete: false, limitHit: 'maxDepth=4', depth: 4 });
  });

  it('faults within the budget: a crashed server is a deadlock for a waiting pinger', () => {
    const model = new CompiledModel('ping-pong', pingPong.faithful);
    const config = { ...pingPongConfig('faithful', 1, 1), randomFaults: { count: 1, kinds: ['crash' as const], windowStartMs: 0, windowEndMs: 1, nodes: ['server'] } };
    expect(exploreExhaustive(model, config, { ...bounds, faultBudget: 0 }).findings).toEqual([]);
    const r = exploreExhaustive(model, config, { ...bounds, faultBudget: 1 });
    expect(r.findings.map((f) => f.id)).toEqual(['deadlock']);
    expect(r.findings[0]!.trace.some((e) => e.k === 'fault')).toBe(true);
  });
});

describe('exhaustive search on lock-alternation', () => {
  const scenario = loadScenarioFile(resolve(__dirname, '../../scenarios/deadlock.yaml'));
  const model = new CompiledModel(scenario.model.name, scenario.variant);

  it('finds the start-up race as a fair polling cycle whose lasso shows both clients polling', () => {
    const r = exploreExhaustive(model, scenario.config, { maxStates: 1_000_000, maxDepth: 1_000, faultBudget: 0 });
    const f = r.findings[0]!;
    expect(f.id).toBe('deadlock');
    expect(f.diagnosis).toContain('check-then-set race');
    expect(f.cycleStart).not.toBeNull();
    const cycle = f.trace.slice(f.cycleStart!);
    // weakly fair: both clients' poll timers fire inside the cycle
    expect(new Set(cycle.filter((e) => e.k === 'timer').map((e) => (e as { node: string }).node))).toEqual(new Set(['c1', 'c2']));
  });

  it('--all with the whole space: complete, with every finding id once', () => {
    const r = exploreExhaustive(model, scenario.config, { maxStates: 1_000_000, maxDepth: 1_000, faultBudget: 0, all: true });
    expect(r.stats.complete).toBe(true);
    expect(r.stats.states).toBeGreaterThan(500);
    expect(new Set(r.findings.map((f) => f.id)).size).toBe(r.findings.length);
  });
});
