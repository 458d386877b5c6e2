/**
 * Evaluates a scenario's `expect` against what an explorer found. Each expectation line becomes
 * one check with what was expected and what was observed.
 */
import type { Finding } from '../sim/finding.js';
import type { Expectation } from './schema.js';

export interface ExpectationCheck {
  /** `deadlock`, `invariant`, `violations`... */
  what: string;
  expected: string;
  observed: string;
  ok: boolean;
}

export function evaluateExpectations(expect: Expectation, findings: readonly Finding[]): ExpectationCheck[] {
  const checks: ExpectationCheck[] = [];
  const ofKind = (kind: string): Finding[] => findings.filter((f) => f.kind === kind);
  const describe = (list: Finding[]): string =>
    list.length === 0
      ? 'none'
      : `found (${[...new Set(list.map((f) => f.id))].join(', ')}; ${list[0]!.path !== null ? `${list[0]!.step} steps` : `seed ${list[0]!.seed}`})`;
  for (const kind of ['deadlock', 'livelock', 'liveness'] as const) {
    const want = expect[kind];
    if (want === undefined) continue;
    const got = ofKind(kind);
    checks.push({ what: kind, expected: want, observed: describe(got), ok: want === 'found' ? got.length > 0 : got.length === 0 });
  }
  if (expect.invariant !== undefined) {
    const got = ofKind('invariant');
    if (expect.invariant === 'found' || expect.invariant === 'none') {
      checks.push({ what: 'invariant', expected: expect.invariant, observed: describe(got), ok: expect.invariant === 'found' ? got.length > 0 : got.length === 0 });
    } else {
      const id = `invariant:${expect.invariant}`;
      const match = got.filter((f) => f.id === id);
      checks.push({ what: 'invariant', expected: `${expect.invariant} broken`, observed: describe(got), ok: match.length > 0 });
    }
  }
  if (expect.violations === 'none') {
    checks.push({ what: 'violations', expected: 'none', observed: describe([...findings]), ok: findings.length === 0 });
  }
  return checks;
}
