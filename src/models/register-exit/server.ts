/**
 * The register-exit routing server (seed 003, PROTOCOLS.md section 4). It keeps the seed's map
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
 *  - The server's person types `EXIT` to shut it down: every registered client is told (Exit set).
 *
 * Decisions are logged to the server console (`print` kind `status`, `data.event`), which the
 * history properties read.
 */
import { enqueueActions, setup } from 'xstate';
import type { PrintParams, SendParams } from '../types.js';
import { errorSender, isKeepalive, notConnectedText, routeMessage, type RouteMessage } from './messages.js';

export interface RouteServerContext {
  /** user name -> the node whose connection registered it */
  conns: Record<string, string>;
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

export interface RouteServerOptions {
  /** fixed: the name is the one this connection registered; From, Register and Exit cannot name others */
  identityFromConnection: boolean;
  /** fixed: one decoder per connection, so nothing is lost between messages */
  decoderPerConnection: boolean;
  /** fixed: a reset, closed, failed or silent (keepalive timeout) connection is unregistered */
  detectVanished: boolean;
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

/** The name registered by connection `conn`, if any. */
function nameOf(ctx: RouteServerContext, conn: string): string | null {
  for (const [name, c] of Object.entries(ctx.conns)) if (c === conn) return name;
  return null;
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/** Forgets a vanished connection (fixed only). */
function forget(ctx: RouteServerContext, conn: string, reason: string, enqueue: Enqueue): void {
  const name = nameOf(ctx, conn);
  enqueue.assign({ conns: name !== null ? without(ctx.conns, name) : ctx.conns, missed: without(ctx.missed, conn) });
  if (name !== null) enqueue({ type: 'print', params: log(`${name} unregistered (${reason})`, { event: 'unregister', name, by: conn, owner: conn, reason }) });
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
              if (isKeepalive(event)) return;
              const own = nameOf(context, conn);
              if (event.register) {
                const prev = context.conns[event.sender];
                if (options.identityFromConnection && ((prev !== undefined && prev !== conn) || (own !== null && own !== event.sender))) {
                  enqueue({ type: 'print', params: log(`${conn} refused: ${event.sender} is taken`, { event: 'refuse-register', name: event.sender, by: conn, owner: prev ?? conn }) });
                  enqueue({ type: 'send', params: { to: conn, msg: routeMessage({ sender: errorSender, content: `The name ${event.sender} is already taken` }) } });
                  enqueue({ type: 'close', params: { peer: conn } });
                  if (options.detectVanished) enqueue.assign({ missed: without(context.missed, conn) });
                  return;
                }
                enqueue.assign({ conns: { ...context.conns, [event.sender]: conn } });
                enqueue({
                  type: 'print',
                  params: log(`${event.sender} registered on ${conn}${prev !== undefined && prev !== conn ? ` (replacing ${prev})` : ''}`, {
                    event: 'register',
                    name: event.sender,
                    by: conn,
                    replaced: prev !== undefined && prev !== conn ? prev : null,
                  }),
                });
                return;
              }
              const sender = options.identityFromConnection ? own : event.sender;
              if (event.exit) {
                const name = options.identityFromConnection ? own : event.sender;
                if (name !== null && context.conns[name] !== undefined) {
                  enqueue.assign({ conns: without(context.conns, name) });
                  enqueue({ type: 'print', params: log(`${name} unregistered by ${conn}`, { event: 'unregister', name, by: conn, owner: context.conns[name], reason: 'exit' }) });
                }
                if (options.detectVanished) enqueue.assign({ missed: without(context.missed, conn) });
                enqueue({ type: 'close', params: { peer: conn } });
                return;
              }
              if (sender === null) {
                enqueue({ type: 'print', params: log(`message from unregistered ${conn} refused`, { event: 'reject', by: conn, to: event.to, content: event.content }) });
                enqueue({ type: 'send', params: { to: conn, msg: routeMessage({ sender: errorSender, content: 'Register first' }) } });
                return;
              }
              const target = context.conns[event.to];
              if (target === undefined) {
                enqueue({ type: 'print', params: log(`${sender} -> ${event.to}: not connected`, { event: 'reject', by: conn, sender, to: event.to, content: event.content }) });
                enqueue({ type: 'send', params: { to: conn, msg: routeMessage({ sender: errorSender, content: notConnectedText }) } });
                return;
              }
              enqueue({ type: 'print', params: log(`${sender} -> ${event.to} (${target}): ${JSON.stringify(event.content)}`, { event: 'forward', by: conn, sender, to: event.to, toConn: target, content: event.content }) });
              enqueue({ type: 'send', params: { to: target, msg: routeMessage({ to: event.to, sender, content: event.content }) } });
            }),
          },
          'decoder.done': {
            actions: enqueueActions(({ context, event, enqueue }) => enqueue.assign({ readAhead: without(context.readAhead, event.conn) })),
          },
          'conn.reset': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.detectVanished) forget(context, event.peer, 'connection reset', enqueue);
            }),
          },
          'conn.closed': {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (options.detectVanished) forget(context, event.peer, 'connection closed', enqueue);
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
            { actions: enqueueActions(({ context, event, enqueue }) => forget(context, event.peer, 'write failed', enqueue)) },
          ],
          'user.input': {
            guard: ({ event }) => event.text.trim() === 'EXIT',
            target: 'down',
            actions: enqueueActions(({ context, enqueue }) => {
              enqueue.assign({ exitReason: 'EXIT' });
              enqueue({ type: 'print', params: log('shutting down', { event: 'shutdown' }) });
              for (const conn of [...new Set(Object.values(context.conns))].sort()) {
                enqueue({ type: 'send', params: { to: conn, msg: routeMessage({ sender: 'server', exit: true }) } });
              }
            }),
          },
        },
      },
      down: { type: 'final' },
    },
  });
}
