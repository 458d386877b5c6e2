/**
 * The search of `protosim fuzz`, for any kind of generated case: fast-check draws cases from an
 * arbitrary, each runs live (`judge`), a failure must fail again `confirm - 1` more runs in a row to
 * be a finding (one that fails once and then passes is a flake, and the search goes on), and a
 * finding is shrunk by fast-check, each candidate counting as failing only when it fails `confirm`
 * runs in a row. The search stops at `runs` cases or `timeBudgetMs`; shrinking gets what is left of
 * the budget, and at least `minShrinkMs`.
 *
 * The same rules as the server side's search (../run-fuzz.ts), written once for any case type so
 * that client programs (./run-client-fuzz.ts) use them unchanged; run-fuzz.ts can move onto it.
 */
import fc from 'fast-check';
import type { CaseResult } from '../../../report/case-result.js';

/** A generated case's size as a shrink target: users, steps, faults and characters of data. */
export interface SearchSize {
  users: number;
  steps: number;
  faults: number;
  dataChars: number;
}

/** One run of one case: passed, failed (a finding if it fails again), cannot be judged, or the target could not be started. */
export type Judged = { kind: 'pass' } | { kind: 'fail'; result: CaseResult } | { kind: 'inconclusive'; reason: string } | { kind: 'unreachable'; reason: string };

export type SearchVerdict = 'pass' | 'fail' | 'flaky' | 'inconclusive';

export type SearchProgress =
  | { kind: 'case'; run: number; verdict: SearchVerdict; elapsedMs: number }
  | { kind: 'finding'; run: number; elapsedMs: number; result: CaseResult }
  | { kind: 'shrink'; step: number; size: SearchSize; elapsedMs: number };

export interface SearchOptions<C> {
  arbitrary: fc.Arbitrary<C>;
  /** runs case `c` once, as case `id` */
  judge: (c: C, id: string) => Promise<Judged>;
  size: (c: C) => SearchSize;
  /** the id of generated case `run` (1-based) */
  caseId: (run: number) => string;
  seed: number;
  runs: number;
  repeat: number;
  confirm: number;
  timeBudgetMs: number;
  onProgress?: (event: SearchProgress) => void;
}

export interface SearchFinding<C> {
  /** the generated case that failed first (its 1-based run number) */
  run: number;
  firstAtMs: number;
  original: C;
  shrunk: C;
  /** accepted shrink steps */
  shrinks: number;
  size: SearchSize;
  originalSize: SearchSize;
  /** the shrunk case's last failing result */
  result: CaseResult;
  caseId: string;
}

export interface SearchOutcome<C> {
  seed: number;
  runs: number;
  flaky: number;
  inconclusive: number;
  durationMs: number;
  finding?: SearchFinding<C>;
  /** the target could not be started or reached (exit 3), and why */
  unreachable?: string;
}

/** Runs of a case whose target could not be started, before the search ends with exit 3. */
export const searchStartRetries = 2;
/** Shrinking may run at least this long after a finding, even past the budget. */
export const searchMinShrinkMs = 20_000;

/** The search's state, shared by the property's calls. */
class Search<C> {
  private readonly started = performance.now();
  readonly outcome: SearchOutcome<C>;
  finding: SearchFinding<C> | undefined;
  private shrinkStep = 0;

  constructor(private readonly o: SearchOptions<C>) {
    this.outcome = { seed: o.seed, runs: 0, flaky: 0, inconclusive: 0, durationMs: 0 };
  }

  elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  /** One run; a start that fails is tried again, then ends the search (every later case passes unrun). */
  private async judge(c: C, id: string): Promise<Judged> {
    if (this.outcome.unreachable !== undefined) return { kind: 'pass' };
    let j = await this.o.judge(c, id);
    for (let retry = 0; retry < searchStartRetries && j.kind === 'unreachable'; retry++) j = await this.o.judge(c, id);
    if (j.kind !== 'unreachable') return j;
    this.outcome.unreachable = j.reason;
    return { kind: 'pass' };
  }

  /** The last result when `c` fails `times` runs in a row. */
  private async confirmed(c: C, id: string, times: number): Promise<CaseResult | undefined> {
    let last: CaseResult | undefined;
    for (let i = 0; i < times; i++) {
      const j = await this.judge(c, id);
      if (j.kind !== 'fail') return undefined;
      last = j.result;
    }
    return last;
  }

  /** A drawn case: true when it passes (or is not run: the runs or the budget are spent). */
  async generated(c: C): Promise<boolean> {
    const o = this.o;
    if (this.outcome.runs >= o.runs || this.elapsed() >= o.timeBudgetMs) return true;
    const run = ++this.outcome.runs;
    const id = o.caseId(run);
    let first: CaseResult | undefined;
    let verdict: SearchVerdict = 'pass';
    for (let r = 0; r < o.repeat && first === undefined; r++) {
      const j = await this.judge(c, id);
      if (j.kind === 'fail') first = j.result;
      else if (j.kind === 'inconclusive') verdict = 'inconclusive';
    }
    if (first === undefined) {
      if (verdict === 'inconclusive') this.outcome.inconclusive++;
      o.onProgress?.({ kind: 'case', run, verdict, elapsedMs: this.elapsed() });
      return true;
    }
    const again = o.confirm > 1 ? await this.confirmed(c, id, o.confirm - 1) : first;
    if (again === undefined) {
      this.outcome.flaky++;
      o.onProgress?.({ kind: 'case', run, verdict: 'flaky', elapsedMs: this.elapsed() });
      return true;
    }
    o.onProgress?.({ kind: 'finding', run, elapsedMs: this.elapsed(), result: again });
    const size = o.size(c);
    this.finding = { run, firstAtMs: this.elapsed(), original: c, shrunk: c, shrinks: 0, size, originalSize: size, result: again, caseId: id };
    return false;
  }

  /** A shrink candidate: failing only when it fails `confirm` runs in a row, within the budget. */
  async candidate(c: C, finding: SearchFinding<C>): Promise<boolean> {
    if (this.elapsed() >= Math.max(this.o.timeBudgetMs, finding.firstAtMs + searchMinShrinkMs)) return true;
    const result = await this.confirmed(c, finding.caseId, Math.max(1, this.o.confirm));
    if (result === undefined) return true;
    finding.shrunk = c;
    finding.result = result;
    finding.shrinks++;
    finding.size = this.o.size(c);
    this.o.onProgress?.({ kind: 'shrink', step: ++this.shrinkStep, size: finding.size, elapsedMs: this.elapsed() });
    return false;
  }
}

/** Draws, runs, confirms and shrinks generated cases (see the file comment). */
export async function fuzzSearch<C>(options: SearchOptions<C>): Promise<SearchOutcome<C>> {
  const search = new Search(options);
  const property = fc.asyncProperty(options.arbitrary, async (c) => (search.finding === undefined ? search.generated(c) : search.candidate(c, search.finding)));
  const details = await fc.check(property, { seed: options.seed, numRuns: Math.max(1, options.runs), endOnFailure: false, verbose: 0 });
  // A throw inside the property is protosim's own error, not a finding.
  if (details.errorInstance !== null && search.finding === undefined) throw details.errorInstance;
  const outcome = search.outcome;
  if (search.finding !== undefined && outcome.unreachable === undefined) outcome.finding = search.finding;
  outcome.durationMs = search.elapsed();
  return outcome;
}
