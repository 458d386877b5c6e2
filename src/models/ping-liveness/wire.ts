/**
 * ping-liveness on the wire (docs/protocols.md section 3, seed 002): one JSON object per line,
 * `{"mtype":N,"payload":{...},"version":"1.0.0","sz":N}`, with the seed's message types and error
 * codes; how a line becomes a request of the server rules, how their replies are written, and how
 * a model client's messages look on the wire. Shared by the reference server, the oracle mapping
 * and the live harness.
 */
import type { ClientWire, Outgoing } from '../live-types.js';
import { utf8Length } from '../wire-fields.js';
import type { PingReply, PingRequest } from './messages.js';

/** Message types, as the seed numbers them. */
export const PingMtype = {
  loginRequest: 1,
  loginResponse: 2,
  chatMessage: 3,
  logout: 4,
  error: 5,
  ping: 6,
  versionRequest: 7,
  versionResponse: 8,
} as const;

/** ERROR codes: the seed's 1, 2, 3 and 5, and protosim's 4 (bad request). */
export const PingErrorCode = {
  sessionNotFound: 1,
  timeout: 2,
  loggedInElsewhere: 3,
  badRequest: 4,
  unsupportedVersion: 5,
} as const;

/** Versions this server speaks, best first. */
export const pingSupportedVersions = ['1.0.0'] as const;

/** Encodes one message as a JSON line. */
export function encodePingMessage(mtype: number, payload: Record<string, unknown>): string {
  const body = JSON.stringify(payload);
  return `${JSON.stringify({ mtype, payload, version: pingSupportedVersions[0], sz: utf8Length(body) })}\n`;
}

/** A line as the server sees it: a request of the rules (with CHAT's time), or why it is not one. */
export type PingIn = { request: PingRequest; time: unknown } | { code: number; text: string };

/** A message as written. */
export interface PingOut {
  mtype: number;
  payload: Record<string, unknown>;
}

/** The rules' session id for a wire id. */
export function sessionIdOfWire(id: unknown): string {
  if (id === undefined || id === null) return '';
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 ? `s${id}` : `?${JSON.stringify(id)}`;
}

/** The wire id for a session id of the rules (the inverse of `sessionIdOfWire`). */
export function wireIdOf(id: string): unknown {
  if (id === '') return null;
  if (/^s[1-9]\d*$/.test(id)) return Number(id.slice(1));
  return id.startsWith('?') ? (JSON.parse(id.slice(1)) as unknown) : id;
}

/** The wire form of a message of the rules; `time` is the CHAT's being echoed. */
export function pingOut(m: PingReply, time: unknown = null): PingOut {
  switch (m.type) {
    case 'VERSION_RESPONSE':
      return { mtype: PingMtype.versionResponse, payload: { selected_version: m.selected, success: m.success } };
    case 'LOGIN_RESPONSE':
      return { mtype: PingMtype.loginResponse, payload: { auth: m.auth, id: wireIdOf(m.id) } };
    case 'CHAT':
      return { mtype: PingMtype.chatMessage, payload: { id: wireIdOf(m.id), time, message: m.message } };
    case 'ERROR':
      return { mtype: PingMtype.error, payload: { id: wireIdOf(m.id), error_code: m.code, message: m.message } };
  }
}

const bad = (text: string): PingIn => ({ code: PingErrorCode.badRequest, text: `bad request: ${text}` });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line of the wire as the rules' request, or why it is not one. */
export function decodePingLine(text: string): PingIn {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (!isObject(message)) return bad('expected a JSON object {mtype, payload, version, sz}');
  const { mtype, payload: body, version } = message;
  if (!isObject(body)) return bad('payload must be an object');
  if (version !== undefined && !(pingSupportedVersions as readonly unknown[]).includes(version) && mtype !== PingMtype.versionRequest) {
    return { code: PingErrorCode.unsupportedVersion, text: `unsupported version ${JSON.stringify(version)}; this server speaks ${pingSupportedVersions.join(', ')}` };
  }
  const id = sessionIdOfWire(body['id']);
  switch (mtype) {
    case PingMtype.versionRequest: {
      const offered = body['supported_versions'];
      if (!Array.isArray(offered) || offered.length > 64 || !offered.every((v) => typeof v === 'string')) {
        return bad('VERSION_REQUEST needs supported_versions, an array of at most 64 version strings');
      }
      return { request: { type: 'VERSION_REQUEST', versions: offered as string[] }, time: null };
    }
    case PingMtype.loginRequest: {
      const { username, password } = body;
      if (typeof username !== 'string' || typeof password !== 'string') return bad('LOGIN_REQUEST needs string username and password');
      return { request: { type: 'LOGIN_REQUEST', username, password }, time: null };
    }
    case PingMtype.chatMessage:
      if (typeof body['message'] !== 'string') return bad('CHAT_MESSAGE needs a string message');
      return { request: { type: 'CHAT', id, message: body['message'] }, time: body['time'] ?? null };
    case PingMtype.logout:
      return { request: { type: 'LOGOUT', id }, time: null };
    case PingMtype.ping:
      return { request: { type: 'PING', id }, time: null };
    default:
      return bad(`mtype ${JSON.stringify(mtype)} is not one a client sends (1, 3, 4, 6, 7)`);
  }
}

/**
 * A suite case's message for the wire: `version` and `sz` are filled in when the case leaves them
 * out (so a case can also send them wrong on purpose), and the fields come in the seed's order.
 */
export function outgoingPing(msg: unknown): Outgoing {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { problem: `a ping-liveness message must be a mapping, got ${JSON.stringify(msg)}` };
  const m: Record<string, unknown> = { ...(msg as Record<string, unknown>) };
  if (m.payload === undefined) m.payload = {};
  if (!('version' in m)) m.version = pingSupportedVersions[0];
  if (!('sz' in m)) m.sz = utf8Length(JSON.stringify(m.payload));
  return { wire: { mtype: m.mtype, payload: m.payload, version: m.version, sz: m.sz, ...m } };
}

/**
 * A model client's messages on the wire and back. Session ids are the server's: the model side
 * uses the ids of the server model run in shadow (`s1`), bound to the wire's on first sight.
 */
export const pingClientWire: ClientWire = {
  requestToWire(msg, ids, nowMs) {
    switch (msg.type) {
      case 'VERSION_REQUEST':
        return { mtype: PingMtype.versionRequest, payload: { supported_versions: msg.versions } };
      case 'LOGIN_REQUEST':
        return { mtype: PingMtype.loginRequest, payload: { username: msg.username, password: msg.password } };
      case 'CHAT':
        return { mtype: PingMtype.chatMessage, payload: { id: ids.wireOf(String(msg.id)), time: Math.floor(nowMs / 1000), message: msg.message } };
      case 'LOGOUT':
        return { mtype: PingMtype.logout, payload: { id: ids.wireOf(String(msg.id)) } };
      case 'PING':
        return { mtype: PingMtype.ping, payload: { id: ids.wireOf(String(msg.id)) } };
      default:
        return null;
    }
  },
  replyFromWire(wire, ids) {
    const w = (wire ?? {}) as Record<string, unknown>;
    const p = (typeof w.payload === 'object' && w.payload !== null ? w.payload : {}) as Record<string, unknown>;
    switch (w.mtype) {
      case PingMtype.versionResponse:
        return { type: 'VERSION_RESPONSE', selected: typeof p.selected_version === 'string' ? p.selected_version : null, success: p.success === true };
      case PingMtype.loginResponse:
        return { type: 'LOGIN_RESPONSE', auth: p.auth === 0 ? 0 : 1, id: p.auth === 0 ? ids.modelOf(p.id) : '' };
      case PingMtype.chatMessage:
        return { type: 'CHAT', id: ids.modelOf(p.id), message: typeof p.message === 'string' ? p.message : '' };
      case PingMtype.error:
        return { type: 'ERROR', id: p.id === null || p.id === undefined ? '' : ids.modelOf(p.id), code: typeof p.error_code === 'number' ? p.error_code : 0, message: typeof p.message === 'string' ? p.message : '' };
      default:
        return null;
    }
  },
};
