/**
 * `protosim run <client suite>`: a suite that names an adapter drives client programs (see
 * docs/clients.md). Prints one line per case, the evidence of each failure, and writes the same
 * reports as every suite (`--report junit=...`). Exit 0 when every required case passed, 1 when one
 * failed or errored, 2 for a bad suite or adapter, 3 when no program could be started at all.
 */
import { relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadAdapterFile } from '../conformance/clients/adapter.js';
import type { IoMode } from '../conformance/clients/client-process.js';
import { loadClientSuiteFile } from '../conformance/clients/load-client-suite.js';
import { runClientSuite, selectClientCases } from '../conformance/clients/run-client-suite.js';
import { suiteServerCommand } from '../conformance/clients/suite-server.js';
import { strictOnlyCases } from '../scenario/step-language.js';
import { protosimLauncher } from '../conformance/managed-process.js';
import type { CaseResult, SuiteReport } from '../report/case-result.js';
import { ExitCode, InputError } from '../errors.js';
import { collectVar, parseIoMode } from './commands/adapter.js';

import type { CliContext } from './context.js';
import { progressFor, writeReportsFor, type ReportOptions } from './reports.js';

export interface ClientRunOptions extends Partial<ReportOptions> {
  adapter?: string;
  io?: IoMode;
  /** `name=value` strings, as `run --var` collects them (shared with server suites) */
  var?: string[];
  case?: string[];
  /** `--strict`: also the cases that check what the protocol leaves open */
  strict?: boolean;
  /** `--bounds`: the protocol's named bounds of client programs checked too */
  bounds?: boolean;
  tag?: string[];
  format: string;
  color: boolean;
}


/** The options of client suites on `run`. */
export function addClientRunOptions(command: Command): Command {
  return command
    .option('--adapter <file>', 'client suites: the adapter of the program under test (default: the suite\'s own)')
    .option('--io <mode>', 'client suites: pty, pipes or auto', parseIoMode);
  // --var, --case and --tag are shared with server suites and declared by `run` itself.
}

export async function runClientSuiteCommand(ctx: CliContext, file: string, opts: ClientRunOptions): Promise<void> {
  const cwd = ctx.io.cwd ?? process.cwd();
  const suite = loadClientSuiteFile(resolve(cwd, file), file);
  const adapterPath = opts.adapter !== undefined ? resolve(cwd, opts.adapter) : suite.adapterPath;
  const adapter = loadAdapterFile(adapterPath, opts.adapter ?? (relative(cwd, adapterPath) || adapterPath));
  if (adapter.spec.protocol !== suite.spec.protocol) {
    throw new InputError(`--adapter: the adapter ${adapter.spec.adapter} is for ${adapter.spec.protocol}, the suite tests ${suite.spec.protocol}`);
  }
  // An adapter whose program speaks QUIC needs a server command protosim can start over QUIC (exit 2 otherwise).
  suiteServerCommand(suite, adapter);
  const text = opts.format !== 'json';
  if (text) ctx.io.stdout(`suite ${suite.spec.suite}: ${suite.spec.title}\nprogram: ${adapter.spec.adapter} (${relative(cwd, adapterPath) || adapterPath})\n`);
  const strictOnly = opts.strict === true ? [] : strictOnlyCases(suite.spec.cases, opts.case ?? []);
  if (strictOnly.length > 0 && text) ctx.io.stderr(`protosim: ${strictOnly.length} strict-only case(s) not run (${strictOnly.join(', ')}): they check what the protocol leaves open; --strict runs them\n`);
  const total = selectClientCases(suite, opts.case ?? [], opts.tag ?? [], opts.strict === true).length;
  const progress = progressFor(ctx, { progress: opts.progress ?? true }, 'cases');
  let done = 0;
  const report = await runClientSuite(suite, {
    adapter,
    ...(opts.var ? { vars: (opts.var ?? []).reduce<Record<string, string>>((acc, v) => collectVar(v, acc), {}) } : {}),
    ...(opts.io ? { io: opts.io } : {}),
    ...(opts.case ? { caseIds: opts.case } : {}),
    ...(opts.strict === true ? { strict: true } : {}),
    ...(opts.bounds === true ? { bounds: true } : {}),
    ...(opts.tag ? { tags: opts.tag } : {}),
    protosimLauncher: protosimLauncher(),
    onCaseEnd: (r) => {
      progress?.clear();
      if (text) ctx.io.stdout(renderCaseLine(r));
      progress?.update(++done, total);
    },
  });
  progress?.finish();
  if (opts.format === 'json') ctx.io.stdout(JSON.stringify(report, null, 2) + '\n');
  else ctx.io.stdout(renderClientSuiteSummary(report));
  writeReportsFor(ctx, report, opts.report ?? []);
  const allUnstartable = report.cases.length > 0 && report.cases.every((c) => c.verdict === 'ERROR' && /cannot start/.test(c.reason));
  ctx.exitCode = allUnstartable ? ExitCode.targetError : report.ok ? ExitCode.ok : ExitCode.expectationFailed;
}

export function renderCaseLine(r: CaseResult): string {
  const head = `  ${r.verdict.padEnd(5)} ${r.id}  (${r.points}/${r.maxPoints}${r.level === 'recommended' ? ', recommended' : ''}, ${(r.durationMs / 1000).toFixed(1)} s)`;
  if (r.verdict === 'PASS') return head + '\n';
  // A SKIP says why the case could not be judged (a killed server over QUIC, say).
  if (r.verdict === 'SKIP') return `${head}\n        ${r.reason}\n`;
  const lines = [head, ...(r.step ? [`        ${r.step}`] : []), `        ${r.reason}`];
  if (r.observed) for (const l of r.observed.split('\n')) lines.push(`          ${l}`);
  return lines.join('\n') + '\n';
}

export function renderClientSuiteSummary(report: SuiteReport): string {
  const count = (v: string): number => report.cases.filter((c) => c.verdict === v).length;
  return `${report.ok ? 'ok' : 'FAILED'}: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('ERROR')} errors, ${count('SKIP')} skipped; score ${report.score}/${report.maxScore} (${(report.durationMs / 1000).toFixed(1)} s)\n`;
}
