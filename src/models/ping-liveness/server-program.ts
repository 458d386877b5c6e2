/**
 * The ping-liveness reference server as the generic host runs it (src/servers/rules-host.ts): the
 * `fixed` rules of serve.ts (the same functions the live oracle steps) over JSON lines.
 *
 * What this adds to the rules, and only this:
 *  - the wire (wire.ts): a CHAT's `time` is echoed as the client wrote it;
 *  - what never reaches the rules, answered here: a line that is not a message of the protocol
 *    (not JSON, not an object, a payload of the wrong shape, an mtype a client does not send) gets
 *    ERROR 4, protosim's code; a message whose `version` is not 1.0.0 (other than a VERSION_REQUEST)
 *    gets ERROR 5; an empty line is skipped (by the host);
 *  - the heartbeat: a host timer per session, started again each time the rules say the session was
 *    heard from (`alive`); when it fires the rules' `expire` drops the session (ERROR 2) and the
 *    connection stays, so the client may log in again;
 *  - the named defects, all options of the rules.
 */
import { keepClosedConnectionsDefect, keepConnectionBuffersDefect, readIsMessageDefect, type ServerEffect, type ServerSetup, type ServerStep, type StreamServer } from '../server-program.js';
import type { PingReply } from './messages.js';
import { disconnect, expire, handleRequest, ownSession, type PingEffect, type PingServerOptions, type PingSessions } from './serve.js';
import { decodePingLine, encodePingMessage, PingErrorCode, PingMtype, pingOut, pingSupportedVersions, wireIdOf, type PingIn, type PingOut } from './wire.js';

/** The named flaws of the reference server. */
export const pingDefects = [
  { name: 'no-heartbeat-timeout', description: 'a silent session is never dropped, so a killed client locks its user out for ever' },
  { name: 'trust-session-id', description: 'CHAT, PING and LOGOUT act on the session named by the id field, not the connection' },
  { name: 'silent-version-mismatch', description: 'a version offer with nothing in common gets no answer at all' },
  { name: 'allow-double-login', description: 'a user logged in elsewhere can log in again (no error code 3)' },
  readIsMessageDefect,
  keepClosedConnectionsDefect,
  keepConnectionBuffersDefect,
] as const;

/** The rules' options for a server with this defect and chat limit: the model's `fixed` variant. */
export function pingRuleOptions(fixed: PingServerOptions, maxMessageChars: number, defect?: string): PingServerOptions {
  const o: PingServerOptions = { ...fixed, limits: { maxMessageChars } };
  if (defect === 'no-heartbeat-timeout') return { ...o, expireSilentSessions: false, endSessionOnDisconnect: false };
  if (defect === 'silent-version-mismatch') return { ...o, explicitVersionError: false };
  if (defect === 'trust-session-id') return { ...o, defects: { trustSessionId: true } };
  if (defect === 'allow-double-login') return { ...o, defects: { allowDoubleLogin: true } };
  return o;
}

/** Console lines worth a log line. */
const logged = new Set(['login', 'logout', 'expire', 'disconnect', 'refuse-login']);

interface State {
  ctx: PingSessions;
  /** sessions whose heartbeat timer runs (timer id = session id) */
  beating: string[];
}

const positive = (name: string, value: unknown): string | null =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? null : `${name} must be a positive number, got ${String(value)}`;

/**
 * The server for one run. Options: `heartbeatTimeoutMs` (default 30000), `accounts` (user1..userN
 * with passwords pass1..passN, default 2), `extraAccounts` (name -> password).
 */
export function pingServer(fixed: PingServerOptions, setup: ServerSetup): StreamServer<State, PingIn, PingOut> | { problem: string } {
  const heartbeatTimeoutMs = setup.options.heartbeatTimeoutMs ?? 30_000;
  const count = setup.options.accounts ?? 2;
  const problem = positive('heartbeatTimeoutMs', heartbeatTimeoutMs) ?? positive('accounts', count);
  if (problem !== null) return { problem };
  const options = pingRuleOptions(fixed, setup.limits.maxMessageChars, setup.defect);
  const accounts: Record<string, string> = {};
  for (let i = 1; i <= (count as number); i++) accounts[`user${i}`] = `pass${i}`;
  Object.assign(accounts, (setup.options.extraAccounts ?? {}) as Record<string, string>);

  function apply(state: State, patch: Partial<PingSessions>, effects: readonly PingEffect[], time: unknown = null): ServerStep<State, PingOut> {
    const ctx = { ...state.ctx, ...patch };
    const beating = new Set(state.beating);
    const out: ServerEffect<PingOut>[] = [];
    for (const e of effects) {
      if (e.type === 'alive') {
        if (!options.expireSilentSessions) continue;
        beating.add(e.session);
        out.push({ type: 'timer', id: e.session, afterMs: heartbeatTimeoutMs as number });
      } else if (e.type === 'send') out.push({ type: 'send', conn: e.params.to, out: pingOut(e.params.msg as PingReply, time) });
      else if (logged.has(String(e.params.data?.event))) out.push({ type: 'log', text: `ping-liveness: ${e.params.text}` });
    }
    for (const id of beating) {
      if (ctx.sessions[id] !== undefined) continue;
      beating.delete(id);
      out.push({ type: 'cancel', id });
    }
    return { state: { ctx, beating: [...beating] }, effects: out };
  }

  return {
    ...(setup.defect === readIsMessageDefect.name ? { readIsMessage: true } : {}),
    ...(setup.defect === keepClosedConnectionsDefect.name ? { keepClosedConnections: true } : {}),
    ...(setup.defect === keepConnectionBuffersDefect.name ? { keepConnectionBuffers: true } : {}),
    wire: {
      format: 'json-lines',
      decode: (line) => ({ request: decodePingLine(line) }),
      encode: (out) => encodePingMessage(out.mtype, out.payload),
      errorReply: (text) => ({ mtype: PingMtype.error, payload: { id: null, error_code: PingErrorCode.badRequest, message: text } }),
    },
    rules: {
      init: () => ({ ctx: { versions: [...pingSupportedVersions], accounts, sessions: {}, nextId: 1 }, beating: [] }),
      request(state, conn, line) {
        if (!('request' in line)) {
          return { state, effects: [{ type: 'send', conn, out: { mtype: PingMtype.error, payload: { id: wireIdOf(ownSession(state.ctx, conn) ?? ''), error_code: line.code, message: line.text } } }] };
        }
        const r = handleRequest(state.ctx, conn, line.request, options);
        return apply(state, r.patch, r.effects, line.time);
      },
      closed(state, conn) {
        const r = disconnect(state.ctx, conn, options);
        return apply(state, r.patch, r.effects);
      },
      timer(state, id) {
        const r = expire({ ...state.ctx }, [id], `no message within heartbeatTimeoutMs=${heartbeatTimeoutMs}; logged out`);
        return apply({ ...state, beating: state.beating.filter((s) => s !== id) }, r.patch, r.effects);
      },
    },
  };
}
