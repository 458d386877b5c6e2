/**
 * What a replay on client programs shows the model's checks: the keys the model's clients use, the
 * live system as a global view (each client as its shadow), and a recognised output line as the
 * model prints it.
 */
import type { GlobalView, ModelVariant, NodeView, PrintParams } from '../../models/types.js';
import { CompiledModel, simulate } from '../../sim/simulator.js';
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import type { ClientSession, SessionEvent } from './client-session.js';
import type { ClientShadow } from './client-shadow.js';

/** Runs of the trace's configuration looked at for the keys the model's clients use. */
const vocabularySeeds = 8;

/** The keys the model's clients read or write: in the trace, and in a few seeded runs of its configuration. */
export function modelKeys(header: TraceHeader, events: readonly TraceEvent[], variant: ModelVariant | undefined): Set<string> {
  const keys = new Set<string>();
  const take = (trace: readonly TraceEvent[]): void => {
    for (const e of trace) {
      if (e.k !== 'deliver' || e.to !== 'store') continue;
      const key = (e.msg as unknown as { key?: unknown }).key;
      if (typeof key === 'string') keys.add(key);
    }
  };
  take(events);
  if (variant !== undefined) {
    const compiled = new CompiledModel(header.config.protocol, variant);
    for (let seed = 1; seed <= vocabularySeeds; seed++) take(simulate(compiled, header.config, seed, { trace: true }).trace);
  }
  return keys;
}

/** The live system as the model's checks see it: each client as its shadow (while it follows the model), the store's data. */
export function liveView(shadows: ReadonlyMap<string, ClientShadow>, sessions: ReadonlyMap<string, ClientSession>, data: Record<string, string>, timeMs: number): GlobalView {
  const nodes: Record<string, NodeView> = { store: { id: 'store', role: 'store', status: 'running', value: 'serving', context: { data }, tags: ['server'] } };
  for (const [name, shadow] of shadows) {
    if (shadow.lost !== null) continue;
    const s = sessions.get(name);
    nodes[name] = shadow.view(s?.process.running ? (s.process.paused ? 'paused' : 'running') : s?.process.exit?.expected === false ? 'done' : 'crashed');
  }
  return { timeMs, nodes, inFlight: [] };
}

/** A line the adapter recognised, as the model prints it (`serverBusy` is the model's turned-away error). */
export function printOf(e: SessionEvent): PrintParams {
  switch (e.kind) {
    case 'message':
      return { kind: 'message', text: e.text ?? e.line, ...(e.from !== undefined ? { author: e.from } : {}) };
    case 'prompt':
      return { kind: 'prompt', text: e.line };
    case 'peerLeft':
    case 'serverShutdown':
      return { kind: 'peer-left', text: e.line };
    case 'serverBusy':
      return { kind: 'error', text: e.line, data: { event: 'turned-away' } };
    case 'refused':
    case 'error':
      return { kind: 'error', text: e.line };
    default:
      return { kind: 'status', text: e.line };
  }
}
