/**
 * The formats `--report FORMAT=FILE` writes, and the one function that renders a report in any of
 * them. Run reports and suite reports both render in every format.
 */
import { InputError } from '../errors.js';
import type { RunReport } from './run-report.js';
import type { SuiteReport } from './case-result.js';
import { renderGradescope } from './gradescope.js';
import { renderHtmlReport } from './html.js';
import { renderJunit } from './junit.js';
import { renderMermaidReport } from './mermaid.js';

export const reportFormats = ['html', 'json', 'junit', 'gradescope', 'mermaid'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export interface ReportSpec {
  format: ReportFormat;
  file: string;
}

const formatHelp: Record<ReportFormat, string> = {
  html: 'a self-contained page with diagrams',
  json: 'the report as JSON',
  junit: 'JUnit XML',
  gradescope: "Gradescope's results.json",
  mermaid: 'a sequence diagram; fenced Markdown when FILE ends in .md',
};

/** `html=report.html, junit=results.xml, ...`: the formats with what each writes. */
export function describeReportFormats(): string {
  return reportFormats.map((f) => `${f} (${formatHelp[f]})`).join(', ');
}

/** Parses `FORMAT=FILE`; a bad spec is an InputError that lists the formats. */
export function parseReportSpec(spec: string): ReportSpec {
  const eq = spec.indexOf('=');
  const format = eq < 0 ? spec : spec.slice(0, eq);
  const file = eq < 0 ? '' : spec.slice(eq + 1);
  if (!(reportFormats as readonly string[]).includes(format)) {
    throw new InputError(`--report ${JSON.stringify(spec)}: unknown format ${JSON.stringify(format)}; expected FORMAT=FILE with FORMAT one of ${reportFormats.join(', ')} (e.g. --report html=report.html)`);
  }
  if (file === '') throw new InputError(`--report ${JSON.stringify(spec)}: no file; expected ${format}=FILE (e.g. --report ${format}=${defaultName(format as ReportFormat)})`);
  return { format: format as ReportFormat, file };
}

function defaultName(format: ReportFormat): string {
  return { html: 'report.html', json: 'report.json', junit: 'junit.xml', gradescope: 'results.json', mermaid: 'trace.md' }[format];
}

/** The file's contents for one format. `file` decides Mermaid's flavour (`.md`: fenced Markdown). */
export function renderReport(format: ReportFormat, report: RunReport | SuiteReport, file: string, options: { generator?: string } = {}): string {
  switch (format) {
    case 'html':
      return renderHtmlReport(report, options);
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'junit':
      return renderJunit(report);
    case 'gradescope':
      return renderGradescope(report);
    case 'mermaid':
      return renderMermaidReport(report, /\.(md|markdown)$/i.test(file));
  }
}
