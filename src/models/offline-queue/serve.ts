/**
 * What the offline-queue server does with one request: a pure function from (state, connection,
 * request) to the next state and the effects, so the machine in server.ts stays small and every
 * rule of the seed reads in one place.
 *
 * Readings the seed leaves open, and the ones taken here (faithful):
 *  - The server knows a connection is logged in (its per-connection session), but the account a
 *    send, check or delete acts on is the request's `sender` field, as the client filled it in
 *    (the PDU's comment: "the account name of the client").
 *  - Logging in to an account that is logged in elsewhere moves the account's socket here; the
 *    other connection is not told and its session stays ("it will free it from the previous value of
 *    the socket").
 *  - A send to an online recipient writes to its socket at once; the seed's "confirmation" is that
 *    write not failing. If the write fails (the peer reset), the message is queued after all; a
 *    write into a silently dead connection does not fail, and the message is gone.
 *  - A check or delete naming an account that no longer exists raises a KeyError in the handler
 *    thread: that connection gets no reply and is served no more.
 *  - `list` turns the wildcard into a regular expression; a backtracking engine can spin on it.
 *  - The name and message limits (25 and 100) are the seed's "assumptions": nothing enforces them.
 *  - Logging in does not deliver the queue (only `check` does), so a message sent later, pushed
 *    at once, overtakes the ones queued before the login. The fixed server pushes the queue at login.
 */
import type { PrintParams, SendParams } from '../types.js';
import { linearMatch, naiveMatch } from './match.js';
import { formatLetters, messageLengthMax, nameLengthMax, Op, Reply, reply, type Letter, type QueueRequest } from './messages.js';

export interface Account {
  /** the connection (node) the account is logged in on, or null when offline */
  conn: string | null;
  queue: Letter[];
  /** incarnation: a new number each time the name is created */
  inc: number;
}

export interface Session {
  name: string;
  inc: number;
}

export interface Pending extends Letter {
  ref: number;
}

export interface QueueServerContext {
  accounts: Record<string, Account>;
  /** per connection: the account it logged in to */
  sessions: Record<string, Session>;
  nextInc: number;
  /** faithful: the last message written to each connection, queued again if that write fails */
  lastPush: Record<string, { account: string; letter: Letter }>;
  /** fixed: pushed and not yet confirmed, per account */
  unacked: Record<string, Pending[]>;
  nextRef: number;
  /** faithful: connections whose handler thread died */
  deadThreads: Record<string, true>;
  ackTimeoutMs: number;
  /** a list pattern that takes more steps than this would freeze a real server */
  maxMatchSteps: number;
}

export interface QueueServerOptions {
  /** fixed: the account is the one this connection logged in to, never the `sender` field */
  identityFromLogin: boolean;
  /** fixed: a push leaves the server only when the client confirms it (ack, or requeue on timeout/loss) */
  confirmDelivery: boolean;
  /** fixed: the linear-time matcher */
  linearPatterns: boolean;
  /** fixed: over-long names and messages get an error */
  enforceLimits: boolean;
  /** fixed: a login elsewhere logs the other connection out, and tells it */
  logoutOtherLocation: boolean;
  /** fixed: a reset or closed connection takes its account offline at once */
  detectDisconnect: boolean;
}

export type ServeEffect =
  | { type: 'send'; params: SendParams }
  | { type: 'print'; params: PrintParams }
  | { type: 'startAckTimer'; ref: number; account: string }
  | { type: 'cancelAckTimer'; ref: number };

export interface ServeResult {
  patch: Partial<QueueServerContext>;
  effects: ServeEffect[];
}

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

const opNames: Record<number, string> = { 1: 'create', 2: 'login', 3: 'send', 4: 'check', 5: 'delete', 6: 'list', 7: 'quit', 8: 'ack' };

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/** Steps a list pattern takes against every account name, with the server's matcher. */
export function listCost(ctx: QueueServerContext, pattern: string, linear: boolean): { names: string[]; steps: number; exhausted: boolean } {
  const names: string[] = [];
  let steps = 0;
  let exhausted = false;
  for (const name of Object.keys(ctx.accounts).sort()) {
    const r = linear ? linearMatch(pattern, name) : naiveMatch(pattern, name, ctx.maxMatchSteps - steps);
    steps += r.steps;
    if (r.exhausted) {
      exhausted = true;
      break;
    }
    if (r.matches) names.push(name);
  }
  return { names, steps, exhausted };
}

/** Takes account `name` offline and puts its unconfirmed pushes back at the head of its queue (fixed). */
export function requeueUnacked(ctx: QueueServerContext, name: string, reason: string): ServeResult {
  const acct = ctx.accounts[name];
  const pending = ctx.unacked[name] ?? [];
  const effects: ServeEffect[] = pending.map((p) => ({ type: 'cancelAckTimer', ref: p.ref }));
  if (!acct) return { patch: { unacked: without(ctx.unacked, name) }, effects };
  const letters = pending.map(({ sender, text }) => ({ sender, text }));
  if (letters.length > 0) {
    effects.push({ type: 'print', params: log(`${name}: ${letters.length} unconfirmed message(s) queued again (${reason})`, { event: 'requeue', account: name, count: letters.length }) });
  }
  return {
    patch: { accounts: { ...ctx.accounts, [name]: { ...acct, conn: null, queue: [...letters, ...acct.queue] } }, unacked: without(ctx.unacked, name) },
    effects,
  };
}

/** The server's answer to one request from connection `conn`. */
export function serve(ctx: QueueServerContext, conn: string, req: QueueRequest, o: QueueServerOptions): ServeResult {
  const effects: ServeEffect[] = [];
  const send = (msg: ReturnType<typeof reply>, to = conn): void => {
    effects.push({ type: 'send', params: { to, msg } });
  };
  const session = ctx.sessions[conn] ?? null;
  const opName = opNames[req.opcode] ?? `opcode ${req.opcode}`;
  // The account a request acts on: the login's (fixed) or the sender field's (faithful).
  const actingAs = session === null ? null : o.identityFromLogin ? session.name : req.sender;
  const opLog = (account: string, extra: Record<string, unknown> = {}): void => {
    const acct = ctx.accounts[account];
    effects.push({
      type: 'print',
      params: log(`${opName} by ${conn} as ${account}`, {
        event: opName,
        by: conn,
        account,
        login: session?.name ?? null,
        sessionInc: session?.inc ?? null,
        accountInc: acct?.inc ?? null,
        owner: acct?.conn ?? null,
        ...extra,
      }),
    });
  };
  const threadDies = (why: string): ServeResult => {
    effects.push({ type: 'print', params: log(`handler for ${conn} died: ${why}`, { event: 'thread-died', by: conn, error: why }) });
    return { patch: { deadThreads: { ...ctx.deadThreads, [conn]: true } }, effects };
  };

  switch (req.opcode) {
    case Op.create: {
      const name = req.msg;
      if (ctx.accounts[name]) {
        send(reply(Reply.nameExists, name));
        return { patch: {}, effects };
      }
      if (o.enforceLimits && (name.length === 0 || name.length > nameLengthMax)) {
        send(reply(Reply.tooLong, `an account name has 1 to ${nameLengthMax} characters`));
        return { patch: {}, effects };
      }
      effects.push({ type: 'print', params: log(`created ${name}`, { event: 'create', by: conn, account: name, length: name.length }) });
      send(reply(Reply.created, name));
      return { patch: { accounts: { ...ctx.accounts, [name]: { conn: null, queue: [], inc: ctx.nextInc } }, nextInc: ctx.nextInc + 1 }, effects };
    }
    case Op.login: {
      const name = req.msg;
      const acct = ctx.accounts[name];
      if (!acct) {
        send(reply(Reply.noSuchAccount, name));
        return { patch: {}, effects };
      }
      if (session !== null && session.name === name && session.inc === acct.inc && acct.conn === conn) {
        send(reply(Reply.alreadyLoggedIn, name));
        return { patch: {}, effects };
      }
      let accounts = { ...ctx.accounts };
      let sessions = { ...ctx.sessions };
      let unacked = ctx.unacked;
      // Leaving the account this connection was in (a switch).
      if (session !== null && accounts[session.name]?.conn === conn) accounts[session.name] = { ...accounts[session.name]!, conn: null };
      const other = acct.conn;
      if (other !== null && other !== conn && o.logoutOtherLocation) {
        sessions = without(sessions, other);
        send(reply(Reply.forcedOut, `${name} was opened elsewhere`), other);
        if (o.confirmDelivery) {
          const r = requeueUnacked({ ...ctx, accounts, unacked }, name, 'opened elsewhere');
          accounts = r.patch.accounts ?? accounts;
          unacked = r.patch.unacked ?? unacked;
          effects.push(...r.effects);
        }
      }
      accounts[name] = { ...accounts[name]!, conn };
      sessions[conn] = { name, inc: acct.inc };
      let nextRef = ctx.nextRef;
      if (o.confirmDelivery && accounts[name]!.queue.length > 0) {
        // Queued letters go out first, in order, so that nothing sent later overtakes them.
        const pending = [...(unacked[name] ?? [])];
        for (const letter of accounts[name]!.queue) {
          send(reply(Reply.pushed, formatLetters([letter]), nextRef), conn);
          effects.push({ type: 'startAckTimer', ref: nextRef, account: name });
          pending.push({ ...letter, ref: nextRef++ });
        }
        accounts[name] = { ...accounts[name]!, queue: [] };
        unacked = { ...unacked, [name]: pending };
      }
      effects.push({ type: 'print', params: log(`${name} logged in on ${conn}${other !== null && other !== conn ? ` (moved from ${other})` : ''}`, { event: 'login', by: conn, account: name, movedFrom: other !== conn ? other : null }) });
      // The reply goes before the queued letters it releases.
      effects.unshift({ type: 'send', params: { to: conn, msg: reply(session !== null && session.name !== name ? Reply.switched : Reply.loggedIn, name) } });
      return { patch: { accounts, sessions, unacked, nextRef }, effects };
    }
    case Op.send: {
      if (actingAs === null) {
        send(reply(Reply.sendNotLoggedIn));
        return { patch: {}, effects };
      }
      const target = ctx.accounts[req.receiver];
      if (!target) {
        send(reply(Reply.noSuchRecipient, req.receiver));
        return { patch: {}, effects };
      }
      if (o.enforceLimits && req.msg.length > messageLengthMax) {
        send(reply(Reply.tooLong, `a message has at most ${messageLengthMax} characters`));
        return { patch: {}, effects };
      }
      const letter: Letter = { sender: actingAs, text: req.msg };
      const online = target.conn;
      opLog(actingAs, { to: req.receiver, text: req.msg, how: online !== null ? 'push' : 'queue', length: req.msg.length });
      send(reply(Reply.sent, req.receiver));
      if (online === null) {
        return { patch: { accounts: { ...ctx.accounts, [req.receiver]: { ...target, queue: [...target.queue, letter] } } }, effects };
      }
      if (o.confirmDelivery) {
        const ref = ctx.nextRef;
        send(reply(Reply.pushed, formatLetters([letter]), ref), online);
        effects.push({ type: 'startAckTimer', ref, account: req.receiver });
        return { patch: { nextRef: ref + 1, unacked: { ...ctx.unacked, [req.receiver]: [...(ctx.unacked[req.receiver] ?? []), { ...letter, ref }] } }, effects };
      }
      send(reply(Reply.pushed, formatLetters([letter])), online);
      return { patch: { lastPush: { ...ctx.lastPush, [online]: { account: req.receiver, letter } } }, effects };
    }
    case Op.check: {
      if (actingAs === null) {
        send(reply(Reply.checkNotLoggedIn));
        return { patch: {}, effects };
      }
      const acct = ctx.accounts[actingAs];
      if (!acct || (o.identityFromLogin && acct.inc !== session!.inc)) {
        if (!o.identityFromLogin) return threadDies(`KeyError: '${actingAs}'`);
        send(reply(Reply.checkNotLoggedIn, 'the account no longer exists'));
        return { patch: { sessions: without(ctx.sessions, conn) }, effects };
      }
      opLog(actingAs, { texts: acct.queue.map((l) => l.text) });
      send(reply(Reply.unread, formatLetters(acct.queue)));
      return { patch: { accounts: { ...ctx.accounts, [actingAs]: { ...acct, queue: [] } } }, effects };
    }
    case Op.delete: {
      if (actingAs === null) {
        send(reply(Reply.deleteRefused));
        return { patch: {}, effects };
      }
      const acct = ctx.accounts[actingAs];
      if (!acct || (o.identityFromLogin && acct.inc !== session!.inc)) {
        if (!o.identityFromLogin) return threadDies(`KeyError: '${actingAs}'`);
        send(reply(Reply.deleteRefused, 'the account no longer exists'));
        return { patch: { sessions: without(ctx.sessions, conn) }, effects };
      }
      opLog(actingAs, { texts: acct.queue.map((l) => l.text) });
      let sessions = without(ctx.sessions, conn);
      let unacked = ctx.unacked;
      const letters = [...acct.queue];
      if (o.confirmDelivery) {
        // Unconfirmed pushes come back with the rest: the user sees them before the account goes.
        const pending = ctx.unacked[actingAs] ?? [];
        letters.unshift(...pending.map(({ sender, text }) => ({ sender, text })));
        effects.push(...pending.map((p): ServeEffect => ({ type: 'cancelAckTimer', ref: p.ref })));
        unacked = without(unacked, actingAs);
      }
      if (o.logoutOtherLocation) {
        for (const [c, s] of Object.entries(sessions)) {
          if (s.name === actingAs && s.inc === acct.inc) {
            sessions = without(sessions, c);
            send(reply(Reply.forcedOut, `${actingAs} was deleted`), c);
          }
        }
      }
      send(reply(Reply.deleted, formatLetters(letters)));
      return { patch: { accounts: without(ctx.accounts, actingAs), sessions, unacked }, effects };
    }
    case Op.list: {
      const cost = listCost(ctx, req.msg, o.linearPatterns);
      effects.push({ type: 'print', params: log(`list ${JSON.stringify(req.msg)}: ${cost.steps} matching steps`, { event: 'list', by: conn, pattern: req.msg, steps: cost.steps, exhausted: cost.exhausted }) });
      if (o.enforceLimits && req.msg.length > 2 * nameLengthMax) {
        send(reply(Reply.listFailed, 'pattern too long'));
        return { patch: {}, effects };
      }
      send(reply(Reply.listResult, cost.names.join('\n')));
      return { patch: {}, effects };
    }
    case Op.quit: {
      if (session === null) {
        send(reply(Reply.quitNotLoggedIn));
        return { patch: {}, effects };
      }
      const acct = ctx.accounts[session.name];
      let accounts = ctx.accounts;
      let unacked = ctx.unacked;
      if (acct && acct.conn === conn) {
        accounts = { ...accounts, [session.name]: { ...acct, conn: null } };
        if (o.confirmDelivery) {
          const r = requeueUnacked({ ...ctx, accounts }, session.name, 'quit');
          accounts = r.patch.accounts ?? accounts;
          unacked = r.patch.unacked ?? unacked;
          effects.push(...r.effects);
        }
      }
      effects.push({ type: 'print', params: log(`${session.name} quit on ${conn}`, { event: 'quit', by: conn, account: session.name }) });
      send(reply(Reply.loggedOut));
      return { patch: { accounts, sessions: without(ctx.sessions, conn), unacked }, effects };
    }
    case Op.ack: {
      if (!o.confirmDelivery) return { patch: {}, effects };
      const ref = Number(req.msg);
      for (const [name, list] of Object.entries(ctx.unacked)) {
        if (list.some((p) => p.ref === ref)) {
          effects.push({ type: 'cancelAckTimer', ref });
          const rest = list.filter((p) => p.ref !== ref);
          return { patch: { unacked: rest.length > 0 ? { ...ctx.unacked, [name]: rest } : without(ctx.unacked, name) }, effects };
        }
      }
      return { patch: {}, effects };
    }
    default:
      return { patch: {}, effects };
  }
}
