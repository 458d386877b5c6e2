/**
 * The schedulers of `protosim explore` (src/conformance/explore/schedulers.ts): PCT is a function of
 * its seed and lowers the running client's priority at its change points; the enumeration visits
 * every order within the bound once; PCT's probability bound is 1 / (n · k^(d−1)).
 */
import { describe, expect, it } from 'vitest';
import { ListScheduler, NamedScheduler, nextPrefix, PctScheduler, pctBound } from '../../src/conformance/explore/schedulers.js';

describe('explore schedulers', () => {
  it('PCT: one seed, one schedule; with depth 1 the same client always goes first; depth 2 changes priority once', () => {
    const run = (seed: number, depth: number): string => {
      const s = new PctScheduler(seed, ['c1', 'c2'], 6, depth);
      return Array.from({ length: 6 }, (_, step) => ['c1', 'c2'][s.choose(step, ['c1', 'c2'])]).join(',');
    };
    expect(run(7, 2)).toBe(run(7, 2));
    const depth1 = Array.from({ length: 20 }, (_, seed) => run(seed, 1));
    expect(depth1.every((r) => r === 'c1,c1,c1,c1,c1,c1' || r === 'c2,c2,c2,c2,c2,c2')).toBe(true);
    const depth2 = new Set(Array.from({ length: 40 }, (_, seed) => run(seed, 2)));
    // a change point at step i: the first client runs i + 1 steps, then the other for good
    expect([...depth2].every((r) => /^(c1,)*c1(,c2)*$|^(c2,)*c2(,c1)*$/.test(r))).toBe(true);
    expect(depth2.size).toBeGreaterThan(4);
  });

  it('the enumeration tries every order of two always-waiting clients within 3 steps, each once', () => {
    const seen: string[] = [];
    let prefix: number[] | null = [];
    while (prefix !== null) {
      const list: ListScheduler = new ListScheduler(prefix);
      seen.push(Array.from({ length: 3 }, (_, step) => list.choose(step, ['c1', 'c2'])).join(''));
      prefix = nextPrefix(list.taken);
    }
    expect(seen).toEqual(['000', '001', '010', '011', '100', '101', '110', '111']);
  });

  it('a schedule repeated by names waits for the named client and picks it whoever else is waiting', () => {
    const s = new NamedScheduler(['c2', 'c1']);
    expect(s.awaits(0)).toBe('c2');
    expect(s.choose(0, ['c1', 'c2'])).toBe(1);
    expect(s.choose(0, ['c2', 'c3'])).toBe(0);
    expect(s.choose(1, ['c1', 'c3'])).toBe(0);
    expect(s.awaits(2)).toBeUndefined();
  });

  it("PCT's bound", () => {
    expect(pctBound(2, 8, 2, 1).perSchedule).toBeCloseTo(1 / 16);
    expect(pctBound(2, 8, 2, 100).missAfter).toBeCloseTo(Math.pow(15 / 16, 100));
    expect(pctBound(3, 10, 3, 1).perSchedule).toBeCloseTo(1 / 300);
  });
});
