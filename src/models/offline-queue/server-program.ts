/**
 * The offline-queue reference server as the generic host runs it (src/servers/rules-host.ts): the
 * `fixed` rules of serve.ts (the same functions the live oracle steps) over Protocol Buffers with
 * the seed's schema, length-delimited (default) or raw framing.
 *
 * What this adds to the rules, and only this:
 *  - the wire (wire.ts): Client2Server in, Server2Client out; the rules' "refused" reply (19) is
 *    opcode 0 with the reason, and "logged out because opened elsewhere" (20) is the seed's 11. A
 *    request of another version than 0.1 or an opcode outside 1..7 never reaches the rules: it gets
 *    opcode 0;
 *  - the delivery confirmation the seed asks for, without an ack opcode on the wire (the same
 *    reading as the oracle's mapping, mapping.ts): a push counts as confirmed, and the rules' `ack`
 *    is stepped for it, once its bytes left the server and the recipient then sends anything,
 *    closes cleanly, or `deliveryConfirmMs` passes without a connection error. A push not confirmed
 *    when its connection fails or is closed by the server goes back to the recipient's queue (the
 *    rules' `disconnect`). Within that window a recipient that did read the push may see it again on
 *    check: where the outcome is indefinite a duplicate beats a loss;
 *  - the named defects: all but one are options of the rules (`QueueDefects`); `lose-back-to-back`
 *    is a variation of the host (only the first request of one read is served).
 */
import { keepClosedConnectionsDefect, keepConnectionBuffersDefect, readIsMessageDefect, type ServerEffect, type ServerSetup, type ServerStep, type StreamServer } from '../server-program.js';
import type { QueueLimits } from './limits.js';
import { Op, request as queueRequest, type QueueReply } from './messages.js';
import { disconnect, initialQueueContext, serve, type QueueDefects, type QueueServerContext, type QueueServerOptions, type ServeResult } from './serve.js';
import { offlineQueueSchema, offlineQueueVersion, ServerOp, toServer2Client, type Client2Server, type Server2Client } from './wire.js';

/** The named flaws of the reference server. */
export const offlineQueueDefects = [
  { name: 'drop-offline-queue', description: 'messages to an offline recipient are acknowledged but never queued' },
  { name: 'reorder-queue', description: 'check returns queued messages newest first' },
  { name: 'trust-sender-field', description: 'the sender of a message is the sender field the client filled in, not its login' },
  { name: 'lose-back-to-back', description: 'only the first of several requests arriving in one read is handled' },
  { name: 'deliver-to-deleted', description: 'a deleted account that was online still receives messages sent to its name' },
  { name: 'regex-pattern', description: 'list runs the pattern as a regular expression (bounded: only names up to 16 characters are tried)' },
  { name: 'drop-on-dead-connection', description: 'a message pushed to a recipient whose connection died is dropped instead of queued' },
  readIsMessageDefect,
  keepClosedConnectionsDefect,
  keepConnectionBuffersDefect,
] as const;

/** The defects that are variations of the rules. */
const ruleDefects: Record<string, QueueDefects> = {
  'drop-offline-queue': { dropOfflineQueue: true },
  'reorder-queue': { newestFirst: true },
  'trust-sender-field': { authorFromSenderField: true },
  'deliver-to-deleted': { deliverToDeleted: true },
  'regex-pattern': { regexPatterns: true },
  'drop-on-dead-connection': { dropUnconfirmed: true },
};

/** The rules' options for a server with these limits and defect: the model's `fixed` variant. */
export function offlineQueueRuleOptions(fixed: QueueServerOptions, limits: QueueLimits, defect: string | undefined): QueueServerOptions {
  return { ...fixed, limits, ...(defect !== undefined && ruleDefects[defect] ? { defects: ruleDefects[defect] } : {}) };
}

type Out = Pick<Server2Client, 'opcode' | 'msg'>;

/** A push written to a connection and not yet confirmed: when its bytes left, if they did. */
interface Unconfirmed {
  ref: number;
  flushedAtMs: number | null;
}

interface State {
  ctx: QueueServerContext;
  /** per connection, its unconfirmed pushes in the order they were sent */
  unconfirmed: Record<string, Unconfirmed[]>;
}

const timerId = (conn: string, ref: number): string => `confirm ${ref} ${conn}`;

/** The rules' result on the state, its effects for the host (pushes tagged by their ref). */
function apply(state: State, r: ServeResult, effects: ServerEffect<Out>[] = []): ServerStep<State, Out> {
  const unconfirmed = { ...state.unconfirmed };
  for (const e of r.effects) {
    if (e.type === 'cancelAckTimer') {
      for (const [conn, list] of Object.entries(unconfirmed)) {
        const kept = list.filter((u) => u.ref !== e.ref);
        if (kept.length === list.length) continue;
        unconfirmed[conn] = kept;
        effects.push({ type: 'cancel', id: timerId(conn, e.ref) });
      }
    } else if (e.type === 'send') {
      const { to, msg } = e.params as { to: string; msg: QueueReply };
      if (msg.ref !== undefined) unconfirmed[to] = [...(unconfirmed[to] ?? []).filter((u) => u.ref !== msg.ref), { ref: msg.ref, flushedAtMs: null }];
      effects.push({ type: 'send', conn: to, out: toServer2Client(msg), ...(msg.ref !== undefined ? { tag: String(msg.ref) } : {}) });
    } else if (e.type === 'print' && e.params.data?.event === 'requeue') {
      effects.push({ type: 'log', text: `offline-queue: ${e.params.text}` });
    }
  }
  return { state: { ctx: { ...state.ctx, ...r.patch }, unconfirmed }, effects };
}

/** Confirms the pushes to `conn` whose bytes left (all, or the one numbered `only`): the rules' ack, in the order sent. */
function confirm(options: QueueServerOptions, state: State, conn: string, only?: number): ServerStep<State, Out> {
  let s = state;
  const effects: ServerEffect<Out>[] = [];
  for (const u of state.unconfirmed[conn] ?? []) {
    if (u.flushedAtMs === null || (only !== undefined && u.ref !== only)) continue;
    if (!(s.unconfirmed[conn] ?? []).some((x) => x.ref === u.ref)) continue;
    s = apply(s, serve(s.ctx, conn, queueRequest(Op.ack, { msg: String(u.ref) }), options), effects).state;
  }
  return { state: s, effects };
}

/** A request of another version, or an opcode outside 1..7, never reaches the rules: it gets opcode 0. */
function unservable(req: Client2Server): string | null {
  if (req.version !== offlineQueueVersion) return `unsupported version ${JSON.stringify(req.version)}; this server speaks ${offlineQueueVersion}`;
  if (!Number.isInteger(req.opcode) || req.opcode < Op.create || req.opcode > Op.quit) return `unknown opcode ${req.opcode}; requests are 1..7`;
  return null;
}

/**
 * The server for one run. Options: `framing` (`length-delimited`, the default, or `raw`, one message
 * per read as the seed), `deliveryConfirmMs` (default 2000).
 */
export function offlineQueueServer(fixed: QueueServerOptions, setup: ServerSetup): StreamServer<State, Client2Server, Out> | { problem: string } {
  const framing = setup.options.framing ?? 'length-delimited';
  if (framing !== 'length-delimited' && framing !== 'raw') return { problem: `framing must be length-delimited or raw, got ${JSON.stringify(framing)}` };
  const deliveryConfirmMs = setup.options.deliveryConfirmMs ?? 2000;
  if (typeof deliveryConfirmMs !== 'number' || !Number.isFinite(deliveryConfirmMs) || deliveryConfirmMs < 0) {
    return { problem: `deliveryConfirmMs must be a number >= 0, got ${String(deliveryConfirmMs)}` };
  }
  const options = offlineQueueRuleOptions(fixed, setup.limits, setup.defect);
  return {
    wire: {
      format: 'protobuf',
      schema: offlineQueueSchema,
      framing,
      decode: (m) => ({ request: m as unknown as Client2Server }),
      encode: (out) => ({ ...out }),
      errorReply: (text) => ({ opcode: ServerOp.error, msg: text }),
    },
    ...(setup.defect === 'lose-back-to-back' ? { perRead: <T>(decoded: T[]): T[] => decoded.slice(0, 1) } : {}),
    ...(setup.defect === readIsMessageDefect.name ? { readIsMessage: true } : {}),
    ...(setup.defect === keepClosedConnectionsDefect.name ? { keepClosedConnections: true } : {}),
    ...(setup.defect === keepConnectionBuffersDefect.name ? { keepConnectionBuffers: true } : {}),
    rules: {
      init: () => ({ ctx: initialQueueContext(), unconfirmed: {} }),
      heard: (state, conn) => confirm(options, state, conn),
      request(state, conn, req) {
        const refused = unservable(req);
        if (refused !== null) return { state, effects: [{ type: 'send', conn, out: { opcode: ServerOp.error, msg: refused } }] };
        return apply(state, serve(state.ctx, conn, queueRequest(req.opcode, { sender: req.sender, receiver: req.receiver, msg: req.msg }), options));
      },
      flushed(state, conn, tag, ok, nowMs) {
        const ref = Number(tag);
        const list = state.unconfirmed[conn];
        if (!ok || list === undefined || !list.some((u) => u.ref === ref && u.flushedAtMs === null)) return { state, effects: [] };
        const unconfirmed = { ...state.unconfirmed, [conn]: list.map((u) => (u.ref === ref ? { ...u, flushedAtMs: nowMs } : u)) };
        return { state: { ...state, unconfirmed }, effects: [{ type: 'timer', id: timerId(conn, ref), afterMs: deliveryConfirmMs }] };
      },
      // `deliveryConfirmMs` after its bytes left, a push not yet confirmed otherwise is.
      timer(state, id) {
        const [, ref, conn] = /^confirm (\d+) (.*)$/s.exec(id) ?? [];
        return ref === undefined || conn === undefined ? { state, effects: [] } : confirm(options, state, conn, Number(ref));
      },
      closed(state, conn, end) {
        // A clean close: what reached the kernel before it was read (an unread push makes the peer's
        // close a reset, not a clean close) counts as delivered; the rest goes back to the queue.
        const confirmed = !end.hadError && !end.byServer ? confirm(options, state, conn) : { state, effects: [] };
        const step = apply(confirmed.state, disconnect(confirmed.state.ctx, conn, end.reason, options), [...confirmed.effects]);
        const effects = [...step.effects, ...(step.state.unconfirmed[conn] ?? []).map((u) => ({ type: 'cancel' as const, id: timerId(conn, u.ref) }))];
        const { [conn]: _gone, ...unconfirmed } = step.state.unconfirmed;
        return { state: { ...step.state, unconfirmed }, effects };
      },
    },
  };
}
