/**
 * `protosim grade <submissions-dir> --suite <suite-or-dir>`: runs a conformance suite (servers or
 * client programs) against every submission, in parallel, each in a worker process with its own
 * ports and time limit, and writes the scores (summary.csv, summary.json, a table on the terminal)
 * and each submission's reports. Exit 0 when grading completed, whatever the scores (1 with
 * --fail-under when a submission scored under it), 2 for bad input, 70 on an internal error.
 * docs/grading.md is the grader's guide.
 */
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ExitCode, InputError, ProtosimError } from '../../errors.js';
import { gradeSubmissions, killRunningWorkers, type GradedSubmission } from '../../conformance/grading/grade-submissions.js';
import { loadGradingSuite, type GradingSuite } from '../../conformance/grading/grading-suite.js';
import { loadSubmissions, type Submission } from '../../conformance/grading/load-submissions.js';
import { defaultSandboxLimits, openSandbox, sandboxUnavailable, type SandboxPlan } from '../../conformance/grading/sandbox.js';
import type { SubmissionJob } from '../../conformance/grading/run-submission.js';
import { protosimLauncher } from '../../conformance/managed-process.js';
import type { SuiteReport } from '../../report/case-result.js';
import { percentOf, renderSummaryCsv, renderSummaryTable } from '../../report/grade-summary.js';
import { renderReport, type ReportFormat } from '../../report/report-format.js';
import type { CliContext } from '../context.js';
import { collect, collectWhole } from '../live-run.js';
import { parseIntOption } from '../options.js';
import { progressFor } from '../reports.js';
import { makeOutputDir, writeOutputFile } from '../output-file.js';

export interface GradeOptions {
  suite: string;
  out: string;
  jobs?: number;
  timeLimitMs: number;
  caseTimeoutMs?: number;
  replyTimeoutMs?: number;
  maxOutputBytes: number;
  case?: string[];
  tag?: string[];
  var?: string[];
  failUnder?: FailUnder;
  progress: boolean;
  color: boolean;
  /** false with --no-sandbox */
  sandbox: boolean;
  retries: number;
  maxFileBytes: number;
  maxProcesses: number;
  maxMemoryMb: number;
  /** `--report` is run's and check's: given to grade, it is refused with what grade writes instead */
  report?: string[];
}

/** Default re-runs of a failing case before it counts (--retries). */
export const defaultRetries = 2;

/** `--fail-under 12` (points) or `--fail-under 80%` (of the maximum). */
export interface FailUnder {
  value: number;
  percent: boolean;
}

/** Default wall-clock bound of one submission. */
export const defaultTimeLimitMs = 300_000;
/** Default output a submission's server may print in one run (maxOutputBytes). */
export const defaultMaxOutputBytes = 8 * 1024 * 1024;

/** The reports written for each submission, in its folder under --out. */
export const submissionReportFiles: readonly { format: ReportFormat; file: string }[] = [
  { format: 'html', file: 'report.html' },
  { format: 'junit', file: 'junit.xml' },
  { format: 'gradescope', file: 'results.json' },
  { format: 'json', file: 'report.json' },
];

function parseFailUnder(value: string): FailUnder {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (m === null) throw new InvalidArgumentError(`--fail-under expects points (12) or a percentage (80%), got ${JSON.stringify(value)}`);
  return { value: Number(m[1]), percent: m[2] === '%' };
}

function parsePositive(name: string): (value: string) => number {
  const parse = parseIntOption(name);
  return (value) => {
    const n = parse(value);
    if (n < 1) throw new InvalidArgumentError(`${name} must be at least 1, got ${value}`);
    return n;
  };
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

/** The worker script, in dist/ whether this module runs from src/ (tests) or dist/. */
export function gradeWorkerScript(): string {
  return fileURLToPath(new URL('../../../dist/cli/grade-worker.js', import.meta.url));
}

export function registerGradeCommand(program: Command, ctx: CliContext): void {
  program
    .command('grade')
    .description('run a conformance suite against every submission in a folder and write the scores (exit 0 when grading completed, whatever the scores)')
    .argument('<submissions>', 'folder with one folder per submission, each with a protosim.yaml (or submission.yaml) manifest')
    .requiredOption('--suite <file-or-dir>', 'the suite: a server suite (suite.yaml), a client suite (clients.yaml), or a protocol folder of scenarios/conformance/')
    .option('--out <dir>', 'where the summary and the per-submission reports go', 'grades')
    .option('--jobs <n>', `submissions graded at the same time (default: the number of cores, ${availableParallelism()} here)`, parsePositive('--jobs'))
    .option('--time-limit-ms <n>', 'wall-clock bound of one submission; past it its processes are killed and its unfinished cases are ERROR', parsePositive('--time-limit-ms'), defaultTimeLimitMs)
    .option('--case-timeout-ms <n>', "bound of one case when the case sets none (default 30000)", parsePositive('--case-timeout-ms'))
    .option('--reply-timeout-ms <n>', 'server suites: how long an expect waits by default', parsePositive('--reply-timeout-ms'))
    .option('--max-output-bytes <n>', 'server suites: output a submission may print in one run before it is killed (maxOutputBytes)', parsePositive('--max-output-bytes'), defaultMaxOutputBytes)
    .option('--case <id>', 'grade only this case (repeatable)', collect)
    .option('--tag <tag>', 'grade only cases with this tag (repeatable)', collect)
    .option('--var <name=value>', 'set a suite variable (server suites) or an adapter variable (client suites) (repeatable)', collectWhole)
    .option('--fail-under <score>', 'exit 1 when a submission scores under this: points (12) or a percentage of the maximum (80%)', parseFailUnder)
    .option('--retries <n>', `re-run a case that fails or errors up to N times before it counts; one that passes on a re-run is marked FLAKY (default ${defaultRetries})`, parseIntOption('--retries'), defaultRetries)
    .option('--no-sandbox', 'run the submissions unconfined, as your own user (trusted code only; default: a bubblewrap sandbox per submission)')
    .option('--max-file-bytes <n>', 'sandbox: largest file a submission may write (RLIMIT_FSIZE)', parsePositive('--max-file-bytes'), defaultSandboxLimits.fileBytes)
    .option('--max-processes <n>', 'sandbox: processes and threads of a submission, its grading worker included (cgroup pids.max)', parsePositive('--max-processes'), defaultSandboxLimits.processes)
    .option('--max-memory-mb <n>', 'sandbox: memory of a submission, its grading worker included (cgroup)', parsePositive('--max-memory-mb'), defaultSandboxLimits.memoryBytes / (1024 * 1024))
    .option('--no-progress', 'no progress line on stderr')
    .option('--no-color', 'no colours even on a terminal')
    // run's and check's --report: grade writes every report under --out (refused with a message saying so)
    .addOption(new Option('--report <format=file>').hideHelp().argParser(collectWhole))
    .action(async (dir: string, opts: GradeOptions) => runGrade(ctx, dir, opts));
}

/** What `grade --report` says: grade has no --report; where its reports are. */
export function gradeReportRefusal(spec: string, out: string): string {
  return (
    `--report ${spec}: grade takes no --report (that is run's and check's): it writes every report itself, under --out (now ${out}): ` +
    `summary.csv and summary.json for the class, and for each submission <submission>/${submissionReportFiles.map((f) => f.file).join(', ')} (${submissionReportFiles.map((f) => f.format).join(', ')}); docs/grading.md, "What it writes"`
  );
}

async function runGrade(ctx: CliContext, dir: string, opts: GradeOptions): Promise<void> {
  if (opts.report !== undefined && opts.report.length > 0) throw new InputError(gradeReportRefusal(opts.report[0]!, opts.out), 'invalid-option');
  const cwd = ctx.io.cwd ?? process.cwd();
  const color = opts.color && (ctx.io.isTTY ?? false);
  const submissions = loadSubmissions(resolve(cwd, dir), dir, cwd);
  const suite = loadGradingSuite(resolve(cwd, opts.suite), opts.suite, submissions, opts.case ?? [], opts.tag ?? []);
  const vars = parseVars(opts.var ?? []);
  const worker = gradeWorkerScript();
  if (!existsSync(worker)) throw new ProtosimError('no-worker', `the grading worker ${worker} is missing; run \`npm run build\` in the protosim folder`, ExitCode.internal);
  const outDir = resolve(cwd, opts.out);
  makeOutputDir(outDir, `--out ${opts.out}`);
  // A folder that exists but takes no files (read-only, not ours) is found now, before grading.
  writeOutputFile(join(outDir, '.protosim-write-check'), '', `--out ${opts.out}`);
  rmSync(join(outDir, '.protosim-write-check'), { force: true });
  if (opts.retries < 0) throw new InvalidArgumentError(`--retries must be 0 or more, got ${opts.retries}`);
  const plan = opts.sandbox ? sandboxPlanFor(opts, { worker, submissionsRoot: resolve(cwd, dir), outDir, suiteFile: suite.file }) : undefined;
  const jobs = opts.jobs ?? availableParallelism();
  const relOut = relative(cwd, outDir);
  const shownOut = relOut === '' ? '.' : relOut.startsWith('..') ? outDir : relOut;
  const caseCount = suite.cases.length;
  ctx.io.stdout(
    `grading ${submissions.length} submission${submissions.length === 1 ? '' : 's'} with ${suite.name} (${relative(cwd, suite.file) || suite.file}): ${caseCount} case${caseCount === 1 ? '' : 's'}, ` +
      `${Math.min(jobs, submissions.length)} at a time, timeLimitMs=${opts.timeLimitMs} each\n`,
  );
  const started = performance.now();
  const graded = await gradeAll({ ctx, opts, submissions, suite, vars, worker, plan, jobs, outDir });
  writeSummary(ctx, opts, { suite, graded, outDir, shownOut, color, started });
}

/** Where a submission's sandbox binds and what it may use; refuses when no sandbox can be had here. */
function sandboxPlanFor(opts: GradeOptions, paths: { worker: string; submissionsRoot: string; outDir: string; suiteFile: string }): SandboxPlan {
  const why = sandboxUnavailable();
  if (why !== undefined) throw new ProtosimError('no-sandbox', why, ExitCode.invalidInput);
  return {
    protosimRoot: resolve(dirname(paths.worker), '../..'),
    submissionsRoot: paths.submissionsRoot,
    outDir: paths.outDir,
    suiteDir: dirname(paths.suiteFile),
    limits: {
      cpuSeconds: Math.ceil(opts.timeLimitMs / 1000) + 1,
      fileBytes: opts.maxFileBytes,
      processes: opts.maxProcesses,
      memoryBytes: opts.maxMemoryMb * 1024 * 1024,
    },
  };
}

/** One grading run, loaded and checked: what `gradeAll` needs past the options. */
interface GradeRun {
  ctx: CliContext;
  opts: GradeOptions;
  submissions: Submission[];
  suite: GradingSuite;
  vars: Record<string, string | number>;
  worker: string;
  plan: SandboxPlan | undefined;
  jobs: number;
  outDir: string;
}

/** Grades every submission, writing each one's reports and line as it finishes, with progress; killed workers on Ctrl-C. */
async function gradeAll(run: GradeRun): Promise<GradedSubmission[]> {
  const { ctx, opts, submissions, suite, vars, worker, plan, jobs, outDir } = run;
  const tty = ctx.io.stderrIsTTY ?? false;
  // Grading is long by nature: without a terminal, a plain line as submissions finish from the start.
  const progress = progressFor(ctx, opts, 'submissions', { quietMs: tty ? 1000 : 0 });
  let submissionsDone = 0;
  // cases with a verdict: those streamed by running submissions, and every case of finished ones
  let casesDone = 0;
  const streamed = new Map<string, number>();
  const draw = (): void => progress?.update(submissionsDone, submissions.length, { cases: casesDone });
  // Interrupted (Ctrl-C, a CI job cancelled): stop every submission's processes before going.
  const interrupted = (signal: NodeJS.Signals): void => {
    killRunningWorkers();
    ctx.io.stderr(`\nprotosim: grading interrupted (${signal}); the submissions' processes were killed\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let graded: GradedSubmission[];
  try {
    graded = await gradeSubmissions({
      submissions,
      cases: suite.cases,
      suiteName: suite.name,
      jobs,
      timeLimitMs: opts.timeLimitMs,
      workerCommand: (s, caseIds) => [process.execPath, worker, JSON.stringify(jobFor(s, suite.file, opts, vars, caseIds))],
      ...(plan !== undefined ? { sandbox: (s: Submission) => openSandbox(s, plan) } : {}),
      retries: opts.retries,
      onCase: (s) => {
        casesDone++;
        streamed.set(s.name, (streamed.get(s.name) ?? 0) + 1);
        draw();
      },
      onSubmissionEnd: (g) => {
        submissionsDone++;
        casesDone += g.report.cases.length - (streamed.get(g.submission.name) ?? 0);
        writeSubmissionReports(outDir, g);
        progress?.clear();
        ctx.io.stdout(submissionLine(g, submissionsDone, submissions.length));
        draw();
      },
    });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  progress?.finish();
  return graded;
}

/** Writes summary.csv and summary.json, prints the table and totals, and sets the exit code (--fail-under). */
function writeSummary(ctx: CliContext, opts: GradeOptions, done: { suite: GradingSuite; graded: GradedSubmission[]; outDir: string; shownOut: string; color: boolean; started: number }): void {
  const { suite, graded, outDir, shownOut, color, started } = done;
  const rows = graded.map((g) => ({ name: g.submission.name, report: g.report, outcome: g.outcome }));
  writeOutputFile(join(outDir, 'summary.csv'), renderSummaryCsv(suite.cases, rows), `--out ${opts.out}`);
  writeOutputFile(join(outDir, 'summary.json'), JSON.stringify(summaryJson(suite.name, suite.file, suite.cases, graded, opts.timeLimitMs), null, 2) + '\n', `--out ${opts.out}`);
  ctx.io.stdout(`\n${renderSummaryTable(suite.cases, rows, { color, width: ctx.io.columns ?? 100 })}\n`);
  const full = graded.filter((g) => g.report.maxScore > 0 && g.report.score === g.report.maxScore).length;
  const errored = graded.filter((g) => g.report.cases.some((c) => c.verdict === 'ERROR')).length;
  ctx.io.stdout(
    `graded ${graded.length} submission${graded.length === 1 ? '' : 's'} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${full} with full marks, ${errored} with errors\n` +
      `wrote ${join(shownOut, 'summary.csv')}, ${join(shownOut, 'summary.json')} and ${join(shownOut, '<submission>')}/{${submissionReportFiles.map((f) => f.file).join(',')}}\n`,
  );
  if (opts.failUnder !== undefined) {
    const under = graded.filter((g) => scoreUnder(g.report, opts.failUnder!));
    if (under.length > 0) {
      ctx.io.stderr(`protosim: ${under.length} submission${under.length === 1 ? '' : 's'} scored under --fail-under ${opts.failUnder.value}${opts.failUnder.percent ? '%' : ''}: ${under.map((g) => g.submission.name).join(', ')}\n`);
      ctx.exitCode = ExitCode.expectationFailed;
      return;
    }
  }
  ctx.exitCode = ExitCode.ok;
}

function jobFor(s: Submission, suiteFile: string, opts: GradeOptions, vars: Record<string, string | number>, caseIds?: readonly string[]): SubmissionJob {
  return {
    suiteFile,
    manifestFile: s.manifestPath,
    dir: s.dir,
    name: s.name,
    caseIds: caseIds !== undefined ? [...caseIds] : (opts.case ?? []),
    tags: caseIds !== undefined ? [] : (opts.tag ?? []),
    vars,
    ...(opts.caseTimeoutMs !== undefined ? { caseTimeoutMs: opts.caseTimeoutMs } : {}),
    ...(opts.replyTimeoutMs !== undefined ? { replyTimeoutMs: opts.replyTimeoutMs } : {}),
    maxOutputBytes: opts.maxOutputBytes,
    protosimLauncher: protosimLauncher(),
  };
}

/** True when the report's score is under the --fail-under bound. */
export function scoreUnder(report: SuiteReport, bound: FailUnder): boolean {
  return bound.percent ? (report.maxScore > 0 ? (report.score / report.maxScore) * 100 : 0) < bound.value : report.score < bound.value;
}

function reportOf(g: GradedSubmission): SuiteReport {
  return { ...g.report, startedAt: g.startedAt, finishedAt: g.finishedAt };
}

function writeSubmissionReports(outDir: string, g: GradedSubmission): void {
  const dir = join(outDir, g.submission.name);
  const report = reportOf(g);
  for (const { format, file } of submissionReportFiles) writeOutputFile(join(dir, file), renderReport(format, report, file, { generator: 'protosim 0.1.0 grade' }), `--out ${join(outDir, g.submission.name, file)}`);
}

function submissionLine(g: GradedSubmission, done: number, total: number): string {
  const r = g.report;
  const n = (v: string): number => r.cases.filter((c) => c.verdict === v).length;
  const problems = [n('FAIL') ? `${n('FAIL')} failed` : '', n('ERROR') ? `${n('ERROR')} errors` : ''].filter(Boolean).join(', ');
  const why = g.outcome === 'time-limit' ? ' · stopped at its time limit' : g.outcome === 'worker-failed' ? ' · the grading worker failed' : '';
  const flaky = g.flaky.length > 0 ? ` · FLAKY: ${g.flaky.join(', ')}` : '';
  return `  [${done}/${total}] ${g.submission.name}: ${r.score}/${r.maxScore} (${percentOf(r)}%)${problems ? ` · ${problems}` : ''}${flaky}${why} (${(r.durationMs / 1000).toFixed(1)} s)\n`;
}

function summaryJson(name: string, file: string, cases: readonly { id: string; title: string; level: string; points: number }[], graded: readonly GradedSubmission[], timeLimitMs: number): unknown {
  return {
    suite: name,
    suiteFile: file,
    timeLimitMs,
    cases,
    submissions: graded.map((g) => ({
      name: g.submission.name,
      kind: g.submission.kind,
      manifest: g.submission.manifest,
      score: g.report.score,
      maxScore: g.report.maxScore,
      percent: percentOf(g.report),
      outcome: g.outcome,
      flaky: g.flaky,
      containment: g.containment,
      startedAt: g.startedAt,
      finishedAt: g.finishedAt,
      durationMs: g.report.durationMs,
      cases: g.report.cases.map((c) => ({ id: c.id, verdict: c.verdict, ...(g.flaky.includes(c.id) ? { flaky: true } : {}), points: c.points, maxPoints: c.maxPoints, reason: c.reason, durationMs: c.durationMs })),
    })),
  };
}
