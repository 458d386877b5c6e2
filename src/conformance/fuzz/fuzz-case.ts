/**
 * A fuzzed live case before it is written in the step language: users (by index) doing actions in
 * rounds, with link faults on their links, and the protocol's server model as the oracle after every
 * action (`expect: model`). Rendering turns it into an ordinary suite case (`CaseFile` steps), so
 * what fuzz runs is exactly what `--save-case` writes and `protosim run` replays.
 *
 * Users are indices; a message refers to a user's name with `{ $user: i }` (rendered as the name the
 * case gave user i, followed by `${run}`, the token unique to each run of a case). Shrinking lowers
 * indices, so two users become one and the case needs fewer clients.
 */
import type { StepFile } from '../../scenario/suite-schema.js';
import { textLength, type FuzzText } from './hostile-data.js';

/** A link fault fuzz draws: split and merge both ways, delay, latency, a partition (a vanished host). */
export interface FuzzFault {
  fault: 'split' | 'merge' | 'delay' | 'latency' | 'partition' | 'clear';
  direction?: 'to-target' | 'from-target' | 'both';
  parts?: number;
  messages?: number;
  ms?: number;
}

export type FuzzAction =
  /** one message, or several written back to back in one write (a burst typed in a hurry) */
  /** (`orOther`: when that user has left, the next user still there who is not named in the messages sends them) */
  | { kind: 'send'; user: number; msgs: unknown[]; orOther?: boolean }
  /** several users send at the same instant (requests in flight together: the oracle's possible worlds) */
  | { kind: 'together'; sends: { user: number; msg: unknown }[] }
  /** bytes that are not a message of the protocol (malformed, garbage, a very long line) */
  | { kind: 'raw'; user: number; text: FuzzText; end?: string }
  | ({ kind: 'fault'; user: number } & FuzzFault)
  /** a peer leaving: FIN, or RST as a killed client */
  | { kind: 'leave'; user: number; mode: 'close' | 'reset' }
  | { kind: 'wait'; ms: number | string }
  /** a request the model does not judge, and the reply expected by a pattern (protosim's own error replies, under `--strict`) */
  | { kind: 'check'; user: number; msg: unknown; expect: unknown }
  /**
   * a user goes away (a message that takes it offline on its connection, a close or a reset, a
   * link that dies silently: nothing forwarded, then a reset, or it goes quiet past the server's
   * timeout on an open connection while the others keep theirs alive), others send (to it, or
   * ordinary messages) meanwhile, and it comes back (`back`: reconnects if it left, then sends what
   * the protocol sends on coming back: log in again, read its queue)
   */
  | { kind: 'away'; user: number; how: AwayHow; sends: { user: number; msgs: unknown[] }[]; back: boolean }
  /** the target's process killed (SIGKILL) and started again: every user still there reconnects and does its setup again */
  | { kind: 'crash' }
  /** the target's process paused (SIGSTOP): users send meanwhile, and it resumes `ms` later (SIGCONT) */
  | { kind: 'pause'; sends: { user: number; msg: unknown }[]; ms: number };

/**
 * How a user goes away: a message (quit), a close (FIN), a reset (RST), a link that dies silently
 * before a reset, or quiet on an open connection past the server's timeout (then a close).
 */
export type AwayHow = 'message' | 'close' | 'reset' | 'silent' | 'quiet';

/**
 * Going quiet past the server's timeout (a protocol with a heartbeat declares it): the user says
 * nothing for `ms` while every other user still there sends `keepAlive` every `everyMs`, so only the
 * quiet user's session times out. Waits are numbers or `$var`s (read from the run's variables).
 */
export interface QuietSpec {
  ms: number | string;
  everyMs: number | string;
  keepAlive: (user: number) => unknown;
}

/** Most rounds of a quiet spell (a server timeout far past the keep-alive interval is not waited out). */
export const maxQuietRounds = 20;

export interface FuzzCase {
  /** each user's name (the base; `${run}` is appended), by index */
  names: string[];
  actions: FuzzAction[];
  /** the users whose setup opens the case (they do it again after a restart); absent: none */
  setupUsers?: number[];
  /** each user's `connect` parameters (kv: its store), by index; absent: none */
  connect?: Record<string, string>[];
}

/** What a protocol's generator may add to rendering: a message that depends on what came before. */
export interface RenderHooks {
  /** the message as it is sent (session ids...), given what was sent before in this case */
  resolve?: (msg: unknown, user: number, state: Map<string, unknown>) => unknown;
  /** the message ends the sender's connection (register-exit's Exit): the user does nothing more */
  leaves?: (msg: unknown) => boolean;
  /** what user i sends first (the protocol's setup), done again after the target restarted */
  setup?: (user: number) => unknown[];
  /** what the first user sends after a restart, before anyone else acts (a store that may keep its data: a clear) */
  afterRestart?: readonly unknown[];
  /** a user leaving is not judged by the model (kv: HTTP requests, no connection the model follows; `expect: model` needs a request in flight) */
  unjudgedLeave?: boolean;
  /** what takes a user offline while its connection stays (offline-queue: quit) */
  goOffline?: readonly unknown[];
  /** what a user sends when it comes back (offline-queue: log in again, check its queue) */
  comeBack?: (user: number) => unknown[];
  /** going quiet past the server's timeout (ping-liveness: silent past the heartbeat, the others pinging) */
  quiet?: QuietSpec;
  /** the user's session ended without a message of its own (its connection closed): what `resolve` follows forgets it */
  forget?: (user: number, state: Map<string, unknown>) => void;
  /** the run's suite variables (the quiet spell's waits are read from them) */
  vars?: Readonly<Record<string, string | number>>;
}

/** The client name of user i in steps. */
export const clientOf = (user: number): string => `c${user + 1}`;

/**
 * Replaces name references by names plus the run token: `{ $user: i }` is user i's name,
 * `{ $self: true }` the sending user's; `wild: "*"` puts that character in place of the name's first
 * (a pattern that should match it, or a regular expression that should not).
 */
export function withNames(value: unknown, names: readonly string[], self: number): unknown {
  if (Array.isArray(value)) return value.map((v) => withNames(v, names, self));
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const user = record.$self === true ? self : typeof record.$user === 'number' ? record.$user : undefined;
    if (user !== undefined) {
      const base = names[user] ?? `user${user}`;
      const wild = typeof record.wild === 'string' ? `${record.wild}${base.slice(1)}` : base;
      return `${wild}\${run}`;
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, withNames(v, names, self)]));
  }
  return value;
}

/** Users that act in the case (connect, send, fault, leave), in order. */
export function actingUsers(c: FuzzCase): number[] {
  const users = new Set<number>();
  for (const a of c.actions) {
    if (a.kind === 'together' || a.kind === 'pause' || a.kind === 'away') a.sends.forEach((s) => users.add(s.user));
    if (a.kind !== 'wait' && a.kind !== 'crash' && a.kind !== 'together' && a.kind !== 'pause') users.add(a.user);
  }
  return [...users].sort((a, b) => a - b);
}

/** Rendering in progress: the steps so far, who left, and what the generator's hooks keep. */
interface Rendering {
  c: FuzzCase;
  hooks: RenderHooks;
  steps: StepFile[];
  users: number[];
  left: Set<number>;
  /** users with a link fault on their proxy since the last restart */
  linked: Set<number>;
  /**
   * users whose connection carried bytes that end inside a frame (raw bytes with no frame end): the
   * model judges nothing more on it, yet a server may still read what follows and act on it (queue
   * a message for someone else), so such a user sends no more messages on that connection
   */
  garbled: Set<number>;
  state: Map<string, unknown>;
}

const step = (s: Record<string, unknown>): StepFile => s as StepFile;

/** The users connect at the same instant: one step, or one per user when they have parameters (a store). */
function connectSteps(c: FuzzCase, users: readonly number[]): StepFile[] {
  const params = users.map((u) => c.connect?.[u] ?? {});
  if (params.every((p) => Object.keys(p).length === 0)) return [step({ connect: users.length === 1 ? clientOf(users[0]!) : users.map(clientOf) })];
  return users.map((u, i) => step({ connect: clientOf(u), ...params[i] }));
}

function message(r: Rendering, msg: unknown, user: number): unknown {
  const named = withNames(msg, r.c.names, user);
  return r.hooks.resolve !== undefined ? r.hooks.resolve(named, user, r.state) : named;
}

/** Sends of several users at the same instant (each user's first only); whether any was rendered. */
function renderSends(r: Rendering, all: readonly { user: number; msg: unknown }[], firstOnly: boolean): boolean {
  const sends = all.filter((s, i) => !r.left.has(s.user) && !r.garbled.has(s.user) && (!firstOnly || all.findIndex((t) => t.user === s.user) === i));
  for (const s of sends) {
    if (r.left.has(s.user)) continue;
    r.steps.push(step({ send: clientOf(s.user), msg: message(r, s.msg, s.user) }));
    if (r.hooks.leaves?.(s.msg) === true) r.left.add(s.user);
  }
  return sends.length > 0;
}

/**
 * The target killed and started again: its connections and its state are gone, so every user still
 * there reconnects (on a clean link) and does its setup again before acting.
 */
function renderCrash(r: Rendering): void {
  r.steps.push(step({ fault: 'kill' }), step({ fault: 'restart' }));
  const back = r.users.filter((u) => !r.left.has(u));
  for (const u of back) if (r.linked.has(u)) r.steps.push(step({ fault: 'clear', client: clientOf(u) }));
  r.linked.clear();
  r.garbled.clear();
  if (back.length === 0) return;
  r.steps.push(...connectSteps(r.c, back));
  // what the generator followed (sessions...) belonged to the old process
  r.state.clear();
  const again = [...(r.hooks.afterRestart ?? []).map((msg) => ({ user: back[0]!, msg })), ...(r.c.setupUsers ?? []).filter((u) => back.includes(u)).flatMap((u) => (r.hooks.setup?.(u) ?? []).map((msg) => ({ user: u, msg })))];
  for (const s of again) if (renderSends(r, [s], true)) r.steps.push(step({ expect: 'model' }));
}

/** The target paused while users send, then resumed: what they sent is judged after it resumes. */
function renderPause(r: Rendering, a: Extract<FuzzAction, { kind: 'pause' }>): void {
  r.steps.push(step({ fault: 'pause' }));
  const sent = renderSends(r, a.sends, false);
  if (a.ms > 0) r.steps.push(step({ wait: a.ms }));
  r.steps.push(step({ fault: 'resume' }));
  if (sent) r.steps.push(step({ expect: 'model' }));
}

/** Sends each message, judged after each (`judged`: else the model is asked only later); a message that ends the connection ends them. */
function sendEach(r: Rendering, user: number, msgs: readonly unknown[], judged = true): void {
  for (const m of msgs) {
    r.steps.push(step({ send: clientOf(user), msg: message(r, m, user) }));
    if (judged) r.steps.push(step({ expect: 'model' }));
    if (r.hooks.leaves?.(m) === true) {
      r.left.add(user);
      return;
    }
  }
}

/** A user leaves: a link fault is cleared first (a close held by a partition would reach the target later than the model takes it). */
function renderLeave(r: Rendering, user: number, mode: 'close' | 'reset'): void {
  const client = clientOf(user);
  if (mode === 'close' && r.linked.delete(user)) r.steps.push(step({ fault: 'clear', client }));
  r.steps.push(step({ disconnect: client, mode }));
  r.left.add(user);
  r.hooks.forget?.(user, r.state);
  if (r.hooks.unjudgedLeave !== true) r.steps.push(step({ expect: 'model' }));
}

/**
 * The away's sends (each writer in turn; one still there writes for one that left; on a silently
 * dead link one message per writer, all in flight).
 */
function awaySends(r: Rendering, a: Extract<FuzzAction, { kind: 'away' }>): void {
  const others = r.users.filter((u) => u !== a.user);
  const written = new Set<number>();
  for (const s of a.sends) {
    const order = [...others.filter((u) => u >= s.user), ...others.filter((u) => u < s.user)];
    const writer = order.find((u) => !r.left.has(u) && !r.garbled.has(u) && (a.how !== 'silent' || !written.has(u)));
    if (writer === undefined) continue;
    written.add(writer);
    sendEach(r, writer, a.how === 'silent' ? s.msgs.slice(0, 1) : s.msgs, a.how !== 'silent');
  }
}

/** A wait of the quiet spell in ms: a number, or a `$var` of the run's variables (NaN when unknown). */
function quietValue(v: number | string, vars: Readonly<Record<string, string | number>> = {}): number {
  return typeof v === 'number' ? v : Number(vars[v.replace(/^\$/, '')]);
}

/** How many keep-alive rounds make a quiet spell: enough waits to pass `ms` (1 when the variables are unknown). */
export function quietRounds(q: QuietSpec, vars?: Readonly<Record<string, string | number>>): number {
  const rounds = Math.ceil(quietValue(q.ms, vars) / quietValue(q.everyMs, vars));
  return Number.isFinite(rounds) ? Math.min(maxQuietRounds, Math.max(1, rounds)) : 1;
}

/**
 * A user goes quiet on its open connection past the server's timeout: every link fault is cleared
 * first (the server's drop must reach the user, the others' keep-alives the server), then rounds of
 * a keep-alive from every other user still there (judged) and a wait (with nobody else there, one
 * wait of the whole spell), then the model, then the away's sends; then the user closes its
 * connection (the server may have closed it already).
 */
function renderQuiet(r: Rendering, a: Extract<FuzzAction, { kind: 'away' }>, q: QuietSpec): void {
  for (const u of r.users) if (!r.left.has(u) && r.linked.delete(u)) r.steps.push(step({ fault: 'clear', client: clientOf(u) }));
  const keep = r.users.filter((u) => u !== a.user && !r.left.has(u) && !r.garbled.has(u));
  // the others keep alive first (a user silent through the steps before may be near its own
  // timeout), then after each wait; nobody to keep alive: one wait; then the model judges the drop
  const rounds = keep.length === 0 ? 1 : quietRounds(q, r.hooks.vars);
  for (let i = 0; i < rounds; i++) {
    for (const u of keep) sendEach(r, u, [q.keepAlive(u)], false);
    if (keep.length > 0) r.steps.push(step({ expect: 'model' }));
    r.steps.push(step({ wait: keep.length === 0 ? q.ms : q.everyMs }));
  }
  r.steps.push(step({ expect: 'model' }));
  awaySends(r, a);
  renderLeave(r, a.user, 'close');
}

/**
 * A user goes away, the others send meanwhile (to it, or ordinary messages), and it comes back. A
 * silently dead link takes one message per writer, all in flight (the model would wait for pushes
 * that cannot arrive), then the reset, then `expect: model`; a quiet spell keeps the others alive.
 */
function renderAway(r: Rendering, a: Extract<FuzzAction, { kind: 'away' }>): void {
  if (r.left.has(a.user) || (a.how === 'message' && r.garbled.has(a.user))) return;
  if ((a.how === 'quiet' && r.hooks.quiet === undefined) || (a.how === 'message' && r.hooks.goOffline === undefined)) return;
  const client = clientOf(a.user);
  if (a.how === 'quiet') renderQuiet(r, a, r.hooks.quiet!);
  else {
    if (a.how === 'message') sendEach(r, a.user, r.hooks.goOffline ?? []);
    else if (a.how === 'silent') {
      r.steps.push(step({ fault: 'timeout', client }));
      r.linked.add(a.user);
    } else renderLeave(r, a.user, a.how);
    awaySends(r, a);
    if (a.how === 'silent') {
      r.steps.push(step({ wait: 100 }));
      renderLeave(r, a.user, 'reset');
    }
  }
  if (!a.back) return;
  if (r.left.delete(a.user)) {
    r.garbled.delete(a.user);
    if (r.linked.delete(a.user)) r.steps.push(step({ fault: 'clear', client }));
    r.steps.push(...connectSteps(r.c, [a.user]));
  }
  sendEach(r, a.user, r.hooks.comeBack?.(a.user) ?? []);
}

/** Who sends an `orOther` send whose user left: the next user still there (in turn) that its messages do not name. */
function stillThere(r: Rendering, a: Extract<FuzzAction, { kind: 'send' }>): number | undefined {
  if (!r.left.has(a.user) || a.orOther !== true) return a.user;
  const named = JSON.stringify(withNames(a.msgs, r.c.names, -1));
  const order = [...r.users.filter((u) => u > a.user), ...r.users.filter((u) => u < a.user)];
  return order.find((u) => !r.left.has(u) && !named.includes(JSON.stringify(withNames({ $user: u }, r.c.names, u)).slice(1, -1)));
}

/** One user's action (send, raw bytes, a link fault, leaving) and the model check after it. */
function renderUserAction(r: Rendering, action: Exclude<Extract<FuzzAction, { user: number }>, { kind: 'away' }>): void {
  const sender = action.kind === 'send' ? stillThere(r, action) : action.user;
  if (sender === undefined) return;
  const a = sender === action.user ? action : { ...action, user: sender };
  if (r.left.has(a.user) || (r.garbled.has(a.user) && (a.kind === 'send' || a.kind === 'check'))) return;
  const client = clientOf(a.user);
  if (a.kind === 'send') {
    // a message that ends the connection ends the burst too
    const end = a.msgs.findIndex((m) => r.hooks.leaves?.(m) === true);
    const msgs = end < 0 ? a.msgs : a.msgs.slice(0, end + 1);
    if (end >= 0) r.left.add(a.user);
    r.steps.push(msgs.length === 1 ? step({ send: client, msg: message(r, msgs[0], a.user) }) : step({ send: client, msgs: msgs.map((m) => message(r, m, a.user)) }));
  } else if (a.kind === 'raw') {
    if (a.end === undefined) r.garbled.add(a.user);
    const end = a.end !== undefined ? { end: a.end } : {};
    r.steps.push(step({ send: client, raw: typeof a.text === 'string' ? { text: a.text, ...end } : { text: a.text.$repeat, repeat: a.text.times, ...end } }));
  } else if (a.kind === 'check') {
    r.steps.push(step({ send: client, msg: message(r, a.msg, a.user) }), step({ expect: client, msg: a.expect }));
    return;
  } else if (a.kind === 'fault') {
    const { kind: _k, user: _u, ...fault } = a;
    r.steps.push(step({ ...fault, client }));
    r.linked.add(a.user);
    return;
  } else return renderLeave(r, a.user, a.mode);
  r.steps.push(step({ expect: 'model' }));
}

/**
 * The case as steps: every acting user connects at the same instant, each action is followed by
 * `expect: model` (faults and waits are not), and a user who left does nothing more. A crash kills
 * and restarts the target, and the users reconnect and do their setup again; a pause's sends are
 * judged once the target resumes.
 */
export function renderSteps(c: FuzzCase, hooks: RenderHooks = {}): StepFile[] {
  const users = actingUsers(c);
  if (users.length === 0) return [step({ wait: 0 })];
  const r: Rendering = { c, hooks, steps: connectSteps(c, users), users, left: new Set(), linked: new Set(), garbled: new Set(), state: new Map() };
  for (const a of c.actions) {
    if (a.kind === 'wait') r.steps.push(step({ wait: a.ms }));
    else if (a.kind === 'together') {
      if (renderSends(r, a.sends, true)) r.steps.push(step({ expect: 'model' }));
    } else if (a.kind === 'crash') renderCrash(r);
    else if (a.kind === 'pause') renderPause(r, a);
    else if (a.kind === 'away') renderAway(r, a);
    else renderUserAction(r, a);
  }
  return r.steps;
}

/** The size of a case as a shrink target: users, steps, faults and characters of data. */
export interface CaseSize {
  users: number;
  steps: number;
  faults: number;
  dataChars: number;
}

/** Characters of data in a message or field (strings, and `{ $repeat, times }` at their length). */
export function dataChars(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + dataChars(x), 0);
  if (typeof v !== 'object' || v === null) return 0;
  const r = v as Record<string, unknown>;
  if (typeof r.$repeat === 'string' && typeof r.times === 'number') return textLength(r as { $repeat: string; times: number });
  return Object.values(r).reduce((n: number, x) => n + dataChars(x), 0);
}

export function caseSize(c: FuzzCase): CaseSize {
  let chars = 0;
  for (const a of c.actions) {
    if (a.kind === 'send') chars += dataChars(a.msgs);
    else if (a.kind === 'check') chars += dataChars(a.msg);
    else if (a.kind === 'together' || a.kind === 'pause') chars += dataChars(a.sends.map((s) => s.msg));
    else if (a.kind === 'away') chars += dataChars(a.sends.map((s) => s.msgs));
    else if (a.kind === 'raw') chars += dataChars(a.text);
  }
  const faults = c.actions.filter((a) => a.kind === 'fault' || a.kind === 'crash' || a.kind === 'pause').length;
  return { users: actingUsers(c).length, steps: c.actions.length, faults, dataChars: chars };
}

/** `2 users, 5 steps, 1 fault, 12 chars of data`. */
export function describeSize(s: CaseSize): string {
  return `${s.users} user${s.users === 1 ? '' : 's'}, ${s.steps} step${s.steps === 1 ? '' : 's'}, ${s.faults} fault${s.faults === 1 ? '' : 's'}, ${s.dataChars} chars of data`;
}
