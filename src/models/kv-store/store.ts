/**
 * The key-value store role: the course's IM server, one atomic operation per request. Its whole
 * state is `data`; a restart with fresh state empties it (the course server keeps data in memory).
 * Each request is answered by the rules of serve.ts, the functions the reference server runs (the
 * readings decided between the two, such as `keys` sorted by code point, are listed there).
 */
import { enqueueActions, setup } from 'xstate';
import type { KvRequest } from './messages.js';
import type { RoleDefinition, SendParams } from '../types.js';
import { applyToRecord, recordStore, serveKv, type KvData } from './serve.js';

export interface StoreContext {
  data: KvData;
  /** Whether CAS is offered (fixed variants); the course server has no such action. */
  offersCas: boolean;
}

type StoreEvent = KvRequest & { from: string };

export const storeMachine = setup({
  types: {
    context: {} as StoreContext,
    events: {} as StoreEvent,
    input: {} as { initial?: Record<string, string>; offersCas?: boolean },
  },
  actions: {
    send: (_, _params: SendParams) => {},
    /** Answers one request with the rules of serve.ts (the model's limits: none, so nothing is refused). */
    answer: enqueueActions(({ context, event, enqueue }) => {
      const { from, ...req } = event;
      const outcome = serveKv(recordStore(context.data), req as KvRequest, { offersCas: context.offersCas });
      if ('refused' in outcome) return;
      if (outcome.change !== undefined) enqueue.assign({ data: applyToRecord(context.data, outcome.change) });
      enqueue({ type: 'send', params: { to: from, msg: outcome.reply } } as never);
    }),
  },
}).createMachine({
  id: 'kv-store',
  context: ({ input }) => ({ data: applyInitial(input.initial ?? {}), offersCas: input.offersCas ?? false }),
  initial: 'serving',
  states: {
    serving: {
      tags: ['server'],
      on: { GET: { actions: 'answer' }, SET: { actions: 'answer' }, UNSET: { actions: 'answer' }, CLEAR: { actions: 'answer' }, KEYS: { actions: 'answer' }, CAS: { actions: 'answer' } },
    },
  },
});

/** Preloaded keys (left over from an earlier session), as own entries. */
function applyInitial(initial: Record<string, string>): KvData {
  let data: KvData = {};
  for (const [key, value] of Object.entries(initial)) data = applyToRecord(data, { op: 'set', key, value });
  return data;
}

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
