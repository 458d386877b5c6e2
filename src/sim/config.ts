/**
 * The resolved configuration of one simulated run: plain data, independent of the YAML it came
 * from. Workload, faults and checks are separate values composed by the simulator (STYLE 7).
 */
import type { NodeId } from '../models/types.js';

/** A delay distribution in milliseconds. */
export type Distribution =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'exponential'; meanMs: number; maxMs: number };

export interface LinkConfig {
  delay: Distribution;
  lossRatio: number;
  duplicateRatio: number;
  /** Only for non-FIFO links: the ratio of messages given an extra delay that lets later ones overtake. */
  reorderRatio: number;
  /** FIFO links (TCP) keep order and have connection semantics. */
  fifo: boolean;
}

export interface LinkOverride extends Partial<LinkConfig> {
  from: NodeId;
  to: NodeId;
}

export interface NetworkConfig {
  default: LinkConfig;
  links: LinkOverride[];
}

export interface NodeConfig {
  id: NodeId;
  role: string;
  /** when the node's program starts */
  startAt: Distribution;
  params: Record<string, unknown>;
}

export interface WorkloadConfig {
  node: NodeId;
  /** lines the person types, one per prompt, in order */
  messages: string[];
  /** think time between a prompt and the typed line */
  think: Distribution;
  /** after the last message the person quits (Ctrl-C) */
  quitAfter: boolean;
}

export type FaultSpec =
  | { kind: 'crash'; atMs: number; node: NodeId; mode: 'reset' | 'silent' }
  | { kind: 'restart'; atMs: number; node: NodeId; state: 'fresh' | 'kept' }
  | { kind: 'pause'; atMs: number; node: NodeId }
  | { kind: 'resume'; atMs: number; node: NodeId }
  | { kind: 'partition'; atMs: number; from: NodeId[]; to: NodeId[]; direction: 'one-way' | 'both' }
  | { kind: 'heal'; atMs: number }
  | { kind: 'drop'; atMs: number; from: NodeId | null; to: NodeId | null; msgType: string | null; count: number }
  | { kind: 'duplicate'; atMs: number; from: NodeId | null; to: NodeId | null; msgType: string | null; count: number };

export type FaultKind = FaultSpec['kind'];

/** Faults drawn from the seed: `count` faults of the given kinds in a time window. */
export interface RandomFaultsConfig {
  count: number;
  kinds: ('crash' | 'restart' | 'pause' | 'partition' | 'drop' | 'duplicate')[];
  windowStartMs: number;
  windowEndMs: number;
  /** nodes eligible for process faults (default: every node) */
  nodes: NodeId[] | null;
}

export interface ChecksConfig {
  deadlock: boolean;
  livelock: boolean;
  /** no progress event within this bound while some node is unfinished is a finding */
  stallBoundMs: number;
  /** invariant and property ids to check, or null for all */
  invariants: string[] | null;
}

export interface LimitsConfig {
  maxSteps: number;
  maxTimeMs: number;
  maxInFlight: number;
}

export interface SimConfig {
  protocol: string;
  variant: string;
  nodes: NodeConfig[];
  network: NetworkConfig;
  workload: WorkloadConfig[];
  faults: FaultSpec[];
  randomFaults: RandomFaultsConfig | null;
  /** end of the safety phase: heal partitions, resume paused nodes, then liveness must hold (VOPR style) */
  healAtMs: number | null;
  checks: ChecksConfig;
  limits: LimitsConfig;
}

export const defaultLink: LinkConfig = {
  delay: { kind: 'uniform', minMs: 1, maxMs: 10 },
  lossRatio: 0,
  duplicateRatio: 0,
  reorderRatio: 0,
  fifo: true,
};

export const defaultChecks: ChecksConfig = { deadlock: true, livelock: true, stallBoundMs: 30_000, invariants: null };

export const defaultLimits: LimitsConfig = { maxSteps: 200_000, maxTimeMs: 3_600_000, maxInFlight: 10_000 };
