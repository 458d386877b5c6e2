/**
 * The repaired two-person chat over the key-value store: the `fixed` client of both key-value
 * protocols (lock-alternation and status-handshake), parameterised by their key names.
 *
 * What it repairs, as a good engineer would:
 *  - The join is one atomic compare-and-set on the join key (`connected` / `status`): two clients
 *    starting together cannot both become client 1. A third finds the pair full and is turned away.
 *  - Each member keeps a lease: it bumps `alive<n>` (`<node>:<count>`) by compare-and-set every
 *    poll, and every `heartbeatMs` while its person types. A member that finds its own lease
 *    overwritten knows it was given up for dead and leaves.
 *  - The member waiting for its turn watches the other's lease: unchanged for `leaseMs`, or set to
 *    `left` by a clean quit, means the peer is gone. It tells its person and resets the pair
 *    (it becomes client 1, alone), so that a new client, or the restarted one, can join again.
 *  - A newcomer that finds the pair full checks both leases over `leaseMs`: both stale (keys left
 *    over from an earlier session) and it frees the join key; one stale and it waits for the
 *    survivor's reset; both alive and it is turned away.
 *  - `turn: 'flags'` (status-handshake): one flag and one message key per direction
 *    (`received<n>`, `message<n>`), so a sender never reads its own flag, and the flag, not the
 *    text, says a message is there (a message of only white space is shown as it is).
 *    `turn: 'lock'` (lock-alternation) keeps the seed's `lock` and `message`.
 * A lease cannot fence off a member that was merely paused longer than `leaseMs`: it learns at its
 * next heartbeat that it was replaced, and until then both may believe they may send.
 */
import { assign, setup } from 'xstate';
import type { KvReply } from './messages.js';
import type { PrintParams, SendParams } from '../types.js';

export interface LeasedPairSpec {
  id: string;
  joinKey: string;
  /** join-key values meaning nobody is in (absent is always free) */
  freeValues: string[];
  first: string;
  second: string;
  turn: 'lock' | 'flags';
}

export interface LeasedPairContext {
  self: string;
  store: string;
  pollMs: number;
  heartbeatMs: number;
  leaseMs: number;
  /** 1 or 2 once joined; 0 before */
  myNo: number;
  beat: number;
  /** the peer's lease value as last read, and for how long it has not changed */
  peerSeen: string | null;
  staleMs: number;
  /** the join-key value read while joining, and the two leases read while checking them */
  seen: string | null;
  lease1: string | null;
  lease2: string | null;
  draft: string;
}

type Event =
  | (KvReply & { from: string })
  | { type: 'user.input'; text: string }
  | { type: 'user.quit' }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.refused'; peer: string }
  | { type: 'conn.closed'; peer: string };

const other = (n: number): number => (n === 1 ? 2 : 1);
const valueOf = (e: Event, key: string): string | null | undefined => (e.type === 'VALUE' && e.key === key ? e.value : undefined);

export function createLeasedPairClient(spec: LeasedPairSpec) {
  const aliveKey = (n: number): string => `alive${n}`;
  const flagKey = (n: number): string => (spec.turn === 'lock' ? 'lock' : `received${n}`);
  const messageKey = (n: number): string => (spec.turn === 'lock' ? 'message' : `message${n}`);
  const lease = (c: LeasedPairContext, beat = c.beat): string => `${c.self}:${beat}`;
  const isFree = (v: string | null): boolean => v === null || spec.freeValues.includes(v);
  const get = (key: (c: LeasedPairContext) => string) => ({
    type: 'send' as const,
    params: ({ context }: { context: LeasedPairContext }) => ({ to: context.store, msg: { type: 'GET', key: key(context) } }),
  });
  const set = (key: (c: LeasedPairContext) => string, value: (c: LeasedPairContext) => string) => ({
    type: 'send' as const,
    params: ({ context }: { context: LeasedPairContext }) => ({ to: context.store, msg: { type: 'SET', key: key(context), value: value(context) } }),
  });
  const unset = (key: (c: LeasedPairContext) => string) => ({
    type: 'send' as const,
    params: ({ context }: { context: LeasedPairContext }) => ({ to: context.store, msg: { type: 'UNSET', key: key(context) } }),
  });
  const beatRequest = {
    type: 'send' as const,
    params: ({ context }: { context: LeasedPairContext }) => ({
      to: context.store,
      msg: { type: 'CAS', key: aliveKey(context.myNo), expected: lease(context), value: lease(context, context.beat + 1) },
    }),
  };
  /** Our lease was bumped (or had been by a request whose reply we missed). */
  const beatOk = ({ context, event }: { context: LeasedPairContext; event: Event }): boolean =>
    event.type === 'CAS_RESULT' && event.key === aliveKey(context.myNo) && (event.ok || event.value === lease(context, context.beat + 1));
  const evicted = ({ context, event }: { context: LeasedPairContext; event: Event }): boolean =>
    event.type === 'CAS_RESULT' && event.key === aliveKey(context.myNo) && !beatOk({ context, event });
  const evictedExit = {
    target: `#${spec.id}.exited`,
    actions: { type: 'print' as const, params: { kind: 'error' as const, text: 'disconnected: the other client gave this one up for dead' } },
  };

  return setup({
    types: {
      context: {} as LeasedPairContext,
      events: {} as Event,
      input: {} as { self: string; store: string; pollMs?: number; heartbeatMs?: number; leaseMs?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
    delays: {
      poll: ({ context }) => context.pollMs,
      heartbeat: ({ context }) => context.heartbeatMs,
      lease: ({ context }) => context.leaseMs,
    },
  }).createMachine({
    id: spec.id,
    context: ({ input }) => ({
      self: input.self,
      store: input.store,
      pollMs: input.pollMs ?? 500,
      heartbeatMs: input.heartbeatMs ?? input.pollMs ?? 500,
      leaseMs: input.leaseMs ?? 4000,
      myNo: 0,
      beat: 0,
      peerSeen: null,
      staleMs: 0,
      seen: null,
      lease1: null,
      lease2: null,
      draft: '',
    }),
    initial: 'joining',
    on: {
      'conn.reset': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server reset the connection' } } },
      'conn.refused': { target: '.exited', actions: { type: 'print', params: { kind: 'error', text: 'the server is not running' } } },
      'user.quit': [{ guard: ({ context }) => context.myNo === 0, target: '.exited' }, { target: '.leaving' }],
    },
    states: {
      joining: {
        tags: ['waiting'],
        meta: { waitsFor: `the store to answer GET ${spec.joinKey}` },
        entry: get(() => spec.joinKey),
        on: {
          VALUE: [
            { guard: ({ event }) => { const v = valueOf(event, spec.joinKey); return v !== undefined && isFree(v); }, target: 'claimingFirst', actions: assign({ seen: ({ event }) => valueOf(event, spec.joinKey) ?? null }) },
            { guard: ({ event }) => valueOf(event, spec.joinKey) === spec.first, target: spec.turn === 'flags' ? 'preparingSecond' : 'claimingSecond' },
            { guard: ({ event }) => valueOf(event, spec.joinKey) !== undefined, target: 'checkingLeases' },
          ],
        },
      },
      claimingFirst: {
        tags: ['waiting'],
        meta: { waitsFor: `the store to answer CAS ${spec.joinKey}` },
        entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'CAS', key: spec.joinKey, expected: context.seen, value: spec.first } }) },
        on: {
          CAS_RESULT: [
            { guard: ({ event }) => event.key === spec.joinKey && event.ok, target: 'settingUp', actions: assign({ myNo: 1, beat: 0 }) },
            { guard: ({ event }) => event.key === spec.joinKey, target: 'joining' },
          ],
        },
      },
      preparingSecond: {
        // Client 2's inbox flag is cleared before it claims the place: once it has, client 1 may write it.
        tags: ['waiting'],
        meta: { waitsFor: 'the store to confirm its flag is cleared' },
        entry: unset(() => flagKey(2)),
        on: { OK: 'claimingSecond' },
      },
      claimingSecond: {
        tags: ['waiting'],
        meta: { waitsFor: `the store to answer CAS ${spec.joinKey}` },
        entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'CAS', key: spec.joinKey, expected: spec.first, value: spec.second } }) },
        on: {
          CAS_RESULT: [
            { guard: ({ event }) => event.key === spec.joinKey && event.ok, target: 'announcing', actions: assign({ myNo: 2, beat: 0 }) },
            { guard: ({ event }) => event.key === spec.joinKey, target: 'joining' },
          ],
        },
      },
      announcing: {
        tags: ['waiting', 'inChat'],
        meta: { waitsFor: 'the store to confirm its lease' },
        entry: set((c) => aliveKey(c.myNo), (c) => lease(c)),
        on: { OK: { target: 'waitingForTurn', actions: assign({ peerSeen: null, staleMs: 0 }) } },
      },
      settingUp: {
        tags: ['waiting', 'inChat'],
        meta: { waitsFor: 'the store to confirm the keys of a new pair' },
        initial: 'lease',
        states: {
          lease: { entry: set(() => aliveKey(1), (c) => lease(c)), on: { OK: 'turn' } },
          // Only keys nobody else writes yet: client 2 may join at any moment from here on.
          turn: { entry: spec.turn === 'lock' ? set(() => 'lock', () => '1') : unset(() => flagKey(1)), on: { OK: '#' + spec.id + '.waitingForPeer' } },
        },
      },
      waitingForPeer: {
        // The join is atomic, so this wait can only end when a person starts a second client:
        // it is a wait on a person, like a prompt, not a protocol stall.
        tags: ['awaitingUser', 'inChat'],
        entry: { type: 'print', params: { kind: 'status', text: 'Waiting for the other client to connect..' } },
        initial: 'beating',
        states: {
          beating: { entry: beatRequest, on: { CAS_RESULT: [{ guard: beatOk, target: 'asking', actions: assign({ beat: ({ context }) => context.beat + 1 }) }, { guard: evicted, ...evictedExit }] } },
          asking: {
            entry: get(() => spec.joinKey),
            on: {
              VALUE: [
                { guard: ({ event }) => valueOf(event, spec.joinKey) === spec.second, target: '#' + spec.id + '.composing' },
                { guard: ({ event }) => valueOf(event, spec.joinKey) !== undefined, target: 'sleeping' },
              ],
            },
          },
          sleeping: { after: { poll: 'beating' } },
        },
      },
      checkingLeases: {
        tags: ['waiting'],
        meta: { waitsFor: 'the leases of the pair in the chat to show whether they are alive' },
        initial: 'first1',
        states: {
          first1: { entry: get(() => aliveKey(1)), on: { VALUE: { guard: ({ event }) => valueOf(event, aliveKey(1)) !== undefined, target: 'first2', actions: assign({ lease1: ({ event }) => valueOf(event, aliveKey(1)) ?? null }) } } },
          first2: { entry: get(() => aliveKey(2)), on: { VALUE: { guard: ({ event }) => valueOf(event, aliveKey(2)) !== undefined, target: 'sleeping', actions: assign({ lease2: ({ event }) => valueOf(event, aliveKey(2)) ?? null }) } } },
          sleeping: { after: { lease: 'again1' } },
          again1: {
            entry: get(() => aliveKey(1)),
            on: {
              VALUE: {
                guard: ({ event }) => valueOf(event, aliveKey(1)) !== undefined,
                target: 'again2',
                // lease1 now says whether slot 1 looked stale: 'stale' or the fresh value
                actions: assign({ lease1: ({ context, event }) => { const v = valueOf(event, aliveKey(1)) ?? null; return v === context.lease1 || v === null || v === 'left' ? 'stale' : 'alive'; } }),
              },
            },
          },
          again2: {
            entry: get(() => aliveKey(2)),
            on: {
              VALUE: [
                {
                  guard: ({ context, event }) => { const v = valueOf(event, aliveKey(2)); return v !== undefined && context.lease1 === 'alive' && v !== null && v !== 'left' && v !== context.lease2; },
                  target: '#' + spec.id + '.exited',
                  actions: { type: 'print', params: { kind: 'error', text: 'The server is in use: two people are already talking', data: { event: 'turned-away' } } },
                },
                {
                  guard: ({ context, event }) => { const v = valueOf(event, aliveKey(2)); return v !== undefined && context.lease1 === 'stale' && (v === null || v === 'left' || v === context.lease2); },
                  target: 'freeing',
                },
                // One lease alive, one stale: the survivor will reset the pair; try again.
                { guard: ({ event }) => valueOf(event, aliveKey(2)) !== undefined, target: 'retrying' },
              ],
            },
          },
          freeing: {
            // Both leases stale: keys left by an earlier session. Free the join key and start over.
            entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'CAS', key: spec.joinKey, expected: spec.second, value: spec.freeValues[0] ?? '' } }) },
            on: { CAS_RESULT: { guard: ({ event }) => event.key === spec.joinKey, target: '#' + spec.id + '.joining' } },
          },
          retrying: { after: { poll: '#' + spec.id + '.joining' } },
        },
      },
      waitingForTurn: {
        tags: ['waiting', 'inChat'],
        meta: { waitsFor: 'its turn (the other client to send)' },
        initial: 'beating',
        states: {
          beating: { entry: beatRequest, on: { CAS_RESULT: [{ guard: beatOk, target: 'asking', actions: assign({ beat: ({ context }) => context.beat + 1 }) }, { guard: evicted, ...evictedExit }] } },
          asking: {
            entry: get((c) => flagKey(c.myNo)),
            on: {
              VALUE: [
                {
                  guard: ({ context, event }) => valueOf(event, flagKey(context.myNo)) === (spec.turn === 'lock' ? String(context.myNo) : '1'),
                  target: '#' + spec.id + '.reading',
                },
                { guard: ({ context, event }) => valueOf(event, flagKey(context.myNo)) !== undefined, target: 'watching' },
              ],
            },
          },
          watching: {
            entry: get((c) => aliveKey(other(c.myNo))),
            on: {
              VALUE: [
                {
                  guard: ({ context, event }) => {
                    const v = valueOf(event, aliveKey(other(context.myNo)));
                    if (v === undefined) return false;
                    return v === 'left' || (v === context.peerSeen && context.staleMs + context.pollMs >= context.leaseMs);
                  },
                  target: '#' + spec.id + '.resetting',
                },
                {
                  guard: ({ context, event }) => valueOf(event, aliveKey(other(context.myNo))) !== undefined,
                  target: 'sleeping',
                  actions: assign(({ context, event }) => {
                    const v = valueOf(event, aliveKey(other(context.myNo))) ?? null;
                    return v === context.peerSeen ? { staleMs: context.staleMs + context.pollMs } : { peerSeen: v, staleMs: 0 };
                  }),
                },
              ],
            },
          },
          sleeping: { after: { poll: 'beating' } },
        },
      },
      resetting: {
        // The peer is gone: tell the person, and make the pair one client 1 waiting for a new peer.
        tags: ['waiting', 'inChat'],
        meta: { waitsFor: 'the store to confirm the reset of the pair' },
        entry: { type: 'print', params: { kind: 'peer-left', text: 'The other client has left; waiting for someone to join' } },
        initial: 'lease',
        states: {
          // Everything is set up before the join key says there is room again.
          lease: { entry: set(() => aliveKey(1), (c) => lease(c)), on: { OK: { target: 'peer', actions: assign({ myNo: 1 }) } } },
          peer: { entry: unset(() => aliveKey(2)), on: { OK: 'turn' } },
          turn: { entry: spec.turn === 'lock' ? set(() => 'lock', () => '1') : unset(() => flagKey(1)), on: { OK: spec.turn === 'lock' ? 'withdraw' : 'otherTurn' } },
          otherTurn: { entry: unset(() => flagKey(2)), on: { OK: 'withdraw' } },
          // A message the dead peer never read is withdrawn: nobody will read it now.
          withdraw: { entry: unset(() => messageKey(2)), on: { OK: spec.turn === 'lock' ? 'claim' : 'withdrawOther' } },
          withdrawOther: { entry: unset(() => messageKey(1)), on: { OK: 'claim' } },
          claim: {
            entry: { type: 'send', params: ({ context }) => ({ to: context.store, msg: { type: 'CAS', key: spec.joinKey, expected: spec.second, value: spec.first } }) },
            on: {
              CAS_RESULT: [
                { guard: ({ event }) => event.key === spec.joinKey && (event.ok || event.value === spec.first), target: '#' + spec.id + '.waitingForPeer', actions: assign({ peerSeen: null, staleMs: 0 }) },
                { guard: ({ event }) => event.key === spec.joinKey, target: '#' + spec.id + '.joining', actions: assign({ myNo: 0 }) },
              ],
            },
          },
        },
      },
      reading: {
        tags: ['waiting', 'inChat', 'maySend'],
        meta: { waitsFor: 'the store to answer GET for the message' },
        entry: get((c) => messageKey(c.myNo)),
        on: {
          VALUE: {
            guard: ({ context, event }) => valueOf(event, messageKey(context.myNo)) !== undefined,
            target: spec.turn === 'lock' ? 'composing' : 'clearing',
            actions: { type: 'print', params: ({ context, event }) => ({ kind: 'message', text: valueOf(event, messageKey(context.myNo)) ?? '' }) },
          },
        },
      },
      clearing: {
        tags: ['waiting', 'inChat', 'maySend'],
        meta: { waitsFor: 'the store to confirm its flag is cleared' },
        entry: set((c) => flagKey(c.myNo), () => '0'),
        on: { OK: 'composing' },
      },
      composing: {
        tags: ['awaitingUser', 'inChat', 'maySend'],
        entry: { type: 'print', params: { kind: 'prompt', text: 'Enter message: ' } },
        initial: 'idle',
        states: {
          idle: { after: { heartbeat: 'beating' } },
          beating: { entry: beatRequest, on: { CAS_RESULT: [{ guard: beatOk, target: 'idle', actions: assign({ beat: ({ context }) => context.beat + 1 }) }, { guard: evicted, ...evictedExit }] } },
        },
        on: { 'user.input': { target: 'writing', actions: assign({ draft: ({ event }) => event.text }) } },
      },
      writing: {
        tags: ['waiting', 'inChat', 'maySend'],
        meta: { waitsFor: 'the store to confirm the message is written' },
        entry: set((c) => messageKey(other(c.myNo)), (c) => c.draft),
        on: { OK: 'passing' },
      },
      passing: {
        tags: ['waiting', 'inChat'],
        meta: { waitsFor: 'the store to confirm the turn is passed' },
        entry: set((c) => flagKey(other(c.myNo)), (c) => (spec.turn === 'lock' ? String(other(c.myNo)) : '1')),
        on: { OK: { target: 'waitingForTurn', actions: assign({ draft: '', peerSeen: null, staleMs: 0 }) } },
      },
      leaving: {
        // A clean quit marks the lease `left`, so the peer knows at once.
        tags: ['waiting'],
        meta: { waitsFor: 'the store to confirm it has left' },
        entry: set((c) => aliveKey(c.myNo), () => 'left'),
        on: { OK: 'exited' },
      },
      exited: { type: 'final' },
    },
  });
}
