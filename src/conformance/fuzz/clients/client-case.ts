/**
 * A generated case for client programs, and its arbitrary: rounds of what people and the network
 * do, each round done without waiting (a burst: several lines typed in a row; several users typing
 * at once), then what each program must show is checked. Actions:
 *
 *  - `say`: user `from` types `texts` to user `to` (`to` = maxUsers is a name nobody has); for an
 *    echo protocol, to nobody but the server. A burst (several texts) is `together` or not: whether
 *    what it makes the server send reaches the program that shows it in one read (a merge on that
 *    link), so a case does not depend on whether TCP happened to coalesce them; it shrinks towards
 *    `together`, so a shrunk case keeps the read it failed on;
 *  - `fault`: a link fault on the user's connection (merge several messages into one read, split
 *    one message across reads, delay), towards the program or towards the server;
 *  - `leave`: the person quits the program, or it is killed; `rejoin`: it is started again;
 *  - `idle`: nobody types for longer than the server's timeouts.
 *
 * The users a case starts are those its actions name; shrinking removes rounds and actions, lowers
 * user indices (two users become one), and shortens texts. Workload, data and faults are separate
 * arbitraries composed here.
 */
import fc from 'fast-check';
import type { ChatProtocolFuzz } from './client-protocol.js';
import { typedText, type TextRules } from './typed-text.js';

export type LinkDirection = 'to-client' | 'to-server' | 'both';

export type ClientAction =
  | { kind: 'say'; from: number; to: number; texts: string[]; together: boolean }
  | { kind: 'fault'; user: number; fault: 'merge' | 'split' | 'delay'; direction: LinkDirection; amount: number }
  | { kind: 'leave'; user: number; how: 'quit' | 'kill' }
  | { kind: 'rejoin'; user: number }
  | { kind: 'idle' };

export interface ClientFuzzCase {
  rounds: ClientAction[][];
}

export interface ClientCaseOptions {
  protocol: ChatProtocolFuzz;
  text: TextRules;
  /** the wire has no message boundaries of its own (protobuf's raw framing): no split, no merge towards the server */
  unframed: boolean;
}

/** Rounds and actions per round, at most. */
export const maxRounds = 4;
export const maxActionsPerRound = 3;

const userIndex = (n: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: n - 1 });

type FaultDraw = { fault: 'merge' | 'split' | 'delay'; direction: LinkDirection; amount: number };

/** Link faults a person's connection may suffer (on a wire without message boundaries, only what keeps messages whole). */
function faultArbitrary(o: ClientCaseOptions): fc.Arbitrary<FaultDraw> {
  const mergeTowards: fc.Arbitrary<LinkDirection> = o.unframed ? fc.constant('to-client') : fc.constantFrom('to-client', 'to-client', 'to-server');
  const choices: { weight: number; arbitrary: fc.Arbitrary<FaultDraw> }[] = [
    { weight: 4, arbitrary: fc.record({ fault: fc.constant('merge' as const), direction: mergeTowards, amount: fc.integer({ min: 2, max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ fault: fc.constant('delay' as const), direction: fc.constantFrom<LinkDirection>('to-client', 'to-server'), amount: fc.constantFrom(5, 50, 200) }) },
  ];
  if (!o.unframed) choices.push({ weight: 3, arbitrary: fc.record({ fault: fc.constant('split' as const), direction: fc.constantFrom<LinkDirection>('to-client', 'to-server', 'both'), amount: fc.integer({ min: 2, max: 6 }) }) });
  return fc.oneof(...choices);
}

/** One action, weighted towards typing. */
function actionArbitrary(o: ClientCaseOptions): fc.Arbitrary<ClientAction> {
  const p = o.protocol;
  const n = p.maxUsers;
  const text = typedText(p.separators, o.text);
  const texts = fc.oneof({ weight: 3, arbitrary: fc.array(text, { minLength: 1, maxLength: 1 }) }, { weight: 2, arbitrary: fc.array(text, { minLength: 2, maxLength: 4 }) });
  const to = fc.oneof({ weight: 6, arbitrary: userIndex(n) }, { weight: 1, arbitrary: fc.constant(n) });
  const say = fc.record({ kind: fc.constant('say' as const), from: userIndex(n), to, texts, together: fc.constantFrom(true, false) }).map((a) => (p.shownTo === 'sender' ? { ...a, to: a.from } : a));
  const choices: { weight: number; arbitrary: fc.Arbitrary<ClientAction> }[] = [
    { weight: 10, arbitrary: say },
    { weight: 3, arbitrary: fc.tuple(userIndex(n), faultArbitrary(o)).map(([user, f]) => ({ kind: 'fault' as const, user, ...f })) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), user: userIndex(n), how: fc.constantFrom('quit' as const, 'kill' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('rejoin' as const), user: userIndex(n) }) },
  ];
  if (p.idleMs !== undefined) choices.push({ weight: 1, arbitrary: fc.constant({ kind: 'idle' as const }) });
  return fc.oneof(...choices);
}

/** Cases of a protocol's client programs: 1 to 4 rounds of 1 to 3 actions. */
export function clientCaseArbitrary(o: ClientCaseOptions): fc.Arbitrary<ClientFuzzCase> {
  const round = fc.array(actionArbitrary(o), { minLength: 1, maxLength: maxActionsPerRound });
  return fc.record({ rounds: fc.array(round, { minLength: 1, maxLength: maxRounds }) });
}

/** The users a case starts: those its actions name (a name nobody has is not one), in order. */
export function caseUsers(c: ClientFuzzCase, maxUsers: number): number[] {
  const users = new Set<number>();
  for (const a of c.rounds.flat()) {
    if (a.kind === 'say') {
      users.add(a.from);
      if (a.to < maxUsers) users.add(a.to);
    } else if (a.kind !== 'idle') users.add(a.user);
  }
  return [...users].sort((a, b) => a - b);
}

/** A burst that reaches the program that shows it in one read (a merge on its link). */
export const mergedBurst = (a: ClientAction): boolean => a.kind === 'say' && a.together && a.texts.length > 1;

/** The size of a case as a shrink target: users, actions, faults (a merged burst is one) and characters of text. */
export function clientCaseSize(c: ClientFuzzCase, maxUsers: number): { users: number; steps: number; faults: number; dataChars: number } {
  const actions = c.rounds.flat();
  const dataChars = actions.reduce((sum, a) => sum + (a.kind === 'say' ? a.texts.reduce((s, t) => s + [...t].length, 0) : 0), 0);
  return { users: caseUsers(c, maxUsers).length, steps: actions.length, faults: actions.filter((a) => a.kind === 'fault' || mergedBurst(a)).length, dataChars };
}
