/**
 * The shapes of a timed run: what `simulate` is asked and answers (re-exported by
 * src/sim/simulator.ts), and the run's own events and nodes.
 */
import type { NodeId, NodeStatus, ProtocolMessage } from '../../models/types.js';
import type { Distribution, FaultSpec } from '../config.js';
import type { Scheduled } from '../event-queue.js';
import type { Finding, NodeDiagnosis } from '../finding.js';
import type { RoleRuntime } from '../role-runtime.js';
import type { DerivedOptions, EndReason, TraceEvent, TraceHeader } from '../trace.js';
import type { ChoiceSource } from './choice.js';
import type { MachineEvent } from './key-cache.js';

export interface RunOptions extends RunControl {
  /** record every event (needed for reports and replay); off for fast swarm runs */
  trace: boolean;
  /** stop at the first finding (default true) */
  stopAtFirstFinding?: boolean;
}

/**
 * Who makes a run's choices. By default the seed does (its PRNG streams, and the start times and
 * fault plan drawn from it); a controlled run is given its choices instead, to replay or impose a
 * schedule. `choices` is a factory: a run may be simulated more than once (a stall is classified
 * by re-running it), and every pass must be given the same answers.
 */
export interface RunControl {
  choices?: () => ChoiceSource;
  derived?: DerivedOptions;
}

export interface RunStats {
  steps: number;
  /** events simulated in all passes (a stall is classified by re-running the seed) */
  eventsSimulated: number;
  timeMs: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesDropped: number;
}

export interface RunResult {
  seed: number;
  header: TraceHeader;
  findings: Finding[];
  endReason: EndReason;
  stats: RunStats;
  trace: TraceEvent[];
}

/** What one pass of a run ends with (`simulate` makes a `RunResult` of up to three passes). */
export interface PassResult {
  endReason: EndReason;
  findings: Finding[];
  trace: TraceEvent[];
  stats: RunStats;
  /** where a stall was seen (pass 2 classifies it), or null */
  stall: { step: number; timeMs: number } | null;
  /** pass 2: the untimed state after each step since the last progress, up to the first repeat */
  keys: string[];
}

export type SimEvent =
  | { kind: 'start'; node: NodeId }
  | DeliverEvent
  | { kind: 'conn'; node: NodeId; peer: NodeId; event: 'reset' | 'closed' | 'refused'; epoch: number }
  | { kind: 'timer'; node: NodeId; id: string; event: MachineEvent }
  /** `life`: the node's life when the person began typing (a crash ends it) */
  | { kind: 'input'; node: NodeId; life: number }
  | { kind: 'quit'; node: NodeId; life: number }
  | { kind: 'fault'; fault: FaultSpec };

export interface DeliverEvent {
  kind: 'deliver';
  id: number;
  from: NodeId;
  to: NodeId;
  msg: ProtocolMessage;
  epoch: number;
}

export interface SimNode {
  id: NodeId;
  role: string;
  runtime: RoleRuntime;
  input: Record<string, unknown>;
  stateId: number;
  status: NodeStatus;
  /**
   * armed timers by id; a fired or cancelled one is kept as `null` rather than deleted (the ids are
   * few and recur, and deleting from a small Map reallocates it: the swarm's hot path)
   */
  timers: Map<string, Scheduled<SimEvent> | null>;
  /**
   * when each timer id was last armed from unarmed (a counter): the order a crash saves pending
   * timers in, as when fired timers were deleted and re-armed ones went to the end of the Map
   */
  timerArmedAt: Map<string, number>;
  timerClock: number;
  /** timers pending at a crash, re-armed by a restart that keeps state */
  savedTimers: { id: string; remainingMs: number; event: MachineEvent }[];
  /** events that arrived while paused, delivered on resume */
  inbox: SimEvent[];
  /** workload cursor */
  nextMessage: number;
  messages: string[];
  think: Distribution | null;
  quitAfter: boolean;
  inputPending: boolean;
  /** counts the node's crashes: what the person was typing to an earlier life is not typed into this one */
  life: number;
  lastSent: NodeDiagnosis['lastSent'];
  lastReceived: NodeDiagnosis['lastReceived'];
}
