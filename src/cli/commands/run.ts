/**
 * `protosim run <scenario>`: explore a scenario and check its expectations.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { loadScenarioFile, type Scenario } from '../../scenario/load.js';
import { evaluateExpectations } from '../../scenario/expect.js';
import { exploreRandom } from '../../sim/explore/random.js';
import { CompiledModel, deriveOptions, simulate } from '../../sim/simulator.js';
import { traceToJsonl, type TraceHeader } from '../../sim/trace.js';
import type { RunReport } from '../../report/run-report.js';
import { renderRunReport, type RenderRunOptions } from '../render-run.js';
import type { CliContext } from '../context.js';
import { parseIntOption } from '../options.js';
import { addReportOptions, progressFor, writeReportsFor, type ReportOptions } from '../reports.js';

export interface RunOptions extends Partial<ReportOptions> {
  seed?: number;
  seeds?: number;
  seedStart?: number;
  format: string;
  traceOut?: string;
  saveTrace: boolean;
  variant?: string;
  color: boolean;
}

export function registerRunCommand(program: Command, ctx: CliContext): void {
  // The report options come first in the chain so that options added later merge cleanly.
  addReportOptions(program.command('run'))
    .description('explore a scenario file and check what it expects (exit 0 when every expectation holds, 1 when one fails)')
    .argument('<scenario>', 'scenario YAML file')
    .option('--seed <n>', 'run exactly this seed', parseIntOption('--seed'))
    .option('--seeds <n>', 'number of seeds to explore (default: the scenario\'s explore.seeds, else 200)', parseIntOption('--seeds'))
    .option('--seed-start <n>', 'first seed of the range', parseIntOption('--seed-start'))
    .option('--variant <name>', 'run against another model variant (e.g. fixed)')
    .option('--format <format>', 'text or json', 'text')
    .option('--trace-out <file>', 'where to write the trace of the shortest finding (default .protosim/traces/...)')
    .option('--no-save-trace', 'do not write the trace file')
    .option('--no-color', 'no colours even on a terminal')
    .action((file: string, opts: RunOptions) => {
      if (opts.format !== 'text' && opts.format !== 'json') {
        throw new InputError(`--format: expected text or json, got ${JSON.stringify(opts.format)}`);
      }
      const cwd = ctx.io.cwd ?? process.cwd();
      const scenario = loadScenarioFile(resolve(cwd, file), file);
      const displayFile = relative(cwd, scenario.file) || scenario.file;
      const report = runScenario(scenario, opts, displayFile, cwd, `npx protosim run ${displayFile}`, ctx);
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

/** Explores a loaded scenario and builds the run report (writing trace files as asked). */
export function runScenario(scenario: Scenario, opts: RunOptions, displayFile: string | null, cwd: string, replayBase: string, ctx?: CliContext): RunReport {
  let variant = scenario.variant;
  if (opts.variant !== undefined) {
    const v = scenario.model.variants[opts.variant];
    if (!v) throw new InputError(`--variant: ${scenario.model.name} has no variant ${JSON.stringify(opts.variant)}; it has ${Object.keys(scenario.model.variants).join(', ')}`);
    variant = v;
  }
  const config = { ...scenario.config, variant: variant.name };
  const compiled = new CompiledModel(scenario.model.name, variant);
  const pinned = opts.seed ?? scenario.explore.seed;
  const seedStart = pinned ?? opts.seedStart ?? scenario.explore.seedStart;
  const seeds = pinned !== null && pinned !== undefined ? 1 : (opts.seeds ?? scenario.explore.seeds);
  const progress = ctx ? progressFor(ctx, { progress: opts.progress ?? true }, 'seeds') : null;
  const result = exploreRandom(compiled, config, {
    seedStart,
    seeds,
    clock: () => performance.now(),
    ...(progress ? { onProgress: (done: number, total: number, info: { transitions: number }) => progress.update(done, total, { states: info.transitions }), progressEvery: 10 } : {}),
  });
  progress?.finish();
  const expectations = evaluateExpectations(scenario.expect, result.findings);
  const baseCommand = `${replayBase}${opts.variant ? ` --variant ${opts.variant}` : ''}`;
  let header: TraceHeader | null = null;
  const findings = result.findings.map((f, index) => {
    const h: TraceHeader = { k: 'header', protosim: 1, seed: f.seed, config, derived: deriveOptions(config, f.seed) };
    if (index === 0) header = h;
    let traceFile: string | null = null;
    if (opts.saveTrace) {
      const target =
        opts.traceOut !== undefined && index === 0
          ? resolve(cwd, opts.traceOut)
          : join(cwd, '.protosim', 'traces', `${scenario.spec.id.replace(/[^a-z0-9._-]+/gi, '_')}-${f.id.replace(/[^a-z0-9._-]+/gi, '_')}-seed${f.seed}.jsonl`);
      mkdirSync(dirname(target), { recursive: true });
      // The file holds the whole run as `protosim replay` will re-create it.
      writeFileSync(target, traceToJsonl(h, simulate(compiled, config, f.seed, { trace: true }).trace));
      traceFile = relative(cwd, target) || target;
    }
    return { ...f, replay: { command: `${baseCommand} --seed ${f.seed}`, traceFile } };
  });
  return {
    ok: expectations.every((e) => e.ok),
    scenario: {
      id: scenario.spec.id,
      title: scenario.spec.title,
      file: displayFile,
      protocol: scenario.model.name,
      variant: variant.name,
      tags: scenario.spec.tags ?? [],
      ...(scenario.spec.points !== undefined ? { points: scenario.spec.points } : {}),
      ...(scenario.spec.level !== undefined ? { level: scenario.spec.level } : {}),
    },
    strategy: 'random',
    seeds: { start: seedStart, count: seeds, pinned: pinned ?? null },
    expectations,
    findings,
    stats: result.stats,
    header,
  };
}

