/**
 * Options and named limits shared by every reference server. Every limit has a finite default
 * (STYLE 5) and every error that a limit causes names the limit and its value.
 */

import { InputError } from '../errors.js';
import { builtinLiveProtocols } from '../models/registry.js';
import type { ServerLimitValues } from '../models/server-program.js';
import type { Clock } from './clock.js';
import type { ServerEvents } from './server-events.js';

/** The built-in protocols that have a reference server, in docs/protocols.md order (kv serves protocols 1 and 2). */
export const serverProtocols: readonly string[] = builtinLiveProtocols.map((l) => l.name);
/** A server's name: a live protocol of the registry (`kv`, `ping-liveness`...). */
export type ServerProtocol = string;

/** Limits every server enforces. Sizes are in bytes or characters as their names say. */
export interface ServerLimits extends ServerLimitValues {
  /** Connections held at once; further connections are closed at once and logged. */
  maxConnections: number;
  /** Largest frame (a JSON line, a gob message, a protobuf message, an HTTP request head). */
  maxFrameBytes: number;
  /** A connection that sends nothing for this long is closed. 0 disables. */
  idleTimeoutMs: number;
  /** A frame (or HTTP request head) that is started but not finished within this long closes the connection. */
  readTimeoutMs: number;
  /** Bytes queued for a client that does not read; beyond it the client is disconnected. */
  maxPendingWriteBytes: number;
  /** Longest user, account or store name, in characters. */
  maxNameChars: number;
  /** Longest chat message or stored value, in characters. */
  maxMessageChars: number;
  /** Longest list pattern (offline-queue), in characters. */
  maxPatternChars: number;
  /** Most accounts, registered names, keys per store, or stores a server keeps. */
  maxEntries: number;
  /** Most messages queued for one offline account (offline-queue). */
  maxQueuedMessages: number;
}

/** Defaults sized for the load target (1,000 concurrent connections) with room to spare. */
export const defaultLimits: Readonly<ServerLimits> = {
  maxConnections: 4096,
  maxFrameBytes: 64 * 1024,
  idleTimeoutMs: 10 * 60_000,
  readTimeoutMs: 10_000,
  maxPendingWriteBytes: 1024 * 1024,
  maxNameChars: 64,
  maxMessageChars: 4096,
  maxPatternChars: 64,
  maxEntries: 100_000,
  maxQueuedMessages: 10_000,
};

/** Options of `startServer`. Everything is optional; defaults are the seed's behaviour, hardened. */
export interface ServerOptions {
  /** Loopback host to bind: 127.x.x.x, ::1 or localhost. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Start with one named flaw (see `defectsFor`). */
  defect?: string;
  /** One line per connection and per error (no trailing newline). Default: silent. */
  log?: (line: string) => void;
  /** Limits; unspecified ones take `defaultLimits` (or the protocol's own default). */
  limits?: Partial<ServerLimits>;
  /** The server's time (its rules' timers, idle and read timeouts). Default: the real clock; tests that are about time give a `ManualClock`. */
  clock?: Clock;
  /** `tcp` (default) or `quic` (one JSON object per stream write, TLS, ALPN; JSON-line wires only). */
  transport?: 'tcp' | 'quic';
  /** QUIC: the certificate chain and key, PEM. Default: a self-signed one made at start. */
  certificate?: { cert: string; key: string };
  /** QUIC: the ALPN protocols accepted. Default `['echo-protocol']`. */
  alpn?: string[];
  /** QUIC: a flaw of the transport itself (`quicTransportDefects`), e.g. `keep-streams-open`. */
  quicDefect?: string;
  /**
   * The protocol's own options (a session timeout, a codec, a framing...), as its package's
   * `server.options` lists them (`protosim serve --help` shows them) and its program checks them.
   */
  [option: string]: unknown;
}

/** A running server. */
export interface ServerHandle {
  protocol: ServerProtocol;
  /** `http://127.0.0.1:PORT` for kv, `tcp://127.0.0.1:PORT` for the others, `quic://...` over QUIC. */
  address: string;
  host: string;
  port: number;
  /** The defect it runs with, if any. */
  defect: string | undefined;
  /** Connections open now. */
  connectionCount(): number;
  /** QUIC servers: streams open now and opened in total, over every connection. */
  streamCounts?(): { open: number; opened: number };
  /** What happened (connections, requests applied, timers...), to wait for instead of sleeping. */
  events: ServerEvents;
  /** Stops listening, tells clients where the protocol says so, closes every connection. Idempotent. */
  close(): Promise<void>;
  /** Settles when the server has stopped: resolves after `close()`, rejects if a defect crashed it. */
  closed: Promise<void>;
}

/** Merges user limits over the protocol's defaults, refusing non-finite or negative values. */
export function resolveLimits(
  overrides: Partial<ServerLimits> | undefined,
  protocolDefaults: Partial<ServerLimits> = {},
): ServerLimits {
  const limits: ServerLimits = { ...defaultLimits, ...protocolDefaults };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) continue;
    if (!(name in defaultLimits)) throw new InputError(`unknown limit ${name}; known limits: ${Object.keys(defaultLimits).join(', ')}`, 'unknown-limit');
    if (!Number.isFinite(value) || value < 0) throw new InputError(`limit ${name} must be a finite number >= 0, got ${value}`, 'invalid-limit');
    (limits as unknown as Record<string, number>)[name] = value;
  }
  return limits;
}
