/**
 * ping-liveness counterexamples replayed on live client programs (`protosim replay TRACE --adapter`):
 * protosim plays the server (its reference server: the fixed rules, identity from the connection,
 * a session ended when its connection closes or falls silent past the timeout, ERROR 5 for a version
 * offer with nothing in common), and the programs are driven as the trace's people.
 *
 * - A model client's program goes by its node id (`c1`, `c1b`, `mallory`), or `<id>-<N>` when the
 *   account its lines log in to is `user<N>` and the id's number is another: the adapters log in with
 *   `user{index}`/`pass{index}`, `{index}` being the number that ends the name. The trace's login
 *   lines are what the adapter's login types; a login line for another account (`mallory`, a wrong
 *   password) is one the program cannot be made to type (the replay leaves the trace there, saying so).
 * - `!quit` is quitting as the adapter says; the tampered client's `!as <id> ...` and `!logout <id>`
 *   (a message naming another session) are nothing a client program can be made to send;
 *   every other line is a chat line.
 * - Messages are matched by what they do: a version offer (with or without the server's version),
 *   a login as whom, a chat or echo with what text, a ping, a logout, an error by code. Session ids
 *   are left out (the live server numbers sessions by its own life), and so are the exact versions a
 *   program offers as long as the server's is among them (a client offering 1.1.0 and 1.0.0
 *   negotiates as one offering 1.0.0).
 *
 * Live checks (on what the programs sent, were written and showed). protosim's server is correct,
 * so each can break only by a program's doing, and the flaws the model finds are its server's
 * (docs/clients.md, "Chat protocols"): the live run leaves the trace where the fixed server parts
 * from the seed's, and the verdict is NOT REPRODUCED there.
 * - `one-session-per-user`: two running programs both logged in as one user (a double login);
 * - `session-bound-to-connection`: a program's chat naming a session it was not given was echoed
 *   to it, or a program sent LOGOUT naming another program's session and that program was then told
 *   its session was not found;
 *
 * `lockout-ends-within-bound` has no live check: it is about how long a killed client's session
 * stays, and the live run does not keep the trace's clock (it goes step by step, as fast as the
 * programs go). A refusal right after a kill is a correct server that has not yet heard of the
 * close, or is still within its heartbeat timeout (the close waits at the program's proxy while a
 * message it sent after its last one in the trace is held there: a kill that looks silent to the
 * server), not a lock-out past the bound; the replay says the property cannot show on programs.
 *
 * What a program does that the model's client rules out (DIVERGED) is ./client-ruled-out.ts's.
 */
import type { ClientReplayMapping, LiveClientsView } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import { withoutComment } from './client.js';
import { pingLivenessRuledOut } from './client-ruled-out.js';
import type { PingMessage } from './messages.js';
import { decodePingLine, PingErrorCode, PingMtype, pingSupportedVersions, sessionIdOfWire } from './wire.js';

const ping = (m: ProtocolMessage): PingMessage => m as unknown as PingMessage;
const serverVersion = pingSupportedVersions[0];

const errorWords: Record<number, string> = {
  [PingErrorCode.sessionNotFound]: 'session not found',
  [PingErrorCode.timeout]: 'timed out',
  [PingErrorCode.loggedInElsewhere]: 'logged in elsewhere',
  [PingErrorCode.badRequest]: 'bad request',
  [PingErrorCode.unsupportedVersion]: 'unsupported version',
};

function effect(msg: ProtocolMessage): string {
  const m = ping(msg);
  switch (m.type) {
    case 'VERSION_REQUEST':
      return m.versions.includes(serverVersion) ? `VERSION_REQUEST (${serverVersion} among the versions)` : `VERSION_REQUEST without ${serverVersion}: ${JSON.stringify(m.versions)}`;
    case 'VERSION_RESPONSE':
      return m.success ? `VERSION_RESPONSE ${m.selected}` : 'VERSION_RESPONSE no common version';
    case 'LOGIN_REQUEST':
      return `LOGIN_REQUEST ${m.username}/${m.password}`;
    case 'LOGIN_RESPONSE':
      return m.auth === 0 ? 'LOGIN_RESPONSE ok' : 'LOGIN_RESPONSE bad credentials';
    case 'CHAT':
      return `CHAT ${JSON.stringify(m.message)}`;
    case 'ERROR':
      return `ERROR ${m.code} (${errorWords[m.code] ?? 'unknown code'})`;
    case 'LOGOUT':
    case 'PING':
      return m.type;
    default:
      return String((m as { type?: unknown }).type);
  }
}

/** A wire message of either direction as the model's (the server's replies by mtype; requests as the server reads them). */
function messageOfWire(wire: unknown): ProtocolMessage | null {
  const w = (wire ?? {}) as Record<string, unknown>;
  const p = (typeof w.payload === 'object' && w.payload !== null ? w.payload : {}) as Record<string, unknown>;
  const id = (v: unknown): string => sessionIdOfWire(v);
  let m: PingMessage | null = null;
  if (w.mtype === PingMtype.versionResponse) m = { type: 'VERSION_RESPONSE', selected: typeof p.selected_version === 'string' ? p.selected_version : null, success: p.success === true };
  else if (w.mtype === PingMtype.loginResponse) m = { type: 'LOGIN_RESPONSE', auth: p.auth === 0 ? 0 : 1, id: p.auth === 0 ? id(p.id) : '' };
  else if (w.mtype === PingMtype.error) m = { type: 'ERROR', id: id(p.id), code: typeof p.error_code === 'number' ? p.error_code : 0, message: typeof p.message === 'string' ? p.message : '' };
  else if (w.mtype === PingMtype.chatMessage) m = { type: 'CHAT', id: id(p.id), message: typeof p.message === 'string' ? p.message : '' };
  else {
    const read = decodePingLine(JSON.stringify(w));
    if ('request' in read) m = read.request;
  }
  return m as unknown as ProtocolMessage | null;
}

/** The number that ends a name, as adapters read `{index}` (`c1b`: none, so 1). */
const indexOf = (name: string): string => /(\d+)$/.exec(name)?.[1] ?? '1';

/**
 * The lines each program's trace node typed at its login prompts, by live name: `liveName` is asked
 * for every node of a trace before any line is typed, and `typing` reads them (the line alone does
 * not say whether it answers `Username: ` or `> `).
 */
const loginLines = new Map<string, ReadonlySet<string>>();

/** The lines typed at the login prompts: the first two, and a later one naming a design account (a retry). */
function loginLinesOf(lines: readonly string[]): Set<string> {
  const out = new Set(lines.slice(0, 2));
  for (const l of lines) if (/^(user|pass)\d+$/.test(withoutComment(l))) out.add(l);
  return out;
}

function liveName(node: { id: string; lines?: readonly string[] }): string {
  const lines = node.lines ?? [];
  const user = /^user(\d+)$/.exec(withoutComment(lines[0] ?? ''))?.[1];
  const name = user === undefined || indexOf(node.id) === user ? node.id : `${node.id}-${user}`;
  loginLines.set(name, loginLinesOf(lines));
  return name;
}

function typing(line: string, self: string): ReturnType<ClientReplayMapping['typing']> {
  if (line.trim() === '!quit') return 'quit';
  const tampered = /^!(as|logout)\s+(\S+)/.exec(line);
  if (tampered !== null) return { cannot: `send a ${tampered[1] === 'as' ? 'chat message' : 'LOGOUT'} naming session ${tampered[2]} (${JSON.stringify(line)}: the model's tampered client; a client program names its own session)` };
  if (loginLines.get(self)?.has(line) === true) {
    const typed = withoutComment(line);
    const n = indexOf(self);
    if (typed === `user${n}` || typed === `pass${n}`) return []; // the adapter's login typed it
    return { cannot: `type ${JSON.stringify(typed)} at its login (the adapter's login types user${n} and pass${n})` };
  }
  return [{ to: '', text: line }];
}

// ---- the live checks ----------------------------------------------------------------------------

interface Logins {
  /** the users it logged in as (accepted), in order, with the session ids it was given */
  accepted: { user: string; id: string }[];
  /** whether it is logged in now, as whom */
  current: string | null;
}

/** A program's logins, from what it sent and was written (one login in flight: answers pair with requests in order). */
function loginsOf(sent: readonly ProtocolMessage[], received: readonly ProtocolMessage[], running: boolean): Logins {
  const requests = sent.map(ping).filter((m) => m.type === 'LOGIN_REQUEST');
  const answers = received.map(ping).filter((m) => m.type === 'LOGIN_RESPONSE' || (m.type === 'ERROR' && m.code === PingErrorCode.loggedInElsewhere));
  const out: Logins = { accepted: [], current: null };
  answers.forEach((a, i) => {
    const req = requests[i];
    if (req?.type !== 'LOGIN_REQUEST') return;
    if (a.type === 'LOGIN_RESPONSE' && a.auth === 0) out.accepted.push({ user: req.username, id: a.id });
  });
  const own = new Set(out.accepted.map((a) => a.id));
  const ends = sent.map(ping).filter((m) => m.type === 'LOGOUT' && (m.id === '' || own.has(m.id))).length + received.map(ping).filter((m) => m.type === 'ERROR' && m.code === PingErrorCode.timeout).length;
  if (running && out.accepted.length > ends) out.current = out.accepted[out.accepted.length - 1]!.user;
  return out;
}

function allLogins(view: LiveClientsView): Map<string, Logins> {
  const out = new Map<string, Logins>();
  for (const [name, sent] of view.sent) out.set(name, loginsOf(sent, view.received.get(name) ?? [], view.running.has(name)));
  return out;
}

function doubleLogin(view: LiveClientsView): string | null {
  const holders = new Map<string, string[]>();
  for (const [name, l] of allLogins(view)) if (l.current !== null) holders.set(l.current, [...(holders.get(l.current) ?? []), name]);
  const twice = [...holders].find(([, names]) => names.length > 1);
  return twice === undefined ? null : `${twice[1].join(' and ')} are both logged in as ${twice[0]}: the server let a user log in a second time`;
}

function foreignSession(view: LiveClientsView): string | null {
  const logins = allLogins(view);
  const owner = new Map<string, string>();
  for (const [name, l] of logins) for (const a of l.accepted) owner.set(a.id, name);
  for (const [name, sent] of view.sent) {
    const own = new Set(logins.get(name)?.accepted.map((a) => a.id));
    const received = (view.received.get(name) ?? []).map(ping);
    for (const m of sent.map(ping)) {
      if ((m.type !== 'CHAT' && m.type !== 'LOGOUT') || m.id === '' || own.has(m.id)) continue;
      if (m.type === 'CHAT' && received.some((r) => r.type === 'CHAT' && r.message === m.message && !own.has(r.id))) {
        return `${name} chatted in session ${m.id}${owner.has(m.id) ? ` (${owner.get(m.id)}'s)` : ''}, not its own, and the server echoed it: the server took the session from the message's id`;
      }
      const victim = owner.get(m.id);
      if (m.type === 'LOGOUT' && victim !== undefined && (view.received.get(victim) ?? []).map(ping).some((r) => r.type === 'ERROR' && r.code === PingErrorCode.sessionNotFound)) {
        return `${name} sent LOGOUT naming ${victim}'s session ${m.id}, and ${victim} was then told its session was not found: the server took the session from the message's id`;
      }
    }
  }
  return null;
}

/** The chat texts its person's lines send (login lines, `!quit` and the tampered client's commands send none). */
function chatTexts(typed: readonly string[], self: string): string[] {
  return typed.flatMap((line) => {
    const t = typing(line, self);
    return Array.isArray(t) ? t.map((m) => m.text) : [];
  });
}

export const pingLivenessClientReplay: ClientReplayMapping = {
  liveName,
  typing,
  messageOfWire,
  effect,
  live: {
    'one-session-per-user': doubleLogin,
    'session-bound-to-connection': foreignSession,
  },
  ruledOut: pingLivenessRuledOut(chatTexts),
};
