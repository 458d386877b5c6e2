/**
 * `protosim fuzz`: fast-check generates live cases from a protocol's generator (case-arbitrary.ts),
 * each runs on the one live engine (`runSuite`, the model as oracle after every action) against the
 * target, and a failing case is shrunk to fewest users, steps and faults and shortest data.
 *
 *  - A generated case runs up to `repeat` times (rare races); it is a finding when it fails, and
 *    then fails again on `confirm - 1` more runs: a case that fails once and then passes is counted
 *    as a flake, not a finding, and the search goes on.
 *  - Each shrink candidate runs live: it counts as failing only when it fails `confirm` times in a
 *    row, so a flake is never taken for a smaller bug.
 *  - Only FAIL and the ERRORs that judge the target (a timeout: a reply never came; a crash) are
 *    findings. A case the harness cannot judge (the oracle's named limits, a session the rendering
 *    thought existed, data a codec cannot carry, a reply held by a link protosim partitioned) is
 *    inconclusive and counted as such; a target that
 *    cannot be started or reached ends the run (exit 3).
 *  - The search stops at `runs` cases or `timeBudgetMs`; shrinking gets what is left of the budget,
 *    and at least `minShrinkMs`.
 *  - Process faults (the target killed and restarted, paused and resumed) are generated when the
 *    target is a command protosim starts (a target file, the suite's reference server), unless
 *    `processFaults: false`; an address cannot be restarted, so they are not generated against one.
 */
import fc from 'fast-check';
import type { CaseResult } from '../../report/case-result.js';
import { runSuite, type RunSuiteOptions } from '../run-suite.js';
import { caseArbitrary, renderHooksOf, type ProtocolFuzz } from './case-arbitrary.js';
import { caseSize, renderSteps, type CaseSize, type FuzzCase } from './fuzz-case.js';
import { fuzzCaseId, fuzzSuite, fuzzSuiteText, type FuzzSuiteBase } from './fuzz-suite.js';

export interface FuzzOptions {
  generator: ProtocolFuzz;
  base: FuzzSuiteBase;
  /** how runSuite reaches the target (address override, codec, framing, cwd) */
  suiteOptions: Pick<RunSuiteOptions, 'target' | 'codec' | 'framing' | 'cwd' | 'replyTimeoutMs'>;
  seed: number;
  runs: number;
  repeat: number;
  confirm: number;
  timeBudgetMs: number;
  /** generate process faults (default: when the target is a command protosim starts) */
  processFaults?: boolean;
  onProgress?: (event: FuzzProgress) => void;
}

/** Whether a run generates process faults, and why (for the command's first line). */
export function processFaultsOf(options: Pick<FuzzOptions, 'base' | 'suiteOptions' | 'processFaults'>): { on: boolean; why: string } {
  const target = options.base.target as { command?: unknown } | undefined;
  const command = options.suiteOptions.target === undefined && typeof target === 'object' && target !== null && target.command !== undefined;
  if (!command) return { on: false, why: 'off (the target is an address: protosim cannot kill, pause or restart it)' };
  if (options.processFaults === false) return { on: false, why: 'off (--no-process-faults)' };
  return { on: true, why: 'on (the target killed and restarted, paused and resumed, at any point of the workload)' };
}

export type FuzzProgress =
  | { kind: 'case'; run: number; verdict: CaseVerdictKind; elapsedMs: number; reason?: string }
  | { kind: 'finding'; run: number; elapsedMs: number; result: CaseResult }
  | { kind: 'shrink'; step: number; size: CaseSize; elapsedMs: number };

export type CaseVerdictKind = 'pass' | 'fail' | 'flaky' | 'inconclusive';

export interface FuzzFinding {
  /** the generated case that failed first (its 1-based run number) */
  run: number;
  firstAtMs: number;
  original: FuzzCase;
  shrunk: FuzzCase;
  /** accepted shrink steps */
  shrinks: number;
  size: CaseSize;
  originalSize: CaseSize;
  /** the shrunk case's last failing result */
  result: CaseResult;
  /** the shrunk case as a suite file */
  suiteText: string;
  caseId: string;
}

export interface FuzzOutcome {
  seed: number;
  runs: number;
  flaky: number;
  inconclusive: number;
  durationMs: number;
  finding?: FuzzFinding;
  /** the target could not be started or reached (exit 3), and why */
  unreachable?: string;
}

/** Runs of a case whose target could not be started or reached, before the run ends with exit 3. */
export const startRetries = 2;

/** Shrinking may run at least this long after a finding, even past the budget. */
export const minShrinkMs = 20_000;

type Judged = { kind: 'pass' } | { kind: 'fail'; result: CaseResult } | { kind: 'inconclusive'; reason: string } | { kind: 'unreachable'; reason: string };

/**
 * Reasons that say the harness could not judge the case, not that the target did wrong: a case
 * with no exchange (a shrink candidate left with pauses only) says nothing about the target.
 */
const inconclusivePrefixes = ['the model oracle cannot judge', 'the case cannot run', 'no exchange with the target'];

/**
 * A write to a connection the target closed after the last `expect: model` passed: the model let it
 * close there (a close it does not allow fails that expect), so the generated case, not the target,
 * wrote to a closed connection. A crash of the target is still a finding.
 */
function closedUnderfoot(result: CaseResult): boolean {
  const closed = /^could not write to the target: (the target closed the connection|connection error: (ECONNRESET|EPIPE))/.test(result.reason);
  return closed && !result.reason.includes('crashed');
}

/**
 * The target unreachable at or after a step where protosim restarted it (a program slow to listen
 * again after a kill, its workers still starting): protosim's restart, not the program, is what the
 * case could not get past, so it cannot judge it; the start of the next case says whether the
 * program can be reached at all.
 */
function unreachableAfterRestart(c: FuzzCase, generator: ProtocolFuzz, result: CaseResult, vars?: FuzzSuiteBase['vars']): boolean {
  const restart = renderSteps(c, renderHooksOf(generator, vars)).findIndex((st) => (st as { fault?: unknown }).fault === 'restart');
  const at = /^step (\d+) /.exec(result.step ?? '');
  return restart >= 0 && at !== null && Number(at[1]) > restart;
}

/**
 * A reply the model sends that never came, to clients whose link protosim had partitioned or timed
 * out (and not cleared) before that step: the link held it, not the target. The case cannot judge
 * whether the target sent it. (`vars`: the run's variables, which the case was rendered with.)
 */
export function heldByOwnLink(c: FuzzCase, generator: ProtocolFuzz, result: CaseResult, vars?: FuzzSuiteBase['vars']): boolean {
  const at = /^step (\d+) /.exec(result.step ?? '');
  if (result.verdict !== 'ERROR' || !result.reason.startsWith('timeout:') || at === null) return false;
  const silenced = new Set<string>();
  for (const st of renderSteps(c, renderHooksOf(generator, vars)).slice(0, Number(at[1]) - 1) as { fault?: unknown; client?: unknown; disconnect?: unknown }[]) {
    if (typeof st.client !== 'string') continue;
    if (st.fault === 'partition' || st.fault === 'timeout') silenced.add(st.client);
    else if (st.fault === 'clear' || st.fault === 'heal') silenced.delete(st.client);
  }
  const waitedFor = (result.expected ?? '').split('\n').flatMap((line) => /^\s*(c\d+): /.exec(line)?.[1] ?? []);
  return waitedFor.length > 0 && waitedFor.every((client) => silenced.has(client));
}

/** Runs one rendered case once. */
async function runOnce(options: FuzzOptions, c: FuzzCase, id: string): Promise<Judged> {
  const text = fuzzSuiteText(options.base, options.generator, c, id);
  const run = await runSuite(fuzzSuite(text, `<fuzz ${id}>`), { ...options.suiteOptions });
  const result = run.report.cases[0];
  // A target that does not start again right after a kill (its port still held: no SO_REUSEADDR, a
  // lock file) cannot be judged across a restart; that is not a verdict on the protocol.
  if (result?.reason.startsWith('the target did not come back after restart') === true) return { kind: 'inconclusive', reason: result.reason };
  if (result !== undefined && run.unreachable && unreachableAfterRestart(c, options.generator, result, options.base.vars)) return { kind: 'inconclusive', reason: `unreachable after protosim restarted the target: ${result.reason}` };
  if (run.unreachable || result === undefined) return { kind: 'unreachable', reason: result?.reason ?? 'no result' };
  if (result.verdict === 'PASS' || result.verdict === 'SKIP') return { kind: 'pass' };
  if (result.verdict === 'ERROR' && inconclusivePrefixes.some((p) => result.reason.startsWith(p))) return { kind: 'inconclusive', reason: result.reason };
  if (closedUnderfoot(result) || heldByOwnLink(c, options.generator, result, options.base.vars)) return { kind: 'inconclusive', reason: result.reason };
  return { kind: 'fail', result };
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const outcome: FuzzOutcome = { seed: options.seed, runs: 0, flaky: 0, inconclusive: 0, durationMs: 0 };
  const protocol = options.base.protocol;
  let finding: FuzzFinding | undefined;
  let shrinkStep = 0;
  const judge = async (c: FuzzCase, id: string): Promise<Judged> => {
    // fast-check takes a throw for a failure, so an unreachable target is a flag, and every case
    // after it passes without running.
    if (outcome.unreachable !== undefined) return { kind: 'pass' };
    let j = await runOnce(options, c, id);
    // A start that fails once (a free port taken by another program in between) is tried again.
    for (let retry = 0; retry < startRetries && j.kind === 'unreachable'; retry++) j = await runOnce(options, c, id);
    if (j.kind === 'unreachable') {
      outcome.unreachable = j.reason;
      return { kind: 'pass' };
    }
    return j;
  };
  /** fails `times` runs in a row (the first already seen) */
  const confirmed = async (c: FuzzCase, id: string, times: number): Promise<CaseResult | undefined> => {
    let last: CaseResult | undefined;
    for (let i = 0; i < times; i++) {
      const j = await judge(c, id);
      if (j.kind !== 'fail') return undefined;
      last = j.result;
    }
    return last;
  };
  const property = fc.asyncProperty(caseArbitrary(options.generator, { processFaults: processFaultsOf(options).on }), async (c) => {
    if (finding === undefined) {
      if (outcome.runs >= options.runs || elapsed() >= options.timeBudgetMs) return true;
      const run = ++outcome.runs;
      const id = fuzzCaseId(protocol, options.seed, run);
      let first: CaseResult | undefined;
      let verdict: CaseVerdictKind = 'pass';
      let why: string | undefined;
      for (let r = 0; r < options.repeat && first === undefined; r++) {
        const j = await judge(c, id);
        if (j.kind === 'fail') first = j.result;
        else if (j.kind === 'inconclusive') [verdict, why] = ['inconclusive', j.reason];
      }
      if (first === undefined) {
        if (verdict === 'inconclusive') outcome.inconclusive++;
        options.onProgress?.({ kind: 'case', run, verdict, elapsedMs: elapsed(), ...(why !== undefined ? { reason: why } : {}) });
        return true;
      }
      const again = options.confirm > 1 ? await confirmed(c, id, options.confirm - 1) : first;
      if (again === undefined) {
        outcome.flaky++;
        options.onProgress?.({ kind: 'case', run, verdict: 'flaky', elapsedMs: elapsed(), reason: first.reason });
        return true;
      }
      options.onProgress?.({ kind: 'finding', run, elapsedMs: elapsed(), result: again });
      finding = { run, firstAtMs: elapsed(), original: c, shrunk: c, shrinks: 0, size: caseSize(c), originalSize: caseSize(c), result: again, suiteText: '', caseId: id };
      return false;
    }
    // Shrinking: a candidate fails only when it fails `confirm` times in a row, within the budget.
    if (elapsed() >= Math.max(options.timeBudgetMs, finding.firstAtMs + minShrinkMs)) return true;
    const result = await confirmed(c, finding.caseId, Math.max(1, options.confirm));
    if (result === undefined) return true;
    finding.shrunk = c;
    finding.result = result;
    finding.shrinks++;
    finding.size = caseSize(c);
    options.onProgress?.({ kind: 'shrink', step: ++shrinkStep, size: finding.size, elapsedMs: elapsed() });
    return false;
  });
  const details = await fc.check(property, { seed: options.seed, numRuns: Math.max(1, options.runs), endOnFailure: false, verbose: 0 });
  // A throw inside the property is protosim's own error, not a finding.
  if (details.errorInstance !== null && finding === undefined) throw details.errorInstance;
  if (finding !== undefined && outcome.unreachable === undefined) outcome.finding = { ...finding, suiteText: savedCaseText(options, finding) };
  outcome.durationMs = elapsed();
  return outcome;
}

/** The shrunk case as a suite file, with comments saying where it came from and how to replay it. */
function savedCaseText(options: FuzzOptions, finding: FuzzFinding): string {
  const header = [
    `protosim fuzz ${options.base.protocol} --seed ${options.seed}: generated case ${finding.run}, shrunk ${finding.shrinks} times`,
    `it failed: ${finding.result.reason.split('\n')[0]!.slice(0, 300)}`,
    `replay: protosim run THIS-FILE${options.suiteOptions.target !== undefined ? ` --target ${options.suiteOptions.target}` : ''}`,
  ];
  return fuzzSuiteText(options.base, options.generator, finding.shrunk, finding.caseId, header);
}
