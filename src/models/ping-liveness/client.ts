/**
 * The ping-liveness client (seed 002): negotiate a version, log in, chat (every line is echoed),
 * ping every 10 s while logged in.
 *
 * What the person types (the workload's `messages`), by prompt:
 *  - `Username: ` and `Password: `: the line is the user name, then the password (a trailing
 *    ` # comment` is dropped, so that a second login can be written as a distinct line);
 *  - `> `: a chat line, or one of the commands
 *      `!quit`               log out and exit (the seed client's quit);
 *      `!as <id> <text>`     a tampered client: chat naming session `<id>` instead of its own;
 *      `!logout <id>`        a tampered client: send LOGOUT naming session `<id>`, and stay.
 * Node params: `versions` (the versions offered, default `["1.0.0"]`), `pingIntervalMs` (10000).
 *
 * Readings: a refused login (bad password, or logged in from another location) asks for the user
 * name again; ERROR 2 (timed out) ends the session and asks again too; ERROR 1 (session not found)
 * is shown and the client goes on. Ctrl-C (`user.quit`) kills the faithful program without a
 * LOGOUT, which is the case the seed's ping was added for; the fixed client logs out first.
 */
import { assign, enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { ErrorCode, type PingReply } from './messages.js';

export interface PingClientContext {
  self: string;
  server: string;
  versions: string[];
  pingIntervalMs: number;
  user: string;
  password: string;
  /** the session id the server gave at login; '' when not logged in */
  sessionId: string;
}

export interface PingClientOptions {
  /** ping every `pingIntervalMs` while logged in (the seed's update) */
  pings: boolean;
  /** Ctrl-C sends LOGOUT before the program ends (fixed) */
  logoutOnQuit: boolean;
}

type ClientEvent =
  | (PingReply & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

/** A chat line parsed from what the person typed. */
type ChatCommand = { kind: 'quit' } | { kind: 'chat'; id: string | null; text: string } | { kind: 'logout'; id: string };

export function parseChatLine(text: string): ChatCommand {
  if (text.trim() === '!quit') return { kind: 'quit' };
  const as = /^!as\s+(\S+)\s?(.*)$/s.exec(text);
  if (as) return { kind: 'chat', id: as[1]!, text: as[2]! };
  const logout = /^!logout\s+(\S+)\s*$/.exec(text);
  if (logout) return { kind: 'logout', id: logout[1]! };
  return { kind: 'chat', id: null, text };
}

/**
 * Credentials may carry a trailing comment (` # again after the restart`): workload lines must be
 * distinct, and a person who logs in twice types the same name twice.
 */
export function withoutComment(text: string): string {
  const at = text.indexOf(' #');
  return (at >= 0 ? text.slice(0, at) : text).trim();
}

const errorCode = (event: ClientEvent): number => (event.type === 'ERROR' ? event.code : -1);

export function createPingClient(options: PingClientOptions) {
  return setup({
    types: {
      context: {} as PingClientContext,
      events: {} as ClientEvent,
      input: {} as { self: string; server: string; versions?: string[]; pingIntervalMs?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
    delays: {
      ping: ({ context }) => context.pingIntervalMs,
    },
  }).createMachine({
    id: 'ping-liveness-client',
    context: ({ input }) => ({
      self: input.self,
      server: input.server,
      versions: input.versions ?? ['1.0.0'],
      pingIntervalMs: input.pingIntervalMs ?? 10_000,
      user: '',
      password: '',
      sessionId: '',
    }),
    initial: 'negotiating',
    on: {
      'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'connection to the server lost' } } },
      'conn.closed': { target: '.exited', actions: { type: 'print', params: { kind: 'peer-left', text: 'the server closed the connection' } } },
      'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'could not reach the server' } } },
      'user.quit': '.exited',
    },
    states: {
      negotiating: {
        tags: ['waiting'],
        meta: { waitsFor: 'the server to answer its VERSION_REQUEST' },
        entry: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'VERSION_REQUEST', versions: context.versions } }) },
        on: {
          VERSION_RESPONSE: [
            { guard: ({ event }) => event.success, target: 'askingUser' },
            { target: 'exited', actions: { type: 'print', params: { kind: 'error', text: 'version negotiation failed' } } },
          ],
          ERROR: {
            guard: ({ event }) => errorCode(event) === ErrorCode.unsupportedVersion,
            target: 'exited',
            actions: { type: 'print', params: ({ event }) => ({ kind: 'error', text: event.type === 'ERROR' ? event.message : '', data: { code: ErrorCode.unsupportedVersion } }) },
          },
        },
      },
      askingUser: {
        tags: ['awaitingUser'],
        entry: { type: 'print', params: { kind: 'prompt', text: 'Username: ' } },
        on: { 'user.input': { target: 'askingPassword', actions: assign({ user: ({ event }) => withoutComment(event.text) }) } },
      },
      askingPassword: {
        tags: ['awaitingUser'],
        entry: { type: 'print', params: { kind: 'prompt', text: 'Password: ' } },
        on: { 'user.input': { target: 'loggingIn', actions: assign({ password: ({ event }) => withoutComment(event.text) }) } },
      },
      loggingIn: {
        tags: ['waiting'],
        meta: { waitsFor: 'the server to answer its LOGIN_REQUEST' },
        entry: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'LOGIN_REQUEST', username: context.user, password: context.password } }) },
        on: {
          LOGIN_RESPONSE: [
            {
              guard: ({ event }) => event.auth === 0,
              target: 'session',
              actions: [
                assign({ sessionId: ({ event }) => event.id }),
                { type: 'print', params: ({ context, event }) => ({ kind: 'status', text: `logged in as ${context.user}`, data: { event: 'logged-in', user: context.user, session: event.id } }) },
              ],
            },
            { target: 'askingUser', actions: { type: 'print', params: ({ context }) => ({ kind: 'error', text: 'bad user name or password', data: { code: 'auth', user: context.user } }) } },
          ],
          ERROR: {
            target: 'askingUser',
            actions: { type: 'print', params: ({ context, event }) => ({ kind: 'error', text: event.type === 'ERROR' ? event.message : '', data: { code: errorCode(event), user: context.user } }) },
          },
        },
      },
      session: {
        type: 'parallel',
        on: {
          ERROR: [
            {
              guard: ({ event }) => errorCode(event) === ErrorCode.timeout,
              target: 'askingUser',
              actions: [
                { type: 'print', params: { kind: 'error', text: 'session timed out; log in again' } },
                assign({ sessionId: '' }),
              ],
            },
            { actions: { type: 'print', params: ({ event }) => ({ kind: 'error', text: event.type === 'ERROR' ? event.message : '', data: { code: errorCode(event) } }) } },
          ],
          'user.quit': options.logoutOnQuit
            ? { target: 'exited', actions: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'LOGOUT', id: context.sessionId } }) } }
            : 'exited',
        },
        states: {
          chat: {
            initial: 'composing',
            states: {
              composing: {
                tags: ['awaitingUser'],
                entry: { type: 'print', params: { kind: 'prompt', text: '> ' } },
                on: {
                  'user.input': [
                    {
                      guard: ({ event }) => parseChatLine(event.text).kind === 'quit',
                      target: '#ping-liveness-client.exited',
                      actions: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'LOGOUT', id: context.sessionId } }) },
                    },
                    {
                      guard: ({ event }) => parseChatLine(event.text).kind === 'logout',
                      target: 'composing',
                      reenter: true,
                      actions: enqueueActions(({ context, event, enqueue }) => {
                        const cmd = parseChatLine(event.text);
                        if (cmd.kind === 'logout') enqueue({ type: 'send', params: { to: context.server, msg: { type: 'LOGOUT', id: cmd.id } } });
                      }),
                    },
                    {
                      target: 'awaitingEcho',
                      actions: enqueueActions(({ context, event, enqueue }) => {
                        const cmd = parseChatLine(event.text);
                        if (cmd.kind !== 'chat') return;
                        enqueue({ type: 'send', params: { to: context.server, msg: { type: 'CHAT', id: cmd.id ?? context.sessionId, message: cmd.text } } });
                      }),
                    },
                  ],
                },
              },
              awaitingEcho: {
                tags: ['waiting'],
                meta: { waitsFor: 'the server to echo its chat message' },
                on: {
                  CHAT: {
                    target: 'composing',
                    actions: { type: 'print', params: ({ context, event }) => ({ kind: 'message', text: event.type === 'CHAT' ? event.message : '', author: context.user }) },
                  },
                  // An error answers the chat line instead of its echo.
                  ERROR: { guard: ({ event }) => errorCode(event) === ErrorCode.sessionNotFound, target: 'composing', actions: { type: 'print', params: { kind: 'error', text: 'session not found', data: { code: ErrorCode.sessionNotFound } } } },
                },
              },
            },
          },
          heartbeat: {
            initial: 'idle',
            states: {
              idle: options.pings
                ? {
                    after: {
                      ping: {
                        target: 'idle',
                        reenter: true,
                        actions: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'PING', id: context.sessionId } }) },
                      },
                    },
                  }
                : {},
            },
          },
        },
      },
      exited: { type: 'final' },
    },
  });
}
