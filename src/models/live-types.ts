/**
 * What a protocol package says about meeting live implementations, as pure data and functions: how
 * its abstract messages look on the wire (the wire formats below, which the generic byte codecs of
 * src/wire read), how the live oracle maps the server model onto wire messages (`WireMapping`,
 * stepped by src/conformance/server-model-oracle.ts), and how a model client's requests and replies
 * look on the wire (`ClientWire`). Nothing here does I/O; the live layers do it with these pieces.
 */
import type { PrintParams, ProtocolMessage, RoleDefinition } from './types.js';

// ---- the oracle's mapping ------------------------------------------------------------------------

/**
 * What a client must receive next. `optional`: an illustrative part of the protocol (an ack or echo
 * the protocol does not ask for, a connection closed after an error or a logout): it may arrive here
 * or not at all; the default oracle allows both, `--strict` adds none (it holds a server to what
 * protosim's reference server does, which is what the model sends).
 */
export type Expectation = (
  /** a message the server model sent */
  | { kind: 'message'; msg: ProtocolMessage }
  /** the model closed the connection */
  | { kind: 'close' }
  /** a reply the mapping expects where the model has no message (an error to a malformed request) */
  | { kind: 'wire'; description: string; test: (wire: unknown) => string | null }
) & { optional?: boolean };

/** An expectation that may or may not be met (see `Expectation`). */
export function optional(e: Expectation): Expectation {
  return { ...e, optional: true };
}

/** The connection may be closed here by the server (illustrative), or kept open. */
export const mayClose: Expectation = { kind: 'close', optional: true };

/**
 * What a protocol fixes and what it leaves open, as its mapping applies it: the normative parts are
 * always compared; the illustrative ones only under `--strict`, where the reference server's choice
 * (the model's) is required.
 */
export interface Marking {
  normative: readonly string[];
  illustrative: readonly { id: string; what: string; strict: string }[];
}

/** An event for the server machine (a client request with `from`, or a host event). */
export type ModelEvent = { type: string; [field: string]: unknown };

/** What a mapping may read and change of one world. */
export interface WorldView {
  /** the model's context in this world */
  readonly context: Record<string, unknown>;
  /** mapping bindings, model value -> canonical wire value */
  readonly bind: Readonly<Record<string, string>>;
  /** free mapping notes (JSON), e.g. pushes the harness saw arrive */
  readonly notes: Readonly<Record<string, unknown>>;
}

/** One way a wire message may reach the model: events to step, and replies the mapping adds. */
export interface Inbound {
  events: ModelEvent[];
  /**
   * expected after what the model sends (e.g. an error to a request the model cannot represent);
   * a function gets what the model sent this client in answer (e.g. an optional ack only when the
   * model refused nothing)
   */
  extra?: Expectation[] | ((sent: readonly ProtocolMessage[]) => Expectation[]);
}

/**
 * `text: true` on a failure: the message is of the expected kind (type, opcode, addressee) and only
 * its text differs; the oracle judges that after what arrived at all (`settle`).
 */
export type Comparison = { ok: true; bind?: Record<string, string>; notes?: Record<string, unknown> } | { ok: false; reason: string; text?: boolean };

/** Which server model a mapping steps: a variant's server role and its input (default: `fixed`). */
export interface ServerModelSpec {
  role: RoleDefinition;
  input: Record<string, unknown>;
  /** `faithful`, `fixed`... for messages */
  variantName: string;
}

/** How one protocol's abstract model messages meet its wire messages. */
export interface WireMapping {
  /** for messages: `ping-liveness (fixed) server model` */
  readonly name: string;
  readonly role: RoleDefinition;
  /** the server machine's input */
  readonly input: Record<string, unknown>;
  /** The ways (alternatives) a wire message from `client` reaches the model in this world. */
  inbound(client: string, wire: unknown, world: WorldView): Inbound[];
  /** Alternatives of events stepped before a disconnect of `client` (default: none). */
  beforeDisconnect?(client: string, how: 'closed' | 'reset', world: WorldView): ModelEvent[][];
  /** Whether `wire` is the model message `expected`, with the bindings it makes. */
  compare(expected: ProtocolMessage, wire: unknown, world: WorldView): Comparison;
  describe(expected: ProtocolMessage, world: WorldView): string;
  /**
   * How a message the model sends shows on the wire: the message, and around it what the protocol
   * leaves open (an optional close after an error, an optional reply before it). Default: the
   * message alone.
   */
  expand?(msg: ProtocolMessage, world: WorldView): Expectation[];
  /** `--strict`: illustrative parts are held to the reference server's (the model's) choice */
  readonly strict?: boolean;
  /** what this protocol fixes and what it leaves open (docs, reports) */
  readonly marking?: Marking;
  /**
   * How far apart the model's timers and the live server's may be by design, in model ms (a sweep
   * every N ms against a per-session timer); added to the timing tolerance on both sides.
   */
  readonly timerSlackMs?: number;
}

/** What a mapping is built from: the suite's variables, `--strict`, and another server model than the protocol's fixed one. */
export interface MappingOptions {
  vars: Readonly<Record<string, string | number>>;
  strict: boolean;
  /** a scenario's variant and node params; default: the protocol's `fixed` server */
  server?: ServerModelSpec;
}

/** A value for messages: JSON, at most 200 characters. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}... (${text.length} characters)` : text;
}

// ---- model clients on a live wire ------------------------------------------------------------------

/** Identifiers the server picks (session ids): model value <-> canonical wire value. */
export interface IdTable {
  /** the wire value for a model id, if bound */
  wireOf(modelId: string): unknown;
  /** the model id for a wire value (binding a new one when unknown) */
  modelOf(wireValue: unknown): string;
}

/**
 * The client side of a stream protocol's wire: a model client's request as a wire message (what the
 * live codec encodes), and a wire reply as the model message its machine expects.
 */
export interface ClientWire {
  /** null when the request has no wire form (the fixed offline-queue model's confirmation) */
  requestToWire(msg: ProtocolMessage, ids: IdTable, nowMs: number): unknown;
  /** null when the wire message is none the client machine takes */
  replyFromWire(wire: unknown, ids: IdTable): ProtocolMessage | null;
}

// ---- wire formats ---------------------------------------------------------------------------------

/** One Go struct a gob stream carries (the fields in declaration order; only strings and bools). */
export interface GobStruct {
  name: string;
  fields: readonly { name: string; type: 'string' | 'bool' }[];
}

/** One protobuf message type: fields with their numbers (proto3, scalar fields only). */
export interface ProtobufMessageType {
  name: string;
  fields: readonly { name: string; id: number; type: 'string' | 'int32' | 'bool' }[];
}

/** A protobuf wire: the request and reply message types and the values written when unset. */
export interface ProtobufSchema {
  /** the proto package, e.g. `protosim.offlinequeue` */
  package: string;
  /** what clients send */
  request: ProtobufMessageType;
  /** what the server sends */
  reply: ProtobufMessageType;
  /** fields every encoded message carries unless given (the seed's `version`) */
  fill?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * A message of a suite case (free data), checked and completed for the wire, or why it cannot be
 * sent (a mistake in the suite file: `register-exit field To must be a string, got 3`).
 */
export type Outgoing = { wire: Record<string, unknown> } | { problem: string };

/**
 * A codec the harness speaks to a live server, named as users name it (`--codec gob`). The byte
 * work is src/wire's, by `format`; the package says which format with what schema, and how a case's
 * message becomes a wire message (`outgoing`).
 */
export type LiveCodecSpec =
  /** one JSON object per line */
  | { name: string; format: 'json-lines'; outgoing(msg: unknown): Outgoing }
  /** Go gob, one struct type, byte-compatible with Go's encoding/gob */
  | { name: string; format: 'gob'; struct: GobStruct; outgoing(msg: unknown): Outgoing }
  /** protobuf messages, `length-delimited` (a varint byte count first) or `raw` (one per read) */
  | { name: string; format: 'protobuf'; schema: ProtobufSchema; outgoing(msg: unknown): Outgoing }
  /** the course's IM key-value HTTP interface (src/conformance/im-http-client.ts speaks it) */
  | { name: string; format: 'im-http' };

/** Console lines of a server, for the oracle's hooks (re-exported for convenience). */
export type { PrintParams };

// ---- model counterexamples replayed on client programs ---------------------------------------------

/** What a replay on client programs saw of the live programs, per live name (what `liveName` gives). */
export interface LiveClientsView {
  /** the model messages each program sent, in order */
  sent: ReadonlyMap<string, readonly ProtocolMessage[]>;
  /** the model messages written to each program */
  received: ReadonlyMap<string, readonly ProtocolMessage[]>;
  /** the message lines (and refusals: `from` absent, `refused` true) each program showed, in order */
  shown: ReadonlyMap<string, readonly { from?: string; text: string; refused?: boolean }[]>;
  /** the programs still running */
  running: ReadonlySet<string>;
}

/**
 * One program's conversation with the server on its current connection, as a replay on client
 * programs saw it at its proxy, when the program sends a message (`ClientRuledOut.send` judges
 * that message against it). A restarted program, or one that connects again, is a new connection:
 * its model client starts afresh.
 */
export interface LiveProgramHistory {
  /** the name the program goes by live (what `liveName` gave) */
  name: string;
  /** the model client node it plays (a tampered client says so in its params: register-exit's `spoofAs`) */
  node: { id: string; params: Readonly<Record<string, unknown>> };
  /**
   * what it sent on this connection before the message judged (`sent: true`, when protosim's proxy
   * read it) and what was written to it (`sent: false`, when the proxy wrote it: the program can
   * have read nothing else, though it may not have read all of it yet), in that order; `atMs` on
   * one monotonic clock
   */
  log: readonly { sent: boolean; msg: ProtocolMessage; atMs: number }[];
  /** the trace's lines its person has typed into it so far (into every run of it), as the trace has them */
  typed: readonly string[];
  /**
   * every line typed into its terminal so far, trimmed: the adapter's login lines and the trace's
   * lines as the adapter types them (`3`, `bob`, `hi` for a menu). A program that reads a line where
   * the model's client would read another (a menu out of step after refusing a name itself) did what
   * it was typed: a field equal to one of these is not held against it
   */
  keyed: readonly string[];
  /** when protosim read the message judged (the clock of `log`) */
  nowMs: number;
}

/** What a client program did that the model's client role rules out: what it did, and what the model's client does there instead. */
export interface RuledOut {
  /** what the program did, in words (`sent message alice -> bob "hi"`) */
  did: string;
  /** what the model's client does or allows there (`sends only the texts its person types: "hi bob"`) */
  allowed: string;
}

/**
 * How a chat protocol's package says what a client program did that the model's client role (and
 * the protocol) rules out: a replay on client programs that sees it says DIVERGED, with the step
 * and both sides. Only what the protocol fixes and protosim observes for certain: what a program
 * sent, on its own connection and in its own order, against what it was written and what its person
 * typed; never what the protocol leaves open (extra polls or keepalives, waiting longer, the wording
 * of what it shows).
 */
export interface ClientRuledOut {
  /** a message the program sends: null when the model's client can send it there */
  send?(msg: ProtocolMessage, program: LiveProgramHistory): RuledOut | null;
  /**
   * what program `name` showed (`view.shown`) against what was written to it (`view.received`):
   * null when every line is explained by something it was written; a line the adapter reads as a
   * message from a party of the replay that it was never written is ruled out
   */
  shown?(name: string, view: LiveClientsView): RuledOut | null;
}

/**
 * How a model counterexample of a stream protocol replays onto live client programs (`protosim
 * replay TRACE --adapter`): protosim plays the server (its reference server, behind a proxy per
 * program that holds and releases messages in the trace's order) and drives the programs as the
 * trace's people; this says how the trace's nodes, typed lines and messages look live, and how the
 * trace's failure shows on the programs.
 */
export interface ClientReplayMapping {
  /** the name a model client node's program goes by live (what it registers or logs in as) */
  liveName(node: { id: string; params: Readonly<Record<string, unknown>>; lines?: readonly string[] }): string;
  /**
   * what the person types for one model input line: messages (`to` a live name), quit, or asking
   * for queued messages (the adapter's `check`); [] when the adapter's login already typed it;
   * `cannot` when an adapter has no input for it. `self` is the typing program's live name.
   */
  typing(line: string, self: string): { to: string; text: string }[] | 'quit' | 'check' | { cannot: string };
  /** a wire message (either direction) as the model message, null when the model has none */
  messageOfWire(wire: unknown): ProtocolMessage | null;
  /**
   * whether a server message answers the program's request (protocols with one request in flight):
   * the answer to a request the model does not have goes to the program at once; absent, none is taken as one
   */
  answers?(msg: ProtocolMessage): boolean;
  /** what matching compares: the message's type and for whom, in words */
  effect(msg: ProtocolMessage): string;
  /** how a model property's violation shows on the live programs, by property id: the violation, or null */
  readonly live: Readonly<Record<string, (view: LiveClientsView) => string | null>>;
  /**
   * what a program did that the model's client role rules out (the replay says DIVERGED); absent,
   * nothing is (the replay never says DIVERGED)
   */
  readonly ruledOut?: ClientRuledOut;
}
