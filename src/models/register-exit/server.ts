/**
 * The register-exit routing server (seed 003, docs/protocols.md section 4). It keeps the seed's map
 * from user name to connection and forwards each `send` to the named user.
 *
 * Readings the seed leaves open, and the ones taken here:
 *  - Register, Exit and From are taken from the message as the client filled them in (the seed
 *    names this as its security problem): a register under a name in use replaces the earlier
 *    connection, and Exit unregisters whatever name `From` says, then closes the connection it
 *    came on ("closes that single connection and removes the user from the register").
 *  - A client that vanishes without Exit: its handler's read fails and the goroutine returns, but
 *    nothing removes its name, so it stays registered (the seed's Exiting section).
 *  - Messages sent close together: the client makes a new gob encoder per message, so the server
 *    (the usual mirror of that code) makes a new `gob.Decoder` per message; a decoder reads ahead
 *    through a buffer, and bytes of a message that arrived with the previous one are thrown away
 *    with the old decoder. Modelled as: a message from a connection that arrives within
 *    `readAheadMs` of the previous one is lost without a trace.
 *  - A write to a dead connection fails; like much course Go code the handler treats that error with
 *    `log.Fatal`, so the whole server goes down ("one bad or vanished client must not take the
 *    server down" is what the checks look for).
 *  - The server's person types `EXIT` to shut it down: every client it knows of is told (Exit set).
 *
 * Each message and disconnect is answered by the rules of serve.ts (the functions the reference
 * server runs, where the readings decided between the model and the server are listed); this
 * machine adds what happens between messages: the read-ahead window, the keepalive sweep, log.Fatal.
 * Decisions are logged to the server console (`print` kind `status`, `data.event`), which the
 * history properties read.
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import type { RouteMessage } from './messages.js';
import { disconnect, handleMessage, nameOf, shutdown, type RouteEffect, type RouteRegistry, type RouteServerOptions } from './serve.js';

export type { RouteServerOptions } from './serve.js';

export interface RouteServerContext extends RouteRegistry {
  /** connections inside a gob decoder's read-ahead window (faithful) */
  readAhead: Record<string, true>;
  readAheadMs: number;
  /** fixed: sweeps each connection has been silent for */
  missed: Record<string, number>;
  sweepMs: number;
  maxMissedSweeps: number;
  /** how soon a vanished client is unregistered (the fixed server's promise; for checks) */
  detectBoundMs: number;
  /** why the server process ended: `EXIT` typed by its person, or a fatal error */
  exitReason: string;
}

type ServerEvent =
  | (RouteMessage & { from: string })
  | { type: 'decoder.done'; conn: string }
  | { type: 'user.input'; text: string }
  | { type: 'conn.reset'; peer: string }
  | { type: 'conn.closed'; peer: string }
  | { type: 'conn.refused'; peer: string };

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

type Enqueue = {
  assign(a: Partial<RouteServerContext>): void;
  (action: { type: 'print'; params: PrintParams } | { type: 'send'; params: SendParams } | { type: 'close'; params: { peer: string } }): void;
};

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/** Carries out what the rules decided (a defect's crash never runs in the model's variants). */
function apply(patch: Partial<RouteRegistry>, effects: readonly RouteEffect[], enqueue: Enqueue): void {
  if (patch.conns !== undefined) enqueue.assign({ conns: patch.conns });
  for (const e of effects) if (e.type !== 'crash') enqueue(e);
}

/** A vanished connection: the rules decide (fixed: forgotten); the keepalive sweep stops watching it. */
function forget(ctx: RouteServerContext, conn: string, reason: string, options: RouteServerOptions, enqueue: Enqueue): void {
  const r = disconnect(ctx, conn, { reason, byServer: false }, options);
  if (options.detectVanished) enqueue.assign({ missed: without(ctx.missed, conn) });
  apply(r.patch, r.effects, enqueue);
}

export function createRouteServer(options: RouteServerOptions) {
  return setup({
    types: {
      context: {} as RouteServerContext,
      events: {} as ServerEvent,
      input: {} as { readAheadMs?: number; sweepMs?: number; timeoutMs?: number },
    },
    actions: {
      send: (_, _params: SendParams) => {},
      print: (_, _params: PrintParams) => {},
      close: (_, _params: { peer: string }) => {},
    },
    guards: {
      watching: ({ context }) => options.detectVanished && Object.keys(context.missed).length > 0,
      idle: ({ context }) => !options.detectVanished || Object.keys(context.missed).length === 0,
    },
    delays: {
      sweep: ({ context }) => context.sweepMs,
    },
  }).createMachine({
    id: 'register-exit-server',
    context: ({ input }) => {
      const sweepMs = input.sweepMs ?? 10_000;
      const maxMissedSweeps = Math.max(1, Math.ceil((input.timeoutMs ?? 30_000) / sweepMs) - 1);
      return {
        conns: {},
        readAhead: {},
        readAheadMs: input.readAheadMs ?? 3,
        missed: {},
        sweepMs,
        maxMissedSweeps,
        detectBoundMs: (maxMissedSweeps + 1) * sweepMs + 1000,
        exitReason: '',
      };
    },
    initial: 'serving',
    states: {
      serving: {
        tags: ['server'],
        // The server's own terminal: its person may type EXIT (no `awaitingUser` tag: a server
        // waiting for its operator is not a client waiting for its person).
        entry: { type: 'print', params: { kind: 'prompt', text: '' } },
        initial: 'quiet',
        states: {
          quiet: { always: { guard: 'watching', target: 'sweeping' } },
          sweeping: {
            always: { guard: 'idle', target: 'quiet' },
            after: {
              sweep: {
                target: 'sweeping',
                reenter: true,
                actions: enqueueActions(({ context, enqueue }) => {
                  const missed: Record<string, number> = {};
                  const expired: string[] = [];
                  for (const [conn, n] of Object.entries(context.missed)) {
                    if (n + 1 > context.maxMissedSweeps) expired.push(conn);
                    else missed[conn] = n + 1;
                  }
                  let conns = context.conns;
                  for (const conn of expired) {
                    const name = nameOf(context, conn);
                    if (name !== null) {
                      conns = without(conns, name);
                      enqueue({ type: 'print', params: log(`${name} unregistered (silent for too long)`, { event: 'unregister', name, by: conn, owner: conn, reason: 'timeout' }) });
                    }
                    enqueue({ type: 'close', params: { peer: conn } });
                  }
                  enqueue.assign({ missed, conns });
                }),
              },
            },
          },
        },
        on: {
          MESSAGE: {
            actions: enqueueActions(({ context, event, enqueue }) => {
              const conn = event.from;
              if (!options.decoderPerConnection) {
                if (context.readAhead[conn]) return; // read ahead into a decoder that was thrown away
                enqueue.assign({ readAhead: { ...context.readAhead, [conn]: true } });
                enqueue.raise({ type: 'decoder.done', conn }, { delay: context.readAheadMs, id: `decoder-${conn}` });
              }
              if (options.detectVanished) enqueue.assign({ missed: { ...context.missed, [conn]: 0 } });
              const { from: _from, ...msg } = event;
              const r = handleMessage(context, conn, msg, options);
              apply(r.patch, r.effects, enqueue);
              if (msg.exit && options.detectVanished) enqueue.assign({ missed: without(context.missed, conn) });
            }),
          },
          'decoder.done': {
            actions: enqueueActions(({ context, event, enqueue }) => enqueue.assign({ readAhead: without(context.readAhead, event.conn) })),
          },
          'conn.reset': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              forget(context, event.peer, 'connection reset', options, enqueue);
            }),
          },
          'conn.closed': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              forget(context, event.peer, 'connection closed', options, enqueue);
            }),
          },
          'conn.refused': [
            {
              // A write to a dead connection failed: the faithful handler calls log.Fatal.
              guard: () => !options.detectVanished,
              target: 'down',
              actions: [
                { type: 'print', params: ({ event }) => log(`write to ${event.peer}: broken pipe (log.Fatal)`, { event: 'fatal', peer: event.peer }) },
                enqueueActions(({ event, enqueue }) => enqueue.assign({ exitReason: `log.Fatal after a write to ${event.peer} failed` })),
              ],
            },
            { actions: enqueueActions(({ context, event, enqueue }) => forget(context, event.peer, 'write failed', options, enqueue)) },
          ],
          'user.input': {
            guard: ({ event }) => event.text.trim() === 'EXIT',
            target: 'down',
            actions: enqueueActions(({ context, enqueue }) => {
              enqueue.assign({ exitReason: 'EXIT' });
              // The connections the model knows of: registered ones, and (fixed) every one heard from.
              apply({}, shutdown([...Object.values(context.conns), ...Object.keys(context.missed)]), enqueue);
            }),
          },
        },
      },
      down: { type: 'final' },
    },
  });
}
