/**
 * Mermaid sequence diagrams of traces, as GitHub renders them in Markdown: participants with
 * aliases (node ids may be Mermaid keywords or hold `-`), arrows for messages (`-x` when lost),
 * notes for prints, typed lines and faults, a `loop` block around the cycle that repeats for ever.
 * Text is escaped with Mermaid's entity codes, since `#`, `;`, `<`, `>` and quotes break its parser.
 */
import type { TraceEvent } from '../sim/trace.js';
import type { RunReport } from './run-report.js';
import { isSuiteReport, type SuiteReport } from './case-result.js';
import { buildSequence, elideRows, type SequenceOptions } from './sequence.js';
import { cycleMarkerText } from './terminal-sequence.js';

export interface MermaidOptions extends SequenceOptions {
  /** at most this many rows; the middle is elided (default 150: GitHub gives up on huge diagrams) */
  maxRows?: number;
  /** longest label before it is cut with … (default 70 characters) */
  maxLabel?: number;
}

const entities: Record<string, string> = {
  '#': '#35;',
  ';': '#59;',
  '<': '#lt;',
  '>': '#gt;',
  '"': '#quot;',
  '&': '#amp;',
  '%': '#37;',
  '`': '#96;',
  '{': '#123;',
  '}': '#125;',
};

/** Text safe inside a Mermaid message, note or alias: one line, special characters as entities. */
export function mermaidText(s: string, maxLength = Infinity): string {
  // eslint-disable-next-line no-control-regex
  let text = s.replace(/\r\n|\n|\r/g, ' ⏎ ').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if ([...text].length > maxLength) text = [...text].slice(0, Math.max(1, maxLength - 1)).join('') + '…';
  if (text === '') text = '(empty)';
  return text.replace(/[#;<>"&%`{}]/g, (c) => entities[c]!);
}

/** A trace as the body of a Mermaid `sequenceDiagram` (no fences). */
export function renderMermaid(trace: readonly TraceEvent[], options: MermaidOptions = {}): string {
  const seq = buildSequence(trace, options);
  const maxLabel = options.maxLabel ?? 70;
  const lines = ['sequenceDiagram'];
  if (seq.nodes.length === 0) {
    lines.push('  participant n0 as protosim', '  Note over n0: nothing to draw (no trace)');
    return lines.join('\n') + '\n';
  }
  const alias = new Map(seq.nodes.map((n, i) => [n, `n${i}`]));
  seq.nodes.forEach((n, i) => lines.push(`  participant n${i} as ${mermaidText(n, 40)}`));
  const first = 'n0';
  const last = `n${seq.nodes.length - 1}`;
  const across = first === last ? first : `${first},${last}`;
  const plan = elideRows(seq.rows.length, options.maxRows ?? 150, seq.cycleRow);
  let indent = '  ';
  let loopOpen = false;
  const openLoop = (): void => {
    lines.push(`${indent}loop ${mermaidText(cycleMarkerText)}`);
    indent += '  ';
    loopOpen = true;
  };
  seq.rows.forEach((row, i) => {
    if (plan && i >= plan.head && i < plan.tailStart) {
      if (i === plan.head) {
        const hidden = plan.tailStart - plan.head;
        if (seq.cycleRow !== null && seq.cycleRow >= plan.head && seq.cycleRow < plan.tailStart) openLoop();
        lines.push(`${indent}Note over ${across}: … ${hidden} more rows not shown …`);
      }
      return;
    }
    if (seq.cycleRow === i && !loopOpen) openLoop();
    const at = options.steps ? `step ${row.t} · ` : `${row.t}ms · `;
    switch (row.k) {
      case 'message': {
        const from = alias.get(row.from)!;
        const to = alias.get(row.to)!;
        if (row.fate === 'delivered') lines.push(`${indent}${from}->>${to}: ${mermaidText(at + row.label, maxLabel)}`);
        else lines.push(`${indent}${from}-x${to}: ${mermaidText(`${at}${row.label} ✗ lost (${row.reason ?? 'dropped'})`, maxLabel)}`);
        return;
      }
      case 'note': {
        const side = alias.get(row.node) === last && seq.nodes.length > 1 ? 'left of' : 'right of';
        lines.push(`${indent}Note ${side} ${alias.get(row.node)!}: ${mermaidText(at + row.text, maxLabel)}`);
        return;
      }
      case 'fault': {
        const hit = row.nodes.filter((n) => alias.has(n)).map((n) => alias.get(n)!);
        const over = hit.length === 1 ? hit[0]! : across;
        lines.push(`${indent}rect rgba(220, 38, 38, 0.12)`);
        lines.push(`${indent}  Note over ${over}: ${mermaidText(`⚡ ${at}${row.text}`, maxLabel + 20)}`);
        lines.push(`${indent}end`);
        return;
      }
      case 'finding':
        lines.push(`${indent}Note over ${across}: ${mermaidText(`✖ ${at}${row.text}`, maxLabel + 60)}`);
        return;
      case 'end':
        lines.push(`${indent}Note over ${across}: ${mermaidText(at + row.text, maxLabel)}`);
        return;
    }
  });
  if (loopOpen) lines.push('  end');
  return lines.join('\n') + '\n';
}

/**
 * The Mermaid file for a report: Markdown with one fenced diagram per finding (or failing case)
 * when `markdown`, else the first diagram alone (a `.mmd` file holds one diagram).
 */
export function renderMermaidReport(report: RunReport | SuiteReport, markdown: boolean): string {
  const diagrams = traced(report);
  if (!markdown) {
    const d = diagrams[0];
    return d ? renderMermaid(d.trace, { cycleStart: d.cycleStart, steps: d.steps }) : renderMermaid([]);
  }
  const out: string[] = [];
  if (isSuiteReport(report)) {
    out.push(`# protosim: ${report.name ?? report.target}`, '', `**${report.ok ? 'PASS' : 'FAIL'}**, score ${report.score} / ${report.maxScore} against ${report.target}`, '');
  } else {
    const s = report.scenario;
    out.push(`# protosim: ${s.id}`, '', `${s.title}`, '', `**${report.ok ? 'PASS' : 'FAIL'}**: protocol ${s.protocol} (${s.variant})${s.file ? `, scenario \`${s.file}\`` : ''}`, '');
    for (const e of report.expectations) out.push(`- ${e.ok ? '✔' : '✘'} expected ${e.what}: ${e.expected}; observed: ${e.observed}`);
    out.push('');
  }
  if (diagrams.length === 0) out.push('Nothing to draw: no finding and no failing case has a trace.', '');
  for (const d of diagrams) {
    out.push(`## ${d.title}`, '', d.summary, '', '```mermaid', renderMermaid(d.trace, { cycleStart: d.cycleStart, steps: d.steps }).trimEnd(), '```', '');
    if (d.replay) out.push(`Replay: \`${d.replay}\``, '');
  }
  return out.join('\n');
}

interface TracedItem {
  title: string;
  summary: string;
  trace: readonly TraceEvent[];
  cycleStart: number | null;
  replay: string | null;
  /** untimed (exhaustive): times are step numbers */
  steps: boolean;
}

/** The traces a report holds: each finding of a run; each case of a suite that has one. */
function traced(report: RunReport | SuiteReport): TracedItem[] {
  if (isSuiteReport(report)) {
    return report.cases
      .filter((c) => c.trace && c.trace.length > 0)
      .map((c) => ({ title: `${c.verdict} ${c.id}`, summary: `${c.title}: ${c.reason}`, trace: c.trace!, cycleStart: c.cycleStart ?? null, replay: c.replay ?? null, steps: false }));
  }
  const steps = report.strategy === 'exhaustive';
  return report.findings.map((f) => ({
    title: steps ? `${f.kind} (${f.id}) after ${f.step} steps (shortest; times are step numbers)` : `${f.kind} (${f.id}) at seed ${f.seed}`,
    summary: f.summary + (f.diagnosis ? ` Why: ${f.diagnosis}` : ''),
    trace: f.trace,
    cycleStart: f.cycleStart,
    replay: f.replay.command,
    steps,
  }));
}
