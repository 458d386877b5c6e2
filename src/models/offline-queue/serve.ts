/**
 * The offline-queue server's rules: pure functions from (state, connection, request or connection
 * event) to the next state and the effects. Both the model's server machine (server.ts) and the
 * reference server (src/servers/protocols/offline-queue.ts) run exactly these functions: one
 * reading of the protocol. Name, message and pattern rules are in limits.ts, patterns in match.ts.
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
 *  - Logging in does not deliver the queue (only `check` does, as docs/protocols.md says), so a
 *    message sent later, pushed at once, overtakes the ones queued before the login. The fixed
 *    server keeps the order the way the reference server does: a message is pushed at once only
 *    when nothing from the same sender still waits in the recipient's queue; otherwise it is
 *    queued behind, and `check` returns them all in send order.
 *
 * Readings decided when the model and the reference server were made one (they disagreed):
 *  - a push to an online recipient is written before the sender's `sent` reply (the seed confirms
 *    a send by the write not failing, so the write comes first; the old model replied first). This
 *    shows only when one sends to oneself: the push arrives before the reply;
 *  - a list result is the matching names each followed by `\n`, like the letters of 6, 8 and 17
 *    (the old model joined them with `\n`; docs/protocols.md: "one per line");
 *  - the send checks go: logged in, recipient exists, message limit, recipient's queue limit (the
 *    old server checked the message limit before the recipient; the model, the oracle, after);
 *  - the reference server's hardening limits (maxEntries, maxQueuedMessages) and defects are
 *    options of these rules (`QueueServerOptions`), so a defective server is a variation of the
 *    same rules, not another program.
 */
import type { PrintParams, SendParams } from '../types.js';
import { chars, listMatches, type PatternMode } from './match.js';
import { messageProblem, modelQueueLimits, nameProblem, patternProblem, type QueueLimits } from './limits.js';
import { formatLetters, Op, Reply, reply, type Letter, type QueueReply, type QueueRequest } from './messages.js';

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
  /** `deliver-to-deleted` defect only: deleted accounts whose connection still receives */
  ghosts?: Record<string, Account>;
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
  /** fixed: a message waits behind queued ones from the same sender instead of overtaking them */
  keepSenderOrder: boolean;
  /** the limits (default `modelQueueLimits`: the seed's 25 and 100, no bound on counts) */
  limits?: QueueLimits;
  /** defects of the reference server (`protosim serve offline-queue --defect NAME`), all off by default */
  defects?: QueueDefects;
}

/** The named defects of src/servers/defect-catalog.ts that are variations of these rules. */
export interface QueueDefects {
  /** drop-offline-queue: a message for an offline recipient is acknowledged and not queued */
  dropOfflineQueue?: boolean;
  /** reorder-queue: check and delete return the queue newest first */
  newestFirst?: boolean;
  /** trust-sender-field: a send's author is the `sender` field when the client filled it in */
  authorFromSenderField?: boolean;
  /** deliver-to-deleted: a deleted account stays reachable through its logged-in connection */
  deliverToDeleted?: boolean;
  /** regex-pattern: the list pattern runs as a regular expression */
  regexPatterns?: boolean;
  /** drop-on-dead-connection: unconfirmed pushes are dropped, not queued again */
  dropUnconfirmed?: boolean;
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

/** The state a server starts in. */
export function initialQueueContext(input: { ackTimeoutMs?: number; maxMatchSteps?: number } = {}): QueueServerContext {
  return {
    accounts: {},
    sessions: {},
    nextInc: 1,
    lastPush: {},
    unacked: {},
    nextRef: 1,
    deadThreads: {},
    ackTimeoutMs: input.ackTimeoutMs ?? 5000,
    maxMatchSteps: input.maxMatchSteps ?? 100_000,
  };
}

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

const opNames: Record<number, string> = { 1: 'create', 2: 'login', 3: 'send', 4: 'check', 5: 'delete', 6: 'list', 7: 'quit', 8: 'ack' };

export function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

const patternMode = (o: QueueServerOptions): PatternMode => (o.defects?.regexPatterns ? 'regex' : o.linearPatterns ? 'linear' : 'backtracking');

/** Steps a list pattern takes against every account name, with the server's matcher. */
export function listCost(ctx: QueueServerContext, pattern: string, linear: boolean): { names: string[]; steps: number; exhausted: boolean } {
  return listMatches(Object.keys(ctx.accounts), pattern, linear ? 'linear' : 'backtracking', ctx.maxMatchSteps);
}

/** Takes account `name` offline and puts its unconfirmed pushes back at the head of its queue (fixed). */
export function requeueUnacked(ctx: QueueServerContext, name: string, reason: string, o?: QueueServerOptions): ServeResult {
  const acct = ctx.accounts[name];
  const pending = ctx.unacked[name] ?? [];
  const effects: ServeEffect[] = pending.map((p) => ({ type: 'cancelAckTimer', ref: p.ref }));
  if (!acct) return { patch: { unacked: without(ctx.unacked, name) }, effects };
  const letters = o?.defects?.dropUnconfirmed ? [] : pending.map(({ sender, text }) => ({ sender, text }));
  if (letters.length > 0) {
    effects.push({ type: 'print', params: log(`${name}: ${letters.length} unconfirmed message(s) queued again (${reason})`, { event: 'requeue', account: name, count: letters.length }) });
  }
  return {
    patch: { accounts: { ...ctx.accounts, [name]: { ...acct, conn: null, queue: [...letters, ...acct.queue] } }, unacked: without(ctx.unacked, name) },
    effects,
  };
}

/** Connection `conn` is gone (fixed: detectDisconnect): its account goes offline, unconfirmed pushes are queued again. */
export function disconnect(ctx: QueueServerContext, conn: string, reason: string, o: QueueServerOptions): ServeResult {
  const session = ctx.sessions[conn];
  const ghosts = ctx.ghosts === undefined ? {} : { ghosts: Object.fromEntries(Object.entries(ctx.ghosts).filter(([, a]) => a.conn !== conn)) };
  if (!session) return { patch: ghosts, effects: [] };
  const acct = ctx.accounts[session.name];
  if (acct && acct.conn === conn) {
    const r = requeueUnacked(ctx, session.name, reason, o);
    return { patch: { ...r.patch, ...ghosts, sessions: without(ctx.sessions, conn) }, effects: r.effects };
  }
  return { patch: { ...ghosts, sessions: without(ctx.sessions, conn) }, effects: [] };
}

/** One request being served: its state, its connection, and the effects so far. */
interface Turn {
  ctx: QueueServerContext;
  conn: string;
  req: QueueRequest;
  o: QueueServerOptions;
  limits: QueueLimits;
  session: Session | null;
  /** the account the request acts on: the login's (fixed) or the sender field's (faithful) */
  actingAs: string | null;
  effects: ServeEffect[];
}

function send(t: Turn, msg: QueueReply, to = t.conn): void {
  t.effects.push({ type: 'send', params: { to, msg } });
}

function done(t: Turn, patch: Partial<QueueServerContext> = {}): ServeResult {
  return { patch, effects: t.effects };
}

function opLog(t: Turn, account: string, extra: Record<string, unknown> = {}): void {
  const acct = t.ctx.accounts[account];
  const opName = opNames[t.req.opcode] ?? `opcode ${t.req.opcode}`;
  t.effects.push({
    type: 'print',
    params: log(`${opName} by ${t.conn} as ${account}`, {
      event: opName,
      by: t.conn,
      account,
      login: t.session?.name ?? null,
      sessionInc: t.session?.inc ?? null,
      accountInc: acct?.inc ?? null,
      owner: acct?.conn ?? null,
      ...extra,
    }),
  });
}

function threadDies(t: Turn, why: string): ServeResult {
  t.effects.push({ type: 'print', params: log(`handler for ${t.conn} died: ${why}`, { event: 'thread-died', by: t.conn, error: why }) });
  return done(t, { deadThreads: { ...t.ctx.deadThreads, [t.conn]: true } });
}

function createAccount(t: Turn): ServeResult {
  const { ctx, limits } = t;
  const name = t.req.msg;
  if (ctx.accounts[name]) {
    send(t, reply(Reply.nameExists, name));
    return done(t);
  }
  const problem = t.o.enforceLimits ? nameProblem(name, limits) : null;
  if (problem !== null) {
    send(t, reply(Reply.tooLong, problem));
    return done(t);
  }
  if (Object.keys(ctx.accounts).length >= limits.maxEntries) {
    send(t, reply(Reply.tooLong, `too many accounts: limit maxEntries=${limits.maxEntries} reached`));
    return done(t);
  }
  t.effects.push({ type: 'print', params: log(`created ${name}`, { event: 'create', by: t.conn, account: name, length: chars(name).length }) });
  send(t, reply(Reply.created, name));
  const ghosts = ctx.ghosts?.[name] ? { ghosts: without(ctx.ghosts, name) } : {};
  return done(t, { accounts: { ...ctx.accounts, [name]: { conn: null, queue: [], inc: ctx.nextInc } }, nextInc: ctx.nextInc + 1, ...ghosts });
}

function login(t: Turn): ServeResult {
  const { ctx, conn, session, o } = t;
  const name = t.req.msg;
  const acct = ctx.accounts[name];
  if (!acct) {
    send(t, reply(Reply.noSuchAccount, name));
    return done(t);
  }
  if (session !== null && session.name === name && session.inc === acct.inc && acct.conn === conn) {
    send(t, reply(Reply.alreadyLoggedIn, name));
    return done(t);
  }
  let accounts = { ...ctx.accounts };
  let sessions = { ...ctx.sessions };
  let unacked = ctx.unacked;
  // Leaving the account this connection was in (a switch).
  if (session !== null && accounts[session.name]?.conn === conn) accounts[session.name] = { ...accounts[session.name]!, conn: null };
  const other = acct.conn;
  if (other !== null && other !== conn && o.logoutOtherLocation) {
    sessions = without(sessions, other);
    send(t, reply(Reply.forcedOut, `${name} was opened elsewhere`), other);
    if (o.confirmDelivery) {
      const r = requeueUnacked({ ...ctx, accounts, unacked }, name, 'opened elsewhere', o);
      accounts = r.patch.accounts ?? accounts;
      unacked = r.patch.unacked ?? unacked;
      t.effects.push(...r.effects);
    }
  }
  accounts[name] = { ...accounts[name]!, conn };
  sessions[conn] = { name, inc: acct.inc };
  t.effects.push({ type: 'print', params: log(`${name} logged in on ${conn}${other !== null && other !== conn ? ` (moved from ${other})` : ''}`, { event: 'login', by: conn, account: name, movedFrom: other !== conn ? other : null }) });
  // The reply goes before the queued letters it releases.
  t.effects.unshift({ type: 'send', params: { to: conn, msg: reply(session !== null && session.name !== name ? Reply.switched : Reply.loggedIn, name) } });
  return done(t, { accounts, sessions, unacked });
}

function sendMessage(t: Turn): ServeResult {
  const { ctx, req, o, limits, actingAs } = t;
  if (actingAs === null) {
    send(t, reply(Reply.sendNotLoggedIn));
    return done(t);
  }
  const ghost = o.defects?.deliverToDeleted ? ctx.ghosts?.[req.receiver] : undefined;
  const target = ctx.accounts[req.receiver] ?? ghost;
  if (!target) {
    send(t, reply(Reply.noSuchRecipient, req.receiver));
    return done(t);
  }
  const problem = o.enforceLimits ? messageProblem(req.msg, limits) : null;
  if (problem !== null) {
    send(t, reply(Reply.tooLong, problem));
    return done(t);
  }
  if (target.queue.length >= limits.maxQueuedMessages) {
    send(t, reply(Reply.tooLong, `queue of ${req.receiver} is full: limit maxQueuedMessages=${limits.maxQueuedMessages} reached`));
    return done(t);
  }
  const author = o.defects?.authorFromSenderField && req.sender !== '' ? req.sender : actingAs;
  const letter: Letter = { sender: author, text: req.msg };
  // An earlier letter from this sender still queued: this one waits behind it (fixed).
  const online = o.keepSenderOrder && target.queue.some((l) => l.sender === author) ? null : target.conn;
  opLog(t, actingAs, { to: req.receiver, text: req.msg, how: online !== null ? 'push' : 'queue', length: chars(req.msg).length });
  const sent = reply(Reply.sent, req.receiver);
  if (online === null) {
    send(t, sent);
    if (o.defects?.dropOfflineQueue) return done(t);
    const queued = { ...target, queue: [...target.queue, letter] };
    return done(t, ghost === target ? { ghosts: { ...ctx.ghosts, [req.receiver]: queued } } : { accounts: { ...ctx.accounts, [req.receiver]: queued } });
  }
  if (o.confirmDelivery && ghost !== target) {
    const ref = ctx.nextRef;
    send(t, reply(Reply.pushed, formatLetters([letter]), ref), online);
    send(t, sent);
    t.effects.push({ type: 'startAckTimer', ref, account: req.receiver });
    return done(t, { nextRef: ref + 1, unacked: { ...ctx.unacked, [req.receiver]: [...(ctx.unacked[req.receiver] ?? []), { ...letter, ref }] } });
  }
  send(t, reply(Reply.pushed, formatLetters([letter])), online);
  send(t, sent);
  return done(t, { lastPush: { ...ctx.lastPush, [online]: { account: req.receiver, letter } } });
}

/** The account a check or delete reads, or the result when there is none. */
function ownAccount(t: Turn, refusal: number): { name: string; acct: Account } | ServeResult {
  const { ctx, o, actingAs } = t;
  if (actingAs === null) {
    send(t, reply(refusal));
    return done(t);
  }
  const acct = ctx.accounts[actingAs];
  if (!acct || (o.identityFromLogin && acct.inc !== t.session!.inc)) {
    if (!o.identityFromLogin) return threadDies(t, `KeyError: '${actingAs}'`);
    send(t, reply(refusal, 'the account no longer exists'));
    return done(t, { sessions: without(ctx.sessions, t.conn) });
  }
  return { name: actingAs, acct };
}

const inOrder = (t: Turn, letters: readonly Letter[]): Letter[] => (t.o.defects?.newestFirst ? [...letters].reverse() : [...letters]);

function check(t: Turn): ServeResult {
  const own = ownAccount(t, Reply.checkNotLoggedIn);
  if ('patch' in own) return own;
  opLog(t, own.name, { texts: own.acct.queue.map((l) => l.text) });
  send(t, reply(Reply.unread, formatLetters(inOrder(t, own.acct.queue))));
  return done(t, { accounts: { ...t.ctx.accounts, [own.name]: { ...own.acct, queue: [] } } });
}

function deleteAccount(t: Turn): ServeResult {
  const { ctx, o } = t;
  const own = ownAccount(t, Reply.deleteRefused);
  if ('patch' in own) return own;
  const { name, acct } = own;
  opLog(t, name, { texts: acct.queue.map((l) => l.text) });
  let sessions = without(ctx.sessions, t.conn);
  let unacked = ctx.unacked;
  const letters = [...acct.queue];
  if (o.confirmDelivery) {
    // Unconfirmed pushes come back with the rest: the user sees them before the account goes.
    const pending = ctx.unacked[name] ?? [];
    letters.unshift(...pending.map(({ sender, text }) => ({ sender, text })));
    t.effects.push(...pending.map((p): ServeEffect => ({ type: 'cancelAckTimer', ref: p.ref })));
    unacked = without(unacked, name);
  }
  if (o.logoutOtherLocation) {
    for (const [c, s] of Object.entries(sessions)) {
      if (s.name === name && s.inc === acct.inc) {
        sessions = without(sessions, c);
        send(t, reply(Reply.forcedOut, `${name} was deleted`), c);
      }
    }
  }
  send(t, reply(Reply.deleted, formatLetters(inOrder(t, letters))));
  const patch: Partial<QueueServerContext> = { accounts: without(ctx.accounts, name), sessions, unacked };
  if (o.defects?.deliverToDeleted && acct.conn !== null) {
    // The flaw: the deleted account's connection still receives for its name.
    return done(t, { ...patch, sessions: ctx.sessions, ghosts: { ...ctx.ghosts, [name]: { ...acct, queue: [] } } });
  }
  return done(t, patch);
}

function list(t: Turn): ServeResult {
  const { ctx, req, o, limits } = t;
  const problem = o.enforceLimits ? patternProblem(req.msg, limits) : null;
  const cost = problem === null ? listMatches(Object.keys(ctx.accounts), req.msg, patternMode(o), ctx.maxMatchSteps) : { names: [], steps: 0, exhausted: false };
  t.effects.push({ type: 'print', params: log(`list ${JSON.stringify(req.msg)}: ${cost.steps} matching steps`, { event: 'list', by: t.conn, pattern: req.msg, steps: cost.steps, exhausted: cost.exhausted }) });
  const failure = problem ?? ('error' in cost ? cost.error : undefined);
  if (failure !== undefined) {
    send(t, reply(Reply.listFailed, failure));
    return done(t);
  }
  send(t, reply(Reply.listResult, cost.names.map((n) => `${n}\n`).join('')));
  return done(t);
}

function quit(t: Turn): ServeResult {
  const { ctx, conn, session, o } = t;
  if (session === null) {
    send(t, reply(Reply.quitNotLoggedIn));
    return done(t);
  }
  const acct = ctx.accounts[session.name];
  let accounts = ctx.accounts;
  let unacked = ctx.unacked;
  if (acct && acct.conn === conn) {
    accounts = { ...accounts, [session.name]: { ...acct, conn: null } };
    if (o.confirmDelivery) {
      const r = requeueUnacked({ ...ctx, accounts }, session.name, 'quit', o);
      accounts = r.patch.accounts ?? accounts;
      unacked = r.patch.unacked ?? unacked;
      t.effects.push(...r.effects);
    }
  }
  t.effects.push({ type: 'print', params: log(`${session.name} quit on ${conn}`, { event: 'quit', by: conn, account: session.name }) });
  send(t, reply(Reply.loggedOut));
  return done(t, { accounts, sessions: without(ctx.sessions, conn), unacked });
}

function ack(t: Turn): ServeResult {
  const { ctx } = t;
  if (!t.o.confirmDelivery) return done(t);
  const ref = Number(t.req.msg);
  for (const [name, pending] of Object.entries(ctx.unacked)) {
    if (pending.some((p) => p.ref === ref)) {
      t.effects.push({ type: 'cancelAckTimer', ref });
      const rest = pending.filter((p) => p.ref !== ref);
      return done(t, { unacked: rest.length > 0 ? { ...ctx.unacked, [name]: rest } : without(ctx.unacked, name) });
    }
  }
  return done(t);
}

const handlers: Record<number, (t: Turn) => ServeResult> = {
  [Op.create]: createAccount,
  [Op.login]: login,
  [Op.send]: sendMessage,
  [Op.check]: check,
  [Op.delete]: deleteAccount,
  [Op.list]: list,
  [Op.quit]: quit,
  [Op.ack]: ack,
};

/** The server's answer to one request from connection `conn`. */
export function serve(ctx: QueueServerContext, conn: string, req: QueueRequest, o: QueueServerOptions): ServeResult {
  const session = ctx.sessions[conn] ?? null;
  const actingAs = session === null ? null : o.identityFromLogin ? session.name : req.sender;
  const turn: Turn = { ctx, conn, req, o, limits: o.limits ?? modelQueueLimits, session, actingAs, effects: [] };
  const handler = handlers[req.opcode];
  return handler === undefined ? done(turn) : handler(turn);
}
