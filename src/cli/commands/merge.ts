/**
 * `protosim merge <report.json>...`: merges the JSON reports of shards (`run --shard K/N
 * --format json`) into one report, as if one machine had explored the whole seed range: findings
 * by id keep the shortest run (fewest steps, then lowest seed), counts add up, and the
 * expectations are evaluated again on the merged findings.
 */
import { readInputFile } from '../../scenario/input-file.js';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { RunReport } from '../../report/run-report.js';
import { evaluateExpectations } from '../../scenario/expect.js';
import type { Expectation } from '../../scenario/schema.js';
import { renderRunReport } from '../render-run.js';
import type { CliContext } from '../context.js';

/** Merges shard reports of one scenario. Throws InputError when they do not belong together. */
export function mergeReports(reports: readonly RunReport[], names: readonly string[]): RunReport {
  const first = reports[0];
  if (!first) throw new InputError('merge needs at least one report');
  reports.forEach((r, i) => {
    if (r.scenario.id !== first.scenario.id || r.scenario.variant !== first.scenario.variant || r.strategy !== first.strategy) {
      throw new InputError(
        `${names[i]}: report of ${r.scenario.id} (${r.scenario.variant}, ${r.strategy}) cannot be merged with ${names[0]}, a report of ${first.scenario.id} (${first.scenario.variant}, ${first.strategy})`,
      );
    }
  });
  const byId = new Map<string, RunReport['findings'][number]>();
  for (const r of reports) {
    for (const f of r.findings) {
      const prev = byId.get(f.id);
      if (!prev || f.step < prev.step || (f.step === prev.step && f.seed < prev.seed)) byId.set(f.id, f);
    }
  }
  const findings = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const runsWithFinding: Record<string, number> = {};
  for (const r of reports) for (const [id, n] of Object.entries(r.stats.runsWithFinding)) runsWithFinding[id] = (runsWithFinding[id] ?? 0) + n;
  const starts = reports.map((r) => r.seeds.start);
  const expect = expectationOf(first);
  const expectations = evaluateExpectations(expect, findings);
  for (const r of reports) for (const e of r.expectations) if (e.what === 'determinism' && !e.ok) expectations.push(e);
  const header = findings[0] ? (reports.find((r) => r.header?.seed === findings[0]!.seed)?.header ?? null) : null;
  return {
    ...first,
    ok: expectations.every((e) => e.ok),
    // Shards of one range each name the whole range; reports of different ranges add up.
    seeds: reports.every((r) => r.shard && r.seeds.start === first.seeds.start && r.seeds.count === first.seeds.count)
      ? { ...first.seeds }
      : { start: Math.min(...starts), count: reports.reduce((n, r) => n + r.seeds.count, 0), pinned: null },
    expectations,
    findings,
    stats: {
      states: Math.max(...reports.map((r) => r.stats.states)),
      transitions: reports.reduce((n, r) => n + r.stats.transitions, 0),
      depth: Math.max(...reports.map((r) => r.stats.depth)),
      elapsedMs: reports.reduce((n, r) => n + r.stats.elapsedMs, 0),
      complete: reports.every((r) => r.stats.complete),
      runs: reports.reduce((n, r) => n + r.stats.runs, 0),
      limitHit: reports.find((r) => r.stats.limitHit !== null)?.stats.limitHit ?? null,
      runsWithFinding,
    },
    header,
    shard: null,
    determinism: null,
  };
}

/** The scenario's expectation, rebuilt from a report's expectation lines. */
function expectationOf(report: RunReport): Expectation {
  const out: Record<string, string> = {};
  for (const e of report.expectations) {
    if (e.what === 'determinism') continue;
    out[e.what] = e.what === 'invariant' && e.expected.endsWith(' broken') ? e.expected.slice(0, -' broken'.length) : e.expected;
  }
  return out as Expectation;
}

export function registerMergeCommand(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .description('merge the JSON reports of shards (run --shard K/N --format json) into one report')
    .argument('<reports...>', 'report files written with --format json')
    .option('--format <format>', 'text or json', 'text')
    .option('--no-color', 'no colours even on a terminal')
    .action((files: string[], opts: { format: string; color: boolean }) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(opts.format)}`);
      const cwd = ctx.io.cwd ?? process.cwd();
      const reports = files.map((file) => {
        const text = readInputFile(resolve(cwd, file), file, 'report', 'maxTraceFileBytes');
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch {
          throw new InputError(`${file}:1:1: expected a JSON report (protosim run --format json), got text that is not JSON`);
        }
        const r = data as RunReport;
        if (typeof r !== 'object' || r === null || typeof r.scenario?.id !== 'string' || !Array.isArray(r.findings) || typeof r.stats !== 'object') {
          throw new InputError(`${file}: not a protosim run report (expected the JSON of protosim run --format json)`);
        }
        return r;
      });
      const merged = mergeReports(reports, files);
      if (opts.format === 'json') ctx.io.stdout(JSON.stringify(merged, null, 2) + '\n');
      else ctx.io.stdout(renderRunReport(merged, { color: opts.color && (ctx.io.isTTY ?? false) }));
      ctx.exitCode = merged.ok ? 0 : 1;
    });
}
