/**
 * A protocol's reference server as its package writes it: pure rules a generic host runs
 * (src/servers/rules-host.ts). The rules never touch a socket, a timer or the clock: the host tells
 * them what happened (a connection opened, bytes arrived, a request, a timer fired, a write reached
 * the kernel, a connection closed) with the time, and carries out the effects they return (send,
 * close, crash, log, start or cancel a timer). The host owns framing and byte codecs (by the wire
 * format the package names), limits, timeouts and connection identity.
 *
 * Rules return the state the host keeps for the next call. They may update the state they were
 * given in place (the kv stores are Maps) as long as they return it: the host never reads it.
 */
import type { GobStruct, ProtobufSchema } from './live-types.js';

/** The limits every reference server enforces (src/servers/server-options.ts has their defaults). */
export interface ServerLimitValues {
  maxConnections: number;
  maxFrameBytes: number;
  idleTimeoutMs: number;
  readTimeoutMs: number;
  maxPendingWriteBytes: number;
  maxNameChars: number;
  maxMessageChars: number;
  maxPatternChars: number;
  maxEntries: number;
  maxQueuedMessages: number;
}

/** What a host gives a program to configure it: the limits, the defect, and the protocol's own options. */
export interface ServerSetup {
  limits: Readonly<ServerLimitValues>;
  /** a named flaw of the package's `server.defects`, already checked */
  defect: string | undefined;
  /** the protocol's options as `startServer` got them (`heartbeatTimeoutMs`, `codec`...), unchecked */
  options: Readonly<Record<string, unknown>>;
}

/** How a connection ended. */
export interface ConnectionEnd {
  /** true when the socket failed (reset, write error) rather than closing in order */
  hadError: boolean;
  /** true when the server chose to close it (timeout, limit, protocol rule, shutdown) */
  byServer: boolean;
  reason: string;
}

/** What rules ask the host to do. */
export type ServerEffect<Out> =
  /** write `out` to `conn`; with `tag`, the host reports the write with `flushed(conn, tag, ok)` */
  | { type: 'send'; conn: string; out: Out; tag?: string }
  /** close `conn` in order, after what was written */
  | { type: 'close'; conn: string; reason: string }
  /** the whole server dies at once, telling no one (a defect) */
  | { type: 'crash'; reason: string }
  | { type: 'log'; text: string }
  /** start timer `id` (again, from now, if it runs); the host calls `timer(id)` when it fires */
  | { type: 'timer'; id: string; afterMs: number }
  | { type: 'cancel'; id: string };

export interface ServerStep<S, Out> {
  state: S;
  effects: readonly ServerEffect<Out>[];
}

/** A request decoded, or why the bytes are not one (fatal problems close the connection). */
export type FrameDecoded<Req> = { request: Req } | { problem: string; fatal: boolean };

/** How bytes become requests and replies become bytes, in one of the host's wire formats. */
export type StreamWire<Req, Out> = { errorReply(text: string): Out | undefined } & (
  /** one message per line; `encode` returns the whole line, newline included */
  | { format: 'json-lines'; decode(line: string): FrameDecoded<Req>; encode(out: Out): string }
  /** Go gob values of one struct type, each sent after its type definition (as the seed does) */
  | { format: 'gob'; struct: GobStruct; decode(message: Record<string, unknown>): FrameDecoded<Req>; encode(out: Out): Record<string, unknown> }
  /** protobuf requests and replies of the schema, framed as named */
  | { format: 'protobuf'; schema: ProtobufSchema; framing: 'length-delimited' | 'raw'; decode(message: Record<string, unknown>): FrameDecoded<Req>; encode(out: Out): Record<string, unknown> }
);

/** The rules of a stream server (TCP today), called by the host; every call returns the next state and effects. */
export interface StreamRules<S, Req, Out> {
  init(): S;
  opened?(state: S, conn: string): ServerStep<S, Out>;
  /** bytes arrived on `conn`, before they are decoded */
  heard?(state: S, conn: string, nowMs: number): ServerStep<S, Out>;
  request(state: S, conn: string, request: Req, nowMs: number): ServerStep<S, Out>;
  closed(state: S, conn: string, end: ConnectionEnd, nowMs: number): ServerStep<S, Out>;
  timer?(state: S, id: string, nowMs: number): ServerStep<S, Out>;
  /** a tagged send reached the kernel (`ok`), or never will */
  flushed?(state: S, conn: string, tag: string, ok: boolean, nowMs: number): ServerStep<S, Out>;
  /** the server is shutting down (connections are still open) */
  shutdown?(state: S): ServerStep<S, Out>;
}

/** A stream server program, configured for one run. */
/** The host-level defect every stream protocol has: one read taken for one message (TCP keeps no message boundaries). */
export const readIsMessageDefect = { name: 'one-read-one-message', description: 'each read is decoded on its own: a message that arrives in pieces over several reads is lost (TCP keeps no message boundaries)' } as const;

/**
 * The host-level defect of a resource leak every stream protocol can have: a connection its client
 * closed is never closed by the server (the `connections-released` bound, ./live-bounds.ts).
 */
export const keepClosedConnectionsDefect = {
  name: 'keep-closed-connections',
  description: "a connection its client closed is forgotten but never closed: its socket stays in CLOSE_WAIT, a file descriptor leaked for every client that leaves",
} as const;

/**
 * The host-level defect of a memory leak every stream protocol can have: the host keeps the state of
 * every connection that ever opened, its read buffers (256 KiB) included, after the connection closed
 * (the `memory-returned` bound, ./live-bounds.ts).
 */
export const keepConnectionBuffersDefect = {
  name: 'keep-connection-buffers',
  description: 'every connection keeps its read buffers (256 KiB) after it closed (the host never forgets a connection): memory leaked for every client that ever connected',
} as const;

export interface StreamServer<S, Req, Out> {
  wire: StreamWire<Req, Out>;
  /** a host-level variation (a defect): which of the requests decoded from one read are served */
  perRead?<T>(decoded: T[]): T[];
  /** a host-level variation (a defect, `one-read-one-message`): every read decoded on its own; a frame cut at a read's end is lost */
  readIsMessage?: boolean;
  /** a host-level variation (a defect, `keep-closed-connections`): a connection the client closed is forgotten, its socket never closed */
  keepClosedConnections?: boolean;
  /** a host-level variation (a defect, `keep-connection-buffers`): every connection's read buffer is kept after it closed */
  keepConnectionBuffers?: boolean;
  rules: StreamRules<S, Req, Out>;
}

/** An HTTP reply as written. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

/** One answer per request: now, or after a while (a defect that yields mid-request). */
export type HttpStep<S, Out> = { state: S; answer: Out } | { state: S; later: { afterMs: number; then(state: S): HttpStep<S, Out> } };

/** A request/response server over HTTP/1.1 (the IM key-value interface). */
export interface HttpServer<S, Req, Out> {
  wire: {
    /** what a request (method, target) asks, or the answer it gets without reaching the rules */
    decode(method: string, target: string): { request: Req } | { answer: Out };
    encode(out: Out): HttpAnswer;
    /** the answer to a request the rules failed on */
    internalError(): Out;
  };
  rules: { init(): S; request(state: S, request: Req): HttpStep<S, Out> };
}

/** A package's server: checks its options, then gives the host what to run. */
export type ServerProgram =
  | { transport: 'stream'; configure(setup: ServerSetup): StreamServer<any, any, any> | { problem: string } }
  | { transport: 'http'; configure(setup: ServerSetup): HttpServer<any, any, any> | { problem: string } };
