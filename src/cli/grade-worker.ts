/**
 * The process that grades one submission for `protosim grade` (src/conformance/grading): started
 * as `node dist/cli/grade-worker.js JOB_JSON` in a process group of its own, it runs the suite
 * against the submission and writes each case's result on stdout as a prefixed JSON line. On
 * SIGTERM (the submission's time limit) it exits at once, which stops the client programs it
 * started (they live in process groups of their own and are killed by the exit hook).
 */
import { runSubmission, type SubmissionJob } from '../conformance/grading/run-submission.js';
import { workerLinePrefix, type WorkerMessage } from '../conformance/grading/grade-submissions.js';

process.on('SIGTERM', () => process.exit(143));

const emit = (message: WorkerMessage): void => {
  process.stdout.write(`${workerLinePrefix}${JSON.stringify(message)}\n`);
};

try {
  const job = JSON.parse(process.argv[2] ?? '') as SubmissionJob;
  const { target } = await runSubmission(job, (result) => emit({ case: result }));
  emit({ done: { target } });
  process.exit(0);
} catch (error) {
  process.stderr.write(`protosim grade worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
}
