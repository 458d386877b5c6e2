/**
 * Grades many submissions: each runs in a worker process of its own (a launcher job: its own PID
 * namespace where one can be had, its own ports, its own time limit), up to `jobs` at a time. A
 * worker streams each case's result as a JSON line; at the time limit it is asked to stop
 * (SIGTERM), then everything it started is killed (SIGKILL), and the cases it
 * did not finish are ERRORs that say so, so one hung submission never stalls the others. Whatever a
 * submission does (hang, crash, flood its output), every selected case ends with a verdict and a
 * reason, and grading goes on.
 */
import { launch, readExit, type Job } from '../launcher.js';
import type { CaseResult, SuiteReport } from '../../report/case-result.js';
import { makeSuiteReport } from '../../report/case-result.js';
import { TailBuffer } from '../tail-buffer.js';
import type { GradedCase } from './grading-suite.js';
import type { Submission } from './load-submissions.js';
import { removeSandboxesNow, type Sandbox } from './sandbox.js';

/** How long a worker gets after SIGTERM (to stop its programs) before its group is killed. */
export const workerKillGraceMs = 1500;
/** Bytes of a worker's stderr kept to explain a worker that failed. */
export const workerStderrTailBytes = 4096;
/** Longest line a worker may write (a case result with its trace); longer lines are dropped. */
export const maxWorkerLineBytes = 64 * 1024 * 1024;
/** Prefix of the lines a worker writes for the grader (anything else on its stdout is ignored). */
export const workerLinePrefix = '@protosim-grade ';

/** One line a worker writes. */
export type WorkerMessage = { case: CaseResult } | { done: { target: string } };

/** How a submission's grading ended. */
export type GradeOutcome = 'completed' | 'time-limit' | 'worker-failed';

export interface GradedSubmission {
  submission: Submission;
  report: SuiteReport;
  outcome: GradeOutcome;
  /** wall-clock start and end (ISO 8601): when its worker started and ended */
  startedAt: string;
  finishedAt: string;
  /** cases that failed and then passed on a re-run (--retries): PASS, marked FLAKY */
  flaky: string[];
  /** how the submission was contained: `sandbox: bubblewrap, ..., cgroup v1 ...` or `no sandbox` (no uid: the same each time it is graded) */
  containment: string;
}

export interface GradeOptions {
  submissions: readonly Submission[];
  /** the selected cases of the suite, in order */
  cases: readonly GradedCase[];
  /** the suite's name, for the reports */
  suiteName: string;
  /** submissions graded at the same time */
  jobs: number;
  /** wall-clock bound of one submission (all its cases) */
  timeLimitMs: number;
  /** the command that grades one submission in a worker process (only `caseIds` when given: a re-run) */
  workerCommand: (submission: Submission, caseIds?: readonly string[]) => string[];
  /** a fresh sandbox for each run of a submission's worker (none: the worker runs unconfined) */
  sandbox?: (submission: Submission) => Sandbox;
  /** how many times a case that FAILs or ERRORs is re-run before it counts (default 0) */
  retries?: number;
  onSubmissionStart?: (submission: Submission) => void;
  onCase?: (submission: Submission, result: CaseResult) => void;
  onSubmissionEnd?: (graded: GradedSubmission) => void;
}

/** The workers running now: killed if the grader itself ends. */
const runningWorkers = new Set<Job>();

/** SIGKILLs every running worker and everything it started (the grader is interrupted or exits). */
export function killRunningWorkers(): void {
  for (const job of runningWorkers) job.killNow();
  runningWorkers.clear();
  removeSandboxesNow();
}

/** Grades every submission; resolves with them in the order given. */
export async function gradeSubmissions(options: GradeOptions): Promise<GradedSubmission[]> {
  const results: GradedSubmission[] = new Array(options.submissions.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < options.submissions.length) {
      const index = next++;
      const submission = options.submissions[index]!;
      options.onSubmissionStart?.(submission);
      const graded = await gradeWithRetries(submission, options);
      results[index] = graded;
      options.onSubmissionEnd?.(graded);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, options.submissions.length)) }, lane));
  return results;
}

/** The prefix of the reason of a case that passed only on a re-run. */
export const flakyMark = 'FLAKY';

/**
 * Grades a submission, then re-runs each case that FAILed or ERRORed, up to `retries` times (a
 * fresh worker and sandbox each time): one that passes on a re-run is a PASS marked FLAKY (title
 * and reason, so every report shows it), one that never passes keeps its first verdict.
 */
async function gradeWithRetries(submission: Submission, options: GradeOptions): Promise<GradedSubmission> {
  const first = await gradeOne(submission, options, options.cases, true);
  const retries = options.retries ?? 0;
  if (retries <= 0 || first.outcome !== 'completed') return first;
  const cases = [...first.report.cases];
  let failing = cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR').map((c) => c.id);
  const flaky: string[] = [];
  let durationMs = first.report.durationMs;
  let finishedAt = first.finishedAt;
  for (let attempt = 1; attempt <= retries && failing.length > 0; attempt++) {
    const again = await gradeOne(submission, options, options.cases.filter((c) => failing.includes(c.id)), false, failing);
    durationMs += again.report.durationMs;
    finishedAt = again.finishedAt;
    for (const result of again.report.cases) {
      if (result.verdict !== 'PASS') continue;
      const index = cases.findIndex((c) => c.id === result.id);
      const before = cases[index]!;
      cases[index] = {
        ...result,
        flaky: true,
        title: `${result.title} [${flakyMark}]`,
        reason: `${flakyMark}: ${before.verdict} on the first run (${before.reason}), PASS on re-run ${attempt} of ${retries}`,
        ...(before.expected !== undefined ? { expected: before.expected } : {}),
        ...(before.observed !== undefined ? { observed: before.observed } : {}),
        ...(before.step !== undefined ? { step: before.step } : {}),
      };
      flaky.push(result.id);
    }
    failing = failing.filter((id) => !flaky.includes(id));
  }
  if (flaky.length === 0) return { ...first, finishedAt, report: { ...first.report, durationMs } };
  return { ...first, finishedAt, flaky, report: makeSuiteReport(first.report.target, cases, durationMs, options.suiteName) };
}

/** One run of a submission's worker (all of `selected`, or a re-run of `caseIds`), in a fresh sandbox when there is one. */
function gradeOne(submission: Submission, options: GradeOptions, selected: readonly GradedCase[], stream: boolean, caseIds?: readonly string[]): Promise<GradedSubmission> {
  const startedAt = new Date();
  const started = performance.now();
  const sandbox = options.sandbox?.(submission);
  const containment = sandbox === undefined ? 'no sandbox' : `sandbox: bubblewrap, an unprivileged uid of its own, ${sandbox.limits}`;
  const bare = options.workerCommand(submission, caseIds);
  const argv = sandbox === undefined ? bare : sandbox.wrap(bare);
  const received: CaseResult[] = [];
  // What was graded, as the manifest says it (not the port it got: the same each time it is graded).
  const target = submission.kind === 'server' ? `submission ${submission.name} (server: ${submission.server.command.join(' ')})` : `submission ${submission.name} (client program: ${submission.adapter.spec.adapter})`;
  const stderr = new TailBuffer(workerStderrTailBytes);
  return new Promise((resolveGraded) => {
    // A launcher job: killing it at the time limit takes every process of this submission with it.
    const { child, job } = launch({ argv, env: process.env, stdin: 'closed' });
    runningWorkers.add(job);
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (signal === 'SIGKILL') job.killNow();
      else job.signalProgram(signal);
    };
    let killer: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killer = setTimeout(() => {
        killGroup('SIGKILL');
        // A process outside the group that holds the worker's pipes must not hold the grader.
        killer = setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          settle(null, 'SIGKILL');
        }, workerKillGraceMs);
      }, workerKillGraceMs);
    }, options.timeLimitMs);
    child.stdout!.setEncoding('utf8');
    const onMessage = (message: WorkerMessage): void => {
      if (!('case' in message)) return;
      received.push(message.case);
      if (stream) options.onCase?.(submission, message.case);
    };
    child.stdout!.on('data', workerLineReader(onMessage));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      clearTimeout(killer);
      // Anything the submission left behind in the group (a server's own children) goes too.
      killGroup('SIGKILL');
      runningWorkers.delete(job);
      const elapsedMs = Math.round(performance.now() - started);
      const byId = new Map(received.map((r) => [r.id, r]));
      const workerFailed = !timedOut && (spawnError !== undefined || code !== 0);
      const why = spawnError !== undefined ? `the grading worker could not start: ${spawnError.message}` : `the grading worker ended with ${signal !== null ? `signal ${signal}` : `exit code ${code}`}`;
      const cases = caseResults(selected, byId, timedOut ? { timeLimitMs: options.timeLimitMs } : { why, stderr });
      const report = makeSuiteReport(target, cases, elapsedMs, options.suiteName);
      const done = (leftovers: string[]): void =>
        resolveGraded({
          submission,
          report,
          outcome: timedOut ? 'time-limit' : workerFailed && cases.some((c) => !byId.has(c.id)) ? 'worker-failed' : 'completed',
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          flaky: [],
          containment: leftovers.length === 0 ? containment : `${containment}; ${leftovers.join('; ')}`,
        });
      // Every process of the submission is gone (and its copy removed) before its score is handed on.
      if (sandbox === undefined) done([]);
      else sandbox.close().then(done, (error: unknown) => done([`closing the sandbox failed: ${(error as Error).message}`]));
    };
    child.on('error', (error) => settle(null, null, error));
    child.on('close', (code, signal) => {
      const ended = readExit(code, signal);
      settle(ended.code, ended.signal);
    });
  });
}

/** A listener of a worker's stdout (utf8): each line for the grader, parsed; other lines, bad JSON and lines over maxWorkerLineBytes are passed over. */
function workerLineReader(onMessage: (message: WorkerMessage) => void): (chunk: string) => void {
  let partial = '';
  let dropping = false;
  return (chunk: string): void => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    if (partial.length > maxWorkerLineBytes) {
      partial = '';
      dropping = true;
    }
    for (const line of lines) {
      if (dropping) {
        dropping = false;
        continue;
      }
      if (!line.startsWith(workerLinePrefix)) continue;
      let message: WorkerMessage;
      try {
        message = JSON.parse(line.slice(workerLinePrefix.length)) as WorkerMessage;
      } catch {
        continue;
      }
      onMessage(message);
    }
  };
}

/**
 * The result of each selected case: the worker's, else an ERROR that says why there is none: the
 * time limit (reached during the first case without a result), or how the worker ended.
 */
function caseResults(selected: readonly GradedCase[], byId: ReadonlyMap<string, CaseResult>, ended: { timeLimitMs: number } | { why: string; stderr: TailBuffer }): CaseResult[] {
  let first = true;
  return selected.map((c): CaseResult => {
    const got = byId.get(c.id);
    if (got !== undefined) return got;
    const base = { id: c.id, title: c.title, level: c.level, points: 0, maxPoints: c.points, verdict: 'ERROR' as const, durationMs: 0 };
    const during = first;
    first = false;
    if ('timeLimitMs' in ended) {
      return {
        ...base,
        reason: during
          ? `the submission's time limit timeLimitMs=${ended.timeLimitMs} was reached during this case; its processes were killed`
          : `not run: the submission's time limit timeLimitMs=${ended.timeLimitMs} was reached`,
      };
    }
    const tail = ended.stderr.text().trim();
    return { ...base, reason: `not run: ${ended.why}`, ...(tail ? { observed: tail } : {}) };
  });
}
