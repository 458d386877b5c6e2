/**
 * The lock-alternation client (seed 000, docs/protocols.md section 1), faithful: flaws included.
 *
 * Readings the seed leaves open, and the one taken here:
 *  - "polls": a client waiting on a key sends a GET, and if the answer is not the one it wants,
 *    sleeps `pollMs` and asks again (the usual `while ...: time.sleep(...)` loop).
 *  - Client 1 sends first without reading `message` (lock=1 was set by itself; nothing to show).
 *  - The client sets no timeout (docs/protocols.md: "they set no timeout"); a reset or refused connection
 *    raises in the Python client, which then exits with a traceback: here, the final state `exited`.
 *  - Ctrl-C (`user.quit`) ends the program at once, leaving every key as it is (the seed's flaw:
 *    nobody can rejoin).
 */
import { setup, assign } from 'xstate';
import type { KvReply } from '../kv-store/messages.js';
import type { PrintParams, SendParams } from '../types.js';

export interface LockClientContext {
  self: string;
  store: string;
  pollMs: number;
  /** 1 or 2 once known; 0 before */
  myNo: number;
  draft: string;
}

type LockClientEvent =
  | (KvReply & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.refused'; peer: string }
  | { type: 'conn.closed'; peer: string };

const valueIs = (event: LockClientEvent, expected: string | null): boolean =>
  event.type === 'VALUE' && event.value === expected;

export const lockClientMachine = setup({
  types: {
    context: {} as LockClientContext,
    events: {} as LockClientEvent,
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
  id: 'lock-alternation-client',
  context: ({ input }) => ({ self: input.self, store: input.store, pollMs: input.pollMs ?? 500, myNo: 0, draft: '' }),
  initial: 'joining',
  on: {
    'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'ConnectionResetError: the server reset the connection' } } },
    'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'ConnectionRefusedError: the server is not running' } } },
    'user.quit': '.exited',
  },
  states: {
    joining: {
      description: 'reads `connected` to learn whether it is client 1 or client 2',
      tags: ['waiting'],
      meta: { waitsFor: 'the store to answer GET connected' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'connected' } }) },
      on: {
        VALUE: [
          // The flaw: reading and setting `connected` are two operations; two clients may both read "absent".
          { guard: ({ event }) => valueIs(event, null), target: 'claimingFirst' },
          { target: 'claimingSecond' },
        ],
      },
    },
    claimingFirst: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET connected=1' },
      entry: [
        assign({ myNo: 1 }),
        { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'connected', value: '1' } }) },
      ],
      on: { OK: 'settingLock' },
    },
    settingLock: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET lock=1' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'lock', value: '1' } }) },
      on: {
        OK: {
          target: 'waitingForPeer',
          actions: { type: 'print', params: { kind: 'status', text: 'Waiting for client 2 to connect..' } },
        },
      },
    },
    waitingForPeer: {
      tags: ['waiting'],
      meta: { waitsFor: 'connected=2 (a second client to join)' },
      initial: 'asking',
      states: {
        asking: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'connected' } }) },
          on: {
            VALUE: [
              { guard: ({ event }) => valueIs(event, '2'), target: '#lock-alternation-client.composing' },
              { target: 'sleeping' },
            ],
          },
        },
        sleeping: { after: { poll: 'asking' } },
      },
    },
    claimingSecond: {
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET connected=2' },
      entry: [
        assign({ myNo: 2 }),
        { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'connected', value: '2' } }) },
      ],
      on: { OK: 'waitingForTurn' },
    },
    waitingForTurn: {
      tags: ['waiting'],
      meta: { waitsFor: 'lock to hold its own number' },
      initial: 'asking',
      states: {
        asking: {
          entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'lock' } }) },
          on: {
            VALUE: [
              { guard: ({ context, event }) => valueIs(event, String(context.myNo)), target: '#lock-alternation-client.reading' },
              { target: 'sleeping' },
            ],
          },
        },
        sleeping: { after: { poll: 'asking' } },
      },
    },
    reading: {
      tags: ['waiting', 'maySend'],
      meta: { waitsFor: 'the store to answer GET message' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'GET', key: 'message' } }) },
      on: {
        VALUE: {
          target: 'composing',
          actions: {
            type: 'print',
            params: ({ event }) => ({ kind: 'message', text: event.type === 'VALUE' ? (event.value ?? '') : '' }),
          },
        },
      },
    },
    composing: {
      tags: ['awaitingUser', 'maySend'],
      entry: { type: 'print', params: { kind: 'prompt', text: 'Enter message: ' } },
      on: {
        'user.input': { target: 'writing', actions: assign({ draft: ({ event }) => event.text }) },
      },
    },
    writing: {
      tags: ['waiting', 'maySend'],
      meta: { waitsFor: 'the store to confirm SET message' },
      entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'message', value: context.draft } }) },
      on: { OK: 'passing' },
    },
    passing: {
      // Once SET lock=<other> is issued the client no longer believes it may send: the other may
      // see the lock before this client's OK arrives.
      tags: ['waiting'],
      meta: { waitsFor: 'the store to confirm SET lock=<other>' },
      entry: {
        type: 'send',
        params: ({ context }) => ({ to: context.store, msg: { type: 'SET', key: 'lock', value: context.myNo === 1 ? '2' : '1' } }),
      },
      on: { OK: { target: 'waitingForTurn', actions: assign({ draft: '' }) } },
    },
    exited: { type: 'final' },
  },
});
