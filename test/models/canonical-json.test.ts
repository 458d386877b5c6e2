/**
 * Canonical JSON, the one definition the models and the simulator share (traces, state hashes and
 * the oracle's bindings of wire values all depend on it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/models/canonical-json.js';
import { canonicalJson as simCanonicalJson } from '../../src/sim/canonical-json.js';

/** `value` with the keys of every object in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}

describe('canonicalJson', () => {
  it('the simulator uses the models’ function, not a copy', () => {
    expect(simCanonicalJson).toBe(canonicalJson);
  });

  it('sorts keys, writes no whitespace, and writes undefined members and non-finite numbers as JSON does not', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: undefined } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"z":1}}');
    expect(canonicalJson([undefined, Number.NaN, Number.POSITIVE_INFINITY])).toBe('[null,null,null]');
  });

  it('gives the same text whatever order the keys were built in, and parses back to the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(reversedKeys(v))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
  });
});
