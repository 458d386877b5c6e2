/**
 * The report of `protosim explore --target`: the workload, the schedules tried (and in what
 * time), PCT's probability bound, and the first failing schedule — why it failed (what the model
 * expected, what came), its choices, the trace of released messages with what arrived after each,
 * and the command that repeats it exactly.
 */
import type { ExploreTargetResult } from './explore-target.js';
import type { TargetWorkload } from './target-workload.js';

export interface TargetReportHeader {
  protocol: string;
  target: string;
  strategy: string;
  steps: number;
  depth: number;
  kills: number;
  seed: number | null;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;

/** The report as text; `replay` is the command that repeats the failing schedule. */
export function renderTargetExplore(h: TargetReportHeader, workload: TargetWorkload, result: ExploreTargetResult, replay: string | null): string {
  const kills = h.kills > 0 ? `, up to ${h.kills} kill${h.kills === 1 ? '' : 's'}` : '';
  const lines = [`explore ${h.protocol} --target ${h.target} on ${workload.clients.length} clients (${h.strategy}, ${h.steps} controlled steps${h.strategy === 'pct' ? `, depth ${h.depth}` : ''}${kills})`];
  const scripts = workload.clients.map((c, i) => `${c} ${workload.scripts[i]!.length}`).join(', ');
  lines.push(`  workload: ${workload.source} (${scripts} messages)`);
  if (workload.leftOut.length > 0) lines.push(`  left out of the case: ${workload.leftOut.join(', ')}`);
  if (result.unreachable !== undefined) {
    lines.push(`the target could not be started or reached: ${result.unreachable.split('\n').join('\n  ')}`);
    return lines.join('\n') + '\n';
  }
  lines.push(`  schedules tried: ${result.tried}${result.exhausted ? ' (every order within the bound)' : ''} in ${(result.durationMs / 1000).toFixed(1)} s`);
  if (result.bound !== null) {
    lines.push(`  PCT's bound: a depth-${h.depth} bug shows in one schedule with probability at least 1/(n·k^(d-1)) = ${pct(result.bound.perSchedule)}; missed in all ${result.tried}: at most ${pct(result.bound.missAfter)}`);
  }
  for (const note of result.notes) lines.push(`  note: ${note}`);
  const first = result.first;
  if (first === null) {
    lines.push('nothing found: in every schedule tried the target sent what the model allows, and nothing more');
    return lines.join('\n') + '\n';
  }
  lines.push(`  first failing schedule (schedule ${first.index + 1}, choices ${first.choices.join('.') || '(none)'}): ${first.failure!.reason}`);
  if (first.failure!.expected !== undefined) lines.push(`    expected: ${first.failure!.expected}`);
  if (first.failure!.observed !== undefined) lines.push(`    observed: ${first.failure!.observed.split('\n').join('\n              ')}`);
  lines.push('  its trace (the messages released, in order, and what arrived after each):');
  for (const t of first.trace) lines.push(`    ${t}`);
  lines.push(`repeat it: ${replay}`, `FAILED at schedule ${first.index + 1}`);
  return lines.join('\n') + '\n';
}
