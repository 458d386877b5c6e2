/**
 * Timers across a crash and a restart that keeps state: the pending ones are re-armed in the order
 * they were armed (a timer re-armed after firing counts from its new arming), so timers due at the
 * same moment after the restart fire in that order, run after run and version after version.
 */
import { raise, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { ModelVariant, PrintParams } from '../../src/models/types.js';
import { defaultChecks, defaultLimits, defaultLink, type SimConfig } from '../../src/sim/config.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';

/** Arms A (5 ms) and B (10 ms); when A fires, prints it and arms A again (5 ms) as A2. */
const tickerMachine = setup({
  actions: { print: (_, _p: PrintParams) => {} },
}).createMachine({
  id: 'ticker',
  initial: 'ticking',
  states: {
    ticking: {
      entry: [raise({ type: 'A' }, { delay: 5, id: 'A' }), raise({ type: 'B' }, { delay: 10, id: 'B' })],
      on: {
        A: { actions: [{ type: 'print', params: { kind: 'status', text: 'A' } }, raise({ type: 'A2' }, { delay: 5, id: 'A' })] },
        A2: { actions: { type: 'print', params: { kind: 'status', text: 'A2' } } },
        B: { actions: { type: 'print', params: { kind: 'status', text: 'B' } } },
      },
    },
  },
});

const ticker: ModelVariant = {
  name: 'faithful',
  summary: 'two timers',
  roles: { ticker: { machine: tickerMachine, description: 'arms two timers', input: () => ({}) } },
  invariants: [],
  properties: [],
  isProgress: () => true,
  defaults: { clients: 1, rounds: 1, topology: () => ({ nodes: [], workload: [] }) },
  transport: 'tcp',
};

const config: SimConfig = {
  protocol: 'ticker',
  variant: 'faithful',
  nodes: [{ id: 't', role: 'ticker', startAt: { kind: 'fixed', ms: 0 }, params: {} }],
  network: { default: { ...defaultLink }, links: [] },
  workload: [],
  // A fires at 5 and is armed again for 10; B is due at 10. The crash at 7 saves both with 3 ms
  // left; the restart at 8 re-arms both for 11.
  faults: [
    { kind: 'crash', atMs: 7, node: 't', mode: 'reset' },
    { kind: 'restart', atMs: 8, node: 't', state: 'kept' },
  ],
  randomFaults: null,
  healAtMs: null,
  checks: { ...defaultChecks },
  limits: { ...defaultLimits },
};

describe('timers across a kept-state restart', () => {
  it('re-arms pending timers in the order they were armed: B (armed at 0) fires before A2 (armed at 5)', () => {
    const run = simulate(new CompiledModel('ticker', ticker), config, 1, { trace: true });
    const prints = run.trace.filter((e) => e.k === 'print').map((e) => `${(e as { text: string }).text}@${e.t}`);
    expect(prints).toEqual(['A@5', 'B@11', 'A2@11']);
  });
});
