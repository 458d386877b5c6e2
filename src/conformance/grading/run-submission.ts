/**
 * Runs the grading suite against one submission, in this process: a server submission becomes the
 * suite's command target (on a port protosim picks), a client submission's adapter drives the
 * client suite. Each case's result is handed on as soon as it has one, so a grader that has to stop
 * the run at the submission's time limit keeps what was done.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import type { CaseResult } from '../../report/case-result.js';
import { readYamlInput } from '../../scenario/load.js';
import { loadSuiteFile } from '../../scenario/load-suite.js';
import { loadClientSuiteFile } from '../clients/load-client-suite.js';
import { runClientSuite } from '../clients/run-client-suite.js';
import { runSuite } from '../run-suite.js';
import { parseManifest, type ServerSubmissionEntry } from './load-submissions.js';

/** What a grading worker is asked to do (JSON on its command line). */
export interface SubmissionJob {
  /** absolute path of the suite file */
  suiteFile: string;
  /** absolute path of the submission's manifest */
  manifestFile: string;
  /** the submission's folder and its name in the summary */
  dir: string;
  name: string;
  caseIds: string[];
  tags: string[];
  /** suite variables (server suites) or adapter variables (client suites), as `--var` sets them */
  vars: Record<string, string | number>;
  /** a case's bound when it sets none */
  caseTimeoutMs?: number;
  /** server suites: how long an expect waits by default */
  replyTimeoutMs?: number;
  /** server suites: output a submission's server may print in one run before it is killed */
  maxOutputBytes?: number;
  /** protosim's own launcher, for `{protosim}` */
  protosimLauncher: string[];
}

/** Runs the job; `onCase` gets each case's result in order. Resolves with what was tested. */
export async function runSubmission(job: SubmissionJob, onCase: (result: CaseResult) => void): Promise<{ target: string }> {
  const submission = parseManifest(readYamlInput(job.manifestFile, job.manifestFile, 'manifest'), job.manifestFile, job.dir, job.name);
  if (submission.kind === 'server') {
    const loaded = loadSuiteFile(job.suiteFile);
    const suite = { ...loaded, spec: { ...loaded.spec, target: serverTarget(submission) } };
    const { report } = await runSuite(suite, {
      caseIds: job.caseIds,
      tags: job.tags,
      vars: job.vars,
      cwd: job.dir,
      ...(job.caseTimeoutMs !== undefined ? { caseTimeoutMs: job.caseTimeoutMs } : {}),
      ...(job.replyTimeoutMs !== undefined ? { replyTimeoutMs: job.replyTimeoutMs } : {}),
      ...(job.maxOutputBytes !== undefined ? { maxOutputBytes: job.maxOutputBytes } : {}),
      runToken: caseToken,
      onCase,
    });
    return { target: report.target };
  }
  const suite = loadClientSuiteFile(job.suiteFile);
  const vars: Record<string, string> = { ...submission.vars };
  for (const [k, v] of Object.entries(job.vars)) if (submission.adapter.spec.vars !== undefined && k in submission.adapter.spec.vars) vars[k] = String(v);
  const report = await runClientSuite(suite, {
    adapter: submission.adapter,
    vars,
    ...(submission.io !== undefined ? { io: submission.io } : {}),
    caseIds: job.caseIds,
    tags: job.tags,
    protosimLauncher: job.protosimLauncher,
    ...(job.caseTimeoutMs !== undefined ? { caseTimeoutMs: job.caseTimeoutMs } : {}),
    onCaseEnd: onCase,
  });
  return { target: report.target };
}

/** A case's `{run}` token when grading: from its id, so a second grading gives the same names (and reasons). */
export function caseToken(caseId: string): string {
  return createHash('sha256').update(caseId).digest('hex').slice(0, 6);
}

/** The suite target of a server submission: its command, on a port protosim picks (never a fixed one). */
export function serverTarget(submission: ServerSubmissionEntry): {
  command: string[];
  cwd: string;
  env?: Record<string, string>;
  ready?: { stdout: string } | { stderr: string };
  port: 'auto';
  startTimeoutMs?: number;
  codec?: ServerSubmissionEntry['server']['codec'];
  framing?: ServerSubmissionEntry['server']['framing'];
  transport?: ServerSubmissionEntry['server']['transport'];
  quic?: ServerSubmissionEntry['server']['quic'];
  replyTimeoutMs?: number;
} {
  const s = submission.server;
  const fill = (a: string): string => a.replaceAll('{node}', process.execPath).replaceAll('{dir}', submission.dir);
  // `{protosim}` stays a whole word: the process runner expands it into protosim's launcher.
  const command = s.command.map((a) => (a === '{protosim}' ? a : fill(a)));
  const cwd = s.cwd === undefined ? submission.dir : isAbsolute(s.cwd) ? s.cwd : resolve(submission.dir, s.cwd);
  return {
    command,
    cwd,
    ...(s.env !== undefined ? { env: Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, fill(v)])) } : {}),
    ...(s.ready !== undefined ? { ready: s.ready } : {}),
    port: 'auto',
    ...(s.startTimeoutMs !== undefined ? { startTimeoutMs: s.startTimeoutMs } : {}),
    ...(s.codec !== undefined ? { codec: s.codec } : {}),
    ...(s.framing !== undefined ? { framing: s.framing } : {}),
    ...(s.transport !== undefined ? { transport: s.transport } : {}),
    ...(s.quic !== undefined ? { quic: s.quic } : {}),
    ...(s.replyTimeoutMs !== undefined ? { replyTimeoutMs: s.replyTimeoutMs } : {}),
  };
}
