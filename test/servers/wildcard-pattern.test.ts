import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linearMatch } from '../../src/models/offline-queue/match.js';

/** The list pattern's one reading: the model's matcher, which the reference server runs. */
const matchWildcard = (pattern: string, name: string): boolean => linearMatch(pattern, name).matches;

/** Reference semantics for the property: the pattern turned into a fully escaped regex (test only). */
function reference(pattern: string, name: string): boolean {
  const source = [...pattern].map((c) => (c === '_' ? '.' : c === '*' ? '.*' : c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'su').test(name);
}

describe('matchWildcard', () => {
  it.each([
    ['alice', 'alice', true],
    ['al_ce', 'alice', true],
    ['al_ce', 'allce', true],
    ['al_ce', 'alce', false],
    ['a*', 'alice', true],
    ['a*', 'a', true],
    ['*e', 'alice', true],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['*li*', 'alice', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['a.c', 'abc', false], // `.` is literal
    ['a.c', 'a.c', true],
    ['(a+)+', 'aaaa', false], // regex syntax is literal
    ['[ab]', 'a', false],
    ['_', 'é', true], // one character, not one UTF-16 unit
    ['__', '😀', false],
  ])('%j matches %j: %s', (pattern, name, expected) => {
    expect(matchWildcard(pattern, name)).toBe(expected);
  });

  it('agrees with the escaped-regex reference on random patterns and names (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '_', '*', '.', '(', '+');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '_', '*', '.'), maxLength: 10 }), (pattern, name) => {
        expect(matchWildcard(pattern, name)).toBe(reference(pattern, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('stays fast on patterns that make backtracking engines spin', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) matchWildcard('*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(25));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
