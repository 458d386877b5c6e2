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
import { TailBuffer } from '../tailBuffer.js';
import type { GradedCase } from './gradingSuite.js';
import type { Submission } from './loadSubmissions.js';

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
  /** the command that grades one submission in a worker process */
  workerCommand: (submission: Submission) => string[];
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
      const graded = await gradeOne(submission, options);
      results[index] = graded;
      options.onSubmissionEnd?.(graded);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, options.submissions.length)) }, lane));
  return results;
}

function gradeOne(submission: Submission, options: GradeOptions): Promise<GradedSubmission> {
  const startedAt = new Date();
  const started = performance.now();
  const argv = options.workerCommand(submission);
  const received: CaseResult[] = [];
  let target = submission.kind === 'server' ? `submission ${submission.name} (server: ${submission.server.command.join(' ')})` : `submission ${submission.name} (client program: ${submission.adapter.spec.adapter})`;
  const stderr = new TailBuffer(workerStderrTailBytes);
  return new Promise((resolveGraded) => {
    // A launcher job: killing it at the time limit takes every process of this submission with it.
    const { child, job } = launch({ argv, env: process.env, stdin: 'closed' });
    runningWorkers.add(job);
    let timedOut = false;
    let partial = '';
    let dropping = false;
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
    child.stdout!.on('data', (chunk: string) => {
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
        if ('case' in message) {
          received.push(message.case);
          options.onCase?.(submission, message.case);
        } else if ('done' in message) target = `submission ${submission.name} — ${message.done.target}`;
      }
    });
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
      let first = true;
      const cases = options.cases.map((c): CaseResult => {
        const got = byId.get(c.id);
        if (got !== undefined) return got;
        const base = { id: c.id, title: c.title, level: c.level, points: 0, maxPoints: c.points, verdict: 'ERROR' as const, durationMs: 0 };
        const during = first;
        first = false;
        if (timedOut) {
          return {
            ...base,
            reason: during
              ? `the submission's time limit timeLimitMs=${options.timeLimitMs} was reached during this case; its processes were killed`
              : `not run: the submission's time limit timeLimitMs=${options.timeLimitMs} was reached`,
          };
        }
        const tail = stderr.text().trim();
        return { ...base, reason: `not run: ${why}`, ...(tail ? { observed: tail } : {}) };
      });
      const report = makeSuiteReport(target, cases, elapsedMs, options.suiteName);
      resolveGraded({
        submission,
        report,
        outcome: timedOut ? 'time-limit' : workerFailed && cases.some((c) => !byId.has(c.id)) ? 'worker-failed' : 'completed',
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
      });
    };
    child.on('error', (error) => settle(null, null, error));
    child.on('close', (code, signal) => {
      const ended = readExit(code, signal);
      settle(ended.code, ended.signal);
    });
  });
}
