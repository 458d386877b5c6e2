/**
 * The report options `run` and `check` share (`--report FORMAT=FILE`, repeatable; `--trace-style`;
 * `--no-progress`) and the one place that writes report files.
 */
import { relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../errors.js';
import type { RunReport } from '../report/run-report.js';
import type { SuiteReport } from '../report/case-result.js';
import { describeReportFormats, parseReportSpec, renderReport, type ReportSpec } from '../report/report-format.js';
import { createProgress, type ProgressOptions, type ProgressReporter } from '../report/progress.js';
import type { CliContext } from './context.js';
import { writeOutputFile } from './output-file.js';

export interface ReportOptions {
  report: ReportSpec[];
  traceStyle: 'diagram' | 'list';
  progress: boolean;
}

function collectReport(value: string, previous: ReportSpec[] | undefined): ReportSpec[] {
  try {
    return [...(previous ?? []), parseReportSpec(value)];
  } catch (error) {
    // commander prints it as a usage error and protosim exits 2.
    if (error instanceof InputError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function parseTraceStyle(value: string): 'diagram' | 'list' {
  if (value !== 'diagram' && value !== 'list') throw new InvalidArgumentError(`--trace-style: expected diagram or list, got ${JSON.stringify(value)}`);
  return value;
}

/** Adds `--report`, `--trace-style` and `--no-progress` to a command. */
export function addReportOptions(command: Command): Command {
  return command
    .option('--report <format=file>', `write a report file (repeatable): ${describeReportFormats()}`, collectReport)
    .option('--trace-style <style>', 'how the counterexample is printed: diagram (a sequence diagram) or list (one line per event)', parseTraceStyle, 'diagram' as const)
    .option('--no-progress', 'no progress line on stderr during long explorations');
}

/** Writes every asked-for report; returns the paths written (relative to cwd). */
export function writeReports(report: RunReport | SuiteReport, specs: readonly ReportSpec[], cwd: string, generator = 'protosim 0.1.0'): string[] {
  const written: string[] = [];
  for (const spec of specs) {
    const path = resolve(cwd, spec.file);
    const text = renderReport(spec.format, report, spec.file, { generator });
    writeOutputFile(path, text, `--report ${spec.format}=${spec.file}`);
    const rel = relative(cwd, path);
    written.push(rel && !rel.startsWith('..') ? rel : path);
  }
  return written;
}

/** Writes the reports and says so on stderr (stdout may be JSON). */
export function writeReportsFor(ctx: CliContext, report: RunReport | SuiteReport, specs: readonly ReportSpec[]): void {
  const written = writeReports(report, specs, ctx.io.cwd ?? process.cwd());
  specs.forEach((spec, i) => ctx.io.stderr(`protosim: wrote ${spec.format} report ${written[i]}\n`));
}

/** A progress reporter on stderr for an exploration, or none when `--no-progress`. */
export function progressFor(ctx: CliContext, options: { progress: boolean }, label: string, extra: Partial<ProgressOptions> = {}): ProgressReporter | null {
  if (!options.progress) return null;
  return createProgress({ write: (s) => ctx.io.stderr(s), isTTY: ctx.io.stderrIsTTY ?? false, label, ...extra });
}

