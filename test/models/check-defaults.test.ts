/**
 * `protosim check <protocol>` on every model: with the default topology and faults the seed's
 * model is caught, and the fixed variant comes out clean.
 */
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { defaultCheck, explore } from './helpers.js';

describe.each(Object.keys(models))('check %s', (protocol) => {
  it('finds the flaws of the faithful model with the default faults', () => {
    const s = defaultCheck(protocol, 'faithful');
    const result = explore(protocol, s.variant, s.config, 1, 30);
    expect(result.findings.length).toBeGreaterThan(0);
  });

  it('finds nothing in the fixed variant with the same defaults', () => {
    const s = defaultCheck(protocol, 'fixed');
    const result = explore(protocol, s.variant, s.config, 1, 40);
    expect(result.findings.map((f) => `seed ${f.seed}: ${f.summary}`)).toEqual([]);
  });

  it('scales: three clients and three rounds still check clean in the fixed variant', () => {
    const s = defaultCheck(protocol, 'fixed', { clients: 3, rounds: 3 });
    const result = explore(protocol, s.variant, s.config, 100, 5);
    expect(result.findings.map((f) => `seed ${f.seed}: ${f.summary}`)).toEqual([]);
  });

  it('every variant validates its messages and rejects nonsense', () => {
    const m = models[protocol]!;
    expect(m.validateMessage({ nope: true })).toMatch(/type/);
    expect(m.validateMessage({ type: 'NO_SUCH_MESSAGE' })).toMatch(/unknown message type/);
  });
});
