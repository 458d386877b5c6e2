/**
 * A finding: something a check caught, with the evidence needed to understand and replay it.
 * Every explorer reports findings in this one shape.
 */
import type { NodeId, NodeStatus, ProtocolMessage } from '../models/types.js';
import type { FindingKind, TraceEvent } from './trace.js';

export interface NodeDiagnosis {
  id: NodeId;
  role: string;
  status: NodeStatus;
  state: string;
  /** what the node waits for, from the model's `meta.waitsFor` */
  waitsFor: string | null;
  lastSent: { t: number; to: NodeId; msg: ProtocolMessage } | null;
  lastReceived: { t: number; from: NodeId; msg: ProtocolMessage } | null;
}

export interface Finding {
  kind: FindingKind;
  /** stable id: `deadlock`, `livelock`, `liveness`, or `invariant:<id>` */
  id: string;
  summary: string;
  /** the model's own diagnosis, when it has one */
  diagnosis: string | null;
  /** per node: what it was doing when the finding was made */
  nodes: NodeDiagnosis[];
  seed: number;
  /** virtual time and step of detection */
  timeMs: number;
  step: number;
  /** the run's events up to the finding (for cycles: through one full turn of the cycle) */
  trace: TraceEvent[];
  /** for deadlock by polling and livelock: index into `trace` where the repeating cycle starts */
  cycleStart: number | null;
  /** the exhaustive explorer's choice path, when it found it; null from random runs */
  path: number[] | null;
}

export function findingLength(f: Finding): number {
  return f.trace.length;
}
