/**
 * A generated case for the client programs of a turn-taking protocol (lock-alternation,
 * status-handshake): two programs pair up through the IM server protosim plays, started one after
 * the other or in the same millisecond, then a list of actions:
 *
 *  - `say`: whoever holds the turn types `text`; the other program must show it, then hold the turn;
 *  - `slow`: the IM server answers the next `count` requests of one program (c1 or c2) `ms` late;
 *  - `third`: a third program starts while the two talk: it must be turned away and show nothing of
 *    theirs;
 *  - `kill`: the program holding the turn is killed; the other must say its peer left (after its
 *    lease). With `restart`, the other is killed too, and once a lease has run out both programs are
 *    started again, one after the other: they must pair up as a new conversation, and the actions
 *    after it go on with them; without, the case ends there.
 *
 * Workload (rounds of turns), data (typed texts, ./typed-text.ts) and faults (slow replies, kills,
 * restarts, a same-instant start, a third program) are separate arbitraries composed here; none
 * names a defect. Shrinking removes actions, drops the faults, and shortens texts.
 */
import fc from 'fast-check';
import type { SearchSize } from './fuzz-search.js';
import { typedText, type TextRules } from './typed-text.js';

export type TurnAction =
  | { kind: 'say'; text: string }
  | { kind: 'slow'; user: 0 | 1; ms: number; count: number }
  | { kind: 'third' }
  | { kind: 'kill'; restart: boolean };

export interface TurnCase {
  /** the two programs start in the same millisecond (their first requests held until both came) */
  together: boolean;
  actions: TurnAction[];
}

export interface TurnCaseOptions {
  separators: readonly string[];
  text: TextRules;
}

/** Actions a case has at most. */
export const maxTurnActions = 8;

function turnAction(o: TurnCaseOptions): fc.Arbitrary<TurnAction> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('say' as const), text: typedText(o.separators, o.text) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('slow' as const), user: fc.constantFrom<0 | 1>(0, 1), ms: fc.constantFrom(50, 200, 700), count: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'third' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), restart: fc.boolean() }) },
  );
}

/** Cases of a turn-taking protocol's client programs: a start, then 1 to 8 actions. */
export function turnCaseArbitrary(o: TurnCaseOptions): fc.Arbitrary<TurnCase> {
  return fc.record({ together: fc.boolean(), actions: fc.array(turnAction(o), { minLength: 1, maxLength: maxTurnActions }) });
}

/** The size of a case as a shrink target: programs, actions, faults (a same-instant start is one) and characters typed. */
export function turnCaseSize(c: TurnCase): SearchSize {
  const dataChars = c.actions.reduce((sum, a) => sum + (a.kind === 'say' ? [...a.text].length : 0), 0);
  const faults = c.actions.filter((a) => a.kind === 'slow' || a.kind === 'kill').length + (c.together ? 1 : 0);
  return { users: c.actions.some((a) => a.kind === 'third') ? 3 : 2, steps: c.actions.length, faults, dataChars };
}
