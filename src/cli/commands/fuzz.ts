/**
 * `protosim fuzz <protocol | suite.yaml> [--target ...]`: generated live cases against a server, the
 * protocol's model as the oracle, a failure shrunk and saved as a suite case (docs/fuzz.md).
 * `protosim fuzz <protocol> --adapter FILE`: generated client-suite cases against a client program,
 * protosim's reference server as the server, the protocol's rules as the expectations.
 * The seed comes first on stderr; exit 0 no finding, 1 a finding, 2 bad input, 3 the target could
 * not be started or reached.
 */
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ExitCode, InputError } from '../../errors.js';
import { builtinLiveProtocols, liveProtocolNamed } from '../../models/registry.js';
import { loadAdapterFile } from '../../conformance/clients/adapter.js';
import type { IoMode } from '../../conformance/clients/client-process.js';
import { clientFuzzFor, clientFuzzGenerators } from '../../conformance/fuzz/clients/client-protocol.js';
import { referenceServerCommand } from '../../conformance/fuzz/clients/client-fuzz-suite.js';
import { runClientFuzz, type ClientFuzzOptions } from '../../conformance/fuzz/clients/run-client-fuzz.js';
import { loadSuiteFile, type Suite } from '../../scenario/load-suite.js';
import { fuzzGeneratorFor, fuzzGenerators } from '../../conformance/fuzz/fuzz-generators.js';
import { generatorFor } from '../../conformance/fuzz/case-arbitrary.js';
import { strictVar } from '../../conformance/server-mapping-for.js';
import { boundsVar } from '../../models/live-bounds.js';
import { processFaultsOf, runFuzz, type FuzzOptions, type FuzzProgress } from '../../conformance/fuzz/run-fuzz.js';
import { describeSize, type CaseSize } from '../../conformance/fuzz/fuzz-case.js';
import { makeSuiteReport, type CaseResult } from '../../report/case-result.js';
import type { ReportSpec } from '../../report/report-format.js';
import type { CliContext } from '../context.js';
import { collectWhole, renderCaseLine } from '../live-run.js';
import { parseIntOption } from '../options.js';
import { writeOutputFile } from '../output-file.js';
import { addReportOptions, writeReportsFor } from '../reports.js';
import { bundledScenariosDir } from '../scenario-files.js';
import { targetFileOf } from '../target-flag.js';
import { parseIoMode } from './adapter.js';

interface FuzzFlags {
  target?: string;
  adapter?: string;
  io?: IoMode;
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
  processFaults: boolean;
  strict?: boolean;
  /** `--no-bounds` sets false: the protocol's named bounds are not checked */
  bounds: boolean;
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
  const protocolGenerator = fuzzGeneratorFor(suite.spec.protocol);
  if (protocolGenerator === undefined) throw new InputError(`fuzz: no generator for ${suite.spec.protocol} yet (${fuzzGenerators.map((g) => g.protocol).join(', ')})`);
  // --strict: the protocol's strict generator (protosim's own extensions) and the strict oracle (the suite variable)
  const strict = flags.strict === true;
  const generator = generatorFor(protocolGenerator, strict);
  const targetFile = targetFileOf(flags.target, suite.spec.protocol, cwd);
  const address = flags.target !== undefined && targetFile === undefined ? flags.target : undefined;
  const vars = { ...(generator.vars ?? {}), ...(suite.spec.vars ?? {}), ...parseVars(flags.var ?? []), ...(strict ? { [strictVar]: 1 } : {}), ...(flags.bounds !== false ? { [boundsVar]: 1 } : {}) };
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
    processFaults: flags.processFaults,
  };
}

/** What the text, JSON and report outputs show of a run, server side or client side. */
interface ShownOutcome {
  seed: number;
  runs: number;
  flaky: number;
  inconclusive: number;
  durationMs: number;
  unreachable?: string;
  finding?: { run: number; firstAtMs: number; shrinks: number; size: CaseSize; originalSize: CaseSize; result: CaseResult; suiteText: string; caseId: string };
}

function progressLine(e: FuzzProgress): string {
  const s = `${(e.elapsedMs / 1000).toFixed(1)}s`;
  if (e.kind === 'case') return `fuzz: case ${e.run} ${e.verdict} (${s})${e.reason !== undefined ? `: ${e.reason.split('\n')[0]!.slice(0, 200)}` : ''}\n`;
  if (e.kind === 'finding') return `fuzz: case ${e.run} FAILED and failed again (${s}): ${e.result.reason.split('\n')[0]!.slice(0, 200)}\n`;
  return `fuzz: shrink ${e.step}: ${describeSize(e.size)} (${s})\n`;
}

/** The run as a suite report: the finding as a FAIL case, or one PASS case saying what ran. */
function outcomeReport(outcome: ShownOutcome, protocol: string, target: string): ReturnType<typeof makeSuiteReport> {
  const f = outcome.finding;
  const c: CaseResult =
    f !== undefined
      ? { ...f.result, id: f.caseId, title: `fuzz ${protocol} seed ${outcome.seed}: shrunk to ${describeSize(f.size)}` }
      : { id: `fuzz/${protocol}/seed-${outcome.seed}`, title: `fuzz ${protocol} seed ${outcome.seed}`, level: 'required', points: 1, maxPoints: 1, verdict: outcome.unreachable !== undefined ? 'ERROR' : 'PASS', reason: outcome.unreachable ?? `${outcome.runs} generated cases, no finding`, durationMs: outcome.durationMs };
  return makeSuiteReport(target, [c], outcome.durationMs, `fuzz/${protocol}`);
}

/** `replay` says how to run the search again (` --target X`, ` --adapter A`). */
function renderOutcome(ctx: CliContext, outcome: ShownOutcome, protocol: string, flags: FuzzFlags, replay: string): void {
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
  ctx.io.stdout(`  replay the search: protosim fuzz ${protocol} --seed ${outcome.seed}${replay}\n`);
  // a client suite has no variable for the bounds: its replay asks for them
  const bounds = flags.adapter !== undefined && flags.bounds !== false ? ' --bounds' : '';
  if (flags.saveCase !== undefined) ctx.io.stdout(`  replay the case:   protosim run ${flags.saveCase}${flags.adapter !== undefined ? ` --adapter ${flags.adapter}${bounds}` : replay}\n`);
}

/** Saves the shrunk case, prints (text or JSON), writes reports, sets the exit code. */
function finish(ctx: CliContext, outcome: ShownOutcome, protocol: string, flags: FuzzFlags, replay: string, target: string): void {
  const cwd = ctx.io.cwd ?? process.cwd();
  if (outcome.finding !== undefined && flags.saveCase !== undefined) writeOutputFile(resolve(cwd, flags.saveCase), outcome.finding.suiteText, '--save-case');
  const report = outcomeReport(outcome, protocol, target);
  if (flags.format === 'json') ctx.io.stdout(`${JSON.stringify({ ...outcome, finding: outcome.finding === undefined ? undefined : { ...outcome.finding, savedTo: flags.saveCase } }, null, 2)}\n`);
  else renderOutcome(ctx, outcome, protocol, flags, replay);
  writeReportsFor(ctx, report, flags.report ?? []);
  ctx.exitCode = outcome.unreachable !== undefined && outcome.finding === undefined ? ExitCode.targetError : outcome.finding !== undefined ? ExitCode.expectationFailed : ExitCode.ok;
}

/** The reference server's options for the codec and framing the client program speaks (exit 2 for one it cannot speak). */
function codecArgs(protocol: string, flags: FuzzFlags): { args: string[]; unframed: boolean } {
  const live = liveProtocolNamed(protocol);
  const args: string[] = [];
  if (flags.codec !== undefined) {
    const choices = live?.server.options.find((o) => o.kind === 'codec')?.choices ?? [];
    const codecs = live?.codecs.map((c) => c.name) ?? [];
    if (choices.includes(flags.codec)) args.push('--codec', flags.codec);
    else if (!(codecs.length === 1 && codecs[0] === flags.codec)) throw new InputError(`--codec: protosim's ${protocol} server speaks ${(choices.length > 0 ? choices : codecs).join(' or ')}, not ${JSON.stringify(flags.codec)}`);
  }
  if (flags.framing !== undefined) {
    const framings = live?.framings ?? [];
    if (!(framings as readonly string[]).includes(flags.framing)) throw new InputError(`--framing: ${framings.length > 0 ? `expected ${framings.join(' or ')}` : `${protocol} has no framing option`}, got ${JSON.stringify(flags.framing)}`);
    args.push('--framing', flags.framing);
  }
  return { args, unframed: flags.framing === 'raw' };
}

/** The options of a run against a client program, from the flags (every problem an InputError, exit 2). */
function clientFuzzOptions(what: string, flags: FuzzFlags, cwd: string, seed: number): ClientFuzzOptions {
  if (flags.target !== undefined) throw new InputError('fuzz: --adapter tests a client program (protosim plays its server or key-value store) and --target a server: give one of them');
  if (flags.strict === true) throw new InputError('fuzz: --strict holds a server to what protosim\'s reference server does; it has no meaning with --adapter (a client program)');
  const generator = clientFuzzFor(what);
  if (generator === undefined) throw new InputError(`fuzz --adapter: no client fuzzing for ${JSON.stringify(what)}; expected a protocol: ${clientFuzzGenerators.map((g) => g.protocol).join(', ')}`);
  const adapterPath = resolve(cwd, flags.adapter!);
  if (!existsSync(adapterPath)) throw new InputError(`--adapter: no such adapter file ${JSON.stringify(flags.adapter)}`);
  const adapter = loadAdapterFile(adapterPath, flags.adapter);
  if (adapter.spec.protocol !== generator.protocol) throw new InputError(`--adapter: the adapter ${adapter.spec.adapter} is for ${adapter.spec.protocol}, not ${generator.protocol}`);
  const { args, unframed } = codecArgs(generator.protocol, flags);
  const vars = Object.fromEntries(Object.entries(parseVars(flags.var ?? [])).map(([k, v]) => [k, String(v)]));
  const suiteDir = flags.saveCase !== undefined ? dirname(resolve(cwd, flags.saveCase)) : cwd;
  return {
    generator,
    adapter,
    base: { protocol: generator.protocol, adapter: relative(suiteDir, adapterPath) || adapterPath, server: referenceServerCommand(generator.protocol, [...generator.serverArgs, ...args]), adapterVars: { ...(generator.adapterVars ?? {}), ...vars } },
    suiteDir,
    unframed,
    vars,
    ...(flags.io !== undefined ? { io: flags.io } : {}),
    bounds: flags.bounds !== false,
    seed,
    runs: flags.runs,
    repeat: flags.repeat,
    confirm: flags.confirm,
    timeBudgetMs: flags.timeBudget * 1000,
  };
}

/** `fuzz <protocol> --adapter FILE`: generated client-suite cases against the program. */
async function fuzzClients(ctx: CliContext, what: string, flags: FuzzFlags, cwd: string, seed: number): Promise<void> {
  const options = clientFuzzOptions(what, flags, cwd, seed);
  const protocol = options.generator.protocol;
  ctx.io.stderr(`seed=${seed} protocol=${protocol} runs=${flags.runs} repeat=${flags.repeat} confirm=${flags.confirm} time-budget=${flags.timeBudget}s adapter=${flags.adapter} bounds=${flags.bounds !== false ? 'on' : 'off'}\n`);
  if (flags.progress) options.onProgress = (e) => ctx.io.stderr(progressLine(e));
  const outcome = await runClientFuzz(options);
  const replay = ` --adapter ${flags.adapter}${flags.codec !== undefined ? ` --codec ${flags.codec}` : ''}${flags.framing !== undefined ? ` --framing ${flags.framing}` : ''}`;
  finish(ctx, outcome, protocol, flags, replay, `client program ${options.adapter.spec.adapter}`);
}

export function registerFuzzCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('fuzz')
    .description('generate live cases from a protocol\'s model, run them against a server with the model as oracle, shrink a failure and save it as a suite case')
    .argument('<protocol|suite>', `a protocol (${fuzzGenerators.map((g) => g.protocol).join(', ')}) or a suite file (its protocol, target and vars)`)
    .option('--target <address|file>', 'the server: an address (tcp://127.0.0.1:PORT, http://...) or a target file; default: the suite\'s target (protosim\'s reference server)')
    .option('--adapter <file>', `a client program to test instead of a server (${clientFuzzGenerators.map((g) => g.protocol).join(', ')}): its adapter; protosim plays the server (its reference server) or, for the key-value protocols, the IM store`)
    .option('--io <mode>', 'with --adapter: drive the program through a pty, pipes or auto', parseIoMode)
    .option('--codec <codec>', 'the codec the target (or, with --adapter, the client program) speaks')
    .option('--framing <framing>', 'protobuf framing: length-delimited | raw')
    .option('--runs <n>', 'generated cases at most', positive('--runs'), 1000)
    .option('--repeat <n>', 'runs of each generated case (rare races)', positive('--repeat'), 1)
    .option('--time-budget <s>', 'seconds for the search (shrinking gets what is left, at least 20 s)', positive('--time-budget'), 120)
    .option('--seed <n>', 'the seed of the generated cases (default: drawn, and printed first)', parseIntOption('--seed'))
    .option('--confirm <n>', 'a failure (and each shrink candidate) must fail this many runs in a row', positive('--confirm'), 2)
    .option('--save-case <file>', 'write the shrunk case as a suite file that protosim run replays')
    .option('--var <name=value>', 'a suite variable; with --adapter, an adapter variable (repeatable)', collectWhole)
    .option('--reply-timeout-ms <ms>', 'how long an expect waits', parseIntOption('--reply-timeout-ms'))
    .option('--strict', 'as run --strict: check everything protosim\'s reference server does (reply texts, acks, closing after errors) and generate its own extensions too (the kv store parameter, its error replies)')
    .option('--no-bounds', 'do not hold the target to its protocol\'s named bounds (servers: connections-released; client programs: idle-requests)')
    .option('--no-process-faults', 'do not kill, restart or pause the target (generated only against a target protosim starts, never an address)')
    .option('--format <format>', 'text or json', 'text');
  addReportOptions(command).action(async (what: string, flags: FuzzFlags) => {
    if (flags.format !== 'text' && flags.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(flags.format)}`);
    const cwd = ctx.io.cwd ?? process.cwd();
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
    if (flags.adapter !== undefined) return fuzzClients(ctx, what, flags, cwd, seed);
    const options = fuzzOptions(what, flags, cwd, seed);
    const protocol = options.base.protocol;
    ctx.io.stderr(`seed=${seed} protocol=${protocol} runs=${flags.runs} repeat=${flags.repeat} confirm=${flags.confirm} time-budget=${flags.timeBudget}s target=${flags.target ?? 'the suite\'s'} process-faults=${processFaultsOf(options).why}${flags.strict === true ? ' strict' : ''} bounds=${flags.bounds !== false ? 'on' : 'off'}\n`);
    if (flags.progress) options.onProgress = (e) => ctx.io.stderr(progressLine(e));
    const outcome = await runFuzz(options);
    finish(ctx, outcome, protocol, flags, flags.target !== undefined ? ` --target ${flags.target}` : '', flags.target ?? 'the suite\'s target');
  });
}
