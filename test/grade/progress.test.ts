/**
 * Progress of long runs: the reporter's rate and clear (used by grade and the live runners), and
 * the exhaustive explorer's progress callback, which gets counts only and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/report/progress.js';
import { exploreExhaustive, type ExhaustiveProgress } from '../../src/sim/explore/exhaustive.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { pingPong, pingPongConfig } from '../fixtures/models/ping-pong.js';

describe('progress reporter', () => {
  it('shows the rate of the items counted when asked (states/s)', () => {
    let now = 0;
    const out: string[] = [];
    const p = createProgress({ write: (s) => out.push(s), isTTY: false, label: 'states', clock: () => now, quietMs: 0, rate: true });
    now = 2000;
    p.update(50_000, 100_000, { transitions: 300_000 });
    expect(out).toEqual(['states 50000/100000 (50%, 25000/s) · 300000 transitions (150000 transitions/s) · 2.0 s\n']);
  });

  it('clears its terminal line so other output can be written, then draws again at once', () => {
    let now = 0;
    const out: string[] = [];
    const p = createProgress({ write: (s) => out.push(s), isTTY: true, label: 'cases', clock: () => now, quietMs: 0, throttleMs: 1000 });
    now = 10;
    p.update(1, 4);
    p.clear();
    now = 20; // within the throttle, but the line was cleared: it comes back
    p.update(2, 4);
    expect(out).toEqual(['\rcases 1/4 (25%) · 0.0 s\u001b[K', '\r\u001b[K', '\rcases 2/4 (50%) · 0.0 s\u001b[K']);
  });

  it('clears nothing on a plain output, nor before anything was shown', () => {
    const out: string[] = [];
    const plain = createProgress({ write: (s) => out.push(s), isTTY: false, label: 'cases', clock: () => 5000, quietMs: 0 });
    plain.update(1, 2);
    plain.clear();
    const quiet = createProgress({ write: (s) => out.push(s), isTTY: true, label: 'cases', clock: () => 0, quietMs: 1000 });
    quiet.update(1, 2);
    quiet.clear();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^cases 1\/2 \(50%\)/);
  });
});

describe('exhaustive explorer progress', () => {
  it('reports growing counts every progressEvery expanded states and finds the same as without', () => {
    const model = new CompiledModel('ping-pong', pingPong.faithful);
    const config = pingPongConfig('faithful', 3, 2);
    const bounds = { maxStates: 100_000, maxDepth: 1_000, faultBudget: 0, all: true };
    const calls: ExhaustiveProgress[] = [];
    const withProgress = exploreExhaustive(model, config, { ...bounds, onProgress: (p) => calls.push(p), progressEvery: 10 });
    const without = exploreExhaustive(model, config, bounds);
    expect({ ...withProgress.stats, elapsedMs: 0 }).toEqual({ ...without.stats, elapsedMs: 0 });
    expect(withProgress.findings).toEqual(without.findings);
    expect(calls.length).toBe(Math.floor((withProgress.stats.states - 1) / 10));
    calls.forEach((c, i) => {
      expect(c.expanded).toBe((i + 1) * 10);
      expect(c.states).toBeGreaterThan(c.expanded);
      if (i > 0) expect(c.transitions).toBeGreaterThan(calls[i - 1]!.transitions);
      expect(c.states).toBeLessThanOrEqual(withProgress.stats.states);
    });
  });
});
