/**
 * ping-liveness: how the server model's abstract messages (messages.ts)
 * meet the wire's `{mtype, payload, version, sz}` (docs/protocols.md section 3), for the model oracle.
 *
 * The differences between the model and a live server, and how each is settled here:
 *  - session ids: the model numbers them `s1`, `s2`...; a server picks its own (the reference
 *    server counts from 1 over its whole life). The first LOGIN_RESPONSE binds the model's id to
 *    the wire's, and from then on each must stand for the other (an id a client writes that no
 *    session of the model has stays unknown to the model too);
 *  - ERROR: the code is compared (docs/protocols.md's 1, 2, 3, 5); the id and text are the server's own;
 *  - `version`: the codec's business. A message of another version than 1.0.0 (other than a
 *    VERSION_REQUEST) is not stepped: docs/protocols.md's answer is ERROR 5 (unsupported version);
 *  - a line that is not a message of the protocol (bad JSON, an unknown mtype, a payload of the
 *    wrong shape): the model has no such message, so the server may answer it with an ERROR (the
 *    reference server uses its own code 4) or not at all; both are allowed;
 *  - LOGIN_RESPONSE with auth 1 carries no id worth comparing; CHAT's `time` is the client's own.
 * The model's heartbeat (a sweep every `sweepMs`, a session dropped after `sessionTimeoutMs` of
 * silence) runs on the harness's clock: set the suite variable `heartbeatTimeoutMs` to the server's.
 *
 * What docs/protocols.md fixes and what it leaves open: `pingMarking` below. The default oracle checks
 * the normative parts; `--strict` holds the server to the reference server's choices too.
 */
import { canonicalJson } from '../canonical-json.js';
import type { Comparison, Expectation, Inbound, Marking, MappingOptions, ServerModelSpec, WireMapping, WorldView } from '../live-types.js';
import { mayClose, optional, show } from '../live-types.js';
import type { ModelVariant, ProtocolMessage } from '../types.js';
import { reloginRefusal } from './serve.js';
import { PingErrorCode, PingMtype, pingSupportedVersions } from './wire.js';

/** ping-liveness: what the protocol fixes (always checked) and what it leaves open (`--strict`). */
export const pingMarking: Marking = {
  normative: [
    'message types (mtype) of every reply, and which client gets it',
    'VERSION_RESPONSE success and selected_version; ERROR 5 to an offer with nothing in common',
    'LOGIN_RESPONSE auth (0 ok, 1 bad credentials) and a session id that then names that session',
    'ERROR codes 1 (session not found), 2 (timeout), 3 (logged in elsewhere), 5 (unsupported version)',
    'the chat echo (same text, same session id) to the sender only',
    'state: one session per user; LOGOUT, a dropped session and a heartbeat timeout free the user; a session is named by its connection, not by the id a client writes',
  ],
  illustrative: [
    { id: 'error-text', what: 'ERROR ids and texts, CHAT time', strict: 'not compared either (the server’s own)' },
    { id: 'version-field', what: 'a later message whose `version` is not 1.0.0: refused with ERROR 5, or served (the version was negotiated)', strict: 'ERROR 5, as the reference server' },
    { id: 'failed-version-response', what: 'a VERSION_RESPONSE {success: false} before the ERROR 5', strict: 'ERROR 5 alone' },
    { id: 'pong', what: 'a PING answered with a PING', strict: 'no reply' },
    { id: 'logout-ack', what: 'a LOGOUT answered with a LOGOUT', strict: 'no reply' },
    { id: 'close-after', what: 'the connection closed or kept after an ERROR or a LOGOUT', strict: 'kept open' },
    { id: 'relogin', what: 'a login on a connection that already holds a session: refused with ERROR 3 or with LOGIN_RESPONSE auth 1, the session kept', strict: 'ERROR 3' },
  ],
};

/** Options of the ping-liveness oracle. */
export interface PingMappingOptions {
  /** the server's heartbeat timeout (the model drops a silent session after it) */
  heartbeatTimeoutMs?: number;
  /** another server model than the fixed one with that timeout (a scenario's variant and params) */
  server?: ServerModelSpec;
  /** `--strict`: the illustrative parts as the reference server does them */
  strict?: boolean;
}

type Wire = { mtype?: unknown; payload?: Record<string, unknown>; version?: unknown };

const anyError: Expectation = {
  kind: 'wire',
  description: 'an ERROR (mtype 5, any code) or nothing',
  test: (wire) => ((wire as Wire)?.mtype === PingMtype.error ? null : `expected an ERROR, got ${show(wire)}`),
};

const unsupportedVersion: Expectation = {
  kind: 'wire',
  description: '{mtype: 5, payload: {error_code: 5}} (unsupported version)',
  test: (wire) => {
    const w = wire as Wire;
    return w?.mtype === PingMtype.error && w.payload?.error_code === PingErrorCode.unsupportedVersion ? null : `expected ERROR 5, got ${show(wire)}`;
  },
};

/** The model's session id for a wire id: the one bound to it, else an id no model session has. */
function modelId(wireId: unknown, world: WorldView): string {
  // no id at all: the message acts on the connection's own session (the server rules' reading)
  if (wireId === null || wireId === undefined) return '';
  const key = canonicalJson(wireId);
  for (const [m, w] of Object.entries(world.bind)) if (w === key) return m;
  return `wire:${key}`;
}

/** Binds model id `m` to wire id `wireId`; an error text when either is bound otherwise. */
function bindId(m: string, wireId: unknown, world: WorldView): { bind: Record<string, string> } | { reason: string } {
  const key = canonicalJson(wireId ?? null);
  const known = world.bind[m];
  if (known !== undefined) return known === key ? { bind: world.bind } : { reason: `session ${m} is ${known} on the wire, got id ${key}` };
  if (wireId === null || wireId === undefined || wireId === '') return { reason: `a logged-in session needs an id, got ${key}` };
  const other = Object.entries(world.bind).find(([, w]) => w === key);
  if (other !== undefined) return { reason: `id ${key} already names session ${other[0]}; the model gives a new session` };
  return { bind: { ...world.bind, [m]: key } };
}

const str = (v: unknown): v is string => typeof v === 'string';

const failedVersionResponse: Expectation = optional({
  kind: 'wire',
  description: '{mtype: 8, payload: {success: false}}',
  test: (wire) => ((wire as Wire)?.mtype === PingMtype.versionResponse && (wire as Wire).payload?.success === false ? null : `expected a failed VERSION_RESPONSE, got ${show(wire)}`),
});

/** An answer of the same mtype as the request (a pong, a logout ack): allowed, not asked for. */
const echoOf = (mtype: number, what: string): Expectation =>
  optional({ kind: 'wire', description: `{mtype: ${mtype}} (${what})`, test: (wire) => ((wire as Wire)?.mtype === mtype ? null : `expected mtype ${mtype}, got ${show(wire)}`) });

/** The mapping as a live protocol's `mapping`: the suite variable `heartbeatTimeoutMs` sets the model's heartbeat. */
export function pingMappingOf(fixed: ModelVariant, { vars, strict, server }: MappingOptions): WireMapping {
  return pingLivenessMapping(fixed, { ...(typeof vars.heartbeatTimeoutMs === 'number' ? { heartbeatTimeoutMs: vars.heartbeatTimeoutMs } : {}), ...(server ? { server } : {}), strict });
}

export function pingLivenessMapping(fixed: ModelVariant, options: PingMappingOptions = {}): WireMapping {
  const timeoutMs = options.heartbeatTimeoutMs ?? 30_000;
  // A sweep a quarter of the timeout: the model drops a silent session between 3/4 and all of it.
  const sweepMs = Math.max(1, Math.round(timeoutMs / 4));
  const role = options.server?.role ?? fixed.roles.server!;
  const input = options.server?.input ?? role.input({ self: 'server', nodesByRole: { server: ['server'] }, params: { sweepMs, sessionTimeoutMs: timeoutMs } });
  const strict = options.strict === true;
  return {
    // The model sweeps every sweepMs; a live server may time each session exactly.
    timerSlackMs: typeof input.sweepMs === 'number' ? input.sweepMs : 10_000,
    name: `ping-liveness (${options.server?.variantName ?? 'fixed'}) server model${strict ? ', strict' : ''}`,
    role,
    input,
    strict,
    marking: pingMarking,

    expand(msg: ProtocolMessage): Expectation[] {
      const shown: Expectation = { kind: 'message', msg };
      if (strict || msg.type !== 'ERROR') return [shown];
      if (msg.code === PingErrorCode.unsupportedVersion) return [failedVersionResponse, shown, mayClose];
      return [shown, mayClose];
    },

    inbound: (client: string, wire: unknown, world: WorldView): Inbound[] => pingInbound(client, wire, world, strict),
    compare: (expected, wire, world) => pingCompare(expected, wire, world, strict),
    describe: pingDescribe,
  };
}

/** The model events a line from `client` may stand for (the mapping's `inbound`). */
function pingInbound(client: string, wire: unknown, world: WorldView, strict: boolean): Inbound[] {
  const w = wire as Wire;
  const unmodelled: Inbound[] = [{ events: [] }, { events: [], extra: [anyError] }];
  if (typeof w !== 'object' || w === null || typeof w.payload !== 'object' || w.payload === null) return unmodelled;
  const p = w.payload;
  if (w.mtype !== PingMtype.versionRequest && w.version !== undefined && !(pingSupportedVersions as readonly unknown[]).includes(w.version)) {
    const refused: Inbound = { events: [], extra: strict ? [unsupportedVersion] : [failedVersionResponse, unsupportedVersion, mayClose] };
    // Illustrative: a server that negotiated the version once may ignore the field afterwards.
    if (strict) return [refused];
    return [refused, ...pingInbound(client, { ...w, version: pingSupportedVersions[0] }, world, strict)];
  }
  const from = { from: client };
  switch (w.mtype) {
    case PingMtype.versionRequest:
      if (!Array.isArray(p.supported_versions) || !p.supported_versions.every(str)) return unmodelled;
      return [{ events: [{ type: 'VERSION_REQUEST', versions: p.supported_versions, ...from }] }];
    case PingMtype.loginRequest:
      if (!str(p.username) || !str(p.password)) return unmodelled;
      return [{ events: [{ type: 'LOGIN_REQUEST', username: p.username, password: p.password, ...from }] }];
    case PingMtype.chatMessage:
      if (!str(p.message)) return unmodelled;
      return [{ events: [{ type: 'CHAT', id: modelId(p.id, world), message: p.message, ...from }] }];
    case PingMtype.logout:
      return [{ events: [{ type: 'LOGOUT', id: modelId(p.id, world), ...from }], ...(strict ? {} : { extra: (sent) => (sent.length === 0 ? [echoOf(PingMtype.logout, 'a logout ack'), mayClose] : []) }) }];
    case PingMtype.ping:
      return [{ events: [{ type: 'PING', id: modelId(p.id, world), ...from }], ...(strict ? {} : { extra: (sent) => (sent.length === 0 ? [echoOf(PingMtype.ping, 'a pong')] : []) }) }];
    default:
      return unmodelled;
  }
}

/** Whether a line the server wrote is the message the model sent (the mapping's `compare`). */
function pingCompare(expected: ProtocolMessage, wire: unknown, world: WorldView, strict = false): Comparison {
  const w = wire as Wire;
  if (typeof w !== 'object' || w === null || typeof w.payload !== 'object' || w.payload === null) return { ok: false, reason: `not a message {mtype, payload}: ${show(wire)}` };
  const p = w.payload;
  // illustrative (relogin): a second login on one connection may be refused as bad credentials too
  const relogin = expected.type === 'ERROR' && String(expected.message).startsWith(reloginRefusal);
  if (relogin && !strict && w.mtype === PingMtype.loginResponse) return p.auth === 1 ? { ok: true } : { ok: false, reason: `auth: expected 1 (a refused second login on this connection) or ERROR 3, got ${show(p.auth)}` };
  const mtype = { VERSION_RESPONSE: PingMtype.versionResponse, LOGIN_RESPONSE: PingMtype.loginResponse, CHAT: PingMtype.chatMessage, ERROR: PingMtype.error }[expected.type];
  if (w.mtype !== mtype) return { ok: false, reason: `mtype: expected ${mtype} (${expected.type}), got ${show(w.mtype)}` };
  switch (expected.type) {
    case 'VERSION_RESPONSE':
      if (p.success !== expected.success) return { ok: false, reason: `success: expected ${show(expected.success)}, got ${show(p.success)}` };
      if (expected.success === true && p.selected_version !== expected.selected) return { ok: false, reason: `selected_version: expected ${show(expected.selected)}, got ${show(p.selected_version)}` };
      return { ok: true };
    case 'LOGIN_RESPONSE': {
      if (p.auth !== expected.auth) return { ok: false, reason: `auth: expected ${show(expected.auth)}, got ${show(p.auth)}` };
      if (expected.auth !== 0) return { ok: true };
      const b = bindId(expected.id as string, p.id, world);
      return 'reason' in b ? { ok: false, reason: `id: ${b.reason}` } : { ok: true, bind: b.bind };
    }
    case 'CHAT': {
      if (p.message !== expected.message) return { ok: false, reason: `message: expected ${show(expected.message)}, got ${show(p.message)}`, text: true };
      const b = bindId(expected.id as string, p.id, world);
      return 'reason' in b ? { ok: false, reason: `id: ${b.reason}` } : { ok: true, bind: b.bind };
    }
    case 'ERROR':
      return p.error_code === expected.code ? { ok: true } : { ok: false, reason: `error_code: expected ${show(expected.code)}, got ${show(p.error_code)}` };
    default:
      return { ok: false, reason: `the model sent ${expected.type}, which has no wire form` };
  }
}

/** How a message the model sent looks on the wire, for messages (the mapping's `describe`). */
function pingDescribe(expected: ProtocolMessage, world: WorldView): string {
  const id = (m: unknown): string => (world.bind[m as string] !== undefined ? world.bind[m as string]! : `<session ${String(m)}>`);
  switch (expected.type) {
    case 'VERSION_RESPONSE':
      return `{mtype: 8, payload: {selected_version: ${show(expected.selected)}, success: ${show(expected.success)}}}`;
    case 'LOGIN_RESPONSE':
      return expected.auth === 0 ? `{mtype: 2, payload: {auth: 0, id: ${id(expected.id)}}}` : `{mtype: 2, payload: {auth: ${show(expected.auth)}}}`;
    case 'CHAT':
      return `{mtype: 3, payload: {id: ${id(expected.id)}, message: ${show(expected.message)}}}`;
    case 'ERROR':
      return `{mtype: 5, payload: {error_code: ${show(expected.code)}}} (${show(expected.message)})`;
    default:
      return show(expected);
  }
}
