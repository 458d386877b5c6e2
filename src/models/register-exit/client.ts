/**
 * The register-exit client (seed 003): connects, registers its user name, then reads commands
 * while a second goroutine prints whatever the server sends (so it always waits for its person).
 *
 * What the person types (the workload's `messages`):
 *  - `send <user> <text>`          send `<text>` to `<user>`;
 *  - `flood <user> <n> <text>`     a script pasted at once: `<text> 1` ... `<text> n` back to back;
 *  - `EXIT`                        tell the server and exit.
 * A trailing ` # comment` is dropped (workload lines must be distinct). Anything else is refused
 * locally. Ctrl-C (`user.quit`) ends the program without telling the server (a vanished client).
 * Node params: `user` (the name to register, default the node id), `spoofAs` (a tampered client:
 * the name it writes into `From` on sends and Exit), `keepaliveMs` (the fixed client's keepalive).
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { errorSender, routeMessage, type RouteMessage } from './messages.js';

export interface RouteClientContext {
  self: string;
  server: string;
  user: string;
  /** the `From` it writes on sends and Exit: its own name, or another's when tampered */
  claims: string;
  keepaliveMs: number;
}

type ClientEvent =
  | (RouteMessage & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

export type RouteCommand =
  | { kind: 'send'; to: string; texts: string[] }
  | { kind: 'exit' }
  | { kind: 'invalid'; reason: string };

/** Parses one typed line of the command language above. */
export function parseRouteCommand(line: string): RouteCommand {
  const at = line.indexOf(' #');
  const text = (at >= 0 ? line.slice(0, at) : line).trim();
  if (text === 'EXIT') return { kind: 'exit' };
  const send = /^send\s+(\S+)\s+(.*)$/s.exec(text);
  if (send) return { kind: 'send', to: send[1]!, texts: [send[2]!] };
  const flood = /^flood\s+(\S+)\s+(\d+)\s+(.*)$/s.exec(text);
  if (flood) {
    const n = Math.min(Number(flood[2]), 100);
    return { kind: 'send', to: flood[1]!, texts: Array.from({ length: n }, (_, i) => `${flood[3]!} ${i + 1}`) };
  }
  return { kind: 'invalid', reason: `unknown command ${JSON.stringify(text)}; use send <user> <text>, flood <user> <n> <text> or EXIT` };
}

export function createRouteClient(options: { keepalive: boolean }) {
  return setup({
    types: {
      context: {} as RouteClientContext,
      events: {} as ClientEvent,
      input: {} as { self: string; server: string; user?: string; spoofAs?: string; keepaliveMs?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
    delays: {
      keepalive: ({ context }) => context.keepaliveMs,
    },
  }).createMachine({
    id: 'register-exit-client',
    context: ({ input }) => ({
      self: input.self,
      server: input.server,
      user: input.user ?? input.self,
      claims: input.spoofAs ?? input.user ?? input.self,
      keepaliveMs: input.keepaliveMs ?? 10_000,
    }),
    initial: 'session',
    on: {
      'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'connection to the server lost' } } },
      'conn.closed': { target: '.exited', actions: { type: 'print', params: { kind: 'peer-left', text: 'the server closed the connection' } } },
      'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'could not reach the server' } } },
      'user.quit': '.exited',
    },
    states: {
      session: {
        type: 'parallel',
        entry: { type: 'send', params: ({ context }) => ({ to: context.server, msg: routeMessage({ sender: context.user, register: true }) }) },
        states: {
          typing: {
            initial: 'ready',
            states: {
              ready: {
                tags: ['awaitingUser'],
                entry: { type: 'print', params: { kind: 'prompt', text: '' } },
                on: {
                  'user.input': [
                    {
                      guard: ({ event }) => parseRouteCommand(event.text).kind === 'exit',
                      target: '#register-exit-client.exited',
                      actions: { type: 'send', params: ({ context }) => ({ to: context.server, msg: routeMessage({ sender: context.claims, exit: true }) }) },
                    },
                    {
                      target: 'ready',
                      reenter: true,
                      actions: enqueueActions(({ context, event, enqueue }) => {
                        const cmd = parseRouteCommand(event.text);
                        if (cmd.kind === 'invalid') {
                          enqueue({ type: 'print', params: { kind: 'error', text: cmd.reason } });
                          return;
                        }
                        if (cmd.kind !== 'send') return;
                        for (const content of cmd.texts) {
                          enqueue({ type: 'send', params: { to: context.server, msg: routeMessage({ to: cmd.to, sender: context.claims, content }) } });
                        }
                      }),
                    },
                  ],
                },
              },
            },
          },
          receiving: {
            on: {
              MESSAGE: [
                {
                  guard: ({ event }) => event.exit,
                  target: '#register-exit-client.exited',
                  actions: { type: 'print', params: { kind: 'peer-left', text: 'Server has shut down, exiting...' } },
                },
                {
                  guard: ({ event }) => event.sender === errorSender,
                  actions: { type: 'print', params: ({ event }) => ({ kind: 'error', text: `${errorSender}: ${event.content}` }) },
                },
                {
                  actions: {
                    type: 'print',
                    params: ({ event }) => ({ kind: 'message', text: event.content, author: event.sender, data: { line: `${event.sender}: ${event.content}` } }),
                  },
                },
              ],
            },
          },
          keepalive: {
            initial: 'idle',
            states: {
              idle: options.keepalive
                ? {
                    after: {
                      keepalive: {
                        target: 'idle',
                        reenter: true,
                        actions: { type: 'send', params: ({ context }) => ({ to: context.server, msg: routeMessage({}) }) },
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
