/**
 * The contract between protocol models and their hosts (the simulator, the explorers and the live
 * drivers). A model decides; a host acts (STYLE 1): role machines only emit named actions with
 * params, which the host interprets.
 *
 * Events a host delivers to a role machine:
 *  - a protocol message: the message object itself plus `from` (the sending node id), so machines
 *    write `on: { VALUE: ... }`. Message types are UPPER_CASE.
 *  - host events, lower-case and dotted:
 *      `user.input` `{ text }`        the person at this node typed a line;
 *      `user.quit`                    the person asked to quit (Ctrl-C handled by the program);
 *      `conn.closed` `{ peer }`       the peer closed the connection in an orderly way;
 *      `conn.reset` `{ peer }`        the connection to the peer was reset (peer killed, RST);
 *      `conn.refused` `{ peer }`      a send found nobody listening (peer down, before connecting).
 *  - delayed events the machine raised itself (`after` transitions), fired by the host's clock.
 *
 * Actions (effects) a role machine may emit, each `{ type, params }`:
 *  - `send`  `{ to, msg }`           send a protocol message to node `to`;
 *  - `print` `{ kind, text, ... }`   show something to the user. `kind` is one of PrintKind;
 *  - `close` `{ peer }`              close the connection to `peer` (orderly);
 *  - xstate's own `xstate.raise` (with `delay`) and `xstate.cancel`: timers, owned by the host.
 *
 * A role machine marks its states with tags the checkers read:
 *  - `awaitingUser`: it waits for its person to type (not a protocol stall);
 *  - `waiting`: it waits for another node (a poll loop or a blocking read) and its `meta.waitsFor`
 *    says for what, in words, for deadlock reports;
 *  - protocol-specific tags used by invariants (`maySend` in lock-alternation, ...).
 * A final state means the program has exited normally.
 */
import type { AnyStateMachine } from 'xstate';

/** A node id in a topology: `store`, `server`, `c1`, `c2`... */
export type NodeId = string;

/** A protocol message: JSON data with a discriminating `type`. */
export interface ProtocolMessage {
  type: string;
  [field: string]: unknown;
}

/** What a person at a node sees. */
export type PrintKind =
  /** a chat message from another user is shown (the usual progress event) */
  | 'message'
  /** the program asks the person to type */
  | 'prompt'
  /** a status line (waiting for the peer, the peer is typing, logged in...) */
  | 'status'
  /** an error is shown (server in use, unknown recipient, bad credentials...) */
  | 'error'
  /** the peer or server left / shut down */
  | 'peer-left';

export interface PrintParams {
  kind: PrintKind;
  text: string;
  /** For `message`: the user who wrote it, when the protocol says. */
  author?: string;
  /** Free protocol-specific data for monitors (JSON). */
  data?: Record<string, unknown>;
}

export interface SendParams {
  to: NodeId;
  msg: ProtocolMessage;
}

/** One effect a node produced, as the host sees it (after interpreting xstate's own actions). */
export type Effect =
  | { type: 'send'; to: NodeId; msg: ProtocolMessage }
  | { type: 'print'; params: PrintParams }
  | { type: 'close'; peer: NodeId }
  | { type: 'timer.start'; id: string; delayMs: number; event: { type: string; [k: string]: unknown } }
  | { type: 'timer.cancel'; id: string };

/** Lifecycle of a node as the host tracks it. */
export type NodeStatus = 'running' | 'done' | 'crashed' | 'paused' | 'not-started';

/** A node's state as invariants see it. */
export interface NodeView {
  id: NodeId;
  role: string;
  status: NodeStatus;
  /** xstate state value (string or nested object) */
  value: unknown;
  /** xstate context: plain JSON data */
  context: Record<string, unknown>;
  /** tags of the current state */
  tags: readonly string[];
}

/** A message in flight, as invariants see it. */
export interface InFlightView {
  from: NodeId;
  to: NodeId;
  msg: ProtocolMessage;
}

/** The global view invariants are evaluated over. */
export interface GlobalView {
  timeMs: number;
  nodes: Readonly<Record<NodeId, NodeView>>;
  inFlight: readonly InFlightView[];
}

/** A safety predicate over the global view. Returns null when it holds, or the reason it does not. */
export interface Invariant {
  id: string;
  description: string;
  check(view: GlobalView): string | null;
}

/**
 * What a history property observes: every message delivered, every print, every fault.
 * Monitors are pure reducers so explorers can hash their state with the rest.
 */
export type Observation =
  | { kind: 'deliver'; from: NodeId; to: NodeId; msg: ProtocolMessage }
  | { kind: 'print'; node: NodeId; params: PrintParams }
  | { kind: 'crash'; node: NodeId }
  | { kind: 'restart'; node: NodeId; fresh: boolean };

/** A safety property over the history (a monitor). `S` must be JSON data. */
export interface HistoryProperty<S = unknown> {
  id: string;
  description: string;
  initial: S;
  /** Returns the next monitor state, or a violation reason. Must not mutate `state`. */
  observe(state: S, observation: Observation, view: GlobalView): { state: S } | { violation: string };
  /**
   * Symmetry reduction (the exhaustive search's `--symmetry`): `state` with node names swapped, as
   * `rename` does for any JSON value (every string naming a node). Declare it when a plain renaming
   * is not the state `observe` would have built, e.g. a list it keeps sorted must be sorted again.
   * Default: `rename(state)`. (The search checks that steps commute with renaming, whatever this says.)
   */
  renameNodes?(state: S, rename: <T>(value: T) => T): S;
  /**
   * Optional, for the exhaustive search only: `state` without what can no longer lead to a
   * violation, so that histories differing only there are stored once. `present(text)` says
   * whether `text` still occurs somewhere in the global state, as it is or trimmed (as a string or
   * object key in a node's context or armed timers, in a message in flight, in a line a person has
   * yet to type, or in a node's role input, which a fresh restart starts from again). It must be exact: drop only what no
   * future observation can make a violation, given that every string a future observation carries
   * that is not present now is one the model's code makes up (such as `''` for a missing value).
   * Return `state` itself when nothing is dropped. The random simulator never calls it.
   */
  forget?(state: S, present: (text: string) => boolean): S;
}

/** One role: its machine, and how to build its input from the topology. */
export interface RoleDefinition {
  machine: AnyStateMachine;
  /** Builds the machine input for a node of this role (`self`, peers, timing parameters). */
  input(ctx: RoleInputContext): Record<string, unknown>;
  /** Free text for `protosim list` and reports. */
  description: string;
}

export interface RoleInputContext {
  self: NodeId;
  /** every node id in the topology, by role */
  nodesByRole: Readonly<Record<string, readonly NodeId[]>>;
  /** role parameters from the scenario (`params:` on the node), already validated as JSON */
  params: Readonly<Record<string, unknown>>;
}

/** A node of a default topology, in scenario terms (plain data). */
export interface DefaultNode {
  id: NodeId;
  role: string;
  params?: Record<string, unknown>;
  /** a fixed start time, or a uniform range */
  startAtMs?: number | { uniform: [number, number] };
  /** key-value stores: initial keys */
  data?: Record<string, string>;
}

/** The default topology and workload for `protosim check <protocol>`, scalable by clients and rounds. */
export interface ModelDefaults {
  /** default client count and messages per client */
  clients: number;
  rounds: number;
  /** builds the topology for `clients` clients, each typing `rounds` messages (texts must be distinct) */
  topology(scale: { clients: number; rounds: number }): {
    nodes: DefaultNode[];
    workload: { node: NodeId; messages: string[]; quitAfter?: boolean }[];
  };
  /**
   * Further scenario fields for the default check, as scenario YAML data (network, faults,
   * randomFaults, checks, explore): "the default faults" of `protosim check`.
   */
  scenario?: Record<string, unknown>;
}

/** A variant of a protocol model: `faithful` (the seed, flaws included) or `fixed`. */
export interface ModelVariant {
  /** `faithful` | `fixed` | other named variants */
  name: string;
  summary: string;
  roles: Readonly<Record<string, RoleDefinition>>;
  invariants: readonly Invariant[];
  properties: readonly HistoryProperty<any>[];
  /** True if this effect is progress (a message shown to a user, an operation completed). */
  isProgress(node: NodeId, effect: Effect): boolean;
  defaults: ModelDefaults;
  /**
   * How connections behave: `http` opens a connection per request and closes it with the reply
   * (the IM server); `tcp` keeps one connection per pair from the first send until it is closed.
   */
  transport: 'http' | 'tcp';
  /**
   * Optional protocol-specific explanation of a finding, in words a student understands
   * ("both clients read connected=absent before either set it"). Returns null when it has none.
   */
  diagnose?(view: GlobalView, finding: { kind: string; id: string }): string | null;
}

/** A protocol model: one per seed document. */
export interface ProtocolModel {
  name: string;
  summary: string;
  /** the seed document it models, and where docs/protocols.md describes it */
  source: string;
  variants: Readonly<Record<string, ModelVariant>>;
  /** Validates a message (wire-facing hosts use it); returns an error text or null. */
  validateMessage(msg: unknown): string | null;
}
