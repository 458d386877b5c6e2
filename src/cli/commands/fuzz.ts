/**
 * `protosim fuzz <protocol | suite.yaml> [--target ...]`: generated live cases against a server, the
 * protocol's model as the oracle, a failure shrunk and saved as a suite case (docs/fuzz.md).
 * The seed comes first on stderr; exit 0 no finding, 1 a finding, 2 bad input, 3 the target could
 * not be started or reached.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ExitCode, InputError } from '../../errors.js';
import { builtinLiveProtocols } from '../../models/registry.js';
import { loadSuiteFile, type Suite } from '../../scenario/load-suite.js';
import { fuzzGeneratorFor, fuzzGenerators } from '../../conformance/fuzz/fuzz-generators.js';
import { runFuzz, type FuzzOptions, type FuzzOutcome, type FuzzProgress } from '../../conformance/fuzz/run-fuzz.js';
import { describeSize } from '../../conformance/fuzz/fuzz-case.js';
import { makeSuiteReport, type CaseResult } from '../../report/case-result.js';
import type { ReportSpec } from '../../report/report-format.js';
import type { CliContext } from '../context.js';
import { collectWhole, renderCaseLine } from '../live-run.js';
import { parseIntOption } from '../options.js';
import { writeOutputFile } from '../output-file.js';
import { addReportOptions, writeReportsFor } from '../reports.js';
import { bundledScenariosDir } from '../scenario-files.js';
import { targetFileOf } from '../target-flag.js';

interface FuzzFlags {
  target?: string;
  codec?: string;
  framing?: string;
  runs: number;
  repeat: number;
  timeBudget: number;
  seed?: number;
  confirm: number;
  saveCase?: string;
  var?: string[];
  format: string;
  report?: ReportSpec[];
  progress: boolean;
  replyTimeoutMs?: number;
}

const positive = (name: string) => (value: string): number => {
  const n = parseIntOption(name)(value);
  if (n < 1) throw new InvalidArgumentError(`${name} must be at least 1, got ${value}`);
  return n;
};

/** The suite whose protocol, target and variables fuzz uses: the file given, or the protocol's shipped suite. */
function baseSuite(what: string, cwd: string): Suite {
  const path = resolve(cwd, what);
  if (/\.ya?ml$/.test(what) || existsSync(path)) {
    if (!existsSync(path)) throw new InputError(`fuzz: no such suite file ${JSON.stringify(what)}`);
    return loadSuiteFile(path, what);
  }
  const generator = fuzzGeneratorFor(what);
  if (generator === undefined) {
    const known = builtinLiveProtocols.map((l) => l.name).filter((n) => fuzzGeneratorFor(n) !== undefined);
    throw new InputError(`fuzz: expected a protocol (${known.join(', ')}) or a suite file, got ${JSON.stringify(what)}`);
  }
  const shipped = resolve(bundledScenariosDir, 'conformance', generator.protocol, 'suite.yaml');
  return loadSuiteFile(shipped, shipped);
}

function parseVars(specs: readonly string[]): Record<string, string | number> {
  const vars: Record<string, string | number> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(spec);
    if (m === null) throw new InputError(`--var: expected NAME=VALUE, got ${JSON.stringify(spec)}`);
    vars[m[1]!] = /^-?\d+(\.\d+)?$/.test(m[2]!) ? Number(m[2]) : m[2]!;
  }
  return vars;
}

/** The options of one fuzz run, from the flags (every problem an InputError, exit 2). */
function fuzzOptions(what: string, flags: FuzzFlags, cwd: string, seed: number): FuzzOptions {
  const suite = baseSuite(what, cwd);
  const generator = fuzzGeneratorFor(suite.spec.protocol);
  if (generator === undefined) throw new InputError(`fuzz: no generator for ${suite.spec.protocol} yet (${fuzzGenerators.map((g) => g.protocol).join(', ')})`);
  const targetFile = targetFileOf(flags.target, suite.spec.protocol, cwd);
  const address = flags.target !== undefined && targetFile === undefined ? flags.target : undefined;
  const vars = { ...(generator.vars ?? {}), ...(suite.spec.vars ?? {}), ...parseVars(flags.var ?? []) };
  const target = targetFile ?? (address === undefined ? suite.spec.target : undefined);
  return {
    generator,
    base: { protocol: suite.spec.protocol, ...(target !== undefined ? { target } : {}), vars },
    suiteOptions: { target: address, codec: flags.codec, framing: flags.framing, cwd, replyTimeoutMs: flags.replyTimeoutMs },
    seed,
    runs: flags.runs,
    repeat: flags.repeat,
    confirm: flags.confirm,
    timeBudgetMs: flags.timeBudget * 1000,
  };
}

function progressLine(e: FuzzProgress): string {
  const s = `${(e.elapsedMs / 1000).toFixed(1)}s`;
  if (e.kind === 'case') return `fuzz: case ${e.run} ${e.verdict} (${s})\n`;
  if (e.kind === 'finding') return `fuzz: case ${e.run} FAILED and failed again (${s}): ${e.result.reason.split('\n')[0]!.slice(0, 200)}\n`;
  return `fuzz: shrink ${e.step}: ${describeSize(e.size)} (${s})\n`;
}

/** The run as a suite report: the finding as a FAIL case, or one PASS case saying what ran. */
function outcomeReport(outcome: FuzzOutcome, protocol: string, target: string): ReturnType<typeof makeSuiteReport> {
  const f = outcome.finding;
  const c: CaseResult =
    f !== undefined
      ? { ...f.result, id: f.caseId, title: `fuzz ${protocol} seed ${outcome.seed}: shrunk to ${describeSize(f.size)}` }
      : { id: `fuzz/${protocol}/seed-${outcome.seed}`, title: `fuzz ${protocol} seed ${outcome.seed}`, level: 'required', points: 1, maxPoints: 1, verdict: outcome.unreachable !== undefined ? 'ERROR' : 'PASS', reason: outcome.unreachable ?? `${outcome.runs} generated cases, no finding`, durationMs: outcome.durationMs };
  return makeSuiteReport(target, [c], outcome.durationMs, `fuzz/${protocol}`);
}

function renderOutcome(ctx: CliContext, outcome: FuzzOutcome, protocol: string, flags: FuzzFlags): void {
  const f = outcome.finding;
  const tally = `${outcome.runs} cases run, ${outcome.flaky} flaky, ${outcome.inconclusive} inconclusive, ${(outcome.durationMs / 1000).toFixed(1)} s`;
  if (f === undefined) {
    ctx.io.stdout(outcome.unreachable !== undefined ? `fuzz ${protocol}: the target could not be started or reached: ${outcome.unreachable}\n` : `fuzz ${protocol}: no finding (${tally})\n`);
    return;
  }
  ctx.io.stdout(`fuzz ${protocol}: FINDING in generated case ${f.run} after ${(f.firstAtMs / 1000).toFixed(1)} s (${tally})\n`);
  ctx.io.stdout(`  shrunk ${f.shrinks} times: from ${describeSize(f.originalSize)} to ${describeSize(f.size)}\n`);
  ctx.io.stdout(renderCaseLine(f.result, false).replace(/^/gm, '  '));
  ctx.io.stdout(`\n  the shrunk case:\n${f.suiteText.replace(/^/gm, '    ')}\n`);
  const replayTarget = flags.target !== undefined ? ` --target ${flags.target}` : '';
  ctx.io.stdout(`  replay the search: protosim fuzz ${protocol} --seed ${outcome.seed}${replayTarget}\n`);
  if (flags.saveCase !== undefined) ctx.io.stdout(`  replay the case:   protosim run ${flags.saveCase}${replayTarget}\n`);
}

export function registerFuzzCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('fuzz')
    .description('generate live cases from a protocol\'s model, run them against a server with the model as oracle, shrink a failure and save it as a suite case')
    .argument('<protocol|suite>', `a protocol (${fuzzGenerators.map((g) => g.protocol).join(', ')}) or a suite file (its protocol, target and vars)`)
    .option('--target <address|file>', 'the server: an address (tcp://127.0.0.1:PORT, http://...) or a target file; default: the suite\'s target (protosim\'s reference server)')
    .option('--codec <codec>', 'the codec the target speaks')
    .option('--framing <framing>', 'protobuf framing: length-delimited | raw')
    .option('--runs <n>', 'generated cases at most', positive('--runs'), 1000)
    .option('--repeat <n>', 'runs of each generated case (rare races)', positive('--repeat'), 1)
    .option('--time-budget <s>', 'seconds for the search (shrinking gets what is left, at least 20 s)', positive('--time-budget'), 120)
    .option('--seed <n>', 'the seed of the generated cases (default: drawn, and printed first)', parseIntOption('--seed'))
    .option('--confirm <n>', 'a failure (and each shrink candidate) must fail this many runs in a row', positive('--confirm'), 2)
    .option('--save-case <file>', 'write the shrunk case as a suite file that protosim run replays')
    .option('--var <name=value>', 'a suite variable (repeatable)', collectWhole)
    .option('--reply-timeout-ms <ms>', 'how long an expect waits', parseIntOption('--reply-timeout-ms'))
    .option('--format <format>', 'text or json', 'text');
  addReportOptions(command).action(async (what: string, flags: FuzzFlags) => {
    if (flags.format !== 'text' && flags.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(flags.format)}`);
    const cwd = ctx.io.cwd ?? process.cwd();
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
    const options = fuzzOptions(what, flags, cwd, seed);
    const protocol = options.base.protocol;
    ctx.io.stderr(`seed=${seed} protocol=${protocol} runs=${flags.runs} repeat=${flags.repeat} confirm=${flags.confirm} time-budget=${flags.timeBudget}s target=${flags.target ?? 'the suite\'s'}\n`);
    if (flags.progress) options.onProgress = (e) => ctx.io.stderr(progressLine(e));
    const outcome = await runFuzz(options);
    if (outcome.finding !== undefined && flags.saveCase !== undefined) writeOutputFile(resolve(cwd, flags.saveCase), outcome.finding.suiteText, '--save-case');
    const report = outcomeReport(outcome, protocol, flags.target ?? 'the suite\'s target');
    if (flags.format === 'json') ctx.io.stdout(`${JSON.stringify({ ...outcome, finding: outcome.finding === undefined ? undefined : { ...outcome.finding, savedTo: flags.saveCase } }, null, 2)}\n`);
    else renderOutcome(ctx, outcome, protocol, flags);
    writeReportsFor(ctx, report, flags.report ?? []);
    ctx.exitCode = outcome.unreachable !== undefined && outcome.finding === undefined ? ExitCode.targetError : outcome.finding !== undefined ? ExitCode.expectationFailed : ExitCode.ok;
  });
}


