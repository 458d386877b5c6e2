/**
 * A model run seen as a suite: one case per expectation of the scenario, so JUnit, Gradescope and
 * the HTML case table serve `protosim run`/`check` and live conformance alike.
 */
import type { Finding } from '../sim/finding.js';
import type { ExpectationResult, RunReport } from './run-report.js';
import { makeSuiteReport, roundPoints, type CaseResult, type SuiteReport } from './case-result.js';

/** The finding that is the evidence for an expectation, when there is one. */
export function evidenceFor(e: ExpectationResult, findings: readonly Finding[]): Finding | null {
  if (e.what === 'violations') return findings[0] ?? null;
  const ofKind = findings.filter((f) => f.kind === e.what);
  if (e.what === 'invariant' && e.expected.endsWith(' broken')) {
    const id = `invariant:${e.expected.slice(0, -' broken'.length)}`;
    return ofKind.find((f) => f.id === id) ?? ofKind[0] ?? null;
  }
  return ofKind[0] ?? null;
}

export function suiteFromRun(run: RunReport): SuiteReport {
  const s = run.scenario;
  const n = Math.max(1, run.expectations.length);
  const maxPoints = roundPoints((s.points ?? 1) / n);
  const durationMs = Math.round(run.stats.elapsedMs / n);
  const cases: CaseResult[] = run.expectations.map((e) => {
    const f = evidenceFor(e, run.findings) as (Finding & { replay?: { command: string } }) | null;
    const c: CaseResult = {
      id: `${s.id}#${e.what}`,
      title: `${s.title}: expect ${e.what} ${e.expected}`,
      level: s.level ?? 'required',
      points: e.ok ? maxPoints : 0,
      maxPoints,
      verdict: e.ok ? 'PASS' : 'FAIL',
      reason: e.ok ? `${e.what}: ${e.observed}, as expected` : `expected ${e.what} ${e.expected}, observed ${e.observed}`,
      expected: e.expected,
      observed: e.observed,
      durationMs,
    };
    if (f) {
      const untimed = run.strategy === 'exhaustive';
      c.step = untimed ? `after ${f.step} steps (the shortest; the exhaustive search is untimed)` : `step ${f.step} at t=${f.timeMs} ms, seed ${f.seed}`;
      c.trace = f.trace;
      if (untimed) c.steps = true;
      c.cycleStart = f.cycleStart;
      if (f.replay) c.replay = f.replay.command;
    }
    return c;
  });
  const target = `model ${s.protocol} (${s.variant})`;
  // A run passes when every expectation holds, whatever the level (as `protosim run` exits).
  return { ...makeSuiteReport(target, cases, run.stats.elapsedMs, s.file ?? s.id), ok: run.ok };
}
