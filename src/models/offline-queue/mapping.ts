/**
 * offline-queue: how the server model's `REQUEST`/`REPLY` (messages.ts)
 * meet the wire's Client2Server/Server2Client (docs/protocols.md section 5), for the model oracle.
 *
 * The fixed model extends the seed with three opcodes of its own; docs/protocols.md has none of them,
 * so the mapping settles each:
 *  - the client's delivery confirmation (opcode 8, with the push's `ref`): docs/protocols.md has no
 *    such request; a server confirms a push by what the recipient does next. So every request a
 *    client sends first confirms every push to its account that it had received (the model's ack
 *    events; a push still on its way when the request was written may count or not), and the
 *    model's confirmation timer is not run. A disconnect (or a login elsewhere, which moves the
 *    account away from the connection) may come before or after a confirmation
 *    the harness cannot see: for a push the client was seen to receive, or any push when the client
 *    closed cleanly (the bytes were in its socket), both outcomes stay possible (a duplicate on the
 *    next check is allowed, a loss is not); a push the client never received must be queued again;
 *  - "logged out because the account was opened elsewhere" (20) is docs/protocols.md's 11 (logged out);
 *  - "too long" (19): docs/protocols.md asks only for a clear error, so any reply other than the
 *    request's success opcode is accepted (the reference server sends its opcode 0).
 * Requests the model cannot represent (another version than 0.1, an opcode outside 1..7, bytes that
 * are not a Client2Server) are not stepped: the server may answer with an error or not at all; a
 * wrong version must get a reply that is not a success.
 * Reply texts are compared where docs/protocols.md fixes them (6 and 8: `sender:text\n` per message, in
 * order; 10: the matching names, one per line, in any order; 17: `sender:text\n`); elsewhere the
 * text is the server's own.
 *
 * What docs/protocols.md fixes and what it leaves open: `offlineQueueMarking` below. The default oracle
 * checks the normative parts; `--strict` holds the server to the reference server's choices too.
 */
import type { Comparison, Expectation, Inbound, Marking, MappingOptions, ModelEvent, WireMapping, WorldView } from '../live-types.js';
import { mayClose, optional, show } from '../live-types.js';
import type { ModelVariant, ProtocolMessage } from '../types.js';
import { Op, Reply, type QueueReply } from './messages.js';
import { offlineQueueVersion } from './wire.js';

/** offline-queue: what the protocol fixes (always checked) and what it leaves open (`--strict`). */
export const offlineQueueMarking: Marking = {
  normative: [
    'the reply opcode to every request (1..18 as docs/protocols.md numbers them), to the requesting connection',
    'pushes (17, `sender:text\n`) to the recipient\'s connection only, with the sender\'s logged-in name',
    'queue contents (6 on check, 8 on delete: `sender:text\n` each, in order, nothing lost or twice) and list results (10: the matching names, in any order)',
    'state: accounts, the login of each connection (a login elsewhere moves it), queues cleared by check, deleted accounts receive nothing, limits (25-character names, 100-character messages) refused',
  ],
  illustrative: [
    { id: 'reply-text', what: 'the text of replies docs/protocols.md does not fix (1, 2, 3, 4, 5, 7, 9, 11..16, 18)', strict: 'not compared either' },
    { id: 'moved-notice', what: 'opcode 11 pushed to the session whose account logged in elsewhere (it may be logged out silently: its next request says so)', strict: '11 pushed, as the reference server' },
    { id: 'close-after-logout', what: 'the connection closed or kept after a logout (11)', strict: 'kept open' },
    { id: 'push-delivery', what: 'a push to a connection that later breaks: counted delivered once written to a socket that was open, or queued again (the delivery-confirmation rule)', strict: 'queued again unless the recipient was seen to get it' },
    { id: 'error-opcode', what: 'the reply to a wrong version, an unknown opcode or bytes that are not a request (protosim\'s opcode 0): any refusal, or nothing', strict: 'the same (opcode-0 cases are strict-only)' },
  ],
};

type Wire = { opcode?: unknown; msg?: unknown; version?: unknown; sender?: unknown; receiver?: unknown };

const successes = new Set<number>([Reply.created, Reply.sent, Reply.unread, Reply.deleted, Reply.listResult, Reply.loggedOut, Reply.loggedIn, Reply.switched]);

const refusal = (what: string): Expectation => ({
  kind: 'wire',
  description: `a reply refusing ${what} (an error opcode, e.g. 0; not a success)`,
  test: (wire) => {
    const op = (wire as Wire)?.opcode;
    if (typeof op !== 'number') return `expected a reply, got ${show(wire)}`;
    return successes.has(op) ? `opcode ${op} accepts it` : null;
  },
});

const anyReply: Expectation = {
  kind: 'wire',
  description: 'an error reply (e.g. opcode 0) or nothing',
  test: (wire) => (typeof (wire as Wire)?.opcode === 'number' && !successes.has((wire as Wire).opcode as number) ? null : `expected an error reply, got ${show(wire)}`),
};

const lineSet = (text: string): string => JSON.stringify(text.split('\n').filter((l) => l !== '').sort());

interface Pending {
  ref: number;
}

/** The refs of pushes to `client`'s account not yet confirmed, in this world. */
function unackedOf(client: string, world: WorldView): number[] {
  const sessions = (world.context.sessions ?? {}) as Record<string, { name: string }>;
  const name = sessions[client]?.name;
  if (name === undefined) return [];
  const accounts = (world.context.accounts ?? {}) as Record<string, { conn: string | null }>;
  if (accounts[name]?.conn !== client) return [];
  const unacked = (world.context.unacked ?? {}) as Record<string, Pending[]>;
  return (unacked[name] ?? []).map((p) => p.ref);
}

/**
 * The confirmations a request of `client` carries: every push it had received; one still on its way
 * (the request was written before the push arrived, as in a burst) may be taken as confirmed or not.
 */
function confirmationsBefore(client: string, world: WorldView): ModelEvent[][] {
  const seen = new Set((world.notes[`seen:${client}`] as number[] | undefined) ?? []);
  const unacked = unackedOf(client, world);
  const sure = unacked.filter((ref) => seen.has(ref)).map((ref) => ack(client, ref));
  const unseen = unacked.filter((ref) => !seen.has(ref)).map((ref) => ack(client, ref));
  return unseen.length === 0 ? [sure] : [[...sure, ...unseen], sure];
}

/**
 * A login to account `name` while it is logged in on another connection moves it here: the pushes
 * that connection had (like a connection that breaks, `beforeDisconnect`) may count as delivered,
 * or be queued again. Illustrative (default): any push written to its socket; strict: the pushes
 * it was seen to receive. (A correct server that takes a push written to an open socket as
 * delivered does not give it again on the next check; the reference server gives it again.)
 */
function deliveredBeforeMove(client: string, name: string, world: WorldView, strict: boolean): ModelEvent[][] {
  const accounts = (world.context.accounts ?? {}) as Record<string, { conn: string | null }>;
  const other = accounts[name]?.conn;
  if (other === undefined || other === null || other === client) return [[]];
  const seen = new Set((world.notes[`seen:${other}`] as number[] | undefined) ?? []);
  const maybe = unackedOf(other, world).filter((ref) => seen.has(ref) || !strict);
  return maybe.length === 0 ? [[]] : [[], maybe.map((ref) => ack(other, ref))];
}

const ack = (client: string, ref: number): ModelEvent => ({ type: 'REQUEST', opcode: Op.ack, sender: '', receiver: '', msg: String(ref), from: client });

/** The oracle's mapping: the `fixed` variant's server unless `server` names another. */
export function offlineQueueMapping(fixed: ModelVariant, { server, strict }: MappingOptions): WireMapping {
  const role = server?.role ?? fixed.roles.server!;
  return {
    name: `offline-queue (${server?.variantName ?? 'fixed'}) server model${strict ? ', strict' : ''}`,
    role,
    strict,
    marking: offlineQueueMarking,

    expand(msg: ProtocolMessage): Expectation[] {
      const shown: Expectation = { kind: 'message', msg };
      if (strict) return [shown];
      const op = (msg as QueueReply).opcode;
      if (op === Reply.forcedOut) return [optional(shown), mayClose];
      if (op === Reply.loggedOut) return [shown, mayClose];
      return [shown];
    },
    // The model's confirmation timer is not the wire's: confirmations are implicit (see above).
    input: { ...(server?.input ?? role.input({ self: 'server', nodesByRole: { server: ['server'] }, params: {} })), ackTimeoutMs: 1e12 },

    inbound(client: string, wire: unknown, world: WorldView): Inbound[] {
      const w = wire as Wire;
      const unmodelled: Inbound[] = [{ events: [] }, { events: [], extra: [anyReply] }];
      if (typeof w !== 'object' || w === null) return unmodelled;
      const version = w.version ?? offlineQueueVersion;
      if (version !== offlineQueueVersion) return [{ events: [], extra: [refusal(`version ${show(version)}`)] }];
      const opcode = typeof w.opcode === 'number' ? w.opcode : 0;
      if (!Number.isInteger(opcode) || opcode < Op.create || opcode > Op.quit) return unmodelled;
      const text = (v: unknown): string => (typeof v === 'string' ? v : '');
      const request: ModelEvent = { type: 'REQUEST', opcode, sender: text(w.sender), receiver: text(w.receiver), msg: text(w.msg), from: client };
      const moved = opcode === Op.login ? deliveredBeforeMove(client, text(w.msg), world, strict) : [[]];
      return confirmationsBefore(client, world).flatMap((acks) => moved.map((before) => ({ events: [...before, ...acks, request] })));
    },

    beforeDisconnect(client: string, how: 'closed' | 'reset', world: WorldView): ModelEvent[][] {
      const seen = new Set((world.notes[`seen:${client}`] as number[] | undefined) ?? []);
      // Illustrative (default): a push written to a socket that was open may count as delivered.
      const maybe = unackedOf(client, world).filter((ref) => how === 'closed' || seen.has(ref) || !strict);
      return maybe.length === 0 ? [[]] : [[], maybe.map((ref) => ack(client, ref))];
    },

    compare(expected: ProtocolMessage, wire: unknown, world: WorldView): Comparison {
      const e = expected as QueueReply;
      const w = wire as Wire;
      if (typeof w !== 'object' || w === null || typeof w.opcode !== 'number') return { ok: false, reason: `not a Server2Client: ${show(wire)}` };
      const msg = typeof w.msg === 'string' ? w.msg : '';
      if (e.opcode === Reply.tooLong) return successes.has(w.opcode) ? { ok: false, reason: `opcode ${w.opcode} accepts what is over the limit` } : { ok: true };
      const opcode = e.opcode === Reply.forcedOut ? Reply.loggedOut : e.opcode;
      if (w.opcode !== opcode) return { ok: false, reason: `opcode: expected ${opcode}, got ${w.opcode}` };
      switch (e.opcode) {
        case Reply.unread:
        case Reply.deleted:
        case Reply.pushed:
          if (msg !== e.msg) return { ok: false, reason: `msg: expected ${show(e.msg)}, got ${show(msg)}`, text: true };
          break;
        case Reply.listResult:
          if (lineSet(msg) !== lineSet(e.msg)) return { ok: false, reason: `msg: expected the names ${lineSet(e.msg)}, got ${lineSet(msg)}`, text: true };
          break;
      }
      if (e.opcode === Reply.pushed && e.ref !== undefined) {
        // The harness saw this push arrive: a later disconnect may have come after its confirmation.
        const client = Object.entries((world.context.accounts ?? {}) as Record<string, { conn: string | null }>).find(([, a]) => a.conn !== null && unackedOf(a.conn, world).includes(e.ref!))?.[1].conn;
        if (client) {
          const key = `seen:${client}`;
          return { ok: true, notes: { ...world.notes, [key]: [...((world.notes[key] as number[] | undefined) ?? []), e.ref] } };
        }
      }
      return { ok: true };
    },

    describe(expected: ProtocolMessage): string {
      const e = expected as QueueReply;
      if (e.opcode === Reply.tooLong) return 'a reply refusing it as too long (not a success opcode)';
      const opcode = e.opcode === Reply.forcedOut ? Reply.loggedOut : e.opcode;
      const compared = [Reply.unread, Reply.deleted, Reply.pushed, Reply.listResult].includes(e.opcode as never);
      return compared ? `{opcode: ${opcode}, msg: ${show(e.msg)}${e.opcode === Reply.listResult ? ' (names in any order)' : ''}}` : `{opcode: ${opcode}}`;
    },
  };
}
