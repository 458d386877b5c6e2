/**
 * One arbitrary of live cases for every protocol, composed from what each protocol's generator
 * (protocols/*.ts) says about its messages: users who first do the protocol's setup (one after the
 * other, or at the same instant), then rounds of ordinary and hostile messages, bursts written in
 * one write, several users at the same instant, malformed input, link faults (split and merge in
 * both directions, delay, latency, a vanished host), peers leaving and pauses, and, on a target
 * protosim starts, process faults at any point of the workload: the target killed and restarted
 * (the users reconnect and do their setup again), or paused while users send. Workload, data and
 * faults are separate arbitraries composed here (STYLE 7); shrinking removes actions (process faults
 * too), lowers user indices (fewer users) and shortens data.
 */
import fc from 'fast-check';
import { dataChars, type FuzzAction, type FuzzCase, type FuzzFault, type QuietSpec, type RenderHooks } from './fuzz-case.js';
import { plainWord, unfixedLimitChars, type FuzzText } from './hostile-data.js';

/** What a protocol contributes to fuzzing its servers. */
export interface ProtocolFuzz {
  protocol: string;
  /** users acting at most (more make cases slower; three already give most interleavings) */
  maxUsers: number;
  /** a user's name base (letters; the run token is appended) */
  name: fc.Arbitrary<string>;
  /** what user i sends first, in order (register, create and log in, version and login...) */
  setup: (user: number) => unknown[];
  /** one message of the protocol, naming users with `{ $user: i }` / `{ $self: true }` */
  message: (users: number) => fc.Arbitrary<unknown>;
  /** bytes that are not a message (absent: the transport cannot send raw bytes) */
  raw?: fc.Arbitrary<FuzzText>;
  /** written after raw bytes: the end of a frame (a line protocol's "\n"), so the next message is read as a frame of its own */
  rawEnd?: string;
  /** the link faults that make sense on this transport */
  faults: fc.Arbitrary<FuzzFault>;
  /** pauses (ms or `$var`): short ones, and ones past the protocol's timeouts */
  waits: readonly (number | string)[];
  /** suite variables the cases read, with defaults */
  vars?: Record<string, string | number>;
  hooks?: RenderHooks;
  /**
   * what the first user sends after the target restarted, before anyone acts: a store that may keep
   * its data across a restart (kv: the course's IM server keeps its keys) is cleared, so its state is known
   */
  afterRestart?: unknown[];
  /** a bound on the body's actions */
  maxActions?: number;
  /**
   * users the case's setup leaves out join in the body (most cases that set up only some users):
   * each does the setup there, its identity (`{ $self: true }` in the setup) claimed as its own or
   * another user's as often (a name in use, one that left, one nobody has), so a newcomer's claim is
   * judged against the identities already held
   */
  lateSetup?: boolean;
  /**
   * a link fault that cuts the bytes (split) is also drawn followed by a message of the user whose
   * link it is (what the fault does to the bytes is then exercised, not left to a later action of
   * that user)
   */
  faultTraffic?: boolean;
  /**
   * a message to user `to`, for protocols that route messages to users: drawn right after a user
   * leaves, or after a message that names users, so the next exchange reaches a user whose state just
   * changed (a second round to someone who left, was named in another's identity field...)
   */
  messageTo?: (to: number) => fc.Arbitrary<unknown>;
  /**
   * what takes a user offline while its connection stays, and what it sends when it comes back (log
   * in again, read its queue): with `comeBack`, a user goes away (that, or it leaves, or its link
   * dies silently, or it goes `quiet`), the others send meanwhile (with `messageTo` to it, several of
   * them; without, ordinary messages or nothing), and it comes back
   */
  goOffline?: unknown[];
  comeBack?: (user: number) => unknown[];
  /**
   * a way of going away on an open connection, for a protocol whose server drops a silent session:
   * the user says nothing past the server's timeout while the others keep their sessions alive
   */
  quiet?: QuietSpec;
  /** the parameters of a user's `connect` step, drawn per user (kv under `--strict`: its store) */
  connect?: fc.Arbitrary<Record<string, string>>;
  /**
   * requests the model does not judge, each with the reply expected by a pattern (kv under
   * `--strict`: protosim's error replies to an unknown action or a missing key)
   */
  checks?: fc.Arbitrary<{ msg: unknown; expect: unknown }>;
  /**
   * the generator `--strict` uses (protosim's own extensions generated too); absent: this one. The
   * strict oracle itself is the suite variable `strict` (src/conformance/strictness.ts).
   */
  strict?: ProtocolFuzz;
}

/** The generator a run uses: the protocol's, or its strict one under `--strict`. */
export const generatorFor = (p: ProtocolFuzz, strict: boolean): ProtocolFuzz => (strict ? (p.strict ?? p) : p);

/** What a generated case may do besides the workload. */
export interface CaseOptions {
  /** kill and restart, pause and resume the target (a target protosim starts; not an address) */
  processFaults: boolean;
}

/** How long a paused target stays paused: a moment, and long enough for what was sent meanwhile to pile up. */
export const pauseMs = [0, 50, 300] as const;

/** The faults of a stream transport: split and merge both ways, delay, latency, a partition. */
export const streamFaults: fc.Arbitrary<FuzzFault> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ fault: fc.constant('split' as const), direction: fc.constantFrom('to-target' as const, 'from-target' as const, 'both' as const), parts: fc.integer({ min: 2, max: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ fault: fc.constant('merge' as const), direction: fc.constantFrom('to-target' as const, 'from-target' as const), messages: fc.integer({ min: 2, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('delay' as const), direction: fc.constantFrom('to-target' as const, 'from-target' as const), ms: fc.constantFrom(5, 50, 200) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('latency' as const), ms: fc.constantFrom(1, 20, 100) }) },
  { weight: 1, arbitrary: fc.constant({ fault: 'partition' as const }) },
  { weight: 1, arbitrary: fc.constant({ fault: 'clear' as const }) },
);

const userIndex = (users: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: users - 1 });

/**
 * Process faults on the target: killed and restarted, or paused while users send (small messages
 * only: a paused target reads nothing, so a large write would wait for it).
 */
function processFaultArbitrary(p: ProtocolFuzz): fc.Arbitrary<FuzzAction> {
  const small = p.message(p.maxUsers).filter((m) => dataChars(m) <= unfixedLimitChars);
  const sends = fc.array(fc.record({ user: userIndex(p.maxUsers), msg: small }), { minLength: 0, maxLength: p.maxUsers });
  return fc.oneof(fc.constant({ kind: 'crash' as const }), fc.record({ kind: fc.constant('pause' as const), sends, ms: fc.constantFrom(...pauseMs) }));
}

/** Most process faults in one case. */
export const maxProcessFaults = 2;

/** Whether the action ends its user's connection (a leave, a message that ends it). */
function endsUser(p: ProtocolFuzz, a: FuzzAction): boolean {
  return a.kind === 'leave' || (a.kind === 'send' && a.msgs.some((m) => p.hooks?.leaves?.(m) === true));
}

/** The users an action names: who leaves; the other users a message names (`$user`), else its sender when the message ends its connection. */
function namedUsers(p: ProtocolFuzz, a: FuzzAction): number[] {
  if (a.kind === 'leave') return [a.user];
  if (a.kind !== 'send') return [];
  const named = new Set<number>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      const r = v as Record<string, unknown>;
      if (typeof r.$user === 'number' && r.$user < p.maxUsers) named.add(r.$user);
      Object.values(r).forEach(walk);
    }
  };
  walk(a.msgs);
  named.delete(a.user);
  if (named.size === 0 && endsUser(p, a)) named.add(a.user);
  return [...named].sort((x, y) => x - y);
}

/**
 * An action, then (when it names a user) a message to that user from another user, or from that
 * user (still there) to another: the second exchange, with a user who just left or was just named.
 * Without `messageTo`: the action alone.
 */
function followed(p: ProtocolFuzz, first: fc.Arbitrary<FuzzAction>): fc.Arbitrary<FuzzAction[]> {
  const n = p.maxUsers;
  if (p.messageTo === undefined || n < 2) return first.map((a) => [a]);
  const to = fc.tuple(...Array.from({ length: n }, (_, i) => p.messageTo!(i)));
  return fc.tuple(first, fc.nat(), fc.nat(), to, fc.boolean()).map(([a, pick, other, msgs, back]) => {
    const named = namedUsers(p, a);
    if (named.length === 0) return [a];
    const target = named[pick % named.length]!;
    // another user writes, not one the action ended
    const writers = Array.from({ length: n }, (_, u) => u).filter((u) => u !== target && !((a.kind === 'leave' || a.kind === 'send') && u === a.user && endsUser(p, a)));
    if (writers.length === 0) return [a];
    const writer = writers[other % writers.length]!;
    // or the named user, still there, writes to the other one (does the server still know it?)
    if (back && !(target === (a as { user?: number }).user && endsUser(p, a))) return [a, { kind: 'send' as const, user: target, msgs: [msgs[writer]] }];
    return [a, { kind: 'send' as const, user: writer, msgs: [msgs[target]], orOther: true }];
  });
}

/**
 * A user goes away (a message that takes it offline, a close, a reset, a link that dies silently,
 * or quiet past the server's timeout: the ways the protocol has), others send meanwhile (with
 * `messageTo`: one to three of them, one to three messages each to it; without: none to two of
 * them, ordinary messages), and most of the time it comes back (and logs in again, reads its queue).
 * Messages are drawn for every possible recipient and picked by index, so shrinking lowers the user
 * without redrawing them.
 */
function awayArbitrary(p: ProtocolFuzz): fc.Arbitrary<FuzzAction> {
  const n = p.maxUsers;
  const to = p.messageTo !== undefined
    ? fc.tuple(...Array.from({ length: n }, (_, i) => fc.array(p.messageTo!(i), { minLength: 1, maxLength: 3 })))
    : fc.array(p.message(n), { minLength: 1, maxLength: 2 }).map((msgs) => Array.from({ length: n }, () => msgs));
  const how = fc.oneof(
    ...(p.goOffline !== undefined ? [{ weight: 4, arbitrary: fc.constant('message' as const) }] : []),
    { weight: 2, arbitrary: fc.constantFrom('close' as const, 'reset' as const) },
    { weight: 2, arbitrary: fc.constant('silent' as const) },
    ...(p.quiet !== undefined ? [{ weight: 4, arbitrary: fc.constant('quiet' as const) }] : []),
  );
  const sends = fc.array(fc.tuple(userIndex(n), to), p.messageTo !== undefined ? { minLength: 1, maxLength: 3 } : { minLength: 0, maxLength: 2 });
  return fc
    .record({ user: userIndex(n), how, sends, back: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) })
    .map(({ user, how: h, sends: s, back }) => ({ kind: 'away' as const, user, how: h, back, sends: s.map(([writer, msgs]) => ({ user: writer, msgs: msgs[user]! })) }));
}

/** The body's actions, weighted towards ordinary messages; with `messageTo`, some followed by a message to a user they name; with `comeBack`, users going away and coming back; with `faultTraffic`, link faults followed by their user's message. */
function actionArbitrary(p: ProtocolFuzz): fc.Arbitrary<FuzzAction[]> {
  const single = singleActionArbitrary(p);
  const n = p.maxUsers;
  const extra = p.comeBack !== undefined && n >= 2 ? [{ weight: 3, arbitrary: awayArbitrary(p).map((a) => [a]) }] : [];
  if (p.faultTraffic === true) extra.push({ weight: 2, arbitrary: faultTrafficArbitrary(p) });
  if (p.messageTo === undefined) return extra.length === 0 ? single.map((a) => [a]) : fc.oneof({ weight: 8, arbitrary: single.map((a) => [a]) }, ...extra);
  const send = fc.record({ kind: fc.constant('send' as const), user: userIndex(n), msgs: fc.tuple(p.message(n)).map((m) => [...m]) });
  const leave = fc.record({ kind: fc.constant('leave' as const), user: userIndex(n), mode: fc.constantFrom('close' as const, 'reset' as const) });
  return fc.oneof({ weight: 8, arbitrary: single.map((a) => [a]) }, { weight: 3, arbitrary: followed(p, send) }, { weight: 1, arbitrary: followed(p, leave) }, ...extra);
}

/**
 * A link fault that cuts the bytes (a split), then a message of the user whose link it is. Not the
 * faults that hold bytes (a merge waiting for the next message, a delay, latency, a partition):
 * what they hold reaches either side at a moment the case does not know (past a heartbeat, after a
 * pause), and a message right behind one made false findings on correct servers (docs/fuzz.md,
 * "Late joins and link faults with traffic").
 */
function faultTrafficArbitrary(p: ProtocolFuzz): fc.Arbitrary<FuzzAction[]> {
  const exact = p.faults.filter((f) => f.fault === 'split');
  return fc.tuple(userIndex(p.maxUsers), exact, p.message(p.maxUsers)).map(([user, f, msg]) => [
    { kind: 'fault' as const, user, ...f },
    { kind: 'send' as const, user, msgs: [msg] },
  ]);
}

/** One action of the body, weighted towards ordinary messages. */
function singleActionArbitrary(p: ProtocolFuzz): fc.Arbitrary<FuzzAction> {
  const n = p.maxUsers;
  const message = p.message(n);
  const choices: { weight: number; arbitrary: fc.Arbitrary<FuzzAction> }[] = [
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('send' as const), user: userIndex(n), msgs: fc.tuple(message).map((m) => [...m]) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('send' as const), user: userIndex(n), msgs: fc.array(message, { minLength: 2, maxLength: 4 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('together' as const), sends: fc.array(fc.record({ user: userIndex(n), msg: message }), { minLength: 2, maxLength: n }) }) },
    { weight: 2, arbitrary: fc.tuple(userIndex(n), p.faults).map(([user, f]) => ({ kind: 'fault' as const, user, ...f })) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), user: userIndex(n), mode: fc.constantFrom('close' as const, 'reset' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(...p.waits) }) },
  ];
  if (p.checks !== undefined) choices.push({ weight: 2, arbitrary: fc.tuple(userIndex(n), p.checks).map(([user, c]) => ({ kind: 'check' as const, user, msg: c.msg, expect: c.expect })) });
  if (p.raw !== undefined) choices.push({ weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), user: userIndex(n), text: p.raw, ...(p.rawEnd !== undefined ? { end: fc.constant(p.rawEnd) } : {}) }) });
  return fc.oneof(...choices);
}

/** The setup of the users that take part: each user's setup messages, in turn or at the same instant. */
function setupActions(p: ProtocolFuzz, users: readonly number[], together: boolean): FuzzAction[] {
  if (!together) return users.flatMap((u) => p.setup(u).map((msg) => ({ kind: 'send' as const, user: u, msgs: [msg] })));
  const rounds = Math.max(0, ...users.map((u) => p.setup(u).length));
  const out: FuzzAction[] = [];
  for (let i = 0; i < rounds; i++) {
    const sends = users.filter((u) => p.setup(u)[i] !== undefined).map((u) => ({ user: u, msg: p.setup(u)[i] }));
    out.push(sends.length === 1 ? { kind: 'send', user: sends[0]!.user, msgs: [sends[0]!.msg] } : { kind: 'together', sends });
  }
  return out;
}

/**
 * Where a user left out of the setup joins (before the body's action at that index) and whose
 * identity it claims (-1: its own; else the k-th of the users set up, then the others, then a name
 * nobody has, round); null: it does not join.
 */
type Join = { at: number; as: number } | null;

/**
 * A join: most often right after the setup (while every name set up is still held), else anywhere in
 * the body; claiming another user's identity (one set up first: a name in use) twice as often as its
 * own, shrinking to its own.
 */
const joinArbitrary = (p: ProtocolFuzz): fc.Arbitrary<Join> =>
  fc.option(fc.record({ at: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: p.maxActions ?? 12 }) }), as: fc.oneof({ weight: 1, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.nat({ max: p.maxUsers }) }) }), { freq: 6 });

/** Whose identity a join's `as` claims: the users set up first, then the others, then a name nobody has (`maxUsers`). */
function claimed(p: ProtocolFuzz, as: number, user: number, setup: readonly number[]): number {
  const others = Array.from({ length: p.maxUsers }, (_, u) => u).filter((u) => u !== user && !setup.includes(u));
  const order = [...setup, ...others, p.maxUsers];
  return order[as % order.length]!;
}

/** The setup's messages with the identity `{ $self: true }` claimed as user `as`'s. */
function claimAs(v: unknown, as: number): unknown {
  if (Array.isArray(v)) return v.map((x) => claimAs(x, as));
  if (typeof v !== 'object' || v === null) return v;
  const r = v as Record<string, unknown>;
  if (r.$self === true) return { $user: as };
  return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, claimAs(x, as)]));
}

/** The body with the setup of each user left out of it, at the place that user joins. */
function joined(p: ProtocolFuzz, body: readonly FuzzAction[], setup: readonly number[], joins: readonly Join[] | undefined): FuzzAction[] {
  const actions = [...body];
  const late = (joins ?? []).flatMap((j, user) => (j !== null && !setup.includes(user) ? [{ user, ...j }] : [])).sort((a, b) => b.at - a.at || b.user - a.user);
  for (const j of late) {
    const msgs = p.setup(j.user).map((m) => (j.as >= 0 ? claimAs(m, claimed(p, j.as, j.user, setup)) : m));
    actions.splice(Math.min(j.at, actions.length), 0, ...msgs.map((msg) => ({ kind: 'send' as const, user: j.user, msgs: [msg] })));
  }
  return actions;
}

/** Live cases of a protocol: setup, then up to `maxActions` actions (process faults among them when asked). */
export function caseArbitrary(p: ProtocolFuzz, options: CaseOptions = { processFaults: false }): fc.Arbitrary<FuzzCase> {
  const n = p.maxUsers;
  return fc
    // Shrinking goes through the fields in this order: the body's actions first (fewest steps),
    // then the setup's users, then names (shortest data), then the late joins (fewer, earlier, as
    // themselves), then the process faults (fewer, earlier).
    // They are a field of their own, drawn last, so a seed gives the same workload with and without
    // them, each placed before the body's action at its index (past the end: after the last).
    .record({
      body: fc.array(actionArbitrary(p), { minLength: 1, maxLength: p.maxActions ?? 12 }).map((groups) => groups.flat()),
      // as often as not every user is set up (the exchanges between users that exist); shrinking
      // goes to the first arbitrary, any subset
      setupUsers: fc.oneof(fc.uniqueArray(userIndex(n), { minLength: 0, maxLength: n }), fc.constant(Array.from({ length: n }, (_, u) => u))),
      together: fc.boolean(),
      names: fc.array(p.name, { minLength: n + 1, maxLength: n + 1 }),
      // where each user left out of the setup joins, and whose identity it claims (before the
      // process faults, so a seed joins the same users with and without them)
      ...(p.lateSetup === true ? { joins: fc.array(joinArbitrary(p), { minLength: n, maxLength: n }) } : {}),
      ...(options.processFaults ? { faults: fc.array(fc.tuple(fc.nat({ max: p.maxActions ?? 12 }), processFaultArbitrary(p)), { minLength: 0, maxLength: maxProcessFaults }) } : {}),
      // drawn after everything else, so a generator without connect parameters draws as before
      ...(p.connect !== undefined ? { connect: fc.array(p.connect, { minLength: n, maxLength: n }) } : {}),
    })
    .map(({ names, setupUsers, together, body, faults, connect, joins }) => {
      const setup = [...setupUsers].sort((a, b) => a - b);
      const actions = joined(p, body, setup, joins as Join[] | undefined);
      for (const [at, fault] of [...((faults as [number, FuzzAction][] | undefined) ?? [])].sort((a, b) => b[0] - a[0])) actions.splice(Math.min(at, actions.length), 0, fault);
      return { names, actions: [...setupActions(p, setup, together), ...actions], setupUsers: setup, ...(connect !== undefined ? { connect: connect as Record<string, string>[] } : {}) };
    });
}

/** What rendering needs of a protocol's generator: its hooks, its setup (done again after a restart), what follows a restart, and the run's variables (its defaults, then `vars`). */
export function renderHooksOf(p: ProtocolFuzz, vars?: Readonly<Record<string, string | number>>): RenderHooks {
  return {
    ...p.hooks,
    setup: p.setup,
    ...(p.afterRestart !== undefined ? { afterRestart: p.afterRestart } : {}),
    ...(p.goOffline !== undefined ? { goOffline: p.goOffline } : {}),
    ...(p.comeBack !== undefined ? { comeBack: p.comeBack } : {}),
    ...(p.quiet !== undefined ? { quiet: p.quiet } : {}),
    vars: { ...(p.vars ?? {}), ...(vars ?? {}) },
  };
}

/** A name base: letters and digits, capitals included, starting with a letter. */
export const nameBase = (maxLength = 8): fc.Arbitrary<string> => fc.tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'), plainWord(maxLength - 1)).map(([a, b]) => `${a}${b}`);
