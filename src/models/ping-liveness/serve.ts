/**
 * The ping-liveness server's rules: pure functions from (the sessions, a connection, a request or a
 * connection event) to the next sessions and the effects. Both the model's server machine
 * (server.ts) and the reference server (src/servers/protocols/ping-liveness.ts) run exactly these
 * functions: one reading of the protocol. *When* a silent session is dropped is the host's clock
 * (the machine sweeps every `sweepMs`, the reference server runs a timer per session); *what*
 * happens then is `expire`, and what counts as being heard from is `alive` below.
 *
 * Readings decided when the model and the reference server were made one (they disagreed):
 *  - session ids: the rules number sessions `s1`, `s2`... over the server's life; on the wire the
 *    reference server writes the number (1, 2...). A wire id that is not such a number names no
 *    session;
 *  - a CHAT, PING or LOGOUT without an id (or with null; `''` here) acts on the connection's own
 *    session in the fixed rules: the session belongs to the connection, the id only restates it
 *    (the old model answered ERROR 1). An id naming another session is ERROR 1, never acted upon;
 *  - being heard from: in the fixed rules every message of the protocol from a connection keeps its
 *    session alive (docs/protocols.md: "drops a session it has not heard from"; the old model counted
 *    only CHAT and PING). The faithful rules keep alive only the session a CHAT or PING names;
 *  - ERROR ids: the connection's own session id where it has one (`''` otherwise), the claimed id
 *    for session errors; texts are the reference server's (docs/protocols.md fixes neither);
 *  - a chat message longer than the server's `maxMessageChars` is ERROR 4 (protosim's code: a
 *    limit); the model's variants have no such limit (docs/protocols.md has none);
 *  - the named defects of the reference server are options of these rules: `no-heartbeat-timeout`
 *    is `expireSilentSessions` and `endSessionOnDisconnect` off, `silent-version-mismatch` is
 *    `explicitVersionError` off, `trust-session-id` and `allow-double-login` are `PingDefects`.
 */
import type { PrintParams, SendParams } from '../types.js';
import { ErrorCode, type PingReply, type PingRequest } from './messages.js';

export interface Session {
  user: string;
  /** the node whose connection logged in */
  conn: string;
  /** sweeps since the client was last heard from (the machine's clock; the server keeps timers) */
  missed: number;
}

/** What the rules keep. */
export interface PingSessions {
  versions: string[];
  accounts: Record<string, string>;
  sessions: Record<string, Session>;
  nextId: number;
}

export interface PingLimits {
  /** longest chat message, in characters (code points) */
  maxMessageChars: number;
}

export interface PingDefects {
  /** trust-session-id: CHAT, PING and LOGOUT act on the session their id names, if there is one */
  trustSessionId?: boolean;
  /** allow-double-login: a user logged in elsewhere can log in again */
  allowDoubleLogin?: boolean;
}

export interface PingServerOptions {
  /** false in the seed's first proposal (no ping, no timeout) */
  expireSilentSessions: boolean;
  /** fixed: the session is the one this connection logged in, whatever `id` the message names */
  identityFromConnection: boolean;
  /** fixed: a version offer with nothing in common gets ERROR 5; no VERSION_RESPONSE follows it */
  explicitVersionError: boolean;
  /** fixed: a connection that resets or closes ends its session at once */
  endSessionOnDisconnect: boolean;
  /** default: none */
  limits?: PingLimits;
  defects?: PingDefects;
}

export type PingEffect =
  | { type: 'send'; params: SendParams }
  | { type: 'print'; params: PrintParams }
  /** session `session` was heard from: its heartbeat starts again */
  | { type: 'alive'; session: string };

export interface PingResult {
  patch: Partial<PingSessions>;
  effects: PingEffect[];
}

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

function without(sessions: Record<string, Session>, ids: readonly string[]): Record<string, Session> {
  const next: Record<string, Session> = {};
  for (const [id, s] of Object.entries(sessions)) if (!ids.includes(id)) next[id] = s;
  return next;
}

/** The session connection `conn` logged in, or null. */
export function ownSession(ctx: PingSessions, conn: string): string | null {
  return Object.keys(ctx.sessions).find((id) => ctx.sessions[id]!.conn === conn) ?? null;
}

interface Turn {
  ctx: PingSessions;
  conn: string;
  o: PingServerOptions;
  sessions: Record<string, Session>;
  effects: PingEffect[];
}

const send = (t: Turn, msg: PingReply): void => {
  t.effects.push({ type: 'send', params: { to: t.conn, msg } });
};

const error = (t: Turn, code: number, message: string, id = ownSession(t.ctx, t.conn) ?? ''): void => send(t, { type: 'ERROR', id, code, message });

/** Session `id` was heard from. */
function alive(t: Turn, id: string): void {
  const s = t.sessions[id];
  if (s === undefined) return;
  t.sessions = { ...t.sessions, [id]: { ...s, missed: 0 } };
  t.effects.push({ type: 'alive', session: id });
}

const done = (t: Turn, extra: Partial<PingSessions> = {}): PingResult => ({ patch: { ...(t.sessions === t.ctx.sessions ? {} : { sessions: t.sessions }), ...extra }, effects: t.effects });

/** The session a CHAT, PING or LOGOUT acts on, or null (ERROR 1). */
function sessionFor(t: Turn, claimed: string): string | null {
  const { ctx, conn, o } = t;
  if (o.defects?.trustSessionId && claimed !== '' && ctx.sessions[claimed]) return claimed;
  if (!o.identityFromConnection) return ctx.sessions[claimed] ? claimed : null;
  const own = ownSession(ctx, conn);
  return own !== null && (claimed === '' || claimed === own) ? own : null;
}

function negotiate(t: Turn, versions: readonly string[]): PingResult {
  const selected = versions.find((v) => t.ctx.versions.includes(v)) ?? null;
  if (selected !== null) {
    send(t, { type: 'VERSION_RESPONSE', selected, success: true });
    return done(t);
  }
  t.effects.push({ type: 'print', params: log(`no common version with ${t.conn} (offered ${versions.join(', ') || 'none'})`, { event: 'version-mismatch', by: t.conn }) });
  if (t.o.explicitVersionError) error(t, ErrorCode.unsupportedVersion, `no common version: offered ${JSON.stringify(versions)}, this server speaks ${t.ctx.versions.join(', ')}`);
  return done(t);
}

/** How the fixed server's refusal of a second login on one connection begins (the protocol does not fix that reply). */
export const reloginRefusal = 'this connection is already logged in';

function login(t: Turn, username: string, password: string): PingResult {
  const { ctx, conn, o } = t;
  const own = ownSession(ctx, conn);
  // One session per connection: the session is the connection's, so it cannot hold two.
  if (o.identityFromConnection && own !== null) {
    error(t, ErrorCode.loggedInElsewhere, `${reloginRefusal} as ${ctx.sessions[own]!.user}; log out first`);
    return done(t);
  }
  if (!Object.prototype.hasOwnProperty.call(ctx.accounts, username) || ctx.accounts[username] !== password) {
    send(t, { type: 'LOGIN_RESPONSE', auth: 1, id: '' });
    return done(t);
  }
  const holder = Object.entries(t.sessions).find(([, s]) => s.user === username);
  if (holder && !o.defects?.allowDoubleLogin) {
    t.effects.push({ type: 'print', params: log(`${username} refused: logged in from another location (${holder[0]} on ${holder[1].conn})`, { event: 'refuse-login', user: username, by: conn, owner: holder[1].conn }) });
    error(t, ErrorCode.loggedInElsewhere, `${username} is logged in from another location`, '');
    return done(t);
  }
  const id = `s${ctx.nextId}`;
  t.sessions = { ...t.sessions, [id]: { user: username, conn, missed: 0 } };
  t.effects.push({ type: 'print', params: log(`${username} logged in as ${id} on ${conn}`, { event: 'login', session: id, user: username, by: conn, owner: conn }) });
  t.effects.push({ type: 'alive', session: id });
  send(t, { type: 'LOGIN_RESPONSE', auth: 0, id });
  return done(t, { nextId: ctx.nextId + 1 });
}

function sessionMessage(t: Turn, req: Extract<PingRequest, { type: 'CHAT' | 'PING' | 'LOGOUT' }>): PingResult {
  const id = sessionFor(t, req.id);
  if (id === null) {
    error(t, ErrorCode.sessionNotFound, ownSession(t.ctx, t.conn) === null ? 'not logged in' : `session ${JSON.stringify(req.id)} not found on this connection`, req.id);
    return done(t);
  }
  const s = t.ctx.sessions[id]!;
  if (req.type === 'LOGOUT') {
    t.sessions = without(t.sessions, [id]);
    t.effects = t.effects.filter((e) => !(e.type === 'alive' && e.session === id));
    t.effects.push({ type: 'print', params: log(`${s.user} (${id}) logged out by ${t.conn}`, { event: 'logout', session: id, user: s.user, by: t.conn, owner: s.conn }) });
    return done(t);
  }
  alive(t, id);
  if (req.type === 'PING') {
    // Only a foreign ping is worth a console line; a client's own pings would flood it.
    if (s.conn !== t.conn) t.effects.push({ type: 'print', params: log(`ping for ${id} (${s.user}) from ${t.conn}`, { event: 'ping', session: id, user: s.user, by: t.conn, owner: s.conn }) });
    return done(t);
  }
  const max = t.o.limits?.maxMessageChars ?? Number.POSITIVE_INFINITY;
  if ([...req.message].length > max) {
    error(t, ErrorCode.refused, `message longer than maxMessageChars=${max}`);
    return done(t);
  }
  t.effects.push({ type: 'print', params: log(`${s.user} (${id}) says ${JSON.stringify(req.message)}`, { event: 'chat', session: id, user: s.user, by: t.conn, owner: s.conn }) });
  send(t, { type: 'CHAT', id, message: req.message });
  return done(t);
}

/** The server's answer to one request from connection `conn`. */
export function handleRequest(ctx: PingSessions, conn: string, req: PingRequest, o: PingServerOptions): PingResult {
  const t: Turn = { ctx, conn, o, sessions: ctx.sessions, effects: [] };
  // Fixed: any message of the protocol from a connection shows its session is alive.
  const own = o.identityFromConnection ? ownSession(ctx, conn) : null;
  if (own !== null) alive(t, own);
  switch (req.type) {
    case 'VERSION_REQUEST':
      return negotiate(t, req.versions);
    case 'LOGIN_REQUEST':
      return login(t, req.username, req.password);
    default:
      return sessionMessage(t, req);
  }
}

/** Connection `conn` is gone: (fixed) its sessions end, with a console line each. */
export function disconnect(ctx: PingSessions, conn: string, o: PingServerOptions): PingResult {
  if (!o.endSessionOnDisconnect) return { patch: {}, effects: [] };
  const ids = Object.keys(ctx.sessions).filter((id) => ctx.sessions[id]!.conn === conn);
  if (ids.length === 0) return { patch: {}, effects: [] };
  const effects: PingEffect[] = ids.map((id) => {
    const user = ctx.sessions[id]!.user;
    return { type: 'print', params: log(`${user} (${id}) disconnected`, { event: 'disconnect', session: id, user, owner: conn }) };
  });
  return { patch: { sessions: without(ctx.sessions, ids) }, effects };
}

/** Sessions `ids` were silent too long: each is dropped and its connection told (ERROR 2), which stays open. */
export function expire(ctx: PingSessions, ids: readonly string[], why: string): PingResult {
  const effects: PingEffect[] = [];
  for (const id of ids) {
    const s = ctx.sessions[id];
    if (s === undefined) continue;
    effects.push({ type: 'print', params: log(`session ${id} (${s.user}) timed out`, { event: 'expire', session: id, user: s.user, owner: s.conn }) });
    effects.push({ type: 'send', params: { to: s.conn, msg: { type: 'ERROR', id, code: ErrorCode.timeout, message: why } } });
  }
  return { patch: { sessions: without(ctx.sessions, ids) }, effects };
}
