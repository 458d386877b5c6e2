/**
 * `protosim run SCENARIO.yaml --target ...` (or a scenario with a `target:`): the model scenario in
 * live mode (src/conformance/live-scenario-run.ts). The report is a run report like a simulated
 * run's (findings with their traces, the scenario's expectations), so every renderer works on it;
 * the scenario's `expect` decides the exit code.
 */
import { join, relative, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { writeOutputFile } from './output-file.js';
import { runLiveScenario, type LiveScenarioResult, type LiveSchedule } from '../conformance/live-scenario-run.js';
import { liveProtocolOf, resolveScenarioTarget } from '../conformance/scenario-target.js';
import { targetFileOf } from './target-flag.js';
import type { Scenario } from '../scenario/load.js';
import { evaluateExpectations } from '../scenario/expect.js';
import type { RunReport } from '../report/run-report.js';
import { traceToJsonl, type TraceEvent, type TraceHeader } from '../sim/trace.js';
import { deriveOptions } from '../sim/simulator.js';

export interface LiveScenarioFlags {
  target?: string;
  codec?: string;
  framing?: string;
  replyTimeoutMs?: number;
  timeScale?: number;
  seed?: number;
  variant?: string;
  saveTrace?: boolean;
  traceOut?: string;
}

/** Default bound of a live scenario run, real ms. */
export const defaultMaxRunMs = 120_000;

/** True when the scenario runs live: it has a target, or one is given on the command line. */
export function isLiveScenario(scenario: Scenario, flags: LiveScenarioFlags): boolean {
  return flags.target !== undefined || scenario.spec.target !== undefined;
}

/** Runs the scenario live and builds its run report. `schedule`: a replay's times (else drawn from the seed). */
export async function runScenarioLive(scenario: Scenario, flags: LiveScenarioFlags, displayFile: string, cwd: string, schedule?: LiveSchedule): Promise<RunReport> {
  const variant = flags.variant === undefined ? scenario.variant : scenario.model.variants[flags.variant];
  if (variant === undefined) throw new InputError(`--variant: ${scenario.model.name} has no variant ${JSON.stringify(flags.variant)}; it has ${Object.keys(scenario.model.variants).join(', ')}`);
  // --target FILE: the file's target replaces the scenario's.
  const givenTarget = flags.target;
  const protocol = liveProtocolOf(scenario.model.name);
  const targetFile = protocol === undefined ? undefined : targetFileOf(flags.target, protocol, cwd);
  if (targetFile !== undefined) {
    scenario = { ...scenario, spec: { ...scenario.spec, target: targetFile } };
    flags = { ...flags, target: undefined };
  }
  const target = resolveScenarioTarget(scenario, { target: flags.target, codec: flags.codec, framing: flags.framing, replyTimeoutMs: flags.replyTimeoutMs ?? scenario.spec.live?.replyTimeoutMs }, cwd);
  const seed = flags.seed ?? scenario.explore.seed ?? scenario.explore.seedStart;
  const timeScale = flags.timeScale ?? scenario.spec.live?.timeScale ?? 1;
  const config = { ...scenario.config, variant: variant.name };
  const result = await runLiveScenario({
    protocol: scenario.model.name,
    variant,
    oracleVariant: scenario.model.variants.fixed ?? variant,
    config,
    seed,
    ...(schedule ? { schedule } : {}),
    ...(target.address ? { address: target.address } : {}),
    ...(target.command ? { command: target.command } : {}),
    codec: target.liveCodec,
    timeScale,
    replyTimeoutMs: target.replyTimeoutMs,
    maxRunMs: scenario.spec.live?.maxRunMs ?? defaultMaxRunMs,
    ...(scenario.spec.live?.settleMs !== undefined ? { settleMs: scenario.spec.live.settleMs } : {}),
  });
  const derived = schedule ?? deriveOptions(config, seed);
  const header: TraceHeader = { k: 'header', protosim: 1, seed, config, derived: { startAtMs: derived.startAtMs, faults: derived.faults } };
  const targetFlag = givenTarget !== undefined ? ` --target ${givenTarget}` : '';
  const command = `npx protosim run ${displayFile}${targetFlag} --seed ${seed}${flags.timeScale !== undefined ? ` --time-scale ${flags.timeScale}` : ''}`;
  const findings = result.findings.map((f, index) => ({ ...f, replay: { command, traceFile: saveLiveTrace(scenario.spec.id, f.id, index, header, result.trace, flags, cwd) } }));
  return liveRunReport(scenario, displayFile, variant.name, seed, timeScale, header, result, findings);
}

/** Writes a live finding's trace (unless --no-save-trace); the path as printed, or null. */
function saveLiveTrace(scenarioId: string, findingId: string, index: number, header: TraceHeader, trace: readonly TraceEvent[], flags: LiveScenarioFlags, cwd: string): string | null {
  if (!(flags.saveTrace ?? true)) return null;
  const first = flags.traceOut !== undefined && index === 0;
  const file = first ? resolve(cwd, flags.traceOut!) : join(cwd, '.protosim', 'traces', `${scenarioId.replace(/[^a-z0-9._-]+/gi, '_')}-${findingId.replace(/[^a-z0-9._-]+/gi, '_')}-live.jsonl`);
  writeOutputFile(file, traceToJsonl(header, trace), first ? `--trace-out ${flags.traceOut}` : `the trace ${relative(cwd, file) || file} (--no-save-trace to write none)`);
  return relative(cwd, file) || file;
}

/** The scenario as a run report names it (simulated and live runs alike). */
export function reportScenarioOf(scenario: Scenario, displayFile: string | null, variant: string): RunReport['scenario'] {
  return {
    id: scenario.spec.id,
    title: scenario.spec.title,
    file: displayFile,
    protocol: scenario.model.name,
    variant,
    tags: scenario.spec.tags ?? [],
    ...(scenario.spec.points !== undefined ? { points: scenario.spec.points } : {}),
    ...(scenario.spec.level !== undefined ? { level: scenario.spec.level } : {}),
  };
}

/** The run report of a live scenario run: like a simulated run's, with what the live run adds. */
function liveRunReport(scenario: Scenario, displayFile: string, variant: string, seed: number, timeScale: number, header: TraceHeader, result: LiveScenarioResult, findings: RunReport['findings']): RunReport {
  const expectations = evaluateExpectations(scenario.expect, result.findings);
  return {
    ok: expectations.every((e) => e.ok),
    scenario: reportScenarioOf(scenario, displayFile, variant),
    strategy: 'random',
    seeds: { start: seed, count: 1, pinned: seed },
    expectations,
    findings,
    stats: {
      states: 0,
      transitions: result.trace.length,
      depth: 0,
      elapsedMs: result.durationMs,
      complete: false,
      runs: 1,
      limitHit: result.endReason.startsWith('limit:') ? result.endReason.slice('limit:'.length) : null,
      runsWithFinding: Object.fromEntries(result.findings.map((f) => [f.id, 1])),
    },
    header,
    live: {
      target: result.target,
      timeScale,
      endReason: result.endReason,
      notes: result.notes,
      unexplained: result.unexplained,
      trace: result.trace,
    },
  };
}
