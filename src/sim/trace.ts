/**
 * Trace events: every event of a run, in order, as canonical JSON lines. The first line is the
 * header, which holds everything needed to re-run it (the config and the seed), so a trace file is
 * its own replay input (STYLE 3).
 */
import type { NodeId, PrintKind, ProtocolMessage } from '../models/types.js';
import type { FaultSpec, SimConfig } from './config.js';
import { canonicalJson } from './canonical-json.js';

export type DropReason = 'loss' | 'partition' | 'crashed' | 'reset' | 'fault' | 'not-started' | 'closed';

export type TraceEvent =
  | { k: 'start'; t: number; node: NodeId; role: string; state: string; fresh: boolean }
  | { k: 'send'; t: number; id: number; from: NodeId; to: NodeId; msg: ProtocolMessage }
  | { k: 'deliver'; t: number; id: number; from: NodeId; to: NodeId; msg: ProtocolMessage }
  | { k: 'drop'; t: number; id: number; from: NodeId; to: NodeId; msg: ProtocolMessage; reason: DropReason }
  | { k: 'duplicate'; t: number; id: number; copy: number; from: NodeId; to: NodeId }
  | { k: 'timer'; t: number; node: NodeId; event: string }
  | { k: 'input'; t: number; node: NodeId; text: string }
  | { k: 'quit'; t: number; node: NodeId }
  | { k: 'print'; t: number; node: NodeId; kind: PrintKind; text: string }
  | { k: 'state'; t: number; node: NodeId; state: string }
  | { k: 'conn'; t: number; node: NodeId; peer: NodeId; event: 'reset' | 'closed' | 'refused' }
  | { k: 'fault'; t: number; fault: FaultSpec }
  | { k: 'finding'; t: number; kind: FindingKind; summary: string }
  | { k: 'end'; t: number; reason: EndReason };

export type FindingKind = 'deadlock' | 'livelock' | 'invariant' | 'liveness';

/** Why a run stopped. Limits are named (STYLE 5). */
export type EndReason =
  | 'quiescent'
  | 'settled'
  | 'finding'
  | 'limit:maxSteps'
  | 'limit:maxTimeMs'
  | 'limit:maxInFlight';

export interface TraceHeader {
  k: 'header';
  protosim: 1;
  seed: number;
  config: SimConfig;
  /** values drawn from the seed before the run, printed first (STYLE 2) */
  derived: DerivedOptions;
  /**
   * Set on traces of the exhaustive explorer: the run is the untimed replay of this choice path
   * (event times are step numbers), not a seeded simulation. `finding` is what the explorer found at
   * the end of the path (a live replay compares the live system with it); older traces lack it.
   */
  exhaustive?: { path: number[]; faultBudget: number; finding?: { kind: FindingKind; summary: string } };
}

export interface DerivedOptions {
  startAtMs: Record<NodeId, number>;
  faults: FaultSpec[];
}

export function traceToJsonl(header: TraceHeader, events: readonly TraceEvent[]): string {
  let out = canonicalJson(header) + '\n';
  for (const e of events) out += canonicalJson(e) + '\n';
  return out;
}
