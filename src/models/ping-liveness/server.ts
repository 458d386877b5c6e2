/**
 * The ping-liveness server (seed 002, docs/protocols.md section 3). One machine serves every client
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
 * Each request and disconnect is answered by the rules of serve.ts (the functions the reference
 * server runs; the readings decided between the model and the server are listed there); this
 * machine adds the clock: the sweep that counts silent sweeps and calls `expire`.
 * Every decision is also logged to the server console (`print` kind `status` with `data.event`), the
 * way a course server prints what it does; history properties read those lines.
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import type { PingRequest } from './messages.js';
import { disconnect, expire, handleRequest, type PingEffect, type PingServerOptions, type PingSessions, type Session } from './serve.js';

export type { PingServerOptions, Session } from './serve.js';

export interface PingServerContext extends PingSessions {
  sweepMs: number;
  /** a session is dropped at the sweep after more than this many silent sweeps */
  maxMissedSweeps: number;
  /** the promise made to a user whose client died: the lock-out ends within this (for checks) */
  lockoutBoundMs: number;
}

type ServerEvent =
  | (PingRequest & { from: string })
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

type Enqueue = {
  assign(a: Partial<PingServerContext>): void;
  (action: { type: 'print'; params: PrintParams } | { type: 'send'; params: SendParams }): void;
};

/** Carries out what the rules decided (`alive` is already in the patch: the session's `missed` is 0). */
function apply(patch: Partial<PingSessions>, effects: readonly PingEffect[], enqueue: Enqueue): void {
  if (Object.keys(patch).length > 0) enqueue.assign(patch);
  for (const e of effects) if (e.type !== 'alive') enqueue(e);
}

export function createPingServer(options: PingServerOptions) {
  /** Answers one request with the rules of serve.ts. */
  const answer = (context: PingServerContext, event: PingRequest & { from: string }, enqueue: Enqueue): void => {
    const { from, ...req } = event;
    const r = handleRequest(context, from, req as PingRequest, options);
    apply(r.patch, r.effects, enqueue);
  };
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
                        sessions[id] = { ...s, missed };
                      }
                      const r = expire({ ...context, sessions }, expired, 'session timed out');
                      apply({ sessions, ...r.patch }, r.effects, enqueue);
                    }),
                  },
                }
              : {},
          },
        },
        on: {
          VERSION_REQUEST: { actions: enqueueActions(({ context, event, enqueue }) => answer(context, event, enqueue)) },
          LOGIN_REQUEST: { actions: enqueueActions(({ context, event, enqueue }) => answer(context, event, enqueue)) },
          CHAT: { actions: enqueueActions(({ context, event, enqueue }) => answer(context, event, enqueue)) },
          PING: { actions: enqueueActions(({ context, event, enqueue }) => answer(context, event, enqueue)) },
          LOGOUT: { actions: enqueueActions(({ context, event, enqueue }) => answer(context, event, enqueue)) },
          'conn.reset': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              const r = disconnect(context, event.peer, options);
              apply(r.patch, r.effects, enqueue);
            }),
          },
          'conn.closed': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              const r = disconnect(context, event.peer, options);
              apply(r.patch, r.effects, enqueue);
            }),
          },
        },
      },
    },
  });
}
