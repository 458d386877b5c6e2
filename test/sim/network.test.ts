/**
 * Network properties of the simulator, as properties over seeds (fast-check): FIFO links keep
 * order, no loss means every message arrives, a partition delivers nothing across it until it
 * heals, and a crash with reset closes the peer's connection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultChecks, defaultLimits, type FaultSpec, type LinkConfig, type SimConfig } from '../../src/sim/config.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import type { TraceEvent } from '../../src/sim/trace.js';
import { netprobe } from '../fixtures/models/netprobe.js';

const compiled = new CompiledModel('netprobe', netprobe.variants.faithful!);

function config(link: Partial<LinkConfig>, faults: FaultSpec[] = [], count = 20): SimConfig {
  return {
    protocol: 'netprobe',
    variant: 'faithful',
    nodes: [
      { id: 'rx', role: 'receiver', startAt: { kind: 'fixed', ms: 0 }, params: {} },
      { id: 'tx', role: 'sender', startAt: { kind: 'fixed', ms: 1 }, params: { peer: 'rx', count } },
    ],
    network: {
      default: { delay: { kind: 'uniform', minMs: 1, maxMs: 50 }, lossRatio: 0, duplicateRatio: 0, reorderRatio: 0, fifo: true, ...link },
      links: [],
    },
    workload: [],
    faults,
    randomFaults: null,
    healAtMs: null,
    checks: defaultChecks,
    limits: defaultLimits,
  };
}

const shown = (trace: TraceEvent[]): number[] =>
  trace.filter((e): e is Extract<TraceEvent, { k: 'print' }> => e.k === 'print' && e.kind === 'message').map((e) => Number(e.text));
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe('network', () => {
  it('a FIFO link keeps order', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const got = shown(simulate(compiled, config({ fifo: true }), s, { trace: true }).trace);
        expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }),
      { numRuns: 100 },
    );
  });

  it('a non-FIFO link with random delays does reorder (so the FIFO test can fail)', () => {
    const reordered = Array.from({ length: 20 }, (_, s) => shown(simulate(compiled, config({ fifo: false }), s, { trace: true }).trace)).some(
      (got) => got.some((n, i) => i > 0 && n < got[i - 1]!),
    );
    expect(reordered).toBe(true);
  });

  it('with no loss every message arrives exactly once; with loss some do not', () => {
    fc.assert(
      fc.property(seed, fc.boolean(), (s, fifo) => {
        const got = shown(simulate(compiled, config({ fifo, lossRatio: 0 }), s, { trace: true }).trace);
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }),
      { numRuns: 100 },
    );
    const lossy = shown(simulate(compiled, config({ lossRatio: 0.5 }), 7, { trace: true }).trace);
    expect(lossy.length).toBeLessThan(20);
  });

  it('duplication delivers some messages twice', () => {
    const got = shown(simulate(compiled, config({ duplicateRatio: 0.5 }), 3, { trace: true }).trace);
    expect(got.length).toBeGreaterThan(20);
  });

  it('a partition delivers nothing across it until it heals (held on FIFO links, dropped on datagram links)', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 100, max: 5000 }), fc.boolean(), (s, healAt, fifo) => {
        const faults: FaultSpec[] = [
          { kind: 'partition', atMs: 0, from: ['tx'], to: ['rx'], direction: 'one-way' },
          { kind: 'heal', atMs: healAt },
        ];
        const trace = simulate(compiled, config({ fifo }, faults), s, { trace: true }).trace;
        const deliveries = trace.filter((e) => e.k === 'deliver');
        for (const d of deliveries) expect(d.t).toBeGreaterThanOrEqual(healAt);
        if (fifo) expect(shown(trace)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        else expect(deliveries).toHaveLength(0);
      }),
      { numRuns: 60 },
    );
  });

  it('a one-way partition blocks only its direction', () => {
    const faults: FaultSpec[] = [{ kind: 'partition', atMs: 0, from: ['rx'], to: ['tx'], direction: 'one-way' }];
    const trace = simulate(compiled, config({}, faults), 1, { trace: true }).trace;
    expect(shown(trace)).toHaveLength(20);
  });

  it('a crash with reset closes the peer connection; a silent crash does not tell it', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const reset = simulate(compiled, config({}, [{ kind: 'crash', atMs: 5, node: 'rx', mode: 'reset' }]), s, { trace: true }).trace;
        expect(reset.some((e) => e.k === 'conn' && e.node === 'tx' && e.event === 'reset')).toBe(true);
        expect(reset.some((e) => e.k === 'print' && e.node === 'tx' && e.text === 'reset by rx')).toBe(true);
        // nothing sent before the crash is delivered after it
        expect(reset.filter((e) => e.k === 'deliver' && e.t > 5)).toHaveLength(0);
        const silent = simulate(compiled, config({}, [{ kind: 'crash', atMs: 5, node: 'rx', mode: 'silent' }]), s, { trace: true }).trace;
        expect(silent.some((e) => e.k === 'conn')).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('a paused node receives nothing until it resumes, then everything in order', () => {
    const faults: FaultSpec[] = [
      { kind: 'pause', atMs: 0, node: 'rx' },
      { kind: 'resume', atMs: 2000, node: 'rx' },
    ];
    const trace = simulate(compiled, config({}, faults), 5, { trace: true }).trace;
    const prints = trace.filter((e) => e.k === 'print' && e.kind === 'message');
    expect(prints.every((e) => e.t >= 2000)).toBe(true);
    expect(shown(trace)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('scripted drop and duplicate faults hit the next matching message', () => {
    const drop = shown(simulate(compiled, config({}, [{ kind: 'drop', atMs: 0, from: 'tx', to: 'rx', msgType: 'NUM', count: 2 }]), 1, { trace: true }).trace);
    expect(drop).toEqual(Array.from({ length: 18 }, (_, i) => i + 3));
    const dup = shown(simulate(compiled, config({}, [{ kind: 'duplicate', atMs: 0, from: 'tx', to: null, msgType: null, count: 1 }]), 1, { trace: true }).trace);
    expect(dup.slice(0, 2)).toEqual([1, 1]);
  });
});
