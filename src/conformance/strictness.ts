/**
 * `--strict` for suites. By default a suite's oracle checks what the protocol fixes (its normative
 * parts: message types, routing, who receives what, state changes) and allows what it leaves open
 * (reply wording, optional acks and echoes, a connection closed or kept after an error or a
 * logout, limits it does not set); each protocol's mapping marks which is which
 * (src/conformance/<protocol>Mapping.ts, `Marking`). `--strict` checks everything protosim's
 * reference server does: the illustrative parts as it does them, and the suite's `strict: true`
 * cases (protosim's own extensions: its error replies, its limits, a request parameter of its own).
 */
import type { Suite } from '../scenario/load-suite.js';
import { strictOnlyCases } from '../scenario/step-language.js';
import { strictVar } from './server-mapping-for.js';

/**
 * The suite as `--strict` (or its absence) runs it: without it, `strict: true` cases are left out
 * unless named with `--case`; with it, the suite variable `strict` is 1 (the oracles read it).
 */
export function suiteForStrictness(suite: Suite, strict: boolean, caseIds: readonly string[] = []): { suite: Suite; leftOut: string[] } {
  if (strict) return { suite: { ...suite, spec: { ...suite.spec, vars: { ...(suite.spec.vars ?? {}), [strictVar]: 1 } } }, leftOut: [] };
  const leftOut = strictOnlyCases(suite.spec.cases, caseIds);
  if (leftOut.length === 0) return { suite, leftOut };
  return { suite: { ...suite, spec: { ...suite.spec, cases: suite.spec.cases.filter((c) => !leftOut.includes(c.id)) } }, leftOut };
}
