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
  | { kind: 'send'; user: number; msgs: unknown[] }
  /** several users send at the same instant (requests in flight together: the oracle's possible worlds) */
  | { kind: 'together'; sends: { user: number; msg: unknown }[] }
  /** bytes that are not a message of the protocol (malformed, garbage, a very long line) */
  | { kind: 'raw'; user: number; text: FuzzText; end?: string }
  | ({ kind: 'fault'; user: number } & FuzzFault)
  /** a peer leaving: FIN, or RST as a killed client */
  | { kind: 'leave'; user: number; mode: 'close' | 'reset' }
  | { kind: 'wait'; ms: number | string };

export interface FuzzCase {
  /** each user's name (the base; `${run}` is appended), by index */
  names: string[];
  actions: FuzzAction[];
}

/** What a protocol's generator may add to rendering: a message that depends on what came before. */
export interface RenderHooks {
  /** the message as it is sent (session ids...), given what was sent before in this case */
  resolve?: (msg: unknown, user: number, state: Map<string, unknown>) => unknown;
  /** the message ends the sender's connection (register-exit's Exit): the user does nothing more */
  leaves?: (msg: unknown) => boolean;
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
    if (a.kind === 'together') a.sends.forEach((s) => users.add(s.user));
    else if (a.kind !== 'wait') users.add(a.user);
  }
  return [...users].sort((a, b) => a - b);
}

/**
 * The case as steps: every acting user connects at the same instant, each action is followed by
 * `expect: model` (faults and waits are not), and a user who left does nothing more.
 */
export function renderSteps(c: FuzzCase, hooks: RenderHooks = {}): StepFile[] {
  const users = actingUsers(c);
  if (users.length === 0) return [{ wait: 0 } as StepFile];
  const steps: StepFile[] = [{ connect: users.length === 1 ? clientOf(users[0]!) : users.map(clientOf) } as StepFile];
  const left = new Set<number>();
  const state = new Map<string, unknown>();
  const message = (msg: unknown, user: number): unknown => {
    const named = withNames(msg, c.names, user);
    return hooks.resolve !== undefined ? hooks.resolve(named, user, state) : named;
  };
  for (const a of c.actions) {
    if (a.kind === 'wait') {
      steps.push({ wait: a.ms } as StepFile);
      continue;
    }
    if (a.kind === 'together') {
      const sends = a.sends.filter((s, i) => !left.has(s.user) && a.sends.findIndex((t) => t.user === s.user) === i);
      if (sends.length === 0) continue;
      for (const s of sends) steps.push({ send: clientOf(s.user), msg: message(s.msg, s.user) } as StepFile);
      for (const s of sends) if (hooks.leaves?.(s.msg) === true) left.add(s.user);
      steps.push({ expect: 'model' } as StepFile);
      continue;
    }
    if (left.has(a.user)) continue;
    const client = clientOf(a.user);
    if (a.kind === 'send') {
      // a message that ends the connection ends the burst too
      const end = a.msgs.findIndex((m) => hooks.leaves?.(m) === true);
      const msgs = end < 0 ? a.msgs : a.msgs.slice(0, end + 1);
      if (end >= 0) left.add(a.user);
      steps.push(msgs.length === 1 ? ({ send: client, msg: message(msgs[0], a.user) } as StepFile) : ({ send: client, msgs: msgs.map((m) => message(m, a.user)) } as StepFile));
    } else if (a.kind === 'raw') {
      const end = a.end !== undefined ? { end: a.end } : {};
      steps.push({ send: client, raw: typeof a.text === 'string' ? { text: a.text, ...end } : { text: a.text.$repeat, repeat: a.text.times, ...end } } as StepFile);
    } else if (a.kind === 'fault') {
      const { kind: _k, user: _u, ...fault } = a;
      steps.push({ ...fault, client } as StepFile);
      continue;
    } else {
      steps.push({ disconnect: client, mode: a.mode } as StepFile);
      left.add(a.user);
    }
    steps.push({ expect: 'model' } as StepFile);
  }
  return steps;
}

/** The size of a case as a shrink target: users, steps, faults and characters of data. */
export interface CaseSize {
  users: number;
  steps: number;
  faults: number;
  dataChars: number;
}

export function caseSize(c: FuzzCase): CaseSize {
  let dataChars = 0;
  const count = (v: unknown): void => {
    if (typeof v === 'string') dataChars += v.length;
    else if (Array.isArray(v)) v.forEach(count);
    else if (typeof v === 'object' && v !== null) {
      const r = v as Record<string, unknown>;
      if (typeof r.$repeat === 'string' && typeof r.times === 'number') dataChars += textLength(r as { $repeat: string; times: number });
      else Object.values(r).forEach(count);
    }
  };
  for (const a of c.actions) {
    if (a.kind === 'send') count(a.msgs);
    else if (a.kind === 'together') count(a.sends.map((s) => s.msg));
    else if (a.kind === 'raw') count(a.text);
  }
  return { users: actingUsers(c).length, steps: c.actions.length, faults: c.actions.filter((a) => a.kind === 'fault').length, dataChars };
}

/** `2 users, 5 steps, 1 fault, 12 chars of data`. */
export function describeSize(s: CaseSize): string {
  return `${s.users} user${s.users === 1 ? '' : 's'}, ${s.steps} step${s.steps === 1 ? '' : 's'}, ${s.faults} fault${s.faults === 1 ? '' : 's'}, ${s.dataChars} chars of data`;
}
