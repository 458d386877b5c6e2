/**
 * The public shapes of a live scenario run (options, schedule, result) and the records its modules
 * share: a client node played from its model, the property lanes the shadow models carry, and the
 * findings placed in the trace. No behaviour here.
 */
import type { ModelVariant, NodeId, NodeStatus } from '../../models/types.js';
import type { FaultSpec, SimConfig } from '../../sim/config.js';
import type { Finding, NodeDiagnosis } from '../../sim/finding.js';
import type { RoleRuntime } from '../../sim/role-runtime.js';
import type { EndReason, FindingKind, TraceEvent } from '../../sim/trace.js';
import type { FaultProxy } from '../fault-proxy.js';
import type { LiveCodec } from '../live-codec.js';
import type { LiveConnection } from '../live-connection.js';
import type { CommandTargetSpec } from '../managed-process.js';

/** When things happen in a live run, in model ms. A replay takes them from the trace. */
export interface LiveSchedule {
  startAtMs: Record<NodeId, number>;
  faults: FaultSpec[];
  /** per node: when each workload line is typed (at the prompt, not before); else think times are drawn */
  inputAtMs?: Record<NodeId, number[]>;
  /** per node: when the person quits */
  quitAtMs?: Record<NodeId, number>;
}

export interface LiveScenarioOptions {
  protocol: string;
  /** the scenario's variant: its clients are played, its server model explains the live server */
  variant: ModelVariant;
  /** the fixed variant, whose server model is the oracle */
  oracleVariant: ModelVariant;
  config: SimConfig;
  seed: number;
  schedule?: LiveSchedule;
  /** a server already running, or a command to start */
  address?: { host: string; port: number; path: string; text: string };
  command?: CommandTargetSpec;
  /** stream protocols: the codec (kv: none) */
  codec: LiveCodec | null;
  /** real ms per model ms (0.05: twenty times faster than the scenario's times) */
  timeScale: number;
  /** how long a request may wait for its reply, real ms */
  replyTimeoutMs: number;
  /** bound on the whole run, real ms */
  maxRunMs: number;
  /** after the schedule is done and nothing moves, how long to watch for more, real ms */
  settleMs?: number;
  stopAtFirstFinding?: boolean;
}

export interface LiveScenarioResult {
  findings: Finding[];
  trace: TraceEvent[];
  endReason: EndReason;
  /** faults that could not be carried out live, and why; other remarks */
  notes: string[];
  /** the server as it was run or reached, for reports */
  target: string;
  /** when the scenario's own server model stopped explaining the live server, where and why */
  unexplained: string | null;
  durationMs: number;
}

/** How often the run checks for stalls and the end, real ms. */
export const tickMs = 20;
/** The id of the oracle's finding. */
export const conformanceFindingId = 'conformance:server-model';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client role played live from its model. */
export interface ClientNode {
  id: NodeId;
  role: string;
  runtime: RoleRuntime;
  input: Record<string, unknown>;
  stateId: number;
  status: NodeStatus;
  timers: Map<string, NodeJS.Timeout>;
  inbox: (() => void)[];
  messages: string[];
  nextMessage: number;
  quitAfter: boolean;
  inputPending: boolean;
  connection?: LiveConnection;
  proxy?: FaultProxy;
  /** increments on every (re)start, so a dead incarnation's events are ignored */
  epoch: number;
  lastSent: NodeDiagnosis['lastSent'];
  lastReceived: NodeDiagnosis['lastReceived'];
  /** kv: requests sent and not yet answered */
  pendingKv: number;
}

/** A property violation found in one world, placed in the trace. */
export interface Violation {
  id: string;
  summary: string;
  diagnosis: string | null;
  pos: number;
  timeMs: number;
}

/** What each world follows for the checks: the property monitors and the violations so far. */
export interface LaneExt {
  monitors: unknown[];
  violations: Violation[];
}

/** A finding with its place in the trace (`pos`: before the event at that index). */
export interface PlacedFinding {
  kind: FindingKind;
  id: string;
  summary: string;
  diagnosis: string | null;
  pos: number;
  timeMs: number;
  step: number;
  nodes: NodeDiagnosis[];
}
