/**
 * The offline-queue server machine (seed 004): requests are answered by `serve` (serve.ts); this
 * machine adds what happens between requests: confirmation timeouts (fixed), lost connections, and
 * the backtracking matcher freezing the server on a pathological `list` pattern (faithful).
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { Reply, reply, type QueueRequest } from './messages.js';
import { disconnect, initialQueueContext, listCost, requeueUnacked, serve, without, type QueueServerContext, type QueueServerOptions, type ServeEffect } from './serve.js';

type ServerEvent =
  | (QueueRequest & { from: string })
  | { type: 'ack.timeout'; ref: number; account: string }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

type Enqueue = {
  assign(a: Partial<QueueServerContext>): void;
  raise(event: { type: 'ack.timeout'; ref: number; account: string }, options: { delay: number; id: string }): void;
  cancel(id: string): void;
  (action: { type: 'print'; params: PrintParams } | { type: 'send'; params: SendParams }): void;
};

function apply(ctx: QueueServerContext, patch: Partial<QueueServerContext>, effects: readonly ServeEffect[], enqueue: Enqueue): void {
  enqueue.assign(patch);
  for (const e of effects) {
    if (e.type === 'startAckTimer') enqueue.raise({ type: 'ack.timeout', ref: e.ref, account: e.account }, { delay: ctx.ackTimeoutMs, id: `ack-${e.ref}` });
    else if (e.type === 'cancelAckTimer') enqueue.cancel(`ack-${e.ref}`);
    else enqueue(e);
  }
}

/** A connection is gone: its account goes offline, unconfirmed pushes are queued again (fixed). */
function connectionLost(ctx: QueueServerContext, peer: string, reason: string, options: QueueServerOptions, enqueue: Enqueue): void {
  const r = disconnect(ctx, peer, reason, options);
  apply(ctx, r.patch, r.effects, enqueue);
}

export function createQueueServer(options: QueueServerOptions) {
  return setup({
    types: {
      context: {} as QueueServerContext,
      events: {} as ServerEvent,
      input: {} as { ackTimeoutMs?: number; maxMatchSteps?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
    },
  }).createMachine({
    id: 'offline-queue-server',
    context: ({ input }) => initialQueueContext(input),
    initial: 'serving',
    states: {
      serving: {
        tags: ['server'],
        on: {
          REQUEST: [
            // A dead handler thread reads nothing more from its connection.
            { guard: ({ context, event }) => context.deadThreads[event.from] === true },
            {
              guard: ({ context, event }) => !options.linearPatterns && event.opcode === 6 && listCost(context, event.msg, false).exhausted,
              target: 'spinning',
              actions: {
                type: 'print',
                params: ({ context, event }) => ({
                  kind: 'status',
                  text: `list ${JSON.stringify(event.msg)}: the regular expression is still backtracking after ${context.maxMatchSteps} steps`,
                  data: { event: 'list', by: event.from, pattern: event.msg, steps: context.maxMatchSteps + 1, exhausted: true },
                }),
              },
            },
            {
              actions: enqueueActions(({ context, event, enqueue }) => {
                const r = serve(context, event.from, event, options);
                apply(context, r.patch, r.effects, enqueue);
              }),
            },
          ],
          'ack.timeout': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (!(context.unacked[event.account] ?? []).some((p) => p.ref === event.ref)) return;
              const conn = context.accounts[event.account]?.conn ?? null;
              const r = requeueUnacked(context, event.account, 'no confirmation in time', options);
              apply(context, { ...r.patch, sessions: conn !== null ? without(context.sessions, conn) : context.sessions }, r.effects, enqueue);
              if (conn !== null) enqueue({ type: 'send', params: { to: conn, msg: reply(Reply.forcedOut, `${event.account}: deliveries were not confirmed`) } });
            }),
          },
          'conn.reset': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.detectDisconnect) connectionLost(context, event.peer, 'connection reset', options, enqueue);
            }),
          },
          'conn.closed': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.detectDisconnect) connectionLost(context, event.peer, 'connection closed', options, enqueue);
            }),
          },
          'conn.refused': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.detectDisconnect) {
                connectionLost(context, event.peer, 'write failed', options, enqueue);
                return;
              }
              // The seed's rule: a write that fails means the client died; queue the message.
              const last = context.lastPush[event.peer];
              if (!last) return;
              const acct = context.accounts[last.account];
              enqueue.assign({ lastPush: without(context.lastPush, event.peer) });
              if (!acct) return;
              enqueue.assign({
                accounts: { ...context.accounts, [last.account]: { ...acct, conn: acct.conn === event.peer ? null : acct.conn, queue: [...acct.queue, last.letter] } },
              });
              enqueue({ type: 'print', params: { kind: 'status', text: `${last.account}: write failed, message queued`, data: { event: 'requeue', account: last.account, count: 1 } } });
            }),
          },
        },
      },
      // Stuck in the regular-expression engine: nothing else is served, for ever.
      spinning: { tags: ['server'] },
    },
  });
}
