/**
 * `protosim run SUITE.yaml [--target ADDRESS]`: live mode. Runs a conformance suite against a live
 * target and prints a verdict per case. Exit 0 when every required case passes, 1 when one fails or
 * errs, 2 for bad input, 3 when the target could not be started or reached at all.
 */
import { InvalidArgumentError } from 'commander';
import { ExitCode, InputError } from '../errors.js';
import { runSuite, selectCases } from '../conformance/run-suite.js';
import type { CaseResult, SuiteReport } from '../report/case-result.js';
import type { ReportSpec } from '../report/report-format.js';
import { progressFor, writeReportsFor } from './reports.js';
import type { Suite } from '../scenario/load-suite.js';
import type { CliContext } from './context.js';
import { targetFileOf } from './target-flag.js';
import { suiteForStrictness } from '../conformance/strictness.js';
import { boundsVar } from '../models/live-bounds.js';
import { boundsOn, boundsOnlyCases } from '../conformance/suite-run/server-bounds.js';

export interface LiveRunOptions {
  target?: string;
  codec?: string;
  framing?: string;
  case?: string[];
  tag?: string[];
  var?: string[];
  /** `--report FORMAT=FILE`, parsed by the report options */
  report: ReportSpec[];
  replyTimeoutMs?: number;
  format: string;
  color: boolean;
  /** `--no-progress` sets false */
  progress?: boolean;
  /** `--strict`: check everything protosim's reference server does (src/conformance/strictness.ts) */
  strict?: boolean;
  /** `--bounds`: the protocol's named bounds (src/models/live-bounds.ts) checked too */
  bounds?: boolean;
}

/** Collects a repeatable option. */
/** Collects a repeatable option; `--case a,b` is the same as `--case a --case b`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** Collects a repeatable option whose values may contain commas (`--var name=a,b`). */
export function collectWhole(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseVars(specs: readonly string[]): Record<string, string | number> {
  const vars: Record<string, string | number> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(spec);
    if (m === null) throw new InvalidArgumentError(`--var: expected NAME=VALUE, got ${JSON.stringify(spec)}`);
    vars[m[1]!] = /^-?\d+(\.\d+)?$/.test(m[2]!) ? Number(m[2]) : m[2]!;
  }
  return vars;
}

const verdictColour: Record<CaseResult['verdict'], string> = { PASS: '32', FAIL: '31', ERROR: '35', SKIP: '33' };

/** One case as a terminal line, with its details when it did not pass. */
export function renderCaseLine(c: CaseResult, color: boolean): string {
  const tag = color ? `\u001b[${verdictColour[c.verdict]}m${c.verdict.padEnd(5)}\u001b[0m` : c.verdict.padEnd(5);
  const lines = [`${tag} ${c.id}  ${c.title}  (${c.durationMs} ms${c.level === 'recommended' ? ', recommended' : ''})`];
  if (c.verdict !== 'PASS') {
    lines.push(`      ${c.reason}`);
    if (c.step !== undefined) lines.push(`      at ${c.step}`);
    if (c.expected !== undefined) lines.push(`      expected: ${c.expected}`);
    if (c.observed !== undefined) lines.push(`      observed: ${c.observed.split('\n').join('\n                ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderSuiteSummary(report: SuiteReport): string {
  const n = (v: string): number => report.cases.filter((c) => c.verdict === v).length;
  return `\n${report.name ?? 'suite'} against ${report.target}: ${n('PASS')} passed, ${n('FAIL')} failed, ${n('ERROR')} errors, ${n('SKIP')} skipped; score ${report.score}/${report.maxScore}; ${report.ok ? 'every required case passed' : 'a required case did not pass'} (${report.durationMs} ms)\n`;
}

export async function runLiveSuite(ctx: CliContext, suite: Suite, opts: LiveRunOptions): Promise<void> {
  const cwd = ctx.io.cwd ?? process.cwd();
  const json = opts.format === 'json';
  // Without --strict, what the protocol leaves open is not judged, and strict-only cases are left out.
  const strictness = suiteForStrictness(suite, opts.strict === true, opts.case ?? []);
  suite = strictness.suite;
  if (opts.bounds === true) suite = { ...suite, spec: { ...suite.spec, vars: { ...(suite.spec.vars ?? {}), [boundsVar]: 1 } } };
  if (strictness.leftOut.length > 0 && !json) ctx.io.stderr(`protosim: ${strictness.leftOut.length} strict-only case(s) not run (${strictness.leftOut.join(', ')}): they check protosim's reference server's own choices; --strict runs them\n`);
  const vars = { ...(suite.spec.vars ?? {}), ...parseVars(opts.var ?? []) };
  const boundsOnly = boundsOn(vars) ? [] : boundsOnlyCases(suite.spec.cases, opts.case ?? []);
  if (boundsOnly.length > 0 && !json) ctx.io.stderr(`protosim: ${boundsOnly.length} bounds-only case(s) not run (${boundsOnly.join(', ')}): soaks that check the named bounds (memory-returned); --bounds runs them\n`);
  const total = selectCases(suite, opts.case ?? [], opts.tag ?? [], vars).length;
  const progress = progressFor(ctx, { progress: opts.progress ?? true }, 'cases');
  let done = 0;
  // --target FILE: the file's target replaces the suite's.
  const targetFile = targetFileOf(opts.target, suite.spec.protocol, cwd);
  if (targetFile !== undefined) suite = { ...suite, spec: { ...suite.spec, target: targetFile } };
  const run = await runSuite(suite, {
    target: targetFile !== undefined ? undefined : opts.target,
    codec: opts.codec,
    framing: opts.framing,
    caseIds: opts.case ?? [],
    tags: opts.tag ?? [],
    vars: parseVars(opts.var ?? []),
    replyTimeoutMs: opts.replyTimeoutMs,
    cwd,
    onCase: (c) => {
      progress?.clear();
      if (!json) ctx.io.stdout(renderCaseLine(c, opts.color && (ctx.io.isTTY ?? false)));
      progress?.update(++done, total);
    },
  });
  progress?.finish();
  const { report } = run;
  if (json) ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.io.stdout(renderSuiteSummary(report));
  writeReportsFor(ctx, report, opts.report);
  if (run.unreachable) {
    const first = report.cases.find((c) => c.verdict === 'ERROR') ?? report.cases[0];
    ctx.io.stderr(`protosim: the target could not be started or reached: ${first?.reason ?? ''}\n`);
    ctx.exitCode = ExitCode.targetError;
  } else ctx.exitCode = report.ok ? ExitCode.ok : ExitCode.expectationFailed;
}
