/**
 * What a ping-liveness client program can do that the model's client role rules out (a replay on
 * client programs says DIVERGED). The client (docs/protocols.md, ping-liveness; ./client.ts) offers
 * its versions first and sends nothing else until a VERSION_RESPONSE accepts one; then it logs in,
 * one login at a time, and again only after a refusal, a timeout or a logout; in its session it
 * chats what its person types, pings and logs out, naming the session the server gave it; its
 * LOGOUT is the last thing it sends on the connection. So, on one connection:
 *
 * - a LOGIN_REQUEST, CHAT, PING or LOGOUT before a VERSION_RESPONSE accepting its offer was written to it;
 * - a LOGIN_REQUEST while its previous one is unanswered, or while it is logged in (the last
 *   answer to its login accepted it, and it has neither logged out nor been told it timed out);
 * - a CHAT, PING or LOGOUT before any LOGIN_RESPONSE accepted it;
 * - a CHAT, PING or LOGOUT naming a session the server never gave it (the model's tampered client,
 *   `!as`/`!logout`, is the one that does, and no program is made to play it);
 * - a CHAT whose text its person never typed (nor a whole line typed into it: its login lines);
 * - anything after its LOGOUT;
 * - an echo shown (a message line) whose text was never echoed to it.
 *
 * Left open (never judged): another VERSION_REQUEST, a ping at any moment of a session, a session
 * id left out (the server takes the session from the connection), a chat sent before the echo of
 * the one before, a message sent after a timeout the program may not have read yet, the wording of
 * what it shows.
 */
import type { ClientRuledOut, LiveClientsView, LiveProgramHistory, RuledOut } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import type { PingMessage } from './messages.js';
import { PingErrorCode } from './wire.js';

const ping = (m: ProtocolMessage): PingMessage => m as unknown as PingMessage;
const requestTypes = new Set(['VERSION_REQUEST', 'LOGIN_REQUEST', 'CHAT', 'LOGOUT', 'PING']);

/** A session id as the server's, whatever JSON type the program wrote it in (`?"2"` is `s2`). */
function normalId(id: string): string {
  const n = /^\?"([1-9]\d*)"$/.exec(id)?.[1];
  return n === undefined ? id : `s${n}`;
}

function describe(m: PingMessage): string {
  switch (m.type) {
    case 'LOGIN_REQUEST':
      return `LOGIN_REQUEST ${m.username}`;
    case 'CHAT':
      return `CHAT ${JSON.stringify(m.message)}${m.id ? ` in session ${m.id}` : ''}`;
    case 'LOGOUT':
    case 'PING':
      return `${m.type}${m.id ? ` of session ${m.id}` : ''}`;
    default:
      return m.type;
  }
}

interface SessionState {
  versionAccepted: boolean;
  /** the ids of the sessions the server gave it */
  given: Set<string>;
  /** logged in now, as whom, in which session (a timeout written to it ends it: it may have read it) */
  current: { user: string; id: string } | null;
  /** its last LOGIN_REQUEST, unanswered */
  pending: string | null;
}

/** Where the model's client would be, from the program's conversation so far. */
function stateOf(program: LiveProgramHistory): SessionState {
  const s: SessionState = { versionAccepted: false, given: new Set(), current: null, pending: null };
  for (const e of program.log) {
    const m = ping(e.msg);
    if (e.sent && m.type === 'LOGIN_REQUEST') s.pending = m.username;
    else if (!e.sent && m.type === 'VERSION_RESPONSE' && m.success) s.versionAccepted = true;
    else if (!e.sent && m.type === 'LOGIN_RESPONSE') {
      if (m.auth === 0) {
        s.given.add(m.id);
        if (s.pending !== null) s.current = { user: s.pending, id: m.id };
      }
      s.pending = null;
    } else if (!e.sent && m.type === 'ERROR') {
      if (s.pending !== null) s.pending = null; // an error answers a login
      else if (m.code === PingErrorCode.timeout) s.current = null;
    }
  }
  return s;
}

function login(m: PingMessage & { type: 'LOGIN_REQUEST' }, s: SessionState): RuledOut | null {
  if (s.pending !== null) return { did: `sent ${describe(m)} before the server answered its LOGIN_REQUEST ${s.pending}`, allowed: 'waits for the answer to its login' };
  if (s.current !== null) return { did: `sent ${describe(m)} while logged in as ${s.current.user} (session ${s.current.id})`, allowed: 'logs in again only after a refusal, a timeout or a logout' };
  return null;
}

/** What a chat line of its person's would send (the package's typing: login lines and commands are none). */
export type ChatTexts = (typed: readonly string[], self: string) => string[];

type SessionMessage = Extract<PingMessage, { type: 'CHAT' | 'PING' | 'LOGOUT' }>;

function inSession(m: SessionMessage, s: SessionState, program: LiveProgramHistory, chatTexts: ChatTexts): RuledOut | null {
  if (s.given.size === 0) return { did: `sent ${describe(m)} before it was logged in (no LOGIN_RESPONSE accepting it was written to it)`, allowed: 'chats, pings and logs out only in a session the server gave it' };
  if (m.id !== '' && !s.given.has(normalId(m.id))) return { did: `sent ${describe(m)}, a session the server never gave it`, allowed: `names its own session (${[...s.given].join(', ')})` };
  if (m.type !== 'CHAT') return null;
  const texts = chatTexts(program.typed, program.name);
  if (texts.includes(m.message) || program.keyed.includes(m.message.trim())) return null;
  const shown = texts.slice(-4).map((t) => JSON.stringify(t));
  return { did: `sent ${describe(m)}, which its person never typed`, allowed: `chats exactly the lines its person types (${shown.length > 0 ? `typed so far: ${texts.length > 4 ? '..., ' : ''}${shown.join(', ')}` : 'none typed so far'})` };
}

function send(msg: ProtocolMessage, program: LiveProgramHistory, chatTexts: ChatTexts): RuledOut | null {
  const m = ping(msg);
  if (!requestTypes.has(m.type)) return null; // a message protosim could not read: not judged
  const logout = program.log.find((e) => e.sent && ping(e.msg).type === 'LOGOUT');
  if (logout !== undefined) return { did: `sent ${describe(m)} after its ${describe(ping(logout.msg))}`, allowed: 'sends nothing after its LOGOUT (it quits)' };
  if (m.type === 'VERSION_REQUEST') return null;
  const s = stateOf(program);
  if (!s.versionAccepted) return { did: `sent ${describe(m)} before a VERSION_RESPONSE accepted its version offer`, allowed: 'offers its versions (VERSION_REQUEST) and sends nothing else until one is accepted' };
  return m.type === 'LOGIN_REQUEST' ? login(m, s) : inSession(m as SessionMessage, s, program, chatTexts);
}

/** An echo shown (a message line, not a refusal) whose text was never echoed to it. */
function shown(name: string, view: LiveClientsView): RuledOut | null {
  const received = (view.received.get(name) ?? []).map(ping);
  if (!received.every((m) => ['VERSION_RESPONSE', 'LOGIN_RESPONSE', 'CHAT', 'ERROR'].includes(m.type))) return null; // something protosim could not read
  const echoes = new Set(received.flatMap((m) => (m.type === 'CHAT' ? [m.message.trim()] : [])));
  for (const line of view.shown.get(name) ?? []) {
    if (line.refused === true || echoes.has(line.text.trim())) continue;
    return { did: `showed the echo ${JSON.stringify(line.text)}, which was never written to it`, allowed: 'shows an echo when the server writes one to it' };
  }
  return null;
}

/** The rules, with how the package reads its person's chat lines. */
export function pingLivenessRuledOut(chatTexts: ChatTexts): ClientRuledOut {
  return { send: (msg, program) => send(msg, program, chatTexts), shown };
}
