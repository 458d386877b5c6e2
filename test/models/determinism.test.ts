/**
 * Contract properties over every registered model and variant (STYLE 12): the same seed gives a
 * byte-identical trace, and a trace replays to itself from its own header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import type { TraceHeader } from '../../src/sim/trace.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import { traceToJsonl } from '../../src/sim/trace.js';
import { defaultCheck } from './helpers.js';

const pairs = Object.values(models).flatMap((m) => Object.keys(m.variants).map((v) => [m.name, v] as const));

describe.each(pairs)('%s (%s)', (protocol, variant) => {
  const scenario = defaultCheck(protocol, variant);
  const compiled = new CompiledModel(protocol, scenario.model.variants[variant]!);
  const config = { ...scenario.config, variant };

  it('gives byte-identical traces for the same seed, and a trace replays to itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const a = simulate(compiled, config, seed, { trace: true });
        const b = simulate(new CompiledModel(protocol, scenario.model.variants[variant]!), config, seed, { trace: true });
        const textA = traceToJsonl(a.header, a.trace);
        expect(traceToJsonl(b.header, b.trace)).toBe(textA);
        // Replay: everything needed is in the header line of the trace file.
        const header = JSON.parse(textA.split('\n', 1)[0]!) as TraceHeader;
        const replayed = simulate(compiled, header.config, header.seed, { trace: true });
        expect(traceToJsonl(replayed.header, replayed.trace)).toBe(textA);
      }),
      { numRuns: 6, seed: 20260101 },
    );
  });

  it('a different seed can give a different run', () => {
    const texts = new Set([1, 2, 3, 4, 5].map((seed) => { const r = simulate(compiled, config, seed, { trace: true }); return traceToJsonl(r.header, r.trace); }));
    expect(texts.size).toBeGreaterThan(1);
  });
});
