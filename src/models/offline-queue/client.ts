/**
 * The offline-queue client (seed 004): the menu of seven actions, one request at a time (it waits
 * for each reply before sending the next), and pushed messages shown whenever they come.
 *
 * What the person types (the workload's `messages`), one action per line:
 *   `create <name>`  `login <name>`  `send <user> <text>`  `check`  `delete`  `list <pattern>`
 *   `quit`  and `flood <user> <n> <text>` (n sends typed as fast as the replies come back).
 * A trailing ` # comment` is dropped (workload lines must be distinct; a person may log in twice).
 * Ctrl-C (`user.quit`) sends a quit and ends the program, as the seed's handler does.
 * Node params: `spoofAs` (a tampered client: the name it writes into `sender`).
 */
import { assign, enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { Op, parseLetters, Reply, request, type QueueReply, type QueueRequest } from './messages.js';

export interface QueueClientContext {
  self: string;
  server: string;
  /** the account this client believes it is logged in to ('' when none) */
  user: string;
  /** a tampered client's `sender` field; '' for an honest client */
  spoofAs: string;
  /** requests typed and not yet answered; the first is on the wire */
  outbox: QueueRequest[];
  /** the opcode of the request last answered */
  lastOp: number;
}

type ClientEvent =
  | (QueueReply & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

export type QueueCommand = { kind: 'requests'; requests: QueueRequest[] } | { kind: 'invalid'; reason: string };

/** Parses one typed line; `sender` is filled in when the request is sent. */
export function parseQueueCommand(line: string): QueueCommand {
  const at = line.indexOf(' #');
  const text = (at >= 0 ? line.slice(0, at) : line).trim();
  const one = (r: QueueRequest): QueueCommand => ({ kind: 'requests', requests: [r] });
  let m: RegExpExecArray | null;
  if ((m = /^create\s+(\S+)$/.exec(text))) return one(request(Op.create, { msg: m[1]! }));
  if ((m = /^login\s+(\S+)$/.exec(text))) return one(request(Op.login, { msg: m[1]! }));
  if ((m = /^send\s+(\S+)\s(.*)$/s.exec(text))) return one(request(Op.send, { receiver: m[1]!, msg: m[2]! }));
  if ((m = /^flood\s+(\S+)\s+(\d+)\s+(.*)$/s.exec(text))) {
    const n = Math.min(Number(m[2]), 100);
    const receiver = m[1]!;
    const base = m[3]!;
    return { kind: 'requests', requests: Array.from({ length: n }, (_, i) => request(Op.send, { receiver, msg: `${base} ${i + 1}` })) };
  }
  if (text === 'check') return one(request(Op.check));
  if (text === 'delete') return one(request(Op.delete));
  if ((m = /^list\s+(\S+)$/.exec(text))) return one(request(Op.list, { msg: m[1]! }));
  if (text === 'list') return one(request(Op.list, { msg: '*' }));
  if (text === 'quit') return one(request(Op.quit));
  return { kind: 'invalid', reason: `unknown action ${JSON.stringify(text)}; use create, login, send, check, delete, list, quit or flood` };
}

const isAnswer = (event: ClientEvent): boolean => event.type === 'REPLY' && event.opcode !== Reply.pushed && event.opcode !== Reply.forcedOut;

const errorText: Record<number, string> = {
  [Reply.nameExists]: 'that name is taken',
  [Reply.sendNotLoggedIn]: 'log in first',
  [Reply.noSuchRecipient]: 'no such recipient',
  [Reply.checkNotLoggedIn]: 'log in first',
  [Reply.deleteRefused]: 'log in first',
  [Reply.quitNotLoggedIn]: 'not logged in',
  [Reply.noSuchAccount]: 'no such account',
  [Reply.listFailed]: 'list failed',
  [Reply.tooLong]: 'too long',
};

export function createQueueClient(options: { confirm: boolean }) {
  return setup({
    types: {
      context: {} as QueueClientContext,
      events: {} as ClientEvent,
      input: {} as { self: string; server: string; spoofAs?: string },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
    guards: {
      isAnswer: ({ event }) => isAnswer(event),
    },
  }).createMachine({
    id: 'offline-queue-client',
    context: ({ input }) => ({ self: input.self, server: input.server, user: '', spoofAs: input.spoofAs ?? '', outbox: [], lastOp: 0 }),
    initial: 'ready',
    on: {
      REPLY: [
        {
          guard: ({ event }) => event.opcode === Reply.pushed,
          actions: enqueueActions(({ context, event, enqueue }) => {
            for (const l of parseLetters(event.msg)) {
              enqueue({ type: 'print', params: { kind: 'message', text: l.text, author: l.sender, data: { account: context.user } } });
            }
            if (options.confirm && event.ref !== undefined) {
              enqueue({ type: 'send', params: { to: context.server, msg: request(Op.ack, { sender: context.user, msg: String(event.ref) }) } });
            }
          }),
        },
        {
          guard: ({ event }) => event.opcode === Reply.forcedOut,
          actions: [
            { type: 'print', params: ({ event }) => ({ kind: 'status', text: `logged out: ${event.msg}` }) },
            assign({ user: '' }),
          ],
        },
      ],
      'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server failed' } } },
      'conn.closed': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server closed the connection' } } },
      'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'could not reach the server' } } },
      'user.quit': {
        target: '.exited',
        actions: enqueueActions(({ context, enqueue }) => {
          if (context.user !== '') enqueue({ type: 'send', params: { to: context.server, msg: request(Op.quit, { sender: context.user }) } });
        }),
      },
    },
    states: {
      ready: {
        tags: ['awaitingUser'],
        entry: { type: 'print', params: { kind: 'prompt', text: '> ' } },
        on: {
          'user.input': [
            {
              guard: ({ event }) => parseQueueCommand(event.text).kind === 'invalid',
              target: 'ready',
              reenter: true,
              actions: { type: 'print', params: ({ event }) => ({ kind: 'error', text: (parseQueueCommand(event.text) as { reason: string }).reason }) },
            },
            {
              target: 'requesting',
              actions: assign({ outbox: ({ event }) => (parseQueueCommand(event.text) as { requests: QueueRequest[] }).requests }),
            },
          ],
        },
      },
      requesting: {
        tags: ['waiting'],
        meta: { waitsFor: 'the server to answer its request' },
        entry: {
          type: 'send',
          params: ({ context }) => ({ to: context.server, msg: { ...context.outbox[0]!, sender: context.spoofAs || context.user } }),
        },
        on: {
          REPLY: {
            guard: 'isAnswer',
            target: 'answered',
            actions: [
              enqueueActions(({ context, event, enqueue }) => {
                if (event.type !== 'REPLY') return;
                const asked = context.outbox[0];
                switch (event.opcode) {
                  case Reply.created:
                    enqueue({ type: 'print', params: { kind: 'status', text: `account ${event.msg} created` } });
                    return;
                  case Reply.sent:
                    enqueue({ type: 'print', params: { kind: 'status', text: `sent to ${event.msg}` } });
                    return;
                  case Reply.unread:
                  case Reply.deleted: {
                    for (const l of parseLetters(event.msg)) {
                      enqueue({ type: 'print', params: { kind: 'message', text: l.text, author: l.sender, data: { account: context.user } } });
                    }
                    const deleted = event.opcode === Reply.deleted;
                    enqueue({ type: 'print', params: { kind: 'status', text: deleted ? `account ${context.user} deleted` : 'no more unread messages', data: { event: deleted ? 'deleted' : 'checked', account: context.user } } });
                    if (deleted) enqueue.assign({ user: '' });
                    return;
                  }
                  case Reply.listResult:
                    enqueue({ type: 'print', params: { kind: 'status', text: `accounts: ${event.msg.split('\n').filter(Boolean).join(', ') || '(none)'}` } });
                    return;
                  case Reply.loggedOut:
                    enqueue({ type: 'print', params: { kind: 'status', text: 'logged out' } });
                    enqueue.assign({ user: '' });
                    return;
                  case Reply.loggedIn:
                  case Reply.alreadyLoggedIn:
                  case Reply.switched:
                    enqueue({ type: 'print', params: { kind: 'status', text: `logged in as ${event.msg}`, data: { event: 'logged-in', account: event.msg } } });
                    enqueue.assign({ user: event.msg || (asked?.msg ?? '') });
                    return;
                  default:
                    enqueue({ type: 'print', params: { kind: 'error', text: `${errorText[event.opcode] ?? `error ${event.opcode}`}${event.msg ? `: ${event.msg}` : ''}`, data: { opcode: event.opcode } } });
                }
              }),
              assign({ lastOp: ({ context }) => context.outbox[0]?.opcode ?? 0, outbox: ({ context }) => context.outbox.slice(1) }),
            ],
          },
        },
      },
      answered: {
        always: [
          { guard: ({ context }) => context.lastOp === Op.quit, target: 'exited' },
          { guard: ({ context }) => context.outbox.length > 0, target: 'requesting' },
          { target: 'ready' },
        ],
      },
      exited: { type: 'final' },
    },
  });
}
