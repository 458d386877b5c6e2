/**
 * The key-value store role: the course's IM server, one atomic operation per request. Its whole
 * state is `data`; a restart with fresh state empties it (the course server keeps data in memory).
 */
import { setup, assign } from 'xstate';
import type { KvRequest } from './messages.js';
import type { RoleDefinition, SendParams } from '../types.js';

export interface StoreContext {
  data: Record<string, string>;
  /** Whether CAS is offered (fixed variants); the course server has no such action. */
  offersCas: boolean;
}

type StoreEvent = KvRequest & { from: string };

function withKey(data: Record<string, string>, key: string, value: string | undefined): Record<string, string> {
  const next: Record<string, string> = { ...data };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export const storeMachine = setup({
  types: {
    context: {} as StoreContext,
    events: {} as StoreEvent,
    input: {} as { initial?: Record<string, string>; offersCas?: boolean },
  },
  actions: {
    send: (_, _params: SendParams) => {},
  },
}).createMachine({
  id: 'kv-store',
  context: ({ input }) => ({ data: { ...(input.initial ?? {}) }, offersCas: input.offersCas ?? false }),
  initial: 'serving',
  states: {
    serving: {
      tags: ['server'],
      on: {
        GET: {
          actions: {
            type: 'send',
            params: ({ context, event }) => ({
              to: event.from,
              msg: { type: 'VALUE', key: event.key, value: context.data[event.key] ?? null },
            }),
          },
        },
        SET: {
          actions: [
            assign({ data: ({ context, event }) => withKey(context.data, event.key, event.value) }),
            { type: 'send', params: ({ event }) => ({ to: event.from, msg: { type: 'OK', op: 'SET' } }) },
          ],
        },
        UNSET: {
          actions: [
            assign({ data: ({ context, event }) => withKey(context.data, event.key, undefined) }),
            { type: 'send', params: ({ event }) => ({ to: event.from, msg: { type: 'OK', op: 'UNSET' } }) },
          ],
        },
        CLEAR: {
          actions: [
            assign({ data: () => ({}) }),
            { type: 'send', params: ({ event }) => ({ to: event.from, msg: { type: 'OK', op: 'CLEAR' } }) },
          ],
        },
        KEYS: {
          actions: {
            type: 'send',
            params: ({ context, event }) => ({
              to: event.from,
              msg: { type: 'KEY_LIST', keys: Object.keys(context.data).sort() },
            }),
          },
        },
        CAS: [
          {
            guard: ({ context, event }) => context.offersCas && (context.data[event.key] ?? null) === event.expected,
            actions: [
              assign({ data: ({ context, event }) => withKey(context.data, event.key, event.value) }),
              {
                type: 'send',
                params: ({ event }) => ({
                  to: event.from,
                  msg: { type: 'CAS_RESULT', key: event.key, ok: true, value: event.value },
                }),
              },
            ],
          },
          {
            actions: {
              type: 'send',
              params: ({ context, event }) => ({
                to: event.from,
                msg: { type: 'CAS_RESULT', key: event.key, ok: false, value: context.data[event.key] ?? null },
              }),
            },
          },
        ],
      },
    },
  },
});

/** The store role, shared by the key-value protocols. `params.initial` preloads keys (left over from an earlier session). */
export function storeRole(offersCas: boolean): RoleDefinition {
  return {
    machine: storeMachine,
    description: offersCas
      ? 'the IM key-value server, with an atomic compare-and-set added'
      : 'the course IM key-value server: atomic get/set/unset/clear/keys, one request at a time',
    input: ({ params }) => ({ initial: (params.initial ?? {}) as Record<string, string>, offersCas }),
  };
}
