/**
 * The ping-liveness reference server (docs/protocols.md section 3, seed 002): the `fixed` rules of
 * src/models/ping-liveness/serve.ts (the same functions the live oracle steps) on the generic
 * stream host, one JSON object per line: `{"mtype":N,"payload":{...},"version":"1.0.0","sz":N}`.
 *
 * What this file adds to the rules, and only this:
 *  - the wire: mtypes and payloads in and out; the rules' session ids `sN` are the numbers N on the
 *    wire (a wire id that is not such a number names no session; a missing or null id is the
 *    rules' `''`, "this connection's session"); CHAT's `time` is echoed as the client wrote it;
 *  - what never reaches the rules, answered here: a line that is not a message of the protocol
 *    (not JSON, not an object, a payload of the wrong shape, an mtype a client does not send) gets
 *    ERROR 4, protosim's code; a message whose `version` is not 1.0.0 (other than a VERSION_REQUEST)
 *    gets ERROR 5; an empty line is skipped;
 *  - the heartbeat's clock: a timer per session, started again each time the rules say the
 *    session was heard from (`alive`); when it fires the rules' `expire` drops the session (ERROR 2)
 *    and the connection stays, so the client may log in again;
 *  - the named defects, all options of the rules.
 */
import { fixedServerOptions } from '../../models/ping-liveness/index.js';
import type { PingReply, PingRequest } from '../../models/ping-liveness/messages.js';
import { disconnect, expire, handleRequest, ownSession, type PingEffect, type PingServerOptions, type PingSessions } from '../../models/ping-liveness/serve.js';
import { LineFramer } from '../../wire/lineFramer.js';
import { encodePingMessage, PingErrorCode, PingMtype, pingSupportedVersions } from '../../wire/pingLivenessWire.js';
import type { ServerLimits } from '../serverOptions.js';
import type { Decoded, HostApi, RulesRunner, StreamCodec, StreamProtocol } from '../streamHost.js';

export interface PingLivenessConfig {
  limits: ServerLimits;
  defect: string | undefined;
  heartbeatTimeoutMs: number;
  /** accounts user1..userN with passwords pass1..passN */
  accounts: number;
  /** further accounts, name -> password */
  extraAccounts: Record<string, string>;
}

/** A line as the runner sees it: a request of the rules (with CHAT's time), or why it is not one. */
export type PingIn = { request: PingRequest; time: unknown } | { code: number; text: string };

/** A message as written. */
export interface PingOut {
  mtype: number;
  payload: Record<string, unknown>;
}

/** The rules' options for a server with this defect and chat limit: the model's `fixed` variant. */
export function pingRuleOptions(maxMessageChars: number, defect?: string): PingServerOptions {
  const o: PingServerOptions = { ...fixedServerOptions, limits: { maxMessageChars } };
  if (defect === 'no-heartbeat-timeout') return { ...o, expireSilentSessions: false, endSessionOnDisconnect: false };
  if (defect === 'silent-version-mismatch') return { ...o, explicitVersionError: false };
  if (defect === 'trust-session-id') return { ...o, defects: { trustSessionId: true } };
  if (defect === 'allow-double-login') return { ...o, defects: { allowDoubleLogin: true } };
  return o;
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

const codec: StreamCodec<PingIn, PingOut> = {
  decoder(limits) {
    const framer = new LineFramer(limits.maxFrameBytes);
    return {
      push: (chunk) =>
        framer.push(chunk).flatMap((event): Decoded<PingIn>[] => {
          if (event.kind === 'too-long') return [{ kind: 'error', reason: `message longer than maxFrameBytes=${limits.maxFrameBytes}`, fatal: true }];
          return event.text.trim() === '' ? [] : [{ kind: 'request', request: decodePingLine(event.text) }];
        }),
      hasPartialFrame: () => framer.hasPartialFrame(),
    };
  },
  encode: (out) => encodePingMessage(out.mtype, out.payload),
  errorReply: (text) => ({ mtype: PingMtype.error, payload: { id: null, error_code: PingErrorCode.badRequest, message: text } }),
};

/** Console lines worth a log line. */
const logged = new Set(['login', 'logout', 'expire', 'disconnect', 'refuse-login']);

function runner(config: PingLivenessConfig, host: HostApi<PingOut>): RulesRunner<PingIn> {
  const { heartbeatTimeoutMs } = config;
  const options = pingRuleOptions(config.limits.maxMessageChars, config.defect);
  const accounts: Record<string, string> = {};
  for (let i = 1; i <= config.accounts; i++) accounts[`user${i}`] = `pass${i}`;
  Object.assign(accounts, config.extraAccounts);
  let ctx: PingSessions = { versions: [...pingSupportedVersions], accounts, sessions: {}, nextId: 1 };
  const heartbeats = new Map<string, NodeJS.Timeout>();

  function heartbeat(id: string): void {
    if (!options.expireSilentSessions) return;
    const running = heartbeats.get(id);
    if (running !== undefined) {
      running.refresh();
      return;
    }
    const timer = setTimeout(() => {
      heartbeats.delete(id);
      const r = expire(ctx, [id], `no message within heartbeatTimeoutMs=${heartbeatTimeoutMs}; logged out`);
      apply(r.patch, r.effects);
    }, heartbeatTimeoutMs);
    timer.unref();
    heartbeats.set(id, timer);
  }

  function apply(patch: Partial<PingSessions>, effects: readonly PingEffect[], time: unknown = null): void {
    ctx = { ...ctx, ...patch };
    for (const e of effects) {
      if (e.type === 'alive') heartbeat(e.session);
      else if (e.type === 'send') host.send(e.params.to, pingOut(e.params.msg as PingReply, time));
      else if (logged.has(String(e.params.data?.event))) host.log(`ping-liveness: ${e.params.text}`);
    }
    for (const [id, timer] of heartbeats) {
      if (ctx.sessions[id] !== undefined) continue;
      clearTimeout(timer);
      heartbeats.delete(id);
    }
  }

  return {
    request(conn, line) {
      if (!('request' in line)) {
        host.send(conn, { mtype: PingMtype.error, payload: { id: wireIdOf(ownSession(ctx, conn) ?? ''), error_code: line.code, message: line.text } });
        return;
      }
      const r = handleRequest(ctx, conn, line.request, options);
      apply(r.patch, r.effects, line.time);
    },
    closed(conn) {
      const r = disconnect(ctx, conn, options);
      apply(r.patch, r.effects);
    },
    shutdown() {
      for (const timer of heartbeats.values()) clearTimeout(timer);
      heartbeats.clear();
    },
  };
}

/** The ping-liveness server as a plug-in of the stream host. */
export function pingLivenessProtocol(config: PingLivenessConfig): StreamProtocol<PingIn, PingOut> {
  return { name: 'ping-liveness', codec, rules: (host) => runner(config, host) };
}
