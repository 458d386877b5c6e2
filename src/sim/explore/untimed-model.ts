/**
 * The vocabulary of the untimed system (untimed-system.ts): event codes, the layout of a global
 * state vector, the fields of its fault bookkeeping, and the interned records the parts share.
 */
import type { Effect, ProtocolMessage } from '../../models/types.js';
import type { NodeDiagnosis } from '../finding.js';
import type { TraceEvent } from '../trace.js';

// ---- node-level event kinds (low 4 bits of a node event code) -------------------------------
export const N_START = 0;
export const N_INPUT = 1;
export const N_QUIT = 2;
export const N_CRASH = 3;
export const N_RESTART_FRESH = 4;
export const N_RESTART_KEPT = 5;
export const N_PAUSE = 6;
export const N_RESUME = 7;
export const N_TIMER = 8;
export const N_DELIVER = 9;

// ---- global event types (low 4 bits of an event) --------------------------------------------
export const E_START = 1;
export const E_DELIVER = 2;
export const E_TIMER = 3;
export const E_INPUT = 4;
export const E_SCRIPT = 5;
export const E_CRASH = 6;
export const E_RESTART = 7;
export const E_LOSE = 8;
export const E_DUP = 9;
export const E_NET_LOSE = 10;
export const E_NET_DUP = 11;
/** budget faults the random simulator also draws: pause (resume is free), partition (heal is free) */
export const E_PAUSE = 12;
export const E_RESUME = 13;
export const E_PARTITION = 14;
export const E_HEAL = 15;
/** in the argument of E_CRASH (silent), E_RESTART (state kept), E_PARTITION (one-way): the variant bit */
export const VARIANT_BIT = 32;

/** Fairness label of events no process is obliged to take (faults, losses). */
export const LABEL_FAULT = 0x7fff;

/**
 * Where each part of the global state sits in the vector: `nodes` node locals from 0, then one
 * channel per node pair from `chanBase` (the interned tuple of its two link queues and its
 * open-connection count), then one interned monitor state per history property from
 * `monitorBase`, then at `misc` the interned tuple of the fault bookkeeping (scripted-fault
 * cursor, faults used, silent-crash bits, partition, drop/duplicate rules), which rarely changes.
 */
export interface Layout {
  nodes: number;
  links: number;
  pairs: number;
  chanBase: number;
  monitorBase: number;
  misc: number;
  width: number;
}

// fields of the misc tuple
export const K_SCRIPT = 0;
export const K_FAULTS = 1;
export const K_SILENT = 2;
export const K_BLOCKED = 3;
export const K_RULES = 4;
export const MISC_WIDTH = 5;

/** A node's local state: everything about it that is not on the network. */
export interface Local {
  status: number;
  stateId: number;
  /** armed timers, sorted by id */
  timers: TimerRec[];
  cursor: number;
  inputPending: boolean;
  key: string;
  /** running (or paused), not final, not a server: it still has something to do */
  unfinished: boolean;
  /** running, waiting for its person, and the person has nothing ready: the system waits on a human */
  idleOnPerson: boolean;
  /** tagged `waiting` (waits for another node) */
  waiting: boolean;
  /** its node view's id, once computed (invariants are cached by node views) */
  viewId: number;
  /** cached outcomes of node events: deliveries by message id, other events by event code */
  delivered: NodeResult[];
  other: NodeResult[];
}

export interface TimerRec {
  id: string;
  event: { type: string; [k: string]: unknown };
  eventKey: string;
}

/** An interned message on a link: a protocol message or a connection event. */
export interface MsgRec {
  conn: 'reset' | 'closed' | 'refused' | null;
  from: number;
  to: number;
  msg: ProtocolMessage | null;
  /** the event the receiving machine gets */
  event: { type: string; [k: string]: unknown };
  eventKey: string;
  /** observation id of its delivery (protocol messages) */
  obs: number;
}

/** The cached outcome of one node event. */
export interface NodeResult {
  next: number;
  /** observation ids, in order */
  obs: Int32Array;
  /** network operations, in order: (op, arg) pairs; op 0 = send message id, 1 = close to peer */
  ops: Int32Array;
  progress: boolean;
  becameDone: boolean;
  /** for recording: effects in order, with the id each maps to (message, observation or peer) */
  effects: readonly Effect[];
  refs: Int32Array;
  /** the new state value text when it changed, for `state` trace events */
  stateText: string | null;
  /** the person's line that was consumed, for `input` trace events */
  text: string | null;
  /** 1 when the node (re)started fresh, 2 when it restarted with its state kept, else 0 */
  started: number;
}

/** Records a path as a normal trace, and what each node last sent and got. */
export interface Recorder {
  trace: TraceEvent[];
  t: number;
  nextSendId: number;
  /** per link, the trace send ids of the messages on it (mirrors the queue) */
  linkIds: number[][];
  lastSent: NodeDiagnosis['lastSent'][];
  lastReceived: NodeDiagnosis['lastReceived'][];
}

export interface UntimedOptions {
  /** faults the search may inject (crash, drop, duplicate; a restart after a crash is free) */
  faultBudget: number;
  /** remember common steps by their footprint (default true; false computes every step, for tests) */
  memo?: boolean;
  /** note what invariants and history properties read of the node views (view-fields.ts): needed by partial-order reduction, which is off without it */
  viewReads?: boolean;
  /** let history properties drop what can no longer matter (their `forget` hook; default true; false stores whole histories, for tests) */
  forget?: boolean;
}
