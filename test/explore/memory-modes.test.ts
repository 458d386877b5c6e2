/**
 * The exhaustive search's memory modes (src/sim/explore/state-table.ts, hash-store.ts): exact
 * storage is tree-compressed and must change nothing; hash-compact and bitstate keep hashes only,
 * so they check safety (deadlock and invariants) and say how likely they missed states. On every
 * protocol, with a fault, on small bounds: the same safety findings with the same shortest lengths
 * as the exact search, when nothing was missed (the omission reported is tiny there); the counts
 * the approximate modes report are what their parameters say; a bit array too small does miss
 * states and says so (known bad).
 */
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { scenarioFromData, type Scenario } from '../../src/scenario/load.js';
import { exploreExhaustive, replayPath, type ExhaustiveOptions } from '../../src/sim/explore/exhaustive.js';
import type { ExploreResult } from '../../src/sim/explore/result.js';
import { CompiledModel } from '../../src/sim/simulator.js';

const protocols = ['lock-alternation', 'status-handshake', 'offline-queue', 'ping-liveness', 'register-exit'];

/** The `check` topology of a protocol with one crash (and perhaps a restart) of any node. */
function withCrash(protocol: string): Scenario {
  const d = models[protocol]!.variants.faithful!.defaults;
  const t = d.topology({ clients: d.clients, rounds: 1 });
  return scenarioFromData(
    { id: 'mem', title: 'mem', protocol, variant: 'faithful', nodes: t.nodes, workload: t.workload, randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000] }, expect: { violations: 'none' } },
    'memory-modes',
  );
}

function explore(s: Scenario, options: Partial<ExhaustiveOptions>): ExploreResult {
  return exploreExhaustive(new CompiledModel(s.model.name, s.variant), s.config, { maxStates: 60_000, maxDepth: 100_000, faultBudget: 1, all: true, ...options });
}

/** Findings the approximate modes check (safety: no lassos), with their shortest lengths. */
const safety = (r: ExploreResult): string[] => r.findings.filter((f) => f.cycleStart === null).map((f) => `${f.id}:${f.step}`);

describe('memory modes: the same safety findings, the same shortest lengths', () => {
  for (const protocol of protocols) {
    it(`${protocol}, one crash, --all`, () => {
      const s = withCrash(protocol);
      const exact = explore(s, { memory: 'exact' });
      for (const memory of ['hash-compact', 'bitstate'] as const) {
        const r = explore(s, { memory, hashBits: 28 });
        const o = r.stats.storage!.omission!;
        expect(o.missedStateProbability).toBeLessThan(0.01);
        expect(r.stats.states).toBe(exact.stats.states);
        expect(r.stats.complete).toBe(exact.stats.complete);
        expect(safety(r)).toEqual(safety(exact));
        for (const f of r.findings) expect(replayPath(new CompiledModel(s.model.name, s.variant), s.config, 1, f.path!).trace.length).toBeGreaterThan(0);
        expect(r.stats.storage!.notChecked.length).toBe(s.config.checks.livelock ? 1 : 0);
      }
    });
  }

  it('stopping at the first finding: the same finding and path as exact storage', () => {
    for (const protocol of protocols) {
      const s = withCrash(protocol);
      const exact = explore(s, { all: false });
      if (exact.findings[0]?.cycleStart !== null) continue; // a lasso: the approximate modes do not look for cycles
      for (const memory of ['hash-compact', 'bitstate'] as const) {
        const r = explore(s, { all: false, memory });
        expect(r.findings.map((f) => [f.id, f.path])).toEqual(exact.findings.map((f) => [f.id, f.path]));
      }
    }
  });

  it('reports the omission as Spin does: hash factor and false positives for bitstate, collisions for hash-compact', () => {
    const s = withCrash('lock-alternation');
    const bit = explore(s, { memory: 'bitstate', hashBits: 20 });
    const o = bit.stats.storage!.omission!;
    expect(o.hashBits).toBe(20);
    expect(o.hashFactor).toBeCloseTo(2 ** 20 / bit.stats.states, 6);
    expect(o.missedStateProbability).toBeCloseTo((1 - Math.exp((-3 * bit.stats.states) / 2 ** 20)) ** 3, 9);
    const hc = explore(s, { memory: 'hash-compact' });
    const n = hc.stats.states;
    expect(hc.stats.storage!.omission!.missedStateProbability).toBeCloseTo((n * (n - 1)) / 2 / 2 ** 64, 20);
  });

  it('known bad: a bit array far too small misses states, and says so', () => {
    const s = withCrash('lock-alternation');
    const exact = explore(s, {});
    const tiny = explore(s, { memory: 'bitstate', hashBits: 10 });
    expect(tiny.stats.states).toBeLessThan(exact.stats.states);
    expect(tiny.stats.storage!.omission!.missedStateProbability).toBeGreaterThan(0.5);
    expect(tiny.stats.storage!.omission!.hashFactor!).toBeLessThan(10);
  });

  it('partial-order reduction needs exact storage', () => {
    expect(() => explore(withCrash('lock-alternation'), { memory: 'bitstate', reduction: 'por' })).toThrow(/needs --memory exact/);
  });

});
