/**
 * The status-handshake client (seed 001, docs/protocols.md section 2), faithful: flaws included.
 *
 * Readings the seed leaves open, and the ones taken here:
 *  - `status` absent counts as `off` (the course server starts empty).
 *  - The first client polls `status` until it is `two`, then sends first; the second has just set
 *    `two` and waits first.
 *  - The wait loop sleeps `pollMs`, then reads `status` (`off` means the peer quit: it is told and
 *    exits, as the seed promises), then `received`. When `received` is `1` it reads `message` and
 *    strips it (the IM server's values end with a newline that real clients strip); an empty result
 *    counts as "no message yet" and the loop goes on, so a message of only white space is never
 *    shown and the flag is never cleared.
 *  - After showing a message the waiter sets `received=0` and becomes the sender. A sender writes
 *    `message`, sets `received=1` and becomes the waiter, polling the same flag it just set.
 *  - Quitting (Ctrl-C is caught, as the seed says) sets `status=off` and exits. A killed client
 *    leaves `status=two`, so every later client is told the server is in use.
 */
import { assign, setup } from 'xstate';
import type { KvReply } from '../kv-store/messages.js';
import type { PrintParams, SendParams } from '../types.js';

export interface StatusClientContext {
  self: string;
  store: string;
  pollMs: number;
  /** `one` or `two` once joined, '' before */
  joinedAs: string;
  draft: string;
}

type Event =
  | (KvReply & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.refused'; peer: string }
  | { type: 'conn.closed'; peer: string };

const valueOf = (e: Event, key: string): string | null | undefined => (e.type === 'VALUE' && e.key === key ? e.value : undefined);
const has = (key: string) => ({ event }: { event: Event }): boolean => valueOf(event, key) !== undefined;

export const statusClientMachine = setup({
  types: {
    context: {} as StatusClientContext,
    events: {} as Event,
    input: {} as { self: string; store: string; pollMs?: number },
  },
  actions: {
    send: (_, _params: SendParams) => {},
    print: (_, _params: PrintParams) => {},
  },
  delays: {
    poll: ({ context }) => context.pollMs,
  },
}).createMachine({
  id: 'status-handshake-client',
  context: ({ input }) => ({ self: input.self, store: input.store, pollMs: input.pollMs ?? 500, joinedAs: '', draft: '' }),
  initial: 'checking',
  on: {
    'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server connection was interrupted' } } },
    'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server is not running' } } },
    'user.quit': [{ guard: ({ context }) => context.joinedAs === '', target: '.exited' }, { target: '.leaving' }],
  },
  states: {
    checking: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to answer GET status' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'status' } }) },
      on: {
        VALUE: [
          // The flaw: reading and setting `status` are two operations.
          { guard: ({ event }) => { const v = valueOf(event, 'status'); return v === null || v === 'off'; }, target: 'claimingOne' },
          { guard: ({ event }) => valueOf(event, 'status') === 'one', target: 'claimingTwo' },
          {
            guard: has('status'),
            target: 'exited',
            actions: { type: 'print', params: { kind: 'error', text: 'The server is currently in use; try again later', data: { event: 'turned-away' } } },
          },
        ],
      },
    },
    claimingOne: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET status=one' },
      entry: [assign({ joinedAs: 'one' }), { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'status', value: 'one' } }) }],
      on: { OK: { target: 'waitingForSecond', actions: { type: 'print', params: { kind: 'status', text: 'Waiting for the second user to connect...' } } } },
    },
    waitingForSecond: {
      tags: ['waiting', 'inChat'],
      meta: { waitsFor: 'status=two (a second user to connect)' },
      initial: 'asking',
      states: {
        asking: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'status' } }) },
          on: {
            VALUE: [
              { guard: ({ event }) => valueOf(event, 'status') === 'two', target: '#status-handshake-client.composing' },
              { guard: has('status'), target: 'sleeping' },
            ],
          },
        },
        sleeping: { after: { poll: 'asking' } },
      },
    },
    claimingTwo: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET status=two' },
      entry: [assign({ joinedAs: 'two' }), { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'status', value: 'two' } }) }],
      on: { OK: 'waiting' },
    },
    composing: {
      tags: ['awaitingUser', 'inChat', 'maySend'],
      entry: { type: 'print', params: { kind: 'prompt', text: 'Your message: ' } },
      on: { 'user.input': { target: 'writing', actions: assign({ draft: ({ event }) => event.text }) } },
    },
    writing: {
      tags: ['waiting', 'inChat', 'maySend'],
      meta: { waitsFor: 'the store to confirm SET message' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'message', value: context.draft } }) },
      on: { OK: 'flagging' },
    },
    flagging: {
      tags: ['waiting', 'inChat'],
      meta: { waitsFor: 'the store to confirm SET received=1' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'received', value: '1' } }) },
      on: { OK: { target: 'waiting', actions: assign({ draft: '' }) } },
    },
    waiting: {
      tags: ['waiting', 'inChat'],
      meta: { waitsFor: 'received=1 and a message (the other user is typing)' },
      entry: { type: 'print', params: { kind: 'status', text: 'The other user is typing...' } },
      initial: 'sleeping',
      states: {
        sleeping: { after: { poll: 'askingStatus' } },
        askingStatus: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'status' } }) },
          on: {
            VALUE: [
              {
                guard: ({ event }) => valueOf(event, 'status') === 'off',
                target: '#status-handshake-client.exited',
                actions: { type: 'print', params: { kind: 'peer-left', text: 'The other user has left the conversation; closing.' } },
              },
              { guard: has('status'), target: 'askingFlag' },
            ],
          },
        },
        askingFlag: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'received' } }) },
          on: {
            VALUE: [
              { guard: ({ event }) => valueOf(event, 'received') === '1', target: 'reading' },
              { guard: has('received'), target: 'sleeping' },
            ],
          },
        },
        reading: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'message' } }) },
          on: {
            VALUE: [
              // The flaw: the text is stripped before the check, so white space reads as "no message yet".
              { guard: ({ event }) => { const v = valueOf(event, 'message'); return v !== undefined && (v ?? '').trim() === ''; }, target: 'sleeping' },
              {
                guard: has('message'),
                target: 'clearing',
                actions: { type: 'print', params: ({ event }) => ({ kind: 'message', text: (valueOf(event, 'message') ?? '').trim() }) },
              },
            ],
          },
        },
        clearing: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'received', value: '0' } }) },
          on: { OK: '#status-handshake-client.composing' },
        },
      },
    },
    leaving: {
      // Still in the chat until status=off lands.
      tags: ['waiting', 'inChat'],
      meta: { waitsFor: 'the store to confirm SET status=off' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'status', value: 'off' } }) },
      on: { OK: 'exited' },
    },
    exited: { type: 'final' },
  },
});
