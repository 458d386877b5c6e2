/**
 * A plain-text summary of a case for places that hold text only (JUnit system-out, Gradescope
 * output): the reason, expected and observed, the trace as a list, and the replay command.
 */
import type { CaseResult } from './case-result.js';
import { renderTrace } from './text.js';

export function caseSummary(c: CaseResult, options: { maxEvents?: number } = {}): string {
  // A flaky case's reason already starts with FLAKY.
  const out: string[] = [`${c.verdict}${c.flaky && !c.reason.startsWith('FLAKY') ? ' (FLAKY)' : ''}: ${c.reason}`];
  if (c.expected !== undefined) out.push(`expected: ${c.expected}`);
  if (c.observed !== undefined) out.push(`observed: ${c.observed}`);
  if (c.step !== undefined) out.push(`at: ${c.step}`);
  if (c.trace && c.trace.length > 0) {
    out.push('', `trace (${c.trace.length} events):`);
    out.push(renderTrace(c.trace, { color: false, cycleStart: c.cycleStart ?? null, maxEvents: options.maxEvents ?? 60, steps: c.steps ?? false }));
  }
  if (c.replay) out.push('', `replay: ${c.replay}`);
  return out.join('\n');
}
