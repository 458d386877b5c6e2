/**
 * The ping-liveness server (seed 002, PROTOCOLS.md section 3). One machine serves every client
 * connection; a session is `{ user, conn, missed }`, keyed by its id.
 *
 * Readings the seed leaves open, and the ones taken here:
 *  - Session ids are a counter (`s1`, `s2`...): deterministic, and no easier to guess than the
 *    seed's, which are sent in the clear in every message anyway.
 *  - The seed's server takes the session from the `id` field of CHAT, LOGOUT and PING (its PDU
 *    carries the id for exactly that purpose): `identityFromConnection: false`.
 *  - The seed never says what the server does with a version offer it cannot meet; its README only
 *    says to "comment/uncomment" the negotiation code to try it. The faithful server answers only
 *    when it found a common version, so a client offering none waits in silence.
 *  - The ping: clients ping every 10 s; the seed gives no server timeout, so the model takes 30 s
 *    (three pings), checked by a sweep every 10 s: a session whose client said nothing for more
 *    than two sweeps is dropped with ERROR 2. The seed's first proposal had no ping at all (the
 *    `no-ping` variant: `expireSilentSessions: false`).
 *  - The seed runs over QUIC, where a killed process sends nothing the server notices, so the
 *    faithful server ignores connection resets; the fixed one (over TCP) ends the session at once.
 *
 * Every decision is also logged to the server console (`print` kind `status` with `data.event`), the
 * way a course server prints what it does; history properties read those lines.
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { ErrorCode, type PingRequest } from './messages.js';

export interface Session {
  user: string;
  /** the node whose connection logged in */
  conn: string;
  /** sweeps since the client was last heard from */
  missed: number;
}

export interface PingServerContext {
  versions: string[];
  accounts: Record<string, string>;
  sessions: Record<string, Session>;
  nextId: number;
  sweepMs: number;
  /** a session is dropped at the sweep after more than this many silent sweeps */
  maxMissedSweeps: number;
  /** the promise made to a user whose client died: the lock-out ends within this (for checks) */
  lockoutBoundMs: number;
}

export interface PingServerOptions {
  /** false in the seed's first proposal (no ping, no timeout) */
  expireSilentSessions: boolean;
  /** fixed: the session is the one this connection logged in, whatever `id` the message names */
  identityFromConnection: boolean;
  /** fixed: a version offer with nothing in common gets ERROR 5 and a failed VERSION_RESPONSE */
  explicitVersionError: boolean;
  /** fixed: a connection that resets or closes ends its session at once */
  endSessionOnDisconnect: boolean;
}

type ServerEvent =
  | (PingRequest & { from: string })
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

type SessionMessage = Extract<PingRequest, { type: 'CHAT' | 'LOGOUT' | 'PING' }> & { from: string };

/** The session a CHAT/LOGOUT/PING acts on, or null: by id (faithful) or by connection (fixed). */
function sessionFor(ctx: PingServerContext, event: SessionMessage, byConnection: boolean): string | null {
  if (!byConnection) return ctx.sessions[event.id] ? event.id : null;
  const own = Object.keys(ctx.sessions).find((id) => ctx.sessions[id]!.conn === event.from) ?? null;
  return own !== null && own === event.id ? own : null;
}

function without(sessions: Record<string, Session>, ids: readonly string[]): Record<string, Session> {
  const next: Record<string, Session> = {};
  for (const [id, s] of Object.entries(sessions)) if (!ids.includes(id)) next[id] = s;
  return next;
}

/** The fixed server's handling of a lost connection: its sessions end, with a console line each. */
function endSessionsOf(
  context: PingServerContext,
  peer: string,
  enqueue: { assign(a: Partial<PingServerContext>): void; (action: { type: 'print'; params: PrintParams }): void },
): void {
  const ids = Object.keys(context.sessions).filter((id) => context.sessions[id]!.conn === peer);
  if (ids.length === 0) return;
  enqueue.assign({ sessions: without(context.sessions, ids) });
  for (const id of ids) {
    const user = context.sessions[id]!.user;
    enqueue({ type: 'print', params: log(`${user} (${id}) disconnected`, { event: 'disconnect', session: id, user, owner: peer }) });
  }
}

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

export function createPingServer(options: PingServerOptions) {
  return setup({
    types: {
      context: {} as PingServerContext,
      events: {} as ServerEvent,
      input: {} as { versions?: string[]; accounts?: Record<string, string>; sweepMs?: number; sessionTimeoutMs?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
    guards: {
      hasSessions: ({ context }) => Object.keys(context.sessions).length > 0,
      noSessions: ({ context }) => Object.keys(context.sessions).length === 0,
    },
    delays: {
      sweep: ({ context }) => context.sweepMs,
    },
  }).createMachine({
    id: 'ping-liveness-server',
    context: ({ input }) => {
      const sweepMs = input.sweepMs ?? 10_000;
      const timeoutMs = input.sessionTimeoutMs ?? 30_000;
      const maxMissedSweeps = Math.max(1, Math.ceil(timeoutMs / sweepMs) - 1);
      return {
        versions: input.versions ?? ['1.0.0'],
        accounts: input.accounts ?? { user1: 'pass1', user2: 'pass2' },
        sessions: {},
        nextId: 1,
        sweepMs,
        maxMissedSweeps,
        // The last sweep that can drop a dead client's session comes (maxMissed + 1) sweeps after
        // it was last heard; one more second covers the network.
        lockoutBoundMs: (maxMissedSweeps + 1) * sweepMs + 1000,
      };
    },
    initial: 'serving',
    states: {
      serving: {
        tags: ['server'],
        initial: 'quiet',
        states: {
          // The sweep runs only while there are sessions, so an idle server lets the run settle.
          quiet: { always: { guard: 'hasSessions', target: 'sweeping' } },
          sweeping: {
            always: { guard: 'noSessions', target: 'quiet' },
            after: options.expireSilentSessions
              ? {
                  sweep: {
                    target: 'sweeping',
                    reenter: true,
                    actions: enqueueActions(({ context, enqueue }) => {
                      const expired: string[] = [];
                      const sessions: Record<string, Session> = {};
                      for (const [id, s] of Object.entries(context.sessions)) {
                        const missed = s.missed + 1;
                        if (missed > context.maxMissedSweeps) expired.push(id);
                        else sessions[id] = { ...s, missed };
                      }
                      enqueue.assign({ sessions });
                      for (const id of expired) {
                        const s = context.sessions[id]!;
                        enqueue({ type: 'print', params: log(`session ${id} (${s.user}) timed out`, { event: 'expire', session: id, user: s.user, owner: s.conn }) });
                        enqueue({ type: 'send', params: { to: s.conn, msg: { type: 'ERROR', id, code: ErrorCode.timeout, message: 'session timed out' } } });
                      }
                    }),
                  },
                }
              : {},
          },
        },
        on: {
          VERSION_REQUEST: { actions: enqueueActions(({ context, event, enqueue }) => {
            const selected = event.versions.find((v) => context.versions.includes(v)) ?? null;
            if (selected !== null) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'VERSION_RESPONSE', selected, success: true } } });
              return;
            }
            enqueue({ type: 'print', params: log(`no common version with ${event.from} (offered ${event.versions.join(', ') || 'none'})`, { event: 'version-mismatch', by: event.from }) });
            if (options.explicitVersionError) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'ERROR', id: '', code: ErrorCode.unsupportedVersion, message: `unsupported version; this server speaks ${context.versions.join(', ')}` } } });
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'VERSION_RESPONSE', selected: null, success: false } } });
            }
          }) },
          LOGIN_REQUEST: { actions: enqueueActions(({ context, event, enqueue }) => {
            if (context.accounts[event.username] !== event.password) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'LOGIN_RESPONSE', auth: 1, id: '' } } });
              return;
            }
            const holder = Object.entries(context.sessions).find(([, s]) => s.user === event.username);
            if (holder) {
              enqueue({ type: 'print', params: log(`${event.username} refused: logged in from another location (${holder[0]} on ${holder[1].conn})`, { event: 'refuse-login', user: event.username, by: event.from, owner: holder[1].conn }) });
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'ERROR', id: '', code: ErrorCode.loggedInElsewhere, message: 'logged in from another location' } } });
              return;
            }
            const id = `s${context.nextId}`;
            enqueue.assign({
              nextId: context.nextId + 1,
              sessions: { ...context.sessions, [id]: { user: event.username, conn: event.from, missed: 0 } },
            });
            enqueue({ type: 'print', params: log(`${event.username} logged in as ${id} on ${event.from}`, { event: 'login', session: id, user: event.username, by: event.from, owner: event.from }) });
            enqueue({ type: 'send', params: { to: event.from, msg: { type: 'LOGIN_RESPONSE', auth: 0, id } } });
          }) },
          CHAT: { actions: enqueueActions(({ context, event, enqueue }) => {
            const id = sessionFor(context, event, options.identityFromConnection);
            if (id === null) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'ERROR', id: event.id, code: ErrorCode.sessionNotFound, message: 'session not found' } } });
              return;
            }
            const s = context.sessions[id]!;
            enqueue.assign({ sessions: { ...context.sessions, [id]: { ...s, missed: 0 } } });
            enqueue({ type: 'print', params: log(`${s.user} (${id}) says ${JSON.stringify(event.message)}`, { event: 'chat', session: id, user: s.user, by: event.from, owner: s.conn }) });
            enqueue({ type: 'send', params: { to: event.from, msg: { type: 'CHAT', id, message: event.message } } });
          }) },
          PING: { actions: enqueueActions(({ context, event, enqueue }) => {
            const id = sessionFor(context, event, options.identityFromConnection);
            if (id === null) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'ERROR', id: event.id, code: ErrorCode.sessionNotFound, message: 'session not found' } } });
              return;
            }
            const s = context.sessions[id]!;
            enqueue.assign({ sessions: { ...context.sessions, [id]: { ...s, missed: 0 } } });
            if (s.conn !== event.from) {
              // Only a foreign ping is worth a console line; a client's own pings would flood it.
              enqueue({ type: 'print', params: log(`ping for ${id} (${s.user}) from ${event.from}`, { event: 'ping', session: id, user: s.user, by: event.from, owner: s.conn }) });
            }
          }) },
          LOGOUT: { actions: enqueueActions(({ context, event, enqueue }) => {
            const id = sessionFor(context, event, options.identityFromConnection);
            if (id === null) {
              enqueue({ type: 'send', params: { to: event.from, msg: { type: 'ERROR', id: event.id, code: ErrorCode.sessionNotFound, message: 'session not found' } } });
              return;
            }
            const s = context.sessions[id]!;
            enqueue.assign({ sessions: without(context.sessions, [id]) });
            enqueue({ type: 'print', params: log(`${s.user} (${id}) logged out by ${event.from}`, { event: 'logout', session: id, user: s.user, by: event.from, owner: s.conn }) });
          }) },
          'conn.reset': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.endSessionOnDisconnect) endSessionsOf(context, event.peer, enqueue);
            }),
          },
          'conn.closed': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.endSessionOnDisconnect) endSessionsOf(context, event.peer, enqueue);
            }),
          },
        },
      },
    },
  });
}
