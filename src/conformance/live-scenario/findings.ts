/**
 * The end of a live scenario run: its findings (the run's own, and the property violations of the
 * world that stands for the live server) put in place in the trace, between the live events, with
 * the server world's console lines, each finding carrying the trace up to it. Pure.
 */
import type { NodeId } from '../../models/types.js';
import type { Finding } from '../../sim/finding.js';
import type { TraceEvent } from '../../sim/trace.js';
import type { PlacedPrint } from '../server-model-oracle.js';
import type { PlacedFinding } from './types.js';

/**
 * Merges the live trace, the server's console lines and the findings (sorted by place): before the
 * event at index i come the console lines and findings placed at i.
 */
export function mergeFindings(trace: readonly TraceEvent[], history: readonly PlacedPrint[], placed: readonly PlacedFinding[], serverId: NodeId, seed: number): { findings: Finding[]; trace: TraceEvent[] } {
  const merged: TraceEvent[] = [];
  const at = new Map<PlacedFinding, number>();
  let h = 0;
  let f = 0;
  for (let i = 0; i <= trace.length; i++) {
    while (h < history.length && history[h]!.pos <= i) {
      const { atMs, params } = history[h++]!;
      merged.push({ k: 'print', t: atMs, node: serverId, kind: params.kind, text: params.text });
    }
    while (f < placed.length && placed[f]!.pos <= i) {
      const p = placed[f++]!;
      merged.push({ k: 'finding', t: p.timeMs, kind: p.kind, summary: p.summary });
      at.set(p, merged.length);
    }
    if (i < trace.length) merged.push(trace[i]!);
  }
  const findings = placed.map((p) => ({ kind: p.kind, id: p.id, summary: p.summary, diagnosis: p.diagnosis, nodes: p.nodes, seed, timeMs: p.timeMs, step: p.step, trace: merged.slice(0, at.get(p)!), cycleStart: null, path: null }));
  return { findings, trace: merged };
}
