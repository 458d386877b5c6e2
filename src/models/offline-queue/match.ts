/**
 * Account-name patterns for `list`: a shell-style wildcard where `*` matches any run of
 * characters and `_` matches one (PROTOCOLS.md section 5). Two matchers, both pure and bounded:
 *  - `naiveMatch`, what translating the wildcard into a backtracking regular expression does: every
 *    `*` tries every split, so `*a*a*a*a*b` against a long run of `a` takes exponential time;
 *  - `linearMatch`, the greedy two-pointer matcher (at most |pattern| x |name| steps).
 * Both count their steps, so a model can tell how long the server would spin without spinning.
 */

export interface MatchResult {
  matches: boolean;
  steps: number;
  /** true when `naiveMatch` gave up at its step budget (the answer is then unknown) */
  exhausted: boolean;
}

/** Backtracking match, counting steps, giving up after `budget` steps. */
export function naiveMatch(pattern: string, name: string, budget: number): MatchResult {
  let steps = 0;
  let exhausted = false;
  const rec = (i: number, j: number): boolean => {
    steps++;
    if (steps > budget) {
      exhausted = true;
      return false;
    }
    if (i === pattern.length) return j === name.length;
    const p = pattern[i];
    if (p === '*') {
      for (let k = j; k <= name.length; k++) {
        if (rec(i + 1, k)) return true;
        if (exhausted) return false;
      }
      return false;
    }
    if (j < name.length && (p === '_' || p === name[j])) return rec(i + 1, j + 1);
    return false;
  };
  const matches = rec(0, 0);
  return { matches: matches && !exhausted, steps: Math.min(steps, budget + 1), exhausted };
}

/** Greedy two-pointer wildcard match: no exponential case. */
export function linearMatch(pattern: string, name: string): MatchResult {
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  let steps = 0;
  while (j < name.length) {
    steps++;
    if (i < pattern.length && (pattern[i] === '_' || pattern[i] === name[j])) {
      i++;
      j++;
    } else if (i < pattern.length && pattern[i] === '*') {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else {
      return { matches: false, steps, exhausted: false };
    }
  }
  while (i < pattern.length && pattern[i] === '*') i++;
  return { matches: i === pattern.length, steps, exhausted: false };
}
