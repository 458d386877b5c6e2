/**
 * `protosim run <scenario>`: explore a scenario and check its expectations.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { loadScenarioFile, type Scenario } from '../../scenario/load.js';
import { loadScenarioProtocol, withModuleErrors } from '../../scenario/protocol-module.js';
import { evaluateExpectations } from '../../scenario/expect.js';
import { checkDeterminism } from '../../sim/explore/determinism.js';
import { exploreExhaustive, PathError, replayPath, type MemoryMode, type Reduction } from '../../sim/explore/exhaustive.js';
import { configOfPlan, explorePbt } from '../../sim/explore/pbt.js';
import type { ExploreResult, Strategy } from '../../sim/explore/result.js';
import { CompiledModel, deriveOptions, simulate } from '../../sim/simulator.js';
import { traceToJsonl, type TraceHeader } from '../../sim/trace.js';
import type { RunReport, TimedRealisation } from '../../report/run-report.js';
import type { SimConfig } from '../../sim/config.js';
import type { Finding } from '../../sim/finding.js';
import { realiseFinding } from '../../sim/explore/timed-realisation.js';
import { renderTrace } from '../../report/text.js';
import { defaultWorkers, exploreSwarm, shardSeeds, type Shard } from '../../runner/swarm.js';
import { shardFromEnv } from '../../runner/shard-env.js';
import { counterexampleYaml } from '../counterexample-yaml.js';
import { addClientRunOptions, runClientSuiteCommand, type ClientRunOptions } from '../client-run.js';
import { renderRunReport, type RenderRunOptions } from '../render-run.js';
import { addReportOptions, progressFor, writeReportsFor, type ReportOptions } from '../reports.js';
import type { CliContext } from '../context.js';
import { writeOutputFile } from '../output-file.js';
import { fileKindAt, findFileById } from '../scenario-files.js';
import { parseIntOption } from '../options.js';
import { collect, collectWhole, runLiveSuite, type LiveRunOptions } from '../live-run.js';
import { loadSuiteFile } from '../../scenario/load-suite.js';
import { isLiveScenario, reportScenarioOf, runScenarioLive } from '../live-scenario.js';

export interface RunOptions extends Partial<ReportOptions>, Partial<Omit<LiveRunOptions, 'format' | 'color' | 'report'>> {
  timeScale?: number;
  seed?: number;
  seeds?: number;
  seedStart?: number;
  format: string;
  traceOut?: string;
  saveTrace: boolean;
  variant?: string;
  color: boolean;
  strategy?: Strategy;
  all?: boolean;
  maxStates?: number;
  maxDepth?: number;
  faultBudget?: number;
  workers?: number;
  shard?: Shard;
  saveCounterexample?: string;
  checkDeterminism?: boolean;
  path?: number[];
  reduction?: Reduction;
  symmetry?: boolean;
  maxMemoryMib?: number;
  memory?: MemoryMode;
  hashBits?: number;
}

/** Below this many seeds, the default is to run them in this thread (see `--workers`). */
export const swarmThresholdSeeds = 1000;

/** `--time-scale X`: a positive number, at most 10. */
export function parseTimeScale(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0 || x > 10) throw new InputError(`--time-scale expects a number above 0 and at most 10 (real ms per model ms), got ${JSON.stringify(value)}`);
  return x;
}

/** `--shard K/N`, 1 <= K <= N; `--shard auto`: K and N from the job engine's environment (runner/shard-env.ts). */
export function parseShard(value: string): Shard {
  if (value === 'auto') {
    const { index, count } = shardFromEnv(process.env);
    return { index, count };
  }
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new InputError(`--shard expects K/N (e.g. 2/8), got ${JSON.stringify(value)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new InputError(`--shard ${value}: K must be between 1 and N, and N at least 1`);
  return { index, count };
}

function parsePath(value: string): number[] {
  if (!/^\d+(\.\d+)*$/.test(value)) throw new InputError(`--path expects choice numbers separated by dots (e.g. 0.2.1), got ${JSON.stringify(value)}`);
  return value.split('.').map(Number);
}

/** The exploration options shared by `run` and `check`. */
export function addExploreOptions(command: Command): Command {
  return command
    .addOption(new Option('--strategy <name>', 'random (seeds, on all cores), exhaustive (every state within the bounds) or pbt (shrinking fault plans)').choices(['random', 'exhaustive', 'pbt']))
    .option('--all', 'exhaustive: explore the whole bounded space and report every distinct finding (default: stop at the first)')
    .option('--max-states <n>', 'exhaustive: stop after this many distinct states (maxStates)', parseIntOption('--max-states'))
    .option('--max-depth <n>', 'exhaustive: do not go deeper than this many steps (maxDepth)', parseIntOption('--max-depth'))
    .addOption(new Option('--reduction <name>', 'exhaustive: none (every order, the default) or por (partial-order reduction: one order of independent events, then a search without it as deep as the longest counterexample, so counterexamples stay the shortest)').choices(['none', 'por']).default('none'))
    .option('--symmetry', 'exhaustive: symmetry reduction: one state for all the states that differ only by swapping interchangeable nodes (same role, parameters, start times, faults and workload shape), checked to be symmetric as it goes (else searched without, and said); every check is made, cycles without progress included; counterexamples are concrete; combines with --reduction por')
    .option('--max-memory-mib <n>', 'exhaustive: stop (incomplete, the limit named) once the search\'s tables hold this many MiB (maxMemoryMiB; default: three quarters of the machine\'s memory)', parseIntOption('--max-memory-mib'))
    .addOption(new Option('--memory <mode>', 'exhaustive: exact (every state stored, compressed; the default), hash-compact (a 64-bit hash per state) or bitstate (3 bits per state in a bit array, Spin\'s supertrace); the last two may miss states, say how likely, and check deadlocks and invariants only').choices(['exact', 'hash-compact', 'bitstate']).default('exact'))
    .option('--hash-bits <n>', 'exhaustive, --memory bitstate: the bit array holds 2^n bits (default 27: 16 MiB; at most 32)', parseIntOption('--hash-bits'))
    .option('--fault-budget <n>', 'exhaustive: faults the search may inject; pbt: most faults in a plan', parseIntOption('--fault-budget'))
    .option('--workers <n>', `random: worker threads (default: every core from ${1000} seeds on, else 1)`, parseIntOption('--workers'))
    .option('--shard <K/N|auto>', 'random: explore only the K-th of N interleaved parts of the seed range (merge the reports with protosim merge); auto: K and N from a Kubernetes Indexed Job, GitLab parallel or PROTOSIM_SHARD_INDEX/PROTOSIM_SHARD_COUNT', parseShard)
    .option('--save-counterexample <file>', 'pbt: write the shrunk counterexample as a scenario file that reproduces it')
    .option('--check-determinism', 'run every seed twice and fail on any difference in the trace')
    .option('--path <choices>', 'exhaustive: replay this choice path (as printed with a finding) and show its trace', parsePath);
}

export function registerRunCommand(program: Command, ctx: CliContext): void {
  // The report options come first in the chain so that options added later merge cleanly.
  const command = addReportOptions(program.command('run'))
    .description('explore a scenario file and check what it expects (exit 0 when every expectation holds, 1 when one fails)')
    .argument('<scenario>', 'scenario or suite YAML file, or a scenario id as `protosim list` prints it (lock-alternation/deadlock)')
    .option('--seed <n>', 'run exactly this seed', parseIntOption('--seed'))
    .option('--seeds <n>', 'number of seeds to explore (default: the scenario\'s explore.seeds, else 200)', parseIntOption('--seeds'))
    .option('--seed-start <n>', 'first seed of the range', parseIntOption('--seed-start'))
    .option('--variant <name>', 'run against another model variant (e.g. fixed)')
    .option('--format <format>', 'text or json', 'text')
    .option('--trace-out <file>', 'where to write the trace of the shortest finding (default .protosim/traces/...)')
    .option('--no-save-trace', 'do not write the trace file')
    .option('--no-color', 'no colours even on a terminal')
    .option('--target <address>', 'live mode: the server under test (tcp://127.0.0.1:PORT, http://127.0.0.1:PORT/path for kv); overrides the suite\'s target')
    .option('--codec <codec>', 'live mode: json-lines, gob, protobuf or im-http (default: the suite\'s)')
    .option('--framing <framing>', 'live mode, protobuf: length-delimited or raw')
    .option('--case <id>', 'live mode: run only this case (repeatable)', collect)
    .option('--tag <tag>', 'live mode: run only cases with this tag (repeatable)', collect)
    .option('--var <name=value>', 'live mode: set a suite variable (repeatable)', collectWhole)
    .option('--reply-timeout-ms <n>', 'live mode: how long an expect waits by default', parseIntOption('--reply-timeout-ms'))
    .option('--strict', 'live mode, suites: check everything protosim\'s reference server does, not only what the protocol fixes (reply texts, acks, closing after errors, its own extensions)')
    .option('--bounds', 'live mode: hold the target to its protocol\'s named bounds too (servers: connections-released; client programs: idle-requests; docs/conformance.md, "Named bounds")')
    .option('--time-scale <x>', 'live mode, model scenarios: real ms per model ms (0.05 runs the scenario twenty times faster)', parseTimeScale);
  addClientRunOptions(addExploreOptions(command)).action(async (given: string, opts: RunOptions) => {
    if (opts.format !== 'text' && opts.format !== 'json') {
      throw new InputError(`--format: expected text or json, got ${JSON.stringify(opts.format)}`);
    }
    const cwd = ctx.io.cwd ?? process.cwd();
    // An id as `protosim list` prints it (lock-alternation/deadlock) names the file that has it.
    const byId = existsSync(resolve(cwd, given)) ? null : findFileById(given, cwd);
    const file = byId ?? given;
    // The file's kind (declared, or guessed as protosim 0.x did): a client suite (cases driving
    // client programs through an adapter), a server suite, else a scenario, whose loader reports
    // any other kind.
    const kind = fileKindAt(resolve(cwd, file));
    if (kind === 'client-suite') return runClientSuiteCommand(ctx, file, opts as RunOptions & ClientRunOptions);
    if (kind === 'suite') {
      // Live mode: a conformance suite (a file with cases:) against a live target.
      const suite = loadSuiteFile(resolve(cwd, file), file);
      await runLiveSuite(ctx, suite, { ...opts, format: opts.format, color: opts.color, report: opts.report ?? [] });
      return;
    }
    const suiteOnly = (['case', 'tag', 'var'] as const).filter((k) => opts[k] !== undefined);
    if (suiteOnly.length > 0) {
      throw new InputError(`${file} is a model scenario (no cases:); --${suiteOnly[0]} is for conformance suites (files with cases:, see docs/conformance.md and scenarios/conformance/)`);
    }
    // A protocol from outside the tree (`protocol: ./my-protocol/index.js`) is imported first.
    await loadScenarioProtocol(resolve(cwd, file), byId !== null ? given : file);
    const scenario = loadScenarioFile(resolve(cwd, file), byId !== null ? given : file);
    const displayFile = byId !== null ? given : relative(cwd, scenario.file) || scenario.file;
    if (isLiveScenario(scenario, opts)) {
      // Live mode: the scenario's clients are played from their models against the live server.
      const report = await runScenarioLive(scenario, opts, displayFile, cwd);
      if (opts.format === 'json') ctx.io.stdout(JSON.stringify(report, null, 2) + '\n');
      else ctx.io.stdout(renderRunReport(report, renderOptions(ctx, opts)));
      writeReportsFor(ctx, report, opts.report ?? []);
      ctx.exitCode = report.ok ? 0 : 1;
      return;
    }
    const liveOnly = (['codec', 'framing', 'replyTimeoutMs', 'timeScale'] as const).filter((k) => opts[k] !== undefined);
    if (liveOnly.length > 0) {
      throw new InputError(`${displayFile}: --${liveOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for live mode: give --target (or a target: in the scenario)`);
    }
    if (opts.path !== undefined) {
      ctx.io.stdout(replayExhaustivePath(scenario, opts, ctx));
      return;
    }
    const report = await withModuleErrors(scenario.model.name, () => runScenario(scenario, opts, displayFile, cwd, `npx protosim run ${displayFile}`, ctx));
    if (opts.format === 'json') ctx.io.stdout(JSON.stringify(report, null, 2) + '\n');
    else ctx.io.stdout(renderRunReport(report, renderOptions(ctx, opts)));
    writeReportsFor(ctx, report, opts.report ?? []);
    ctx.exitCode = report.ok ? 0 : 1;
  });
}

/** How `run` and `check` print a report on the terminal. */
export function renderOptions(ctx: CliContext, opts: RunOptions): RenderRunOptions {
  return { color: opts.color && (ctx.io.isTTY ?? false), traceStyle: opts.traceStyle ?? 'diagram', width: ctx.io.columns ?? 100 };
}

/** `--path`: the trace of an exhaustive choice path. */
export function replayExhaustivePath(scenario: Scenario, opts: RunOptions, ctx: CliContext): string {
  const variant = pickVariant(scenario, opts.variant);
  const config = { ...scenario.config, variant: variant.name };
  try {
    const out = replayPath(new CompiledModel(scenario.model.name, variant), config, faultBudgetOf(scenario, opts), opts.path!);
    const trace = renderTrace(out.trace, { color: opts.color && (ctx.io.isTTY ?? false), steps: true });
    return `path ${opts.path!.join('.')} (${opts.path!.length} steps; times are step numbers):\n${trace}\n${out.broken ? `ends in a state where ${out.broken.summary}\n` : ''}`;
  } catch (error) {
    if (error instanceof PathError) throw new InputError(`--path: ${error.message}`);
    throw error;
  }
}

function pickVariant(scenario: Scenario, name: string | undefined): Scenario['variant'] {
  if (name === undefined) return scenario.variant;
  const v = scenario.model.variants[name];
  if (!v) throw new InputError(`--variant: ${scenario.model.name} has no variant ${JSON.stringify(name)}; it has ${Object.keys(scenario.model.variants).join(', ')}`);
  return v;
}

/** The fault budget: the option, else explore.faultBudget, else the scenario's randomFaults.count. */
function faultBudgetOf(scenario: Scenario, opts: RunOptions): number {
  return opts.faultBudget ?? scenario.spec.explore?.faultBudget ?? scenario.config.randomFaults?.count ?? 0;
}

/** Explores a loaded scenario and builds the run report (writing trace files as asked). */
export async function runScenario(
  scenario: Scenario,
  opts: RunOptions,
  displayFile: string | null,
  cwd: string,
  replayBase: string,
  ctx?: CliContext,
): Promise<RunReport> {
  const variant = pickVariant(scenario, opts.variant);
  const config = { ...scenario.config, variant: variant.name };
  const compiled = new CompiledModel(scenario.model.name, variant);
  const strategy: Strategy = opts.strategy ?? scenario.explore.strategy;
  const pinned = opts.seed ?? scenario.explore.seed;
  const seedStart = pinned ?? opts.seedStart ?? scenario.explore.seedStart;
  const seeds = pinned !== null && pinned !== undefined ? 1 : (opts.seeds ?? scenario.explore.seeds);
  const shard = opts.shard ?? null;
  if (shard !== null && strategy !== 'random') throw new InputError(`--shard splits the seed range of the random strategy; it does not apply to ${strategy}`);
  const faultBudget = faultBudgetOf(scenario, opts);
  const run: ScenarioRun = { scenario, opts, config, compiled, strategy, pinned, seedStart, seeds, shard, faultBudget, cwd };

  const result = await exploreScenario(run, ctx);

  let determinism: RunReport['determinism'] = null;
  if (opts.checkDeterminism) {
    const range = shardSeeds(seedStart, seeds, shard);
    const out = checkDeterminism(() => new CompiledModel(scenario.model.name, variant), config, range.start, range.count, range.stride);
    determinism = out;
  }

  const counterexample = savedCounterexample(run, result, displayFile);

  const expectations = evaluateExpectations(scenario.expect, result.findings);
  if (determinism?.difference) {
    expectations.push({
      what: 'determinism',
      expected: 'every seed gives the same trace twice',
      observed: `seed ${determinism.difference.seed} differs at trace line ${determinism.difference.line}`,
      ok: false,
    });
  }
  const { findings, header } = replayableFindings(run, result, counterexample, replayBase);
  return {
    ok: expectations.every((e) => e.ok),
    scenario: reportScenarioOf(scenario, displayFile, variant.name),
    strategy,
    seeds: strategy === 'exhaustive' ? { start: 0, count: 0, pinned: null } : { start: seedStart, count: seeds, pinned: pinned ?? null },
    expectations,
    findings,
    stats: result.stats,
    header,
    shard,
    determinism,
    counterexample,
  };
}

/** One scenario run: the scenario, its options, and what `runScenario` derived from both. */
interface ScenarioRun {
  scenario: Scenario;
  opts: RunOptions;
  config: SimConfig;
  compiled: CompiledModel;
  strategy: Strategy;
  /** the pinned seed (--seed, else the scenario's), if any */
  pinned: number | null | undefined;
  seedStart: number;
  seeds: number;
  shard: Shard | null;
  faultBudget: number;
  cwd: string;
}

/** Explores the scenario with its strategy (exhaustive, pbt or random seeds), with progress on the terminal when there is one. */
async function exploreScenario(run: ScenarioRun, ctx: CliContext | undefined): Promise<ExploreResult> {
  const { scenario, opts, config, compiled, strategy, pinned, seedStart, seeds, shard, faultBudget } = run;
  const clock = (): number => performance.now();
  let result: ExploreResult;
  if (strategy === 'exhaustive') {
    const maxStates = opts.maxStates ?? scenario.explore.maxStates;
    const memory = opts.memory ?? 'exact';
    if (memory !== 'exact' && (opts.reduction ?? 'none') === 'por') throw new InputError(`--reduction por needs --memory exact (its cycle proviso looks states up); --memory ${memory} keeps no index of the states seen`);
    if (opts.hashBits !== undefined && (opts.hashBits < 10 || opts.hashBits > 32)) throw new InputError(`--hash-bits expects 10 to 32 (the bit array holds 2^n bits), got ${opts.hashBits}`);
    // Counted against maxStates: the bound the search stops at if it does not finish first.
    const progress = ctx ? progressFor(ctx, { progress: opts.progress ?? true }, 'states', { rate: true }) : null;
    result = exploreExhaustive(compiled, config, {
      maxStates,
      maxDepth: opts.maxDepth ?? scenario.explore.maxDepth,
      faultBudget,
      all: opts.all ?? false,
      reduction: opts.reduction ?? 'none',
      symmetry: opts.symmetry ?? false,
      memory,
      ...(opts.hashBits !== undefined ? { hashBits: opts.hashBits } : {}),
      maxMemoryMiB: opts.maxMemoryMib ?? Math.floor((totalmem() * 0.75) / 2 ** 20),
      clock,
      ...(progress ? { onProgress: (p: { states: number; transitions: number }) => progress.update(p.states, maxStates, { transitions: p.transitions }) } : {}),
    });
    progress?.finish();
  } else if (strategy === 'pbt') {
    // A scenario's pinned seed pins one simulation run; pbt searches plans, so it takes the seed
    // count (plans to try) and uses --seed, if given, as fast-check's seed.
    const plans = opts.seeds ?? scenario.spec.explore?.seeds ?? 200;
    result = explorePbt(compiled, config, { seed: opts.seed ?? opts.seedStart ?? scenario.explore.seedStart, runs: plans, faultBudget: opts.faultBudget ?? scenario.spec.explore?.faultBudget ?? 0, clock });
  } else {
    // Threads take ~100 ms to start and load the models: small ranges run faster in this thread.
    const workers = pinned !== null && pinned !== undefined ? 1 : (opts.workers ?? (seeds >= swarmThresholdSeeds ? defaultWorkers() : 1));
    const progress = ctx ? progressFor(ctx, { progress: opts.progress ?? true }, 'seeds') : null;
    const range = shardSeeds(seedStart, seeds, shard);
    result = await exploreSwarm({
      model: compiled,
      config,
      seedStart,
      seeds,
      workers,
      shard,
      ...(progress ? { onProgress: (done: number, info: { transitions: number }) => progress.update(done, range.count, { states: info.transitions }), progressEvery: 10 } : {}),
    });
    progress?.finish();
  }
  return result;
}

/** The run's counterexample, if it has one, written as a scenario file with --save-counterexample. */
function savedCounterexample(run: ScenarioRun, result: ExploreResult, displayFile: string | null): RunReport['counterexample'] {
  if (!result.counterexample) return null;
  const { scenario, opts, cwd } = run;
  const cx = result.counterexample;
  let savedAs: string | null = null;
  if (opts.saveCounterexample !== undefined) {
    const target = resolve(cwd, opts.saveCounterexample);
    writeOutputFile(target, counterexampleYaml(scenario, cx, displayFile ?? scenario.spec.id), `--save-counterexample ${opts.saveCounterexample}`);
    savedAs = relative(cwd, target) || target;
  }
  return { ...cx, file: savedAs };
}

/** Each finding with the command that replays it and its trace file (written unless --no-save-trace), and the first finding's trace header. */
function replayableFindings(
  run: ScenarioRun,
  result: ExploreResult,
  counterexample: RunReport['counterexample'],
  replayBase: string,
): { findings: RunReport['findings']; header: TraceHeader | null } {
  const { scenario, opts, config, compiled, strategy, faultBudget, cwd } = run;
  const baseCommand = `${replayBase}${opts.variant ? ` --variant ${opts.variant}` : ''}`;
  let header: TraceHeader | null = null;
  const findings = result.findings.map((f, index) => {
    let h: TraceHeader;
    let jsonl: () => string;
    let command: string;
    if (strategy === 'exhaustive') {
      const path = f.path ?? [];
      h = { k: 'header', protosim: 1, seed: 0, config, derived: { startAtMs: {}, faults: [] }, exhaustive: { path, faultBudget, finding: { kind: f.kind, summary: f.summary } } };
      jsonl = () => traceToJsonl(h, [...f.trace.filter((e) => e.k !== 'finding'), { k: 'end', t: f.timeMs, reason: 'finding' }]);
      command = `${baseCommand} --strategy exhaustive${opts.faultBudget !== undefined ? ` --fault-budget ${faultBudget}` : ''} --path ${path.join('.') || '0'}`;
    } else if (strategy === 'pbt' && result.counterexample) {
      const planConfig = configOfPlan(config, result.counterexample);
      h = { k: 'header', protosim: 1, seed: f.seed, config: planConfig, derived: deriveOptions(planConfig, f.seed) };
      jsonl = () => traceToJsonl(h, simulate(compiled, planConfig, f.seed, { trace: true }).trace);
      command = counterexample?.file ? `npx protosim run ${counterexample.file}` : `${baseCommand} --strategy pbt --save-counterexample counterexample.yaml`;
    } else {
      h = { k: 'header', protosim: 1, seed: f.seed, config, derived: deriveOptions(config, f.seed) };
      jsonl = () => traceToJsonl(h, simulate(compiled, config, f.seed, { trace: true }).trace);
      command = `${baseCommand} --seed ${f.seed}`;
    }
    if (index === 0) header = h;
    let traceFile: string | null = null;
    if (opts.saveTrace) {
      const target =
        opts.traceOut !== undefined && index === 0
          ? resolve(cwd, opts.traceOut)
          : join(cwd, '.protosim', 'traces', `${scenario.spec.id.replace(/[^a-z0-9._-]+/gi, '_')}-${f.id.replace(/[^a-z0-9._-]+/gi, '_')}-${strategy === 'exhaustive' ? 'exhaustive' : `seed${f.seed}`}.jsonl`);
      // The file holds the whole run as `protosim replay` will re-create it.
      writeOutputFile(target, jsonl(), opts.traceOut !== undefined && index === 0 ? `--trace-out ${opts.traceOut}` : `the trace ${relative(cwd, target) || target} (--no-save-trace to write none)`);
      traceFile = relative(cwd, target) || target;
    }
    if (strategy !== 'exhaustive') return { ...f, replay: { command, traceFile } };
    return { ...f, replay: { command, traceFile }, timed: timedRealisation(compiled, config, faultBudget, f) };
  });
  return { findings, header };
}

/** Whether the timed simulator realises an exhaustive finding's order within the scenario's bounds. */
function timedRealisation(model: CompiledModel, config: SimConfig, faultBudget: number, f: Finding): TimedRealisation {
  const r = realiseFinding(model, config, faultBudget, f);
  return r.realisable ? { realisable: true, lastEventMs: r.timesMs.at(-1) ?? 0 } : { realisable: false, why: r.why };
}
