/**
 * The process entry point: builds the program, runs it, and is the only place that exits.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
});
// Let pending stdout writes flush before exiting (large JSON outputs on pipes).
process.exitCode = code;
